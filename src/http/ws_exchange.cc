// WebSocket exchange of an HTTP/1 connection (see ws_exchange.h). Before the 101 this holds
// the handshake's state and any early input; after it, every call goes to the ws::Session.
#include "http/ws_exchange.h"

#include "common/log.h"
#include "http/response_writer.h"
#include "http/ws_handshake.h"

namespace pagi::http {
namespace {

// Input buffered before the app answers the handshake (a client should send nothing until the
// 101; this bounds one that does).
constexpr size_t kEarlyInputLimit = 65536;

bool status_has_body(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

}  // namespace

WsExchange::WsExchange(H1Context& ctx, Transport& transport, Exchange& exchange,
                       OutputQueue& out, const RequestHead& head, std::string_view key)
    : ctx_(ctx), transport_(transport), exchange_(exchange), out_(out), head_(head), key_(key) {
  ws::parse_subprotocols(head.headers(), subprotocols_);
}

// --- socket side ---------------------------------------------------------------------------

void WsExchange::on_input(std::span<char> bytes) {
  if (state_ == State::kGone || state_ == State::kAnswered) return;  // nobody reads it
  if (session_ && in_.empty()) {
    session_->on_input(bytes);
    return;
  }
  in_.append(bytes.data(), bytes.size());
  if (session_) {
    feed_buffered();
  } else if (in_.size() >= kEarlyInputLimit && !reading_paused_) {
    reading_paused_ = true;
    transport_.set_reading(false);
  }
}

void WsExchange::on_input_copy(std::string_view bytes) {
  if (state_ == State::kGone || state_ == State::kAnswered) return;
  in_.append(bytes);
  if (session_) feed_buffered();
}

void WsExchange::feed_buffered() {
  // The session may hand the app views into these bytes during the call only.
  feeding_.swap(in_);
  session_->on_input(std::span<char>(feeding_.data(), feeding_.size()));
  feeding_.clear();
}

void WsExchange::on_input_eof() {
  if (session_) {
    session_->on_input_eof();
    return;
  }
  // The 403/500/denial is sent whether or not the client still reads.
  if (state_ == State::kConnecting || state_ == State::kDenying) gone("client_closed");
  notify();
}

void WsExchange::on_transport_error(const char* reason) {
  if (session_) {
    session_->on_transport_error(reason);
    return;
  }
  out_.clear();
  if (state_ == State::kConnecting || state_ == State::kDenying) gone(reason);
  state_ = State::kGone;
  notify();
}

void WsExchange::on_sent(size_t n) {
  if (session_) {
    session_->on_sent(n);
  } else {
    out_.consume(n);
  }
}

void WsExchange::on_timer(uint64_t now) {
  if (session_) session_->on_timer(now);
}

void WsExchange::on_scheduled() {
  if (session_) {
    if (!in_.empty()) feed_buffered();
    session_->on_scheduled();
  } else {
    notify();
  }
}

void WsExchange::begin_shutdown() {
  if (session_) {
    session_->begin_shutdown();
    return;
  }
  if (state_ == State::kConnecting || state_ == State::kDenying) gone("server_shutdown");
  notify();
}

uint64_t WsExchange::next_deadline() const {
  return session_ ? session_->next_deadline() : kNoDeadline;
}

bool WsExchange::wants_close() const {
  if (session_) return session_->wants_close();
  return state_ == State::kAnswered || state_ == State::kGone;
}

size_t WsExchange::buffered_amount() const {
  if (session_) return session_->buffered_amount();
  return state_ == State::kGone ? 0 : out_.size();
}

// --- outcome before the session --------------------------------------------------------------

void WsExchange::gone(const char* reason) {
  state_ = State::kGone;
  if (!end_known_) {
    end_known_ = true;
    end_reason_ = reason;
  }
  transport_.want_flush();
}

// The server's own HTTP answer to the handshake, then close.
void WsExchange::answer(int status, std::string_view message, const char* reason) {
  size_t before = out_.size();
  write_error_response(out_, status, message, ctx_.date->get(), ctx_.server_header);
  head_bytes_ = out_.size() - before - message.size();
  status_ = status;
  state_ = State::kAnswered;
  if (!end_known_) {
    end_known_ = true;
    end_reason_ = reason;
  }
  transport_.want_flush();
  transport_.schedule();
}

void WsExchange::write_denial() {
  std::vector<Header> headers = deny_head_.views();
  HeaderFacts facts;
  scan_response_headers(headers, facts);  // checked in deny_start
  size_t before = out_.size();
  write_head(out_, 1, deny_status_, headers, facts, ctx_.date->get(), ctx_.server_header);
  std::string_view body = deny_body_;
  bool body_allowed = status_has_body(deny_status_);
  if (body_allowed) {
    if (facts.has_content_length) {
      body = body.substr(0, facts.content_length);
    } else {
      write_content_length(out_, body.size());
    }
  }
  if (!facts.connection_close) out_.append("connection: close\r\n");
  out_.append("\r\n");
  head_bytes_ = out_.size() - before;
  if (body_allowed) out_.append(body);
  status_ = deny_status_;
  state_ = State::kAnswered;
  if (!end_known_) {
    end_known_ = true;
    end_reason_ = "";
  }
  deny_head_.release();
  std::string().swap(deny_body_);
  transport_.want_flush();
  transport_.schedule();
}

// Tells the app what changed before the session exists. Socket-side entry points only.
void WsExchange::notify() {
  if (end_known_ && !end_reported_) {
    end_reported_ = true;
    ExchangeEnd end;
    end.reason = end_reason_;
    end.response_started = status_ != 0;
    end.response_complete = state_ == State::kAnswered;
    end.code = ws::kCloseAbnormal;
    ctx_.app->on_end(exchange_, end);
  }
  if (app_active_ && wants_receive_ && end_known_) {
    wants_receive_ = false;
    ctx_.app->on_receive_ready(exchange_);
  }
}

// --- session callbacks ---------------------------------------------------------------------------

void WsExchange::on_receive_ready(ws::Session&) {
  if (app_active_) ctx_.app->on_receive_ready(exchange_);
}

void WsExchange::on_writable(ws::Session&) {
  if (app_active_) ctx_.app->on_writable(exchange_);
}

void WsExchange::on_end(ws::Session&, uint16_t code, std::string_view reason) {
  end_reported_ = true;
  ExchangeEnd end;
  end.reason = reason;
  end.response_started = true;
  end.response_complete = true;
  end.code = code;
  ctx_.app->on_end(exchange_, end);
}

// --- app side ----------------------------------------------------------------------------------

bool WsExchange::receive(Event& out) {
  out = Event{};
  if (!connect_delivered_) {
    connect_delivered_ = true;
    out.type = EventType::kWebSocketConnect;
    return true;
  }
  if (session_) {
    ws::ReceiveEvent ev;
    if (!session_->receive(ev)) return false;
    if (ev.type == ws::ReceiveEvent::Type::kReceive) {
      out.type = EventType::kWebSocketReceive;
      out.body = ev.data;
      out.text = ev.text;
    } else {
      out.type = EventType::kWebSocketDisconnect;
      out.code = ev.code;
      out.reason = ev.reason;
    }
    return true;
  }
  if (end_known_) {
    out.type = EventType::kWebSocketDisconnect;
    out.code = ws::kCloseAbnormal;
    out.reason = end_reason_;
    return true;
  }
  wants_receive_ = true;
  return false;
}

SendResult WsExchange::accept(std::string_view subprotocol, std::span<const Header> headers) {
  if (!app_active_ || state_ == State::kGone || state_ == State::kAnswered) {
    return SendResult::kClosed;
  }
  if (state_ == State::kOpen) return SendResult::kOk;  // a second accept is ignored
  if (state_ == State::kDenying) {
    error_ = "websocket.accept after websocket.http.response.start";
    return SendResult::kInvalid;
  }
  ws::DeflateParams params;
  bool deflate = ctx_.ws_compression && ws::negotiate_deflate(head_.headers(), params);
  size_t before = out_.size();
  if (const char* err = ws::write_accept_response(out_, key_, subprotocol,
                                                  deflate ? &params : nullptr, headers)) {
    error_ = err;
    return SendResult::kInvalid;
  }
  head_bytes_ = out_.size() - before;
  status_ = 101;
  state_ = State::kOpen;
  session_.emplace(ctx_.ws, static_cast<SessionTransport&>(*this),
                   static_cast<ws::SessionHandler&>(*this), out_, deflate ? &params : nullptr);
  if (keepalive_set_) session_->keepalive(keepalive_interval_, keepalive_timeout_);
  if (reading_paused_) {
    reading_paused_ = false;
    transport_.set_reading(true);  // the session decides from now on
  }
  transport_.want_flush();
  transport_.schedule();  // early input is fed at the end of the turn
  return session_->buffered_amount() >= ctx_.ws.high_watermark ? SendResult::kBlocked
                                                               : SendResult::kOk;
}

SendResult WsExchange::send(std::string_view data, bool text) {
  if (!app_active_) return SendResult::kClosed;
  if (!session_) {
    if (state_ == State::kGone || state_ == State::kAnswered) return SendResult::kClosed;
    error_ = "websocket.send before websocket.accept";
    return SendResult::kInvalid;
  }
  SendResult r = text ? session_->send_text(data) : session_->send_bytes(data);
  if (r == SendResult::kInvalid) error_ = session_->error();
  return r;
}

SendResult WsExchange::close(int code, std::string_view reason) {
  if (!app_active_) return SendResult::kClosed;
  if (session_) {
    if (code < 0 || code > 65535) {
      error_ = "websocket.close: code must be 1000-1003, 1007-1011 or 3000-4999";
      return SendResult::kInvalid;
    }
    SendResult r = session_->send_close(uint16_t(code), reason);
    if (r == SendResult::kInvalid) error_ = session_->error();
    return r;
  }
  if (state_ == State::kGone || state_ == State::kAnswered) return SendResult::kClosed;
  // Before accept: the handshake is refused (PAGI.md §3.4), a started denial included.
  deny_head_.release();
  std::string().swap(deny_body_);
  answer(403, "Forbidden", "");
  return SendResult::kOk;
}

SendResult WsExchange::keepalive(uint64_t interval_ms, uint64_t timeout_ms) {
  if (!app_active_) return SendResult::kClosed;
  if (session_) {
    session_->keepalive(interval_ms, timeout_ms);
    return SendResult::kOk;
  }
  keepalive_set_ = true;
  keepalive_interval_ = interval_ms;
  keepalive_timeout_ = timeout_ms;
  return SendResult::kOk;
}

SendResult WsExchange::deny_start(int status, std::span<const Header> headers) {
  if (!app_active_ || state_ == State::kGone || state_ == State::kAnswered) {
    return SendResult::kClosed;
  }
  // After accept the denial events are ignored (PAGI.md §4.3); a second start is too.
  if (state_ != State::kConnecting) return SendResult::kOk;
  if (status == 0) status = 403;
  if (status < 200 || status > 999) {
    error_ = "websocket.http.response.start: status must be an integer from 200 to 999";
    return SendResult::kInvalid;
  }
  HeaderFacts facts;
  if (const char* err = scan_response_headers(headers, facts)) {
    error_ = err;
    return SendResult::kInvalid;
  }
  deny_head_.assign(headers);
  deny_body_.clear();
  deny_status_ = status;
  state_ = State::kDenying;
  return SendResult::kOk;
}

SendResult WsExchange::deny_body(std::string_view body, bool more) {
  if (!app_active_ || state_ == State::kGone || state_ == State::kAnswered) {
    return SendResult::kClosed;
  }
  if (state_ == State::kOpen) return SendResult::kOk;  // after accept: ignored
  if (state_ == State::kConnecting) {
    // A body without a start: the denial's default status.
    if (SendResult r = deny_start(403, {}); r != SendResult::kOk) return r;
  }
  deny_body_.append(body);
  if (!more) write_denial();
  return SendResult::kOk;
}

void WsExchange::finish(bool failed, std::string_view message) {
  if (!app_active_) return;
  app_active_ = false;
  wants_receive_ = false;
  if (failed) ++ctx_.app_errors;
  switch (state_) {
    case State::kOpen:
      session_->finish(failed, message);
      return;
    case State::kConnecting:
    case State::kDenying:
      // An app that gives no answer to the handshake gets the HTTP backstop (PAGI.md §3.7:
      // the reference answers 500 for a die and just closes for a return; a 500 tells the
      // client why either way, as SSE and HTTP do).
      if (failed) {
        LOG_ERROR("PAGI application error: %.*s", int(message.size()), message.data());
        answer(500, "Internal Server Error", "server_error");
      } else if (state_ == State::kDenying && deny_body_.empty()) {
        write_denial();  // started, no body, returned: an empty body (as for HTTP and SSE)
      } else {
        LOG_ERROR(state_ == State::kDenying
                      ? "PAGI application returned without completing its response"
                      : "PAGI application returned without accepting the WebSocket");
        answer(500, "Internal Server Error", "server_error");
      }
      break;
    case State::kAnswered:
    case State::kGone:
      transport_.schedule();
      break;
  }
}

}  // namespace pagi::http
