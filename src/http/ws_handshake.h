// The WebSocket opening handshake over HTTP/1.1 (RFC 6455 §4, RFC 7692 §5): recognising and
// checking an upgrade request, the subprotocols and permessage-deflate offers it carries,
// and the 101 response of PAGI.md §3.4. Works on the parsed request headers only.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer_pool.h"
#include "http/ws_deflate.h"
#include "pagi/app.h"

namespace pagi::http::ws {

// The reference's detection (PAGI.md §2.5): `upgrade: websocket`, a `connection` header
// with the `upgrade` token, and a `sec-websocket-key`. Method and version are checked
// afterwards by check_upgrade, so a bad handshake is answered rather than served as HTTP.
bool is_upgrade_request(std::span<const Header> headers);

struct UpgradeCheck {
  int status = 0;                 // 0: valid; else the HTTP status to answer with
  const char* message = nullptr;  // body / log text when status != 0
  std::string_view key;           // the Sec-WebSocket-Key when valid
};

// RFC 6455 §4.2.1: GET, HTTP/1.1, one Sec-WebSocket-Key of 16 base64 bytes (else 400),
// Sec-WebSocket-Version 13 (else 426: answer with kVersionHeader).
UpgradeCheck check_upgrade(std::string_view method, int http_minor,
                           std::span<const Header> headers);

inline constexpr Header kVersionHeader{"Sec-WebSocket-Version", "13"};

inline constexpr size_t kAcceptSize = 28;
// base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)) into `out` (28 characters).
void compute_accept(std::string_view key, char* out);
std::string compute_accept(std::string_view key);

// Every Sec-WebSocket-Protocol value split on ',' and trimmed, empty items dropped, in
// order. The views point into the header values.
void parse_subprotocols(std::span<const Header> headers, std::vector<std::string_view>& out);

// Goes through the Sec-WebSocket-Extensions offers in order and takes the first
// permessage-deflate offer whose parameters are valid (RFC 7692 §7.1: known names, each at
// most once, window bits 8..15 written without leading zeros, no value on the
// no_context_takeover flags); an invalid offer is declined, not an error. False if none.
bool negotiate_deflate(std::span<const Header> headers, DeflateParams& out);

// The Sec-WebSocket-Extensions value answering an accepted offer.
void extension_response(const DeflateParams& params, std::string& out);

// A subprotocol the app may choose must match ^[\w\-.]+$ (PAGI.md §3.4).
bool is_valid_subprotocol(std::string_view subprotocol);

// Writes the 101 response (status line, Upgrade, Connection, Sec-WebSocket-Accept, then
// Sec-WebSocket-Protocol if `subprotocol` is not empty, Sec-WebSocket-Extensions if
// `deflate` is set, then the app's headers, then the blank line). Nothing is written and
// the error message is returned when the subprotocol or a header is invalid.
const char* write_accept_response(OutputQueue& out, std::string_view key,
                                  std::string_view subprotocol, const DeflateParams* deflate,
                                  std::span<const Header> app_headers);

}  // namespace pagi::http::ws
