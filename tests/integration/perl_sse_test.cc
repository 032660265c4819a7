// Perl apps on sse scopes (PAGI.md §2.4, §3.5) with raw sockets and curl -N, on TCP and on a
// unix socket: scope keys, the wire format of events and comments, sse.close, the decline
// response and first-send-wins, request bodies, keepalive and pagi.transport. The app is
// tests/apps/sse.pl.
#include <sys/socket.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccept = "Accept: text/event-stream\r\n";

class PerlSse : public PerlFixture {
 protected:
  void SetUp() override { start("sse.pl"); }

  std::optional<Response> sse(const std::string& path) { return get(path, kAccept); }
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlSse, ::testing::Values(false, true), transport_name);

TEST_P(PerlSse, ScopeKeys) {
  auto r = sse("/scope?q=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/event-stream");
  EXPECT_EQ(r->header("cache-control"), "no-cache");
  EXPECT_EQ(r->header("x-app"), "sse-test");
  EXPECT_TRUE(r->chunked);
  for (const char* want :
       {"\"type\":\"sse\"", "\"method\":\"GET\"", "\"scheme\":\"http\"", "\"path\":\"/scope\"",
        "\"query_string\":\"q=1\"", "\"http_version\":\"1.1\"",
        "\"extensions\":{\"fullflush\":{}}", "\"_has_connection\":0",
        "\"_transport\":\"PAGI::Server::Transport\"", "[\"accept\",\"text/event-stream\"]",
        "\"state\":{}"}) {
    EXPECT_TRUE(contains(r->body, want)) << want << "\n" << r->body;
  }
  EXPECT_EQ(r->body.rfind("data: {", 0), 0u) << r->body;
}

TEST_P(PerlSse, WireFormatAndCloseWithCurl) {
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' " + curl_target("/format"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out,
            "event: tick\ndata: a\ndata: b\ndata: c\ndata: d\nid: 7\nretry: 3000\n\n"
            "data: one\n\n"
            "data: trailing\ndata: \n\n"
            ":hello\n:world\n\n"
            ":already\n\n"
            "data: h\xc3\xa9llo \xce\xbb\n\n");
  // Anything but another sse.close after sse.close fails, with the reference's message.
  EXPECT_TRUE(server_->wait_for_log("after close: cannot send 'sse.send' after sse.close", 5s))
      << server_->log();
}

TEST_P(PerlSse, CloseEndsTheChunkedStream) {
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /format HTTP/1.1\r\nHost: x\r\n" + std::string(kAccept) + "\r\n"));
  std::string raw = c->read_all();
  EXPECT_TRUE(raw.size() > 5 && raw.compare(raw.size() - 5, 5, "0\r\n\r\n") == 0) << raw;
  EXPECT_TRUE(contains(raw, "Transfer-Encoding: chunked\r\n")) << raw;
}

TEST_P(PerlSse, Decline) {
  auto r = sse("/decline");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("content-type"), "text/plain");
  EXPECT_EQ(r->header("content-length"), "9");
  EXPECT_EQ(r->body, "no stream");
  EXPECT_TRUE(server_->wait_for_log(
      "during decline: cannot send 'sse.send' after sse.http.response.start", 5s))
      << server_->log();
  auto n = sse("/decline204");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 204);
  EXPECT_EQ(n->body, "");
}

TEST_P(PerlSse, FirstSendWins) {
  auto r = sse("/first-wins");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "data: cannot decline with sse.http.response.start after sse.start\n\n");
}

TEST_P(PerlSse, RequestBodyAsSseRequest) {
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' --data-binary 'hello world' " +
                          curl_target("/post"));
  EXPECT_EQ(r.out, "data: POST 11 hello world\n\n");
  // A chunked body too (the reference reads only Content-Length ones).
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("PUT /post HTTP/1.1\r\nHost: x\r\n" + std::string(kAccept) +
                      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto resp = c->read_response();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->body, "data: PUT 5 abcde\n\n");
}

TEST_P(PerlSse, SendErrors) {
  auto r = sse("/errors");
  ASSERT_TRUE(r);
  std::regex line("data: ([a-z.]+): (.*)\n\n");
  std::vector<std::pair<std::string, std::string>> got;
  for (std::sregex_iterator it(r->body.begin(), r->body.end(), line), end; it != end; ++it) {
    got.emplace_back((*it)[1], (*it)[2]);
  }
  ASSERT_EQ(got.size(), 6u) << r->body;
  EXPECT_EQ(got[0].second, "Unrecognized event type 'sse.nonsense' for sse protocol");
  EXPECT_EQ(got[1].second, "Invalid SSE event name: contains newline");
  EXPECT_EQ(got[2].second, "Invalid SSE id: contains newline");
  EXPECT_EQ(got[3].second, "Invalid SSE retry: must be a non-negative integer");
  EXPECT_EQ(got[4].second, "sse.start: status must be an integer");
  EXPECT_EQ(got[5].second, "sse.keepalive: interval must be a non-negative number");
}

TEST_P(PerlSse, KeepaliveComments) {
  auto r = sse("/keepalive");
  ASSERT_TRUE(r);
  EXPECT_GE(occurrences(r->body, ":ka\n\n"), 2u) << r->body;
  const std::string tail = "data: end\n\n";
  EXPECT_TRUE(r->body.size() > tail.size() &&
              r->body.compare(r->body.size() - tail.size(), tail.size(), tail) == 0)
      << r->body;
}

TEST_P(PerlSse, TransportWatermarks) {
  auto r = sse("/transport");
  ASSERT_TRUE(r);
  EXPECT_EQ(occurrences(r->body, "data: "), 64u);
  EXPECT_TRUE(server_->wait_for_log("sse transport: seq=", 5s)) << server_->log();
  EXPECT_TRUE(std::regex_search(server_->log(),
                                std::regex("sse transport: seq=(HD)+ high=65536 low=16384")))
      << server_->log();
}

TEST_P(PerlSse, ClientGoneIsSseDisconnect) {
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /wait HTTP/1.1\r\nHost: x\r\n" + std::string(kAccept) + "\r\n"));
  // Wait for the first event, then hang up.
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!contains(seen, "data: hi\n\n") && std::chrono::steady_clock::now() < deadline) {
    char buf[4096];
    ssize_t n = ::recv(c->fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    seen.append(buf, size_t(n));
  }
  ASSERT_TRUE(contains(seen, "data: hi\n\n")) << seen;
  c.reset();
  EXPECT_TRUE(server_->wait_for_log("sse disconnect: sse.disconnect client_closed", 5s))
      << server_->log();
}

}  // namespace
}  // namespace pagi::test
