// The request-target helpers behind the scope's `path`: percent-decoding (PAGI.md §2.1) and the
// strict UTF-8 check (RFC 3629) that decides whether the decoded path is text or bytes.
#include "scope/path.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace pagi::scope {
namespace {

using namespace std::string_literals;

std::string Decode(std::string_view in) {
  std::string out;
  percent_decode(in, out);
  return out;
}

// --- percent_decode -----------------------------------------------------------------------

TEST(PathPercentDecode, PlainTextIsUnchanged) {
  EXPECT_EQ(Decode("/a/b/c.html"), "/a/b/c.html");
  EXPECT_EQ(Decode(""), "");
}

TEST(PathPercentDecode, UppercaseHexEscape) {
  EXPECT_EQ(Decode("%41"), "A");
  EXPECT_EQ(Decode("/a%20b"), "/a b");
  EXPECT_EQ(Decode("%E2%82%AC"), "\xE2\x82\xAC");
}

TEST(PathPercentDecode, LowercaseAndMixedCaseHexEscape) {
  EXPECT_EQ(Decode("%e2%82%ac"), "\xE2\x82\xAC");
  EXPECT_EQ(Decode("%aF%Af"), "\xAF\xAF");
}

TEST(PathPercentDecode, MultiByteUtf8Path) {
  EXPECT_EQ(Decode("/echo/%CE%BB"), "/echo/\xCE\xBB");  // "/echo/λ"
}

TEST(PathPercentDecode, EncodedSlashAndPercentAreDecodedOnce) {
  EXPECT_EQ(Decode("/a%2Fb"), "/a/b");
  EXPECT_EQ(Decode("%25"), "%");
  EXPECT_EQ(Decode("%2541"), "%41");
}

TEST(PathPercentDecode, NulAndHighBytesAreDecoded) {
  EXPECT_EQ(Decode("%00"), "\0"s);
  EXPECT_EQ(Decode("/x%FF%FE/y"), "/x\xFF\xFE/y");
}

TEST(PathPercentDecode, PercentAtTheEndIsKept) {
  EXPECT_EQ(Decode("%"), "%");
  EXPECT_EQ(Decode("abc%"), "abc%");
}

TEST(PathPercentDecode, PercentWithOneHexDigitIsKept) {
  EXPECT_EQ(Decode("%4"), "%4");
  EXPECT_EQ(Decode("a%4"), "a%4");
  EXPECT_EQ(Decode("%4z"), "%4z");
}

TEST(PathPercentDecode, PercentWithNonHexIsKept) {
  EXPECT_EQ(Decode("%zz"), "%zz");
  EXPECT_EQ(Decode("%z4"), "%z4");
  EXPECT_EQ(Decode("%g0/x"), "%g0/x");
  EXPECT_EQ(Decode("% 41"), "% 41");
}

TEST(PathPercentDecode, KeptPercentDoesNotSwallowTheNextEscape) {
  EXPECT_EQ(Decode("%%41"), "%A");
  EXPECT_EQ(Decode("%4%41"), "%4A");
}

TEST(PathPercentDecode, PlusStaysPlus) {
  EXPECT_EQ(Decode("+"), "+");
  EXPECT_EQ(Decode("/a+b"), "/a+b");
  EXPECT_EQ(Decode("%2B"), "+");
}

TEST(PathPercentDecode, AppendsToTheOutput) {
  std::string out = "prefix:";
  percent_decode("%41b", out);
  EXPECT_EQ(out, "prefix:Ab");
  percent_decode("", out);
  EXPECT_EQ(out, "prefix:Ab");
}

// --- needs_decoding -------------------------------------------------------------------------

TEST(PathNeedsDecoding, OnlyPercentNeedsDecoding) {
  EXPECT_FALSE(needs_decoding(""));
  EXPECT_FALSE(needs_decoding("/plain/path"));
  EXPECT_FALSE(needs_decoding("/a+b"));
  EXPECT_TRUE(needs_decoding("/a%20b"));
  EXPECT_TRUE(needs_decoding("%"));
  EXPECT_TRUE(needs_decoding("/end%"));
}

// --- is_valid_utf8 --------------------------------------------------------------------------

TEST(Utf8Validation, EmptyAndAsciiAreValid) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("hello /path?x=1"));
  EXPECT_TRUE(is_valid_utf8("\x7F"));
  EXPECT_TRUE(is_valid_utf8("a\0b"s));
}

