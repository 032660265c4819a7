// Supervisor (see supervisor.h). Signals are blocked in every thread and read here through a
// signalfd; cores are told to drain through their mailboxes and report back on an eventfd.
// SIGHUP starts a new process of the same binary that inherits the listening sockets
// (PAGI_REUSE) and reports over a pipe once it serves; only then does this one drain.
#include "cli/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/app_factory.h"
#include "cli/handover.h"
#include "cli/notify.h"
#include "cli/process.h"
#include "common/log.h"
#include "http/proxy_headers.h"
#include "perl/perl_host.h"
#include "server/access_log_format.h"
#include "server/core.h"
#include "server/inherited.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/metrics_server.h"
#include "server/watchdog.h"

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
      {o.sync_file_threshold != d.sync_file_threshold, "--sync-file-threshold",
       "not supported yet (file bodies are not built yet)"},
  };
  for (const Check& c : checks) {
    if (c.set) return std::string(c.flag) + " is " + c.why;
  }
  return {};
}

// The mode, as the reference runner resolves it: -E, else PAGI_ENV, else development when
// stdin is a TTY and production when not.
std::string resolve_mode(const Options& o) {
  if (!o.env_mode.empty()) return o.env_mode;
  const char* env = getenv("PAGI_ENV");
  if (env != nullptr && *env != '\0') return env;
  return isatty(STDIN_FILENO) ? "development" : "production";
}

// Where access-log lines go, as the reference runner decides: --no-access-log: nowhere;
// --access-log FILE: appended to FILE; else nowhere in production mode and stderr in any
// other mode. -q does not silence it (the reference's quiet only mutes the server's own
// messages). Returns the fd (-1: none), or -2 with `error` set.
int open_access_log(const Options& o, const std::string& mode, std::string* error) {
  if (o.no_access_log) return -1;
  if (o.access_log) {
    int fd = open(o.access_log->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      *error = "Cannot open access log " + *o.access_log + ": " + strerror(errno);
      return -2;
    }
    return fd;
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

// How long a new process may take to serve before the reload is given up: lifespan startup
// plus 30 s to load the app, unless PAGI_RELOAD_TIMEOUT (seconds) says otherwise, for an app
// whose load takes longer (or, in the tests, to see the give-up without waiting).
int reload_timeout_seconds(const Options& o) {
  if (const char* env = getenv("PAGI_RELOAD_TIMEOUT")) {
    char* end = nullptr;
    long v = strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 86400) return int(v);
  }
  return (o.lifespan_startup_timeout > 0 ? o.lifespan_startup_timeout : 60) + 30;
}

}  // namespace

