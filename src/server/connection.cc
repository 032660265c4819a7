// Socket side of a connection (see connection.h). One multishot recv stays armed while the
// protocol wants input; at most one send is in flight; output is flushed once per loop turn.
#include "server/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "server/core.h"

namespace pagi::server {
namespace {

// How long a closing connection keeps reading (and discarding) so the client gets our last
// response before the kernel would answer its late bytes with a reset.
constexpr uint64_t kLingerMs = 2000;

void format_addr(const sockaddr_storage& ss, char* host, size_t host_len, int* port) {
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, socklen_t(host_len));
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], host, socklen_t(host_len));
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, host, socklen_t(host_len));
    }
    *port = ntohs(a->sin6_port);
  } else {
    host[0] = '\0';
    *port = -1;
  }
}

}  // namespace

// An idle keep-alive connection is this object and nothing else (its request state is
// pooled: ConnectionState). Growing it grows every idle connection; see doc/DESIGN.md
// "Idle connections" and bench/load.py's idle row before raising the bound.
static_assert(sizeof(Connection) <= 320, "server::Connection is what every idle connection holds");

Connection::Connection(Core& core) : core_(core), reactor_(core.reactor()) {
  timer_.bind(&Connection::on_timer, this);
}

Connection::~Connection() = default;

http::H1Connection& Connection::take_state() {
  st_ = core_.take_state();
  if (st_->h1) {
    st_->h1->attach(*this);  // parked after a keep-alive request elsewhere on this core
  } else {
    st_->h1.emplace(core_.h1_context(), *this);
  }
  return *st_->h1;
}

void Connection::put_state(bool parkable) {
  release_pipe();
  if (!parkable) {
    st_->h1.reset();  // a close: the next taker starts afresh
  } else {
    st_->h1->release_spare_capacity();
  }
  core_.put_state(std::move(st_));
}

void Connection::start(int fd, const Listener& listener, bool reject) {
  fd_ = fd;
  listener_ = &listener;
  state_ = State::kOpen;
  released_ = false;
  recv_armed_ = false;
  want_reading_ = true;
  sending_ = false;
  shutdown_pending_ = false;
  cancel_pending_ = false;
  scheduled_ = false;
  peer_eof_ = false;
  close_idle_ = false;
  splice_out_pending_ = false;
  peer_known_ = false;
  local_known_ = false;
  timer_kind_ = TimerKind::kNone;
  last_read_ms_ = reactor_.now_ms();
  idle_since_ms_ = last_read_ms_;
  // No request state until the client sends something (or the 503 needs an output queue).
  if (reject) take_state().reject_at_capacity();
  arm_recv();
  settle();
}

// --- ring completions ----------------------------------------------------------------------

void Connection::on_completion(unsigned op, const ring::Completion& c) {
  switch (op) {
    case kRecv:
      on_recv(c);
      break;
    case kSend:
      on_send(c);
      break;
    case kShutdown:
      shutdown_pending_ = false;
      if (state_ == State::kClosed) {
        close_socket();  // held back by hard_close for this
      } else if (state_ == State::kLingering && peer_eof_) {
        hard_close();
      }
      break;
    case kCancel:
      cancel_pending_ = false;
      break;
    case kSpliceIn:
    case kSpliceOut:
    case kPollOut:
      on_file_op(op, c);
      break;
    default:
      break;
  }
  settle();
}

void Connection::arm_recv() {
  if (recv_armed_ || state_ == State::kClosed || peer_eof_) return;
  if (!want_reading_ && state_ == State::kOpen) return;
  recv_armed_ = true;
  reactor_.recv_multishot(fd_, this, kRecv);
}

void Connection::on_recv(const ring::Completion& c) {
  if (!c.more) recv_armed_ = false;
  if (c.res > 0) {
    last_read_ms_ = reactor_.now_ms();
    core_.counters().bytes_received += uint64_t(c.res);
    if (state_ == State::kOpen) {
      http::H1Connection& h1 = st_ ? *st_->h1 : take_state();
      // Writable: a WebSocket session unmasks the frames in place.
      h1.on_input_writable(std::span<char>(reactor_.buffers().data(c.buffer_id), size_t(c.res)));
    }
    // Lingering or closed: the bytes are discarded.
    if (c.has_buffer) reactor_.buffers().recycle(c.buffer_id);
  } else if (c.res == 0) {
    peer_eof_ = true;
    if (state_ == State::kOpen) {
      if (st_) {
        st_->h1->on_input_eof();
      } else {
        close_idle_ = true;  // between requests: nothing to answer
      }
    } else if (state_ == State::kLingering && !shutdown_pending_) {
      hard_close();
    }
  } else if (c.res == -ENOBUFS || c.res == -ECANCELED) {
    // Out of provided buffers (re-armed below), or we cancelled it.
  } else if (state_ != State::kClosed) {
    // ECONNRESET and friends: the peer is gone.
    peer_eof_ = true;
    if (st_) st_->h1->on_transport_error();
    hard_close();
  }
  if (!recv_armed_ && state_ != State::kClosed && !peer_eof_) arm_recv();
}

