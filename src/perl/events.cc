// $receive and $send: inbound events as Perl hashes, and the decoding of the app's event
// hashes into Exchange calls (PAGI.md §3), with the reference's error texts. A send the
// exchange takes at once returns a done Future; one above the high watermark a pending one.
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

// $receive->(): a done Future with the next event, or a pending one resolved from
// on_receive_ready. After the request ended: the scope type's disconnect event.
SV* PerlApp::receive(Request* r) {
  Event ev;
  if (r->ex == nullptr) return future_done(disconnect_event(r));
  if (r->receivers.empty() && r->ex->receive(ev)) return future_done(event_sv(ev));
  SV* f = future_new();
  r->receivers.push_back(SvREFCNT_inc_simple_NN(f));
  return f;
}

// $send->(\%event): decoded by the scope's protocol.
SV* PerlApp::send(Request* r, SV* event) {
  if (!SvROK(event) || SvTYPE(SvRV(event)) != SVt_PVHV) {
    return future_fail("send requires an event hash reference");
  }
  HV* hv = reinterpret_cast<HV*>(SvRV(event));
  SV** type_sv = hv_fetchs(hv, "type", 0);
  STRLEN type_len = 0;
  const char* type_p = type_sv != nullptr && SvOK(*type_sv) ? SvPV(*type_sv, type_len) : "";
  std::string_view type(type_p, type_len);
  sending_ = type;
  switch (r->type) {
    case ScopeType::kWebSocket: return send_websocket(r, hv, type);
    case ScopeType::kSse: return send_sse(r, hv, type);
    case ScopeType::kHttp: break;
  }
  return send_http(r, hv, type);
}

SV* PerlApp::send_http(Request* r, HV* hv, std::string_view type) {
  std::string_view error;
  SendResult res = SendResult::kOk;
  Exchange* ex = r->ex;
  if (type == "http.response.start") {
    int64_t status;
    if (!int_field(hv, "status", 200, &status)) {
      return future_fail("http.response.start: status must be an integer");
    }
    if (!collect_headers(hv, "http.response.start", &error)) return future_fail(error);
    SV** t = hv_fetchs(hv, "trailers", 0);
    bool trailers = t != nullptr && SvTRUE(*t);
    if (ex == nullptr) return future_done(nullptr);
    res = ex->send_start(int(status), headers_, trailers);
  } else if (type == "http.response.body") {
    if (hv_exists(hv, "file", 4) || hv_exists(hv, "fh", 2)) return send_file(r, hv);
    std::string_view body;
    SV** b = hv_fetchs(hv, "body", 0);
    if (b != nullptr && SvOK(*b) && !bytes_of(*b, &body)) {
      return future_fail("http.response.body: body contains wide characters (encode it)");
    }
    SV** m = hv_fetchs(hv, "more", 0);
    bool more = m != nullptr && SvTRUE(*m);
    if (ex == nullptr) return future_done(nullptr);
    return send_outcome(r, ex->send_body(body, more), true);
  } else if (type == "http.response.trailers") {
    if (!collect_headers(hv, "http.response.trailers", &error)) return future_fail(error);
    if (ex == nullptr) return future_done(nullptr);
    res = ex->send_trailers(headers_);
  } else if (type == "http.fullflush") {
    // Advertised in every scope. Output is written at the end of the loop turn the send
    // happens in (and unix/TCP sockets here never hold bytes back), so this is that flush.
    return future_done(nullptr);
  } else {
    return unrecognized(type, "http");
  }
  return send_outcome(r, res, false);
}

SV* PerlApp::send_outcome(Request* r, SendResult res, bool output) {
  if (output && (res == SendResult::kOk || res == SendResult::kBlocked)) check_watermarks(r);
  switch (res) {
    case SendResult::kOk:
    case SendResult::kClosed: return future_done(nullptr);
    case SendResult::kInvalid: {
      std::string_view why = r->ex != nullptr ? r->ex->error() : std::string_view();
      if (!why.empty()) return future_fail(why);
      // The exchange always says why; should it not, the app still gets a readable failure.
      std::string msg(sending_);
      msg.append(": refused by the server");
      return future_fail(msg);
    }
    case SendResult::kBlocked: {
      SV* f = future_new();
      r->blocked_sends.push_back(SvREFCNT_inc_simple_NN(f));
      return f;
    }
  }
  return future_done(nullptr);
}

