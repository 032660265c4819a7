// Listening sockets, opened by the supervisor before any core starts so that a busy port or
// a live unix socket fails start-up with a clear message. TCP: one SO_REUSEPORT socket per
// core (the kernel spreads connections, no shared accept queue). Unix: one socket that every
// core accepts from. Sockets handed over by systemd or a reloading parent are adopted as is.
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
  // Inherited from systemd (socket activation): its socket file is systemd's, never removed.
  bool from_systemd = false;

  // Text for the banner: http://HOST:PORT/ or unix:PATH.
  std::string describe() const;
};

// Opens `cores` SO_REUSEPORT sockets on host:port (port 0: the kernel picks one, and the
// other cores bind the same). Sets TCP_NODELAY (accepted sockets inherit it) and, with
// `defer_accept`, TCP_DEFER_ACCEPT: a connection is accepted once its first bytes are in (or
// about a second after a silent client connected), so the core is woken once per new
// connection, not once for the accept and again for the request (h2o does the same). Without
// it a connection-per-request load costs the core ~20 % more CPU per request
// (bench/results/2026-12-02-vm-techniques-defer-accept.md). Off only to measure it
// (PAGI_RING_DISABLE=defer-accept).
bool open_tcp_listener(const std::string& host, int port, int cores, int backlog,
                       bool defer_accept, Listener& out, std::string* error);

// Binds a unix socket. A stale socket file (nobody accepting) is removed first; a live one,
// or a path that is not a socket, is an error. `mode` >= 0: chmod after bind.
bool open_unix_listener(const std::string& path, int mode, int backlog, Listener& out,
                        std::string* error);

// Closes the fds and removes a unix socket file we created (never one systemd made).
void close_listener(Listener& l, bool unlink_socket);

// The numeric form of a TCP bind address as open_tcp_listener binds it (so inherited sockets,
// described by getsockname, can be matched to --host/--listen), and whether it is 0.0.0.0/::.
bool resolve_bind_host(const std::string& host, std::string& numeric, bool& wildcard,
                       std::string* error);

// The fds core `core` of `cores` accepts from. With one fd per core (our own SO_REUSEPORT
// sockets) each core has its own; with fewer (a unix socket, systemd's single TCP socket, a
// reload into more cores) cores share them round robin, and `*shared` says a fd is accepted
// from by several cores (then one accept at a time, see Core::Acceptor). With more fds than
// cores (a reload into fewer cores) a core takes several, so no inherited queue goes unread.
std::vector<int> core_fds(const Listener& l, int core, int cores, bool* shared);

}  // namespace pagi::server
