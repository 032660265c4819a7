// Starting pagi-server the way a service manager does, for the process tests (socket
// activation, reload, daemonize, privilege drop): any program and arguments, extra environment,
// listening sockets placed at fd 3.. with LISTEN_PID naming the exec'd process, stderr into a
// file the test reads. Also what these tests share: a free TCP port, a pid's liveness, waiting
// for a condition with a deadline.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace pagi::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `cond` every 10 ms until it holds (true) or `timeout` passes (false).
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

inline std::string readlink_str(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// True while `pid` exists and is not a zombie.
inline bool alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Orphans of the test (a reloaded server whose parent exited, a daemon) are reparented to
// the test process, so it can wait for them and no zombie outlives a test.
inline void become_subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }

// Waits for `pid` to go away (reaping it if it is ours); true if it did within `timeout`.
inline bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
  return eventually(
      [pid] {
        waitpid(pid, nullptr, WNOHANG);
        return !alive(pid);
      },
      timeout);
}

// The next datagram on `fd` (e.g. an sd_notify message), or "" after `timeout`.
inline std::string receive_datagram(int fd, std::chrono::milliseconds timeout) {
  std::string got;
  eventually(
      [&] {
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) got.assign(buf, size_t(n));
        return n > 0;
      },
      timeout);
  return got;
}

// A datagram socket bound at `path`, as systemd's NOTIFY_SOCKET.
inline int notify_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A TCP port nobody listens on right now (bound and released; fine for tests).
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Listening sockets as systemd makes them.
inline int listen_tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 128) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline int listen_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 128) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class Launched {
 public:
  struct Spec {
    std::vector<std::string> argv;  // program first (a path, or a name looked up in PATH)
    std::vector<std::string> env;   // NAME=VALUE added to the test's environment
    std::vector<int> listen_fds;    // placed at 3, 4, ... with LISTEN_FDS/LISTEN_PID set
    std::string listen_fdnames;     // LISTEN_FDNAMES, if any
    bool wrong_listen_pid = false;  // LISTEN_PID names another process
  };

  static std::unique_ptr<Launched> start(const Spec& spec) {
    std::unique_ptr<Launched> l(new Launched());
    l->log_path_ = l->dir_.file("log");
    std::vector<std::string> argv_s = spec.argv;
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(l->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, STDERR_FILENO);
      dup2(fd, STDOUT_FILENO);
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, STDIN_FILENO);
      // Move the sockets out of the way first, then into 3.. (they may sit there already).
      std::vector<int> moved;
      for (int s : spec.listen_fds) moved.push_back(fcntl(s, F_DUPFD_CLOEXEC, 100));
      for (size_t i = 0; i < moved.size(); ++i) dup2(moved[i], int(3 + i));
      for (const std::string& e : spec.env) putenv(const_cast<char*>(strdup(e.c_str())));
      if (!spec.listen_fds.empty()) {
        setenv("LISTEN_FDS", std::to_string(spec.listen_fds.size()).c_str(), 1);
        setenv("LISTEN_PID", std::to_string(spec.wrong_listen_pid ? 1 : getpid()).c_str(), 1);
        if (!spec.listen_fdnames.empty()) {
          setenv("LISTEN_FDNAMES", spec.listen_fdnames.c_str(), 1);
        }
      }
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    l->pid_ = pid;
    return l;
  }

  ~Launched() {
    if (pid_ > 0 && alive(pid_)) kill(pid_, SIGKILL);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

  pid_t pid() const { return pid_; }
  std::string log() const { return slurp(log_path_); }
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
    return eventually([&] { return log().find(text) != std::string::npos; }, timeout);
  }
  // Waits for exit: the status as waitpid gives it, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout) {
    int status = -1;
    bool done = eventually(
        [&] {
          int st = 0;
          if (waitpid(pid_, &st, WNOHANG) != pid_) return false;
          status = st;
          return true;
        },
        timeout);
    if (done) pid_ = -1;
    return done ? status : -1;
  }

 private:
  Launched() = default;
  TempDir dir_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// A launch as systemd's socket activation does it.
inline Launched::Spec activation(std::vector<std::string> argv, std::vector<int> fds = {},
                                 std::string fdnames = "", bool wrong_pid = false) {
  Launched::Spec spec;
  spec.argv = std::move(argv);
  spec.listen_fds = std::move(fds);
  spec.listen_fdnames = std::move(fdnames);
  spec.wrong_listen_pid = wrong_pid;
  return spec;
}

}  // namespace pagi::test
