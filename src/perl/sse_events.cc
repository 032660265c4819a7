// $send on sse scopes (PAGI.md §3.5): sse.start/send/comment/keepalive/close, the decline
// response (sse.http.response.*) and http.fullflush, decoded into the Exchange's sse_* calls.
// The stream rules (first send wins, nothing after sse.close, CR/LF in event/id) are the
// exchange's: its refusals come back as failed Futures with the reference's messages.
#include <string_view>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

SV* PerlApp::send_sse(Request* r, HV* hv, std::string_view type) {
  Exchange* ex = r->ex;
  std::string_view error;
  if (type == "sse.send") {
    // data/event/id are Strings (PAGI.md §1.3); retry milliseconds, a non-negative integer.
    SseEvent e;
    SV** v = hv_fetchs(hv, "data", 0);
    if (v != nullptr && SvOK(*v)) e.data = text_of(*v);
    v = hv_fetchs(hv, "event", 0);
    if (v != nullptr && SvOK(*v)) e.event = text_of(*v);
    v = hv_fetchs(hv, "id", 0);
    if (v != nullptr && SvOK(*v)) e.id = text_of(*v);
    // The exchange refuses CR/LF in event and id too; checked here first for the reference's
    // messages.
    if (e.event.find_first_of("\r\n") != std::string_view::npos) {
      return future_fail("Invalid SSE event name: contains newline");
    }
    if (e.id.find_first_of("\r\n") != std::string_view::npos) {
      return future_fail("Invalid SSE id: contains newline");
    }
    v = hv_fetchs(hv, "retry", 0);
    if (v != nullptr && SvOK(*v)) {
      if (!looks_like_integer(*v) || SvNV(*v) < 0) {
        return future_fail("Invalid SSE retry: must be a non-negative integer");
      }
      e.retry = int64_t(SvNV(*v));
    }
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->sse_send(e), true);
  }
  if (type == "sse.start") {
    int64_t status;
    if (!int_field(hv, "status", 200, &status)) {
      return future_fail("sse.start: status must be an integer");
    }
    if (!collect_headers(hv, "sse.start", &error)) return future_fail(error);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->sse_start(int(status), headers_), true);
  }
  if (type == "sse.comment") {
    std::string_view comment;
    SV** c = hv_fetchs(hv, "comment", 0);
    if (c != nullptr && SvOK(*c)) comment = text_of(*c);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->sse_comment(comment), true);
  }
  if (type == "sse.keepalive") {
    uint64_t interval_ms;
    if (!ms_field(hv, "interval", &interval_ms)) {
      return future_fail("sse.keepalive: interval must be a non-negative number");
    }
    std::string_view comment;
    SV** c = hv_fetchs(hv, "comment", 0);
    if (c != nullptr && SvOK(*c)) comment = text_of(*c);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->sse_keepalive(interval_ms, comment), false);
  }
  if (type == "sse.close") {
    // `reason` is server-side metadata only: never on the wire.
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->sse_close(), false);
  }
  if (type == "sse.http.response.start") {
    int64_t status;
    if (!int_field(hv, "status", 200, &status)) {
      return future_fail("sse.http.response.start: status must be an integer");
    }
    if (!collect_headers(hv, "sse.http.response.start", &error)) return future_fail(error);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->send_start(int(status), headers_), false);
  }
  if (type == "sse.http.response.body") {
    std::string_view body;
    SV** b = hv_fetchs(hv, "body", 0);
    if (b != nullptr && SvOK(*b) && !bytes_of(*b, &body)) {
      return future_fail("sse.http.response.body: body contains wide characters (encode it)");
    }
    SV** m = hv_fetchs(hv, "more", 0);
    bool more = m != nullptr && SvTRUE(*m);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->send_body(body, more), false);
  }
  if (type == "http.fullflush") {
    // Advertised on sse scopes too; output goes out at the end of every loop turn anyway.
    return future_done(nullptr);
  }
  return unrecognized(type, "sse");
}

}  // namespace pagi::perl
