// File bodies on the socket side (see H1Connection::send_file): once the bytes queued before
// a file range are sent, the range goes file -> pipe -> socket with io_uring splice, so its
// bytes never pass through user space (the page-cache pages are handed to TCP). One pipe
// per body, from the core's PipePool; the pipe -> socket step is non-blocking: a full socket
// gives -EAGAIN and a POLLOUT poll on the ring before the bytes left in the pipe go again.
#include <fcntl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>

#include "server/connection.h"
#include "server/core.h"

namespace pagi::server {

// Called by flush() when no plain output is left: the next step of a file body, if any.
void Connection::flush_file() {
  const http::H1Connection::FileSend* f = st_->h1->file_send();
  if (f == nullptr) return;
  if (st_->in_pipe > 0) {
    // Short moves leave bytes in the pipe: they go first.
    sending_ = true;
    splice_out_pending_ = true;
    reactor_.splice(st_->pipe.read_fd, -1, fd_, -1, st_->in_pipe,
                    SPLICE_F_NONBLOCK | SPLICE_F_MOVE | (f->to_read > 0 ? SPLICE_F_MORE : 0), this,
                    kSpliceOut);
    return;
  }
  if (f->to_read == 0) return;
  if (!st_->pipe.valid()) {
    st_->pipe = core_.pipes().take();
    if (!st_->pipe.valid()) {
      st_->h1->on_file_error(errno);  // out of fds: the head is out, so close
      return;
    }
    // A splice into a socket takes its non-blocking mode from the socket's file flags, not
    // from SPLICE_F_NONBLOCK: on our (blocking) sockets a full socket would park an io-wq
    // worker until the client reads. With O_NONBLOCK it returns -EAGAIN and we poll. The
    // ring's own send and recv still wait by polling on such a socket (checked on 6.x), so
    // the flag, once set, stays for the connection. An accepted socket has no other
    // F_SETFL flags to keep.
    (void)fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  unsigned len = unsigned(std::min<uint64_t>(f->to_read, st_->pipe.size));
  sending_ = true;
  reactor_.splice(f->fd, int64_t(f->offset), st_->pipe.write_fd, -1, len, SPLICE_F_MOVE, this,
                  kSpliceIn);
}

void Connection::on_file_op(unsigned op, const ring::Completion& c) {
  sending_ = false;
  if (op == kSpliceOut) {
    splice_out_pending_ = false;
    if (state_ == State::kClosed) close_socket();  // held back by hard_close for this
  }
  // The pipe's contents are tracked even when the connection is gone: a pipe with bytes
  // left in it is closed, not pooled (release_pipe).
  if (st_ && op == kSpliceIn && c.res > 0) st_->in_pipe += uint32_t(c.res);
  if (st_ && op == kSpliceOut && c.res > 0) {
    st_->in_pipe -= std::min<uint32_t>(st_->in_pipe, uint32_t(c.res));
  }
  if (state_ == State::kClosed || !st_) return;
  http::H1Connection& h1 = *st_->h1;
  switch (op) {
    case kSpliceIn:
      if (c.res > 0) {
        h1.on_file_read(size_t(c.res));
      } else if (c.res != -EAGAIN && c.res != -EINTR) {
        // 0: the file is shorter than its range; <0: it cannot be read (or spliced).
        h1.on_file_error(c.res == 0 ? 0 : -c.res);
        return;
      }
      break;
    case kSpliceOut:
      if (c.res > 0) {
        core_.counters().bytes_sent += uint64_t(c.res);
        last_progress_ms_ = reactor_.now_ms();
        h1.on_file_sent(size_t(c.res));
      } else if (c.res == -EAGAIN || c.res == 0) {
        sending_ = true;
        reactor_.poll(fd_, POLLOUT, this, kPollOut);
        return;
      } else if (c.res != -EINTR) {
        h1.on_transport_error("write_error");
        hard_close();
        return;
      }
      break;
    default:  // kPollOut: room again (or an error the next splice reports)
      break;
  }
  if (!h1.file_pending()) release_pipe();
  flush();
}

// The body is over (sent, or its connection gone): an empty pipe goes back to the pool, one
// with bytes still in it is closed (its pages dropped).
void Connection::release_pipe() {
  if (!st_ || !st_->pipe.valid()) return;
  if (st_->in_pipe == 0) {
    core_.pipes().give(st_->pipe);
  } else {
    PipePool::discard(st_->pipe);
  }
  st_->pipe = Pipe{};
  st_->in_pipe = 0;
}

}  // namespace pagi::server
