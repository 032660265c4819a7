// Provided-buffer ring set up by hand (liburing 2.3 predates io_uring_setup_buf_ring).
#include "ring/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include <liburing.h>

namespace pagi::ring {

void BufferRing::unregister() {
  if (ring_ != nullptr && br_ != nullptr) io_uring_unregister_buf_ring(ring_, group_);
  ring_ = nullptr;
}

BufferRing::~BufferRing() {
  unregister();
  if (br_ != nullptr) munmap(br_, ring_bytes_);
  if (base_ != nullptr) munmap(base_, data_bytes_);
}

bool BufferRing::init(io_uring* ring, uint16_t group, unsigned count, unsigned size,
                      std::string* error) {
  count_ = count;
  size_ = size;
  group_ = group;
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* r = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (r == MAP_FAILED) {
    *error = std::string("mmap of buffer ring failed: ") + strerror(errno);
    return false;
  }
  br_ = static_cast<io_uring_buf_ring*>(r);
  data_bytes_ = size_t(count) * size;
  // Pages are touched only when the kernel first fills a buffer: RSS grows with use.
  void* d = mmap(nullptr, data_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (d == MAP_FAILED) {
    *error = std::string("mmap of receive buffers failed: ") + strerror(errno);
    return false;
  }
  base_ = static_cast<char*>(d);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = count;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    *error = std::string("registering the provided-buffer ring failed: ") + strerror(-rc) +
             " (needs Linux 5.19 or later)";
    munmap(br_, ring_bytes_);
    br_ = nullptr;
    return false;
  }
  ring_ = ring;
  io_uring_buf_ring_init(br_);
  int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br_, data(uint16_t(i)), size, uint16_t(i), mask, int(i));
  }
  io_uring_buf_ring_advance(br_, int(count));
  return true;
}

void BufferRing::recycle(uint16_t id) {
  io_uring_buf_ring_add(br_, data(id), size_, id, io_uring_buf_ring_mask(count_), int(pending_));
  ++pending_;
}

void BufferRing::publish() {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, int(pending_));
  pending_ = 0;
}

}  // namespace pagi::ring
