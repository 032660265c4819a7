// WebSocket against the real binary with real clients: python3-websockets for the protocol as a
// browser-grade client speaks it (echo, fragments, 10 MB, permessage-deflate, idle timeout), and
// raw frames from the same script for each RFC 6455 violation of PAGI.md §6 and its close code.
// (npm `ws` runs in browser_clients_test.cc.)
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUpgrade =
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

// A client frame: FIN, OPCODE, masked (payloads under 126 bytes).
std::string masked(int opcode, const std::string& payload) {
  const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
  std::string f;
  f += char(0x80 | opcode);
  f += char(0x80 | payload.size());
  f.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i) f += char(payload[i] ^ key[i % 4]);
  return f;
}

// native:echo with the test's flags; the checks are run by tests/integration/ws_client.py.
class WebSocketTest : public ::testing::Test {
 protected:
  bool start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"native:echo", "--cores", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string why;
    server_ = Server::start(args, &why);
    EXPECT_TRUE(server_) << why;
    return server_ != nullptr;
  }

  // Runs one ws_client.py scenario (Debian's python3, the one python3-websockets is installed
  // for, not whatever is first in PATH) on PATH; every check it makes must hold.
  void passes(const std::string& scenario, const std::string& path = "/",
              const std::string& extra = "") {
    RunResult r = run_shell("/usr/bin/python3 '" + source_dir() +
                                "/tests/integration/ws_client.py' " + scenario +
                                " ws://127.0.0.1:" + std::to_string(server_->port()) + path +
                                " " + extra,
                            60s);
    EXPECT_EQ(r.exit_code, 0) << scenario << " " << extra << ": " << r.out;
  }

  // A raw connection that sent the upgrade request for PATH; *response is the answer's head.
  std::unique_ptr<Client> handshake(const std::string& path, std::optional<Response>* response) {
    auto c = Client::tcp(server_->port());
    if (!c) return nullptr;
    c->send("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + kUpgrade + "\r\n");
    *response = c->read_response();
    return c;
  }

  std::unique_ptr<Server> server_;
};

TEST_F(WebSocketTest, EchoTextBytesPingAndCloseWithPythonWebsockets) {
  ASSERT_TRUE(start());
  passes("echo");
}

TEST_F(WebSocketTest, FragmentedMessagesAndLongFragmentChainsAreReassembled) {
  ASSERT_TRUE(start());
  passes("fragments");
}

TEST_F(WebSocketTest, TenMegabyteMessageWithRaisedLimits) {
  ASSERT_TRUE(start({"--max-ws-frame-size", "20000000", "--max-ws-message-size", "20000000"}));
  passes("large");
}

TEST_F(WebSocketTest, CloseBeforeAcceptIs403) {
  ASSERT_TRUE(start());
  passes("forbidden", "/ws/forbidden");
}

TEST_F(WebSocketTest, DenialResponseIsSentAsIs) {
  ASSERT_TRUE(start());
  std::optional<Response> resp;
  auto c = handshake("/ws/deny", &resp);
  ASSERT_TRUE(c && resp);
  EXPECT_EQ(resp->status, 401);
  EXPECT_EQ(resp->body, "denied");
  EXPECT_TRUE(c->wait_closed());
}