int run_server(const Options& o, const std::vector<std::string>& argv) {
  log::set_level(o.quiet ? log::Level::kError : to_log_level(o.log_level));

  if (std::string why = refuse_unbuilt(o); !why.empty()) {
    fprintf(stderr, "pagi-server: %s\n", why.c_str());
    return 2;
  }
  Launch launch;
  launch.argv = argv;
  {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    launch.exe = n > 0 ? std::string(buf, size_t(n)) : "/proc/self/exe";
    if (getcwd(buf, sizeof(buf)) != nullptr) launch.cwd = buf;
  }
  // Started by a reloading parent: report to it once serving, instead of to systemd.
  int parent_ready_fd = -1;
  if (const char* v = getenv(kReloadFdEnv)) {
    parent_ready_fd = atoi(v);
    unsetenv(kReloadFdEnv);
    if (parent_ready_fd > STDERR_FILENO) {
      fcntl(parent_ready_fd, F_SETFD, FD_CLOEXEC);
    } else {
      parent_ready_fd = -1;
    }
  }
  HandedSockets handed = take_handed_sockets();
  struct HandedCloser {
    HandedSockets& h;
    ~HandedCloser() {
      for (const auto& s : h.pool) close(s.fd);
    }
  } handed_closer{handed};

  std::string error;
  server::ServerConfig config;
  config.access_log_format = server::AccessLogFormat::compile(o.access_log_format, &error);
  if (!config.access_log_format) {
    fprintf(stderr, "pagi-server: --access-log-format: %s\n", error.c_str());
    return 2;
  }
  Identity identity;
  if (!resolve_identity(o, identity, &error)) {
    fprintf(stderr, "pagi-server: %s\n", error.c_str());
    return 2;
  }
  // -D: from here on we are the daemon (a reloaded daemon is one already).
  int daemon_ready_fd = -1;
  bool daemon = o.daemonize;
  if (daemon && parent_ready_fd < 0) {
    int rc = daemonize(&daemon_ready_fd);
    if (rc >= 0) return rc;
  }
  // The resolved mode is exported, as the reference runner does, so the app (and a reloaded
  // process) sees the mode it runs in even when it came from the TTY rule.
  std::string mode = resolve_mode(o);
  setenv("PAGI_ENV", mode.c_str(), 1);
  int access_log_fd = open_access_log(o, mode, &error);
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

  bool native = !o.eval_code.has_value() && apps::is_native_spec(o.app);
  if (native && (!o.modules.empty() || !o.libs.empty())) {
    fprintf(stderr, "pagi-server: -M and -I/--lib apply to Perl apps, not to %s\n",
            o.app.c_str());
    return 2;
  }
  if (!native && o.app.empty() && !o.eval_code.has_value()) {
    // The reference serves the current directory with PAGI::App::Directory (PAGI-Tools).
    fprintf(stderr,
            "pagi-server: no application given: name an app file, a module, -e CODE or "
            "native:hello\n");
    return 2;
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
  config.request_timeout_ms = uint64_t(o.request_timeout) * 1000;
  config.shutdown_timeout_ms = uint64_t(o.shutdown_timeout) * 1000;
  config.ws.max_receive_queue = size_t(o.max_receive_queue);
  config.ws.max_frame_size = uint64_t(o.max_ws_frame_size);
  config.ws.max_message_size = size_t(o.max_ws_message_size);
  config.ws.idle_timeout_ms = uint64_t(o.ws_idle_timeout) * 1000;
  config.ws_compression = o.ws_compression;
  config.sse_idle_timeout_ms = uint64_t(o.sse_idle_timeout) * 1000;
  config.server_header = "PAGI::Server/" PAGI_VERSION " (pagi-server)";
  config.metrics = o.metrics_listen.has_value();
  // Ring techniques turned off to measure what each is worth (bench/techniques.py).
  if (const char* env = getenv("PAGI_RING_DISABLE"); env != nullptr && *env != '\0') {
    if (!ring::parse_techniques(env, &config.reactor.disabled, &error)) {
      fprintf(stderr, "pagi-server: PAGI_RING_DISABLE: %s\n", error.c_str());
      return 2;
    }
    LOG_WARN("PAGI_RING_DISABLE: running without %s (for measurement: slower than normal)",
             ring::describe_techniques(config.reactor.disabled).c_str());
  }
  // Parsed (and checked) by the option parser already; lives as long as the cores.
  std::optional<http::ProxyTrust> proxy_trust;
  if (o.proxy_headers) {
    proxy_trust = http::ProxyTrust::parse(o.forwarded_allow_ips, &error);
    if (!proxy_trust) {
      fprintf(stderr, "pagi-server: --forwarded-allow-ips: %s\n", error.c_str());
      return 2;
    }
    config.proxy_trust = &*proxy_trust;
  }

  // Signals: blocked here, before any thread exists, so every core inherits the mask and
  // only the signalfd below sees them.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGCHLD}) {
    sigaddset(&mask, s);
  }
  // The heartbeat watchdog's signal is blocked too, and unblocked only on the cores of a Perl
  // app (which handle it): no other thread ever takes it.
  sigset_t blocked = mask;
  sigaddset(&blocked, server::interrupt_signal());
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sig_fd < 0) {
    fprintf(stderr, "pagi-server: signalfd: %s\n", strerror(errno));
    return 1;
  }
  struct SigFdCloser {
    int fd;
    ~SigFdCloser() { close(fd); }
  } sig_fd_closer{sig_fd};

  // Listeners first (bound, or adopted from systemd or a reloading parent), then the app.
  // Whatever fails from here on closes the listeners; a socket file is removed only when this
  // process made it (an adopted one is the parent's or systemd's).
  // A reload's new process leaves them to its parent until it serves.
  bool unlink_sockets = parent_ready_fd < 0;
  struct ListenerCloser {
    std::vector<server::Listener>& ls;
    bool& unlink;
    ~ListenerCloser() {
      for (auto& l : ls) server::close_listener(l, unlink);
    }
  } listener_closer{config.listeners, unlink_sockets};
  bool defer_accept = (config.reactor.disabled & ring::kDeferAccept) == 0;
  if (!open_listeners(o, cores, defer_accept, handed, config.listeners, &error)) {
    fprintf(stderr, "pagi-server: %s\n", error.c_str());
    return 1;
  }

  // The metrics listener is opened with the others (before a privilege drop), so a busy
  // address fails start-up; it is served only once every core serves. A reload hands it
  // over like the app's listeners.
  std::optional<server::Listener> metrics_listener;
  if (o.metrics_listen) {
    server::Listener l;
    if (!open_listener(*o.metrics_listen, 1, 64, defer_accept, handed, l, &error)) {
      fprintf(stderr, "pagi-server: --metrics-listen: %s\n", error.c_str());
      return 1;  // the app's listeners are closed by listener_closer
    }
    metrics_listener = std::move(l);
  }
  close_unclaimed(handed);
  // Closed on every early return below until the metrics thread owns it (a socket file only
  // when this process made it, as the app's listeners).
  struct MetricsCloser {
    std::optional<server::Listener>& l;
    bool& unlink;
    ~MetricsCloser() {
      if (l && !l->fds.empty()) server::close_listener(*l, unlink);
    }
  } metrics_closer{metrics_listener, unlink_sockets};

  if (identity.change) {
    // What a reload (which runs as the new user) must open again becomes the user's: the
    // unix socket files we made, the access log, the pid file (created now, filled later).
    uid_t uid = identity.set_uid ? identity.uid : uid_t(-1);
    for (const server::Listener& l : config.listeners) {
      if (l.is_unix && !l.from_systemd && chown(l.path.c_str(), uid, identity.gid) != 0) {
        LOG_WARN("cannot chown %s: %s", l.path.c_str(), strerror(errno));
      }
    }
    if (o.access_log && fchown(access_log_fd, uid, identity.gid) != 0) {
      LOG_WARN("cannot chown %s: %s", o.access_log->c_str(), strerror(errno));
    }
    if (o.pid_file) {
      int fd = open(o.pid_file->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0 || fchown(fd, uid, identity.gid) != 0) {
        fprintf(stderr, "pagi-server: cannot write pid file %s: %s\n", o.pid_file->c_str(),
                strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
      }
      close(fd);
    }
  }
  if (!drop_privileges(identity, &error)) {
    fprintf(stderr, "pagi-server: %s\n", error.c_str());
    return 1;
  }

  config.max_requests = native ? 0 : uint64_t(o.max_requests);
  if (native && o.max_requests > 0) {
    LOG_WARN(
        "--max-requests has no effect on a native app: it recycles Perl interpreters, and "
        "a native app has none");
  }
  if (native) {
    config.app_factory = apps::make_native_factory(o.app, &error);
    if (!config.app_factory) {
      fprintf(stderr, "pagi-server: %s\n", error.c_str());
      return 2;
    }
  } else {
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
    if (o.heartbeat_timeout > 0) {
      if (!perl::install_interrupt_handler(server::interrupt_signal(), &error)) {
        fprintf(stderr, "pagi-server: --heartbeat-timeout: %s\n", error.c_str());
        return 1;
      }
      config.interrupt_signal = server::interrupt_signal();
    }
  }
  // Every core starts at once and runs its app's start-up (PAGI lifespan) on its own loop;
  // the server serves only if all of them succeed. A core that failed has stopped itself.
  // The watchdog (--heartbeat-timeout) watches them from their start, lifespan included; it
  // is declared after them, so it stops first.
  std::vector<std::unique_ptr<server::Core>> core_list;
  std::vector<server::Heartbeat*> beats;
  for (int i = 0; i < cores; ++i) {
    core_list.push_back(std::make_unique<server::Core>(i, config));
    beats.push_back(&core_list.back()->heartbeat());
  }
  std::unique_ptr<server::Watchdog> watchdog;
  if (o.heartbeat_timeout > 0) {
    watchdog =
        std::make_unique<server::Watchdog>(std::move(beats), uint64_t(o.heartbeat_timeout) * 1000);
  }
  std::vector<std::future<server::StartResult>> starts;
  for (int i = 0; i < cores; ++i) {
    starts.push_back(core_list[size_t(i)]->start(cpus[size_t(i) % cpus.size()]));
  }
  auto stop_cores = [&core_list] {
    for (auto& c : core_list) c->drain();
    for (auto& c : core_list) c->join();
  };
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
    stop_cores();
    return 1;
  }

  // Scrapes ask every core for a copy of its counters through its mailbox. A core that does
  // not answer in time (its app holds the thread) is shown with its last numbers.
  std::unique_ptr<server::MetricsServer> metrics;
  if (metrics_listener) {
    std::vector<server::CoreMetrics> last(core_list.size());
    auto render = [&core_list, last]() mutable {
      std::vector<std::future<server::CoreMetrics>> answers;
      for (auto& c : core_list) answers.push_back(c->metrics());
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      for (size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].wait_until(deadline) == std::future_status::ready) {
          try {
            last[i] = answers[i].get();
          } catch (const std::future_error&) {
            last[i].responsive = false;  // the core stopped before it answered
          }
        } else {
          last[i].responsive = false;
        }
      }
      return server::render_prometheus(last);
    };
    LOG_INFO("PAGI Server metrics at %s%s", metrics_listener->describe().c_str(),
             metrics_listener->is_unix ? " (GET /metrics)" : "metrics");
    metrics = std::make_unique<server::MetricsServer>(std::move(*metrics_listener), render);
    metrics_listener.reset();  // the metrics thread owns it now
  }

  if (o.pid_file && !write_pid_file(*o.pid_file)) {
    // Written once every core serves (and removed at exit), so a supervisor that waits for
    // the file finds a server that answers. A reloaded process rewrites it.
    fprintf(stderr, "pagi-server: cannot write pid file %s: %s\n", o.pid_file->c_str(),
            strerror(errno));
    metrics.reset();
    stop_cores();
    return 1;
  }
  bool own_pid_file = o.pid_file.has_value();

  for (const server::Listener& l : config.listeners) {
    LOG_INFO("PAGI Server listening on %s (loop: io_uring, cores: %d, max_conn: %d/core, "
             "http2: off, tls: off)",
             l.describe().c_str(), cores, config.max_connections_per_core);
  }
  if (daemon) {
    // The daemon's last steps (PAGI.md §5.2), once everything relative to the start directory
    // is open and the banner is out.
    if (chdir("/") != 0) LOG_WARN("chdir /: %s", strerror(errno));
    umask(0);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0 && parent_ready_fd < 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
    }
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
  if (daemon_ready_fd >= 0) {
    char one = '1';
    ssize_t w = write(daemon_ready_fd, &one, 1);
    (void)w;
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
  }
  if (parent_ready_fd >= 0) {
    // A reload: the parent tells systemd (MAINPID=us, READY=1) once it has this byte, and
    // then drains; the sockets, their files and the pid file are ours from now on.
    char one = '1';
    ssize_t w = write(parent_ready_fd, &one, 1);
    (void)w;
    close(parent_ready_fd);
    parent_ready_fd = -1;
    unlink_sockets = true;
  } else if (!notify_systemd("READY=1\nMAINPID=" + std::to_string(getpid()))) {
    // systemd Type=notify: serving now.
    LOG_WARN("could not notify systemd (NOTIFY_SOCKET=%s)", getenv("NOTIFY_SOCKET"));
  }

  // Wait for signals; cores finish on their own once drained. A reload in progress: the
  // successor's pid and the read end of its readiness pipe; after it is serving, this
  // process stops accepting, and drains a moment later so that connections accepted just
  // before the stop get their first request served.
  using Clock = std::chrono::steady_clock;
  constexpr auto kHandoverGrace = std::chrono::milliseconds(1000);
  bool draining = false;
  int done_fd = eventfd(0, EFD_CLOEXEC);
  std::thread joiner;
  pid_t successor = -1;
  int successor_fd = -1;
  Clock::time_point successor_deadline;
  bool handed_over = false;
  Clock::time_point drain_at;

  auto begin_drain = [&](bool tell_systemd) {
    draining = true;
    if (tell_systemd) notify_systemd("STOPPING=1");
    // Stopped first: a scrape posts to the cores, which must still be serving. After a
    // handover the socket file is the new process's.
    if (metrics) metrics->stop(unlink_sockets);
    for (auto& c : core_list) c->drain();
    joiner = std::thread([&core_list, done_fd] {
      for (auto& c : core_list) c->join();
      uint64_t one = 1;
      ssize_t w = write(done_fd, &one, sizeof(one));
      (void)w;
    });
  };
  // The successor did not make it: reap it and go on serving.
  auto reload_failed = [&](const std::string& why) {
    close(successor_fd);
    successor_fd = -1;
    successor = -1;
    LOG_ERROR("Reload failed: the new process %s; still serving (pid %d)", why.c_str(),
              int(getpid()));
    notify_systemd("READY=1");
  };
  auto reap_successor = [&](bool kill_it) -> std::string {
    if (kill_it) kill(successor, SIGKILL);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      pid_t r = waitpid(successor, &status, WNOHANG);
      if (r == successor) return describe_exit(status);
      if (r < 0) return "exited";
      if (i == 100) kill(successor, SIGKILL);
      usleep(10000);
    }
    return "did not exit";
  };

  for (;;) {
    int timeout_ms = -1;
    Clock::time_point now = Clock::now();
    auto until = [&](Clock::time_point t) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
      return int(std::max<long long>(0, ms) + 1);
    };
    if (successor_fd >= 0) timeout_ms = until(successor_deadline);
    if (handed_over && !draining) timeout_ms = until(drain_at);
    pollfd fds[3] = {{sig_fd, POLLIN, 0}, {done_fd, POLLIN, 0}, {successor_fd, POLLIN, 0}};
    int n = poll(fds, 3, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (draining && (fds[1].revents & POLLIN)) break;
    now = Clock::now();

    if (successor_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      char byte = 0;
      ssize_t r = read(successor_fd, &byte, 1);
      if (r == 1) {
        close(successor_fd);
        successor_fd = -1;
        LOG_INFO("Reload: new process %d is serving; stopping accepting and draining (pid %d)",
                 int(successor), int(getpid()));
        notify_systemd("MAINPID=" + std::to_string(successor) + "\nREADY=1");
        for (auto& c : core_list) c->stop_accepting();
        handed_over = true;
        unlink_sockets = false;
        own_pid_file = false;
        drain_at = now + kHandoverGrace;
      } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        reload_failed(reap_successor(false) + " before serving");
      }
    } else if (successor_fd >= 0 && now >= successor_deadline) {
      reap_successor(true);
      reload_failed("was not serving after " + std::to_string(reload_timeout_seconds(o)) +
                    " s (killed)");
    }
    if (handed_over && !draining && now >= drain_at) begin_drain(false);

    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo si;
    if (read(sig_fd, &si, sizeof(si)) != ssize_t(sizeof(si))) continue;
    int sig = int(si.ssi_signo);
    if (sig == SIGCHLD) {
      // Only our successor is waited for: an app's own children (system(), fork) are the
      // app's to reap, and waiting for any pid here would steal their exit status.
      int status = 0;
      if (successor_fd >= 0 && waitpid(successor, &status, WNOHANG) == successor) {
        reload_failed(describe_exit(status) + " before serving");
      }
    } else if (sig == SIGINT || sig == SIGTERM || sig == SIGQUIT) {
      if (draining) continue;  // a second signal changes nothing: the drain is bounded
      LOG_INFO("Received %s, shutting down gracefully", sigabbrev_np(sig));
      if (successor_fd >= 0) {
        reap_successor(true);
        close(successor_fd);
        successor_fd = -1;
        successor = -1;
        LOG_WARN("Reload abandoned: the new process was killed");
      }
      begin_drain(!handed_over);
    } else if (sig == SIGHUP || sig == SIGUSR2) {
      // SIGUSR2 is the reference's hot restart (new code, sockets inherited): the same here.
      if (draining || handed_over) {
        LOG_WARN("Received SIG%s while stopping; ignoring", sigabbrev_np(sig));
      } else if (successor_fd >= 0) {
        LOG_WARN("Received SIG%s: a reload is already in progress (new process %d); ignoring",
                 sigabbrev_np(sig), int(successor));
      } else {
        notify_systemd_reloading();
        std::vector<server::Listener> handed_on = config.listeners;
        if (metrics) handed_on.push_back(metrics->listener());
        successor = spawn_successor(launch, handed_on, &successor_fd, &error);
        if (successor < 0) {
          successor_fd = -1;
          LOG_ERROR("Reload failed: %s; still serving", error.c_str());
          notify_systemd("READY=1");
        } else {
          LOG_INFO("Received SIG%s: reloading (new process %d)", sigabbrev_np(sig),
                   int(successor));
          successor_deadline = Clock::now() + std::chrono::seconds(reload_timeout_seconds(o));
        }
      }
    } else {
      LOG_WARN("Received SIG%s: not supported; ignoring", sigabbrev_np(sig));
    }
  }
  metrics.reset();
  if (joiner.joinable()) joiner.join();
  close(done_fd);
  // Relative socket and pid file paths name files in the start directory.
  if (daemon && !launch.cwd.empty() && chdir(launch.cwd.c_str()) != 0) {
    LOG_DEBUG("chdir %s: %s", launch.cwd.c_str(), strerror(errno));
  }
  if (own_pid_file) unlink(o.pid_file->c_str());
  LOG_INFO("Server stopped");
  return 0;
}

}  // namespace pagi::cli
