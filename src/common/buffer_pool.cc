// Block pool and output queue (see buffer_pool.h).
#include "common/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace pagi {

BlockPool::~BlockPool() {
  while (free_ != nullptr) {
    Block* b = free_;
    free_ = b->next;
    std::free(b);
  }
}

Block* BlockPool::allocate() {
  auto* b = static_cast<Block*>(std::malloc(kBlockBytes));
  if (b == nullptr) throw std::bad_alloc();
  ++allocated_;
  b->next = nullptr;
  b->begin = b->end = 0;
  return b;
}

void BlockPool::release(Block* b) {
  std::free(b);
  --allocated_;
}

void OutputQueue::append_slow(std::string_view bytes) {
  while (!bytes.empty()) {
    char* p = reserve(1);
    size_t n = std::min(bytes.size(), BlockPool::kCapacity - tail_->end);
    std::memcpy(p, bytes.data(), n);
    commit(n);
    bytes.remove_prefix(n);
  }
}

char* OutputQueue::reserve_slow(size_t want) {
  (void)want;
  Block* b = pool_->get();
  tail_->next = b;  // the empty queue is reserve()'s own case
  tail_ = b;
  return b->data();
}

int OutputQueue::gather_blocks(iovec* iov, int max, size_t limit) const {
  int n = 0;
  for (Block* b = head_; b != nullptr && n < max && limit > 0; b = b->next) {
    size_t len = std::min<size_t>(b->end - b->begin, limit);
    if (len == 0) continue;
    iov[n].iov_base = b->data() + b->begin;
    iov[n].iov_len = len;
    limit -= len;
    ++n;
  }
  return n;
}

void OutputQueue::consume_slow(size_t n) {
  size_ -= n;
  while (n > 0 && head_ != nullptr) {
    size_t len = head_->end - head_->begin;
    if (n < len) {
      head_->begin += uint32_t(n);
      return;
    }
    n -= len;
    Block* b = head_;
    head_ = b->next;
    pool_->put(b);
  }
  // Keep a fully drained tail? No: an idle connection should hold no block.
  if (head_ == nullptr) tail_ = nullptr;
  if (head_ != nullptr && head_->begin == head_->end && head_ == tail_) {
    pool_->put(head_);
    head_ = tail_ = nullptr;
  }
}

void OutputQueue::truncate(size_t new_size) {
  if (new_size >= size_) return;
  size_t keep = new_size;
  Block* b = head_;
  Block* last = nullptr;
  while (b != nullptr && keep > 0) {
    size_t len = b->end - b->begin;
    if (keep <= len) {
      b->end = b->begin + uint32_t(keep);
      keep = 0;
      last = b;
      break;
    }
    keep -= len;
    last = b;
    b = b->next;
  }
  Block* drop = last != nullptr ? last->next : head_;
  if (last != nullptr) {
    last->next = nullptr;
  } else {
    head_ = nullptr;
  }
  tail_ = last;
  while (drop != nullptr) {
    Block* next = drop->next;
    pool_->put(drop);
    drop = next;
  }
  size_ = new_size;
  if (head_ != nullptr && size_ == 0) {
    pool_->put(head_);
    head_ = tail_ = nullptr;
  }
}

void OutputQueue::clear() {
  while (head_ != nullptr) {
    Block* next = head_->next;
    pool_->put(head_);
    head_ = next;
  }
  tail_ = nullptr;
  size_ = 0;
}

}  // namespace pagi
