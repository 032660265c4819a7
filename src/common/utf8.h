// Strict UTF-8 validation, one-shot (request paths, close reasons) or streaming (WebSocket
// text: state survives between pieces, so a code point split across frames validates without
// buffering, a long message is checked once as it arrives, a bad byte is reported at once).
#pragma once

#include <cstdint>
#include <string_view>

namespace pagi {

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

}  // namespace pagi
