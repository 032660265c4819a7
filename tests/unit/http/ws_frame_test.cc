// WebSocket frames: RFC 6455 §5.7 examples, every byte split of multi-frame inputs, masking
// at every phase, each protocol error with its close code, streaming of a 10 MB message and
// of a 1000-fragment chain, and the serialiser's header forms.
#include "http/ws_frame.h"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/ws_message.h"

namespace pagi::http::ws {
namespace {

constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};

// A client frame: first byte as given (FIN | RSV | opcode), masked with kKey unless
// `masked` is false. `length_form` 126 or 127 forces a longer length encoding.
std::string client_frame(uint8_t b0, std::string_view payload, bool masked = true,
                         int length_form = 0) {
  std::string f;
  f.push_back(char(b0));
  uint8_t m = masked ? 0x80 : 0;
  uint64_t n = payload.size();
  if (length_form == 127 || n > 0xFFFF) {
    f.push_back(char(m | 127));
    for (int i = 0; i < 8; ++i) f.push_back(char(n >> (56 - 8 * i)));
  } else if (length_form == 126 || n > 125) {
    f.push_back(char(m | 126));
    f.push_back(char(n >> 8));
    f.push_back(char(n & 0xFF));
  } else {
    f.push_back(char(m | n));
  }
  if (masked) f.append(reinterpret_cast<const char*>(kKey), 4);
  size_t at = f.size();
  f.append(payload);
  if (masked) {
    for (size_t i = 0; i < n; ++i) f[at + i] = char(uint8_t(f[at + i]) ^ kKey[i % 4]);
  }
  return f;
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(char(code >> 8));
  p.push_back(char(code & 0xFF));
  p.append(reason);
  return p;
}

// Feeds `chunks` in order and writes a transcript: reassembled messages, control frames and
// the first error. Data pieces are copied at once: their views point into the input.
struct Transcript {
  std::string log;
  std::string message;
  size_t data_events = 0;
};

Transcript run(FrameParser& parser, const std::vector<std::string>& chunks) {
  Transcript t;
  for (const std::string& c : chunks) {
    std::string buf = c;  // the parser unmasks in place
    std::span<char> in(buf.data(), buf.size());
    for (;;) {
      FrameEvent ev = parser.next(in);
      if (ev.kind == FrameEvent::Kind::kNeedMore) {
        EXPECT_TRUE(in.empty());
        break;
      }
      if (ev.kind == FrameEvent::Kind::kError) {
        t.log += "error " + std::to_string(ev.error.code) + " " + ev.error.reason + "|";
        return t;
      }
      if (ev.kind == FrameEvent::Kind::kControl) {
        if (ev.opcode == Opcode::kClose) {
          t.log += "close " + std::to_string(ev.close_code) + " ";
          t.log.append(ev.close_reason);
        } else {
          t.log += ev.opcode == Opcode::kPing ? "ping " : "pong ";
          t.log.append(ev.payload);
        }
        t.log += "|";
        continue;
      }
      ++t.data_events;
      if (ev.first) t.message.clear();
      t.message.append(ev.payload);
      if (ev.fin) {
        t.log += ev.opcode == Opcode::kText ? "text " : "binary ";
        if (ev.compressed) t.log += "(compressed) ";
        t.log += t.message + "|";
      }
    }
  }
  return t;
}

std::string run_whole(std::string_view input, FrameParser::Options o = {}) {
  FrameParser p(o);
  return run(p, {std::string(input)}).log;
}

TEST(WsFrame, Rfc6455MaskedHelloExample) {
  const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  EXPECT_EQ(run_whole(std::string_view(frame, 11)), "text Hello|");
}

TEST(WsFrame, Rfc6455UnmaskedExamplesWhenMaskingIsNotRequired) {
  FrameParser::Options o;
  o.require_mask = false;
  EXPECT_EQ(run_whole(std::string_view("\x01\x03Hel\x80\x02lo", 9), o), "text Hello|");
  EXPECT_EQ(run_whole(std::string_view("\x89\x05Hello", 7), o), "ping Hello|");
  EXPECT_EQ(run_whole(std::string_view("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11), o),
            "pong Hello|");
}

TEST(WsFrame, SixteenAndSixtyFourBitLengths) {
  std::string b256(256, 'x'), b65536(65536, 'y');
  EXPECT_EQ(run_whole(client_frame(0x82, b256)), "binary " + b256 + "|");
  EXPECT_EQ(run_whole(client_frame(0x82, b65536)), "binary " + b65536 + "|");
  // Minimal length encoding is not required.
  EXPECT_EQ(run_whole(client_frame(0x81, "hi", true, 126)), "text hi|");
  EXPECT_EQ(run_whole(client_frame(0x81, "hi", true, 127)), "text hi|");
  EXPECT_EQ(run_whole(client_frame(0x81, "")), "text |");
}

// Frames of every kind, a fragmented message with control frames in the middle, and every
// length encoding.
std::string multi_frame_input() {
  std::string in;
  in += client_frame(0x81, "Hello");
  in += client_frame(0x01, "frag");
  in += client_frame(0x89, "ping!");
  in += client_frame(0x00, "");
  in += client_frame(0x00, "mented", true, 126);
  in += client_frame(0x8A, "");
  in += client_frame(0x80, " text \xE2\x82\xAC");
  in += client_frame(0x82, std::string(300, '\x07'));
  in += client_frame(0x02, "bin", true, 127);
  in += client_frame(0x80, "ary");
  in += client_frame(0x88, close_payload(1000, "bye"));
  return in;
}

std::string multi_frame_expected() {
  return "text Hello|ping ping!|pong |text fragmented text \xE2\x82\xAC|binary " +
         std::string(300, '\x07') + "|binary binary|close 1000 bye|";
}

TEST(WsFrame, MultiFrameInputInOneRead) {
  EXPECT_EQ(run_whole(multi_frame_input()), multi_frame_expected());
}

TEST(WsFrame, MultiFrameInputSplitAtEveryByte) {
  std::string in = multi_frame_input();
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    FrameParser p;
    Transcript t = run(p, {in.substr(0, cut), in.substr(cut)});
    ASSERT_EQ(t.log, multi_frame_expected()) << "cut at " << cut;
  }
}

TEST(WsFrame, MultiFrameInputSplitAtEveryPairOfBytesOfTheHeaders) {
  // Two cuts anywhere in the first 60 bytes: headers split three ways.
  std::string in = multi_frame_input();
  for (size_t a = 0; a < 60; ++a) {
    for (size_t b = a; b < 60; ++b) {
      FrameParser p;
      Transcript t = run(p, {in.substr(0, a), in.substr(a, b - a), in.substr(b)});
      ASSERT_EQ(t.log, multi_frame_expected()) << a << "," << b;
    }
  }
}

TEST(WsFrame, MultiFrameInputOneByteAtATime) {
  std::string in = multi_frame_input();
  std::vector<std::string> bytes;
  for (char c : in) bytes.emplace_back(1, c);
  FrameParser p;
  EXPECT_EQ(run(p, bytes).log, multi_frame_expected());
}

TEST(WsFrame, DataPiecesAreUnmaskedInPlaceInsideTheInput) {
  std::string buf = client_frame(0x82, "0123456789abcdef0123");
  std::span<char> in(buf.data(), buf.size());
  FrameParser p;
  FrameEvent ev = p.next(in);
  ASSERT_EQ(ev.kind, FrameEvent::Kind::kData);
  EXPECT_EQ(ev.payload.data(), buf.data() + 6);
  EXPECT_EQ(ev.payload, "0123456789abcdef0123");
  EXPECT_TRUE(ev.first);
  EXPECT_TRUE(ev.fin);
  EXPECT_EQ(p.next(in).kind, FrameEvent::Kind::kNeedMore);
}

TEST(WsFrame, ApplyMaskMatchesBytewiseXorAtEveryPhaseAndLength) {
  for (uint64_t phase = 0; phase < 8; ++phase) {
    for (size_t n = 0; n < 40; ++n) {
      std::string data;
      for (size_t i = 0; i < n; ++i) data.push_back(char(i * 37 + 11));
      std::string want = data;
      for (size_t i = 0; i < n; ++i) want[i] = char(uint8_t(want[i]) ^ kKey[(phase + i) % 4]);
      apply_mask(data.data(), n, kKey, phase);
      ASSERT_EQ(data, want) << phase << " " << n;
    }
  }
}

TEST(WsFrame, ErrorsCarryTheirCloseCodes) {
  FrameParser::Options deflate;
  deflate.deflate = true;
  FrameParser::Options small;
  small.max_frame_size = 10;
  struct Case {
    std::string input;
    FrameParser::Options options;
    const char* want;
  };
  std::string huge_length("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  huge_length.append(reinterpret_cast<const char*>(kKey), 4);
  const Case cases[] = {
      {client_frame(0xC1, "x"), {}, "error 1002 RSV bits must be 0|"},
      {client_frame(0xA1, "x"), deflate, "error 1002 RSV bits must be 0|"},
      {client_frame(0x91, "x"), deflate, "error 1002 RSV bits must be 0|"},
      {client_frame(0x41, "x") + client_frame(0xC0, "y"), deflate,
       "error 1002 RSV bits must be 0|"},
      {client_frame(0xC9, ""), deflate, "error 1002 RSV bits must be 0|"},
      {client_frame(0x83, "x"), {}, "error 1002 Reserved opcode|"},
      {client_frame(0x87, "x"), {}, "error 1002 Reserved opcode|"},
      {client_frame(0x8B, "x"), {}, "error 1002 Reserved opcode|"},
      {client_frame(0x8F, "x"), {}, "error 1002 Reserved opcode|"},
      {client_frame(0x09, "x"), {}, "error 1002 Control frame must not be fragmented|"},
      {client_frame(0x89, std::string(126, 'p')),
       {},
       "error 1002 Control frame payload too large|"},
      {client_frame(0x88, "\x03"), {}, "error 1002 Close frame payload of 1 byte|"},
      {client_frame(0x88, close_payload(1000, "\xFF")),
       {},
       "error 1007 Invalid UTF-8 in close reason|"},
      {client_frame(0x80, "x"), {}, "error 1002 Unexpected continuation frame|"},
      {client_frame(0x01, "x") + client_frame(0x81, "y"),
       {},
       "error 1002 Expected continuation frame|"},
      {client_frame(0x81, "x", false), {}, "error 1002 Client frames must be masked|"},
      {client_frame(0x82, std::string(11, 'b')), small, "error 1009 Frame too large|"},
      {huge_length, {}, "error 1002 Invalid frame length|"},
  };
  for (const Case& c : cases) EXPECT_EQ(run_whole(c.input, c.options), c.want) << c.want;
}

TEST(WsFrame, FrameAtTheSizeLimitIsAccepted) {
  FrameParser::Options o;
  o.max_frame_size = 10;
  EXPECT_EQ(run_whole(client_frame(0x82, "0123456789"), o), "binary 0123456789|");
}

TEST(WsFrame, OversizedFrameFailsFromItsHeaderAlone) {
  FrameParser::Options o;
  o.max_frame_size = 1024;
  std::string header = client_frame(0x82, std::string(1 << 20, 'z')).substr(0, 14);
  EXPECT_EQ(run_whole(header, o), "error 1009 Frame too large|");
}

TEST(WsFrame, CloseCodes) {
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
    EXPECT_EQ(run_whole(client_frame(0x88, close_payload(code, "r"))),
              "close " + std::to_string(code) + " r|");
  }
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535}) {
    EXPECT_EQ(run_whole(client_frame(0x88, close_payload(code, ""))),
              "error 1002 Invalid close code|")
        << code;
  }
  EXPECT_EQ(run_whole(client_frame(0x88, "")), "close 1005 |");
  EXPECT_EQ(run_whole(client_frame(0x88, close_payload(1001, "\xC3\xA9t\xC3\xA9"))),
            "close 1001 \xC3\xA9t\xC3\xA9|");
}

