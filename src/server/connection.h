// A client socket on a core: moves bytes between the ring and the HTTP/1 state machine,
// keeps the connection's timers, and closes it (gracefully: write side first, then a short
// linger that discards late input, so the peer reads our last response before any RST).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>

#include "http/h1_connection.h"
#include "ring/reactor.h"
#include "server/listener.h"

namespace pagi::server {

class Core;

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
  // The protocol state machine (while open).
  http::H1Connection* http() { return state_ == State::kOpen && h1_ ? &*h1_ : nullptr; }

  // Intrusive list of the core's live connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;
  bool rejected = false;  // accepted only to answer the at-capacity 503

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
  enum Op : unsigned { kRecv = 1, kSend = 2, kShutdown = 3, kCancel = 4 };
  enum class State : uint8_t { kOpen, kLingering, kClosed };
  // kSession: a WebSocket or SSE session's own deadline (H1Connection::next_deadline).
  enum class TimerKind : uint8_t { kNone, kIdle, kHead, kRequest, kLinger, kSession };

  void on_recv(const ring::Completion& c);
  void on_send(const ring::Completion& c);
  void arm_recv();
  void flush();
  void settle();
  void begin_close();
  void hard_close();
  void update_timer();
  static void on_timer(void* self);

  Core& core_;
  ring::Reactor& reactor_;
  const Listener* listener_ = nullptr;
  int fd_ = -1;
  State state_ = State::kClosed;
  std::optional<http::H1Connection> h1_;

  bool recv_armed_ = false;
  bool want_reading_ = true;
  bool sending_ = false;
  bool shutdown_pending_ = false;
  bool cancel_pending_ = false;
  bool scheduled_ = false;
  bool peer_eof_ = false;
  bool released_ = true;

  static constexpr int kMaxIov = 32;
  iovec iov_[kMaxIov];
  msghdr msg_{};

  ring::Timer timer_;
  TimerKind timer_kind_ = TimerKind::kNone;
  uint64_t last_read_ms_ = 0;
  uint64_t head_started_ms_ = 0;
  uint64_t last_progress_ms_ = 0;  // a request dispatched, an app send, a socket write
  uint64_t session_deadline_ = 0;  // what the kSession timer is armed for

  // Lazily looked-up addresses (getpeername/getsockname once per connection, on demand).
  bool peer_known_ = false;
  bool local_known_ = false;
  char peer_host_[46] = {};
  int peer_port_ = -1;
  char local_host_[46] = {};
  int local_port_ = -1;
};

}  // namespace pagi::server
