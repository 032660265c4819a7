// The metrics endpoint's thread (see metrics_server.h). Blocking sockets bounded by poll with
// a stop eventfd: a silent or slow client holds the endpoint for at most kClientTimeoutMs.
#include "server/metrics_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "common/log.h"

namespace pagi::server {
namespace {

constexpr int kClientTimeoutMs = 5000;
constexpr size_t kMaxRequest = 8192;

std::string response(int status, std::string_view reason, std::string_view content_type,
                     const std::string& body, bool head_only, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out += reason;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra;
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

}  // namespace

MetricsServer::MetricsServer(Listener listener, Render render)
    : listener_(std::move(listener)), render_(std::move(render)) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  // Non-blocking, so a connection that vanished between poll and accept does not block.
  int fd = listener_.fds.at(0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  thread_ = std::thread(&MetricsServer::run, this);
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::stop(bool unlink_socket) {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  ssize_t w = write(stop_fd_, &one, sizeof(one));
  (void)w;
  thread_.join();
  close(stop_fd_);
  stop_fd_ = -1;
  close_listener(listener_, unlink_socket);
}

void MetricsServer::run() {
  pthread_setname_np(pthread_self(), "pagi-metrics");
  int lfd = listener_.fds.at(0);
  for (;;) {
    pollfd fds[2] = {{lfd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LOG_WARN("metrics endpoint: poll failed: %s", strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        LOG_WARN("metrics endpoint: accept failed: %s", strerror(errno));
        // Out of descriptors: do not spin.
        if (errno == EMFILE || errno == ENFILE) poll(nullptr, 0, 100);
      }
      continue;
    }
    serve(fd);
    close(fd);
  }
}

// Reads one request head (within the time bound), answers it and returns: the caller closes.
void MetricsServer::serve(int fd) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    if (req.size() > kMaxRequest) return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, int(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || fds[1].revents != 0) return;
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got <= 0) return;
    req.append(buf, size_t(got));
  }

  std::string_view line(req);
  line = line.substr(0, line.find_first_of("\r\n"));
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  std::string out;
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
    out = response(400, "Bad Request", "text/plain", "Bad Request\n", false);
  } else {
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view path = target.substr(0, target.find('?'));
    bool head = method == "HEAD";
    if (path != "/metrics") {
      out = response(404, "Not Found", "text/plain", "Not Found\n", head);
    } else if (method != "GET" && !head) {
      out = response(405, "Method Not Allowed", "text/plain", "Method Not Allowed\n", false,
                     "Allow: GET, HEAD\r\n");
    } else {
      out = response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_(), head);
    }
  }

  size_t off = 0;
  while (off < out.size()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    ssize_t w = send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += size_t(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return;
    pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    int n = poll(fds, 2, int(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || fds[1].revents != 0) return;
  }
  shutdown(fd, SHUT_WR);
}

}  // namespace pagi::server
