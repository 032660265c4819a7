// Streaming UTF-8 validation: boundary code points, every invalid form (overlongs,
// surrogates, > U+10FFFF, truncation, stray continuation bytes), splits at every byte, and
// failure reported at the first byte that makes the input invalid.
#include "common/utf8.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pagi {
namespace {

// Every way of cutting `s` into two or three pieces gives the same verdict as one piece.
void expect_same_at_every_split(const std::string& s, bool valid) {
  EXPECT_EQ(is_valid_utf8(s), valid) << "whole";
  for (size_t a = 0; a <= s.size(); ++a) {
    for (size_t b = a; b <= s.size(); ++b) {
      Utf8Validator v;
      bool ok = v.feed(s.substr(0, a)) && v.feed(s.substr(a, b - a)) && v.feed(s.substr(b));
      EXPECT_EQ(ok && v.complete(), valid) << "split " << a << "," << b;
    }
  }
}

TEST(Utf8Validator, AcceptsBoundaryCodePoints) {
  const char* valid[] = {
      "",
      "plain ascii",
      "\x7F",                                          // U+007F
      "\xC2\x80",                                      // U+0080
      "\xDF\xBF",                                      // U+07FF
      "\xE0\xA0\x80",                                  // U+0800
      "\xED\x9F\xBF",                                  // U+D7FF, last before the surrogates
      "\xEE\x80\x80",                                  // U+E000, first after them
      "\xEF\xBF\xBD",                                  // U+FFFD
      "\xEF\xBF\xBF",                                  // U+FFFF
      "\xF0\x90\x80\x80",                              // U+10000
      "\xF4\x8F\xBF\xBF",                              // U+10FFFF
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5",  // κόσμε
      "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!",
  };
  for (const char* s : valid) expect_same_at_every_split(s, true);
  expect_same_at_every_split(std::string("a\0b", 3), true);  // NUL is valid UTF-8
}

TEST(Utf8Validator, RejectsOverlongEncodings) {
  const char* overlong[] = {
      "\xC0\xAF",         "\xC1\xBF",         "\xE0\x80\xAF", "\xE0\x9F\xBF",
      "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF", "\xC0\x80",
  };
  for (const char* s : overlong) expect_same_at_every_split(s, false);
}

TEST(Utf8Validator, RejectsSurrogates) {
  const char* surrogates[] = {
      "\xED\xA0\x80",
      "\xED\xAD\xBF",
      "\xED\xAE\x80",
      "\xED\xAF\xBF",
      "\xED\xB0\x80",
      "\xED\xBF\xBF",
      "\xED\xA0\x80\xED\xB0\x80",  // a UTF-16 pair written as UTF-8
  };
  for (const char* s : surrogates) expect_same_at_every_split(s, false);
}

TEST(Utf8Validator, RejectsCodePointsAboveU10FFFF) {
  const char* too_big[] = {"\xF4\x90\x80\x80",
                           "\xF5\x80\x80\x80",
                           "\xF7\xBF\xBF\xBF",
                           "\xF8\x88\x80\x80\x80",
                           "\xFC\x84\x80\x80\x80\x80",
                           "\xFE",
                           "\xFF"};
  for (const char* s : too_big) expect_same_at_every_split(s, false);
}

TEST(Utf8Validator, RejectsStrayContinuationAndTruncatedSequences) {
  const char* bad[] = {
      "\x80",
      "\xBF",
      "a\x80",
      "\xC2",
      "\xE0\xA0",
      "\xF0\x90\x80",
      "\xC2\x41",
      "\xE1\x80\x41",
      "\xF1\x80\x80\x41",
      "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
      "edited",
  };
  for (const char* s : bad) expect_same_at_every_split(s, false);
}

TEST(Utf8Validator, IncompleteSequenceIsNotCompleteUntilItsLastByte) {
  Utf8Validator v;
  EXPECT_TRUE(v.feed("\xF0\x9F"));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed("\x98"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.feed("\x80"));  // U+1F600
  EXPECT_TRUE(v.complete());
}

TEST(Utf8Validator, FailsAtTheFirstImpossibleByteNotAtTheEnd) {
  // These prefixes can never become valid, whatever follows: fail as soon as they are fed.
  const char* prefixes[] = {"\xF4\x90", "\xE0\x80", "\xED\xA0", "\xF0\x8F",
                            "\xC0",     "\xF5",     "\x80",     "\xC2\x20"};
  for (const char* p : prefixes) {
    Utf8Validator v;
    EXPECT_FALSE(v.feed(p)) << p;
    EXPECT_TRUE(v.failed());
    EXPECT_FALSE(v.feed("more"));  // sticky
  }
}

TEST(Utf8Validator, LongAsciiRunsWithMultibyteAtEveryOffset) {
  // The 8-byte ASCII path must hand over to the byte path at any alignment.
  for (size_t at = 0; at < 40; ++at) {
    std::string s(48, 'x');
    s.insert(at, "\xE2\x82\xAC");  // €
    EXPECT_TRUE(is_valid_utf8(s)) << at;
    std::string bad(48, 'x');
    bad.insert(at, "\xE2\x82");
    EXPECT_FALSE(is_valid_utf8(bad)) << at;
    std::string high(48, 'x');
    high[at] = char(0x80);
    EXPECT_FALSE(is_valid_utf8(high)) << at;
  }
}

// A slow, obviously correct decoder: the reference for the exhaustive comparison.
bool naive_valid(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return false;
    uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

TEST(Utf8Validator, AgreesWithANaiveDecoderOnEveryOneTwoAndThreeByteInput) {
  uint8_t b[3];
  for (uint32_t x = 0x7F0000; x < (1u << 24); ++x) {  // leading ASCII adds nothing
    b[0] = uint8_t(x >> 16), b[1] = uint8_t(x >> 8), b[2] = uint8_t(x);
    std::string_view s(reinterpret_cast<const char*>(b), 3);
    ASSERT_EQ(is_valid_utf8(s), naive_valid(b, 3)) << std::hex << x;
    if ((x & 0xFF) == 0) {
      ASSERT_EQ(is_valid_utf8(s.substr(0, 2)), naive_valid(b, 2)) << std::hex << x;
      if ((x & 0xFFFF) == 0) {
        ASSERT_EQ(is_valid_utf8(s.substr(0, 1)), naive_valid(b, 1));
      }
    }
  }
}

TEST(Utf8Validator, EveryScalarValueEncodedIsValid) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    char e[4];
    size_t n;
    if (cp < 0x80) {
      e[0] = char(cp), n = 1;
    } else if (cp < 0x800) {
      e[0] = char(0xC0 | (cp >> 6)), e[1] = char(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
      e[0] = char(0xE0 | (cp >> 12)), e[1] = char(0x80 | ((cp >> 6) & 0x3F));
      e[2] = char(0x80 | (cp & 0x3F)), n = 3;
    } else {
      e[0] = char(0xF0 | (cp >> 18)), e[1] = char(0x80 | ((cp >> 12) & 0x3F));
      e[2] = char(0x80 | ((cp >> 6) & 0x3F)), e[3] = char(0x80 | (cp & 0x3F)), n = 4;
    }
    ASSERT_TRUE(is_valid_utf8(std::string_view(e, n))) << std::hex << cp;
  }
}

TEST(Utf8Validator, ResetClearsFailureAndPendingState) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed("\xFF"));
  v.reset();
  EXPECT_TRUE(v.feed("\xC3"));
  v.reset();
  EXPECT_TRUE(v.complete());
  EXPECT_TRUE(v.feed("ok"));
  EXPECT_TRUE(v.complete());
}

}  // namespace
}  // namespace pagi