TEST(WsFrame, FailedParserStaysFailed) {
  FrameParser p;
  std::string buf = client_frame(0x83, "x") + client_frame(0x81, "ok");
  std::span<char> in(buf.data(), buf.size());
  EXPECT_EQ(p.next(in).kind, FrameEvent::Kind::kError);
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.next(in).kind, FrameEvent::Kind::kError);
}

TEST(WsFrame, CompressedFlagComesFromTheFirstFrameOnly) {
  FrameParser::Options o;
  o.deflate = true;
  std::string in = client_frame(0x41, "ab") + client_frame(0x80, "cd") + client_frame(0x81, "x");
  EXPECT_EQ(run_whole(in, o), "text (compressed) abcd|text x|");
}

TEST(WsFrame, TenMegabyteMessageStreamsAsPiecesOfEachRead) {
  const size_t size = 10 * 1024 * 1024, read = 64 * 1024;
  std::string payload(size, '\0');
  for (size_t i = 0; i < size; ++i) payload[i] = char('a' + i % 26);
  std::string wire = client_frame(0x81, payload);
  FrameParser::Options o;
  o.max_frame_size = size;
  FrameParser p(o);
  MessageAssembler assembler(size);
  size_t pieces = 0, biggest = 0, moves = 0;
  const char* storage = nullptr;
  for (size_t at = 0; at < wire.size(); at += read) {
    std::span<char> in(wire.data() + at, std::min(read, wire.size() - at));
    for (;;) {
      FrameEvent ev = p.next(in);
      if (ev.kind == FrameEvent::Kind::kNeedMore) break;
      ASSERT_EQ(ev.kind, FrameEvent::Kind::kData);
      ++pieces;
      biggest = std::max(biggest, ev.payload.size());
      ASSERT_FALSE(assembler.add(ev));
      // Each piece is appended once and the buffer grows geometrically: it moves only a
      // logarithmic number of times, so the total copying stays linear.
      if (assembler.message().data() != storage) {
        storage = assembler.message().data();
        ++moves;
      }
    }
  }
  EXPECT_EQ(pieces, (wire.size() + read - 1) / read);
  EXPECT_EQ(biggest, read);
  EXPECT_LE(moves, 32u);
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.message().size(), size);
  EXPECT_TRUE(assembler.message() == payload);
}

