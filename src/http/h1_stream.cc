// H1Connection's websocket and sse scopes: dispatch at the request head, and the Exchange
// calls forwarded to WsExchange / SseExchange, which own the connection from then on. Kept
// apart from h1_connection.cc, whose plain-HTTP path does not change for them.
#include <time.h>

#include "http/h1_connection.h"
#include "http/sse_exchange.h"
#include "http/ws_exchange.h"
#include "http/ws_handshake.h"

namespace pagi::http {
namespace {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace

// --- dispatch ------------------------------------------------------------------------------

Action H1Connection::start_websocket(RequestHead& head) {
  ws::UpgradeCheck check = ws::check_upgrade(head.method(), head.version_minor(), head.headers());
  if (check.status == 0 && head.has_body()) {
    check.status = 400;
    check.message = "WebSocket upgrade request with a body";
  }
  if (check.status != 0) {
    // Answered, not served as HTTP (RFC 6455 §4.2.2); 426 names the version we speak.
    if (check.status == 426) {
      bad_request(426, check.message, std::span<const Header>(&ws::kVersionHeader, 1));
    } else {
      bad_request(check.status, check.message);
    }
    return Action::kPause;
  }
  start_stream(head, ScopeType::kWebSocket);
  ws_ = std::make_unique<WsExchange>(ctx_, *transport_, *this, out_, head, check.key);
  scope_.method = {};
  scope_.subprotocols = ws_->subprotocols();
  // Whatever follows the head is WebSocket frames: the parser stops here for good.
  pause_ = Pause::kMessage;
  ctx_.app->on_request(*this);
  return Action::kPause;
}

void H1Connection::start_sse(RequestHead& head) {
  start_stream(head, ScopeType::kSse);
  sse_ = std::make_unique<SseExchange>(ctx_, *transport_, *this, out_, head);
  ctx_.app->on_request(*this);
}

// What start_exchange sets up, for a scope whose session reports its own outcome.
void H1Connection::start_stream(RequestHead& head, ScopeType type) {
  exchange_open_ = true;
  app_active_ = true;
  app_finished_ = false;
  end_reported_ = true;  // the session's on_end, not report_end
  wants_receive_ = false;
  wants_writable_ = false;
  error_ = {};
  app_data = nullptr;
  if (ctx_.access_log != nullptr) {
    // Earlier responses still queued go out first: they are no part of the session's bytes.
    stream_before_ = out_.size();
    stream_sent_ = 0;
    head_ns_ = monotonic_ns();
    arrived_ = int64_t(time(nullptr));
    Endpoint peer;
    transport_->client_endpoint(peer);  // looked up while the socket is open, for the log
  }
  fill_scope(head, type);
}

// One access-log line for the whole session, at its close: 101 (or the denial's, decline's,
// 403 or 500 status), the time from the request to the close.
// Its bytes are those the client was sent after the head, frames or chunks as they went on
// the wire (nginx's $body_bytes_sent for a proxied session); what was still queued at the
// close was not sent and does not count.
void H1Connection::log_stream() {
  int status = ws_ != nullptr ? ws_->status() : sse_->session().status();
  uint64_t head =
      stream_before_ + (ws_ != nullptr ? ws_->head_bytes() : sse_->session().head_bytes());
  uint64_t bytes = stream_sent_ > head ? stream_sent_ - head : 0;
  write_access_line(head_ != nullptr ? head_->method() : std::string_view(), status, bytes,
                    monotonic_ns());
}

// --- socket side -----------------------------------------------------------------------------

void H1Connection::on_scheduled() {
  if (ws_ != nullptr) return ws_->on_scheduled();
  if (sse_ != nullptr) sse_->on_scheduled();
  pump();
}

uint64_t H1Connection::next_deadline() const {
  if (ws_ != nullptr) return ws_->next_deadline();
  if (sse_ != nullptr) return sse_->next_deadline();
  return kNoDeadline;
}

void H1Connection::on_timer(uint64_t now_ms) {
  if (ws_ != nullptr) ws_->on_timer(now_ms);
  if (sse_ != nullptr) sse_->on_timer(now_ms);
}

bool H1Connection::stream_wants_close() const {
  if (ws_ != nullptr) return ws_->wants_close();
  if (sse_ != nullptr) return sse_->wants_close();
  return false;
}

// --- the app side --------------------------------------------------------------------------

size_t H1Connection::buffered_amount() const {
  if (ws_ != nullptr) return ws_->buffered_amount();
  if (sse_ != nullptr) return sse_->session().buffered_amount();
  return client_gone_ ? 0 : out_.size();
}

bool H1Connection::response_started() const {
  if (ws_ != nullptr) return ws_->status() != 0;
  if (sse_ != nullptr) return sse_->session().status() != 0;
  return resp_started_;
}

bool H1Connection::response_complete() const {
  if (ws_ != nullptr) return ws_->answered();
  if (sse_ != nullptr) return sse_->session().status() != 0 && sse_->wants_close();
  return resp_complete_;
}

SendResult H1Connection::ws_accept(std::string_view subprotocol,
                                   std::span<const Header> headers) {
  if (ws_ == nullptr) return wrong_scope("websocket.accept is only valid on a websocket scope");
  return stream_result(ws_->accept(subprotocol, headers), *ws_);
}

SendResult H1Connection::ws_send(std::string_view data, bool text) {
  if (ws_ == nullptr) return wrong_scope("websocket.send is only valid on a websocket scope");
  return stream_result(ws_->send(data, text), *ws_);
}

SendResult H1Connection::ws_close(int code, std::string_view reason) {
  if (ws_ == nullptr) return wrong_scope("websocket.close is only valid on a websocket scope");
  return stream_result(ws_->close(code, reason), *ws_);
}

SendResult H1Connection::ws_keepalive(uint64_t interval_ms, uint64_t timeout_ms) {
  if (ws_ == nullptr) return wrong_scope("websocket.keepalive is only valid on a websocket scope");
  return stream_result(ws_->keepalive(interval_ms, timeout_ms), *ws_);
}

SendResult H1Connection::sse_start(int status, std::span<const Header> headers) {
  if (sse_ == nullptr) return wrong_scope("sse.start is only valid on an sse scope");
  return stream_result(sse_->session().start(status, headers), sse_->session());
}

SendResult H1Connection::sse_send(const SseEvent& event) {
  if (sse_ == nullptr) return wrong_scope("sse.send is only valid on an sse scope");
  sse::Event ev{event.data, event.event, event.id, event.retry < 0 ? -1 : event.retry};
  return stream_result(sse_->session().send(ev), sse_->session());
}

SendResult H1Connection::sse_comment(std::string_view comment) {
  if (sse_ == nullptr) return wrong_scope("sse.comment is only valid on an sse scope");
  return stream_result(sse_->session().comment(comment), sse_->session());
}

SendResult H1Connection::sse_keepalive(uint64_t interval_ms, std::string_view comment) {
  if (sse_ == nullptr) return wrong_scope("sse.keepalive is only valid on an sse scope");
  return stream_result(sse_->session().keepalive(interval_ms, comment), sse_->session());
}

SendResult H1Connection::sse_close() {
  if (sse_ == nullptr) return wrong_scope("sse.close is only valid on an sse scope");
  return stream_result(sse_->session().close(), sse_->session());
}

}  // namespace pagi::http
