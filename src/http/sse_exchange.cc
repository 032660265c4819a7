// SSE exchange of an HTTP/1 connection (see sse_exchange.h): event mapping and the body
// feed's pause, around an sse::Session.
#include "http/sse_exchange.h"

namespace pagi::http {
namespace {

sse::RequestInfo request_info(const RequestHead& head) {
  sse::RequestInfo info;
  info.http_minor = head.version_minor();
  info.is_head = head.is_head();
  info.has_body = head.has_body();
  return info;
}

}  // namespace

SseExchange::SseExchange(H1Context& ctx, Transport& transport, Exchange& exchange,
                         OutputQueue& out, const RequestHead& head)
    : ctx_(ctx),
      transport_(transport),
      exchange_(exchange),
      session_(ctx.sse, *this, *this, out, request_info(head)) {}

bool SseExchange::on_body(std::string_view chunk) {
  feeding_ = session_.on_body(chunk);
  return feeding_;
}

void SseExchange::set_reading(bool on) {
  feeding_ = on;
  if (on) transport_.schedule();  // the connection resumes its parser at the end of the turn
}

void SseExchange::on_receive_ready(sse::Session&) {
  if (app_active_) ctx_.app->on_receive_ready(exchange_);
}

void SseExchange::on_writable(sse::Session&) {
  if (app_active_) ctx_.app->on_writable(exchange_);
}

void SseExchange::on_end(sse::Session& s, std::string_view reason) {
  ExchangeEnd end;
  end.reason = reason;
  end.response_started = s.started() || s.status() != 0;
  end.response_complete = reason.empty();
  ctx_.app->on_end(exchange_, end);
}

bool SseExchange::receive(Event& out) {
  out = Event{};
  sse::ReceiveEvent ev;
  if (!session_.receive(ev)) return false;
  if (ev.type == sse::ReceiveEvent::Type::kRequest) {
    out.type = EventType::kSseRequest;
    out.body = ev.body;
    out.more = ev.more;
  } else {
    out.type = EventType::kSseDisconnect;
    out.reason = ev.reason;
  }
  return true;
}

void SseExchange::finish(bool failed, std::string_view message) {
  if (!app_active_) return;
  app_active_ = false;
  if (failed) ++ctx_.app_errors;
  session_.finish(failed, message);
}

}  // namespace pagi::http
