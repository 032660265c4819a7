// Perl apps on websocket scopes (PAGI.md §2.5, §3.4, §4.3) against a real client (Debian
// python3-websockets through tests/integration/ws_client.py) and raw handshakes, on TCP
// and on a unix socket. The app is tests/apps/websocket.pl.
#include <regex>
#include <string>
#include <vector>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class PerlWebSocket : public PerlFixture {
 protected:
  void SetUp() override { start("websocket.pl"); }

  std::string ws(const std::string& path, const std::string& steps,
                 const std::string& flags = "") {
    return ws_client(path, steps, flags);
  }

  // A raw upgrade request on `path`; the response the server gives it.
  std::optional<Response> handshake(const std::string& path) {
    auto c = connect();
    if (!c) return std::nullopt;
    c->send("GET " + path + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    return c->read_response();
  }
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlWebSocket, ::testing::Values(false, true),
                         transport_name);

TEST_P(PerlWebSocket, ScopeKeys) {
  std::string out = ws("/scope?x=1", "wait-close", "--protocol chat --protocol superchat");
  EXPECT_TRUE(contains(out, "subprotocol -\n")) << out;
  for (const char* want :
       {"\"type\":\"websocket\"", "\"scheme\":\"ws\"", "\"subprotocols\":[\"chat\",\"superchat\"]",
        "\"path\":\"/scope\"", "\"query_string\":\"x=1\"", "\"http_version\":\"1.1\"",
        "\"extensions\":{\"websocket.http.response\":{}}", "\"_has_method\":0",
        "\"_has_connection\":0", "\"_transport\":\"PAGI::Server::Transport\"",
        "[\"upgrade\",\"websocket\"]", "\"pagi\":{\"spec_version\":\"0.3\",\"version\":\"0.3\"}",
        "\"state\":{}", "\"root_path\":\"\""}) {
    EXPECT_TRUE(contains(out, want)) << want << "\n" << out;
  }
  EXPECT_TRUE(contains(out, on_unix() ? "\"_has_client\":0" : "\"_has_client\":1")) << out;
  EXPECT_TRUE(contains(out, "closed 1000 done\n")) << out;
}

TEST_P(PerlWebSocket, EchoTextAndBinaryWithUtf8) {
  std::string out =
      ws("/echo", "text:hello recv 'text:h\xc3\xa9llo \xce\xbb' recv hex:00ff10 recv close:4000");
  EXPECT_EQ(out,
            "subprotocol -\n"
            "text echo: hello (5)\n"
            "text echo: h\xc3\xa9llo \xce\xbb (7)\n"  // 7 characters: decoded for the app
            "bytes 00ff10\n"
            "closed 4000 \n");
  // The client's close code reaches the app.
  EXPECT_TRUE(server_->wait_for_log("ws disconnect: 4000 \n", 5s)) << server_->log();
}

TEST_P(PerlWebSocket, SubprotocolChosenByTheApp) {
  std::string out = ws("/protocol", "recv close", "--protocol chat --protocol superchat");
  EXPECT_EQ(out, "subprotocol superchat\ntext chose chat,superchat\nclosed 1000 \n");
}

TEST_P(PerlWebSocket, CloseBeforeAcceptIs403) {
  auto r = handshake("/forbid");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "Forbidden");
  EXPECT_EQ(ws("/forbid", ""), "refused 403\n");
}

TEST_P(PerlWebSocket, DenialResponse) {
  auto r = handshake("/deny");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("x-why"), "no token");
  EXPECT_EQ(r->header("content-length"), "7");
  EXPECT_EQ(r->body, "Go away");
}

TEST_P(PerlWebSocket, AppReturnClosesWith1000) {
  std::string out = ws("/return", "wait-close");
  EXPECT_TRUE(std::regex_search(out, std::regex("^subprotocol -\ntext bye\nclosed 1000 ")))
      << out;
}

TEST_P(PerlWebSocket, AppDieClosesWith1011AndLogs) {
  std::string out = ws("/die", "wait-close");
  EXPECT_TRUE(std::regex_search(out, std::regex("^subprotocol -\ntext about to die\nclosed 1011")))
      << out;
  EXPECT_TRUE(server_->wait_for_log("PAGI application error (WebSocket): boom in websocket", 5s))
      << server_->log();
}

TEST_P(PerlWebSocket, DieBeforeAcceptIs500) {
  EXPECT_EQ(ws("/die-early", ""), "refused 500\n");
}

TEST_P(PerlWebSocket, SendErrors) {
  std::string out = ws("/errors", "recv recv recv recv recv recv recv recv recv close");
  EXPECT_TRUE(std::regex_match(
      out, std::regex("subprotocol -\n"
                      "text websocket.nonsense: Unrecognized event type 'websocket.nonsense' for "
                      "websocket protocol\n"
                      "text websocket.accept: ok\n"
                      "text websocket.http.response.start: ok\n"
                      "text websocket.send: websocket.send: bytes contains wide characters "
                      "\\(encode it\\)\n"
                      "text websocket.close: websocket.close: code must be an integer\n"
                      // The exchange's refusal of a code outside the allowed ranges.
                      "text websocket.close: websocket.close: [^\n]*code[^\n]*\n"
                      "text websocket.keepalive: websocket.keepalive: interval must be a "
                      "non-negative number\n"
                      "text websocket.send: ok\n"
                      "text done\n"
                      "closed 1000 \n")))
      << out;
}

TEST_P(PerlWebSocket, TransportWatermarks) {
  std::string out = ws("/transport", "drain:64 recv close");
  EXPECT_TRUE(contains(out, "drained 64 4194304\n")) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("text seq=((?:HD)+)\n"))) << out;
  EXPECT_TRUE(server_->wait_for_log("ws transport: seq=" + m[1].str() + " high=65536 low=16384",
                                    5s))
      << server_->log();
}

class PerlWebSocketQueue : public PerlWebSocket {
 protected:
  void SetUp() override { start("websocket.pl", {"--cores", "1", "--max-receive-queue", "8"}); }
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlWebSocketQueue, ::testing::Values(false, true),
                         transport_name);

// Messages arriving while the app sleeps overflow the receive queue: the client sees 1008 and
// the app, once it drains the queue, a websocket.disconnect with 1008 queue_overflow.
TEST_P(PerlWebSocketQueue, OverflowClosesWith1008) {
  std::string out = ws("/slow", "flood:50 wait-close");
  EXPECT_TRUE(contains(out, "closed 1008")) << out;
  EXPECT_TRUE(server_->wait_for_log("ws disconnect: 1008 queue_overflow after 8 messages", 5s))
      << server_->log();
}

}  // namespace
}  // namespace pagi::test
