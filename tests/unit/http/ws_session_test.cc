// The WebSocket session driven without sockets: masked client frames in, exact server bytes
// out, with a scripted app. Every close path with its code and PAGI reason, queue overflow at
// the limit, read pauses, keepalive and idle timers, watermarks and permessage-deflate.
#include "http/ws_session.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pagi::http::ws {
namespace {

constexpr uint8_t kKey[4] = {0x12, 0x34, 0x56, 0x78};

// A masked client frame with first byte b0 (FIN | RSV | opcode).
std::string client_frame(uint8_t b0, std::string_view payload) {
  std::string f;
  f.push_back(char(b0));
  uint64_t n = payload.size();
  if (n > 0xFFFF) {
    f.push_back(char(0x80 | 127));
    for (int i = 0; i < 8; ++i) f.push_back(char(n >> (56 - 8 * i)));
  } else if (n > 125) {
    f.push_back(char(0x80 | 126));
    f.push_back(char(n >> 8));
    f.push_back(char(n & 0xFF));
  } else {
    f.push_back(char(0x80 | n));
  }
  f.append(reinterpret_cast<const char*>(kKey), 4);
  for (size_t i = 0; i < n; ++i) f.push_back(char(uint8_t(payload[i]) ^ kKey[i % 4]));
  return f;
}

std::string text(std::string_view s) {
  return client_frame(0x81, s);
}
std::string binary(std::string_view s) {
  return client_frame(0x82, s);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(char(code >> 8));
  p.push_back(char(code & 0xFF));
  p.append(reason);
  return p;
}

// A server frame as it must appear on the wire (unmasked, short length form).
std::string server_frame(uint8_t b0, std::string_view payload) {
  std::string f;
  f.push_back(char(b0));
  f.push_back(char(payload.size()));
  f.append(payload);
  return f;
}

std::string server_close(uint16_t code, std::string_view reason) {
  return server_frame(0x88, close_payload(code, reason));
}

class FakeTransport final : public SessionTransport {
 public:
  void want_flush() override { ++flushes; }
  void set_reading(bool on) override { reading = on; }
  void schedule() override { ++scheduled; }
  uint64_t now_ms() override { return now; }

  int flushes = 0;
  bool reading = true;
  int scheduled = 0;
  uint64_t now = 0;
};

// Records every callback as a line; each test scripts the app with lambdas.
class ScriptHandler final : public SessionHandler {
 public:
  std::function<void(Session&)> ready;
  std::function<void(Session&)> writable;
  std::vector<std::string> log;

  void on_receive_ready(Session& s) override {
    log.push_back("ready");
    if (ready) ready(s);
  }
  void on_writable(Session& s) override {
    log.push_back("writable");
    if (writable) writable(s);
  }
  void on_end(Session&, uint16_t code, std::string_view reason) override {
    log.push_back("end " + std::to_string(code) + " " + std::string(reason));
  }
};

std::string describe(const ReceiveEvent& ev) {
  switch (ev.type) {
    case ReceiveEvent::Type::kReceive:
      return std::string(ev.text ? "text " : "bytes ") + std::string(ev.data);
    case ReceiveEvent::Type::kDisconnect:
      return "disconnect " + std::to_string(ev.code) + " " + std::string(ev.reason);
    default: return "none";
  }
}

struct Fixture {
  explicit Fixture(const SessionConfig& c = SessionConfig{}, const DeflateParams* deflate = nullptr)
      : config(c), out(&pool), session(config, transport, handler, out, deflate) {}

  // Feeds bytes (copied: the session unmasks in place).
  void feed(const std::string& bytes) {
    std::string buf = bytes;
    session.on_input(std::span<char>(buf.data(), buf.size()));
  }
  // Everything written so far, handed to the "socket".
  std::string output() {
    std::string s;
    iovec iov[64];
    int n = out.gather(iov, 64, out.size());
    for (int i = 0; i < n; ++i) s.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    session.on_sent(s.size());
    return s;
  }
  // All events receive() yields now, the first disconnect included.
  std::vector<std::string> drain() {
    std::vector<std::string> evs;
    ReceiveEvent ev;
    while (session.receive(ev)) {
      evs.push_back(describe(ev));
      if (ev.type == ReceiveEvent::Type::kDisconnect) break;
    }
    return evs;
  }