void Connection::on_send(const ring::Completion& c) {
  sending_ = false;
  if (state_ == State::kClosed) return;
  if (c.res < 0) {
    if (c.res == -EAGAIN || c.res == -EINTR) {
      want_flush();
      return;
    }
    st_->h1->on_transport_error("write_error");
    hard_close();
    return;
  }
  core_.counters().bytes_sent += uint64_t(c.res);
  last_progress_ms_ = reactor_.now_ms();
  st_->h1->on_sent(size_t(c.res));
  // The rest (or what came meanwhile, or a file body waiting behind the head) goes at once.
  if (st_->h1->sendable() > 0 || st_->h1->file_pending()) flush();
}

// --- output --------------------------------------------------------------------------------

void Connection::want_flush() {
  if (state_ == State::kClosed) return;
  // The app sent something (or the protocol has output): the request is not stalled.
  last_progress_ms_ = reactor_.now_ms();
  reactor_.defer(*this);
}

void Connection::schedule() {
  scheduled_ = true;
  reactor_.defer(*this);
}

void Connection::run_deferred() {
  if (scheduled_) {
    scheduled_ = false;
    if (st_) st_->h1->on_scheduled();
  }
  if (state_ == State::kOpen) flush();
  settle();
}

void Connection::flush() {
  if (sending_ || state_ != State::kOpen || !st_) return;
  size_t limit = st_->h1->sendable();
  if (limit == 0) return flush_file();
  iovec* iov = st_->iov;
  int n = st_->h1->output().gather(iov, ConnectionState::kMaxIov, limit);
  if (n == 0) return;
  sending_ = true;
  if (n == 1) {
    reactor_.send(fd_, iov[0].iov_base, iov[0].iov_len, this, kSend);
  } else {
    st_->msg = msghdr{};
    st_->msg.msg_iov = iov;
    st_->msg.msg_iovlen = size_t(n);
    reactor_.sendmsg(fd_, &st_->msg, this, kSend);
  }
}

// --- input backpressure ----------------------------------------------------------------------

void Connection::set_reading(bool on) {
  want_reading_ = on;
  if (state_ != State::kOpen) return;
  if (on) {
    arm_recv();
  } else if (recv_armed_) {
    // Closing after this response: the armed recv is what sees the peer's FIN once we have
    // shut down (begin_close), and what arrives before is dropped unread (on_input). A
    // cancel now and a new recv then would be two ring operations for nothing.
    if (st_ && st_->h1->closing_after_flush()) return;
    reactor_.cancel(this, kRecv);  // its final completion (-ECANCELED) clears recv_armed_
  }
}

// --- closing ---------------------------------------------------------------------------------

// After every event: close if the protocol is done, keep the timer right, hand the request
// state back once the connection is idle, give the object back once nothing refers to it.
void Connection::settle() {
  if (state_ == State::kOpen && !sending_) {
    if (st_) {
      http::H1Connection& h1 = *st_->h1;
      if (h1.wants_close()) {
        if (h1.sendable() == 0) begin_close();
      } else if (!scheduled_ && h1.parkable()) {
        // Idle between keep-alive requests: the state goes back to the pool (a send or a
        // turn-end callback still owed keeps it; the next settle after them parks it). A
        // connection that wants to close is never parkable, hence the else.
        put_state(true);
      }
    } else if (close_idle_) {
      begin_close();
    }
  }
  if (state_ != State::kClosed) {
    update_timer();
    return;
  }
  if (!released_ && !recv_armed_ && !sending_ && !shutdown_pending_ && !cancel_pending_ &&
      !scheduled_ && !(st_ && st_->h1->app_active())) {
    released_ = true;
    reactor_.timers().cancel(timer_);
    if (st_) put_state(st_->h1->parkable());
    core_.release(this);  // may reuse this object at once: touch nothing after
  }
}

