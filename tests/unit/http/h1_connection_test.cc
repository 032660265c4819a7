// The HTTP/1 connection state machine driven without sockets: bytes in, bytes out, with
// scripted apps standing in for native and async (Perl-like) apps.
#include "http/h1_connection.h"

#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "apps/builtin.h"
#include "h1_harness.h"

namespace pagi::http {
namespace {

// An app whose behaviour each test scripts with lambdas.
class ScriptApp final : public App {
 public:
  std::function<void(Exchange&)> request;
  std::function<void(Exchange&)> receive_ready;
  std::function<void(Exchange&)> writable;
  std::vector<Exchange*> exchanges;
  std::vector<std::string> paths;
  std::vector<std::string> ends;  // on_end: "reason started complete", "" reason shown as "ok"

  void on_request(Exchange& ex) override {
    exchanges.push_back(&ex);
    paths.emplace_back(ex.scope().path);
    if (request) request(ex);
  }
  void on_receive_ready(Exchange& ex) override {
    if (receive_ready) receive_ready(ex);
  }
  void on_writable(Exchange& ex) override {
    if (writable) writable(ex);
  }
  void on_end(Exchange&, const ExchangeEnd& end) override {
    ends.push_back((end.reason.empty() ? std::string("ok") : std::string(end.reason)) + " " +
                   (end.response_started ? "1" : "0") + " " +
                   (end.response_complete ? "1" : "0"));
  }
};

class H1Test : public H1Harness {
 protected:
  H1Test() : H1Harness("PAGI::Server/test") {}

  // Takes everything sendable, as the socket would.
  std::string wire() {
    turn();
    std::string s;
    iovec iov[64];
    for (;;) {
      size_t limit = conn->sendable();
      if (limit == 0) break;
      int n = conn->output().gather(iov, 64, limit);
      size_t got = 0;
      for (int i = 0; i < n; ++i) {
        s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
        got += iov[i].iov_len;
      }
      conn->on_sent(got);
      turn();
    }
    // The Date changes every second: make it stable for comparisons.
    return std::regex_replace(s, std::regex("date: [^\r]*\r\n"), "date: D\r\n");
  }

};

const std::string kHelloResponse =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
    "content-length: 13\r\n\r\nHello, World!";

TEST_F(H1Test, HelloAnswersWithContentLength) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(wire(), kHelloResponse);
  EXPECT_FALSE(c.wants_close());
  EXPECT_TRUE(c.idle());
  EXPECT_EQ(ctx.requests, 1u);
}

TEST_F(H1Test, PipelinedRequestsAreAnsweredInOrderInOneOutput) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    Header h[] = {{"content-type", "text/plain"}};
    ex.send_start(200, h);
    ex.send_body(ex.scope().path, false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  size_t a = out.find("\r\n\r\n/a"), b = out.find("\r\n\r\n/b"), cc = out.find("\r\n\r\n/c");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(cc, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, cc);
  EXPECT_EQ(app.paths, (std::vector<std::string>{"/a", "/b", "/c"}));
}

TEST_F(H1Test, AsyncAppHoldsBackTheNextPipelinedRequest) {
  ScriptApp app;
  auto& c = connect(&app);
  c.on_input("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  ASSERT_EQ(app.exchanges.size(), 1u);  // /2 waits for /1
  Exchange& ex = *app.exchanges[0];
  Header h[] = {{"content-length", "2"}};
  ex.send_start(200, h);
  ex.send_body("ok", false);
  EXPECT_EQ(app.exchanges.size(), 1u);  // still: the app has not finished
  ex.finish();
  turn();
  ASSERT_EQ(app.exchanges.size(), 2u);
  EXPECT_EQ(app.paths[1], "/2");
}

TEST_F(H1Test, HeadResponseHasLengthButNoBody) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(wire(),
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: D\r\nServer: PAGI::Server/test\r\n"
            "content-length: 13\r\n\r\n");
}

TEST_F(H1Test, ConnectionCloseIsHonouredAndAnnounced) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("connection: close\r\n"), std::string::npos);
  EXPECT_EQ(out.find("ignored"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
  EXPECT_EQ(ctx.requests, 1u);
}

TEST_F(H1Test, Http10KeepAliveOnlyWhenAsked) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("GET / HTTP/1.0\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out.substr(0, 17), "HTTP/1.0 200 OK\r\n");
  EXPECT_NE(out.find("connection: close"), std::string::npos);
  EXPECT_TRUE(c.wants_close());

  auto& c2 = connect(app.get());
  c2.on_input("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  out = wire();
  EXPECT_NE(out.find("connection: keep-alive\r\n"), std::string::npos);
  EXPECT_FALSE(c2.wants_close());
}

TEST_F(H1Test, Http10StreamingEndsWithTheClose) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(200, {});
    ex.send_body("a", true);
    ex.send_body("b", false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out.find("Transfer-Encoding"), std::string::npos);
  EXPECT_NE(out.find("connection: close\r\n\r\nab"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, StreamingUsesChunkedAndTrailers) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(200, {}, /*trailers=*/true);
    ex.send_body("part1", true);
    ex.send_body("part2", true);
    Header t[] = {{"x-done", "yes"}};
    ex.send_trailers(t);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n\r\n5\r\npart1\r\n5\r\npart2\r\n0\r\nx-done: yes"
                     "\r\n\r\n"),
            std::string::npos)
      << out;
  EXPECT_FALSE(c.wants_close());
}

