// WebSocket session state machine (see ws_session.h). Frames are parsed in place over the
// transport's buffer; a message the app is waiting for is handed over as a view into it, and
// only what the app has not taken by the end of the read is copied into the receive queue.
#include "http/ws_session.h"

#include <algorithm>

#include "common/log.h"
#include "common/utf8.h"

namespace pagi::http::ws {
namespace {

// Buffers larger than this are released once empty rather than kept for the next message.
constexpr size_t kKeepCapacity = size_t{64} << 10;

uint64_t earliest(uint64_t a, uint64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

Session::Session(const SessionConfig& config, SessionTransport& transport, SessionHandler& handler,
                 OutputQueue& out, const DeflateParams* deflate)
    : config_(config),
      transport_(transport),
      handler_(handler),
      out_(out),
      parser_(FrameParser::Options{config.max_frame_size, deflate != nullptr, config.require_mask}),
      assembler_(config.max_message_size) {
  if (deflate != nullptr) {
    inflater_.emplace(*deflate);
    deflater_.emplace(*deflate);
    // A window zlib cannot produce (8 bits): everything goes out uncompressed.
    if (!deflater_->enabled()) deflater_.reset();
  }
  last_activity_ = transport_.now_ms();
}

// --- socket side -----------------------------------------------------------------------------

void Session::on_input(std::span<char> bytes) {
  if (wants_close_ || bytes.empty()) return;
  activity();
  while (!wants_close_) {
    FrameEvent ev = parser_.next(bytes);
    if (ev.kind == FrameEvent::Kind::kNeedMore) break;
    if (ev.kind == FrameEvent::Kind::kError) {
      close_with(ev.error.code, ev.error.reason, "protocol_error");
      break;
    }
    if (ev.kind == FrameEvent::Kind::kControl) {
      handle_control(ev);
      continue;
    }
    // After our Close the peer may still send data before its own Close: dropped (RFC 6455
    // §1.4), as is everything once the app has returned.
    if (close_sent_ || !app_active_) continue;
    if (WsError err = assembler_.add(ev, inflater_ ? &*inflater_ : nullptr)) {
      close_with(err.code, err.reason, "protocol_error");
      break;
    }
    if (assembler_.complete()) handle_message();
  }
  notify();
}

void Session::handle_message() {
  bool text = assembler_.opcode() == Opcode::kText;
  if (queued_messages() >= config_.max_receive_queue) {
    close_with(kClosePolicyViolation, "Message queue overflow", "queue_overflow");
    return;
  }
  if (wants_receive_ && queued_messages() == 0 && !in_notify_) {
    // The app is waiting: give it the message where it lies (the transport's buffer or the
    // assembler's), no copy. It usually takes it inside the callback.
    wants_receive_ = false;
    direct_pending_ = true;
    direct_text_ = text;
    direct_ = assembler_.message();
    in_notify_ = true;
    handler_.on_receive_ready(*this);
    in_notify_ = false;
    if (direct_pending_) {
      direct_pending_ = false;
      enqueue(text, direct_);
    }
    direct_ = {};
  } else {
    enqueue(text, assembler_.message());
  }
  assembler_.clear();
}

void Session::handle_control(const FrameEvent& ev) {
  switch (ev.opcode) {
    case Opcode::kPing:
      // Answered at once; after our Close nothing but the Close may have gone out.
      if (!close_sent_ && !dead_) write_frame(out_, Opcode::kPong, ev.payload);
      break;
    case Opcode::kPong:
      pong_deadline_ = 0;  // any pong shows the peer alive (RFC 6455 §5.5.3)
      break;
    case Opcode::kClose:
      if (!close_sent_) {
        // Echo the peer's code (none → an empty Close: 1005 must not go on the wire).
        if (!dead_) write_close(out_, ev.close_code, {});
        close_sent_ = true;
        close_code_sent_ = ev.close_code;
      }
      set_end(ev.close_code, ev.close_reason);
      wants_close_ = true;  // the server closes the TCP connection first (RFC 6455 §7.1.1)
      break;
    default: break;
  }
}

void Session::on_input_eof() {
  if (!wants_close_) {
    drop("client_closed");
    notify();
  }
}

void Session::on_transport_error(const char* reason) {
  dead_ = true;
  out_.clear();
  drop(reason);
  notify();
}

void Session::on_sent(size_t n) {
  out_.consume(n);
  if (wants_writable_ && out_.size() < config_.low_watermark) notify();
}

void Session::on_timer(uint64_t now) {
  if (wants_close_) return;
  if (close_deadline_ != 0 && now >= close_deadline_) {
    // We sent Close and the peer neither answered nor closed.
    drop("client_timeout");
  } else if (pong_deadline_ != 0 && now >= pong_deadline_) {
    LOG_WARN("WebSocket keepalive timeout - no pong received within %gs",
             double(pong_timeout_) / 1000);
    drop("keepalive_timeout");  // the peer is unresponsive: a Close would not be read
  } else if (config_.idle_timeout_ms != 0 && !close_sent_ &&
             now >= last_activity_ + config_.idle_timeout_ms) {
    LOG_WARN("WebSocket idle timeout (%gs) - closing connection",
             double(config_.idle_timeout_ms) / 1000);
    close_with(kCloseGoingAway, "Idle timeout", "idle_timeout");
  } else if (next_ping_ != 0 && now >= next_ping_) {
    if (!close_sent_) {
      write_frame(out_, Opcode::kPing, {});
      activity();
      if (pong_timeout_ != 0 && pong_deadline_ == 0) pong_deadline_ = now + pong_timeout_;
    }
    next_ping_ = now + ping_interval_;
  }
  notify();
}

void Session::on_scheduled() {
  notify();
}

void Session::begin_shutdown() {
  if (wants_close_) return;
  if (config_.close_frame_on_shutdown) {
    close_with(kCloseGoingAway, "Server shutting down", "server_shutdown");
  } else {
    drop("server_shutdown");
  }
  notify();
}

uint64_t Session::next_deadline() const {
  if (wants_close_) return kNoDeadline;
  uint64_t d = earliest(close_deadline_, pong_deadline_);
  d = earliest(d, next_ping_);
  if (config_.idle_timeout_ms != 0 && !close_sent_) {
    d = earliest(d, last_activity_ + config_.idle_timeout_ms);
  }
  return d == 0 ? kNoDeadline : d;
}

// --- outcome -----------------------------------------------------------------------------------

void Session::close_with(uint16_t code, std::string_view wire_reason, std::string_view token) {
  if (!close_sent_) {
    if (!dead_) write_close(out_, code, wire_reason);
    close_sent_ = true;
    close_code_sent_ = code;
  }
  set_end(code, token);
  wants_close_ = true;
}

void Session::drop(std::string_view token) {
  set_end(kCloseAbnormal, token);
  wants_close_ = true;
}

void Session::set_end(uint16_t code, std::string_view reason) {
  if (end_known_) return;
  end_known_ = true;
  end_code_ = code;
  end_reason_.assign(reason);
}

void Session::activity() {
  last_activity_ = transport_.now_ms();
}

// Tells the app what changed. Runs only from socket-side entry points; a callback that calls
// back into the session (finish, receive) is picked up by another round.
void Session::notify() {
  if (in_notify_) {
    renotify_ = true;
    return;
  }
  in_notify_ = true;
  do {
    renotify_ = false;
    if (end_known_ && !end_reported_) {
      end_reported_ = true;
      handler_.on_end(*this, end_code_, end_reason_);
    }
    if (app_active_ && wants_receive_ && (queued_messages() > 0 || end_known_)) {
      wants_receive_ = false;
      handler_.on_receive_ready(*this);
    }
    if (app_active_ && wants_writable_ && (dead_ || out_.size() < config_.low_watermark)) {
      wants_writable_ = false;
      handler_.on_writable(*this);
    }
  } while (renotify_);
  in_notify_ = false;
  if (wants_close_ && !app_active_) {
    // Nobody will read what is left.
    queue_.clear();
    queue_head_ = 0;
    queue_bytes_.clear();
  }
  update_reading();
  if (!out_.empty() || wants_close_) transport_.want_flush();
}

void Session::update_reading() {
  // Hysteresis: stop at the pause threshold, read again below half of it.
  size_t bytes = queued_bytes();
  bool want = !wants_close_ && (reading_ ? bytes < config_.receive_pause_bytes
                                         : bytes < config_.receive_pause_bytes / 2);
  if (want != reading_) {
    reading_ = want;
    transport_.set_reading(want);
  }
}

// --- receive queue -----------------------------------------------------------------------------

void Session::enqueue(bool text, std::string_view data) {
  queue_.push_back(Queued{queue_bytes_.size(), data.size(), text});
  queue_bytes_.append(data);
}

size_t Session::queued_bytes() const {
  if (queue_head_ == queue_.size()) return 0;
  return queue_bytes_.size() - queue_[queue_head_].offset;
}

// Drops what was handed out before: called at the start of receive(), when the previous
// event's view may go.
void Session::compact_queue() {
  if (queue_head_ == 0) return;
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
    if (queue_bytes_.capacity() > kKeepCapacity) {
      std::string().swap(queue_bytes_);
    } else {
      queue_bytes_.clear();
    }
    return;
  }
  // Move the rest to the front only when the handed-out part dominates: amortised O(1).
  if (queue_head_ * 2 < queue_.size()) return;
  size_t drop = queue_[queue_head_].offset;
  queue_bytes_.erase(0, drop);
  queue_.erase(queue_.begin(), queue_.begin() + ptrdiff_t(queue_head_));
  queue_head_ = 0;
  for (Queued& q : queue_) q.offset -= drop;
}

bool Session::receive(ReceiveEvent& out) {
  if (direct_pending_) {
    direct_pending_ = false;
    out = ReceiveEvent{ReceiveEvent::Type::kReceive, direct_text_, direct_, 0, {}};
    return true;
  }
  compact_queue();
  if (queue_head_ < queue_.size()) {
    const Queued& q = queue_[queue_head_++];
    out = ReceiveEvent{ReceiveEvent::Type::kReceive,
                       q.text,
                       std::string_view(queue_bytes_).substr(q.offset, q.size),
                       0,
                       {}};
    if (!reading_ && !in_notify_) transport_.schedule();  // the read pause may end
    return true;
  }
  if (end_known_) {
    // The disconnect, and again on every later receive.
    out = ReceiveEvent{ReceiveEvent::Type::kDisconnect, false, {}, end_code_, end_reason_};
    return true;
  }
  wants_receive_ = true;
  return false;
}

// --- send --------------------------------------------------------------------------------------

pagi::SendResult Session::send_result() {
  if (out_.size() >= config_.high_watermark) {
    wants_writable_ = true;
    return pagi::SendResult::kBlocked;
  }
  return pagi::SendResult::kOk;
}

pagi::SendResult Session::send_data(Opcode opcode, std::string_view data) {
  // After a Close (either side's) or a drop, sends are no-ops (PAGI.md §3.4).
  if (!app_active_ || close_sent_ || wants_close_ || dead_) return pagi::SendResult::kClosed;
  bool sent = false;
  if (deflater_ && data.size() >= config_.deflate_min_size) {
    deflate_out_.clear();
    if (deflater_->compress(data, deflate_out_)) {
      write_frame(out_, opcode, deflate_out_, true, true);
      sent = true;
    } else {
      // zlib failed: its state no longer matches the peer's, so no more compression.
      deflater_.reset();
    }
    if (deflate_out_.capacity() > kKeepCapacity) std::string().swap(deflate_out_);
  }
  if (!sent) write_frame(out_, opcode, data);
  activity();
  transport_.want_flush();
  return send_result();
}

pagi::SendResult Session::send_text(std::string_view text) {
  if (!app_active_ || close_sent_ || wants_close_ || dead_) return pagi::SendResult::kClosed;
  if (!is_valid_utf8(text)) {
    // A peer must fail the connection on such a message (1007): refuse it here.
    error_ = "websocket.send: text is not valid UTF-8";
    return pagi::SendResult::kInvalid;
  }
  return send_data(Opcode::kText, text);
}

pagi::SendResult Session::send_bytes(std::string_view bytes) {
  return send_data(Opcode::kBinary, bytes);
}

pagi::SendResult Session::send_close(uint16_t code, std::string_view reason) {
  if (!app_active_ || close_sent_ || wants_close_ || dead_) return pagi::SendResult::kClosed;
  if (!is_valid_close_code(code)) {
    error_ = "websocket.close: code must be 1000-1003, 1007-1011 or 3000-4999";
    return pagi::SendResult::kInvalid;
  }
  if (!is_valid_utf8(reason)) {
    error_ = "websocket.close: reason is not valid UTF-8";
    return pagi::SendResult::kInvalid;
  }
  write_close(out_, code, reason);  // cut to 123 bytes on a character boundary
  close_sent_ = true;
  close_code_sent_ = code;
  activity();
  // The peer's Close completes the handshake and gives the app its disconnect.
  close_deadline_ = transport_.now_ms() + config_.close_timeout_ms;
  transport_.want_flush();
  transport_.schedule();  // the deadline changed
  return pagi::SendResult::kOk;
}

void Session::keepalive(uint64_t interval_ms, uint64_t timeout_ms) {
  if (!app_active_ || wants_close_) return;
  ping_interval_ = interval_ms;
  pong_timeout_ = interval_ms != 0 ? timeout_ms : 0;
  pong_deadline_ = 0;  // last call wins, a pong owed to an earlier setting included
  next_ping_ = interval_ms != 0 ? transport_.now_ms() + interval_ms : 0;
  transport_.schedule();
}

void Session::finish(bool failed, std::string_view message) {
  if (!app_active_) return;
  if (failed) {
    LOG_ERROR("PAGI application error (WebSocket): %.*s", int(message.size()), message.data());
  }
  app_active_ = false;
  wants_receive_ = false;
  wants_writable_ = false;
  direct_pending_ = false;
  if (failed) {
    close_with(kCloseInternalError, "Internal Error", "server_error");
  } else if (!close_sent_) {
    close_with(kCloseNormal, {}, {});
  } else {
    // The app's Close went out: no need to wait for the peer's.
    set_end(close_code_sent_, {});
    wants_close_ = true;
  }
  transport_.want_flush();
  transport_.schedule();
}

}  // namespace pagi::http::ws
