// WebSocket message reassembly: zero-copy single frames, UTF-8 validated across fragments
// and failing at the first bad fragment, the message size limit (1009), compressed messages
// inflated into the message (zip bomb → 1009, bad text after inflating → 1007).
#include "http/ws_message.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi::http::ws {
namespace {

FrameEvent piece(Opcode op, std::string_view payload, bool first, bool fin) {
  FrameEvent ev;
  ev.kind = FrameEvent::Kind::kData;
  ev.opcode = op;
  ev.payload = payload;
  ev.first = first;
  ev.fin = fin;
  return ev;
}

TEST(WsMessage, SingleFrameMessageIsAViewNotACopy) {
  std::string input = "hello";
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kText, input, true, true)));
  ASSERT_TRUE(a.complete());
  EXPECT_EQ(a.message().data(), input.data());
  EXPECT_EQ(a.take(), "hello");
  EXPECT_FALSE(a.complete());
}

TEST(WsMessage, CodePointSplitAcrossFragmentsIsValid) {
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kText, "a\xE2", true, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kText, "\x82", false, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kText,
                           "\xAC"
                           "b",
                           false, true)));
  EXPECT_EQ(a.message(),
            "a\xE2\x82\xAC"
            "b");
}

TEST(WsMessage, InvalidUtf8FailsAtTheFragmentThatHasIt) {
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kText, "fine", true, false)));
  WsError e = a.add(piece(Opcode::kText, "\xED\xA0", false, false));  // a surrogate begins
  EXPECT_EQ(e.code, kCloseInvalidPayload);
  EXPECT_STREQ(e.reason, "Invalid UTF-8");
}

TEST(WsMessage, TruncatedCodePointAtTheEndOfTheMessageFails) {
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kText, "x", true, false)));
  EXPECT_EQ(a.add(piece(Opcode::kText, "\xC3", false, true)).code, kCloseInvalidPayload);
}

TEST(WsMessage, BinaryIsNotValidated) {
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "\xFF\xFE", true, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "\xC0", false, true)));
  EXPECT_EQ(a.message(), "\xFF\xFE\xC0");
}

TEST(WsMessage, MessageSizeLimitGives1009) {
  MessageAssembler a(10);
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "01234", true, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "56789", false, true)));  // exactly 10: fine
  EXPECT_EQ(a.message(), "0123456789");
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "01234", true, false)));
  WsError e = a.add(piece(Opcode::kBinary, "567890", false, true));
  EXPECT_EQ(e.code, kCloseMessageTooBig);
  EXPECT_STREQ(e.reason, "Message too big");
  MessageAssembler b(3);
  EXPECT_EQ(b.add(piece(Opcode::kText, "four", true, true)).code, kCloseMessageTooBig);
}

TEST(WsMessage, NextMessageStartsClean) {
  MessageAssembler a(100);
  ASSERT_FALSE(a.add(piece(Opcode::kText, "ab", true, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kText, "cd", false, true)));
  EXPECT_EQ(a.take(), "abcd");
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "x", true, false)));
  ASSERT_FALSE(a.add(piece(Opcode::kBinary, "y", false, true)));
  EXPECT_EQ(a.opcode(), Opcode::kBinary);
  EXPECT_EQ(a.message(), "xy");
}

TEST(WsMessage, CompressedPiecesAreInflatedIntoTheMessage) {
  DeflateParams params;
  Deflater deflater(params);
  Inflater inflater(params);
  std::string compressed;
  ASSERT_TRUE(deflater.compress("Hello, \xE2\x82\xAC world", compressed));
  MessageAssembler a(100);
  FrameEvent first = piece(Opcode::kText, std::string_view(compressed).substr(0, 3), true, false);
  first.compressed = true;
  FrameEvent rest = piece(Opcode::kText, std::string_view(compressed).substr(3), false, true);
  rest.compressed = true;
  ASSERT_FALSE(a.add(first, &inflater));
  ASSERT_FALSE(a.add(rest, &inflater));
  ASSERT_TRUE(a.complete());
  EXPECT_EQ(a.message(), "Hello, \xE2\x82\xAC world");
}

TEST(WsMessage, CompressedInvalidUtf8Gives1007) {
  DeflateParams params;
  Deflater deflater(params);
  Inflater inflater(params);
  std::string compressed;
  ASSERT_TRUE(deflater.compress("ok \xC0\xAF", compressed));
  MessageAssembler a(100);
  FrameEvent ev = piece(Opcode::kText, compressed, true, true);
  ev.compressed = true;
  EXPECT_EQ(a.add(ev, &inflater).code, kCloseInvalidPayload);
}

TEST(WsMessage, CompressedZipBombGives1009) {
  DeflateParams params;
  Deflater deflater(params);
  Inflater inflater(params);
  std::string compressed;
  ASSERT_TRUE(deflater.compress(std::string(4 << 20, '\0'), compressed));
  MessageAssembler a(64 * 1024);
  FrameEvent ev = piece(Opcode::kBinary, compressed, true, true);
  ev.compressed = true;
  WsError e = a.add(ev, &inflater);
  EXPECT_EQ(e.code, kCloseMessageTooBig);
  EXPECT_LE(a.buffered(), 64u * 1024);
}

TEST(WsMessage, CorruptCompressedDataGives1007) {
  DeflateParams params;
  Inflater inflater(params);
  MessageAssembler a(100);
  FrameEvent ev = piece(Opcode::kBinary, "\xFF\xFF\xFF\xFF", true, true);
  ev.compressed = true;
  WsError e = a.add(ev, &inflater);
  EXPECT_EQ(e.code, kCloseInvalidPayload);
  EXPECT_STREQ(e.reason, "Invalid compressed data");
}

}  // namespace
}  // namespace pagi::http::ws
