// Base64 (RFC 4648 §4, standard alphabet, padded): the WebSocket handshake encodes the
// Sec-WebSocket-Accept digest and checks that Sec-WebSocket-Key decodes to 16 bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pagi {

constexpr size_t base64_encoded_size(size_t n) {
  return (n + 2) / 3 * 4;
}

// Writes base64_encoded_size(in.size()) characters to `out`.
void base64_encode(std::string_view in, char* out);
// Appends the encoding of `in` to `out`.
void base64_encode(std::string_view in, std::string& out);

// Strict decoding: length a multiple of 4, padding only at the end, no whitespace, and the
// unused bits of the last character zero (so every byte string has exactly one encoding).
// Appends the bytes to `out`; false (out unspecified) on any malformed input.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace pagi