  SessionConfig config;
  BlockPool pool;
  FakeTransport transport;
  ScriptHandler handler;
  OutputQueue out;
  Session session;
};

using Strings = std::vector<std::string>;

// --- receiving --------------------------------------------------------------------------------

TEST(WsSession, WaitingAppGetsASingleFrameMessageWithoutACopy) {
  Fixture f;
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  std::string buf = text("hello");
  const char* begin = buf.data();
  const char* end = buf.data() + buf.size();
  bool inside = false;
  std::string got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent e;
    ASSERT_TRUE(s.receive(e));
    got = describe(e);
    inside = e.data.data() >= begin && e.data.data() + e.data.size() <= end;
  };
  f.session.on_input(std::span<char>(buf.data(), buf.size()));
  EXPECT_EQ(got, "text hello");
  EXPECT_TRUE(inside);  // a view into the read buffer, unmasked in place
  EXPECT_EQ(f.session.queued_messages(), 0u);
}

TEST(WsSession, WaitingAppGetsAMessageAssembledOverSeveralReads) {
  Fixture f;
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  std::vector<std::string> got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent e;
    while (s.receive(e)) got.push_back(describe(e));
  };
  std::string input = client_frame(0x02, "split ") + client_frame(0x80, "binary");
  f.feed(input.substr(0, 9));
  EXPECT_TRUE(got.empty());
  f.feed(input.substr(9));
  EXPECT_EQ(got, Strings{"bytes split binary"});
  EXPECT_EQ(f.handler.log, Strings{"ready"});
}

TEST(WsSession, MessageNotTakenInTheCallbackIsCopiedIntoTheQueue) {
  Fixture f;
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  f.feed(text("later"));  // the app is told but receives afterwards
  EXPECT_EQ(f.handler.log, Strings{"ready"});
  EXPECT_EQ(f.session.queued_messages(), 1u);
  EXPECT_EQ(f.drain(), Strings{"text later"});
}

TEST(WsSession, MessagesQueueInOrderUntilTheAppReceives) {
  Fixture f;
  f.feed(text("one") + binary(std::string("\x00\xFF", 2)) + text("three"));
  EXPECT_TRUE(f.handler.log.empty());
  EXPECT_EQ(f.drain(), (Strings{"text one", std::string("bytes \x00\xFF", 8), "text three"}));
  ReceiveEvent ev;
  EXPECT_FALSE(f.session.receive(ev));
}

TEST(WsSession, FragmentedMessageWithPingInsideAtEveryByteSplit) {
  std::string input = client_frame(0x01, "frag") + client_frame(0x89, "p") +
                      client_frame(0x00, "men") + client_frame(0x80, "ted") + binary("b");
  for (size_t split = 0; split <= input.size(); ++split) {
    Fixture f;
    f.feed(input.substr(0, split));
    f.feed(input.substr(split));
    EXPECT_EQ(f.output(), server_frame(0x8A, "p")) << split;
    EXPECT_EQ(f.drain(), (Strings{"text fragmented", "bytes b"})) << split;
  }
}

TEST(WsSession, PingIsAnsweredWithItsPayload) {
  Fixture f;
  f.feed(client_frame(0x89, "are you there"));
  EXPECT_EQ(f.output(), server_frame(0x8A, "are you there"));
  EXPECT_TRUE(f.handler.log.empty());  // transparent to the app
}

