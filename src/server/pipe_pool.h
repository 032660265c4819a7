// Per-core pool of pipes for file bodies sent with splice (file -> pipe -> socket): a pipe is
// the kernel's zero-copy hand-off between page cache and socket. Created lazily, enlarged
// with F_SETPIPE_SZ where allowed, and reused only when empty (a pipe with bytes left in it
// when its connection went away is closed instead: its pages are simply dropped).
#pragma once

#include <cstddef>
#include <vector>

namespace pagi::server {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  unsigned size = 0;  // capacity in bytes (F_GETPIPE_SZ)
  bool valid() const { return read_fd >= 0; }
};

class PipePool {
 public:
  static constexpr unsigned kWantSize = 1u << 20;  // a 1 MiB body in one move
  static constexpr size_t kMaxFree = 16;

  PipePool() = default;
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  // A pipe (from the pool, or new); invalid if pipe2 fails (out of fds).
  Pipe take();
  // An empty pipe goes back to the pool (or is closed beyond kMaxFree).
  void give(Pipe p);
  // A pipe that may hold bytes: closed.
  static void discard(Pipe p);

  size_t free_count() const { return free_.size(); }
  size_t created() const { return created_; }

 private:
  std::vector<Pipe> free_;
  size_t created_ = 0;
};

}  // namespace pagi::server
