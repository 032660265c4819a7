// Trusted proxies and forwarding headers (see proxy_headers.h).
#include "http/proxy_headers.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pagi::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// An IP literal into 16 bytes (IPv4 and v4-mapped IPv6 as IPv4 in the first 4).
bool parse_ip(std::string_view s, std::array<uint8_t, 16>& out, bool& v4) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  out = {};
  in_addr a4{};
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    memcpy(out.data(), &a4, 4);
    v4 = true;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, buf, &a6) != 1) return false;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    memcpy(out.data(), &a6.s6_addr[12], 4);
    v4 = true;
    return true;
  }
  memcpy(out.data(), a6.s6_addr, 16);
  v4 = false;
  return true;
}

std::optional<bool> proto_secure(std::string_view v) {
  v = trim(v);
  if (iequals(v, "https") || iequals(v, "wss")) return true;
  if (iequals(v, "http") || iequals(v, "ws")) return false;
  return std::nullopt;
}

// Splits `s` at `sep` outside double quotes, calling fn(piece) left to right.
template <typename Fn>
void split_unquoted(std::string_view s, char sep, Fn fn) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\\' && quoted && i + 1 < s.size()) {
      ++i;
    } else if (c == sep && !quoted) {
      fn(s.substr(start, i - start));
      start = i + 1;
    }
  }
  fn(s.substr(start));
}

std::string_view unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

}  // namespace

std::string_view strip_host(std::string_view v, int* port) {
  v = trim(v);
  if (port != nullptr) *port = 0;
  std::string_view p;
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos) return v;
    if (close + 1 < v.size() && v[close + 1] == ':') p = v.substr(close + 2);
    v = v.substr(1, close - 1);
  } else if (size_t colon = v.find(':');
             colon != std::string_view::npos && v.find(':', colon + 1) == std::string_view::npos) {
    p = v.substr(colon + 1);  // one colon: host:port (a bare IPv6 literal has several)
    v = v.substr(0, colon);
  }
  if (port != nullptr && !p.empty()) {
    int n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (ec == std::errc{} && end == p.data() + p.size() && n >= 0 && n <= 65535) *port = n;
  }
  return v;
}

std::optional<ProxyTrust> ProxyTrust::parse(std::string_view list, std::string* error) {
  ProxyTrust t;
  bool any = false;
  bool bad = false;
  split_unquoted(list, ',', [&](std::string_view item) {
    item = trim(item);
    if (bad || item.empty()) return;
    any = true;
    if (item == "*") {
      t.all_ = true;
      return;
    }
    if (item == "unix:") {
      t.unix_ = true;
      return;
    }
    Net n;
    std::string_view addr = item;
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) addr = item.substr(0, slash);
    // Built by appends: GCC 12 at -O3 warns falsely (-Wrestrict) about "'" + std::string.
    std::string shown;
    shown += '\'';
    shown += item;
    shown += '\'';
    if (!parse_ip(addr, n.addr, n.v4)) {
      *error = shown + " is not an IP address, a CIDR block, unix: or *";
      bad = true;
      return;
    }
    int max = n.v4 ? 32 : 128;
    n.bits = max;
    if (slash != std::string_view::npos) {
      std::string_view b = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), n.bits);
      if (b.empty() || ec != std::errc{} || end != b.data() + b.size() || n.bits < 0 ||
          n.bits > max) {
        *error = shown + ": the prefix length must be 0-" + std::to_string(max);
        bad = true;
        return;
      }
    }
    t.nets_.push_back(n);
  });
  if (bad) return std::nullopt;
  if (!any) {
    *error = "empty list (give IPs, CIDR blocks, unix: or *)";
    return std::nullopt;
  }
  return t;
}

bool ProxyTrust::trusts(std::string_view host) const {
  if (all_) return true;
  std::array<uint8_t, 16> a;
  bool v4 = false;
  if (!parse_ip(strip_host(host), a, v4)) return false;
  for (const Net& n : nets_) {
    if (n.v4 != v4) continue;
    int full = n.bits / 8, rest = n.bits % 8;
    if (memcmp(a.data(), n.addr.data(), size_t(full)) != 0) continue;
    if (rest != 0) {
      uint8_t mask = uint8_t(0xff << (8 - rest));
      if ((a[size_t(full)] & mask) != (n.addr[size_t(full)] & mask)) continue;
    }
    return true;
  }
  return false;
}

