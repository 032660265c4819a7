// The SSE session driven without sockets: the exact head, one chunk per event, comment and
// keepalive, the last chunk, the decline path and first-send-wins errors, timers, disconnect
// reasons, and sse.request bodies (Content-Length and chunked, via the real request parser).
#include "http/sse_session.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/request_parser.h"

namespace pagi::http::sse {
namespace {

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

class ScriptHandler final : public SessionHandler {
 public:
  std::function<void(Session&)> ready;
  std::vector<std::string> log;

  void on_receive_ready(Session& s) override {
    log.push_back("ready");
    if (ready) ready(s);
  }
  void on_writable(Session&) override { log.push_back("writable"); }
  void on_end(Session&, std::string_view reason) override {
    log.push_back("end " + std::string(reason.empty() ? "ok" : reason));
  }
};

std::string describe(const ReceiveEvent& ev) {
  switch (ev.type) {
    case ReceiveEvent::Type::kRequest:
      return "request " + std::string(ev.body) + (ev.more ? " more" : "");
    case ReceiveEvent::Type::kDisconnect: return "disconnect " + std::string(ev.reason);
    default: return "none";
  }
}

using Strings = std::vector<std::string>;

SessionConfig make_config() {
  SessionConfig c;
  c.server_header = "PAGI::Server/test";
  return c;
}

struct Fixture {
  explicit Fixture(RequestInfo request = RequestInfo{}, SessionConfig c = make_config())
      : config(std::move(c)), out(&pool) {
    config.date = &date;
    session = std::make_unique<Session>(config, transport, handler, out, request);
  }

  // What was written, with the Date value replaced by "D".
  std::string output() {
    std::string s;
    iovec iov[64];
    int n = out.gather(iov, 64, out.size());
    for (int i = 0; i < n; ++i) s.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    session->on_sent(s.size());
    // The server's Date (29 characters, IMF-fixdate) changes every second.
    for (size_t at = s.find("date: "); at != std::string::npos; at = s.find("date: ", at + 1)) {
      if (s.size() - at >= 6 + 29 + 2 && s.compare(at + 6 + 29, 2, "\r\n") == 0 &&
          s.compare(at + 6 + 25, 4, " GMT") == 0) {
        s.replace(at + 6, 29, "D");
      }
    }
    return s;
  }
  std::vector<std::string> drain() {
    std::vector<std::string> evs;
    ReceiveEvent ev;
    while (session->receive(ev)) {
      evs.push_back(describe(ev));
      if (ev.type == ReceiveEvent::Type::kDisconnect) break;
    }
    return evs;
  }
  void start() {
    ASSERT_EQ(session->start(200, {}), SendResult::kOk);
    output();
  }