TEST_F(H1Test, NoBodyFramingFor204And304) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(ex.scope().path == "/204" ? 204 : 304, {});
    ex.send_body("dropped", false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out,
            "HTTP/1.1 204 No Content\r\ndate: D\r\nServer: PAGI::Server/test\r\n\r\n"
            "HTTP/1.1 304 Not Modified\r\ndate: D\r\nServer: PAGI::Server/test\r\n\r\n");
}

TEST_F(H1Test, AppReturningWithoutResponseGets500AndClose) {
  ScriptApp app;
  app.request = [](Exchange& ex) { ex.finish(); };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out.substr(0, 36), "HTTP/1.1 500 Internal Server Error\r\n");
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, AppFailingAfterStartButBeforeBodyStillGets500) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    Header h[] = {{"x-never", "seen"}};
    ex.send_start(200, h);
    ex.finish(true);
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 500");
  EXPECT_EQ(out.find("x-never"), std::string::npos);
  EXPECT_EQ(ctx.app_errors, 1u);
}

TEST_F(H1Test, AppFailingMidBodyClosesWithoutA500) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(200, {});
    ex.send_body("partial", true);
    ex.finish(true);
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(out.find("500"), std::string::npos);
  EXPECT_EQ(out.find("0\r\n\r\n"), std::string::npos);  // no terminating chunk: truncated
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, HeaderInjectionFailsTheSendAndNeverReachesTheWire) {
  ScriptApp app;
  SendResult result = SendResult::kOk;
  app.request = [&](Exchange& ex) {
    Header h[] = {{"x-evil", "a\r\nSet-Cookie: pwned=1"}};
    result = ex.send_start(200, h);
    ex.finish(true);
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(result, SendResult::kInvalid);
  EXPECT_EQ(out.find("pwned"), std::string::npos);
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 500");
}

TEST_F(H1Test, AppContentLengthShortBodyClosesTheConnection) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    Header h[] = {{"content-length", "10"}};
    ex.send_start(200, h);
    ex.send_body("short", false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("\r\n\r\nshort"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, BadRequestGets400AndClose) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("GET / HTTP/1.1\r\n\r\n");  // no Host
  std::string out = wire();
  EXPECT_EQ(out.substr(0, 24), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(out.find("connection: close"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
  EXPECT_EQ(ctx.requests, 0u);
}

TEST_F(H1Test, EchoStreamsABodySplitAcrossReads) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  c.on_input("POST /e?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello");
  turn();
  c.on_input(" world");
  std::string out = wire();
  EXPECT_NE(out.find("content-length: 11\r\n"), std::string::npos);
  EXPECT_NE(out.find("x-echo-method: POST\r\n"), std::string::npos);
  EXPECT_NE(out.find("x-echo-query: q=1\r\n"), std::string::npos);
  EXPECT_NE(out.find("x-echo-client: 127.0.0.1:40000\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 11), "hello world");
  EXPECT_TRUE(c.idle());
}

TEST_F(H1Test, EchoOfAChunkedUploadIsChunked) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  c.on_input("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  turn();
  c.on_input("2\r\nde\r\n0\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(out.find("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), std::string::npos) << out;
}

TEST_F(H1Test, ExpectContinueIsAnsweredWhenTheAppFirstReads) {
  ScriptApp app;
  std::string got;
  app.request = [&](Exchange& ex) {
    Event ev;
    EXPECT_FALSE(ex.receive(ev));  // no body yet: 100 Continue goes out
  };
  app.receive_ready = [&](Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      got.append(ev.body);
      if (!ev.more) {
        ex.send_start(200, {});
        ex.send_body(got, false);
        ex.finish();
        return;
      }
    }
  };
  auto& c = connect(&app);
  c.on_input("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(wire(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.on_input("data");
  std::string out = wire();
  EXPECT_EQ(got, "data");
  EXPECT_EQ(out.substr(0, 15), "HTTP/1.1 200 OK");
}

TEST_F(H1Test, UnreadBodyIsSkippedBeforeTheNextRequest) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(200, {});
    ex.send_body(ex.scope().path, false);
    ex.finish();
  };
  auto& c = connect(&app);
  // The body is exactly the 24 bytes of a request line the app never reads.
  c.on_input("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 24\r\n\r\nGET /smuggled HTTP/1.1\r\n");
  c.on_input("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  wire();
  EXPECT_EQ(app.paths, (std::vector<std::string>{"/a", "/b"}));
}

TEST_F(H1Test, ReceiveReportsDisconnectWhenThePeerGoes) {
  ScriptApp app;
  bool disconnected = false;
  app.request = [](Exchange& ex) {
    Event ev;
    ASSERT_TRUE(ex.receive(ev));  // bodiless: one empty event
    EXPECT_EQ(ev.type, EventType::kHttpRequest);
    EXPECT_FALSE(ev.more);
    EXPECT_FALSE(ex.receive(ev));  // then waits
  };
  app.receive_ready = [&](Exchange& ex) {
    Event ev;
    ASSERT_TRUE(ex.receive(ev));
    disconnected = ev.type == EventType::kHttpDisconnect;
    EXPECT_EQ(ex.send_start(200, {}), SendResult::kClosed);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  c.on_transport_error();
  turn();
  EXPECT_TRUE(disconnected);
  EXPECT_FALSE(c.app_active());
}

TEST_F(H1Test, BigResponsesBlockTheAppUntilDrained) {
  ScriptApp app;
  std::vector<SendResult> results;
  int writable = 0;
  app.request = [&](Exchange& ex) {
    ex.send_start(200, {});
    results.push_back(ex.send_body(std::string(100000, 'x'), true));
  };
  app.writable = [&](Exchange& ex) {
    ++writable;
    ex.send_body("end", false);
    ex.finish();
  };
  ctx.high_watermark = 65536;
  ctx.low_watermark = 16384;
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0], SendResult::kBlocked);
  EXPECT_EQ(writable, 0);
  std::string out = wire();
  EXPECT_EQ(writable, 1);
  EXPECT_NE(out.find("3\r\nend\r\n0\r\n\r\n"), std::string::npos);
}

TEST_F(H1Test, UnreadUploadStopsReadingTheSocket) {
  ScriptApp app;  // never reads, never answers
  auto& c = connect(&app);
  c.on_input("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  std::string chunk(16384, 'b');
  for (int i = 0; i < 20 && transport.reading; ++i) c.on_input(chunk);
  EXPECT_FALSE(transport.reading);
  // Once the app reads, input flows again.
  Event ev;
  ASSERT_TRUE(app.exchanges[0]->receive(ev));
  EXPECT_TRUE(ev.more);
  EXPECT_GE(ev.body.size(), 65536u);
  turn();
  EXPECT_TRUE(transport.reading);
}

TEST_F(H1Test, RejectAtCapacitySendsTheRaw503) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.reject_at_capacity();
  EXPECT_EQ(wire(), std::string(capacity_response()));
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, ShutdownClosesAfterTheRequestInFlight) {
  ScriptApp app;
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  c.begin_shutdown();
  EXPECT_FALSE(c.wants_close());
  Exchange& ex = *app.exchanges[0];
  ex.send_start(200, {});
  ex.send_body("bye", false);
  ex.finish();
  std::string out = wire();
  EXPECT_NE(out.find("connection: close"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
}

TEST_F(H1Test, ScopeCarriesRequestData) {
  ScriptApp app;
  std::string method, raw_path, query, version;
  std::vector<std::pair<std::string, std::string>> headers;
  app.request = [&](Exchange& ex) {
    method = ex.scope().method;
    raw_path = ex.scope().raw_path;
    query = ex.scope().query_string;
    version = ex.scope().http_version;
    for (const Header& h : ex.scope().headers) headers.emplace_back(h.name, h.value);
    ex.send_start(200, {});
    ex.send_body("", false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /a%20b/%CE%BB?x=%20 HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n");
  wire();
  EXPECT_EQ(method, "GET");
  EXPECT_EQ(raw_path, "/a%20b/%CE%BB");
  EXPECT_EQ(query, "x=%20");
  EXPECT_EQ(version, "1.1");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"host", "h"}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"x-multi", "1"}));
  EXPECT_EQ(headers[2], (std::pair<std::string, std::string>{"x-multi", "2"}));
  EXPECT_EQ(app.paths[0], "/a b/\xCE\xBB");
}

// --- App::on_end and announce_body_length --------------------------------------------------

TEST_F(H1Test, CleanCompletionEndsOnceWithNoReason) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    EXPECT_FALSE(ex.response_started());
    ex.send_start(200, {});
    EXPECT_TRUE(ex.response_started());
    EXPECT_FALSE(ex.response_complete());
    ex.send_body("ok", false);
    EXPECT_TRUE(ex.response_complete());
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  wire();
  EXPECT_EQ(app.ends, (std::vector<std::string>{"ok 1 1", "ok 1 1"}));
}

TEST_F(H1Test, ClientLeavingMidRequestIsClientClosedBeforeTheDisconnectEvent) {
  ScriptApp app;
  std::vector<std::string> seen;
  app.request = [&](Exchange& ex) {
    Event ev;
    ASSERT_TRUE(ex.receive(ev));  // the empty body
    EXPECT_FALSE(ex.receive(ev));
  };
  app.receive_ready = [&](Exchange& ex) {
    Event ev;
    ASSERT_TRUE(ex.receive(ev));
    seen.push_back(app.ends.empty() ? "disconnect before on_end" : "disconnect after on_end");
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  c.on_input_eof();
  turn();
  EXPECT_EQ(app.ends, (std::vector<std::string>{"client_closed 0 0"}));
  EXPECT_EQ(seen, (std::vector<std::string>{"disconnect after on_end"}));
}

TEST_F(H1Test, FailureAndUnfinishedResponsesAreServerError) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    if (ex.scope().path == "/fail") {
      ex.send_start(200, {});
      ex.send_body("partial", true);
      ex.fail("boom");
    } else {
      ex.finish();  // no response at all: the 500 backstop
    }
  };
  auto& c = connect(&app);
  c.on_input("GET /none HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(wire().find("500 Internal Server Error"), std::string::npos);
  EXPECT_EQ(app.ends, (std::vector<std::string>{"server_error 1 1"}));
  auto& c2 = connect(&app);
  c2.on_input("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
  wire();
  EXPECT_TRUE(c2.wants_close());
  EXPECT_EQ(app.ends, (std::vector<std::string>{"server_error 1 1", "server_error 1 0"}));
}

TEST_F(H1Test, TransportErrorReasonReachesTheApp) {
  ScriptApp app;
  app.request = [](Exchange&) {};  // keeps the exchange
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  c.on_transport_error("server_shutdown");
  turn();
  EXPECT_EQ(app.ends, (std::vector<std::string>{"server_shutdown 0 0"}));
  app.exchanges[0]->finish();
  turn();
  EXPECT_EQ(app.ends.size(), 1u);
}

TEST_F(H1Test, AnnouncedBodyLengthGivesContentLengthOverSeveralSends) {
  ScriptApp app;
  app.request = [](Exchange& ex) {
    ex.send_start(200, {});
    ex.announce_body_length(6);
    ex.send_body("abc", true);
    ex.send_body("def", false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("content-length: 6\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("chunked"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 6), "abcdef");
  EXPECT_FALSE(c.wants_close());
}

// Keeps what the connection logs, as strings (a record's views end with the call).
class RecordingSink final : public AccessSink {
 public:
  void log(const AccessRecord& r) override {
    std::string ua;
    for (const Header& h : r.headers) {
      if (h.name == "user-agent") ua = std::string(h.value);
    }
    lines.push_back(std::string(r.client) + " " + std::string(r.method) + " " +
                    std::string(r.raw_path) + " " + std::string(r.query) + " " +
                    std::string(r.http_version) + " " + std::to_string(r.status) + " " +
                    std::to_string(r.bytes) + " " + ua);
    EXPECT_GT(r.time, 0);
  }
  std::vector<std::string> lines;
};

TEST_F(H1Test, AccessLogHasOneRecordPerRequestWithItsOwnByteCount) {
  RecordingSink sink;
  ctx.access_log = &sink;
  ScriptApp app;
  app.request = [](Exchange& ex) {
    Header h[] = {{"content-type", "text/plain"}};
    ex.send_start(200, h);
    ex.send_body("ab", true);  // chunked: framing is not counted
    ex.send_body(ex.scope().path, false);
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /one?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n\r\n"
             "HEAD /three HTTP/1.1\r\nHost: x\r\n\r\n");
  wire();
  ASSERT_EQ(sink.lines.size(), 2u);
  EXPECT_EQ(sink.lines[0], "127.0.0.1 GET /one x=1 1.1 200 6 ua");
  EXPECT_EQ(sink.lines[1], "127.0.0.1 HEAD /three  1.1 200 0 ");
}

TEST_F(H1Test, AccessLogHasTheBackstopButNotParseErrors) {
  RecordingSink sink;
  ctx.access_log = &sink;
  transport.unix_socket = true;
  ScriptApp app;
  app.request = [](Exchange& ex) { ex.fail("boom"); };
  auto& c = connect(&app);
  c.on_input("POST /fail HTTP/1.0\r\n\r\n");
  EXPECT_EQ(wire().substr(0, 12), "HTTP/1.1 500");
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_EQ(sink.lines[0], "unix POST /fail  1.0 500 0 ");

  auto hello = apps::make_hello_app();
  auto& bad = connect(hello.get());
  bad.on_input("GET / HTTP/1.1\r\n\r\n");  // no Host: 400 before dispatch
  EXPECT_EQ(wire().substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(sink.lines.size(), 1u);
}

}  // namespace
}  // namespace pagi::http

namespace pagi::http {
namespace {

const std::string kUpgrade =
    "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: chat, other\r\n\r\n";

// A frame sent right behind the handshake waits for the 101 and is then echoed.
TEST_F(H1Test, WebSocketUpgradeAcceptsAndEchoesEarlyFrames) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  c.on_input(kUpgrade + std::string("\x81\x82\0\0\0\0hi", 8));
  std::string out = wire();
  EXPECT_EQ(out.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_NE(out.find("Sec-WebSocket-Protocol: chat\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), std::string("\x81\x02hi", 4));
  EXPECT_TRUE(c.streaming());
  EXPECT_FALSE(c.wants_close());
  EXPECT_EQ(c.scope().type, ScopeType::kWebSocket);
  EXPECT_EQ(c.scope().scheme, "ws");
  ASSERT_EQ(c.scope().subprotocols.size(), 2u);
  EXPECT_EQ(c.scope().subprotocols[1], "other");
}

TEST_F(H1Test, WebSocketCloseBeforeAcceptIs403) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  std::string req = kUpgrade;
  req.replace(req.find("/chat"), 5, "/ws/forbidden");
  c.on_input(req);
  std::string out = wire();
  EXPECT_EQ(out.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 9), "Forbidden");
  EXPECT_TRUE(c.wants_close());
  EXPECT_FALSE(c.app_active());
}

TEST_F(H1Test, WebSocketAppReturningWithoutAnswerGets500) {
  ScriptApp app;
  app.request = [](Exchange& ex) { ex.finish(); };
  auto& c = connect(&app);
  c.on_input(kUpgrade);
  std::string out = wire();
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_TRUE(c.wants_close());
  ASSERT_EQ(app.ends.size(), 1u);
  EXPECT_EQ(app.ends[0], "server_error 1 1");
}

TEST_F(H1Test, AcceptEventStreamIsAnSseScope) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  c.on_input("GET /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(c.scope().type, ScopeType::kSse);
  EXPECT_NE(out.find("content-type: text/event-stream\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("event: end\ndata: done\n\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 5), "0\r\n\r\n");
  EXPECT_TRUE(c.wants_close());
}

// A refused send carries the session's own message, set by that very call (it was once read
// before the call ran, leaving the app an empty or stale error).
TEST_F(H1Test, RefusedStreamSendsCarryTheirOwnMessage) {
  ScriptApp app;
  std::vector<std::string> errors;
  app.request = [&errors](Exchange& ex) {
    static constexpr Header kNone[] = {{"x", "y"}};
    EXPECT_EQ(ex.sse_start(200, std::span<const Header>(kNone, 0)), SendResult::kOk);
    EXPECT_EQ(ex.sse_close(), SendResult::kOk);
    SseEvent ev;
    ev.data = "late";
    EXPECT_EQ(ex.sse_send(ev), SendResult::kInvalid);
    errors.emplace_back(ex.error());
    EXPECT_EQ(ex.sse_comment("late"), SendResult::kInvalid);
    errors.emplace_back(ex.error());
    ex.finish();
  };
  auto& c = connect(&app);
  c.on_input("GET /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("sse.send"), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("after sse.close"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("sse.comment"), std::string::npos) << errors[1];
}

// The server parks a connection's HTTP state in a per-core pool while the socket is idle:
// parkable() must hold only when nothing of a request, its input or its output is held.
TEST_F(H1Test, ParkableOnlyBetweenKeepAliveRequests) {
  ScriptApp app;
  auto& c = connect(&app);
  EXPECT_TRUE(c.parkable());  // fresh
  c.on_input("GET /a HTTP/1.1\r\nHo");
  turn();
  EXPECT_FALSE(c.parkable());  // half a head
  c.on_input("st: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  ASSERT_EQ(app.exchanges.size(), 1u);
  EXPECT_FALSE(c.parkable());  // the app holds /a, /b waits behind it
  Header h[] = {{"content-length", "2"}};
  app.exchanges[0]->send_start(200, h);
  app.exchanges[0]->send_body("ok", false);
  app.exchanges[0]->finish();
  turn();
  EXPECT_FALSE(c.parkable());  // /a's response not written yet, /b in the app
  ASSERT_EQ(app.exchanges.size(), 2u);
  app.exchanges[1]->send_start(200, h);
  app.exchanges[1]->send_body("ok", false);
  app.exchanges[1]->finish();
  std::string out = wire();
  EXPECT_EQ(out.find("HTTP/1.1 200 OK"), 0u) << out;
  EXPECT_TRUE(c.parkable());  // both answered and written, keep-alive

  auto& closing = connect(&app);
  app.request = [](Exchange& ex) {
    Header hh[] = {{"content-length", "0"}};
    ex.send_start(204, hh);
    ex.send_body("", false);
    ex.finish();
  };
  closing.on_input("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  wire();
  EXPECT_FALSE(closing.parkable());  // closing after this response

  auto& eof = connect(&app);
  eof.on_input_eof();
  turn();
  EXPECT_FALSE(eof.parkable());
}

TEST_F(H1Test, UpgradedConnectionIsNeverParkable) {
  auto app = apps::make_echo_app();
  auto& c = connect(app.get());
  c.on_input(kUpgrade);
  wire();
  ASSERT_TRUE(c.streaming());
  EXPECT_FALSE(c.parkable());
}

// A parked state attached to another connection serves that connection's next request:
// its output and its scope come from the new transport, nothing from the old one.
TEST_F(H1Test, ParkedStateServesTheNextRequestOnAnotherTransport) {
  auto app = apps::make_hello_app();
  auto& c = connect(app.get());
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(wire(), kHelloResponse);
  ASSERT_TRUE(c.parkable());

  FakeTransport other;
  other.unix_socket = true;
  int old_flushes = transport.flushes;
  c.attach(other);
  bool unix_scope = false;
  ScriptApp probe;
  probe.request = [&](Exchange& ex) {
    unix_scope = ex.scope().is_unix;
    Endpoint peer;
    EXPECT_FALSE(ex.client(peer));  // the new transport is a unix socket
    Header h[] = {{"content-length", "2"}};
    ex.send_start(200, h);
    ex.send_body("ok", false);
    ex.finish();
  };
  ctx.app = &probe;
  c.on_input("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  while (other.scheduled) {
    other.scheduled = false;
    c.on_scheduled();
  }
  EXPECT_TRUE(unix_scope);
  EXPECT_GT(other.flushes, 0);
  EXPECT_EQ(transport.flushes, old_flushes);
  ASSERT_GT(c.sendable(), 0u);
  iovec iov[8];
  int n = c.output().gather(iov, 8, c.sendable());
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 2), "ok");
  c.on_sent(out.size());
  EXPECT_TRUE(c.parkable());
}

// The pool's premise: a parked state answers the next request byte for byte as a fresh one
// would, whatever request it served before (bodies, chunked with trailers, HEAD, 1.0
// keep-alive, 100-continue).
TEST_F(H1Test, ParkedStateAnswersLikeAFreshOne) {
  auto app = apps::make_echo_app();
  const std::vector<std::string> requests = {
      "GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n"
      "X-T: 1\r\n\r\n",
      "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
  };
  int compared = 0;
  for (const std::string& first : requests) {
    for (const std::string& second : requests) {
      connect(app.get()).on_input(second);
      std::string fresh = wire();
      connect(app.get()).on_input(first);
      wire();
      ASSERT_TRUE(conn->parkable()) << first;
      conn->on_input(second);
      EXPECT_EQ(wire(), fresh) << "after: " << first << "\nthen: " << second;
      ++compared;
    }
  }
  EXPECT_EQ(compared, int(requests.size() * requests.size()));
}

}  // namespace
}  // namespace pagi::http