void Connection::begin_close() {
  if (peer_eof_ || (st_ && (st_->h1->output().size() > 0 || st_->h1->close_is_agreed()))) {
    // The peer is gone, or has said it sends no more (or something unsendable is left):
    // nothing to linger for.
    hard_close();
    return;
  }
  state_ = State::kLingering;
  shutdown_pending_ = true;
  reactor_.shutdown(fd_, SHUT_WR, this, kShutdown);
  if (!recv_armed_) {
    want_reading_ = true;
    recv_armed_ = true;
    reactor_.recv_multishot(fd_, this, kRecv);
  }
}

// The ring closes the socket, unless an op that holds it is still queued (see hard_close):
// then that op's completion calls this again.
void Connection::close_socket() {
  if (fd_ < 0 || splice_out_pending_ || shutdown_pending_) return;
  reactor_.close(fd_);
  fd_ = -1;
}

void Connection::hard_close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  reactor_.timers().cancel(timer_);
  timer_kind_ = TimerKind::kNone;
  if (recv_armed_ || sending_ || shutdown_pending_) {
    cancel_pending_ = true;
    reactor_.cancel_fd(fd_, this, kCancel);
  }
  // A splice (and a shutdown) runs on an io-wq worker, which looks its descriptors up only
  // when it starts it: one still queued is not found by the cancel, and closing the socket now
  // would let it act on whatever connection is accepted on the same number next (the rest of
  // this body written to a new client, a new client's socket shut down). The socket stays open
  // until such an op completes (on_file_op and the kShutdown completion close it).
  close_socket();
  if (st_ && !st_->h1->wants_close()) st_->h1->on_transport_error();
}

void Connection::shutdown_gracefully() {
  if (state_ != State::kOpen) return;
  if (st_) {
    st_->h1->begin_shutdown();
  } else {
    close_idle_ = true;  // idle: close at once
  }
  settle();
}

void Connection::close_now() {
  if (state_ == State::kClosed) return;
  if (st_) st_->h1->on_transport_error("server_shutdown");
  hard_close();
  settle();
}

// --- timers ------------------------------------------------------------------------------------

// The timer kind the connection's state calls for. Cheap and inline: settle() asks after
// every event and the answer rarely changes (set_timer does the rest when it does).
// kSession stands for "a WebSocket or SSE session": set_timer asks it for its deadline.
inline Connection::TimerKind Connection::timer_wanted() const {
  if (state_ == State::kLingering) return TimerKind::kLinger;
  const ServerConfig& config = core_.config();
  bool idle_timer = config.idle_timeout_ms > 0;
  if (!st_) return idle_timer ? TimerKind::kIdle : TimerKind::kNone;  // no request state held
  const http::H1Connection& h1 = *st_->h1;
  // An upgraded connection keeps its session's timers only (--ws-idle-timeout, keepalive,
  // close wait; --sse-idle-timeout, keepalive), never the HTTP idle/head timeout.
  if (h1.streaming()) return TimerKind::kSession;
  // Slowloris: the whole head must arrive within the timeout, however it trickles.
  if (h1.reading_head()) return idle_timer ? TimerKind::kHead : TimerKind::kNone;
  if (h1.idle()) return idle_timer ? TimerKind::kIdle : TimerKind::kNone;
  // A request in flight: never the idle timer, only the stall timer when asked for (until
  // the response is complete: an app working on after it has answered stalls nobody).
  if (config.request_timeout_ms > 0 && !h1.response_complete()) return TimerKind::kRequest;
  return TimerKind::kNone;
}

void Connection::update_timer() {
  TimerKind kind = timer_wanted();
  // Idle timers are not moved per read (see on_timer); a session's deadline may move.
  if (kind == timer_kind_ && kind != TimerKind::kSession) return;
  // Between keep-alive requests and a request in flight (without --request-timeout) the idle
  // timer is only suspended and resumed, never taken out of the wheel: the armed deadline is
  // never later than the one wanted, and on_timer pushes it when it comes early.
  if (timer_kind_ == TimerKind::kIdle || timer_kind_ == TimerKind::kIdleSuspended) {
    if (kind == TimerKind::kNone) {
      timer_kind_ = TimerKind::kIdleSuspended;
      return;
    }
    if (kind == TimerKind::kIdle) {  // from kIdleSuspended: the response is done
      timer_kind_ = TimerKind::kIdle;
      idle_since_ms_ = reactor_.now_ms();
      return;
    }
  }
  set_timer(kind);
}

