// $send on websocket scopes (PAGI.md §3.4, §4.3): websocket.accept/send/close/keepalive and
// the denial response (websocket.http.response.*), decoded into the Exchange's ws_* calls.
// The protocol rules (UTF-8 of text, close codes, subprotocol syntax, header bytes) are the
// exchange's: its refusals come back as failed Futures with its message.
#include <string_view>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

SV* PerlApp::send_websocket(Request* r, HV* hv, std::string_view type) {
  Exchange* ex = r->ex;
  std::string_view error;
  if (type == "websocket.send") {
    // text is a String (the UTF-8 of a character string, else its octets: PAGI.md §1.3),
    // bytes are Bytes. Neither: nothing to send (the reference ignores it too).
    std::string_view data;
    bool text = true;
    SV** t = hv_fetchs(hv, "text", 0);
    if (t != nullptr && SvOK(*t)) {
      data = text_of(*t);
    } else {
      SV** b = hv_fetchs(hv, "bytes", 0);
      if (b == nullptr || !SvOK(*b)) return future_done(nullptr);
      if (!bytes_of(*b, &data)) {
        return future_fail("websocket.send: bytes contains wide characters (encode it)");
      }
      text = false;
    }
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->ws_send(data, text), true);
  }
  if (type == "websocket.accept") {
    std::string_view subprotocol;
    SV** p = hv_fetchs(hv, "subprotocol", 0);
    if (p != nullptr && SvOK(*p)) subprotocol = text_of(*p);
    if (!collect_headers(hv, "websocket.accept", &error)) return future_fail(error);
    if (ex == nullptr || r->ws_accepted) return future_done(nullptr);
    SendResult res = ex->ws_accept(subprotocol, headers_);
    if (res == SendResult::kOk || res == SendResult::kBlocked) r->ws_accepted = true;
    return send_outcome(r, res, false);
  }
  if (type == "websocket.close") {
    int64_t code;
    if (!int_field(hv, "code", 1000, &code)) {
      return future_fail("websocket.close: code must be an integer");
    }
    std::string_view reason;
    SV** why = hv_fetchs(hv, "reason", 0);
    if (why != nullptr && SvOK(*why)) reason = text_of(*why);
    if (ex == nullptr) return future_done(nullptr);
    // An out-of-range code is the exchange's to refuse, not something to wrap into range.
    int c = code < 0 || code > 65535 ? 0 : int(code);
    return send_outcome(r, ex->ws_close(c, reason), false);
  }
  if (type == "websocket.keepalive") {
    uint64_t interval_ms;
    uint64_t timeout_ms;
    if (!ms_field(hv, "interval", &interval_ms)) {
      return future_fail("websocket.keepalive: interval must be a non-negative number");
    }
    if (!ms_field(hv, "timeout", &timeout_ms)) {
      return future_fail("websocket.keepalive: timeout must be a non-negative number");
    }
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->ws_keepalive(interval_ms, timeout_ms), false);
  }
  if (type == "websocket.http.response.start") {
    int64_t status;
    if (!int_field(hv, "status", 403, &status)) {
      return future_fail("websocket.http.response.start: status must be an integer");
    }
    if (!collect_headers(hv, "websocket.http.response.start", &error)) return future_fail(error);
    // After the accept the denial is ignored, as by the reference (PAGI.md §4.3).
    if (ex == nullptr || r->ws_accepted) return future_done(nullptr);
    return send_outcome(r, ex->send_start(int(status), headers_), false);
  }
  if (type == "websocket.http.response.body") {
    std::string_view body;
    SV** b = hv_fetchs(hv, "body", 0);
    if (b != nullptr && SvOK(*b) && !bytes_of(*b, &body)) {
      return future_fail(
          "websocket.http.response.body: body contains wide characters (encode it)");
    }
    SV** m = hv_fetchs(hv, "more", 0);
    bool more = m != nullptr && SvTRUE(*m);
    if (ex == nullptr || r->ws_accepted) return future_done(nullptr);
    return send_outcome(r, ex->send_body(body, more), false);
  }
  return unrecognized(type, "websocket");
}

}  // namespace pagi::perl
