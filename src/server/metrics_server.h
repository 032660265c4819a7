// The --metrics-listen endpoint: a small thread of the supervisor, apart from the cores and
// the app's listeners, answering `GET /metrics` with Prometheus text (one connection at a
// time, closed after each answer: a scrape every few seconds needs no more).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "server/listener.h"

namespace pagi::server {

class MetricsServer {
 public:
  // Renders the scrape's body; called on the metrics thread.
  using Render = std::function<std::string()>;

  // Takes over `listener` (one fd, TCP or unix) and starts serving on it.
  MetricsServer(Listener listener, Render render);
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops serving (a scrape in progress is cut), joins the thread, closes the listener
  // (removing a unix socket's file unless told not to: after a reload it is the new
  // process's).
  void stop(bool unlink_socket = true);
  const Listener& listener() const { return listener_; }

 private:
  void run();
  void serve(int fd);

  Listener listener_;
  Render render_;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace pagi::server
