// Output bytes per connection: a queue of fixed-size blocks taken from a per-core pool, so
// responses are serialised without a heap allocation per request and an idle connection
// holds no output memory at all.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace pagi {

// memcpy for the short pieces a response is made of (header names and values, CRLFs, small
// bodies), inline: a call into the library's memcpy costs more than the copy. Two
// overlapping fixed-size moves cover any length in their range; longer ones go to memcpy.
// (GCC's bounds warnings assume the whole range of `n` for a small source object whose
// real length is within it: they are off for this function only.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
inline void copy_short(char* dst, const char* src, size_t n) {
  if (n <= 16) {
    if (n >= 8) {
      uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
      uint32_t a, b;
      std::memcpy(&a, src, 4);
      std::memcpy(&b, src + n - 4, 4);
      std::memcpy(dst, &a, 4);
      std::memcpy(dst + n - 4, &b, 4);
    } else if (n > 0) {
      char a = src[0], b = src[n / 2], c = src[n - 1];
      dst[0] = a;
      dst[n / 2] = b;
      dst[n - 1] = c;
    }
  } else if (n <= 32) {
    char a[16], b[16];
    std::memcpy(a, src, 16);
    std::memcpy(b, src + n - 16, 16);
    std::memcpy(dst, a, 16);
    std::memcpy(dst + n - 16, b, 16);
  } else {
    std::memcpy(dst, src, n);
  }
}
#pragma GCC diagnostic pop

struct Block {
  Block* next;
  uint32_t begin;  // first unsent byte
  uint32_t end;    // one past the last byte written
  char* data() { return reinterpret_cast<char*>(this + 1); }
};

// Per-core free list of blocks. Not thread-safe by design: one per core.
class BlockPool {
 public:
  static constexpr size_t kBlockBytes = 16384;  // including the Block header
  static constexpr size_t kCapacity = kBlockBytes - sizeof(Block);

  // 256 free blocks (4 MiB) cover 50 busy connections with most of a 64 KiB high watermark
  // each; past that, blocks a burst took are freed rather than kept for ever.
  explicit BlockPool(size_t max_free = 256) : max_free_(max_free) {}
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool();

  // Inline for the free list: a connection takes and gives back a block per response.
  Block* get() {
    Block* b = free_;
    if (b == nullptr) [[unlikely]] return allocate();
    free_ = b->next;
    --free_count_;
    b->next = nullptr;
    b->begin = b->end = 0;
    return b;
  }
  void put(Block* b) {
    if (free_count_ >= max_free_) [[unlikely]] return release(b);
    b->next = free_;
    free_ = b;
    ++free_count_;
  }

  size_t free_count() const { return free_count_; }
  size_t allocated() const { return allocated_; }

 private:
  Block* allocate();       // a new block from the heap
  void release(Block* b);  // back to the heap
  Block* free_ = nullptr;
  size_t free_count_ = 0;
  size_t max_free_;
  size_t allocated_ = 0;
};

// FIFO of bytes. Appends copy into the tail block; the sender gathers iovecs from the head
// and consumes what the kernel took. truncate() drops bytes not yet handed to the kernel
// (used to replace an unsent response head with a 500).
class OutputQueue {
 public:
  explicit OutputQueue(BlockPool* pool) : pool_(pool) {}
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  ~OutputQueue() { clear(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The common case, bytes that fit in the tail block, is inline: a response head is
  // appended in a dozen small pieces.
  void append(std::string_view bytes) {
    if (bytes.empty()) return;  // an empty view may carry a null pointer: no memcpy then
    if (tail_ != nullptr && BlockPool::kCapacity - tail_->end >= bytes.size()) {
      copy_short(tail_->data() + tail_->end, bytes.data(), bytes.size());
      tail_->end += uint32_t(bytes.size());
      size_ += bytes.size();
      return;
    }
    append_slow(bytes);
  }
  void append(char c) { append(std::string_view(&c, 1)); }

  // Contiguous room for up to `want` bytes in the tail (a new block if needed; `want` must
  // be ≤ kCapacity). Write, then commit() how many were used.
  char* reserve(size_t want) {
    if (tail_ != nullptr && BlockPool::kCapacity - tail_->end >= want) {
      return tail_->data() + tail_->end;
    }
    if (tail_ == nullptr) {
      // An empty queue (every response of a keep-alive connection starts so): a pooled block.
      head_ = tail_ = pool_->get();
      return tail_->data();
    }
    return reserve_slow(want);
  }
  void commit(size_t used) {
    tail_->end += uint32_t(used);
    size_ += used;
  }

  // Up to `max` iovecs covering at most `limit` bytes from the front. Returns the count.
  // Inline for one block, what a small response is.
  int gather(iovec* iov, int max, size_t limit) const {
    if (head_ != nullptr && head_ == tail_ && max > 0) {
      size_t len = std::min<size_t>(head_->end - head_->begin, limit);
      if (len == 0) return 0;
      iov[0].iov_base = head_->data() + head_->begin;
      iov[0].iov_len = len;
      return 1;
    }
    return gather_blocks(iov, max, limit);
  }
  void consume(size_t n) {
    if (n == size_ && head_ == tail_ && head_ != nullptr) {
      // Everything, from one block (a whole small response): the block goes back at once.
      pool_->put(head_);
      head_ = tail_ = nullptr;
      size_ = 0;
      return;
    }
    consume_slow(n);
  }
  void truncate(size_t new_size);
  void clear();

 private:
  void append_slow(std::string_view bytes);
  char* reserve_slow(size_t want);  // appends a block to the non-empty queue
  void consume_slow(size_t n);      // across blocks, or part of one
  int gather_blocks(iovec* iov, int max, size_t limit) const;

  BlockPool* pool_;
  Block* head_ = nullptr;
  Block* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pagi
