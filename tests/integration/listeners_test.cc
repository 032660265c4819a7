// Listeners against the real binary: unix sockets (mode, stale and live files, removal at
// exit, scope addresses), --listen mixing TCP and unix, IPv6, per-core TCP sockets, deferred
// accept.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"  // ScopedEnv

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

std::optional<Response> unix_request(const std::string& path, const std::string& raw) {
  auto c = Client::unix_socket(path);
  if (!c || !c->send(raw)) return std::nullopt;
  return c->read_response();
}

TEST(UnixSocket, ServesCurlWithTheRequestedModeAndRemovesTheFileAtExit) {
  TempDir dir;
  std::string path = dir.file("pagi.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", path, "--socket-mode", "0660", "--cores",
                          "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  EXPECT_NE(s->log().find("listening on unix:" + path), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  RunResult r = run_shell("curl -s --unix-socket " + path + " http://localhost/");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "Hello, World!");
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_NE(stat(path.c_str(), &st), 0) << "socket file left behind";
}

TEST(UnixSocket, ScopeHasNoClientAndTheSocketPathAsServer) {
  TempDir dir;
  std::string path = dir.file("echo.sock");
  std::string why;
  auto s = Server::start({"native:echo", "--socket", path, "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto r = unix_request(path, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-echo-client"), "unix");
  EXPECT_EQ(r->header("x-echo-server"), path);
}

TEST(UnixSocket, StaleSocketFileIsReplaced) {
  TempDir dir;
  std::string path = dir.file("stale.sock");
  {
    // A socket file nobody listens on any more (a crashed server leaves one).
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    close(fd);
  }
  std::string why;
  auto s = Server::start({"native:hello", "--socket", path, "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto r = unix_request(path, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(UnixSocket, LiveSocketRefusesToStart) {
  TempDir dir;
  std::string path = dir.file("live.sock");
  std::string why;
  auto first = Server::start({"native:hello", "--socket", path, "--cores", "1"}, &why);
  ASSERT_TRUE(first) << why;
  RunResult r = run_binary({"native:hello", "--socket", path, "--cores", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("is in use by a running server"), std::string::npos) << r.out;
  // The first server is untouched.
  auto resp = unix_request(path, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
}

TEST(UnixSocket, NonSocketPathIsNotClobbered) {
  TempDir dir;
  std::string path = dir.file("regular-file");
  ASSERT_EQ(run_shell("echo keep > " + path).exit_code, 0);
  RunResult r = run_binary({"native:hello", "--socket", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("is not a socket"), std::string::npos) << r.out;
  EXPECT_EQ(run_shell("cat " + path).out, "keep\n");
}

TEST(Listen, TcpAndUnixTogether) {
  TempDir dir;
  std::string path = dir.file("both.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--listen", "127.0.0.1:0", "--listen", path,
                          "--cores", "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  ASSERT_TRUE(s->wait_for_log("listening on unix:" + path, 2s));
  auto tcp = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->status, 200);
  auto ux = unix_request(path, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(ux);
  EXPECT_EQ(ux->status, 200);
}

TEST(Listen, Ipv6Loopback) {
  std::string why;
  auto s = Server::start({"native:echo", "--listen", "[::1]:0", "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  EXPECT_NE(s->log().find("listening on http://[::1]:"), std::string::npos) << s->log();
  auto c = Client::tcp(s->port(), "::1");
  ASSERT_TRUE(c);
  c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("x-echo-server"), "::1:" + std::to_string(s->port()));
}

TEST(Listen, EveryCoreServes) {
  // Many short connections over per-core SO_REUSEPORT sockets: all succeed.
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "4"}, &why);
  ASSERT_TRUE(s) << why;
  for (int i = 0; i < 200; ++i) {
    auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
}

TEST(Listen, BusyPortFailsStartup) {
  std::string why;
  auto first = Server::start({"native:hello", "--cores", "1"}, &why);
  ASSERT_TRUE(first) << why;
  // A second server on the same port would share it through SO_REUSEPORT only if it were the
  // same user and also set the option; a plain listener must fail... but ours set it too, so
  // check the failure with a port held by a socket without SO_REUSEPORT.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ASSERT_EQ(listen(fd, 1), 0);
  RunResult r = run_binary({"native:hello", "--port", std::to_string(ntohs(a.sin_port))});
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot bind"), std::string::npos) << r.out;
}

// The server side of connection `local_port` → `port` as `ss` sees it in `state`.
bool server_side_in_state(int port, int local_port, const char* state) {
  RunResult r = run_shell("ss -Htn state " + std::string(state) + " '( sport = :" +
                          std::to_string(port) + " and dport = :" + std::to_string(local_port) +
                          " )'");
  return r.exit_code == 0 && contains(r.out, ":" + std::to_string(local_port));
}

// Connects to `port` and sends nothing; after 200 ms for the kernel to settle the
// connection's state. `*local`: the client's port.
std::unique_ptr<Client> connect_silently(int port, int* local) {
  auto c = Client::tcp(port);
  if (c) {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    getsockname(c->fd(), reinterpret_cast<sockaddr*>(&a), &len);
    *local = ntohs(a.sin_port);
  }
  std::this_thread::sleep_for(200ms);
  return c;
}

// TCP_DEFER_ACCEPT: the kernel completes the handshake but hands the connection to the core
// only with its first bytes, so a connection costs the core one wake-up, not two. A silent
// client waits in SYN-RECV on the server side; its request is answered as usual.
TEST(Listen, ConnectionIsAcceptedWithItsFirstBytes) {
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  int local = 0;
  auto c = connect_silently(s->port(), &local);
  ASSERT_TRUE(c);
  EXPECT_TRUE(server_side_in_state(s->port(), local, "syn-recv"));
  EXPECT_FALSE(server_side_in_state(s->port(), local, "established"));
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(server_side_in_state(s->port(), local, "established"));
}

// Turned off (to measure it, PAGI_RING_DISABLE=defer-accept) the connection is accepted at once.
TEST(Listen, WithoutDeferredAcceptASilentConnectionIsAcceptedAtOnce) {
  ScopedEnv env("PAGI_RING_DISABLE", "defer-accept");
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  int local = 0;
  auto c = connect_silently(s->port(), &local);
  ASSERT_TRUE(c);
  EXPECT_TRUE(server_side_in_state(s->port(), local, "established"));
  EXPECT_FALSE(server_side_in_state(s->port(), local, "syn-recv"));
}

// A client that connects and says nothing is still accepted (about a second later) and then
// closed by the head timeout, as without deferred accept.
TEST(Listen, SilentConnectionIsStillClosedByTheHeadTimeout) {
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "1", "--timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->wait_closed(std::chrono::seconds(10)));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 900ms);  // not before the head timeout
}

}  // namespace
}  // namespace pagi::test
