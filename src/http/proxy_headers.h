// --proxy-headers: which peers may speak for their clients (--forwarded-allow-ips) and what a
// trusted peer's X-Forwarded-For / X-Forwarded-Proto / Forwarded (RFC 7239) headers say the
// request's client and scheme are. Pure functions over header views: no sockets, no copies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pagi/app.h"

namespace pagi::http {

class ProxyTrust {
 public:
  // A comma list of IP literals, CIDR blocks (10.0.0.0/8, fd00::/8), `unix:` (peers on a unix
  // socket) and `*` (every peer, and every hop of X-Forwarded-For). nullopt and *error on an
  // entry that is none of those.
  static std::optional<ProxyTrust> parse(std::string_view list, std::string* error);

  bool trusts_all() const { return all_; }
  bool trusts_unix() const { return all_ || unix_; }
  // `host`: an IP literal, optionally bracketed and with a port; anything else (a name,
  // "unknown", an obfuscated RFC 7239 identifier) is not trusted unless `*` was given.
  bool trusts(std::string_view host) const;

 private:
  struct Net {
    std::array<uint8_t, 16> addr{};
    int bits = 0;
    bool v4 = false;
  };
  std::vector<Net> nets_;
  bool all_ = false;
  bool unix_ = false;
};

// What a trusted peer forwarded. Views point into the header values.
struct Forwarded {
  std::string_view client;  // empty: nothing usable given; the socket's peer stays the client
  int port = 0;             // X-Forwarded-For carries none (0, as uvicorn); Forwarded may
  bool has_scheme = false;
  bool secure = false;  // https/wss (true) or http/ws (false)
};

// The client and scheme of a request with `headers` (lowercase names) from a peer at `peer`
// (an IP literal; ignored when `peer_is_unix`). An untrusted peer's headers are ignored.
// Client: the rightmost X-Forwarded-For hop that is not trusted (all trusted, or `*`: the
// leftmost), as uvicorn's ProxyHeadersMiddleware; without X-Forwarded-For the same rule over
// Forwarded's for= values. Scheme: X-Forwarded-Proto (http, https, ws, wss; the last such
// header), else the proto= of the Forwarded element the client came from.
Forwarded resolve_forwarded(const ProxyTrust& trust, bool peer_is_unix, std::string_view peer,
                            std::span<const Header> headers);

// An X-Forwarded-For / Forwarded for= value without brackets and port ("[::1]:80" → "::1",
// "1.2.3.4:80" → "1.2.3.4"); `port` gets the port, or 0.
std::string_view strip_host(std::string_view v, int* port = nullptr);

}  // namespace pagi::http