SV* PerlApp::unrecognized(std::string_view type, const char* protocol) {
  std::string msg = "Unrecognized event type '";
  msg.append(type);
  msg.append("' for ");
  msg.append(protocol);
  msg.append(" protocol");
  return future_fail(msg);
}

// What a receive yields once the exchange is gone (and what waiting receives get when the app
// finishes): the scope type's disconnect, with what on_end reported if it came.
SV* PerlApp::disconnect_event(Request* r) {
  HV* hv = newHV();
  switch (r->type) {
    case ScopeType::kHttp: store(hv, "type", 4, newSVpvs("http.disconnect")); break;
    case ScopeType::kWebSocket:
      store(hv, "type", 4, newSVpvs("websocket.disconnect"));
      store(hv, "code", 4, newSViv(r->ended && r->code != 0 ? r->code : 1006));
      store(hv, "reason", 6, chars(r->ended ? r->reason : std::string_view()));
      break;
    case ScopeType::kSse:
      store(hv, "type", 4, newSVpvs("sse.disconnect"));
      store(hv, "reason", 6,
            str(r->ended && !r->reason.empty() ? std::string_view(r->reason) : "client_closed"));
      break;
  }
  return newRV_noinc(reinterpret_cast<SV*>(hv));
}

SV* PerlApp::event_sv(const Event& ev) {
  HV* hv = newHV();
  switch (ev.type) {
    case EventType::kHttpRequest:
    case EventType::kSseRequest:
      store(hv, "type", 4,
            ev.type == EventType::kHttpRequest ? newSVpvs("http.request")
                                               : newSVpvs("sse.request"));
      store(hv, "body", 4, str(ev.body));
      store(hv, "more", 4, newSViv(ev.more ? 1 : 0));
      break;
    case EventType::kWebSocketConnect:
      store(hv, "type", 4, newSVpvs("websocket.connect"));
      break;
    case EventType::kWebSocketReceive:
      // text is valid UTF-8 (the server checked it): a character string for the app.
      store(hv, "type", 4, newSVpvs("websocket.receive"));
      if (ev.text) {
        store(hv, "text", 4, chars(ev.body));
      } else {
        store(hv, "bytes", 5, str(ev.body));
      }
      break;
    case EventType::kWebSocketDisconnect:
      store(hv, "type", 4, newSVpvs("websocket.disconnect"));
      store(hv, "code", 4, newSViv(ev.code));
      store(hv, "reason", 6, chars(ev.reason));
      break;
    case EventType::kSseDisconnect:
      store(hv, "type", 4, newSVpvs("sse.disconnect"));
      store(hv, "reason", 6, str(ev.reason));
      break;
    case EventType::kHttpDisconnect:
    case EventType::kNone: store(hv, "type", 4, newSVpvs("http.disconnect")); break;
  }
  return newRV_noinc(reinterpret_cast<SV*>(hv));
}

void PerlApp::deliver_receives(Request* r) {
  ENTER;
  SAVETMPS;
  while (r->ex != nullptr && !r->receivers.empty()) {
    Event ev;
    if (!r->ex->receive(ev)) break;
    SV* f = r->receivers.front();
    r->receivers.erase(r->receivers.begin());
    resolve(sv_2mortal(f), "done", event_sv(ev));
  }
  FREETMPS;
  LEAVE;
}

std::string_view PerlApp::text_of(SV* sv) {
  STRLEN len;
  const char* p = SvPV(sv, len);
  return std::string_view(p, len);
}

bool PerlApp::int_field(HV* hv, const char* key, int64_t def, int64_t* out) {
  SV** v = hv_fetch(hv, key, I32(strlen(key)), 0);
  if (v == nullptr || !SvOK(*v)) {
    *out = def;
    return true;
  }
  if (!looks_like_integer(*v)) return false;
  *out = SvIOK(*v) ? int64_t(SvIV(*v)) : int64_t(SvNV(*v));
  return true;
}

