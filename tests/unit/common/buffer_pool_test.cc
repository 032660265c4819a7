// OutputQueue over pooled blocks: appends across block boundaries, gather/consume, truncate.
#include "common/buffer_pool.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi {
namespace {

std::string drain(OutputQueue& q) {
  std::string s;
  iovec iov[64];
  int n = q.gather(iov, 64, q.size());
  for (int i = 0; i < n; ++i) s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  q.consume(s.size());
  return s;
}

TEST(OutputQueue, AppendsAcrossBlocksAndReturnsThemToThePool) {
  BlockPool pool;
  std::string big(BlockPool::kCapacity * 2 + 100, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 26);
  {
    OutputQueue q(&pool);
    q.append("head:");
    q.append(big);
    EXPECT_EQ(q.size(), big.size() + 5);
    EXPECT_EQ(drain(q), "head:" + big);
    EXPECT_TRUE(q.empty());
  }
  EXPECT_EQ(pool.free_count(), pool.allocated());
  EXPECT_EQ(pool.allocated(), 3u);
}

// The free list is reused first and never holds more than max_free blocks: the rest of a
// burst goes back to the heap. A whole one-block response gives its block back at once.
TEST(BlockPool, ReusesFreeBlocksAndFreesPastMaxFree) {
  BlockPool pool(2);
  Block* a = pool.get();
  Block* b = pool.get();
  Block* c = pool.get();
  EXPECT_EQ(pool.allocated(), 3u);
  pool.put(a);
  pool.put(b);
  pool.put(c);
  EXPECT_EQ(pool.free_count(), 2u);
  EXPECT_EQ(pool.allocated(), 2u);
  Block* again = pool.get();
  EXPECT_EQ(again, b);  // the last one kept
  EXPECT_EQ(again->begin, 0u);
  EXPECT_EQ(again->end, 0u);
  EXPECT_EQ(again->next, nullptr);
  EXPECT_EQ(pool.allocated(), 2u);
  pool.put(again);
  {
    OutputQueue q(&pool);
    q.append("HTTP/1.1 200 OK\r\n\r\n");
    EXPECT_EQ(pool.free_count(), 1u);
    q.consume(q.size());
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(pool.free_count(), 2u);
    q.append("next");
    EXPECT_EQ(drain(q), "next");
  }
  EXPECT_EQ(pool.free_count(), pool.allocated());
}

TEST(OutputQueue, PartialConsumeKeepsTheRestInOrder) {
  BlockPool pool;
  OutputQueue q(&pool);
  q.append("hello ");
  q.append("world");
  q.consume(3);
  EXPECT_EQ(q.size(), 8u);
  EXPECT_EQ(drain(q), "lo world");
}

TEST(OutputQueue, GatherRespectsTheLimit) {
  BlockPool pool;
  OutputQueue q(&pool);
  q.append("abcdef");
  iovec iov[4];
  int n = q.gather(iov, 4, 4);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), iov[0].iov_len), "abcd");
}

// One block (the inline case) and several: the unsent bytes from where the last consume
// left off, nothing for no room (max or limit 0) or an empty queue.
TEST(OutputQueue, GatherOneBlockAndMany) {
  BlockPool pool;
  OutputQueue q(&pool);
  iovec iov[4];
  EXPECT_EQ(q.gather(iov, 4, 100), 0);
  q.append("abcdef");
  q.consume(2);
  ASSERT_EQ(q.gather(iov, 4, 100), 1);
  EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), iov[0].iov_len), "cdef");
  EXPECT_EQ(q.gather(iov, 0, 100), 0);
  EXPECT_EQ(q.gather(iov, 4, 0), 0);
  std::string big(BlockPool::kCapacity, 'x');
  q.append(big);
  ASSERT_EQ(q.gather(iov, 4, 100000), 2);
  EXPECT_EQ(iov[0].iov_len + iov[1].iov_len, 4 + big.size());
  ASSERT_EQ(q.gather(iov, 1, 100000), 1);
  EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), 4), "cdef");
  EXPECT_EQ(q.gather(iov, 4, 0), 0);
}

TEST(OutputQueue, TruncateDropsTheTailAcrossBlocks) {
  BlockPool pool;
  OutputQueue q(&pool);
  q.append("keep");
  std::string big(BlockPool::kCapacity + 10, 'z');
  q.append(big);
  q.truncate(4);
  EXPECT_EQ(q.size(), 4u);
  q.append("+more");
  EXPECT_EQ(drain(q), "keep+more");
  q.append("x");
  q.truncate(0);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.free_count(), pool.allocated());
}

TEST(OutputQueue, ReserveGivesContiguousRoom) {
  BlockPool pool;
  OutputQueue q(&pool);
  q.append(std::string(BlockPool::kCapacity - 3, 'a'));
  char* p = q.reserve(10);  // does not fit in the 3 bytes left: a new block
  memcpy(p, "0123456789", 10);
  q.commit(10);
  std::string all = drain(q);
  EXPECT_EQ(all.size(), BlockPool::kCapacity - 3 + 10);
  EXPECT_EQ(all.substr(all.size() - 10), "0123456789");
}

}  // namespace
}  // namespace pagi