  SessionConfig config;
  DateCache date;
  BlockPool pool;
  FakeTransport transport;
  ScriptHandler handler;
  OutputQueue out;
  std::unique_ptr<Session> session;
};

const std::string kHead =
    "HTTP/1.1 200 OK\r\n"
    "date: D\r\n"
    "Server: PAGI::Server/test\r\n"
    "content-type: text/event-stream\r\n"
    "cache-control: no-cache\r\n"
    "connection: keep-alive\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n";

Event ev(std::string_view data, std::string_view event = {}, std::string_view id = {},
         int64_t retry = -1) {
  Event e;
  e.data = data;
  e.event = event;
  e.id = id;
  e.retry = retry;
  return e;
}

// --- the stream -------------------------------------------------------------------------------

TEST(SseSession, StartWritesTheHeadAtOnce) {
  Fixture f;
  ASSERT_EQ(f.session->start(200, {}), SendResult::kOk);
  EXPECT_EQ(f.output(), kHead);
  EXPECT_TRUE(f.session->started());
  EXPECT_GT(f.transport.flushes, 0);
}

TEST(SseSession, AppHeadersComeFirstAndServerHeadersOnlyWhenMissing) {
  Fixture f;
  Header headers[] = {{"X-Stream", "1"},
                      {"Content-Type", "text/event-stream; charset=utf-8"},
                      {"cache-control", "no-store"},
                      {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                      {"transfer-encoding", "gzip"}};
  ASSERT_EQ(f.session->start(201, headers), SendResult::kOk);
  EXPECT_EQ(f.output(),
            "HTTP/1.1 201 Created\r\n"
            "X-Stream: 1\r\n"
            "Content-Type: text/event-stream; charset=utf-8\r\n"
            "cache-control: no-store\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
            "Server: PAGI::Server/test\r\n"
            "connection: keep-alive\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(SseSession, EachEventIsOneChunk) {
  Fixture f;
  f.start();
  ASSERT_EQ(f.session->send(ev("hello")), SendResult::kOk);
  EXPECT_EQ(f.output(), "d\r\ndata: hello\n\n\r\n");
  ASSERT_EQ(f.session->send(ev("payload", "update", "42", 3000)), SendResult::kOk);
  EXPECT_EQ(f.output(), "30\r\nevent: update\ndata: payload\nid: 42\nretry: 3000\n\n\r\n");
}

TEST(SseSession, DataIsSplitOnEveryKindOfLineBreak) {
  Fixture f;
  f.start();
  ASSERT_EQ(f.session->send(ev("a\nb\r\nc\rd")), SendResult::kOk);
  std::string body = "data: a\ndata: b\ndata: c\ndata: d\n\n";
  EXPECT_EQ(f.output(), "21\r\n" + body + "\r\n");
  ASSERT_EQ(body.size(), 0x21u);
  ASSERT_EQ(f.session->send(ev("")), SendResult::kOk);  // empty data: no data line
  EXPECT_EQ(f.output(), "1\r\n\n\r\n");
}

TEST(SseSession, CommentsAreChunks) {
  Fixture f;
  f.start();
  ASSERT_EQ(f.session->comment("note\n:already"), SendResult::kOk);
  EXPECT_EQ(f.output(), "10\r\n:note\n:already\n\n\r\n");
}

TEST(SseSession, StreamEventsBeforeStartAreIgnored) {
  Fixture f;
  EXPECT_EQ(f.session->send(ev("early")), SendResult::kOk);
  EXPECT_EQ(f.session->comment("early"), SendResult::kOk);
  EXPECT_EQ(f.output(), "");
}

TEST(SseSession, SecondStartIsIgnored) {
  Fixture f;
  f.start();
  EXPECT_EQ(f.session->start(500, {}), SendResult::kOk);
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.session->status(), 200);
}

TEST(SseSession, StartChecksStatusAndHeaders) {
  Fixture f;
  EXPECT_EQ(f.session->start(101, {}), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "sse.start: status must be an integer from 200 to 999");
  Header injected[] = {{"x-a", "1\r\nSet-Cookie: evil"}};
  EXPECT_EQ(f.session->start(200, injected), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "Invalid header value: contains CR, LF, or null byte");
  Header length[] = {{"content-length", "5"}};
  EXPECT_EQ(f.session->start(200, length), SendResult::kInvalid);
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.session->start(200, {}), SendResult::kOk);  // nothing was taken before
}

TEST(SseSession, EventFieldsAreChecked) {
  Fixture f;
  f.start();
  EXPECT_EQ(f.session->send(ev("x", "a\nb")), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "SSE event field must not contain CR or LF");
  EXPECT_EQ(f.session->send(ev("x", "", "1\r")), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "SSE id field must not contain CR or LF");
  EXPECT_EQ(f.session->send(ev("x", "", "", -2)), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "Invalid SSE retry: must be a non-negative integer");
  EXPECT_EQ(f.output(), "");
}

TEST(SseSession, CloseEndsTheStreamAndLaterSendsRaise) {
  Fixture f;
  f.start();
  ASSERT_EQ(f.session->close(), SendResult::kOk);
  EXPECT_EQ(f.output(), "0\r\n\r\n");
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.session->close(), SendResult::kOk);  // idempotent
  EXPECT_EQ(f.session->send(ev("x")), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "cannot send 'sse.send' after sse.close");
  EXPECT_EQ(f.session->comment("x"), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "cannot send 'sse.comment' after sse.close");
  EXPECT_EQ(f.session->keepalive(10, ""), SendResult::kInvalid);
  EXPECT_EQ(f.session->start(200, {}), SendResult::kInvalid);
  EXPECT_EQ(f.session->decline_start(204, {}), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "cannot send 'sse.http.response.start' after sse.close");
  EXPECT_EQ(f.output(), "");
  EXPECT_TRUE(f.handler.log.empty());  // told from the pump, not inside the call
  f.session->on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end ok"});
}

TEST(SseSession, AppReturningIsWireIdenticalToClose) {
  Fixture f;
  f.start();
  f.session->finish();
  EXPECT_EQ(f.output(), "0\r\n\r\n");
  EXPECT_TRUE(f.session->wants_close());
  f.session->on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end ok"});
}

TEST(SseSession, AppFailingAfterStartTruncatesTheStream) {
  Fixture f;
  f.start();
  f.session->finish(true, "boom");
  EXPECT_EQ(f.output(), "");  // no terminating chunk: the client sees the stream broke
  EXPECT_TRUE(f.session->wants_close());
  f.session->on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end server_error"});
}

TEST(SseSession, AppReturningOrFailingBeforeStartGets500) {
  for (bool failed : {false, true}) {
    Fixture f;
    f.session->finish(failed, "boom");
    EXPECT_EQ(f.output(),
              "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n"
              "content-length: 21\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
              "connection: close\r\n\r\nInternal Server Error");
    EXPECT_TRUE(f.session->wants_close());
    f.session->on_scheduled();
    EXPECT_EQ(f.handler.log, Strings{"end server_error"});
  }
}

TEST(SseSession, Http10StreamIsNotChunked) {
  RequestInfo r;
  r.http_minor = 0;
  Fixture f(r);
  ASSERT_EQ(f.session->start(200, {}), SendResult::kOk);
  EXPECT_EQ(f.output(),
            "HTTP/1.0 200 OK\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
            "content-type: text/event-stream\r\ncache-control: no-cache\r\n"
            "connection: close\r\n\r\n");
  ASSERT_EQ(f.session->send(ev("x")), SendResult::kOk);
  EXPECT_EQ(f.output(), "data: x\n\n");
  ASSERT_EQ(f.session->close(), SendResult::kOk);
  EXPECT_EQ(f.output(), "");
  EXPECT_TRUE(f.session->wants_close());
}

TEST(SseSession, HeadRequestGetsTheHeadOnly) {
  RequestInfo r;
  r.is_head = true;
  Fixture f(r);
  ASSERT_EQ(f.session->start(200, {}), SendResult::kOk);
  EXPECT_EQ(f.output(), kHead);
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.session->send(ev("x")), SendResult::kClosed);
  f.session->finish();
  EXPECT_EQ(f.output(), "");
}

