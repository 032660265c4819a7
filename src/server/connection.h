// A client socket on a core: moves bytes between the ring and the HTTP/1 state machine,
// keeps the connection's timers, and closes it (gracefully: write side first, then a short
// linger that discards late input, so the peer reads our last response before any RST).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "http/h1_connection.h"
#include "ring/reactor.h"
#include "server/listener.h"
#include "server/pipe_pool.h"

namespace pagi::server {

class Core;

// What a connection needs only while it has a request in hand: the HTTP/1 state (parser,
// exchange, output queue) and the send's iovecs. Taken from the core's pool at the first
// byte of a request and given back when the connection is idle again (Connection::settle),
// so 10 000 idle keep-alive connections hold 10 000 small Connection objects and no HTTP
// state (see doc/DESIGN.md, "Idle connections").
struct ConnectionState {
  static constexpr int kMaxIov = 32;
  // Engaged while lent out, and while parked after a keep-alive request (its state is then
  // what the next request starts from: H1Connection::parkable). Empty after a close.
  std::optional<http::H1Connection> h1;
  iovec iov[kMaxIov];
  msghdr msg{};
  // A file body in flight (connection_file.cc): the pipe it is spliced through, taken from
  // the core's pool for the body, and the bytes read into it not yet on the socket.
  Pipe pipe;
  uint32_t in_pipe = 0;
  ~ConnectionState() { PipePool::discard(pipe); }
};

class Connection final : public ring::Handler, public ring::Deferred, public http::Transport {
 public:
  explicit Connection(Core& core);
  ~Connection();

  void start(int fd, const Listener& listener, bool reject);
  // Graceful stop of the core: see H1Connection::begin_shutdown.
  void shutdown_gracefully();
  // Shutdown timeout: close now, whatever is in flight.
  void close_now();
  bool closed() const { return state_ == State::kClosed; }
  // The protocol state machine (while open and lent one: an idle keep-alive connection has
  // none, an upgraded one always has its own).
  http::H1Connection* http() {
    return state_ == State::kOpen && st_ && st_->h1 ? &*st_->h1 : nullptr;
  }

  // Intrusive list of the core's live connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;

  // ring::Handler
  void on_completion(unsigned op, const ring::Completion& c) override;
  // ring::Deferred
  void run_deferred() override;

  // http::Transport
  void want_flush() override;
  void set_reading(bool on) override;
  bool client_endpoint(Endpoint& out) override;
  Endpoint server_endpoint() override;
  bool is_unix() const override { return listener_->is_unix; }
  void schedule() override;
  uint64_t now_ms() override { return reactor_.now_ms(); }

 private:
  enum Op : unsigned {
    kRecv = 1,
    kSend = 2,
    kShutdown = 3,
    kCancel = 4,
    kSpliceIn = 5,   // file -> pipe
    kSpliceOut = 6,  // pipe -> socket
    kPollOut = 7,    // the socket was full: wait until it takes more
  };
  enum class State : uint8_t { kOpen, kLingering, kClosed };
  // kSession: a WebSocket or SSE session's own deadline (H1Connection::next_deadline).
  // kIdleSuspended: a keep-alive request is in flight; the idle timer stays in the wheel
  // (on_timer pushes it) instead of being cancelled and armed again for every request.
  enum class TimerKind : uint8_t { kNone, kIdle, kIdleSuspended, kHead, kRequest, kLinger, kSession };

  void on_recv(const ring::Completion& c);
  void on_send(const ring::Completion& c);
  void arm_recv();
  void flush();
  // File bodies (connection_file.cc). Every one of these ops counts as the send in flight
  // (`sending_`), so closing and parking wait for them as for a send.
  void flush_file();
  void on_file_op(unsigned op, const ring::Completion& c);
  void release_pipe();
  void settle();
  void begin_close();
  void hard_close();
  void close_socket();
  void update_timer();
  TimerKind timer_wanted() const;
  [[gnu::noinline]] void set_timer(TimerKind kind);  // the rare change, out of settle's way
  // Takes a request state from the core's pool (at the first byte of a request).
  http::H1Connection& take_state();
  // Gives it back: parked as it is when `parkable` (H1Connection::parkable, which the caller
  // has just checked), else reset (after a close).
  void put_state(bool parkable);
  static void on_timer(void* self);

  Core& core_;
  ring::Reactor& reactor_;
  const Listener* listener_ = nullptr;
  // The request state, lent by the core (null while the connection is idle).
  std::unique_ptr<ConnectionState> st_;

  ring::Timer timer_;
  uint64_t last_read_ms_ = 0;
  uint64_t idle_since_ms_ = 0;  // when the connection last became idle (accept, a response done)
  uint64_t last_progress_ms_ = 0;  // a request dispatched, an app send, a socket write
  uint64_t session_deadline_ = 0;  // what the kSession timer is armed for

  // Small fields together: every idle connection is this object alone (no padding holes).
  int fd_ = -1;
  State state_ = State::kClosed;
  TimerKind timer_kind_ = TimerKind::kNone;
  bool recv_armed_ = false;
  bool want_reading_ = true;
  bool sending_ = false;
  bool shutdown_pending_ = false;
  bool cancel_pending_ = false;
  bool scheduled_ = false;
  bool peer_eof_ = false;
  bool released_ = true;
  bool close_idle_ = false;  // no request state: closing (peer EOF, graceful stop)
  bool splice_out_pending_ = false;  // a pipe -> socket splice is queued or running

 public:
  bool rejected = false;  // accepted only to answer the at-capacity 503

 private:
  // Lazily looked-up addresses (getpeername/getsockname once per connection, on demand).
  bool peer_known_ = false;
  bool local_known_ = false;
  char peer_host_[46] = {};
  char local_host_[46] = {};
  int peer_port_ = -1;
  int local_port_ = -1;
};

}  // namespace pagi::server
