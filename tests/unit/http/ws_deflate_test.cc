// permessage-deflate: the RFC 7692 §7.2.3 examples both ways, context takeover on and off,
// the zlib 8-bit window quirk, round trips fed in pieces of every size, and the bound that
// stops a zip bomb.
#include "http/ws_deflate.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi::http::ws {
namespace {

std::string bytes(std::initializer_list<uint8_t> b) {
  return std::string(b.begin(), b.end());
}

std::string compress(Deflater& d, std::string_view msg) {
  std::string out;
  EXPECT_TRUE(d.compress(msg, out));
  return out;
}

std::string inflate_all(Inflater& inf, std::string_view data, size_t max = 1 << 20) {
  std::string out;
  EXPECT_EQ(inf.inflate(data, true, out, max), InflateStatus::kOk);
  return out;
}

TEST(WsDeflate, CompressesHelloAsInRfc7692) {
  DeflateParams p;
  Deflater d(p);
  EXPECT_EQ(compress(d, "Hello"), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(WsDeflate, ContextTakeoverSharesTheWindowAcrossMessages) {
  DeflateParams p;
  Deflater d(p);
  compress(d, "Hello");
  // RFC 7692 §7.2.3.2: the second "Hello" refers back into the first.
  EXPECT_EQ(compress(d, "Hello"), bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST(WsDeflate, NoContextTakeoverCompressesEachMessageAlone) {
  DeflateParams p;
  p.server_no_context_takeover = true;
  Deflater d(p);
  compress(d, "Hello");
  EXPECT_EQ(compress(d, "Hello"), bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(WsDeflate, EmptyMessageCompressesToOneZeroByte) {
  DeflateParams p;
  Deflater d(p);
  EXPECT_EQ(compress(d, ""), bytes({0x00}));
  Inflater inf(p);
  EXPECT_EQ(inflate_all(inf, bytes({0x00})), "");
}

TEST(WsDeflate, DecompressesTheRfc7692Examples) {
  DeflateParams p;
  {
    Inflater inf(p);  // §7.2.3.1, then §7.2.3.2 with the shared window
    EXPECT_EQ(inflate_all(inf, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
    EXPECT_EQ(inflate_all(inf, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})), "Hello");
  }
  {
    Inflater inf(p);  // §7.2.3.3: a stored (uncompressed) block
    EXPECT_EQ(
        inflate_all(inf, bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})),
        "Hello");
  }
  {
    Inflater inf(p);  // §7.2.3.4: a block with BFINAL set; the next message starts afresh
    EXPECT_EQ(inflate_all(inf, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})), "Hello");
    EXPECT_EQ(inflate_all(inf, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
    EXPECT_EQ(inflate_all(inf, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  }
  {
    Inflater inf(p);  // §7.2.3.5: two deflate blocks in one message
    EXPECT_EQ(inflate_all(inf, bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9,
                                      0xc9, 0x07, 0x00})),
              "Hello");
  }
}

std::string sample_text(size_t n) {
  std::string s;
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    s += "word" + std::to_string((x >> 16) % 300) + (x % 7 == 0 ? "\n" : " ");
  }
  s.resize(n);
  return s;
}

TEST(WsDeflate, RoundTripFedInPiecesOfEverySize) {
  std::string msg = sample_text(3000);
  DeflateParams p;
  Deflater d(p);
  std::string c = compress(d, msg);
  ASSERT_LT(c.size(), msg.size());
  for (size_t step = 1; step <= c.size(); step = step < 16 ? step + 1 : step * 2) {
    Inflater inf(p);
    std::string out;
    for (size_t at = 0; at < c.size(); at += step) {
      bool fin = at + step >= c.size();
      ASSERT_EQ(inf.inflate(std::string_view(c).substr(at, step), fin, out, 1 << 20),
                InflateStatus::kOk);
    }
    ASSERT_EQ(out, msg) << "step " << step;
  }
}

TEST(WsDeflate, ManyMessagesWithAndWithoutContextTakeover) {
  for (bool no_takeover : {false, true}) {
    DeflateParams p;
    p.server_no_context_takeover = no_takeover;
    p.client_no_context_takeover = no_takeover;
    Deflater d(p);
    Inflater inf(p);
    for (int i = 0; i < 50; ++i) {
      std::string msg = sample_text(100 + i * 37);
      EXPECT_EQ(inflate_all(inf, compress(d, msg)), msg) << i;
    }
  }
}

TEST(WsDeflate, LargeMessageRoundTrip) {
  std::string msg = sample_text(3 << 20);
  DeflateParams p;
  Deflater d(p);
  Inflater inf(p);
  EXPECT_EQ(inflate_all(inf, compress(d, msg), 4 << 20), msg);
}

TEST(WsDeflate, EightBitServerWindowDisablesCompressionBecauseZlibCannotHonourIt) {
  DeflateParams p;
  p.server_max_window_bits = 8;
  Deflater d(p);
  EXPECT_FALSE(d.enabled());
  std::string out;
  EXPECT_FALSE(d.compress("Hello", out));
  p.server_max_window_bits = 9;
  Deflater nine(p);
  EXPECT_TRUE(nine.enabled());
}

TEST(WsDeflate, EightBitClientWindowInflatesWhatZlibMakesWithNineBits) {
  // A zlib client asked for 8 bits compresses with a 512-byte window: matches 300 bytes
  // back must still inflate.
  std::string block = sample_text(300);
  std::string msg = block + block + block;
  DeflateParams sender;
  sender.server_max_window_bits = 9;
  Deflater d(sender);
  std::string c = compress(d, msg);
  ASSERT_LT(c.size(), 2 * block.size());  // the repeats were found in the window
  DeflateParams receiver;
  receiver.client_max_window_bits = 8;
  Inflater inf(receiver);
  EXPECT_EQ(inflate_all(inf, c), msg);
}

TEST(WsDeflate, SmallWindowsRoundTrip) {
  for (uint8_t bits = 9; bits <= 15; ++bits) {
    DeflateParams p;
    p.server_max_window_bits = bits;
    p.client_max_window_bits = bits;
    Deflater d(p);
    Inflater inf(p);
    std::string msg = sample_text(5000);
    EXPECT_EQ(inflate_all(inf, compress(d, msg)), msg) << int(bits);
  }
}

TEST(WsDeflate, ZipBombStopsAtTheLimit) {
  DeflateParams p;
  Deflater d(p);
  std::string bomb = compress(d, std::string(16 << 20, 'A'));
  ASSERT_LT(bomb.size(), 64u * 1024);
  Inflater inf(p);
  std::string out;
  EXPECT_EQ(inf.inflate(bomb, true, out, 1 << 20), InflateStatus::kTooBig);
  EXPECT_EQ(out.size(), size_t(1) << 20);
}

TEST(WsDeflate, OutputOfExactlyTheLimitIsAccepted) {
  DeflateParams p;
  Deflater d(p);
  std::string c = compress(d, std::string(1000, 'x'));
  Inflater inf(p);
  std::string out;
  EXPECT_EQ(inf.inflate(c, true, out, 1000), InflateStatus::kOk);
  EXPECT_EQ(out, std::string(1000, 'x'));
  Inflater tight(p);
  out.clear();
  EXPECT_EQ(tight.inflate(c, true, out, 999), InflateStatus::kTooBig);
}

TEST(WsDeflate, LimitCountsWhatIsAlreadyInTheBuffer) {
  DeflateParams p;
  Deflater d(p);
  std::string c = compress(d, "0123456789");
  Inflater inf(p);
  std::string out = "prefix";
  EXPECT_EQ(inf.inflate(c, true, out, 15), InflateStatus::kTooBig);
}

TEST(WsDeflate, CorruptInputIsReported) {
  DeflateParams p;
  Inflater inf(p);
  std::string out;
  EXPECT_EQ(inf.inflate(bytes({0xff, 0xff, 0xff}), true, out, 1000), InflateStatus::kCorrupt);
}

}  // namespace
}  // namespace pagi::http::ws