// --- timers -----------------------------------------------------------------------------------

TEST(SseSession, KeepaliveWritesCommentsOnceStarted) {
  Fixture f;
  ASSERT_EQ(f.session->keepalive(1000, "ping"), SendResult::kOk);
  EXPECT_GT(f.transport.scheduled, 0);
  EXPECT_EQ(f.session->next_deadline(), 1000u);
  f.transport.now = 1000;
  f.session->on_timer(1000);  // not started: nothing yet
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.session->next_deadline(), 2000u);
  f.start();
  f.transport.now = 2000;
  f.session->on_timer(2000);
  EXPECT_EQ(f.output(), "7\r\n:ping\n\n\r\n");
  ASSERT_EQ(f.session->keepalive(500, ""), SendResult::kOk);  // last wins
  f.transport.now = 2500;
  f.session->on_timer(2500);
  EXPECT_EQ(f.output(), "3\r\n:\n\n\r\n");
  ASSERT_EQ(f.session->keepalive(0, ""), SendResult::kOk);
  EXPECT_EQ(f.session->next_deadline(), kNoDeadline);
}

TEST(SseSession, IdleTimeoutCountsAppSendsOnly) {
  SessionConfig c = make_config();
  c.idle_timeout_ms = 5000;
  Fixture f(RequestInfo{}, c);
  f.start();
  f.transport.now = 3000;
  ASSERT_EQ(f.session->keepalive(1000, ""), SendResult::kOk);
  ASSERT_EQ(f.session->send(ev("x")), SendResult::kOk);
  f.output();
  EXPECT_EQ(f.session->next_deadline(), 4000u);  // the next keepalive
  for (uint64_t t = 4000; t < 8000; t += 1000) {
    f.transport.now = t;
    f.session->on_timer(t);
  }
  EXPECT_EQ(f.output(), "3\r\n:\n\n\r\n3\r\n:\n\n\r\n3\r\n:\n\n\r\n3\r\n:\n\n\r\n");
  EXPECT_EQ(f.session->next_deadline(), 8000u);
  f.transport.now = 8000;
  f.session->on_timer(8000);
  EXPECT_EQ(f.output(), "0\r\n\r\n");
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.handler.log, Strings{"end idle_timeout"});
  EXPECT_EQ(f.drain(), (Strings{"request ", "disconnect idle_timeout"}));
}

