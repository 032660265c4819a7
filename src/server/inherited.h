// Listening sockets handed to us instead of bound by us: by systemd socket activation
// (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES) or by a previous pagi-server during a reload
// (PAGI_REUSE, the reference server's format). Start-up only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pagi::server {

struct InheritedSocket {
  int fd = -1;
  bool is_unix = false;
  std::string host;  // TCP: numeric, no brackets
  int port = 0;
  std::string path;  // unix
  std::string origin;  // "systemd" or "PAGI_REUSE", for log lines
};

// One PAGI_REUSE entry: `host:port:fd`, `[v6]:port:fd` or `unix:/path:fd`, comma-separated.
struct ReuseEntry {
  bool is_unix = false;
  std::string host;
  int port = 0;
  std::string path;
  int fd = -1;
};

std::optional<std::vector<ReuseEntry>> parse_pagi_reuse(std::string_view text,
                                                        std::string* error);
std::string format_pagi_reuse(const std::vector<ReuseEntry>& entries);

// Describes a listening socket with getsockname; false if it is not a listening stream socket
// we can serve (wrong family or type).
bool describe_socket(int fd, InheritedSocket& out);

// The sockets systemd passed, if LISTEN_PID is ours; the LISTEN_* variables are removed from
// the environment either way (so children and reloads do not see them).
std::vector<InheritedSocket> take_systemd_sockets(std::string* warning);

// The sockets a previous process passed in PAGI_REUSE (removed from the environment). Entries
// whose fd does not describe the socket they claim are dropped with a warning.
std::vector<InheritedSocket> take_reused_sockets(std::string* warning);

// Finds and removes from `pool` every socket matching a TCP host:port (host numeric, as
// bound) or a unix path. Several fds may match one TCP address (one per core). Port 0 (an
// ephemeral port asked for) matches the port of the host's first socket in the pool.
std::vector<int> claim_tcp(std::vector<InheritedSocket>& pool, const std::string& host, int port);
std::vector<int> claim_unix(std::vector<InheritedSocket>& pool, const std::string& path);

}  // namespace pagi::server
