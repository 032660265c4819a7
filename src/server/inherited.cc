// Inherited listening sockets: systemd activation and PAGI_REUSE (see inherited.h).
#include "server/inherited.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace pagi::server {
namespace {

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= 0;
}

}  // namespace

std::optional<std::vector<ReuseEntry>> parse_pagi_reuse(std::string_view text,
                                                        std::string* error) {
  std::vector<ReuseEntry> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    ReuseEntry e;
    size_t last = item.rfind(':');
    if (last == std::string_view::npos || !parse_int(item.substr(last + 1), e.fd)) {
      *error = "PAGI_REUSE entry without a descriptor: '" + std::string(item) + "'";
      return std::nullopt;
    }
    std::string_view addr = item.substr(0, last);
    if (addr.substr(0, 5) == "unix:") {
      e.is_unix = true;
      e.path = std::string(addr.substr(5));
      if (e.path.empty()) {
        *error = "PAGI_REUSE unix entry without a path: '" + std::string(item) + "'";
        return std::nullopt;
      }
    } else {
      size_t colon = addr.rfind(':');
      if (colon == std::string_view::npos || !parse_int(addr.substr(colon + 1), e.port) ||
          e.port > 65535) {
        *error = "PAGI_REUSE entry without a port: '" + std::string(item) + "'";
        return std::nullopt;
      }
      std::string_view host = addr.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      } else if (host.find(':') != std::string_view::npos) {
        *error = "PAGI_REUSE IPv6 address needs brackets: '" + std::string(item) + "'";
        return std::nullopt;
      }
      if (host.empty()) {
        *error = "PAGI_REUSE entry without a host: '" + std::string(item) + "'";
        return std::nullopt;
      }
      e.host = std::string(host);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string format_pagi_reuse(const std::vector<ReuseEntry>& entries) {
  std::string out;
  for (const ReuseEntry& e : entries) {
    if (!out.empty()) out += ',';
    if (e.is_unix) {
      out += "unix:";
      out += e.path;
    } else if (e.host.find(':') != std::string::npos) {
      out += '[';
      out += e.host;
      out += "]:";
      out += std::to_string(e.port);
    } else {
      out += e.host;
      out += ':';
      out += std::to_string(e.port);
    }
    out += ':';
    out += std::to_string(e.fd);
  }
  return out;
}

bool describe_socket(int fd, InheritedSocket& out) {
  int type = 0, listening = 0;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
  len = sizeof(listening);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
    return false;
  }
  sockaddr_storage ss{};
  len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  out.fd = fd;
  char text[INET6_ADDRSTRLEN] = {};
  switch (ss.ss_family) {
    case AF_INET: {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
      out.is_unix = false;
      out.host = text;
      out.port = ntohs(a->sin_port);
      return true;
    }
    case AF_INET6: {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
      out.is_unix = false;
      out.host = text;
      out.port = ntohs(a->sin6_port);
      return true;
    }
    case AF_UNIX: {
      auto* a = reinterpret_cast<sockaddr_un*>(&ss);
      size_t max = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path)
                                                         : 0;
      out.is_unix = true;
      out.path.assign(a->sun_path, strnlen(a->sun_path, max));
      return !out.path.empty();
    }
    default:
      return false;
  }
}

std::vector<InheritedSocket> take_systemd_sockets(std::string* warning) {
  std::vector<InheritedSocket> out;
  const char* pid = getenv("LISTEN_PID");
  const char* fds = getenv("LISTEN_FDS");
  int want_pid = 0, count = 0;
  bool ours = pid != nullptr && fds != nullptr && parse_int(pid, want_pid) &&
              want_pid == int(getpid()) && parse_int(fds, count);
  if (pid != nullptr && !ours) {
    *warning = "LISTEN_PID/LISTEN_FDS are not for this process: ignored";
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (!ours) return out;
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  for (int fd = kFirst; fd < kFirst + count; ++fd) {
    InheritedSocket s;
    if (!describe_socket(fd, s)) {
      if (!warning->empty()) *warning += "; ";
      *warning += "systemd passed fd " + std::to_string(fd) + ", not a listening stream socket";
      continue;
    }
    s.origin = "systemd";
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<InheritedSocket> take_reused_sockets(std::string* warning) {
  std::vector<InheritedSocket> out;
  const char* text = getenv("PAGI_REUSE");
  if (text == nullptr) return out;
  std::string error;
  auto entries = parse_pagi_reuse(text, &error);
  unsetenv("PAGI_REUSE");
  if (!entries) {
    *warning = error;
    return out;
  }
  for (const ReuseEntry& e : *entries) {
    InheritedSocket s;
    bool ok = describe_socket(e.fd, s) && s.is_unix == e.is_unix &&
              (e.is_unix ? s.path == e.path : s.port == e.port);
    if (!ok) {
      if (!warning->empty()) *warning += "; ";
      *warning += "PAGI_REUSE fd " + std::to_string(e.fd) + " is not the listener it names";
      continue;
    }
    s.origin = "PAGI_REUSE";
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<int> claim_tcp(std::vector<InheritedSocket>& pool, const std::string& host, int port) {
  std::vector<int> fds;
  // Port 0 adopts the first socket on the host whatever its port, and then only the sockets
  // of that port (a listener is one port; another listener may share the host).
  for (size_t i = 0; i < pool.size();) {
    if (!pool[i].is_unix && pool[i].host == host && (port == 0 || pool[i].port == port)) {
      port = pool[i].port;
      fds.push_back(pool[i].fd);
      pool.erase(pool.begin() + long(i));
    } else {
      ++i;
    }
  }
  return fds;
}

std::vector<int> claim_unix(std::vector<InheritedSocket>& pool, const std::string& path) {
  std::vector<int> fds;
  for (size_t i = 0; i < pool.size();) {
    if (pool[i].is_unix && pool[i].path == path) {
      fds.push_back(pool[i].fd);
      pool.erase(pool.begin() + long(i));
    } else {
      ++i;
    }
  }
  return fds;
}

}  // namespace pagi::server
