// Streaming UTF-8 validator (see utf8_validator.h).
#include "common/utf8.h"

#include <cstring>

namespace pagi {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ull;

}  // namespace

bool Utf8Validator::feed(std::string_view piece) {
  if (failed_) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(piece.data());
  const uint8_t* end = p + piece.size();
  uint8_t need = need_, lo = lo_, hi = hi_;
  while (p < end) {
    if (need == 0) {
      // ASCII runs, 8 bytes at a time.
      while (end - p >= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        if (w & kHighBits) break;
        p += 8;
      }
      while (p < end && *p < 0x80) ++p;
      if (p == end) break;
      // Lead byte: the sequence length and the range of the second byte, which is where
      // overlongs, surrogates and values above U+10FFFF are excluded.
      uint8_t c = *p++;
      lo = 0x80, hi = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
      } else if (c == 0xE0) {
        need = 2, lo = 0xA0;
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
      } else if (c == 0xED) {
        need = 2, hi = 0x9F;
      } else if (c == 0xF0) {
        need = 3, lo = 0x90;
      } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
      } else if (c == 0xF4) {
        need = 3, hi = 0x8F;
      } else {
        failed_ = true;  // continuation byte as lead, C0/C1 (overlong), F5..FF
        return false;
      }
      continue;
    }
    uint8_t c = *p++;
    if (c < lo || c > hi) {
      failed_ = true;
      return false;
    }
    --need;
    lo = 0x80, hi = 0xBF;
  }
  need_ = need, lo_ = lo, hi_ = hi;
  return true;
}

bool is_valid_utf8(std::string_view in) {
  Utf8Validator v;
  return v.feed(in) && v.complete();
}

}  // namespace pagi
