// Browser-grade clients against the real binary: npm `ws` (what Node applications use, with a
// browser's defaults: permessage-deflate offered), npm `eventsource` (the WHATWG
// EventSource: named events, ids, retry, reconnection with Last-Event-ID, 204 to stop) and a
// real browser, headless Chromium driven over the DevTools protocol, run by tests/node/*.mjs
// against native:echo and the shipped examples, directly on TCP and through nginx (the
// shipped recipe) in front of the unix socket. script/bootstrap installs node, chromium and
// the npm packages (tests/node/node_modules).
#include <gtest/gtest.h>

#include "harness.h"
#include "nginx.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

// Runs tests/node/SCRIPT with ARGS; its checks are in the output (stdout and stderr, or
// only stdout with `stdout_only`), exit 0 when all held.
RunResult node_client(const std::string& script, const std::string& args,
                      bool stdout_only = false) {
  return run_shell("node '" + source_dir() + "/tests/node/" + script + "' " + args +
                       (stdout_only ? " 2>/dev/null" : ""),
                   90s);
}

std::string example(const std::string& name) {
  return source_dir() + "/examples/" + name + "/app.pl";
}

std::unique_ptr<Server> start(std::vector<std::string> args) {
  std::string why;
  auto s = Server::start(std::move(args), &why);
  EXPECT_TRUE(s) << why;
  return s;
}

std::string at(int port, const std::string& scheme, const std::string& path) {
  return "'" + scheme + "://127.0.0.1:" + std::to_string(port) + path + "'";
}

// Each client's checks, run at one base (host:port) that serves native:echo.
void echo_clients(int port, const std::string& context) {
  RunResult r = node_client("ws_client.mjs", at(port, "ws", "/chat") + " --protocol chat");
  EXPECT_EQ(r.exit_code, 0) << context << ": " << r.out;
  r = node_client("sse_client.mjs", "echo " + at(port, "http", "/events?keepalive=50"));
  EXPECT_EQ(r.exit_code, 0) << context << ": " << r.out;
}

// npm ws and eventsource, then headless Chromium (one page doing both), against
// examples/websocket-echo at WS_PORT and examples/sse-ticker at SSE_PORT.
void example_clients(int ws_port, int sse_port, const std::string& context) {
  RunResult r = node_client("ws_client.mjs", at(ws_port, "ws", "/") + " --prefix 'echo: '");
  EXPECT_EQ(r.exit_code, 0) << context << ": " << r.out;
  r = node_client("sse_client.mjs", "ticker " + at(sse_port, "http", "/?interval=0.05"));
  EXPECT_EQ(r.exit_code, 0) << context << ": " << r.out;
  r = node_client("chromium_client.mjs",
                  at(ws_port, "ws", "/") + " " + at(sse_port, "http", "") + " '/?interval=0.05'",
                  true);  // only the page's outcome: a note on a leftover temp dir is not
  // The ticker's events once each: the reconnect after the stream sent Last-Event-ID 3 and
  // got the 204 that stops EventSource (without it the ticker would start over).
  EXPECT_EQ(r.out,
            "ws open, deflate true\n"
            "text echo: h\xc3\xa9llo\n"
            "bytes 0,1,255\n"
            "closed 1000 clean true\n"
            "tick id=1 \"1\"\n"
            "tick id=2 \"2\"\n"
            "done id=3 \"finished\\nafter 2 ticks\"\n"
            "eventsource closed\n")
      << context;
  EXPECT_EQ(r.exit_code, 0) << context;
}

TEST(BrowserClients, NodeWsAndEventSourceWithNativeEcho) {
  auto s = start({"native:echo", "--cores", "1"});
  ASSERT_TRUE(s);
  echo_clients(s->port(), "direct");
}

TEST(BrowserClients, NodeWsSeesTheDeflateOfferDeclined) {
  auto s = start({"native:echo", "--cores", "1", "--no-ws-compression"});
  ASSERT_TRUE(s);
  RunResult r =
      node_client("ws_client.mjs", at(s->port(), "ws", "/") + " --protocol chat --no-deflate");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(BrowserClients, WebSocketEchoAndSseTickerExamples) {
  auto ws = start({example("websocket-echo"), "--cores", "1"});
  auto sse = start({example("sse-ticker"), "--cores", "1"});
  ASSERT_TRUE(ws && sse);
  example_clients(ws->port(), sse->port(), "direct");
}

TEST(BrowserClients, ThroughNginxOnTheUnixSocket) {
  TempDir dir;
  std::string sock = dir.file("echo.sock");
  auto s = start({"native:echo", "--socket", sock, "--socket-mode", "0666", "--cores", "1"});
  ASSERT_TRUE(s);
  Nginx nginx(dir, sock);
  echo_clients(nginx.port(), "nginx");
  EXPECT_TRUE(s->running());
}

TEST(BrowserClients, ExamplesThroughNginx) {
  TempDir ws_dir, sse_dir;
  std::string ws_sock = ws_dir.file("ws.sock"), sse_sock = sse_dir.file("sse.sock");
  auto ws = start({example("websocket-echo"), "--socket", ws_sock, "--socket-mode", "0666",
                   "--cores", "1"});
  auto sse = start({example("sse-ticker"), "--socket", sse_sock, "--socket-mode", "0666",
                    "--cores", "1"});
  ASSERT_TRUE(ws && sse);
  Nginx ws_nginx(ws_dir, ws_sock), sse_nginx(sse_dir, sse_sock);
  example_clients(ws_nginx.port(), sse_nginx.port(), "nginx");
}

}  // namespace
}  // namespace pagi::test
