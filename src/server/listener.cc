// Opening and closing listening sockets (see listener.h). Start-up only: plain syscalls.
#include "server/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pagi::server {
namespace {

std::string errno_text(const std::string& what) { return what + ": " + strerror(errno); }

bool resolve_addr(const std::string& host, int port, sockaddr_storage& addr, socklen_t& addr_len,
                  std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    *error = "cannot resolve listen address '" + host + "': " + gai_strerror(rc);
    return false;
  }
  addr = sockaddr_storage{};
  addr_len = socklen_t(res->ai_addrlen);
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

void numeric_host(const sockaddr_storage& addr, std::string& text_out, bool& wildcard) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    wildcard = a->sin_addr.s_addr == htonl(INADDR_ANY);
  } else {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    wildcard = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
  }
  text_out = text;
}

}  // namespace

std::string Listener::describe() const {
  if (is_unix) return "unix:" + path;
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/";
}

bool resolve_bind_host(const std::string& host, std::string& numeric, bool& wildcard,
                       std::string* error) {
  sockaddr_storage addr;
  socklen_t len = 0;
  if (!resolve_addr(host, 0, addr, len, error)) return false;
  numeric_host(addr, numeric, wildcard);
  return true;
}

std::vector<int> core_fds(const Listener& l, int core, int cores, bool* shared) {
  std::vector<int> out;
  size_t n = l.fds.size();
  if (n == 0 || cores <= 0) return out;
  if (n >= size_t(cores)) {
    for (size_t i = size_t(core); i < n; i += size_t(cores)) out.push_back(l.fds[i]);
    *shared = false;
  } else {
    out.push_back(l.fds[size_t(core) % n]);
    *shared = true;
  }
  return out;
}

bool open_tcp_listener(const std::string& host, int port, int cores, int backlog,
                       bool defer_accept, Listener& out, std::string* error) {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (!resolve_addr(host, port, addr, addr_len, error)) return false;
  int family = addr.ss_family;

  out = Listener{};
  out.is_unix = false;
  numeric_host(addr, out.host, out.wildcard);

  for (int i = 0; i < cores; ++i) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *error = errno_text("socket");
      close_listener(out, false);
      return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (defer_accept) setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));  // 1 s
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) < 0) {
      *error = "cannot bind " + out.host + ":" + std::to_string(port) + ": " + strerror(errno);
      ::close(fd);
      close_listener(out, false);
      return false;
    }
    if (listen(fd, backlog) < 0) {
      *error = errno_text("listen");
      ::close(fd);
      close_listener(out, false);
      return false;
    }
    if (i == 0) {
      // Port 0: every other core must bind the port the kernel just chose.
      sockaddr_storage bound{};
      socklen_t len = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      int p = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
      out.port = p;
      if (family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(uint16_t(p));
      } else {
        reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(uint16_t(p));
      }
    }
    out.fds.push_back(fd);
  }
  return true;
}

bool open_unix_listener(const std::string& path, int mode, int backlog, Listener& out,
                        std::string* error) {
  out = Listener{};
  out.is_unix = true;
  out.path = path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = "unix socket path too long (max " + std::to_string(sizeof(addr.sun_path) - 1) +
             " bytes): " + path;
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *error = "refusing to replace " + path + ": it exists and is not a socket";
      return false;
    }
    // A socket file: is anybody accepting on it?
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      int err = errno;
      ::close(probe);
      if (rc == 0 || err == EAGAIN) {
        *error = "unix socket " + path + " is in use by a running server";
        return false;
      }
    }
    if (unlink(path.c_str()) < 0 && errno != ENOENT) {
      *error = "cannot remove stale socket " + path + ": " + strerror(errno);
      return false;
    }
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno_text("socket");
    return false;
  }
  // With an explicit mode, bind under a tight umask so the socket is never more open than
  // asked, even for the instant before chmod.
  mode_t old_umask = 0;
  if (mode >= 0) old_umask = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bind_errno = errno;
  if (mode >= 0) umask(old_umask);
  if (rc < 0) {
    *error = "cannot bind unix socket " + path + ": " + strerror(bind_errno);
    ::close(fd);
    return false;
  }
  if (mode >= 0 && chmod(path.c_str(), mode_t(mode)) < 0) {
    *error = "cannot chmod unix socket " + path + ": " + strerror(errno);
    ::close(fd);
    unlink(path.c_str());
    return false;
  }
  if (listen(fd, backlog) < 0) {
    *error = errno_text("listen");
    ::close(fd);
    unlink(path.c_str());
    return false;
  }
  out.fds.push_back(fd);
  return true;
}

void close_listener(Listener& l, bool unlink_socket) {
  for (int fd : l.fds) ::close(fd);
  l.fds.clear();
  if (l.is_unix && unlink_socket && !l.from_systemd && !l.path.empty()) unlink(l.path.c_str());
}

}  // namespace pagi::server