Forwarded resolve_forwarded(const ProxyTrust& trust, bool peer_is_unix, std::string_view peer,
                            std::span<const Header> headers) {
  Forwarded out;
  if (peer_is_unix ? !trust.trusts_unix() : !trust.trusts(peer)) return out;

  bool has_xff = false;
  std::string_view xfp;
  bool has_forwarded = false;  // parsed below only if needed
  for (const Header& h : headers) {
    if (h.name == "x-forwarded-for") {
      has_xff = true;
    } else if (h.name == "x-forwarded-proto") {
      xfp = h.value;
    } else if (h.name == "forwarded") {
      has_forwarded = true;
    }
  }

  // X-Forwarded-For: every header line in order is one list (RFC 9110 list semantics).
  // Walked from the right; the first untrusted hop is the client.
  if (has_xff) {
    std::string_view chosen, leftmost;
    for (size_t i = headers.size(); i-- > 0 && chosen.empty();) {
      if (headers[i].name != "x-forwarded-for") continue;
      std::string_view v = headers[i].value;
      while (chosen.empty()) {
        size_t comma = v.rfind(',');
        std::string_view hop = trim(comma == std::string_view::npos ? v : v.substr(comma + 1));
        if (!hop.empty()) {
          leftmost = hop;
          if (!trust.trusts_all() && !trust.trusts(hop)) chosen = hop;
        }
        if (comma == std::string_view::npos) break;
        v = v.substr(0, comma);
      }
    }
    if (chosen.empty()) chosen = leftmost;  // every hop trusted (or `*`): the first one
    out.client = strip_host(chosen);
    out.port = 0;
  }

  // Forwarded: the same rule over the elements' for= values; the chosen element's proto= is
  // the scheme when X-Forwarded-Proto is absent. The last kMaxElements elements are looked at.
  std::string_view fwd_proto;
  if (has_forwarded && (!has_xff || xfp.empty())) {
    constexpr size_t kMaxElements = 16;
    struct Element {
      std::string_view for_value, proto;
    };
    Element elems[kMaxElements];
    size_t count = 0;  // total seen; elems is a ring of the last kMaxElements
    for (const Header& h : headers) {
      if (h.name != "forwarded") continue;
      split_unquoted(h.value, ',', [&](std::string_view element) {
        Element e;
        split_unquoted(element, ';', [&](std::string_view pair) {
          size_t eq = pair.find('=');
          if (eq == std::string_view::npos) return;
          std::string_view key = trim(pair.substr(0, eq));
          if (iequals(key, "for")) e.for_value = unquote(pair.substr(eq + 1));
          if (iequals(key, "proto")) e.proto = unquote(pair.substr(eq + 1));
        });
        if (e.for_value.empty() && e.proto.empty()) return;
        elems[count % kMaxElements] = e;
        ++count;
      });
    }
    size_t kept = count < kMaxElements ? count : kMaxElements;
    const Element* chosen = nullptr;
    const Element* leftmost = nullptr;
    for (size_t k = 0; k < kept && chosen == nullptr; ++k) {
      const Element& e = elems[(count - 1 - k) % kMaxElements];
      if (e.for_value.empty()) continue;
      leftmost = &e;
      if (!trust.trusts_all() && !trust.trusts(e.for_value)) chosen = &e;
    }
    if (chosen == nullptr) chosen = leftmost;
    if (chosen != nullptr) {
      if (!has_xff) out.client = strip_host(chosen->for_value, &out.port);
      fwd_proto = chosen->proto;
    }
  }

  if (std::optional<bool> s = proto_secure(!xfp.empty() ? xfp : fwd_proto)) {
    out.has_scheme = true;
    out.secure = *s;
  }
  return out;
}

}  // namespace pagi::http
