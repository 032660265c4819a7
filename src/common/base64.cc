// Base64 (see base64.h).
#include "common/base64.h"

#include <cstdint>

namespace pagi {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void base64_encode(std::string_view in, char* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t n = in.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8) | p[i + 2];
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = kAlphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t(p[i]) << 16;
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = '=';
    *out++ = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t(p[i]) << 16) | (uint32_t(p[i + 1]) << 8);
    *out++ = kAlphabet[v >> 18];
    *out++ = kAlphabet[(v >> 12) & 63];
    *out++ = kAlphabet[(v >> 6) & 63];
    *out++ = '=';
  }
}

void base64_encode(std::string_view in, std::string& out) {
  size_t at = out.size();
  out.resize(at + base64_encoded_size(in.size()));
  base64_encode(in, out.data() + at);
}

bool base64_decode(std::string_view in, std::string& out) {
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int a = value_of(in[i]), b = value_of(in[i + 1]);
    if (a < 0 || b < 0) return false;
    if (last && in[i + 2] == '=') {
      if (in[i + 3] != '=' || (b & 0x0F) != 0) return false;
      out.push_back(char((a << 2) | (b >> 4)));
      return true;
    }
    int c = value_of(in[i + 2]);
    if (c < 0) return false;
    if (last && in[i + 3] == '=') {
      if ((c & 0x03) != 0) return false;
      out.push_back(char((a << 2) | (b >> 4)));
      out.push_back(char(((b & 0x0F) << 4) | (c >> 2)));
      return true;
    }
    int d = value_of(in[i + 3]);
    if (d < 0) return false;
    out.push_back(char((a << 2) | (b >> 4)));
    out.push_back(char(((b & 0x0F) << 4) | (c >> 2)));
    out.push_back(char(((c & 0x03) << 6) | d));
  }
  return true;
}

}  // namespace pagi
