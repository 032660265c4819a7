// Handed sockets and the reload successor (see handover.h).
#include "cli/handover.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/log.h"

extern char** environ;

namespace pagi::cli {
namespace {

// "host:port" or "unix:path", for log lines.
std::string describe(const server::InheritedSocket& s) {
  if (s.is_unix) return "unix:" + s.path;
  bool v6 = s.host.find(':') != std::string::npos;
  return (v6 ? "[" + s.host + "]" : s.host) + ":" + std::to_string(s.port);
}

}  // namespace

HandedSockets take_handed_sockets() {
  HandedSockets h;
  std::string warning;
  h.pool = server::take_systemd_sockets(&warning);
  if (!warning.empty()) LOG_WARN("%s", warning.c_str());
  for (const auto& s : h.pool) {
    if (s.is_unix) h.systemd_paths.push_back(s.path);
  }
  warning.clear();
  for (auto& s : server::take_reused_sockets(&warning)) h.pool.push_back(std::move(s));
  if (!warning.empty()) LOG_WARN("%s", warning.c_str());
  if (const char* paths = getenv(kSystemdSocketsEnv)) {
    std::string_view rest = paths;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      if (comma != 0) h.systemd_paths.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    unsetenv(kSystemdSocketsEnv);
  }
  for (const auto& s : h.pool) fcntl(s.fd, F_SETFD, FD_CLOEXEC);
  return h;
}

bool open_listener(const ListenSpec& spec, int cores, int backlog, bool defer_accept,
                   HandedSockets& handed, server::Listener& l, std::string* error) {
  if (spec.kind == ListenSpec::Kind::kUnix) {
    std::vector<int> fds = server::claim_unix(handed.pool, spec.path);
    if (!fds.empty()) {
      for (size_t i = 1; i < fds.size(); ++i) close(fds[i]);
      l.is_unix = true;
      l.path = spec.path;
      l.fds = {fds[0]};
      for (const std::string& p : handed.systemd_paths) l.from_systemd |= p == spec.path;
      LOG_DEBUG("unix:%s: inherited socket (fd %d)", spec.path.c_str(), fds[0]);
      return true;
    }
    return server::open_unix_listener(spec.path, spec.mode.value_or(-1), backlog, l, error);
  }
  std::string host;
  bool wildcard = false;
  if (!server::resolve_bind_host(spec.host, host, wildcard, error)) return false;
  std::vector<int> fds = server::claim_tcp(handed.pool, host, spec.port);
  if (!fds.empty()) {
    server::InheritedSocket first;
    server::describe_socket(fds[0], first);
    l.host = host;
    l.port = first.port;
    l.wildcard = wildcard;
    l.fds = std::move(fds);
    LOG_DEBUG("%s: %zu inherited socket(s)", l.describe().c_str(), l.fds.size());
    return true;
  }
  return server::open_tcp_listener(spec.host, spec.port, cores, backlog, defer_accept, l, error);
}

bool open_listeners(const Options& o, int cores, bool defer_accept, HandedSockets& handed,
                    std::vector<server::Listener>& out, std::string* error) {
  for (const ListenSpec& spec : o.listeners) {
    server::Listener l;
    if (!open_listener(spec, cores, o.listener_backlog, defer_accept, handed, l, error)) {
      return false;
    }
    out.push_back(std::move(l));
  }
  return true;
}

void close_unclaimed(HandedSockets& handed) {
  for (const server::InheritedSocket& s : handed.pool) {
    LOG_WARN("Inherited socket %s (fd %d, from %s) matches no configured listener: closing it",
             describe(s).c_str(), s.fd, s.origin.c_str());
    close(s.fd);
  }
  handed.pool.clear();
}

pid_t spawn_successor(const Launch& launch, const std::vector<server::Listener>& listeners,
                      int* ready_fd, std::string* error) {
  std::vector<server::ReuseEntry> entries;
  std::vector<int> keep;
  std::string systemd_paths;
  for (const server::Listener& l : listeners) {
    for (int fd : l.fds) {
      server::ReuseEntry e;
      e.is_unix = l.is_unix;
      e.host = l.host;
      e.port = l.port;
      e.path = l.path;
      e.fd = fd;
      entries.push_back(std::move(e));
      keep.push_back(fd);
    }
    if (l.is_unix && l.from_systemd) {
      if (!systemd_paths.empty()) systemd_paths += ',';
      systemd_paths += l.path;
    }
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return -1;
  }
  keep.push_back(p[1]);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    bool ours = v.starts_with("PAGI_REUSE=") || v.starts_with(std::string(kReloadFdEnv) + "=") ||
                v.starts_with(std::string(kSystemdSocketsEnv) + "=");
    if (!ours) env.emplace_back(v);
  }
  env.push_back("PAGI_REUSE=" + server::format_pagi_reuse(entries));
  env.push_back(std::string(kReloadFdEnv) + "=" + std::to_string(p[1]));
  if (!systemd_paths.empty()) env.push_back(std::string(kSystemdSocketsEnv) + "=" + systemd_paths);
  std::vector<char*> envp, argvp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = launch.argv;
  for (std::string& a : args) argvp.push_back(a.data());
  argvp.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {
    // The parent has threads: only async-signal-safe calls until exec. No descriptor but
    // stdio, the listeners and the pipe survives the exec (a client connection kept open by
    // the child would never see its close).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    for (int fd : keep) fcntl(fd, F_SETFD, 0);
    if (!launch.cwd.empty() && chdir(launch.cwd.c_str()) != 0) _exit(127);
    execve(launch.exe.c_str(), argvp.data(), envp.data());
    execve("/proc/self/exe", argvp.data(), envp.data());
    _exit(127);
  }
  close(p[1]);
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    close(p[0]);
    return -1;
  }
  *ready_fd = p[0];
  return pid;
}

}  // namespace pagi::cli