TEST(WsSession, TextIsValidatedAsItArrives) {
  Fixture f;
  f.feed(client_frame(0x01, "ok") + client_frame(0x80, "\xC0\xAF"));
  EXPECT_EQ(f.output(), server_close(1007, "Invalid UTF-8"));
  EXPECT_EQ(f.drain(), Strings{"disconnect 1007 protocol_error"});
  EXPECT_TRUE(f.session.wants_close());
}

// --- the close handshake ----------------------------------------------------------------------

TEST(WsSession, PeerCloseIsEchoedAndReportedWithItsCodeAndReason) {
  Fixture f;
  f.feed(text("last") + client_frame(0x88, close_payload(1000, "bye")));
  EXPECT_EQ(f.output(), server_close(1000, ""));
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.handler.log, Strings{"end 1000 bye"});
  EXPECT_EQ(f.drain(), (Strings{"text last", "disconnect 1000 bye"}));
  ReceiveEvent ev;  // and again on every later receive
  ASSERT_TRUE(f.session.receive(ev));
  EXPECT_EQ(describe(ev), "disconnect 1000 bye");
}

TEST(WsSession, PeerCloseWithAnApplicationCodeIsEchoed) {
  Fixture f;
  f.feed(client_frame(0x88, close_payload(4000, "custom")));
  EXPECT_EQ(f.output(), server_close(4000, ""));
  EXPECT_EQ(f.drain(), Strings{"disconnect 4000 custom"});
}

TEST(WsSession, PeerCloseWithoutCodeGetsAnEmptyCloseAnd1005) {
  Fixture f;
  f.feed(client_frame(0x88, ""));
  EXPECT_EQ(f.output(), std::string("\x88\x00", 2));  // 1005 never goes on the wire
  EXPECT_EQ(f.drain(), Strings{"disconnect 1005 "});
}

TEST(WsSession, WaitingAppIsToldOfTheDisconnectAfterOnEnd) {
  Fixture f;
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  std::string got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent e;
    ASSERT_TRUE(s.receive(e));
    got = describe(e);
  };
  f.feed(client_frame(0x88, close_payload(1001, "")));
  EXPECT_EQ(f.handler.log, (Strings{"end 1001 ", "ready"}));
  EXPECT_EQ(got, "disconnect 1001 ");
}

TEST(WsSession, BytesAfterThePeersCloseAreIgnored) {
  Fixture f;
  f.feed(client_frame(0x88, close_payload(1000, "")) + text("too late") + client_frame(0x89, "x"));
  EXPECT_EQ(f.output(), server_close(1000, ""));
  f.feed(text("later still"));
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.drain(), Strings{"disconnect 1000 "});
}

TEST(WsSession, AppCloseWaitsForThePeersClose) {
  Fixture f;
  EXPECT_EQ(f.session.send_close(4001, "done"), SendResult::kOk);
  EXPECT_EQ(f.output(), server_close(4001, "done"));
  EXPECT_FALSE(f.session.wants_close());
  EXPECT_EQ(f.session.next_deadline(), 2000u);
  // Data the peer sent before seeing our Close is dropped; so are our own sends.
  f.feed(text("crossing") + client_frame(0x89, ""));
  EXPECT_EQ(f.session.send_text("more"), SendResult::kClosed);
  EXPECT_EQ(f.output(), "");  // no pong after our Close either
  f.feed(client_frame(0x88, close_payload(4001, "")));
  EXPECT_EQ(f.output(), "");  // our Close went out already: no echo
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), Strings{"disconnect 4001 "});
}

TEST(WsSession, AppCloseWithoutAnswerTimesOut) {
  Fixture f;
  ASSERT_EQ(f.session.send_close(), SendResult::kOk);
  EXPECT_EQ(f.output(), server_close(1000, ""));
  f.transport.now = 1999;
  f.session.on_timer(1999);
  EXPECT_FALSE(f.session.wants_close());
  f.session.on_timer(2000);
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), Strings{"disconnect 1006 client_timeout"});
}

