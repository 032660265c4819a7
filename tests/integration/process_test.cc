// Living under a process supervisor: --pid writes our pid once serving and removes it at exit;
// systemd's NOTIFY_SOCKET gets READY=1 (with MAINPID) when serving and STOPPING=1 on SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

TEST(Process, PidFileIsWrittenWhileServingAndRemovedAtExit) {
  TempDir dir;
  std::string pid_file = dir.file("pagi.pid");
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "1", "--pid", pid_file}, &why);
  ASSERT_TRUE(s) << why;
  std::ifstream in(pid_file);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, std::to_string(s->pid()));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_NE(access(pid_file.c_str(), F_OK), 0) << "pid file left behind";
}

TEST(Process, UnwritablePidFileFailsStartup) {
  RunResult r = run_binary({"native:hello", "--port", "0", "--pid", "/nonexistent/dir/p.pid"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot write pid file /nonexistent/dir/p.pid"), std::string::npos)
      << r.out;
}

std::string ReceiveDatagram(int fd, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[512];
  while (std::chrono::steady_clock::now() < end) {
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) return std::string(buf, size_t(n));
    std::this_thread::sleep_for(10ms);
  }
  return {};
}

TEST(Process, SystemdIsToldWhenServingAndWhenStopping) {
  TempDir dir;
  std::string path = dir.file("notify");
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);  // inherited by the server we start
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "2"}, &why);
  unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(ReceiveDatagram(fd, 5s), "READY=1\nMAINPID=" + std::to_string(s->pid()));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(ReceiveDatagram(fd, 5s), "STOPPING=1");
  close(fd);
}

}  // namespace
}  // namespace pagi::test
