// Living under a process supervisor: --pid writes our pid once serving and removes it at exit;
// systemd's NOTIFY_SOCKET gets READY=1 (with MAINPID) when serving and STOPPING=1 on SIGTERM;
// --user/--group drop root after binding; -D daemonizes and reports success only once serving.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "launch.h"
#include "perl_fixture.h"

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
  EXPECT_EQ(receive_datagram(fd, 5s), "READY=1\nMAINPID=" + std::to_string(s->pid()));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(receive_datagram(fd, 5s), "STOPPING=1");
  close(fd);
}


std::string status_line(pid_t pid, const std::string& key) {
  std::string status = slurp("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("\n" + key + ":");
  if (at == std::string::npos) return {};
  size_t end = status.find('\n', at + 1);
  std::string line = status.substr(at + key.size() + 2, end - at - key.size() - 2);
  std::replace(line.begin(), line.end(), '\t', ' ');
  return line;
}

std::string get_body(int port) {
  auto r = request(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  return r ? r->body : "(no response)";
}

TEST(Privileges, UserNobodyAfterBindingAppAndEveryThreadRunAsNobody) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir dir;
  std::string sock = dir.file("pagi.sock");
  std::string why;
  int port = free_port();
  auto s = Server::start({app_path("process_env.pl"), "--user", "nobody", "--cores", "2",
                          "--listen", "127.0.0.1:" + std::to_string(port), "--listen", sock},
                         &why);
  ASSERT_TRUE(s) << why;
  std::string body = get_body(port);
  EXPECT_TRUE(contains(body, "uid=65534 euid=65534 gid=65534 egid=65534")) << body;
  EXPECT_EQ(status_line(s->pid(), "Uid"), " 65534 65534 65534 65534");
  EXPECT_EQ(status_line(s->pid(), "Gid"), " 65534 65534 65534 65534");
  // Every core thread too (setuid applies to the whole process).
  RunResult threads = run_shell("grep -h '^Uid' /proc/" + std::to_string(s->pid()) +
                                "/task/*/status | sort -u");
  EXPECT_EQ(threads.out, "Uid:\t65534\t65534\t65534\t65534\n");
  struct stat st;
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u) << "the socket file is the user's";
  auto c = Client::unix_socket(sock);
  ASSERT_TRUE(c);
  EXPECT_EQ(s->stop(SIGTERM), 0);
}