TEST(WsFrame, ThousandFragmentChainGivesOnePiecePerFragment) {
  std::string wire, want;
  for (int i = 0; i < 1000; ++i) {
    std::string part = "part" + std::to_string(i) + ";";
    want += part;
    uint8_t b0 = (i == 0 ? 0x02 : 0x00) | (i == 999 ? 0x80 : 0x00);
    wire += client_frame(b0, part);
  }
  FrameParser p;
  MessageAssembler assembler(1 << 20);
  std::span<char> in(wire.data(), wire.size());
  size_t pieces = 0;
  for (;;) {
    FrameEvent ev = p.next(in);
    if (ev.kind == FrameEvent::Kind::kNeedMore) break;
    ASSERT_EQ(ev.kind, FrameEvent::Kind::kData);
    EXPECT_EQ(ev.first, pieces == 0);
    EXPECT_EQ(ev.fin, pieces == 999);
    ++pieces;
    ASSERT_FALSE(assembler.add(ev));
  }
  EXPECT_EQ(pieces, 1000u);
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.opcode(), Opcode::kBinary);
  EXPECT_EQ(assembler.message(), want);
}

// --- Serialiser ---

TEST(WsFrameWriter, HeaderSizesTwoFourAndTen) {
  char h[kMaxHeaderSize];
  EXPECT_EQ(write_frame_header(h, Opcode::kText, 0), 2u);
  EXPECT_EQ(std::string_view(h, 2), std::string_view("\x81\x00", 2));
  EXPECT_EQ(write_frame_header(h, Opcode::kText, 125), 2u);
  EXPECT_EQ(std::string_view(h, 2), "\x81\x7D");
  EXPECT_EQ(write_frame_header(h, Opcode::kBinary, 126), 4u);
  EXPECT_EQ(std::string_view(h, 4), std::string_view("\x82\x7E\x00\x7E", 4));
  EXPECT_EQ(write_frame_header(h, Opcode::kBinary, 65535), 4u);
  EXPECT_EQ(std::string_view(h, 4), "\x82\x7E\xFF\xFF");
  EXPECT_EQ(write_frame_header(h, Opcode::kBinary, 65536), 10u);
  EXPECT_EQ(std::string_view(h, 10),
            std::string_view("\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(write_frame_header(h, Opcode::kText, 5, true, true), 2u);
  EXPECT_EQ(std::string_view(h, 2), "\xC1\x05");
  EXPECT_EQ(write_frame_header(h, Opcode::kText, 5, false), 2u);
  EXPECT_EQ(std::string_view(h, 2), "\x01\x05");
  EXPECT_EQ(write_frame_header(h, Opcode::kContinuation, 5), 2u);
  EXPECT_EQ(std::string_view(h, 2), "\x80\x05");
}

TEST(WsFrameWriter, FramesOfEachKind) {
  std::string s;
  write_frame(s, Opcode::kText, "Hello");
  EXPECT_EQ(s, "\x81\x05Hello");
  s.clear();
  write_frame(s, Opcode::kPing, "");
  EXPECT_EQ(s, std::string("\x89\x00", 2));
  s.clear();
  write_frame(s, Opcode::kPong, "abc");
  EXPECT_EQ(s,
            "\x8A\x03"
            "abc");
  s.clear();
  write_frame(s, Opcode::kBinary, std::string_view("\xF2\x48\xCD\xC9\xC9\x07\x00", 7), true, true);
  EXPECT_EQ(s, std::string_view("\xC2\x07\xF2\x48\xCD\xC9\xC9\x07\x00", 9));
}

TEST(WsFrameWriter, CloseFrames) {
  std::string s;
  write_close(s, 1000, "");
  EXPECT_EQ(s, std::string("\x88\x02\x03\xE8", 4));
  s.clear();
  write_close(s, 1011, "boom");
  EXPECT_EQ(s,
            "\x88\x06\x03\xF3"
            "boom");
  s.clear();
  write_close(s, kCloseNoStatus, "ignored");
  EXPECT_EQ(s, std::string("\x88\x00", 2));
}

TEST(WsFrameWriter, CloseReasonIsCutTo123BytesOnACodePointBoundary) {
  std::string ascii(200, 'r');
  EXPECT_EQ(truncate_close_reason(ascii).size(), 123u);
  std::string euros;
  for (int i = 0; i < 50; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each: 123 is a boundary
  EXPECT_EQ(truncate_close_reason(euros).size(), 123u);
  std::string shifted = "x" + euros;  // 123 falls inside a euro sign: cut before it
  EXPECT_EQ(truncate_close_reason(shifted).size(), 121u);
  std::string s;
  write_close(s, 1000, shifted);
  EXPECT_EQ(s.size(), 2u + 2 + 121);
  EXPECT_EQ(uint8_t(s[1]), 123u);
}

TEST(WsFrameWriter, OutputQueueAndStringWritersAgree) {
  BlockPool pool;
  OutputQueue q(&pool);
  std::string s, big(70000, 'q');
  write_frame(q, Opcode::kBinary, big);
  write_frame(s, Opcode::kBinary, big);
  write_close(q, 1001, "away");
  write_close(s, 1001, "away");
  std::string got;
  iovec iov[16];
  int n = q.gather(iov, 16, q.size());
  for (int i = 0; i < n; ++i) got.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  EXPECT_EQ(got, s);
}

TEST(WsFrameWriter, ServerFramesParseBackWhenMaskingIsNotRequired) {
  std::string s;
  write_frame(s, Opcode::kText, "one", false);
  write_frame(s, Opcode::kContinuation, std::string(300, 'z'));
  write_frame(s, Opcode::kPing, "p");
  write_close(s, 4000, "done");
  FrameParser::Options o;
  o.require_mask = false;
  EXPECT_EQ(run_whole(s, o), "text one" + std::string(300, 'z') + "|ping p|close 4000 done|");
}

}  // namespace
}  // namespace pagi::http::ws