TEST(WsSession, AppCloseChecksCodeAndReason) {
  Fixture f;
  for (uint16_t bad : {0, 999, 1004, 1005, 1006, 1012, 1015, 2999, 5000}) {
    EXPECT_EQ(f.session.send_close(bad, ""), SendResult::kInvalid) << bad;
  }
  EXPECT_EQ(f.session.error(), "websocket.close: code must be 1000-1003, 1007-1011 or 3000-4999");
  EXPECT_EQ(f.session.send_close(1000, "\xFF"), SendResult::kInvalid);
  EXPECT_EQ(f.output(), "");
  // A long reason is cut to 123 bytes without splitting a character.
  std::string reason(102, 'y');
  for (int i = 0; i < 20; ++i) reason += "\xC3\xA9";  // byte 123 continues a character
  ASSERT_EQ(f.session.send_close(1000, reason), SendResult::kOk);
  std::string out = f.output();
  ASSERT_EQ(out.size(), 2u + 2 + 122);
  EXPECT_EQ(uint8_t(out[1]), 124);
  EXPECT_EQ(out.substr(4), reason.substr(0, 122));
  EXPECT_EQ(f.session.send_close(1000, ""), SendResult::kClosed);  // once only
}

TEST(WsSession, AppReturningWithoutCloseSends1000) {
  Fixture f;
  f.session.finish();
  EXPECT_EQ(f.output(), server_close(1000, ""));
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_GT(f.transport.scheduled, 0);
  EXPECT_TRUE(f.handler.log.empty());  // never from inside the app's call
  f.session.on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end 1000 "});
}

TEST(WsSession, AppFailingSends1011) {
  Fixture f;
  f.session.finish(true, "boom");
  EXPECT_EQ(f.output(), server_close(1011, "Internal Error"));
  f.session.on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end 1011 server_error"});
}

TEST(WsSession, AppReturningAfterItsCloseDoesNotWaitForThePeer) {
  Fixture f;
  ASSERT_EQ(f.session.send_close(3000, "bye"), SendResult::kOk);
  f.session.finish();
  EXPECT_EQ(f.output(), server_close(3000, "bye"));
  EXPECT_TRUE(f.session.wants_close());
  f.session.on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end 3000 "});
}

TEST(WsSession, AppFinishingInsideTheCallbackStopsTheRead) {
  Fixture f;
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  f.handler.ready = [&](Session& s) {
    ReceiveEvent e;
    ASSERT_TRUE(s.receive(e));
    s.finish();
  };
  f.feed(text("first") + text("second") + client_frame(0x89, ""));
  EXPECT_EQ(f.output(), server_close(1000, ""));
  EXPECT_EQ(f.handler.log, (Strings{"ready", "end 1000 "}));
  EXPECT_EQ(f.session.queued_messages(), 0u);
}

// --- failures ---------------------------------------------------------------------------------

struct ProtocolCase {
  const char* name;
  std::string input;
  uint16_t code;
  const char* reason;
};

TEST(WsSession, ProtocolErrorsCloseWithTheirCodeAndReportProtocolError) {
  SessionConfig small;
  small.max_frame_size = 100;
  small.max_message_size = 150;
  std::vector<ProtocolCase> cases = {
      {"reserved opcode", client_frame(0x83, "x"), 1002, "Reserved opcode"},
      {"rsv bits", client_frame(0xC1, "x"), 1002, "RSV bits must be 0"},
      {"unmasked", std::string("\x81\x01x", 3), 1002, "Client frames must be masked"},
      {"fragmented ping", client_frame(0x09, ""), 1002, "Control frame must not be fragmented"},
      {"stray continuation", client_frame(0x80, "x"), 1002, "Unexpected continuation frame"},
      {"close of one byte", client_frame(0x88, "\x03"), 1002, "Close frame payload of 1 byte"},
      {"invalid close code", client_frame(0x88, close_payload(1005, "")), 1002,
       "Invalid close code"},
      {"bad close reason", client_frame(0x88, close_payload(1000, "\xFF")), 1007,
       "Invalid UTF-8 in close reason"},
      {"bad text", text("\xED\xA0\x80"), 1007, "Invalid UTF-8"},
      {"frame too large", text(std::string(101, 'a')), 1009, "Frame too large"},
      {"message too large",
       client_frame(0x01, std::string(100, 'a')) + client_frame(0x80, std::string(51, 'a')), 1009,
       "Message too big"},
  };
  for (const ProtocolCase& c : cases) {
    Fixture f(small);
    f.feed(c.input);
    EXPECT_EQ(f.output(), server_close(c.code, c.reason)) << c.name;
    EXPECT_TRUE(f.session.wants_close()) << c.name;
    EXPECT_EQ(f.drain(), Strings{"disconnect " + std::to_string(c.code) + " protocol_error"})
        << c.name;
    EXPECT_EQ(f.handler.log, Strings{"end " + std::to_string(c.code) + " protocol_error"})
        << c.name;
    EXPECT_EQ(f.session.next_deadline(), kNoDeadline) << c.name;
  }
}

