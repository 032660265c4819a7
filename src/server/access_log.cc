// Per-core access-log writer over the ring (see access_log.h).
#include "server/access_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace pagi::server {

AccessLog::AccessLog(ring::Reactor& reactor, int fd, const AccessLogFormat& format)
    : reactor_(reactor), fd_(fd), format_(format) {
  struct stat st;
  if (fstat(fd, &st) == 0) pipe_ = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

AccessLog::~AccessLog() {
  if (in_flight_) reactor_.cancel(this, 0);
}

void AccessLog::log(const AccessRecord& record) {
  if (filling_.size() >= kMaxPending) {
    ++dropped_;
    return;
  }
  format_.render(record, filling_);
  ++lines_;
  if (!in_flight_) reactor_.defer(*this);
}

void AccessLog::run_deferred() {
  if (!in_flight_) start_write();
}

void AccessLog::start_write() {
  if (written_ == writing_.size()) {
    if (filling_.empty()) return;
    writing_.clear();
    writing_.swap(filling_);
    written_ = 0;
  }
  size_t n = writing_.size() - written_;
  if (pipe_ && n > 4096) {
    // Whole lines up to PIPE_BUF, so another core's write cannot land mid-line.
    size_t cut = writing_.rfind('\n', written_ + 4095);
    n = (cut != std::string::npos && cut >= written_) ? cut + 1 - written_ : 4096;
  }
  chunk_ = n;
  in_flight_ = true;
  reactor_.write(fd_, writing_.data() + written_, n, this, 0);
}

void AccessLog::on_completion(unsigned, const ring::Completion& c) {
  in_flight_ = false;
  if (c.res < 0) {
    if (c.res == -ECANCELED) return;
    if (c.res != -EAGAIN && c.res != -EINTR) {
      if (!error_logged_) {
        LOG_ERROR("access log write failed: %s; lines are being dropped", strerror(-c.res));
        error_logged_ = true;
      }
      written_ = writing_.size();  // drop this batch rather than retry forever
    }
  } else {
    written_ += size_t(c.res);
  }
  start_write();
  if (stop_when_idle_ && !in_flight_) reactor_.stop();
}

void AccessLog::stop_reactor_when_idle() {
  stop_when_idle_ = true;
  if (!in_flight_) start_write();
  if (!in_flight_) reactor_.stop();
}

void AccessLog::flush_blocking() {
  if (in_flight_) return;  // the loop is gone with a write in flight: nothing safe to do
  std::string rest = writing_.substr(written_) + filling_;
  size_t off = 0;
  while (off < rest.size()) {
    ssize_t n = ::write(fd_, rest.data() + off, rest.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    off += size_t(n);
  }
  writing_.clear();
  filling_.clear();
  written_ = 0;
}

}  // namespace pagi::server