bool PerlApp::ms_field(HV* hv, const char* key, uint64_t* out) {
  *out = 0;
  SV** v = hv_fetch(hv, key, I32(strlen(key)), 0);
  if (v == nullptr || !SvOK(*v)) return true;
  if (!SvNIOK(*v) && !looks_like_number(*v)) return false;
  NV secs = SvNV(*v);
  if (!std::isfinite(secs) || secs < 0) return false;
  double ms = std::ceil(double(secs) * 1000.0);
  *out = ms > 1e12 ? uint64_t(1e12) : uint64_t(ms);
  return true;
}

bool PerlApp::looks_like_integer(SV* sv) {
  if (SvIOK(sv)) return true;
  if (!looks_like_number(sv)) return false;
  NV nv = SvNV(sv);
  return std::isfinite(nv) && nv == std::floor(nv);
}

// Bytes of a PAGI "Bytes" value (SvPVbyte semantics without croaking): false on wide
// characters. A downgraded copy is mortal, so the view lives until the caller's FREETMPS.
bool PerlApp::bytes_of(SV* sv, std::string_view* out) {
  STRLEN len;
  if (SvUTF8(sv) || SvROK(sv)) {
    SV* copy = sv_2mortal(newSVsv(sv));
    if (SvUTF8(copy) && !sv_utf8_downgrade(copy, TRUE)) return false;
    sv = copy;
  }
  const char* p = SvPV(sv, len);
  *out = std::string_view(p, len);
  return true;
}

// headers => [[name, value], ...] of an event into headers_ (views into Perl values).
bool PerlApp::collect_headers(HV* hv, const char* event, std::string_view* error) {
  headers_.clear();
  SV** h = hv_fetchs(hv, "headers", 0);
  if (h == nullptr || !SvOK(*h)) return true;
  if (!SvROK(*h) || SvTYPE(SvRV(*h)) != SVt_PVAV) {
    error_.assign(event).append(": headers must be an array reference");
    *error = error_;
    return false;
  }
  AV* av = reinterpret_cast<AV*>(SvRV(*h));
  SSize_t n = av_top_index(av) + 1;
  for (SSize_t i = 0; i < n; ++i) {
    SV** pair = av_fetch(av, i, 0);
    AV* p = pair != nullptr && SvROK(*pair) && SvTYPE(SvRV(*pair)) == SVt_PVAV
                ? reinterpret_cast<AV*>(SvRV(*pair))
                : nullptr;
    SV** name = p != nullptr ? av_fetch(p, 0, 0) : nullptr;
    SV** value = p != nullptr ? av_fetch(p, 1, 0) : nullptr;
    if (name == nullptr || value == nullptr || !SvOK(*name) || !SvOK(*value)) {
      error_.assign(event).append(": each header must be a [name, value] pair");
      *error = error_;
      return false;
    }
    Header hd;
    if (!bytes_of(*name, &hd.name) || !bytes_of(*value, &hd.value)) {
      error_.assign(event).append(": header contains wide characters (encode it to bytes)");
      *error = error_;
      return false;
    }
    headers_.push_back(hd);
  }
  return true;
}

// --- XS subs. A croak here unwinds to the app's eval (they are only called from Perl), so
// nothing with a destructor lives on their C++ frames across a call that may croak. ---------

XS(xs_receive) {
  dXSARGS;
  PERL_UNUSED_VAR(items);
  Request* r = bound_request(cv);
  if (r == nullptr || r->app == nullptr) XSRETURN_UNDEF;
  ST(0) = sv_2mortal(r->app->receive(r));
  XSRETURN(1);
}

XS(xs_send) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r == nullptr || r->app == nullptr) XSRETURN_UNDEF;
  SV* event = items > 0 ? ST(0) : &PL_sv_undef;
  ST(0) = sv_2mortal(r->app->send(r, event));
  XSRETURN(1);
}

}  // namespace pagi::perl
