// Command-line parsing for pagi-server (see options.h). One table holds every flag the reference
// server knows, how it is spelled and how far it is built here; --help is generated from it, so
// the help and the parser cannot disagree about which flags exist.
#include "cli/options.h"

#include "http/proxy_headers.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#ifndef PAGI_VERSION
#error "PAGI_VERSION must be defined by the build (meson.build does it)"
#endif

namespace pagi::cli {
namespace {

constexpr std::string_view kDefaultHost = "127.0.0.1";
constexpr int kDefaultPort = 5000;
constexpr uint64_t kIntMax = uint64_t(std::numeric_limits<int>::max());
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
// More event-loop threads than the kernel's CPU_SETSIZE is a typo, not a machine.
constexpr uint64_t kMaxCores = 1024;
// sun_path must hold the path and its NUL.
constexpr size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;

enum class Id {
  kApp,
  kEval,
  kModule,
  kLib,
  kHost,
  kPort,
  kSocket,
  kSocketMode,
  kListen,
  kBacklog,
  kReuseport,
  kProxyHeaders,
  kForwardedAllowIps,
  kCores,
  kWorkers,
  kMaxConnections,
  kMaxBodySize,
  kMaxHeaderSize,
  kMaxHeaderCount,
  kMaxReceiveQueue,
  kMaxWsFrameSize,
  kMaxWsMessageSize,
  kWsCompression,
  kNoWsCompression,
  kMaxRequests,
  kWriteHighWatermark,
  kWriteLowWatermark,
  kSyncFileThreshold,
  kTimeout,
  kShutdownTimeout,
  kRequestTimeout,
  kWsIdleTimeout,
  kSseIdleTimeout,
  kHeartbeatTimeout,
  kLifespanStartupTimeout,
  kLifespan,
  kLogLevel,
  kQuiet,
  kEnv,
  kAccessLog,
  kNoAccessLog,
  kPidFile,
  kDaemonize,
  kUser,
  kGroup,
  kAccessLogFormat,
  kMetricsListen,
  kServer,
  kHelp,
  kVersion,
  kRefused,
};

// kLater flags parse into Options and the supervisor refuses them when set, so the refusal
// goes away with the feature's arrival in one place; kRefused flags have no Options field and
// fail here. Nothing the reference accepts is silently ignored.
enum class Status { kBuilt, kLater, kRefused };

enum class Section { kApp, kListeners, kLimits, kTimeouts, kLogging, kRefused };

// Fields in the order the table reads best; it is small, so its padding does not matter.
struct Flag {  // NOLINT(clang-analyzer-optin.performance.Padding)
  Id id;
  std::string_view long_name;  // without "--"; empty if the flag only has a short form
  char short_name;             // 0 if none
  std::string_view metavar;    // empty: the flag takes no value
  Section section;
  Status status;
  std::string_view help;  // kRefused: the reason, used both in --help and in the error
};

using S = Section;
using St = Status;

constexpr Flag kFlags[] = {
    {Id::kApp, "app", 'a', "FILE", S::kApp, St::kBuilt, "the app (same as the first argument)"},
    {Id::kEval, "", 'e', "CODE", S::kApp, St::kBuilt, "Perl code that returns the app"},
    {Id::kModule, "", 'M', "MODULE", S::kApp, St::kBuilt,
     "load MODULE[=imports] before -e; repeatable"},
    {Id::kLib, "lib", 'I', "PATH", S::kApp, St::kBuilt, "add PATH to @INC; repeatable"},

    {Id::kHost, "host", 'o', "HOST", S::kListeners, St::kBuilt,
     "TCP bind address; IPv6 with or without [ ]"},
    {Id::kPort, "port", 'p', "PORT", S::kListeners, St::kBuilt, "TCP port; 0 = any free port"},
    {Id::kSocket, "socket", 0, "PATH", S::kListeners, St::kBuilt,
     "listen on a unix socket instead of TCP"},
    {Id::kSocketMode, "socket-mode", 0, "MODE", S::kListeners, St::kBuilt,
     "octal mode of unix sockets, e.g. 0660"},
    {Id::kListen, "listen", 0, "SPEC", S::kListeners, St::kBuilt,
     "HOST:PORT, [IPV6]:PORT or a unix path; repeatable"},
    {Id::kBacklog, "listener-backlog", 'b', "N", S::kListeners, St::kBuilt, "listen queue length"},
    {Id::kReuseport, "reuseport", 0, "", S::kListeners, St::kBuilt,
     "always on: each core binds its own SO_REUSEPORT socket"},
    {Id::kProxyHeaders, "proxy-headers", 0, "", S::kListeners, St::kBuilt,
     "take client/scheme from trusted peers' X-Forwarded-*, Forwarded"},
    {Id::kForwardedAllowIps, "forwarded-allow-ips", 0, "LIST", S::kListeners, St::kBuilt,
     "trusted peers: IPs, CIDRs, unix:, *"},

    {Id::kCores, "cores", 0, "N", S::kLimits, St::kBuilt,
     "event-loop threads, one per CPU (default: all CPUs)"},
    {Id::kWorkers, "workers", 'w', "N", S::kLimits, St::kBuilt, "same as --cores N (0 means 1)"},
    {Id::kMaxConnections, "max-connections", 0, "N", S::kLimits, St::kBuilt,
     "open connections per core; 0 = 1000"},
    {Id::kMaxBodySize, "max-body-size", 0, "BYTES", S::kLimits, St::kBuilt,
     "request body limit; 0 = none"},
    {Id::kMaxHeaderSize, "max-header-size", 0, "BYTES", S::kLimits, St::kBuilt,
     "request line and headers limit"},
    {Id::kMaxHeaderCount, "max-header-count", 0, "N", S::kLimits, St::kBuilt,
     "request header count limit"},
    {Id::kMaxReceiveQueue, "max-receive-queue", 0, "N", S::kLimits, St::kBuilt,
     "WebSocket inbound queue, in messages"},
    {Id::kMaxWsFrameSize, "max-ws-frame-size", 0, "BYTES", S::kLimits, St::kBuilt,
     "WebSocket frame size limit"},
    {Id::kMaxWsMessageSize, "max-ws-message-size", 0, "BYTES", S::kLimits, St::kBuilt,
     "WebSocket message size limit (after inflating)"},
    {Id::kWsCompression, "ws-compression", 0, "", S::kLimits, St::kBuilt,
     "offer permessage-deflate to WebSocket clients (default)"},
    {Id::kNoWsCompression, "no-ws-compression", 0, "", S::kLimits, St::kBuilt,
     "no WebSocket compression"},
    {Id::kMaxRequests, "max-requests", 0, "N", S::kLimits, St::kBuilt,
     "new Perl interpreter every N requests; 0 = off"},
    {Id::kWriteHighWatermark, "write-high-watermark", 0, "BYTES", S::kLimits, St::kBuilt,
     "queued output at which sends wait"},
    {Id::kWriteLowWatermark, "write-low-watermark", 0, "BYTES", S::kLimits, St::kBuilt,
     "queued output below which sends resume"},
    {Id::kSyncFileThreshold, "sync-file-threshold", 0, "BYTES", S::kLimits, St::kLater,
     "files up to this size are read at once"},

    {Id::kTimeout, "timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "idle connection timeout; 0 = none"},
    {Id::kShutdownTimeout, "shutdown-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "graceful shutdown wait"},
    {Id::kRequestTimeout, "request-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "HTTP request stall timeout; 0 = none"},
    {Id::kWsIdleTimeout, "ws-idle-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "WebSocket idle timeout; 0 = none"},
    {Id::kSseIdleTimeout, "sse-idle-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "SSE idle timeout; 0 = none"},
    {Id::kHeartbeatTimeout, "heartbeat-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "interrupt Perl code stuck this long; 0 = off"},
    {Id::kLifespanStartupTimeout, "lifespan-startup-timeout", 0, "SECS", S::kTimeouts, St::kBuilt,
     "lifespan startup wait; 0 = forever"},
    {Id::kLifespan, "lifespan", 0, "MODE", S::kTimeouts, St::kBuilt, "auto, on or off"},

    {Id::kLogLevel, "log-level", 0, "LEVEL", S::kLogging, St::kBuilt, "debug, info, warn or error"},
    {Id::kQuiet, "quiet", 'q', "", S::kLogging, St::kBuilt, "log errors only (no banner)"},
    {Id::kEnv, "env", 'E', "MODE", S::kLogging, St::kBuilt,
     "development, production or none; exported as PAGI_ENV"},
    {Id::kAccessLog, "access-log", 0, "FILE", S::kLogging, St::kBuilt,
     "append the access log to FILE"},
    {Id::kNoAccessLog, "no-access-log", 0, "", S::kLogging, St::kBuilt, "no access log"},
    {Id::kAccessLogFormat, "access-log-format", 0, "FMT", S::kLogging, St::kBuilt,
     "clf, combined, common, tiny or a format"},
    {Id::kMetricsListen, "metrics-listen", 0, "ADDR", S::kLogging, St::kBuilt,
     "serve Prometheus text at /metrics on HOST:PORT or unix:PATH"},
    {Id::kServer, "server", 's', "CLASS", S::kLogging, St::kBuilt,
     "server class; only PAGI::Server"},
    {Id::kHelp, "help", 'h', "", S::kLogging, St::kBuilt, "show this help"},
    {Id::kVersion, "version", 'v', "", S::kLogging, St::kBuilt, "show the version"},

    {Id::kRefused, "http2", 0, "", S::kRefused, St::kRefused,
     "not supported yet (HTTP/2 is not built)"},
    {Id::kRefused, "ssl-cert", 0, "FILE", S::kRefused, St::kRefused,
     "not supported yet (TLS is not built)"},
    {Id::kRefused, "ssl-key", 0, "FILE", S::kRefused, St::kRefused,
     "not supported yet (TLS is not built)"},
    {Id::kPidFile, "pid", 0, "FILE", S::kLogging, St::kBuilt,
     "write the process id to FILE once serving; removed at exit"},
    {Id::kDaemonize, "daemonize", 'D', "", S::kLogging, St::kBuilt,
     "run in the background; exits 0 once serving"},
    {Id::kUser, "user", 0, "USER", S::kLogging, St::kBuilt,
     "switch to USER (name or uid) after binding; needs root"},
    {Id::kGroup, "group", 0, "GROUP", S::kLogging, St::kBuilt,
     "switch to GROUP (name or gid) after binding; needs root"},
    {Id::kRefused, "loop", 'l', "LOOP", S::kRefused, St::kRefused,
     "not supported (the event loop is always io_uring)"},
    {Id::kRefused, "future-xs", 0, "", S::kRefused, St::kRefused,
     "not supported yet (Perl apps are not built)"},
    {Id::kRefused, "default-middleware", 0, "", S::kRefused, St::kRefused,
     "not supported yet (no middleware is built)"},
    {Id::kRefused, "no-default-middleware", 0, "", S::kRefused, St::kRefused,
     "not supported yet (no middleware is built)"},
    // Flags of newer reference releases (0.003): refused by name rather than called unknown.
    {Id::kRefused, "error-log", 0, "FILE", S::kRefused, St::kRefused,
     "not supported yet (diagnostics go to stderr)"},
    {Id::kRefused, "log-format", 0, "FMT", S::kRefused, St::kRefused,
     "not supported yet (diagnostics are text)"},
    {Id::kRefused, "max-disconnect-receives", 0, "N", S::kRefused, St::kRefused,
     "not supported yet"},
    {Id::kRefused, "read-buffer-size", 0, "BYTES", S::kRefused, St::kRefused, "not supported yet"},
    {Id::kRefused, "write-buffer-size", 0, "BYTES", S::kRefused, St::kRefused, "not supported yet"},
};

const Flag* find_long(std::string_view name) {
  for (const Flag& f : kFlags) {
    if (!f.long_name.empty() && f.long_name == name) return &f;
  }
  return nullptr;
}

const Flag* find_short(char c) {
  for (const Flag& f : kFlags) {
    if (f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

// How errors name a flag: the long name, with the short one in front when that was typed, so
// `-p abc` reads "-p/--port: ...".
std::string display_name(const Flag& f, bool used_short) {
  if (f.long_name.empty()) return std::string{'-', f.short_name};
  std::string name = "--" + std::string(f.long_name);
  if (used_short && f.short_name != 0) name = std::string{'-', f.short_name, '/'} + name;
  return name;
}

std::string quoted(std::string_view v) {
  // Built by appends: GCC 12 at -O3 warns falsely (-Wrestrict) about "'" + std::string.
  std::string out;
  out.reserve(v.size() + 2);
  out += '\'';
  out += v;
  out += '\'';
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Digits only: the reference's Getopt `=i` takes a sign, but a negative count or timeout is
// always a mistake here, and `+5`/` 5` are typos we would rather name than guess.
enum class NumError { kNone, kSyntax, kTooLarge };
NumError parse_u64(std::string_view s, uint64_t& out) {
  if (!all_digits(s)) return NumError::kSyntax;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec == std::errc::result_out_of_range) return NumError::kTooLarge;
  if (ec != std::errc{} || end != s.data() + s.size()) return NumError::kSyntax;
  return NumError::kNone;
}

std::optional<int> parse_port(std::string_view s) {
  uint64_t n = 0;
  if (parse_u64(s, n) != NumError::kNone || n > 65535) return std::nullopt;
  return int(n);
}

// An IPv6 literal as getaddrinfo takes it, zone included (fe80::1%eth0).
bool is_ipv6(std::string_view s) {
  std::string_view addr = s.substr(0, s.find('%'));
  if (addr.size() != s.size() && addr.size() + 1 == s.size()) return false;  // empty zone
  std::string text(addr);
  in6_addr out{};
  return inet_pton(AF_INET6, text.c_str(), &out) == 1;
}

// --host value: a name or literal, IPv6 literals with or without brackets; stored bare.
std::optional<std::string> normalize_host(std::string_view h, std::string* why) {
  if (h.empty()) {
    *why = "empty host";
    return std::nullopt;
  }
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']' || !is_ipv6(h.substr(1, h.size() - 2))) {
      *why = quoted(h) + " is not a bracketed IPv6 address";
      return std::nullopt;
    }
    return std::string(h.substr(1, h.size() - 2));
  }
  if (h.find(':') != std::string_view::npos && !is_ipv6(h)) {
    *why = quoted(h) + " is not a valid IPv6 address";
    return std::nullopt;
  }
  return std::string(h);
}

bool unix_spec(std::string_view path, ListenSpec& out, std::string* why) {
  if (path.empty()) {
    *why = "empty socket path";
    return false;
  }
  if (path.size() > kMaxUnixPath) {
    *why = "socket path is " + std::to_string(path.size()) + " bytes, more than the " +
           std::to_string(kMaxUnixPath) + " a unix socket allows";
    return false;
  }
  out = ListenSpec{};
  out.kind = ListenSpec::Kind::kUnix;
  out.path = std::string(path);
  return true;
}

// --listen SPEC as the reference reads it (PAGI.md §5.2): `/…` or `.…` is a path even with
// colons; `[v6]:port` and `host:port` are TCP; anything else is a path. Where the reference
// would quietly make a unix socket out of an obvious TCP typo (`[::1]`, `:80`, `::1:80`) we
// stop instead.
bool parse_listen(std::string_view s, ListenSpec& out, std::string* why) {
  if (s.empty()) {
    *why = "empty listen address";
    return false;
  }
  if (s.front() == '/' || s.front() == '.') return unix_spec(s, out, why);

  auto tcp = [&](std::string_view host, std::string_view port) {
    std::optional<int> p = parse_port(port);
    if (!p) {
      *why = quoted(s) + ": port " + quoted(port) + " is not a valid port (0-65535)";
      return false;
    }
    out = ListenSpec{};
    out.kind = ListenSpec::Kind::kTcp;
    out.host = std::string(host);
    out.port = *p;
    return true;
  };

  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':' ||
        !all_digits(s.substr(close + 2))) {
      *why = quoted(s) + " is not [IPV6]:PORT";
      return false;
    }
    std::string_view host = s.substr(1, close - 1);
    if (!is_ipv6(host)) {
      *why = quoted(s) + ": " + quoted(host) + " is not a valid IPv6 address";
      return false;
    }
    return tcp(host, s.substr(close + 2));
  }

  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos && all_digits(s.substr(colon + 1))) {
    std::string_view host = s.substr(0, colon);
    if (host.empty()) {
      *why = quoted(s) + " has no host (use 0.0.0.0:PORT or [::]:PORT)";
      return false;
    }
    if (host.find(':') != std::string_view::npos) {
      *why = quoted(s) + ": an IPv6 address needs brackets, as in [::1]:8080";
      return false;
    }
    return tcp(host, s.substr(colon + 1));
  }
  return unix_spec(s, out, why);
}

std::string describe(const ListenSpec& l) {
  if (l.kind == ListenSpec::Kind::kUnix) return l.path;
  if (l.host.find(':') != std::string::npos) {
    return "[" + l.host + "]:" + std::to_string(l.port);
  }
  return l.host + ":" + std::to_string(l.port);
}

class Parser {
 public:
  ParseOutcome run(int argc, const char* const* argv);

 private:
  bool option(std::string_view arg, int argc, const char* const* argv, int& i);
  bool apply(const Flag& flag, const std::string& shown, std::string_view value);
  bool finish();
  bool resolve_app();
  bool resolve_listeners();

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  template <typename T>
  bool number(const std::string& shown, std::string_view v, uint64_t min, uint64_t max, T& out);
  template <typename T>
  bool choice(const std::string& shown, std::string_view v,
              std::initializer_list<std::pair<std::string_view, T>> choices, T& out);

  Options o_;
  std::string error_;
  std::vector<std::string> positionals_;
  bool app_flag_ = false;  // -a/--app given
  bool forwarded_given_ = false;
  std::string host_{kDefaultHost};
  int port_ = kDefaultPort;
  bool host_given_ = false;
  bool port_given_ = false;
  std::optional<std::string> socket_;
  std::optional<int> socket_mode_;
  std::vector<ListenSpec> listen_;
};

template <typename T>
bool Parser::number(const std::string& shown, std::string_view v, uint64_t min, uint64_t max,
                    T& out) {
  uint64_t n = 0;
  NumError e = parse_u64(v, n);
  if (e == NumError::kSyntax) {
    return fail(shown + ": " + quoted(v) + " is not a non-negative integer");
  }
  if (e == NumError::kTooLarge || n > max) {
    return fail(shown + ": " + quoted(v) + " is too large (at most " + std::to_string(max) + ")");
  }
  if (n < min) {
    return fail(shown + ": " + quoted(v) + " is too small (at least " + std::to_string(min) + ")");
  }
  out = T(n);
  return true;
}

template <typename T>
bool Parser::choice(const std::string& shown, std::string_view v,
                    std::initializer_list<std::pair<std::string_view, T>> choices, T& out) {
  std::string names;
  for (const auto& [name, value] : choices) {
    if (name == v) {
      out = value;
      return true;
    }
    names += names.empty() ? "" : ", ";
    names += name;
  }
  return fail(shown + ": " + quoted(v) + " is not one of " + names);
}

ParseOutcome Parser::run(int argc, const char* const* argv) {
  bool ok = true;
  bool options_done = false;
  for (int i = 1; ok && i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (options_done || arg.size() < 2 || arg.front() != '-') {
      positionals_.emplace_back(arg);  // includes "-" alone, as Getopt::Long does
    } else if (arg == "--") {
      options_done = true;
    } else {
      ok = option(arg, argc, argv, i);
    }
  }
  if (ok) ok = finish();

  ParseOutcome out;
  if (ok) {
    out.options = std::move(o_);
  } else {
    out.error = std::move(error_);
    out.exit_code = 2;
  }
  return out;
}

// One option argument. Spellings follow the reference's Getopt::Long (no bundling):
// `--name`, `-name`, `--name=value`, `-x value`, plus cuddled `-xVALUE`. `-M`, `-I` and `-e`
// take everything after the letter, before any other reading (the reference splits them first,
// so `-env` is `-e nv` there too).
bool Parser::option(std::string_view arg, int argc, const char* const* argv, int& i) {
  const Flag* flag = nullptr;
  bool used_short = false;
  std::optional<std::string_view> inline_value;
  std::string_view given;  // the flag as typed, without any value

  std::string_view body = arg.substr(1);
  if (body.front() == '-') {
    body.remove_prefix(1);
    std::string_view name = body.substr(0, body.find('='));
    if (name.size() < body.size()) inline_value = body.substr(name.size() + 1);
    given = arg.substr(0, 2 + name.size());
    if (name.size() == 1) {
      flag = find_short(name.front());
      used_short = true;
    } else {
      flag = find_long(name);
    }
  } else if (body.size() > 1 &&
             (body.front() == 'M' || body.front() == 'I' || body.front() == 'e')) {
    flag = find_short(body.front());
    used_short = true;
    inline_value = body.substr(1);
    given = arg.substr(0, 2);
  } else {
    std::string_view name = body.substr(0, body.find('='));
    if (name.size() > 1) flag = find_long(name);
    if (flag != nullptr) {
      if (name.size() < body.size()) inline_value = body.substr(name.size() + 1);
      given = arg.substr(0, 1 + name.size());
    } else {
      given = arg.substr(0, 1 + name.size());
      flag = find_short(body.front());
      used_short = true;
      if (flag != nullptr && body.size() > 1) {
        if (body[1] == '=') {
          inline_value = body.substr(2);
        } else if (!flag->metavar.empty()) {
          inline_value = body.substr(1);
        } else {
          flag = nullptr;  // `-qx`: no bundling, as in the reference
        }
      }
    }
  }
  if (flag == nullptr) {
    return fail(std::string(given.find_first_not_of('-') == std::string_view::npos ? arg : given) +
                ": unknown option");
  }

  std::string shown = display_name(*flag, used_short);
  if (flag->status == Status::kRefused) return fail(shown + ": " + std::string(flag->help));

  std::string_view value;
  if (flag->metavar.empty()) {
    if (inline_value) return fail(shown + ": takes no value");
  } else if (inline_value) {
    value = *inline_value;
  } else if (i + 1 < argc && argv[i + 1] != nullptr) {
    // A required value is taken even if it starts with '-' (Getopt::Long does the same), so
    // `-e '-1'` works; `--port --quiet` then fails on the port instead.
    value = argv[++i];
  } else {
    return fail(shown + ": missing value (" + std::string(flag->metavar) + ")");
  }
  return apply(*flag, shown, value);
}

bool Parser::apply(const Flag& flag, const std::string& shown, std::string_view v) {
  auto non_empty = [&](std::string& out) {
    if (v.empty()) return fail(shown + ": empty value");
    out = std::string(v);
    return true;
  };
  switch (flag.id) {
    case Id::kApp: app_flag_ = true; return non_empty(o_.app);
    case Id::kEval: return non_empty(o_.eval_code.emplace());
    case Id::kModule: return non_empty(o_.modules.emplace_back());
    case Id::kLib: return non_empty(o_.libs.emplace_back());

    case Id::kHost: {
      std::string why;
      std::optional<std::string> host = normalize_host(v, &why);
      if (!host) return fail(shown + ": " + why);
      host_ = std::move(*host);
      host_given_ = true;
      return true;
    }
    case Id::kPort: {
      std::optional<int> port = parse_port(v);
      if (!port) return fail(shown + ": " + quoted(v) + " is not a valid port (0-65535)");
      port_ = *port;
      port_given_ = true;
      return true;
    }
    case Id::kSocket: {
      ListenSpec spec;
      std::string why;
      if (!unix_spec(v, spec, &why)) return fail(shown + ": " + why);
      socket_ = std::string(v);
      return true;
    }
    case Id::kSocketMode: {
      bool ok = v.size() == 4 && v[0] == '0';
      for (size_t k = 1; ok && k < v.size(); ++k) ok = v[k] >= '0' && v[k] <= '7';
      if (!ok) return fail(shown + ": " + quoted(v) + " is not an octal mode like 0660");
      socket_mode_ = ((v[1] - '0') << 6) | ((v[2] - '0') << 3) | (v[3] - '0');
      return true;
    }
    case Id::kListen: {
      std::string why;
      if (!parse_listen(v, listen_.emplace_back(), &why)) return fail(shown + ": " + why);
      return true;
    }
    case Id::kBacklog: return number(shown, v, 1, kIntMax, o_.listener_backlog);
    case Id::kReuseport: return true;  // what every core does anyway
    case Id::kProxyHeaders: o_.proxy_headers = true; return true;
    case Id::kForwardedAllowIps: {
      std::string why;
      if (!http::ProxyTrust::parse(v, &why)) return fail(shown + ": " + why);
      o_.forwarded_allow_ips = std::string(v);
      forwarded_given_ = true;
      return true;
    }

    case Id::kCores: return number(shown, v, 1, kMaxCores, o_.cores);
    case Id::kWorkers:
      // The reference runs one process for -w 0 and -w 1 alike; here that is one core.
      if (!number(shown, v, 0, kMaxCores, o_.cores)) return false;
      if (o_.cores == 0) o_.cores = 1;
      return true;
    case Id::kMaxConnections: return number(shown, v, 0, kIntMax, o_.max_connections);
    case Id::kMaxBodySize: return number(shown, v, 0, kUint64Max, o_.max_body_size);
    case Id::kMaxHeaderSize: return number(shown, v, 1, kIntMax, o_.max_header_size);
    case Id::kMaxHeaderCount: return number(shown, v, 1, kIntMax, o_.max_header_count);
    case Id::kMaxReceiveQueue: return number(shown, v, 1, kIntMax, o_.max_receive_queue);
    case Id::kMaxWsFrameSize: return number(shown, v, 1, kIntMax, o_.max_ws_frame_size);
    case Id::kMaxWsMessageSize: return number(shown, v, 1, kUint64Max, o_.max_ws_message_size);
    case Id::kWsCompression: o_.ws_compression = true; return true;
    case Id::kNoWsCompression: o_.ws_compression = false; return true;
    case Id::kMaxRequests: return number(shown, v, 0, kIntMax, o_.max_requests);
    case Id::kWriteHighWatermark: return number(shown, v, 1, kIntMax, o_.write_high_watermark);
    case Id::kWriteLowWatermark: return number(shown, v, 0, kIntMax, o_.write_low_watermark);
    case Id::kSyncFileThreshold: return number(shown, v, 0, kIntMax, o_.sync_file_threshold);

    case Id::kTimeout: return number(shown, v, 0, kIntMax, o_.timeout);
    case Id::kShutdownTimeout: return number(shown, v, 0, kIntMax, o_.shutdown_timeout);
    case Id::kRequestTimeout: return number(shown, v, 0, kIntMax, o_.request_timeout);
    case Id::kWsIdleTimeout: return number(shown, v, 0, kIntMax, o_.ws_idle_timeout);
    case Id::kSseIdleTimeout: return number(shown, v, 0, kIntMax, o_.sse_idle_timeout);
    case Id::kHeartbeatTimeout: return number(shown, v, 0, kIntMax, o_.heartbeat_timeout);
    case Id::kLifespanStartupTimeout:
      return number(shown, v, 0, kIntMax, o_.lifespan_startup_timeout);
    case Id::kLifespan:
      return choice<LifespanMode>(
          shown, v,
          {{"auto", LifespanMode::kAuto}, {"on", LifespanMode::kOn}, {"off", LifespanMode::kOff}},
          o_.lifespan);

    case Id::kLogLevel:
      return choice<LogLevel>(shown, v,
                              {{"debug", LogLevel::kDebug},
                               {"info", LogLevel::kInfo},
                               {"warn", LogLevel::kWarn},
                               {"error", LogLevel::kError}},
                              o_.log_level);
    case Id::kQuiet: o_.quiet = true; return true;
    case Id::kEnv: {
      std::string_view mode;
      if (!choice<std::string_view>(
              shown, v,
              {{"development", "development"}, {"production", "production"}, {"none", "none"}},
              mode)) {
        return false;
      }
      o_.env_mode = std::string(mode);
      return true;
    }
    case Id::kAccessLog: return non_empty(o_.access_log.emplace());
    case Id::kNoAccessLog: o_.no_access_log = true; return true;
    case Id::kPidFile: return non_empty(o_.pid_file.emplace());
    case Id::kDaemonize: o_.daemonize = true; return true;
    case Id::kUser: return non_empty(o_.user.emplace());
    case Id::kGroup: return non_empty(o_.group.emplace());
    case Id::kAccessLogFormat: return non_empty(o_.access_log_format);
    case Id::kMetricsListen: {
      std::string why;
      ListenSpec& spec = o_.metrics_listen.emplace();
      bool ok = v.rfind("unix:", 0) == 0 ? unix_spec(v.substr(5), spec, &why)
                                         : parse_listen(v, spec, &why);
      if (ok && spec.kind != ListenSpec::Kind::kTcp && v.rfind("unix:", 0) != 0) {
        why = quoted(v) + " is not HOST:PORT, [IPV6]:PORT or unix:PATH";
        ok = false;
      }
      if (!ok) return fail(shown + ": " + why);
      return true;
    }
    case Id::kServer:
      if (v != "PAGI::Server") {
        return fail(shown + ": " + quoted(v) +
                    " is not supported (this binary is the server; only PAGI::Server)");
      }
      return true;
    case Id::kHelp: o_.show_help = true; return true;
    case Id::kVersion: o_.show_version = true; return true;
    case Id::kRefused: break;  // stopped in option()
  }
  return fail(shown + ": " + std::string(flag.help));
}

bool Parser::finish() {
  // --help and --version answer without an app or a consistent set of listeners.
  if (o_.show_help || o_.show_version) return true;
  if (!resolve_app() || !resolve_listeners()) return false;
  if (o_.access_log && o_.no_access_log) {
    return fail("--no-access-log: cannot be combined with --access-log");
  }
  if (forwarded_given_ && !o_.proxy_headers) {
    return fail("--forwarded-allow-ips: applies with --proxy-headers, which is not given");
  }
  if (o_.metrics_listen) {
    // A TCP port shared with an app listener would split connections between the two
    // (SO_REUSEPORT); a unix path would be taken over.
    const ListenSpec& m = *o_.metrics_listen;
    for (const ListenSpec& l : o_.listeners) {
      bool same = m.kind == l.kind && (m.kind == ListenSpec::Kind::kUnix
                                           ? m.path == l.path
                                           : m.port != 0 && m.port == l.port);
      if (same) {
        return fail("--metrics-listen: " + quoted(describe(m)) + " is also an app listener");
      }
    }
  }
  if (o_.write_low_watermark >= o_.write_high_watermark) {
    return fail("--write-low-watermark (" + std::to_string(o_.write_low_watermark) +
                ") must be below --write-high-watermark (" +
                std::to_string(o_.write_high_watermark) + ")");
  }
  return true;
}

// Positionals as the reference's runner reads them (PAGI.md §1.2): the first one without `=`
// is the app unless -a/-e named it; `key=value` ones are app arguments. The reference warns
// about and drops stray words, or serves a directory when key=value comes first; both would
// run something other than what was typed, so they are errors here.
bool Parser::resolve_app() {
  if (o_.eval_code && app_flag_) return fail("-e: cannot be combined with -a/--app");
  const char* app_source = o_.eval_code ? "-e" : app_flag_ ? "-a/--app" : nullptr;
  std::string first_key_value;
  bool app_positional = false;
  for (std::string& p : positionals_) {
    if (p.find('=') != std::string::npos) {
      if (first_key_value.empty() && !app_source && !app_positional) first_key_value = p;
      o_.app_args.push_back(std::move(p));
      continue;
    }
    if (app_source) {
      return fail("unexpected argument " + quoted(p) + ": the app is already given by " +
                  app_source);
    }
    if (app_positional) {
      return fail("unexpected argument " + quoted(p) + " after the app " + quoted(o_.app) +
                  " (only key=value arguments may follow it)");
    }
    if (!first_key_value.empty()) {
      return fail(quoted(first_key_value) + " comes before the app " + quoted(p) +
                  "; key=value arguments must follow the app");
    }
    if (p.empty()) return fail("empty app name");
    o_.app = std::move(p);
    app_positional = true;
  }
  if (!app_source && !app_positional) {
    // The reference would serve the current directory through PAGI-Tools, which is Perl
    // middleware this server does not have.
    return fail(
        "no application given (for example: pagi-server native:hello, or pagi-server app.pl)");
  }
  return true;
}

bool Parser::resolve_listeners() {
  if (socket_) {
    if (!listen_.empty()) return fail("--socket: cannot be combined with --listen");
    if (host_given_ || port_given_) {
      return fail(std::string("--socket: cannot be combined with ") + (host_given_ && port_given_
                                                                           ? "--host and --port"
                                                                       : host_given_ ? "--host"
                                                                                     : "--port"));
    }
    ListenSpec& l = o_.listeners.emplace_back();
    l.kind = ListenSpec::Kind::kUnix;
    l.path = *socket_;
  } else if (!listen_.empty()) {
    if (host_given_ || port_given_) {
      return fail(std::string("--listen: cannot be combined with ") + (host_given_ && port_given_
                                                                           ? "--host and --port"
                                                                       : host_given_ ? "--host"
                                                                                     : "--port"));
    }
    o_.listeners = std::move(listen_);
  } else {
    ListenSpec& l = o_.listeners.emplace_back();
    l.kind = ListenSpec::Kind::kTcp;
    l.host = host_;
    l.port = port_;
  }

  bool any_unix = false;
  for (ListenSpec& l : o_.listeners) {
    if (l.kind != ListenSpec::Kind::kUnix) continue;
    any_unix = true;
    l.mode = socket_mode_;
  }
  if (socket_mode_ && !any_unix) {
    return fail(
        "--socket-mode: applies to unix sockets, and no --socket or --listen PATH is given");
  }

  // The second bind of the same address would fail (TCP) or steal the first socket (unix).
  // Port 0 twice is two different ephemeral ports.
  for (size_t a = 0; a < o_.listeners.size(); ++a) {
    for (size_t b = 0; b < a; ++b) {
      const ListenSpec& x = o_.listeners[a];
      const ListenSpec& y = o_.listeners[b];
      bool same = x.kind == y.kind && (x.kind == ListenSpec::Kind::kUnix
                                           ? x.path == y.path
                                           : x.port != 0 && x.port == y.port && x.host == y.host);
      if (same) return fail("--listen: " + quoted(describe(x)) + " is given twice");
    }
  }
  return true;
}

// Default shown in --help, taken from Options itself so the two cannot drift.
std::string default_text(Id id) {
  const Options d;
  auto n = [](auto v) { return std::to_string(v); };
  switch (id) {
    case Id::kHost: return std::string(kDefaultHost);
    case Id::kPort: return n(kDefaultPort);
    case Id::kSocketMode: return "umask";
    case Id::kBacklog: return n(d.listener_backlog);
    case Id::kMaxConnections: return n(d.max_connections);
    case Id::kMaxBodySize: return n(d.max_body_size);
    case Id::kMaxHeaderSize: return n(d.max_header_size);
    case Id::kMaxHeaderCount: return n(d.max_header_count);
    case Id::kMaxReceiveQueue: return n(d.max_receive_queue);
    case Id::kMaxWsFrameSize: return n(d.max_ws_frame_size);
    case Id::kMaxWsMessageSize: return n(d.max_ws_message_size);
    case Id::kMaxRequests: return n(d.max_requests);
    case Id::kWriteHighWatermark: return n(d.write_high_watermark);
    case Id::kWriteLowWatermark: return n(d.write_low_watermark);
    case Id::kSyncFileThreshold: return n(d.sync_file_threshold);
    case Id::kTimeout: return n(d.timeout);
    case Id::kShutdownTimeout: return n(d.shutdown_timeout);
    case Id::kRequestTimeout: return n(d.request_timeout);
    case Id::kWsIdleTimeout: return n(d.ws_idle_timeout);
    case Id::kSseIdleTimeout: return n(d.sse_idle_timeout);
    case Id::kHeartbeatTimeout: return n(d.heartbeat_timeout);
    case Id::kLifespanStartupTimeout: return n(d.lifespan_startup_timeout);
    case Id::kLifespan: return "auto";
    case Id::kLogLevel: return "info";
    case Id::kAccessLogFormat: return d.access_log_format;
    case Id::kForwardedAllowIps: return d.forwarded_allow_ips;
    case Id::kServer: return "PAGI::Server";
    default: return {};
  }
}

}  // namespace

ParseOutcome parse(int argc, const char* const* argv) {
  // Nothing below throws on purpose; only allocation can, and then there is nothing to report.
  return Parser().run(argc, argv);
}

std::string help_text() {
  constexpr size_t kNameWidth = 34;
  static constexpr std::pair<Section, std::string_view> kTitles[] = {
      {Section::kApp, "App"},
      {Section::kListeners, "Listeners"},
      {Section::kLimits, "Cores and limits"},
      {Section::kTimeouts, "Timeouts (seconds) and lifespan"},
      {Section::kLogging, "Logging and other"},
      {Section::kRefused, "Flags of the reference server refused with an error"},
  };
  std::string out =
      "Usage: pagi-server [options] [app] [key=value ...]\n"
      "\n"
      "Runs a PAGI application on one io_uring event loop per CPU core.\n"
      "app: a Perl file (app.pl), a module (My::App key=value ...), or a native app:\n"
      "     native:hello, native:echo or native:/path/libapp.so[?arg].\n"
      "Values: --flag VALUE or --flag=VALUE; short flags also as -p8080. `--` ends the options.\n"
      "Flags marked [not yet] are parsed but refused at start-up until their feature is built.\n";
  for (const auto& [section, title] : kTitles) {
    out += "\n";
    out += title;
    out += ":\n";
    for (const Flag& f : kFlags) {
      if (f.section != section) continue;
      std::string names = "  ";
      if (f.short_name != 0) names += std::string{'-', f.short_name};
      if (f.short_name != 0 && !f.long_name.empty()) names += ", ";
      if (!f.long_name.empty()) names.append("--").append(f.long_name);
      if (!f.metavar.empty()) names.append(" ").append(f.metavar);
      names.resize(std::max(names.size() + 1, kNameWidth), ' ');
      out += names;
      out += f.help;
      if (std::string d = default_text(f.id); !d.empty()) out += " (default: " + d + ")";
      if (f.status == Status::kLater) out += " [not yet]";
      out += "\n";
    }
  }
  out +=
      "\nSignals and service managers:\n"
      "  SIGTERM, SIGINT                 stop gracefully: finish requests, lifespan shutdown\n"
      "  SIGHUP, SIGUSR2                 reload: a new process inherits the sockets and loads the\n"
      "                                  app again; the old one drains once it serves\n"
      "  LISTEN_FDS/LISTEN_PID           systemd socket activation: sockets matching --socket,\n"
      "                                  --listen or --host/--port are used instead of bound\n"
      "  NOTIFY_SOCKET                   systemd Type=notify: READY, RELOADING, STOPPING\n";
  return out;
}

std::string version_line() {
  return "pagi-server " PAGI_VERSION " (PAGI 0.3, PAGI::Server compatible)";
}

}  // namespace pagi::cli
