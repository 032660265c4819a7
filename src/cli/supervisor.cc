// Supervisor (see supervisor.h). Signals are blocked in every thread and read here through a
// signalfd; cores are told to drain through their mailboxes and report back on an eventfd.
#include "cli/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "apps/app_factory.h"
#include "cli/notify.h"
#include "common/log.h"
#include "perl/perl_host.h"
#include "server/access_log_format.h"
#include "server/core.h"
#include "server/listener.h"

namespace pagi::cli {
namespace {

// CPUs this process may run on, in order: core i is pinned to cpus[i % size].
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; ++i) {
      if (CPU_ISSET(i, &set)) cpus.push_back(i);
    }
  }
  if (cpus.empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < (n > 0 ? n : 1); ++i) cpus.push_back(int(i));
  }
  return cpus;
}

// Flags parsed for compatibility whose feature is not built yet: refuse them rather than
// accept and ignore. Each entry: is the option away from its default, and what to say.
std::string refuse_unbuilt(const Options& o) {
  const Options d;
  struct Check {
    bool set;
    const char* flag;
    const char* why;
  };
  const Check checks[] = {
      {o.request_timeout != d.request_timeout, "--request-timeout", "not supported yet"},
      {o.max_requests != d.max_requests, "--max-requests", "not supported yet"},
      {o.heartbeat_timeout != d.heartbeat_timeout, "--heartbeat-timeout", "not supported yet"},
      {o.sync_file_threshold != d.sync_file_threshold, "--sync-file-threshold",
       "not supported yet (file bodies are not built yet)"},
  };
  for (const Check& c : checks) {
    if (c.set) return std::string(c.flag) + " is " + c.why;
  }
  return {};
}

// Where access-log lines go, as the reference runner decides: --no-access-log: nowhere;
// --access-log FILE: appended to FILE; else nowhere in production mode (-E > PAGI_ENV > a TTY
// on stdin means development) and stderr in any other mode. -q does not silence it (the
// reference's quiet only mutes the server's own messages). Returns the fd (-1: none), or -2
// with `error` set.
int open_access_log(const Options& o, std::string* error) {
  if (o.no_access_log) return -1;
  if (o.access_log) {
    int fd = open(o.access_log->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      *error = "Cannot open access log " + *o.access_log + ": " + strerror(errno);
      return -2;
    }
    return fd;
  }
  std::string mode = o.env_mode;
  if (mode.empty()) {
    const char* env = getenv("PAGI_ENV");
    mode = env != nullptr ? env : (isatty(STDIN_FILENO) ? "development" : "production");
  }
  return mode == "production" ? -1 : STDERR_FILENO;
}

log::Level to_log_level(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return log::Level::kDebug;
    case LogLevel::kInfo: return log::Level::kInfo;
    case LogLevel::kWarn: return log::Level::kWarn;
    case LogLevel::kError: return log::Level::kError;
  }
  return log::Level::kInfo;
}

}  // namespace

