// Streaming strict UTF-8 validation for WebSocket text messages: state survives between
// pieces, so a code point split across frames or reads validates without buffering, a long
// message is checked once as it arrives, and an invalid byte is reported at that byte.
#pragma once

#include <cstdint>
#include <string_view>

namespace pagi::http {

// RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
class Utf8Validator {
 public:
  // Validates the next piece. Returns false as soon as the bytes seen so far cannot start
  // valid UTF-8 (sticky: every later call returns false too).
  bool feed(std::string_view piece);
  // True when everything fed is valid and no code point is left incomplete: call at the
  // end of the message.
  bool complete() const { return !failed_ && need_ == 0; }
  bool failed() const { return failed_; }
  void reset() { *this = Utf8Validator(); }

 private:
  uint8_t need_ = 0;   // continuation bytes still expected
  uint8_t lo_ = 0x80;  // allowed range of the next continuation byte
  uint8_t hi_ = 0xBF;
  bool failed_ = false;
};

// One-shot check of a whole string.
bool is_valid_utf8(std::string_view in);

}  // namespace pagi::http