// --- disconnects ------------------------------------------------------------------------------

TEST(SseSession, ClientGoneMakesSendsNoOps) {
  Fixture f;
  f.start();
  f.session->on_input_eof();
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.session->send(ev("x")), SendResult::kClosed);
  EXPECT_EQ(f.session->close(), SendResult::kClosed);
  EXPECT_EQ(f.output(), "");
  EXPECT_EQ(f.handler.log, Strings{"end client_closed"});
  EXPECT_EQ(f.drain(), (Strings{"request ", "disconnect client_closed"}));
}

TEST(SseSession, WaitingAppIsToldOfTheDisconnect) {
  Fixture f;
  f.start();
  EXPECT_EQ(f.drain(), Strings{"request "});
  ReceiveEvent e;
  ASSERT_FALSE(f.session->receive(e));
  std::string got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent x;
    ASSERT_TRUE(s.receive(x));
    got = describe(x);
  };
  f.session->on_transport_error("write_error");
  EXPECT_EQ(f.handler.log, (Strings{"end write_error", "ready"}));
  EXPECT_EQ(got, "disconnect write_error");
}

TEST(SseSession, ShutdownEndsTheStream) {
  Fixture f;
  f.start();
  f.session->begin_shutdown();
  EXPECT_EQ(f.output(), "0\r\n\r\n");
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.handler.log, Strings{"end server_shutdown"});
  EXPECT_EQ(f.session->send(ev("x")), SendResult::kClosed);
}

TEST(SseSession, TransportErrorDropsOutput) {
  Fixture f;
  ASSERT_EQ(f.session->start(200, {}), SendResult::kOk);
  f.session->on_transport_error("write_error");
  EXPECT_EQ(f.out.size(), 0u);
  EXPECT_EQ(f.session->buffered_amount(), 0u);
}

TEST(SseSession, WatermarksBlockAndDrain) {
  SessionConfig c = make_config();
  c.high_watermark = 300;
  c.low_watermark = 100;
  Fixture f(RequestInfo{}, c);
  f.start();
  std::string data(300, 'd');
  EXPECT_EQ(f.session->send(ev(data)), SendResult::kBlocked);
  EXPECT_GE(f.session->buffered_amount(), 300u);
  f.session->on_sent(f.out.size() - 200);
  EXPECT_TRUE(f.handler.log.empty());
  f.session->on_sent(150);
  EXPECT_EQ(f.handler.log, Strings{"writable"});
}

// --- decline ----------------------------------------------------------------------------------

TEST(SseSession, DeclineSendsANormalResponseAndCloses) {
  Fixture f;
  Header h[] = {{"content-type", "text/plain"}};
  ASSERT_EQ(f.session->decline_start(503, h), SendResult::kOk);
  ASSERT_EQ(f.session->decline_body("try ", true), SendResult::kOk);
  EXPECT_EQ(f.output(), "");  // buffered until the last body
  ASSERT_EQ(f.session->decline_body("later", false), SendResult::kOk);
  EXPECT_EQ(f.output(),
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
            "date: D\r\nServer: PAGI::Server/test\r\ncontent-length: 9\r\n"
            "connection: close\r\n\r\ntry later");
  EXPECT_TRUE(f.session->wants_close());
  EXPECT_EQ(f.session->decline_body("more", false), SendResult::kClosed);
  f.session->finish();
  EXPECT_EQ(f.output(), "");
  f.session->on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end ok"});
}