TEST(Privileges, GroupAloneChangesOnlyTheGroup) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string why;
  auto s = Server::start({app_path("process_env.pl"), "--group", "nogroup", "--cores", "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  std::string body = get_body(s->port());
  EXPECT_TRUE(contains(body, "uid=0 euid=0 gid=65534 egid=65534")) << body;
}

TEST(Privileges, ReloadAfterDroppingRootStillWorks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  become_subreaper();
  TempDir dir;
  std::string pid_file = dir.file("pagi.pid");
  std::string why;
  auto s = Server::start({app_path("process_env.pl"), "--user", "nobody", "--cores", "2",
                          "--pid", pid_file},
                         &why);
  ASSERT_TRUE(s) << why;
  kill(s->pid(), SIGHUP);
  ASSERT_TRUE(s->wait_for_log("Reload: new process", 30s)) << s->log();
  EXPECT_TRUE(eventually([&] { return !s->running(); }, 30s));
  std::string body = get_body(s->port());
  EXPECT_TRUE(contains(body, "uid=65534 euid=65534")) << body;
  pid_t new_pid = pid_t(std::stoi(slurp(pid_file)));
  EXPECT_TRUE(contains(body, "pid=" + std::to_string(new_pid))) << body;
  kill(new_pid, SIGTERM);
  EXPECT_TRUE(wait_gone(new_pid, 20s));
}

TEST(Privileges, UnknownUserOrGroupExitsTwoBeforeBinding) {
  RunResult r = run_binary({"native:hello", "--port", "0", "--user", "no-such-user-here"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "pagi-server: --user: unknown user 'no-such-user-here'")) << r.out;
  EXPECT_FALSE(contains(r.out, "listening")) << r.out;
  r = run_binary({"native:hello", "--port", "0", "--group", "no-such-group-here"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "pagi-server: --group: unknown group 'no-such-group-here'"))
      << r.out;
}

TEST(Privileges, SwitchingUserNeedsRoot) {
  // setpriv runs the server as nobody: asking for another user is refused.
  RunResult r = geteuid() == 0
                    ? run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                                server_binary() + " native:hello --port 0 --user root 2>&1")
                    : run_binary({"native:hello", "--port", "0", "--user", "root"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--user needs root (running as uid ")) << r.out;
}

// SIGCHLD is read by the supervisor (for a reload's new process): an app's own children are
// still the app's to wait for, with their exit status.
TEST(Process, AppSystemCallsGetTheirChildsExitStatus) {
  std::string why;
  auto s = Server::start({"-e",
                          "use Future::AsyncAwait; async sub { my ($s, $r, $send) = @_; "
                          "die \"none\\n\" if $s->{type} eq 'lifespan'; "
                          "system('sh', '-c', 'exit 3'); my $rc = $? >> 8; "
                          "await $send->({type => 'http.response.start', status => 200}); "
                          "await $send->({type => 'http.response.body', body => \"rc=$rc\"}) }",
                          "--cores", "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get_body(s->port()), "rc=3");
}

TEST(Daemon, ForegroundExitsZeroOnceTheDaemonServes) {
  become_subreaper();
  TempDir dir;
  std::string pid_file = dir.file("d.pid");
  int port = free_port();
  RunResult r = run_binary({app_path("process_env.pl"), "-D", "--pid",
                            pid_file, "--port", std::to_string(port), "--cores", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "listening on http://127.0.0.1:" + std::to_string(port)))
      << r.out;
  // Serving the moment the foreground returned: no waiting here.
  std::string text = slurp(pid_file);
  ASSERT_FALSE(text.empty());
  pid_t pid = pid_t(std::stoi(text));
  EXPECT_TRUE(alive(pid));
  std::string body = get_body(port);
  EXPECT_TRUE(contains(body, "pid=" + text.substr(0, text.size() - 1))) << body;
  // A session of its own, which it does not lead (so it never gets a controlling terminal).
  EXPECT_NE(getsid(pid), getsid(0));
  EXPECT_NE(getsid(pid), pid);
  EXPECT_EQ(readlink_str("/proc/" + std::to_string(pid) + "/cwd"), "/");
  EXPECT_EQ(readlink_str("/proc/" + std::to_string(pid) + "/fd/2"), "/dev/null");
  kill(pid, SIGTERM);
  EXPECT_TRUE(wait_gone(pid, 20s));
  EXPECT_NE(access(pid_file.c_str(), F_OK), 0) << "pid file left behind";
}

TEST(Daemon, ReloadedDaemonStaysADaemon) {
  become_subreaper();
  TempDir dir;
  std::string pid_file = dir.file("d.pid");
  int port = free_port();
  RunResult r = run_binary({app_path("process_env.pl"), "-D", "--pid", pid_file, "--port",
                            std::to_string(port), "--cores", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::string old_text = slurp(pid_file);
  pid_t old_pid = pid_t(std::stoi(old_text));
  pid_t session = getsid(old_pid);
  kill(old_pid, SIGHUP);
  ASSERT_TRUE(eventually([&] { return slurp(pid_file) != old_text && !alive(old_pid); }, 30s));
  pid_t new_pid = pid_t(std::stoi(slurp(pid_file)));
  EXPECT_TRUE(contains(get_body(port), "pid=" + std::to_string(new_pid)));
  EXPECT_EQ(getsid(new_pid), session) << "the new process daemonized again";
  waitpid(old_pid, nullptr, WNOHANG);
  EXPECT_EQ(readlink_str("/proc/" + std::to_string(new_pid) + "/cwd"), "/");
  EXPECT_EQ(readlink_str("/proc/" + std::to_string(new_pid) + "/fd/2"), "/dev/null");
  kill(new_pid, SIGTERM);
  EXPECT_TRUE(wait_gone(new_pid, 20s));
  EXPECT_NE(access(pid_file.c_str(), F_OK), 0) << "pid file left behind";
}

TEST(Daemon, StartupFailureIsReportedByTheForeground) {
  become_subreaper();
  int port = free_port();
  RunResult r = run_binary({app_path("syntax_error.pl"), "-D", "--port",
                            std::to_string(port)});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(contains(r.out, "listening")) << r.out;
  EXPECT_EQ(Client::tcp(port), nullptr);
}

}  // namespace
}  // namespace pagi::test
