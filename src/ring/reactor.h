// One io_uring event loop per core. Everything the core does — accept, recv, send, close,
// timers, messages from the supervisor — is a submission here and comes back as a completion
// routed to its Handler. Only this folder includes liburing.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ring/buffer_ring.h"
#include "ring/timer_wheel.h"

struct io_uring;
struct io_uring_sqe;

namespace pagi::ring {

// What a completion carries, decoded from the CQE.
struct Completion {
  int32_t res = 0;      // bytes, fd, or -errno
  bool more = false;    // a multishot request stays armed
  bool has_buffer = false;
  uint16_t buffer_id = 0;
};

// Receives completions of the operations it submitted. `op` is the tag given at submission
// (0..15) so one object can keep several operations in flight. Aligned so the tag fits in
// the low bits of the pointer stored as user_data.
class alignas(16) Handler {
 public:
  virtual void on_completion(unsigned op, const Completion& c) = 0;

 protected:
  ~Handler() = default;
};

// Work to run once at the end of the current loop turn (after all completions of the turn
// are handled, before the next submit): coalesces sends and app wake-ups.
class Deferred {
 public:
  virtual void run_deferred() = 0;

 protected:
  ~Deferred() = default;

 private:
  friend class Reactor;
  Deferred* next_deferred_ = nullptr;
  bool deferred_ = false;
};

// How far the loop has got, for a watchdog on another thread (--heartbeat-timeout): `steps`
// moves before every completion handler, timer pass and deferred pass, `waiting` is true
// inside io_uring_enter. Written by the loop thread only, with relaxed stores (a plain store
// to a line of its own: no lock, no syscall); read by the watchdog.
struct alignas(64) LoopProgress {
  std::atomic<uint64_t> steps{0};
  std::atomic<bool> waiting{false};
};

// Ring (and listening socket) techniques that can be turned off one by one, to measure what
// each is worth (PAGI_RING_DISABLE, bench/techniques.py). All are on in normal operation.
enum Technique : unsigned {
  kDeferTaskrun = 1u << 0,     // SINGLE_ISSUER + DEFER_TASKRUN (off: COOP_TASKRUN)
  kCoopTaskrun = 1u << 1,      // COOP_TASKRUN where DEFER_TASKRUN is off (off: no task-run flag)
  kRegisteredFd = 1u << 2,     // io_uring_register_ring_fd
  kMultishotRecv = 1u << 3,    // one recv stays armed (off: a recv per completion)
  kMultishotAccept = 1u << 4,  // one accept stays armed (off: an accept per connection)
  kDeferAccept = 1u << 5,      // TCP_DEFER_ACCEPT on the listeners we open (server::Listener)
};

// "defer-taskrun,multishot-recv" → a Technique mask. An unknown name is an error that lists
// the known ones.
bool parse_techniques(std::string_view list, unsigned* mask, std::string* error);
std::string describe_techniques(unsigned mask);  // the names in `mask`, comma-separated

struct ReactorConfig {
  unsigned entries = 2048;        // SQ size; the CQ is 8× this
  unsigned buffer_count = 1024;   // provided receive buffers (power of two)
  unsigned buffer_size = 16384;
  unsigned disabled = 0;          // Technique bits turned off (measurement only)
};

// Features found at start-up, for the banner and the log.
struct RingFeatures {
  bool defer_taskrun = false;
  bool registered_fd = false;
};

class Reactor {
 public:
  // Creates the ring on the calling thread (SINGLE_ISSUER binds it to this thread).
  static std::unique_ptr<Reactor> create(const ReactorConfig& config, std::string* error);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Submissions. They are queued and go to the kernel at the next loop turn.
  void accept_multishot(int fd, Handler* h, unsigned op);
  void accept(int fd, Handler* h, unsigned op);          // one connection, then re-arm
  void recv_multishot(int fd, Handler* h, unsigned op);  // into the provided buffers
  void send(int fd, const void* data, size_t len, Handler* h, unsigned op);
  void sendmsg(int fd, const msghdr* msg, Handler* h, unsigned op);
  void read(int fd, void* data, size_t len, Handler* h, unsigned op);
  void write(int fd, const void* data, size_t len, Handler* h, unsigned op);  // at file position
  void shutdown(int fd, int how, Handler* h, unsigned op);
  // One-shot readiness of any fd (poll(2) events; res = revents). Cancel with cancel(h, op).
  void poll(int fd, unsigned events, Handler* h, unsigned op);
  // splice(2) through the ring: `len` bytes from fd_in (at off_in; -1 for a pipe) to fd_out
  // (at off_out; -1 for a pipe or a socket). res = bytes moved. File bodies go file -> pipe
  // -> socket this way without a copy through user space (src/server/connection_file.cc).
  void splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, unsigned len,
              unsigned flags, Handler* h, unsigned op);
  void close(int fd);                                  // fire and forget
  void cancel_fd(int fd, Handler* h, unsigned op);     // cancels every request on fd
  void cancel(Handler* target, unsigned target_op);    // fire and forget

  BufferRing& buffers() { return buffers_; }
  TimerWheel& timers() { return timers_; }
  uint64_t now_ms() const { return now_ms_; }
  const RingFeatures& features() const { return features_; }
  bool uses(Technique t) const { return (disabled_ & t) == 0; }

  // Runs `d` at the end of this loop turn (once, however often it is asked).
  void defer(Deferred& d);

  // Where the loop reports its progress (default: a counter nobody reads). Set before run().
  void set_progress(LoopProgress* p) { progress_ = p; }
  // True while run() is on the stack (the loop will still deliver completions).
  bool running() const { return running_; }

  // Runs the loop until stop() is called from the loop thread.
  void run();
  void stop() { stopping_ = true; }

  // The only cross-thread entry: queue `fn` to run on the loop thread. Thread-safe.
  void post(std::function<void()> fn);

  // Completions handled since start (for stats).
  uint64_t completions() const { return completions_; }
  // Loop time since run() began and the part of it spent inside io_uring_enter (submitting
  // and waiting), in ns: busy = run - wait. Read on the loop thread.
  uint64_t loop_run_ns() const;
  uint64_t loop_wait_ns() const { return wait_ns_; }

 private:
  Reactor() = default;
  io_uring_sqe* sqe();
  void arm_mailbox();
  void drain_mailbox();
  void run_deferred();
  static uint64_t clock_ns();
  static uint64_t clock_ms() { return clock_ns() / 1000000; }
  void step() {
    progress_->steps.store(progress_->steps.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
  }

  class MailboxHandler;

  std::unique_ptr<io_uring> ring_;
  BufferRing buffers_;
  TimerWheel timers_{clock_ms()};
  RingFeatures features_;
  unsigned disabled_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t completions_ = 0;
  uint64_t run_start_ns_ = 0;
  uint64_t wait_ns_ = 0;
  bool stopping_ = false;
  bool running_ = false;
  LoopProgress own_progress_;
  LoopProgress* progress_ = &own_progress_;

  Deferred* deferred_head_ = nullptr;
  Deferred* deferred_tail_ = nullptr;

  int event_fd_ = -1;
  uint64_t event_value_ = 0;
  std::unique_ptr<MailboxHandler> mailbox_handler_;
  std::mutex mailbox_mutex_;  // control path only: never taken per request
  std::vector<std::function<void()>> mailbox_;
};

}  // namespace pagi::ring