TEST(WsSession, PeerFinWithoutCloseIs1006ClientClosed) {
  Fixture f;
  f.feed(text("hi"));
  f.session.on_input_eof();
  EXPECT_EQ(f.output(), "");
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), (Strings{"text hi", "disconnect 1006 client_closed"}));
}

TEST(WsSession, TransportErrorDropsOutputAndReportsItsReason) {
  Fixture f;
  ASSERT_EQ(f.session.send_text("unsent"), SendResult::kOk);
  f.session.on_transport_error("write_error");
  EXPECT_EQ(f.out.size(), 0u);
  EXPECT_EQ(f.session.buffered_amount(), 0u);
  EXPECT_EQ(f.session.send_text("x"), SendResult::kClosed);
  EXPECT_EQ(f.drain(), Strings{"disconnect 1006 write_error"});
}

TEST(WsSession, QueueOverflowAtTheLimitCloses1008) {
  SessionConfig c;
  c.max_receive_queue = 3;
  Fixture f(c);
  f.feed(text("1") + text("2") + text("3"));
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.session.queued_messages(), 3u);
  f.feed(text("4"));
  EXPECT_EQ(f.output(), server_close(1008, "Message queue overflow"));
  EXPECT_TRUE(f.session.wants_close());
  // What was queued still reaches the app, then the disconnect.
  EXPECT_EQ(f.drain(), (Strings{"text 1", "text 2", "text 3", "disconnect 1008 queue_overflow"}));
}

TEST(WsSession, ReceivingMakesRoomBelowTheLimit) {
  SessionConfig c;
  c.max_receive_queue = 2;
  Fixture f(c);
  f.feed(text("1") + text("2"));
  ReceiveEvent ev;
  ASSERT_TRUE(f.session.receive(ev));
  f.feed(text("3"));
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.drain(), (Strings{"text 2", "text 3"}));
}

TEST(WsSession, ReadingPausesOnQueuedBytesAndResumesBelowHalf) {
  SessionConfig c;
  c.receive_pause_bytes = 100;
  Fixture f(c);
  std::string m(40, 'm');
  f.feed(text(m) + text(m));
  EXPECT_TRUE(f.transport.reading);
  f.feed(text(m));  // 120 bytes queued
  EXPECT_FALSE(f.transport.reading);
  ReceiveEvent ev;
  ASSERT_TRUE(f.session.receive(ev));  // 80 left: not below 50 yet
  f.session.on_scheduled();
  EXPECT_FALSE(f.transport.reading);
  ASSERT_TRUE(f.session.receive(ev));  // 40 left
  EXPECT_GT(f.transport.scheduled, 0);
  f.session.on_scheduled();
  EXPECT_TRUE(f.transport.reading);
}