int run_server(const Options& o) {
  log::set_level(o.quiet ? log::Level::kError : to_log_level(o.log_level));

  if (std::string why = refuse_unbuilt(o); !why.empty()) {
    fprintf(stderr, "pagi-server: %s\n", why.c_str());
    return 2;
  }
  std::string error;
  server::ServerConfig config;
  config.access_log_format = server::AccessLogFormat::compile(o.access_log_format, &error);
  if (!config.access_log_format) {
    fprintf(stderr, "pagi-server: --access-log-format: %s\n", error.c_str());
    return 2;
  }
  // Decided before -E is exported to PAGI_ENV, which the rule reads when -E is not given.
  int access_log_fd = open_access_log(o, &error);
  if (access_log_fd == -2) {
    fprintf(stderr, "pagi-server: %s\n", error.c_str());
    return 1;
  }
  // Closed when run_server returns: every core has stopped by then, or never started.
  struct FdCloser {
    int fd;
    ~FdCloser() {
      if (fd > STDERR_FILENO) close(fd);
    }
  } access_log_closer{access_log_fd};
  config.access_log_fd = access_log_fd;
  if (!o.env_mode.empty()) setenv("PAGI_ENV", o.env_mode.c_str(), 1);

  bool native = !o.eval_code.has_value() && apps::is_native_spec(o.app);
  if (native) {
    if (!o.modules.empty() || !o.libs.empty()) {
      fprintf(stderr, "pagi-server: -M and -I/--lib apply to Perl apps, not to %s\n",
              o.app.c_str());
      return 2;
    }
    config.app_factory = apps::make_native_factory(o.app, &error);
    if (!config.app_factory) {
      fprintf(stderr, "pagi-server: %s\n", error.c_str());
      return 2;
    }
  } else {
    if (o.app.empty() && !o.eval_code.has_value()) {
      // The reference serves the current directory with PAGI::App::Directory (PAGI-Tools).
      fprintf(stderr,
              "pagi-server: no application given: name an app file, a module, -e CODE or "
              "native:hello\n");
      return 2;
    }
    // Loaded once here, in the root interpreter, before any core starts (and after %ENV is
    // final: the cores' interpreters are clones of this one).
    perl::PerlAppSpec spec;
    spec.app = o.app;
    spec.app_args = o.app_args;
    spec.has_eval = o.eval_code.has_value();
    spec.eval_code = o.eval_code.value_or(std::string());
    spec.modules = o.modules;
    spec.libs = o.libs;
    spec.lifespan = o.lifespan == LifespanMode::kOff  ? perl::LifespanMode::kOff
                    : o.lifespan == LifespanMode::kOn ? perl::LifespanMode::kOn
                                                      : perl::LifespanMode::kAuto;
    spec.lifespan_startup_timeout = o.lifespan_startup_timeout;
    config.app_factory = perl::make_perl_factory(spec, &error);
    if (!config.app_factory) {
      fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }

  std::vector<int> cpus = allowed_cpus();
  int cores = o.cores > 0 ? o.cores : int(cpus.size());
  if (cores > int(cpus.size())) {
    LOG_WARN("--cores %d is more than the %zu CPUs available: running %d threads, some sharing a "
             "CPU",
             cores, cpus.size(), cores);
  }
  config.cores = cores;
  config.limits.max_header_size = size_t(o.max_header_size);
  config.limits.max_header_count = size_t(o.max_header_count);
  config.limits.max_body_size = o.max_body_size;
  config.high_watermark = size_t(o.write_high_watermark);
  config.low_watermark = size_t(o.write_low_watermark);
  config.max_connections_per_core = o.max_connections > 0 ? o.max_connections : 1000;
  config.idle_timeout_ms = uint64_t(o.timeout) * 1000;
  config.shutdown_timeout_ms = uint64_t(o.shutdown_timeout) * 1000;
  config.ws.max_receive_queue = size_t(o.max_receive_queue);
  config.ws.max_frame_size = uint64_t(o.max_ws_frame_size);
  config.ws.max_message_size = size_t(o.max_ws_message_size);
  config.ws.idle_timeout_ms = uint64_t(o.ws_idle_timeout) * 1000;
  config.ws_compression = o.ws_compression;
  config.sse_idle_timeout_ms = uint64_t(o.sse_idle_timeout) * 1000;
  config.server_header = "PAGI::Server/" PAGI_VERSION " (pagi-server)";

  // Signals: blocked here, before any thread exists, so every core inherits the mask and
  // only the signalfd below sees them.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU}) {
    sigaddset(&mask, s);
  }
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sig_fd < 0) {
    fprintf(stderr, "pagi-server: signalfd: %s\n", strerror(errno));
    return 1;
  }

  for (const ListenSpec& spec : o.listeners) {
    server::Listener l;
    bool ok = spec.kind == ListenSpec::Kind::kUnix
                  ? server::open_unix_listener(spec.path, spec.mode.value_or(-1),
                                               o.listener_backlog, l, &error)
                  : server::open_tcp_listener(spec.host, spec.port, cores, o.listener_backlog, l,
                                              &error);
    if (!ok) {
      fprintf(stderr, "pagi-server: %s\n", error.c_str());
      for (auto& opened : config.listeners) server::close_listener(opened, true);
      return 1;
    }
    config.listeners.push_back(std::move(l));
  }

  // Every core starts at once and runs its app's start-up (PAGI lifespan) on its own loop;
  // the server serves only if all of them succeed. A core that failed has stopped itself.
  std::vector<std::unique_ptr<server::Core>> core_list;
  std::vector<std::future<server::StartResult>> starts;
  for (int i = 0; i < cores; ++i) {
    core_list.push_back(std::make_unique<server::Core>(i, config));
    starts.push_back(core_list.back()->start(cpus[size_t(i) % cpus.size()]));
  }
  bool failed = false;
  for (int i = 0; i < cores; ++i) {
    server::StartResult r = starts[size_t(i)].get();
    if (r.error.empty() && !r.app_failed) continue;
    if (!failed) {
      // The reference logs this and dies with "Lifespan startup failed: MSG" (PAGI.md §3.6).
      if (r.app_failed) {
        LOG_ERROR("PAGI Server startup failed: %s", r.error.c_str());
        fprintf(stderr, "Lifespan startup failed: %s\n", r.error.c_str());
      } else {
        fprintf(stderr, "pagi-server: core %d failed to start: %s\n", i, r.error.c_str());
      }
    }
    failed = true;
  }
  if (failed) {
    for (auto& c : core_list) c->drain();
    for (auto& c : core_list) c->join();
    for (auto& l : config.listeners) server::close_listener(l, true);
    return 1;
  }

  if (o.pid_file) {
    // Written once every core serves (and removed at exit), so a supervisor that waits for
    // the file finds a server that answers.
    std::string text = std::to_string(getpid()) + "\n";
    int fd = open(o.pid_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text.data(), text.size()) != ssize_t(text.size())) {
      fprintf(stderr, "pagi-server: cannot write pid file %s: %s\n", o.pid_file->c_str(),
              strerror(errno));
      if (fd >= 0) close(fd);
      for (auto& c : core_list) c->drain();
      for (auto& c : core_list) c->join();
      for (auto& l : config.listeners) server::close_listener(l, true);
      return 1;
    }
    close(fd);
  }

  for (const server::Listener& l : config.listeners) {
    LOG_INFO("PAGI Server listening on %s (loop: io_uring, cores: %d, max_conn: %d/core, "
             "http2: off, tls: off)",
             l.describe().c_str(), cores, config.max_connections_per_core);
  }
  // systemd Type=notify: serving now.
  if (!notify_systemd("READY=1\nMAINPID=" + std::to_string(getpid()))) {
    LOG_WARN("could not notify systemd (NOTIFY_SOCKET=%s)", getenv("NOTIFY_SOCKET"));
  }

  // Wait for a stop signal; cores finish on their own once drained.
  bool draining = false;
  int done_fd = eventfd(0, EFD_CLOEXEC);
  std::thread joiner;
  for (;;) {
    pollfd fds[2] = {{sig_fd, POLLIN, 0}, {done_fd, POLLIN, 0}};
    int n = poll(fds, draining ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (draining && (fds[1].revents & POLLIN)) break;
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    if (read(sig_fd, &si, sizeof(si)) != ssize_t(sizeof(si))) continue;
    int sig = int(si.ssi_signo);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGQUIT) {
      if (draining) continue;  // a second signal changes nothing: the drain is bounded
      draining = true;
      LOG_INFO("Received %s, shutting down gracefully", sigabbrev_np(sig));
      notify_systemd("STOPPING=1");
      for (auto& c : core_list) c->drain();
      joiner = std::thread([&core_list, done_fd] {
        for (auto& c : core_list) c->join();
        uint64_t one = 1;
        ssize_t w = write(done_fd, &one, sizeof(one));
        (void)w;
      });
    } else if (sig == SIGHUP) {
      LOG_WARN("Received SIGHUP: reloading is not supported yet; ignoring");
    } else {
      LOG_WARN("Received SIG%s: not supported; ignoring", sigabbrev_np(sig));
    }
  }
  if (joiner.joinable()) joiner.join();
  for (auto& l : config.listeners) server::close_listener(l, true);
  close(done_fd);
  close(sig_fd);
  if (o.pid_file) unlink(o.pid_file->c_str());
  LOG_INFO("Server stopped");
  return 0;
}

}  // namespace pagi::cli
