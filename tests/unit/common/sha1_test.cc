// SHA-1: the FIPS 180 test vectors, block-boundary lengths, and incremental hashing.
#include "common/sha1.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi {
namespace {

std::string hex(const Sha1::Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

TEST(Sha1, FipsVectors) {
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjk"
                     "lmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "a49b2446a02c645bf419f995b67091253a04a259");
}

TEST(Sha1, OneMillionAs) {
  EXPECT_EQ(hex(sha1(std::string(1000000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, LengthsAroundThePaddingBoundary) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
      {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
      {57, "f08f24908d682555111be7ff6f004e78283d989a"},
      {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
      {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
      {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
      {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
      {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
  };
  for (auto [n, want] : cases) EXPECT_EQ(hex(sha1(std::string(n, 'a'))), want) << n;
}

TEST(Sha1, IncrementalUpdatesAtEverySplitMatchOneShot) {
  std::string text;
  for (int i = 0; i < 150; ++i) text.push_back(char('A' + i % 57));
  Sha1::Digest whole = sha1(text);
  for (size_t a = 0; a <= text.size(); a += 7) {
    for (size_t b = a; b <= text.size(); b += 13) {
      Sha1 s;
      s.update(std::string_view(text).substr(0, a));
      s.update(std::string_view(text).substr(a, b - a));
      s.update(std::string_view(text).substr(b));
      EXPECT_EQ(s.finish(), whole) << a << " " << b;
    }
  }
}

TEST(Sha1, ResetStartsOver) {
  Sha1 s;
  s.update("something else");
  s.finish();
  s.reset();
  s.update("abc");
  EXPECT_EQ(hex(s.finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace pagi
