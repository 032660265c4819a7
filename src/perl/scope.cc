// The scope hash of a request (PAGI.md §2.1-2.5), built from the exchange's Scope: http, sse
// (http's keys less pagi.connection) or websocket (no method, ws/wss, subprotocols). Constant
// strings are copy-on-write copies of per-core templates; `path` is a character string when
// its bytes are UTF-8.
#include <string_view>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

SV* PerlApp::build_scope(Exchange& ex) {
  const Scope& s = ex.scope();
  HV* hv = newHV();
  bool ws = s.type == ScopeType::kWebSocket;
  switch (s.type) {
    case ScopeType::kHttp: store(hv, "type", 4, newSVsv(k_http_)); break;
    case ScopeType::kWebSocket: store(hv, "type", 4, newSVpvs("websocket")); break;
    case ScopeType::kSse: store(hv, "type", 4, newSVpvs("sse")); break;
  }
  HV* pagi = newHV();
  store(pagi, "version", 7, newSVsv(k_version_));
  store(pagi, "spec_version", 12, newSVsv(k_version_));
  store(hv, "pagi", 4, newRV_noinc(reinterpret_cast<SV*>(pagi)));
  store(hv, "http_version", 12, s.http_version == "1.1" ? newSVsv(k_11_) : str(s.http_version));
  if (ws) {
    // No method on websocket scopes; the scheme is ws/wss whatever the exchange calls it.
    bool tls = s.scheme == "https" || s.scheme == "wss";
    store(hv, "scheme", 6, tls ? newSVpvs("wss") : newSVpvs("ws"));
    AV* protocols = newAV();
    for (std::string_view p : s.subprotocols) av_push(protocols, str(p));
    store(hv, "subprotocols", 12, newRV_noinc(reinterpret_cast<SV*>(protocols)));
  } else {
    store(hv, "method", 6, s.method == "GET" ? newSVsv(k_get_) : str(s.method));
    store(hv, "scheme", 6,
          s.scheme.empty() || s.scheme == "http" ? newSVsv(k_http_) : str(s.scheme));
  }
  store(hv, "path", 4, s.path_is_utf8 ? chars(s.path) : str(s.path));
  store(hv, "raw_path", 8, str(s.raw_path));
  store(hv, "query_string", 12, str(s.query_string));
  store(hv, "root_path", 9, str(s.root_path));
  AV* headers = newAV();
  av_extend(headers, SSize_t(s.headers.size()));
  for (const Header& h : s.headers) {
    AV* pair = newAV();
    av_extend(pair, 1);
    av_push(pair, str(h.name));
    av_push(pair, str(h.value));
    av_push(headers, newRV_noinc(reinterpret_cast<SV*>(pair)));
  }
  store(hv, "headers", 7, newRV_noinc(reinterpret_cast<SV*>(headers)));
  Endpoint client;
  if (ex.client(client)) {
    AV* c = newAV();
    av_push(c, str(client.host));
    av_push(c, newSViv(client.port));
    store(hv, "client", 6, newRV_noinc(reinterpret_cast<SV*>(c)));
  }
  Endpoint server = ex.server();
  AV* sv = newAV();
  av_push(sv, str(server.host));
  av_push(sv, server.port >= 0 ? newSViv(server.port) : newSV(0));
  store(hv, "server", 6, newRV_noinc(reinterpret_cast<SV*>(sv)));
  // A shallow copy of the core's lifespan state (PAGI.md §3.6), or a fresh hash.
  HV* state = HvUSEDKEYS(state_) > 0 ? newHVhv(state_) : newHV();
  store(hv, "state", 5, newRV_noinc(reinterpret_cast<SV*>(state)));
  // http and sse take http.fullflush; websocket has the denial extension (PAGI.md §4.3).
  HV* extensions = newHV();
  if (ws) {
    store(extensions, "websocket.http.response", 23, newRV_noinc(reinterpret_cast<SV*>(newHV())));
  } else {
    store(extensions, "fullflush", 9, newRV_noinc(reinterpret_cast<SV*>(newHV())));
  }
  store(hv, "extensions", 10, newRV_noinc(reinterpret_cast<SV*>(extensions)));
  auto* r = static_cast<Request*>(ex.app_data);
  if (s.type == ScopeType::kHttp) {
    store(hv, "pagi.connection", 15, newRV_inc(SvRV(handle(kConnection, r))));
  }
  store(hv, "pagi.transport", 14, newRV_inc(SvRV(handle(kTransport, r))));
  return newRV_noinc(reinterpret_cast<SV*>(hv));
}

}  // namespace pagi::perl
