// The process itself: --user/--group, -D, the pid file, and exit statuses for log lines.
#pragma once

#include <sys/types.h>

#include <string>

#include "cli/options.h"

namespace pagi::cli {

// --user/--group resolved before anything is bound (a typo fails at once) and applied after
// the listeners are open and before the app is loaded.
struct Identity {
  bool wanted = false;  // --user or --group given
  bool change = false;  // false: already running as them (a reloaded server)
  bool set_uid = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;  // for initgroups; empty for a numeric uid without a passwd entry
};

// Resolves --user/--group into `id` (nothing wanted: returns true with id.wanted false).
bool resolve_identity(const Options& o, Identity& id, std::string* error);

// Group first (supplementary groups, then the gid), then the uid; checked by trying to get
// root back.
bool drop_privileges(const Identity& id, std::string* error);

// -D: the foreground process waits for the daemon (forked twice, in its own session) to say it
// serves, and exits 0 then, or 1 if the daemon exits first (its messages went to our stderr,
// which it keeps until it serves). Returns -1 in the daemon, with *ready_fd set; else the
// foreground process's exit code.
int daemonize(int* ready_fd);

// Writes this process's pid and a newline to PATH (errno set on failure).
bool write_pid_file(const std::string& path);

// "exited with status N", "was killed by SIGX" or "stopped", from a waitpid status.
std::string describe_exit(int status);

}  // namespace pagi::cli
