// systemd socket activation against the real binary: sockets passed at fd 3.. with
// LISTEN_PID/LISTEN_FDS (by a small launcher, as systemd does, and by systemd-socket-activate)
// are adopted instead of bound, matched to the listeners by address, shared by all cores, and
// a unix socket file systemd made is left in place at exit. The shipped units
// (doc/deploy/pagi.socket, pagi.service) are run as systemd would run them.
#include <sys/stat.h>

#include <regex>

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

// SIGTERM: the server drains and exits 0.
void expect_clean_stop(Launched& s) {
  kill(s.pid(), SIGTERM);
  int status = s.wait_exit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << s.log();
}

// SIGTERM, and the unix socket file systemd made (PATH) is still there afterwards.
void stop_keeping_socket_file(Launched& s, const std::string& path) {
  expect_clean_stop(s);
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << "systemd's socket file was removed";
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
  expect_clean_stop(*s);
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
  stop_keeping_socket_file(*s, path);
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
  stop_keeping_socket_file(*s, path);
}


// The value of the first `key=` line of a unit file.
std::string unit_value(const std::string& unit, const std::string& key) {
  std::smatch m;
  std::string text = slurp(source_dir() + "/doc/deploy/" + unit);
  if (!std::regex_search(text, m, std::regex("\n" + key + "=([^\n]*)"))) return {};
  return m[1];
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// pagi.socket + pagi.service as systemd runs them: the socket made by systemd-socket-activate
// at ListenStream's path (here in a temporary directory), ExecStart's own arguments,
// NOTIFY_SOCKET read for Type=notify, ExecReload for a reload, SIGTERM for a stop.
TEST(Recipe, SystemdUnitsActivateNotifyReloadAndStop) {
  become_subreaper();
  ASSERT_EQ(unit_value("pagi.service", "Type"), "notify");
  ASSERT_EQ(unit_value("pagi.socket", "Accept"), "no");
  std::string listen = unit_value("pagi.socket", "ListenStream");
  std::vector<std::string> exec = words(unit_value("pagi.service", "ExecStart"));
  ASSERT_FALSE(exec.empty());
  TempDir dir;
  std::string sock = dir.file("pagi.sock");
  std::string app = dir.file("app.pl");
  std::string source = slurp(app_path("process_env.pl"));
  std::ofstream(app) << source;
  std::string pid_file;
  bool named_socket = false;
  for (std::string& w : exec) {
    if (w == exec.front()) {
      w = server_binary();
    } else if (w == listen) {
      w = sock;
      named_socket = true;
    } else if (w.rfind("/run/app/", 0) == 0) {
      pid_file = w = dir.file(w.substr(9));
    } else if (w.rfind("/srv/app/", 0) == 0) {
      w = app;
    }
  }
  ASSERT_TRUE(named_socket) << "ExecStart's --socket must be ListenStream's path";
  std::string notify_path = dir.file("notify");
  int notify = notify_socket(notify_path);
  ASSERT_GE(notify, 0);
  std::vector<std::string> argv{"systemd-socket-activate", "-l", sock,
                                "-E", "NOTIFY_SOCKET=" + notify_path};
  argv.insert(argv.end(), exec.begin(), exec.end());
  Launched::Spec spec;
  spec.argv = argv;
  auto s = Launched::start(spec);
  ASSERT_TRUE(s->wait_for_log("Listening on " + sock, 10s)) << s->log();
  auto r = get_unix(sock);  // the first connection starts the server
  ASSERT_TRUE(r) << s->log();
  EXPECT_TRUE(contains(r->body, "version=v1 pid=" + std::to_string(s->pid()))) << r->body;
  EXPECT_EQ(receive_datagram(notify, 10s), "READY=1\nMAINPID=" + std::to_string(s->pid()));

  // systemctl reload: ExecReload with $MAINPID, after the app changed.
  std::ofstream(app) << std::regex_replace(source, std::regex("'v1'"), "'v2'");
  std::string reload = unit_value("pagi.service", "ExecReload");
  reload = std::regex_replace(reload, std::regex("\\$MAINPID"), std::to_string(s->pid()));
  EXPECT_EQ(run_shell(reload).exit_code, 0);
  EXPECT_TRUE(contains(receive_datagram(notify, 10s), "RELOADING=1\nMONOTONIC_USEC="));
  std::string ready = receive_datagram(notify, 30s);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(ready, m, std::regex("MAINPID=(\\d+)\nREADY=1"))) << ready
                                                                                  << s->log();
  pid_t new_pid = pid_t(std::stoi(m[1]));
  int status = s->wait_exit(30s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << s->log();
  r = get_unix(sock);
  ASSERT_TRUE(r) << s->log();
  EXPECT_TRUE(contains(r->body, "version=v2 pid=" + std::to_string(new_pid))) << r->body;
  EXPECT_EQ(slurp(pid_file), std::to_string(new_pid) + "\n");

  // systemctl stop: SIGTERM to the main process.
  kill(new_pid, SIGTERM);
  EXPECT_EQ(receive_datagram(notify, 10s), "STOPPING=1");
  EXPECT_TRUE(wait_gone(new_pid, 20s));
  struct stat st;
  EXPECT_EQ(stat(sock.c_str(), &st), 0) << "systemd's socket file was removed";
  close(notify);
}

}  // namespace
}  // namespace pagi::test