void Connection::set_timer(TimerKind kind) {
  if (kind == TimerKind::kSession) {
    uint64_t d = st_->h1->next_deadline();
    if (d == http::kNoDeadline) {
      kind = TimerKind::kNone;
      if (kind == timer_kind_) return;
    } else {
      if (timer_kind_ != kind || d != session_deadline_) {
        timer_kind_ = kind;
        session_deadline_ = d;
        uint64_t now = reactor_.now_ms();
        reactor_.timers().arm(timer_, d > now ? d - now : 0);
      }
      return;
    }
  }
  uint64_t timeout = core_.config().idle_timeout_ms;
  uint64_t request_timeout = core_.config().request_timeout_ms;
  uint64_t deadline = 0;
  timer_kind_ = kind;
  uint64_t now = reactor_.now_ms();
  switch (kind) {
    case TimerKind::kNone:
      reactor_.timers().cancel(timer_);
      return;
    case TimerKind::kLinger:
      deadline = now + kLingerMs;
      break;
    case TimerKind::kHead:
      deadline = now + timeout;
      break;
    case TimerKind::kIdle:
      // The idle period starts now (a request that took longer than the timeout does not
      // leave its connection to be closed the moment it is idle).
      idle_since_ms_ = now;
      deadline = now + timeout;
      break;
    case TimerKind::kIdleSuspended:  // only update_timer enters it
      return;
    case TimerKind::kRequest:
      last_progress_ms_ = now;  // dispatched now
      deadline = now + request_timeout;
      break;
    case TimerKind::kSession:
      return;  // armed above
  }
  reactor_.timers().arm(timer_, deadline > now ? deadline - now : 0);
}

void Connection::on_timer(void* self) {
  auto* c = static_cast<Connection*>(self);
  uint64_t now = c->reactor_.now_ms();
  uint64_t timeout = c->core_.config().idle_timeout_ms;
  if (c->timer_kind_ == TimerKind::kSession) {
    c->timer_kind_ = TimerKind::kNone;  // update_timer re-arms for the next deadline
    if (c->state_ == State::kOpen && c->st_) c->st_->h1->on_timer(now);
    c->settle();
    return;
  }
  switch (c->timer_kind_) {
    case TimerKind::kIdle: {
      uint64_t since = std::max(c->last_read_ms_, c->idle_since_ms_);
      if (now < since + timeout) {
        // Read (or a request done) since arming: push the deadline instead of re-arming on
        // every read.
        c->reactor_.timers().arm(c->timer_, since + timeout - now);
        return;
      }
      LOG_DEBUG("closing idle connection (idle_timeout)");
      break;
    }
    case TimerKind::kIdleSuspended:  // a request in flight: not idle, look again later
      c->reactor_.timers().arm(c->timer_, timeout);
      return;
    case TimerKind::kHead:
      LOG_INFO("closing connection: request head not complete within %llu ms",
               static_cast<unsigned long long>(timeout));
      break;
    case TimerKind::kRequest: {
      // Reads and sends since arming push the deadline instead of re-arming each time.
      uint64_t request_timeout = c->core_.config().request_timeout_ms;
      uint64_t last = std::max(c->last_read_ms_, c->last_progress_ms_);
      if (now < last + request_timeout) {
        c->reactor_.timers().arm(c->timer_, last + request_timeout - now);
        return;
      }
      LOG_WARN("Request stall timeout: no progress for %llu ms, closing the connection",
               static_cast<unsigned long long>(request_timeout));
      break;
    }
    case TimerKind::kLinger:
    case TimerKind::kNone:
    case TimerKind::kSession:
      break;
  }
  const char* reason = c->timer_kind_ == TimerKind::kIdle ? "idle_timeout" : "client_timeout";
  c->timer_kind_ = TimerKind::kNone;
  if (c->state_ != State::kClosed) {
    if (c->st_) c->st_->h1->on_transport_error(reason);
    c->hard_close();
  }
  c->settle();
}

// --- addresses -----------------------------------------------------------------------------------

bool Connection::client_endpoint(Endpoint& out) {
  if (listener_->is_unix) return false;
  if (!peer_known_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (fd_ >= 0 && getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      format_addr(ss, peer_host_, sizeof(peer_host_), &peer_port_);
    }
    peer_known_ = true;
  }
  out.host = peer_host_;
  out.port = peer_port_;
  return true;
}

Endpoint Connection::server_endpoint() {
  if (listener_->is_unix) return Endpoint{listener_->path, -1};
  if (!listener_->wildcard) return Endpoint{listener_->host, listener_->port};
  if (!local_known_) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (fd_ >= 0 && getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      format_addr(ss, local_host_, sizeof(local_host_), &local_port_);
    }
    local_known_ = true;
  }
  return Endpoint{local_host_, local_port_};
}

}  // namespace pagi::server