TEST(SseSession, Decline204HasNoBodyOrLength) {
  Fixture f;
  ASSERT_EQ(f.session->decline_start(204, {}), SendResult::kOk);
  ASSERT_EQ(f.session->decline_body("", false), SendResult::kOk);
  EXPECT_EQ(f.output(),
            "HTTP/1.1 204 No Content\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
            "connection: close\r\n\r\n");
}

TEST(SseSession, DeclinedHeadRequestGetsTheLengthWithoutTheBody) {
  RequestInfo r;
  r.is_head = true;
  Fixture f(r);
  ASSERT_EQ(f.session->decline_start(200, {}), SendResult::kOk);
  ASSERT_EQ(f.session->decline_body("abc", false), SendResult::kOk);
  EXPECT_EQ(f.output(),
            "HTTP/1.1 200 OK\r\ndate: D\r\nServer: PAGI::Server/test\r\ncontent-length: 3\r\n"
            "connection: close\r\n\r\n");
}

TEST(SseSession, FirstSendWins) {
  {
    Fixture f;  // a decline after the stream started raises
    f.start();
    EXPECT_EQ(f.session->decline_start(204, {}), SendResult::kInvalid);
    EXPECT_EQ(f.session->error(), "cannot decline with sse.http.response.start after sse.start");
    EXPECT_EQ(f.session->decline_body("x", false), SendResult::kOk);  // no decline: ignored
    EXPECT_EQ(f.output(), "");
  }
  {
    Fixture f;  // stream events after a decline start raise
    ASSERT_EQ(f.session->decline_start(204, {}), SendResult::kOk);
    EXPECT_EQ(f.session->start(200, {}), SendResult::kInvalid);
    EXPECT_EQ(f.session->error(), "cannot send 'sse.start' after sse.http.response.start");
    EXPECT_EQ(f.session->send(ev("x")), SendResult::kInvalid);
    EXPECT_EQ(f.session->error(), "cannot send 'sse.send' after sse.http.response.start");
    EXPECT_EQ(f.session->keepalive(1, ""), SendResult::kInvalid);
    EXPECT_EQ(f.session->close(), SendResult::kInvalid);
    EXPECT_EQ(f.session->error(), "cannot send 'sse.close' after sse.http.response.start");
    EXPECT_EQ(f.session->decline_start(500, {}), SendResult::kOk);  // the first one stays
    ASSERT_EQ(f.session->decline_body("", false), SendResult::kOk);
    EXPECT_EQ(f.output().substr(0, 24), "HTTP/1.1 204 No Content\r");
  }
}

TEST(SseSession, DeclineChecksHeaders) {
  Fixture f;
  Header bad[] = {{"x\r\n", "1"}};
  EXPECT_EQ(f.session->decline_start(403, bad), SendResult::kInvalid);
  EXPECT_EQ(f.session->error(), "Invalid header name: contains CR, LF, or null byte");
  EXPECT_EQ(f.session->start(200, {}), SendResult::kOk);  // the refused decline took nothing
}

TEST(SseSession, DeclineLeftWithoutBodyIsCompletedEmptyWhenTheAppReturns) {
  Fixture f;
  ASSERT_EQ(f.session->decline_start(403, {}), SendResult::kOk);
  f.session->finish();
  EXPECT_EQ(f.output(),
            "HTTP/1.1 403 Forbidden\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
            "content-length: 0\r\nconnection: close\r\n\r\n");
}