TEST(WsSession, ManyMessagesThroughTheQueueKeepItCompact) {
  Fixture f;
  for (int round = 0; round < 50; ++round) {
    std::string in;
    for (int i = 0; i < 7; ++i) in += text(std::to_string(round * 7 + i));
    f.feed(in);
    ReceiveEvent ev;
    for (int i = 0; i < 5; ++i) {  // the app lags behind, then catches up
      ASSERT_TRUE(f.session.receive(ev));
    }
  }
  EXPECT_EQ(f.session.queued_messages(), 100u);
  std::vector<std::string> rest = f.drain();
  ASSERT_EQ(rest.size(), 100u);
  EXPECT_EQ(rest.front(), "text 250");
  EXPECT_EQ(rest.back(), "text 349");
}

// --- timers -----------------------------------------------------------------------------------

TEST(WsSession, NoTimersByDefault) {
  Fixture f;
  EXPECT_EQ(f.session.next_deadline(), kNoDeadline);
}

TEST(WsSession, KeepalivePingsAndAPongClearsTheTimeout) {
  Fixture f;
  f.transport.now = 100;
  f.session.keepalive(1000, 500);
  EXPECT_GT(f.transport.scheduled, 0);
  EXPECT_EQ(f.session.next_deadline(), 1100u);
  f.transport.now = 1100;
  f.session.on_timer(1100);
  EXPECT_EQ(f.output(), std::string("\x89\x00", 2));
  EXPECT_EQ(f.session.next_deadline(), 1600u);  // the pong is due
  f.transport.now = 1300;
  f.feed(client_frame(0x8A, ""));
  EXPECT_EQ(f.session.next_deadline(), 2100u);  // the next ping
  f.transport.now = 2100;
  f.session.on_timer(2100);
  EXPECT_EQ(f.output(), std::string("\x89\x00", 2));
  EXPECT_FALSE(f.session.wants_close());
  EXPECT_TRUE(f.handler.log.empty());
}

TEST(WsSession, KeepaliveWithoutPongIs1006KeepaliveTimeout) {
  Fixture f;
  f.session.keepalive(1000, 500);
  f.transport.now = 1000;
  f.session.on_timer(1000);
  EXPECT_EQ(f.output(), std::string("\x89\x00", 2));
  f.transport.now = 1499;
  f.session.on_timer(1499);
  EXPECT_FALSE(f.session.wants_close());
  f.transport.now = 1500;
  f.session.on_timer(1500);
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.output(), "");  // an unresponsive peer gets no Close
  EXPECT_EQ(f.drain(), Strings{"disconnect 1006 keepalive_timeout"});
}

TEST(WsSession, KeepaliveTimeoutLongerThanTheIntervalCountsFromTheFirstUnansweredPing) {
  Fixture f;
  f.session.keepalive(100, 250);
  for (uint64_t t = 100; t <= 300; t += 100) {
    f.transport.now = t;
    f.session.on_timer(t);
  }
  EXPECT_EQ(f.output(), std::string("\x89\x00\x89\x00\x89\x00", 6));
  EXPECT_EQ(f.session.next_deadline(), 350u);
  f.transport.now = 350;
  f.session.on_timer(350);
  EXPECT_EQ(f.drain(), Strings{"disconnect 1006 keepalive_timeout"});
}

TEST(WsSession, KeepaliveZeroStopsPinging) {
  Fixture f;
  f.session.keepalive(1000, 500);
  f.session.keepalive(0, 0);
  EXPECT_EQ(f.session.next_deadline(), kNoDeadline);
  f.session.on_timer(5000);
  EXPECT_EQ(f.output(), "");
}

