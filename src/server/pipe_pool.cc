// Pipes for spliced file bodies (see pipe_pool.h).
#include "server/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

namespace pagi::server {

PipePool::~PipePool() {
  for (Pipe& p : free_) discard(p);
}

Pipe PipePool::take() {
  if (!free_.empty()) {
    Pipe p = free_.back();
    free_.pop_back();
    return p;
  }
  int fds[2];
  // Non-blocking: a splice into or out of it never parks an io-wq worker on the pipe.
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return Pipe{};
  Pipe p{fds[0], fds[1], 0};
  // Larger than the default 64 KiB where /proc/sys/fs/pipe-max-size (or CAP_SYS_RESOURCE)
  // allows: fewer round trips through the ring per body. Refused: the default stays.
  (void)fcntl(p.write_fd, F_SETPIPE_SZ, int(kWantSize));
  int size = fcntl(p.write_fd, F_GETPIPE_SZ);
  p.size = size > 0 ? unsigned(size) : 65536u;
  ++created_;
  return p;
}

void PipePool::give(Pipe p) {
  if (!p.valid()) return;
  if (free_.size() >= kMaxFree) {
    discard(p);
    return;
  }
  free_.push_back(p);
}

void PipePool::discard(Pipe p) {
  if (p.read_fd >= 0) ::close(p.read_fd);
  if (p.write_fd >= 0) ::close(p.write_fd);
}

}  // namespace pagi::server
