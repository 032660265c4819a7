// WebSocket opening handshake (see ws_handshake.h).
#include "http/ws_handshake.h"

#include "common/base64.h"
#include "common/sha1.h"
#include "http/response_writer.h"

namespace pagi::http::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each trimmed, non-empty item of a list split on `sep`.
template <typename F>
void for_each_item(std::string_view list, char sep, F&& f) {
  while (!list.empty()) {
    size_t cut = list.find(sep);
    std::string_view item = trim(list.substr(0, cut));
    if (!item.empty()) f(item);
    if (cut == std::string_view::npos) break;
    list.remove_prefix(cut + 1);
  }
}

bool has_token(std::string_view list, std::string_view token) {
  bool found = false;
  for_each_item(list, ',', [&](std::string_view item) { found = found || iequals(item, token); });
  return found;
}

// "8".."15" exactly as RFC 7692's ABNF writes them (no leading zeros, no sign).
int parse_window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return -1;
}

// One offer: "permessage-deflate; p1; p2=v". False if it is not an acceptable
// permessage-deflate offer.
bool parse_offer(std::string_view offer, DeflateParams& out) {
  size_t semi = offer.find(';');
  if (!iequals(trim(offer.substr(0, semi)), "permessage-deflate")) return false;
  DeflateParams p;
  bool ok = true, seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  if (semi != std::string_view::npos) {
    for_each_item(offer.substr(semi + 1), ';', [&](std::string_view param) {
      size_t eq = param.find('=');
      std::string_view name = trim(param.substr(0, eq));
      bool has_value = eq != std::string_view::npos;
      std::string_view value = has_value ? trim(param.substr(eq + 1)) : std::string_view();
      if (iequals(name, "server_no_context_takeover") && !seen_snct && !has_value) {
        seen_snct = p.server_no_context_takeover = true;
      } else if (iequals(name, "client_no_context_takeover") && !seen_cnct && !has_value) {
        seen_cnct = p.client_no_context_takeover = true;
      } else if (iequals(name, "server_max_window_bits") && !seen_smwb && has_value) {
        int bits = parse_window_bits(value);
        if (bits < 0) ok = false;
        seen_smwb = p.server_max_window_bits_in_response = true;
        p.server_max_window_bits = uint8_t(bits);
      } else if (iequals(name, "client_max_window_bits") && !seen_cmwb) {
        seen_cmwb = true;
        if (has_value) {
          int bits = parse_window_bits(value);
          if (bits < 0) ok = false;
          p.client_max_window_bits = uint8_t(bits);
          p.client_max_window_bits_in_response = true;
        }
      } else {
        ok = false;  // unknown, repeated, or with a value it must not have
      }
    });
  }
  if (ok) out = p;
  return ok;
}

void append_header(OutputQueue& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

}  // namespace

bool is_upgrade_request(std::span<const Header> headers) {
  bool upgrade = false, connection = false, key = false;
  for (const Header& h : headers) {
    if (h.name == "upgrade") {
      upgrade = upgrade || iequals(trim(h.value), "websocket");
    } else if (h.name == "connection") {
      connection = connection || has_token(h.value, "upgrade");
    } else if (h.name == "sec-websocket-key") {
      key = true;
    }
  }
  return upgrade && connection && key;
}

UpgradeCheck check_upgrade(std::string_view method, int http_minor,
                           std::span<const Header> headers) {
  UpgradeCheck r;
  if (method != "GET") {
    r.status = 400, r.message = "WebSocket upgrade requires GET";
    return r;
  }
  if (http_minor < 1) {
    r.status = 400, r.message = "WebSocket upgrade requires HTTP/1.1";
    return r;
  }
  int keys = 0;
  bool version_ok = false;
  for (const Header& h : headers) {
    if (h.name == "sec-websocket-key") {
      ++keys;
      r.key = trim(h.value);
    } else if (h.name == "sec-websocket-version") {
      version_ok = trim(h.value) == "13";
    }
  }
  std::string decoded;
  if (keys != 1 || r.key.size() != 24 || !base64_decode(r.key, decoded) || decoded.size() != 16) {
    r.status = 400, r.message = "Invalid Sec-WebSocket-Key";
    r.key = {};
    return r;
  }
  if (!version_ok) {
    r.status = 426, r.message = "Unsupported WebSocket version";
    return r;
  }
  return r;
}

void compute_accept(std::string_view key, char* out) {
  Sha1 sha;
  sha.update(key);
  sha.update(kGuid);
  Sha1::Digest d = sha.finish();
  base64_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()), out);
}

std::string compute_accept(std::string_view key) {
  std::string s(kAcceptSize, '\0');
  compute_accept(key, s.data());
  return s;
}

void parse_subprotocols(std::span<const Header> headers, std::vector<std::string_view>& out) {
  for (const Header& h : headers) {
    if (h.name != "sec-websocket-protocol") continue;
    for_each_item(h.value, ',', [&](std::string_view item) { out.push_back(item); });
  }
}

bool negotiate_deflate(std::span<const Header> headers, DeflateParams& out) {
  bool found = false;
  for (const Header& h : headers) {
    if (found || h.name != "sec-websocket-extensions") continue;
    for_each_item(h.value, ',', [&](std::string_view offer) {
      if (!found) found = parse_offer(offer, out);
    });
  }
  return found;
}

void extension_response(const DeflateParams& p, std::string& out) {
  out.append("permessage-deflate");
  if (p.server_no_context_takeover) out.append("; server_no_context_takeover");
  if (p.client_no_context_takeover) out.append("; client_no_context_takeover");
  if (p.server_max_window_bits_in_response) {
    out.append("; server_max_window_bits=");
    out.append(std::to_string(p.server_max_window_bits));
  }
  if (p.client_max_window_bits_in_response) {
    out.append("; client_max_window_bits=");
    out.append(std::to_string(p.client_max_window_bits));
  }
}

bool is_valid_subprotocol(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.';
    if (!word) return false;
  }
  return true;
}

const char* write_accept_response(OutputQueue& out, std::string_view key,
                                  std::string_view subprotocol, const DeflateParams* deflate,
                                  std::span<const Header> app_headers) {
  if (!subprotocol.empty() && !is_valid_subprotocol(subprotocol)) {
    return "Invalid subprotocol: must match ^[\\w\\-.]+$";
  }
  for (const Header& h : app_headers) {
    if (const char* err = check_header(h.name, h.value)) return err;
  }
  char accept[kAcceptSize];
  compute_accept(key, accept);
  out.append(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ");
  out.append(std::string_view(accept, kAcceptSize));
  out.append("\r\n");
  if (!subprotocol.empty()) append_header(out, "Sec-WebSocket-Protocol", subprotocol);
  if (deflate != nullptr) {
    std::string ext;
    extension_response(*deflate, ext);
    append_header(out, "Sec-WebSocket-Extensions", ext);
  }
  for (const Header& h : app_headers) append_header(out, h.name, h.value);
  out.append("\r\n");
  return nullptr;
}

}  // namespace pagi::http::ws
