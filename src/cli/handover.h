// What passes between this process and the ones before and after it: the sockets it is
// handed (systemd socket activation, PAGI_REUSE from the process that reloaded into this one),
// matched to the configured listeners, and the successor a reload starts with them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cli/options.h"
#include "server/inherited.h"
#include "server/listener.h"

namespace pagi::cli {

// The reload hand-over's own environment variables (PAGI_REUSE is the reference's).
constexpr const char* kReloadFdEnv = "PAGI_RELOAD_FD";  // pipe the new process reports on
constexpr const char* kSystemdSocketsEnv = "PAGI_SYSTEMD_SOCKETS";  // unix paths systemd owns

// Sockets handed to this process: by systemd (socket activation) and by the process that
// started this one in a reload (PAGI_REUSE). All of them CLOEXEC from here on.
struct HandedSockets {
  std::vector<server::InheritedSocket> pool;
  std::vector<std::string> systemd_paths;  // unix socket files systemd made: never removed
};

// Takes the sockets from the environment (LISTEN_FDS..., PAGI_REUSE, PAGI_SYSTEMD_SOCKETS),
// removing the variables.
HandedSockets take_handed_sockets();

// Opens one listener, adopting a handed socket where one matches (by ip:port or unix path; a
// --port 0 listener adopts the handed socket on its host, whatever its port). `cores`: how
// many SO_REUSEPORT sockets a TCP listener that is bound here gets; `defer_accept`: see
// server::open_tcp_listener (an adopted socket keeps the options it has).
bool open_listener(const ListenSpec& spec, int cores, int backlog, bool defer_accept,
                   HandedSockets& handed, server::Listener& l, std::string* error);

// The configured listeners (see open_listener).
bool open_listeners(const Options& o, int cores, bool defer_accept, HandedSockets& handed,
                    std::vector<server::Listener>& out, std::string* error);

// Handed sockets nothing matched are closed with a warning.
void close_unclaimed(HandedSockets& handed);

// What a reload needs to start this program again as it was started.
struct Launch {
  std::string exe;  // the binary's path at start (a replaced binary is picked up)
  std::string cwd;  // the directory we were started in (relative paths in argv)
  std::vector<std::string> argv;
};

// Forks and execs the successor: same binary, arguments and environment, plus PAGI_REUSE
// naming every listening fd (CLOEXEC cleared in the child only) and PAGI_RELOAD_FD naming the
// write end of a pipe whose read end is returned in *ready_fd. -1 on failure.
pid_t spawn_successor(const Launch& launch, const std::vector<server::Listener>& listeners,
                      int* ready_fd, std::string* error);

}  // namespace pagi::cli