TEST(WsSession, IdleTimeoutIsResetByTrafficBothWays) {
  SessionConfig c;
  c.idle_timeout_ms = 5000;
  Fixture f(c);
  EXPECT_EQ(f.session.next_deadline(), 5000u);
  f.transport.now = 3000;
  f.feed(text("hi"));
  f.transport.now = 5000;
  f.session.on_timer(5000);  // the old deadline: nothing to do yet
  EXPECT_FALSE(f.session.wants_close());
  EXPECT_EQ(f.session.next_deadline(), 8000u);
  f.transport.now = 6000;
  ASSERT_EQ(f.session.send_text("yo"), SendResult::kOk);
  EXPECT_EQ(f.session.next_deadline(), 11000u);
  f.output();
  f.transport.now = 11000;
  f.session.on_timer(11000);
  EXPECT_EQ(f.output(), server_close(1001, "Idle timeout"));
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), (Strings{"text hi", "disconnect 1001 idle_timeout"}));
}

// --- shutdown ---------------------------------------------------------------------------------

TEST(WsSession, ShutdownSendsGoingAway) {
  Fixture f;
  f.session.begin_shutdown();
  EXPECT_EQ(f.output(), server_close(1001, "Server shutting down"));
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), Strings{"disconnect 1001 server_shutdown"});
}

TEST(WsSession, ShutdownWhileTheAppsCloseAwaitsItsAnswer) {
  Fixture f;
  ASSERT_EQ(f.session.send_close(1000, "bye"), SendResult::kOk);
  f.session.begin_shutdown();
  EXPECT_EQ(f.output(), server_close(1000, "bye"));  // one Close only
  EXPECT_TRUE(f.session.wants_close());
  EXPECT_EQ(f.drain(), Strings{"disconnect 1001 server_shutdown"});
  f.session.begin_shutdown();
  EXPECT_EQ(f.handler.log, Strings{"end 1001 server_shutdown"});
}

TEST(WsSession, ShutdownCanDropLikeTheReference) {
  SessionConfig c;
  c.close_frame_on_shutdown = false;
  Fixture f(c);
  f.session.begin_shutdown();
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.drain(), Strings{"disconnect 1006 server_shutdown"});
}

// --- sending ----------------------------------------------------------------------------------

TEST(WsSession, SendFrames) {
  Fixture f;
  EXPECT_EQ(f.session.send_text("hi"), SendResult::kOk);
  EXPECT_EQ(f.session.send_bytes(std::string("\x00\x01", 2)), SendResult::kOk);
  EXPECT_EQ(f.output(), server_frame(0x81, "hi") + server_frame(0x82, std::string("\x00\x01", 2)));
  std::string big(300, 'z');
  ASSERT_EQ(f.session.send_text(big), SendResult::kOk);
  EXPECT_EQ(f.output(), std::string("\x81\x7E\x01\x2C", 4) + big);
  EXPECT_GE(f.transport.flushes, 3);
}

TEST(WsSession, SendTextMustBeUtf8) {
  Fixture f;
  EXPECT_EQ(f.session.send_text("\xC3("), SendResult::kInvalid);
  EXPECT_EQ(f.session.error(), "websocket.send: text is not valid UTF-8");
  EXPECT_EQ(f.session.send_bytes("\xC3("), SendResult::kOk);  // bytes are bytes
}

TEST(WsSession, SendsAfterTheConnectionClosedAreNoOps) {
  Fixture f;
  f.feed(client_frame(0x88, close_payload(1000, "")));
  f.output();
  EXPECT_EQ(f.session.send_text("x"), SendResult::kClosed);
  EXPECT_EQ(f.session.send_bytes("x"), SendResult::kClosed);
  EXPECT_EQ(f.session.send_close(1000, ""), SendResult::kClosed);
  EXPECT_EQ(f.output(), "");
}

TEST(WsSession, WatermarksBlockAndDrain) {
  SessionConfig c;
  c.high_watermark = 100;
  c.low_watermark = 50;
  Fixture f(c);
  EXPECT_EQ(f.session.send_bytes(std::string(60, 'a')), SendResult::kOk);  // 62 buffered
  EXPECT_EQ(f.session.send_bytes(std::string(60, 'a')), SendResult::kBlocked);
  EXPECT_EQ(f.session.buffered_amount(), 124u);
  EXPECT_EQ(f.session.high_watermark(), 100u);
  f.session.on_sent(70);  // 54 left
  EXPECT_TRUE(f.handler.log.empty());
  f.session.on_sent(10);  // 44 left
  EXPECT_EQ(f.handler.log, Strings{"writable"});
  f.session.on_sent(44);
  EXPECT_EQ(f.handler.log, Strings{"writable"});  // once per kBlocked
}

