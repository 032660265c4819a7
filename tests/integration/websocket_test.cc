// WebSocket against the real binary with real clients: python3-websockets for the protocol as a
// browser-grade client speaks it (echo, fragments, 10 MB, permessage-deflate, idle timeout), and
// raw frames from the same script for each RFC 6455 violation of PAGI.md §6 and its close code.
#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

// Debian's python3 (the one python3-websockets is installed for), not whatever is first in PATH.
RunResult ws_client(int port, const std::string& scenario, const std::string& path = "/",
                    const std::string& extra = "") {
  return run_shell("/usr/bin/python3 '" + source_dir() + "/tests/integration/ws_client.py' " +
                       scenario + " ws://127.0.0.1:" + std::to_string(port) + path + " " + extra,
                   60s);
}

std::unique_ptr<Server> start_echo(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"native:echo", "--cores", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string why;
  auto s = Server::start(args, &why);
  EXPECT_TRUE(s) << why;
  return s;
}

TEST(WebSocketTest, EchoTextBytesPingAndCloseWithPythonWebsockets) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "echo");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, FragmentedMessagesAndLongFragmentChainsAreReassembled) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "fragments");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, TenMegabyteMessageWithRaisedLimits) {
  auto s = start_echo({"--max-ws-frame-size", "20000000", "--max-ws-message-size", "20000000"});
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "large");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, CloseBeforeAcceptIs403) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "forbidden", "/ws/forbidden");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, DenialResponseIsSentAsIs) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  c->send("GET /ws/deny HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  auto resp = c->read_response();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 401);
  EXPECT_EQ(resp->body, "denied");
  EXPECT_TRUE(c->wait_closed());
}

TEST(WebSocketTest, BadHandshakesAreAnswered) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  auto r = request(s->port(),
                   "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 426);
  EXPECT_EQ(r->header("sec-websocket-version").value_or(""), "13");
  r = request(s->port(),
              "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// Every case gets its close code, and the server goes on serving the next connection.
TEST(WebSocketTest, ProtocolViolationsGetTheirCloseCodes) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  for (const char* c :
       {"rsv_bits", "reserved_opcode", "reserved_control_opcode", "control_over_125",
        "fragmented_control", "close_one_byte", "close_bad_code", "close_code_1005",
        "text_invalid_utf8", "close_reason_invalid_utf8", "unmasked", "frame_over_limit",
        "continuation_first"}) {
    RunResult r = ws_client(s->port(), "raw", "/", c);
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.out;
  }
  RunResult r = ws_client(s->port(), "echo");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(s->running());
}

TEST(WebSocketTest, PermessageDeflateNegotiatedWithPythonWebsockets) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "deflate");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, NoWsCompressionDeclinesTheOffer) {
  auto s = start_echo({"--no-ws-compression"});
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "no_deflate");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(WebSocketTest, ZipBombOverTheMessageLimitIs1009) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "zip_bomb");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(s->running());
}

TEST(WebSocketTest, WsIdleTimeoutClosesWith1001) {
  auto s = start_echo({"--ws-idle-timeout", "1"});
  ASSERT_TRUE(s);
  RunResult r = ws_client(s->port(), "idle");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace pagi::test
