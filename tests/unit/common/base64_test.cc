// Base64: RFC 4648 §10 vectors, the RFC 6455 handshake key, and strict decoding.
#include "common/base64.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi {
namespace {

std::string enc(std::string_view in) {
  std::string out;
  base64_encode(in, out);
  return out;
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("fooba"), "Zm9vYmE=");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encoded_size(16), 24u);
  EXPECT_EQ(base64_encoded_size(20), 28u);
}

TEST(Base64, EncodesEveryByteValueAndDecodesBack) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(char(i));
  for (size_t n = 0; n <= all.size(); n += 1) {
    std::string in = all.substr(256 - n);
    std::string back;
    ASSERT_TRUE(base64_decode(enc(in), back)) << n;
    EXPECT_EQ(back, in) << n;
  }
  EXPECT_EQ(enc("\xfb\xff"), "+/8=");
}

TEST(Base64, DecodesTheRfc6455SampleKeyToSixteenBytes) {
  std::string out;
  ASSERT_TRUE(base64_decode("dGhlIHNhbXBsZSBub25jZQ==", out));
  EXPECT_EQ(out, "the sample nonce");
}

TEST(Base64, DecodingIsStrict) {
  std::string out;
  EXPECT_FALSE(base64_decode("Zg=", out));  // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Zg", out));
  EXPECT_FALSE(base64_decode("Z===", out));      // too much padding
  EXPECT_FALSE(base64_decode("Zg==Zg==", out));  // padding before the end
  EXPECT_FALSE(base64_decode("Zh==", out));      // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm9=", out));
  EXPECT_FALSE(base64_decode("Zm 9", out));  // whitespace
  EXPECT_FALSE(base64_decode("Zm9-", out));  // URL alphabet
  EXPECT_FALSE(base64_decode("Zg=x", out));
  out.clear();
  EXPECT_TRUE(base64_decode("", out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace pagi
