// Listening sockets, opened by the supervisor before any core starts so that a busy port or
// a live unix socket fails start-up with a clear message. TCP: one SO_REUSEPORT socket per
// core (the kernel spreads connections, no shared accept queue). Unix: one socket that every
// core accepts from.
#pragma once

#include <string>
#include <vector>

namespace pagi::server {

struct Listener {
  bool is_unix = false;
  std::string host;   // TCP: as bound (IP literal, no brackets)
  int port = 0;       // TCP: the bound port (resolved when 0 was asked)
  std::string path;   // unix
  bool wildcard = false;  // TCP bound to 0.0.0.0 / ::
  std::vector<int> fds;   // TCP: one per core; unix: a single fd shared by all cores

  // Text for the banner: http://HOST:PORT/ or unix:PATH.
  std::string describe() const;
};

// Opens `cores` SO_REUSEPORT sockets on host:port (port 0: the kernel picks one, and the
// other cores bind the same). Sets TCP_NODELAY (accepted sockets inherit it).
bool open_tcp_listener(const std::string& host, int port, int cores, int backlog, Listener& out,
                       std::string* error);

// Binds a unix socket. A stale socket file (nobody accepting) is removed first; a live one,
// or a path that is not a socket, is an error. `mode` >= 0: chmod after bind.
bool open_unix_listener(const std::string& path, int mode, int backlog, Listener& out,
                        std::string* error);

// Closes the fds and removes a unix socket file we created.
void close_listener(Listener& l, bool unlink_socket);

}  // namespace pagi::server
