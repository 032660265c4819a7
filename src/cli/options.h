// Command-line options of pagi-server: the reference server's flags (PAGI.md §5.1–5.2) plus
// ours (--cores). Parsing is pure (argv in, Options or an error out) so it is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagi::cli {

struct ListenSpec {
  enum class Kind { kTcp, kUnix } kind = Kind::kTcp;
  std::string host;           // TCP: IPv4/IPv6 literal or name, without brackets
  int port = 0;               // TCP: 0 = ephemeral
  std::string path;           // unix: socket path as given
  std::optional<int> mode;    // unix: chmod after bind (from --socket-mode)

  friend bool operator==(const ListenSpec&, const ListenSpec&) = default;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LifespanMode { kAuto, kOn, kOff };

struct Options {
  // What to run: "native:hello", "native:echo", "native:/x/libapp.so[?arg]", a Perl file,
  // or a Perl module name. Perl apps belong to later work (see parse()).
  std::string app;                       // positional, or -a/--app
  std::vector<std::string> app_args;     // positional key=value after the app
  std::optional<std::string> eval_code;  // -e
  std::vector<std::string> modules;      // -M (repeatable)
  std::vector<std::string> libs;         // -I/--lib (repeatable)

  std::vector<ListenSpec> listeners;     // resolved from --host/--port, --socket, --listen
  int cores = 0;                         // --cores / -w/--workers; 0 = online CPUs
  int listener_backlog = 2048;           // -b/--listener-backlog

  // Limits (PAGI.md §5.1). 0 where noted = unlimited/default.
  int max_connections = 0;               // per core; 0 = default 1000
  uint64_t max_body_size = 10'000'000;   // 0 = unlimited
  int max_header_size = 8192;
  int max_header_count = 100;
  int max_receive_queue = 1000;
  int max_ws_frame_size = 65536;
  uint64_t max_ws_message_size = uint64_t{8} << 20;  // 128 frames of 64 KiB
  bool ws_compression = true;                        // permessage-deflate when offered
  int max_requests = 0;
  int write_high_watermark = 65536;
  int write_low_watermark = 16384;
  int sync_file_threshold = 65536;

  // Timeouts in seconds; 0 disables where the reference allows it.
  int timeout = 60;
  int shutdown_timeout = 30;
  int request_timeout = 0;
  int ws_idle_timeout = 0;
  int sse_idle_timeout = 0;
  int heartbeat_timeout = 50;
  int lifespan_startup_timeout = 30;
  LifespanMode lifespan = LifespanMode::kAuto;

  LogLevel log_level = LogLevel::kInfo;
  bool quiet = false;
  std::string env_mode;                  // -E/--env: development|production|none ("" = auto)

  // Access log (written by later work; parsed and validated now).
  std::optional<std::string> access_log;  // --access-log FILE
  bool no_access_log = false;

  std::optional<std::string> pid_file;  // --pid FILE: our pid, written at start, removed at exit
  std::string access_log_format = "clf";

  bool show_help = false;
  bool show_version = false;

  // Lets tests compare a whole parse result with the expected one.
  friend bool operator==(const Options&, const Options&) = default;
};

struct ParseOutcome {
  std::optional<Options> options;  // set on success
  std::string error;               // set on failure: one line naming the flag, no trailing \n
  int exit_code = 0;               // 2 on failure
};

// Parses argv[1..]. Never exits or prints; main() does that.
ParseOutcome parse(int argc, const char* const* argv);

// The --help text and the --version line.
std::string help_text();
std::string version_line();

}  // namespace pagi::cli