TEST(SseSession, DeclineLeftHalfWayBecomesA500) {
  Fixture f;
  ASSERT_EQ(f.session->decline_start(403, {}), SendResult::kOk);
  ASSERT_EQ(f.session->decline_body("part", true), SendResult::kOk);
  f.session->finish();
  EXPECT_EQ(f.output().substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
  f.session->on_scheduled();
  EXPECT_EQ(f.handler.log, Strings{"end server_error"});
}

// --- sse.request ------------------------------------------------------------------------------

TEST(SseSession, BodilessRequestGivesOneEmptyEvent) {
  Fixture f;
  EXPECT_EQ(f.drain(), Strings{"request "});
  ReceiveEvent e;
  EXPECT_FALSE(f.session->receive(e));  // then only the disconnect, when it comes
  f.session->on_input_eof();
  EXPECT_EQ(f.handler.log, (Strings{"end client_closed", "ready"}));
  EXPECT_EQ(f.drain(), Strings{"disconnect client_closed"});
}

// Feeds a whole request through the real request parser, forwarding its body to the session
// as the connection will.
class BodyForwarder final : public ParserHandler {
 public:
  Action on_head(RequestHead& head) override {
    RequestInfo r;
    r.http_minor = head.version_minor();
    r.has_body = head.has_body();
    fixture = std::make_unique<Fixture>(r);
    return Action::kContinue;
  }
  Action on_body(std::string_view chunk) override {
    return fixture->session->on_body(chunk) ? Action::kContinue : Action::kPause;
  }
  Action on_message_complete() override {
    fixture->session->on_body_end();
    return Action::kContinue;
  }
  std::unique_ptr<Fixture> fixture;
};

std::vector<std::string> body_events(std::string_view request, size_t split) {
  RequestParser parser{Limits{}};
  RequestHead head;
  parser.set_head(&head);
  BodyForwarder fw;
  std::vector<std::string> events;
  auto take = [&] {
    ReceiveEvent e;
    while (fw.fixture && fw.fixture->session->receive(e)) {
      events.push_back(describe(e));
      if (!e.more) break;
    }
  };
  EXPECT_EQ(parser.feed(request.substr(0, split), fw).status, ParseStatus::kOk);
  take();
  EXPECT_EQ(parser.feed(request.substr(split), fw).status, ParseStatus::kOk);
  take();
  return events;
}

TEST(SseSession, ContentLengthBody) {
  std::string req =
      "POST /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
      "Content-Length: 11\r\n\r\nhello world";
  EXPECT_EQ(body_events(req, req.size() - 5), (Strings{"request hello  more", "request world"}));
  EXPECT_EQ(body_events(req, req.size()), (Strings{"request hello world"}));
}

TEST(SseSession, ChunkedBody) {
  std::string req =
      "POST /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n";
  size_t first_chunk_end = req.find("5\r\nworld");
  EXPECT_EQ(body_events(req, first_chunk_end), (Strings{"request hello  more", "request world"}));
  EXPECT_EQ(body_events(req, req.size()), (Strings{"request hello world"}));
}

TEST(SseSession, BodyBeyondTheQueueLimitPausesFeeding) {
  RequestInfo r;
  r.has_body = true;
  SessionConfig c = make_config();
  c.body_queue_limit = 8;
  Fixture f(r, c);
  EXPECT_TRUE(f.session->on_body("1234"));
  EXPECT_FALSE(f.session->on_body("5678"));
  f.transport.reading = false;  // the connection paused its parser
  EXPECT_EQ(f.drain(), Strings{"request 12345678 more"});
  EXPECT_GT(f.transport.scheduled, 0);
  f.session->on_scheduled();
  EXPECT_TRUE(f.transport.reading);
  EXPECT_TRUE(f.session->on_body("9"));
  f.session->on_body_end();
  EXPECT_EQ(f.drain(), Strings{"request 9"});
}

TEST(SseSession, WaitingAppIsToldOfBody) {
  RequestInfo r;
  r.has_body = true;
  Fixture f(r);
  ReceiveEvent e;
  ASSERT_FALSE(f.session->receive(e));
  std::vector<std::string> got;
  f.handler.ready = [&](Session& s) {
    ReceiveEvent x;
    while (s.receive(x)) {
      got.push_back(describe(x));
      if (!x.more) break;
    }
  };
  f.session->on_body("abc");
  f.session->on_body_end();
  EXPECT_EQ(got, (Strings{"request abc more", "request "}));
}

TEST(SseSession, ClientLeavingMidBodyGivesWhatCameThenTheDisconnect) {
  RequestInfo r;
  r.has_body = true;
  Fixture f(r);
  f.session->on_body("par");
  f.session->on_input_eof();
  EXPECT_EQ(f.drain(), (Strings{"request par more", "disconnect client_closed"}));
}

}  // namespace
}  // namespace pagi::http::sse