// --- permessage-deflate -----------------------------------------------------------------------

TEST(WsSession, CompressedRoundTrip) {
  DeflateParams params;
  Fixture f(SessionConfig{}, &params);
  ASSERT_TRUE(f.session.deflate_enabled());
  // The client compresses with its own context (our Inflater's counterpart)...
  Deflater client_deflater(params);
  Inflater client_inflater(params);
  std::string message;
  for (int i = 0; i < 20; ++i) message += "compress me please ";
  for (int round = 0; round < 2; ++round) {  // twice: context takeover on both sides
    std::string compressed;
    ASSERT_TRUE(client_deflater.compress(message, compressed));
    f.feed(client_frame(0xC1, compressed));
    EXPECT_EQ(f.drain(), Strings{"text " + message});
    // ...and the app's answer goes out compressed (RSV1), readable by the client.
    ASSERT_EQ(f.session.send_text(message), SendResult::kOk);
    std::string out = f.output();
    ASSERT_GE(out.size(), 2u);
    EXPECT_EQ(uint8_t(out[0]), 0xC1);
    size_t len = uint8_t(out[1]);
    ASSERT_LT(len, 126u);
    EXPECT_LT(len, message.size());
    std::string plain;
    ASSERT_EQ(client_inflater.inflate(out.substr(2), true, plain, 1 << 20), InflateStatus::kOk);
    EXPECT_EQ(plain, message);
  }
}

TEST(WsSession, CompressedMessageReachesAWaitingApp) {
  DeflateParams params;
  params.client_no_context_takeover = true;
  params.server_no_context_takeover = true;
  Fixture f(SessionConfig{}, &params);
  ReceiveEvent ev;
  ASSERT_FALSE(f.session.receive(ev));
  std::string got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent e;
    ASSERT_TRUE(s.receive(e));
    got = describe(e);
  };
  Deflater client_deflater(params);
  std::string compressed;
  ASSERT_TRUE(client_deflater.compress("Hello", compressed));
  // Split over two frames and two reads: inflated piece by piece.
  std::string input =
      client_frame(0x41, compressed.substr(0, 3)) + client_frame(0x80, compressed.substr(3));
  f.feed(input.substr(0, 5));
  f.feed(input.substr(5));
  EXPECT_EQ(got, "text Hello");
}

TEST(WsSession, ShortMessagesGoOutUncompressed) {
  DeflateParams params;
  Fixture f(SessionConfig{}, &params);
  ASSERT_EQ(f.session.send_text("tiny"), SendResult::kOk);
  EXPECT_EQ(f.output(), server_frame(0x81, "tiny"));
}

TEST(WsSession, CompressedMessageBeyondTheLimitIs1009) {
  DeflateParams params;
  SessionConfig c;
  c.max_message_size = 1000;
  Fixture f(c, &params);
  Deflater client_deflater(params);
  std::string compressed;
  ASSERT_TRUE(client_deflater.compress(std::string(100000, '\0'), compressed));
  ASSERT_LT(compressed.size(), 1000u);
  f.feed(client_frame(0xC2, compressed));
  EXPECT_EQ(f.output(), server_close(1009, "Message too big"));
  EXPECT_EQ(f.drain(), Strings{"disconnect 1009 protocol_error"});
}

TEST(WsSession, CompressedFrameWithoutNegotiationIsAProtocolError) {
  Fixture f;
  f.feed(client_frame(0xC1, "x"));
  EXPECT_EQ(f.output(), server_close(1002, "RSV bits must be 0"));
}

}  // namespace
}  // namespace pagi::http::ws
