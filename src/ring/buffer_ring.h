// The core's provided-buffer ring: the kernel picks a buffer for each multishot recv
// completion, so an idle connection holds no read buffer at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct io_uring;
struct io_uring_buf_ring;

namespace pagi::ring {

class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // Registers `count` (a power of two) buffers of `size` bytes as group `group`.
  bool init(io_uring* ring, uint16_t group, unsigned count, unsigned size, std::string* error);

  char* data(uint16_t id) const { return base_ + size_t(id) * size_; }
  unsigned buffer_size() const { return size_; }
  uint16_t group() const { return group_; }

  // Gives buffer `id` back to the kernel. Made visible by publish(), once per loop turn.
  void recycle(uint16_t id);
  void publish();

  // Detaches from the ring (called before the ring is torn down).
  void unregister();

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* base_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t data_bytes_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  uint16_t group_ = 0;
  unsigned pending_ = 0;
};

}  // namespace pagi::ring
