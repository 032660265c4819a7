// One core's access-log sink. Lines are rendered into a buffer during the loop turn and
// written at its end with one io_uring write of whole lines to the shared log fd (opened with
// O_APPEND), so logging never blocks the core and lines of different cores never interleave
// mid-line (a pipe keeps that only for writes up to PIPE_BUF, so those are cut at 4 KiB).
#pragma once

#include <cstdint>
#include <string>

#include "ring/reactor.h"
#include "server/access_log_format.h"

namespace pagi::server {

class AccessLog final : public ring::Handler, public ring::Deferred, public http::AccessSink {
 public:
  // `fd` is not owned. `format` must outlive this object.
  AccessLog(ring::Reactor& reactor, int fd, const AccessLogFormat& format);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void log(const AccessRecord& record) override;
  // At core stop, the loop still running: writes what is pending, then stops the reactor
  // (at once when nothing is pending), so no write is left in flight when the loop ends.
  void stop_reactor_when_idle();
  // At core stop: writes what is left with plain write(2) (the loop is gone).
  void flush_blocking();
  bool in_flight() const { return in_flight_; }

  uint64_t lines() const { return lines_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void run_deferred() override;
  void on_completion(unsigned op, const ring::Completion& c) override;
  void start_write();

  // Lines waiting while a write is in flight are capped: a log that cannot keep up loses
  // lines (counted) rather than memory.
  static constexpr size_t kMaxPending = 4 << 20;

  ring::Reactor& reactor_;
  int fd_;
  bool pipe_ = false;
  const AccessLogFormat& format_;
  std::string filling_;    // rendered, not yet handed to the kernel
  std::string writing_;    // handed to the kernel; stays put until the write completes
  size_t written_ = 0;     // of writing_
  size_t chunk_ = 0;       // bytes of writing_ in the write in flight
  bool in_flight_ = false;
  uint64_t lines_ = 0;
  uint64_t dropped_ = 0;
  bool error_logged_ = false;
  bool stop_when_idle_ = false;
};

}  // namespace pagi::server
