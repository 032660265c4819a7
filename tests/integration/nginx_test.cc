// nginx as a real upstream client of the unix socket: keepalive upstream, HTTP/1.1, a worker
// running as www-data so the socket's permissions matter, thousands of requests at a
// concurrency above the listen backlog's burst: zero non-2xx.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "nginx.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

TEST(NginxUpstream, ThousandsOfRequestsThroughTheUnixSocketAllSucceed) {
  TempDir dir;
  std::string sock = dir.file("pagi.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", sock, "--socket-mode", "0660", "--cores",
                          "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  // The deployment pattern: the socket's group is nginx's, mode 0660.
  ASSERT_EQ(run_shell("chgrp www-data " + sock).exit_code, 0);
  Nginx nginx(dir, sock);
  std::string url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/";
  RunResult one = run_shell("curl -s -i " + url);
  ASSERT_NE(one.out.find("200 OK"), std::string::npos) << one.out << nginx.error_log();
  EXPECT_NE(one.out.find("Hello, World!"), std::string::npos);

  RunResult r = run_shell("ab -q -n 20000 -c 300 " + url + " 2>&1", 300s);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Complete requests:      20000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Failed requests:        0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out << nginx.error_log();

  RunResult k = run_shell("ab -q -k -n 20000 -c 300 " + url + " 2>&1", 300s);
  ASSERT_EQ(k.exit_code, 0) << k.out;
  EXPECT_NE(k.out.find("Failed requests:        0"), std::string::npos) << k.out;
  EXPECT_EQ(k.out.find("Non-2xx"), std::string::npos) << k.out << nginx.error_log();
}

TEST(NginxUpstream, SocketPermissionsAreEnforced) {
  TempDir dir;
  std::string sock = dir.file("private.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", sock, "--socket-mode", "0600", "--cores",
                          "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  RunResult r = run_shell("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                          std::to_string(nginx.port()) + "/");
  EXPECT_EQ(r.out, "502");  // www-data may not connect to a root-only 0600 socket
  EXPECT_NE(nginx.error_log().find("Permission denied"), std::string::npos);
}

TEST(NginxUpstream, EchoBodiesThroughNginx) {
  TempDir dir;
  std::string sock = dir.file("echo.sock");
  std::string why;
  auto s = Server::start({"native:echo", "--socket", sock, "--socket-mode", "0666", "--cores",
                          "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  std::string file = dir.file("payload");
  // nginx stops sending a request body to the upstream once the upstream's response has
  // begun, so an app that streams its answer while reading (this echo) can only round-trip
  // what fits in the socket buffers in between; larger bodies need an app that reads first.
  ASSERT_EQ(run_shell("head -c 150000 /dev/urandom > " + file).exit_code, 0);
  RunResult r = run_shell("curl -s --data-binary @" + file + " http://127.0.0.1:" +
                          std::to_string(nginx.port()) + "/up | cmp - " + file + " && echo SAME");
  EXPECT_NE(r.out.find("SAME"), std::string::npos) << r.out << nginx.error_log();
}

// The recipe passes WebSocket upgrades (python3-websockets echo, deflate included) and streams
// SSE unbuffered.
TEST(NginxUpstream, WebSocketAndSseThroughNginx) {
  TempDir dir;
  std::string sock = dir.file("echo.sock");
  std::string why;
  auto s = Server::start({"native:echo", "--socket", sock, "--socket-mode", "0666", "--cores",
                          "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  std::string base = "127.0.0.1:" + std::to_string(nginx.port());
  for (const char* scenario : {"echo", "deflate"}) {
    RunResult r = run_shell("/usr/bin/python3 '" + source_dir() +
                                "/tests/integration/ws_client.py' " + scenario + " ws://" + base +
                                "/",
                            60s);
    EXPECT_EQ(r.exit_code, 0) << scenario << ": " << r.out << nginx.error_log();
  }
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' -d 'abc' http://" + base +
                          "/events", 30s);
  EXPECT_NE(r.out.find("data: abc\n\nevent: end\ndata: done\n\n"), std::string::npos)
      << r.out << nginx.error_log();
}

}  // namespace
}  // namespace pagi::test