TEST_F(WebSocketTest, BadHandshakesAreAnswered) {
  ASSERT_TRUE(start());
  auto r = request(server_->port(),
                   "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 426);
  EXPECT_EQ(r->header("sec-websocket-version").value_or(""), "13");
  r = request(server_->port(),
              "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// Every case gets its close code, and the server goes on serving the next connection.
TEST_F(WebSocketTest, ProtocolViolationsGetTheirCloseCodes) {
  ASSERT_TRUE(start());
  for (const char* c :
       {"rsv_bits", "reserved_opcode", "reserved_control_opcode", "control_over_125",
        "fragmented_control", "close_one_byte", "close_bad_code", "close_code_1005",
        "text_invalid_utf8", "close_reason_invalid_utf8", "unmasked", "frame_over_limit",
        "continuation_first"}) {
    passes("raw", "/", c);
  }
  passes("echo");
  EXPECT_TRUE(server_->running());
}

TEST_F(WebSocketTest, PermessageDeflateNegotiatedWithPythonWebsockets) {
  ASSERT_TRUE(start());
  passes("deflate");
}

TEST_F(WebSocketTest, NoWsCompressionDeclinesTheOffer) {
  ASSERT_TRUE(start({"--no-ws-compression"}));
  passes("no_deflate");
}

TEST_F(WebSocketTest, ZipBombOverTheMessageLimitIs1009) {
  ASSERT_TRUE(start());
  passes("zip_bomb");
  EXPECT_TRUE(server_->running());
}

TEST_F(WebSocketTest, WsIdleTimeoutClosesWith1001) {
  ASSERT_TRUE(start({"--ws-idle-timeout", "1"}));
  passes("idle");
}

// SIGTERM: an open session gets Close 1001 and the server still stops.
TEST_F(WebSocketTest, GracefulShutdownSendsGoingAway) {
  ASSERT_TRUE(start());
  std::optional<Response> resp;
  auto c = handshake("/", &resp);
  ASSERT_TRUE(c && resp);
  ASSERT_EQ(resp->status, 101);
  kill(server_->pid(), SIGTERM);
  std::string got = c->read_all();
  EXPECT_NE(got.find(std::string("\x88\x16\x03\xe9Server shutting down", 24)), std::string::npos)
      << got;
  EXPECT_NE(server_->stop(SIGTERM), -1);  // it stops (a second TERM may hurry it)
}

std::string wait_for_line(const std::string& path, const std::string& text) {
  std::string log;
  for (int i = 0; i < 100; ++i) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    log = ss.str();
    if (log.find(text) != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  return log;
}

// One line per session, written at its close: the 101 and the 403 refusal.
TEST_F(WebSocketTest, AccessLogLinePerSession) {
  TempDir dir;
  ASSERT_TRUE(start({"--access-log", dir.file("access.log")}));
  passes("echo", "/chat?room=1");
  passes("forbidden", "/ws/forbidden");
  std::string log = wait_for_line(dir.file("access.log"), "\"GET /ws/forbidden\" 403");
  EXPECT_NE(log.find("\"GET /chat?room=1\" 101"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /ws/forbidden\" 403"), std::string::npos) << log;
}

// %b of a session is what the client was sent after the head (frames as they went on the
// wire), as nginx's $body_bytes_sent counts a proxied session; a denial's is its body.
TEST_F(WebSocketTest, AccessLogCountsTheBytesSentAfterTheHead) {
  TempDir dir;
  ASSERT_TRUE(start({"--access-log", dir.file("access.log"), "--access-log-format", "%U %s %b"}));
  std::optional<Response> resp;
  auto c = handshake("/counted", &resp);
  ASSERT_TRUE(c && resp);
  ASSERT_EQ(resp->status, 101);
  ASSERT_TRUE(c->send(masked(0x1, "hello") + masked(0x2, std::string(100, 'x')) +
                      masked(0x9, "ping") + masked(0x8, "\x03\xe8" "bye")));
  std::string after_head = c->read_all();  // echo, echo, pong, close: then the server closes
  EXPECT_EQ(after_head.size(), (2 + 5) + (2 + 100) + (2 + 4) + (2 + 2)) << after_head;
  auto d = handshake("/ws/deny", &resp);
  ASSERT_TRUE(d && resp);
  EXPECT_EQ(resp->status, 401);
  wait_for_line(dir.file("access.log"), "/counted ");
  std::string log = wait_for_line(dir.file("access.log"), "/ws/deny");
  EXPECT_NE(log.find("/counted 101 " + std::to_string(after_head.size()) + "\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("/ws/deny 401 6\n"), std::string::npos) << log;
}

}  // namespace
}  // namespace pagi::test
