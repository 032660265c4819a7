// systemd socket activation against the real binary: sockets passed at fd 3.. with
// LISTEN_PID/LISTEN_FDS (by a small launcher, as systemd does, and by systemd-socket-activate)
// are adopted instead of bound, matched to the listeners by address, shared by all cores, and
// a unix socket file systemd made is left in place at exit.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "launch.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

std::optional<Response> get_tcp(int port) {
  return request(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

std::optional<Response> get_unix(const std::string& path) {
  auto c = Client::unix_socket(path);
  if (!c || !c->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) {
    return std::nullopt;
  }
  return c->read_response();
}

TEST(Activation, TcpSocketFromTheLauncherIsServedByEveryCore) {
  int port = free_port();
  int fd = listen_tcp(port);
  ASSERT_GE(fd, 0);
  auto s = Launched::start(activation({server_binary(), app_path("process_env.pl"), "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--cores", "2"},
                            {fd},
                            "web"));
  close(fd);
  ASSERT_TRUE(s->wait_for_log("listening on http://127.0.0.1:" + std::to_string(port), 15s))
      << s->log();
  // More requests than cores, each on its own connection: all answered from the one socket.
  for (int i = 0; i < 8; ++i) {
    auto r = get_tcp(port);
    ASSERT_TRUE(r) << s->log();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(contains(r->body, "pid=" + std::to_string(s->pid()))) << r->body;
    // The LISTEN_* variables are gone before the app is loaded.
    EXPECT_TRUE(contains(r->body, "LISTEN_PID=unset,LISTEN_FDS=unset,LISTEN_FDNAMES=unset"))
        << r->body;
  }
  kill(s->pid(), SIGTERM);
  int status = s->wait_exit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << s->log();
}

TEST(Activation, UnixSocketFromTheLauncherIsServedAndItsFileKeptAtExit) {
  TempDir dir;
  std::string path = dir.file("app.sock");
  int fd = listen_unix(path);
  ASSERT_GE(fd, 0);
  auto s = Launched::start(activation({server_binary(), "native:hello", "--socket", path,
                                     "--cores", "2"},
                            {fd}));
  close(fd);
  ASSERT_TRUE(s->wait_for_log("listening on unix:" + path, 15s)) << s->log();
  for (int i = 0; i < 4; ++i) {
    auto r = get_unix(path);
    ASSERT_TRUE(r) << s->log();
    EXPECT_EQ(r->body, "Hello, World!");
  }
  kill(s->pid(), SIGTERM);
  int status = s->wait_exit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << s->log();
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "systemd's socket file was removed";
}

TEST(Activation, InheritedSocketMatchingNoListenerIsWarnedAndClosed) {
  int stray_port = free_port();
  int fd = listen_tcp(stray_port);
  ASSERT_GE(fd, 0);
  int port = free_port();
  auto s = Launched::start(activation({server_binary(), "native:hello", "--port",
                                     std::to_string(port), "--cores", "1"},
                            {fd}));
  close(fd);
  ASSERT_TRUE(s->wait_for_log("listening on http://127.0.0.1:" + std::to_string(port), 15s))
      << s->log();
  EXPECT_TRUE(contains(s->log(), "Inherited socket 127.0.0.1:" + std::to_string(stray_port) +
                                     " (fd 3, from systemd) matches no configured listener: "
                                     "closing it"))
      << s->log();
  EXPECT_EQ(Client::tcp(stray_port), nullptr) << "the stray socket still accepts";
  auto r = get_tcp(port);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Activation, SocketsForAnotherPidAreIgnoredAndTheVariablesRemoved) {
  TempDir dir;
  std::string path = dir.file("other.sock");
  int fd = listen_unix(path);
  ASSERT_GE(fd, 0);
  int port = free_port();
  auto s = Launched::start(activation({server_binary(), app_path("process_env.pl"), "--port",
                                     std::to_string(port), "--cores", "1"},
                            {fd}, "", true));
  ASSERT_TRUE(s->wait_for_log("listening on http://127.0.0.1:" + std::to_string(port), 15s))
      << s->log();
  EXPECT_TRUE(contains(s->log(), "LISTEN_PID/LISTEN_FDS are not for this process: ignored"))
      << s->log();
  auto r = get_tcp(port);
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, "LISTEN_PID=unset,LISTEN_FDS=unset")) << r->body;
  close(fd);
}

// systemd's own tool: it binds, waits for the first connection, then execs the server with
// LISTEN_FDS/LISTEN_PID set; that first connection is served from the inherited queue.
TEST(Activation, SystemdSocketActivateHandsTcpAndUnixSockets) {
  TempDir dir;
  std::string path = dir.file("pagi.sock");
  int port = free_port();
  std::string tcp = "127.0.0.1:" + std::to_string(port);
  auto s = Launched::start(activation({"systemd-socket-activate", "-l", path, "-l", tcp,
                                     server_binary(), "native:hello", "--listen", tcp,
                                     "--listen", path, "--cores", "2"}));
  ASSERT_TRUE(s->wait_for_log("Listening on " + tcp, 10s)) << s->log();
  auto first = get_tcp(port);  // wakes systemd-socket-activate up
  ASSERT_TRUE(first) << s->log();
  EXPECT_EQ(first->body, "Hello, World!");
  ASSERT_TRUE(s->wait_for_log("listening on unix:" + path, 15s)) << s->log();
  EXPECT_FALSE(contains(s->log(), "matches no configured listener")) << s->log();
  auto r = get_unix(path);
  ASSERT_TRUE(r) << s->log();
  EXPECT_EQ(r->body, "Hello, World!");
  kill(s->pid(), SIGTERM);
  int status = s->wait_exit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << s->log();
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "systemd's socket file was removed";
}

}  // namespace
}  // namespace pagi::test