TEST(Utf8Validation, TwoByteSequencesAreValid) {
  EXPECT_TRUE(is_valid_utf8("\xC2\x80"));  // U+0080
  EXPECT_TRUE(is_valid_utf8("\xCE\xBB"));  // λ
  EXPECT_TRUE(is_valid_utf8("\xDF\xBF"));  // U+07FF
}

TEST(Utf8Validation, ThreeByteSequencesAreValid) {
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80"));  // U+0800
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));  // €
  EXPECT_TRUE(is_valid_utf8("\xED\x9F\xBF"));  // U+D7FF, just below the surrogates
  EXPECT_TRUE(is_valid_utf8("\xEE\x80\x80"));  // U+E000, just above them
  EXPECT_TRUE(is_valid_utf8("\xEF\xBF\xBF"));  // U+FFFF
}

TEST(Utf8Validation, FourByteSequencesAreValid) {
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));  // 😀
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(Utf8Validation, MixedTextIsValid) {
  EXPECT_TRUE(is_valid_utf8("/echo/\xCE\xBB/\xE2\x82\xAC/\xF0\x9F\x98\x80/end"));
}

TEST(Utf8Validation, LoneContinuationBytesAreInvalid) {
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(is_valid_utf8("\xBF"));
  EXPECT_FALSE(
      is_valid_utf8("a\x80"
                    "b"));
  EXPECT_FALSE(is_valid_utf8("\xCE\xBB\xBB"));  // one continuation too many
}

TEST(Utf8Validation, OverlongFormsAreInvalid) {
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // '/' in two bytes
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));          // NUL in two bytes
  EXPECT_FALSE(is_valid_utf8("\xC1\xBF"));          // U+007F in two bytes
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(is_valid_utf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
  EXPECT_FALSE(is_valid_utf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
  EXPECT_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Utf8Validation, SurrogatesAreInvalid) {
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // U+DFFF
  EXPECT_FALSE(is_valid_utf8("\xED\xB0\x80"));  // U+DC00
}

TEST(Utf8Validation, AboveU10FFFFIsInvalid) {
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));
}

TEST(Utf8Validation, LeadBytesF5ToFFAreInvalid) {
  for (int b = 0xF5; b <= 0xFF; ++b) {
    std::string s(1, static_cast<char>(b));
    EXPECT_FALSE(is_valid_utf8(s)) << std::hex << b;
    s += "\x80\x80\x80";
    EXPECT_FALSE(is_valid_utf8(s)) << std::hex << b << " with continuations";
  }
  EXPECT_FALSE(is_valid_utf8("\xFF\xFE"));
}

TEST(Utf8Validation, TruncatedSequencesAtTheEndAreInvalid) {
  EXPECT_FALSE(is_valid_utf8("\xC2"));
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xE2"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F\x98"));
  EXPECT_FALSE(is_valid_utf8("\xF0\x9F"));
  EXPECT_FALSE(is_valid_utf8("\xF0"));
  EXPECT_FALSE(is_valid_utf8("/path/\xCE"));
}

TEST(Utf8Validation, SequenceBrokenByANonContinuationIsInvalid) {
  EXPECT_FALSE(
      is_valid_utf8("\xE2\x82"
                    "A"));
  EXPECT_FALSE(
      is_valid_utf8("\xC2"
                    "A"));
  EXPECT_FALSE(
      is_valid_utf8("\xF0\x9F\x98"
                    "A"));
  EXPECT_FALSE(is_valid_utf8("\xC2\xC2\x80"));
}

TEST(Utf8Validation, AnyPositionInALongStringIsChecked) {
  // Catches fast paths that skip ASCII in words or vectors and miss a byte near a boundary.
  const std::string ascii(80, 'a');
  for (size_t pos = 0; pos <= ascii.size(); ++pos) {
    std::string bad = ascii.substr(0, pos) + "\x80" + ascii.substr(pos);
    EXPECT_FALSE(is_valid_utf8(bad)) << "stray continuation at " << pos;

    std::string truncated = ascii.substr(0, pos) + "\xE2\x82";
    EXPECT_FALSE(is_valid_utf8(truncated)) << "truncated at " << pos;

    std::string good = ascii.substr(0, pos) + "\xF0\x9F\x98\x80" + ascii.substr(pos);
    EXPECT_TRUE(is_valid_utf8(good)) << "emoji at " << pos;
  }
}

}  // namespace
}  // namespace pagi::scope
