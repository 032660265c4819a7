// One core: its thread, reactor, listeners' accept, connections and app instance. Nothing
// here is touched by another thread except through Reactor::post (start, drain, stats).
#pragma once

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/app_factory.h"
#include "http/date_cache.h"
#include "http/h1_connection.h"
#include "ring/reactor.h"
#include "server/access_log_format.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/pipe_pool.h"
#include "server/watchdog.h"

namespace pagi::server {

class AccessLog;
class Connection;
struct ConnectionState;

// Read-only after start-up; shared by all cores.
struct ServerConfig {
  int cores = 1;
  std::vector<Listener> listeners;
  http::Limits limits;
  size_t high_watermark = 65536;
  size_t low_watermark = 16384;
  int max_connections_per_core = 1000;
  uint64_t idle_timeout_ms = 60000;      // --timeout: idle keep-alive and header read
  uint64_t request_timeout_ms = 0;       // --request-timeout: a stalled HTTP request; 0 off
  uint64_t shutdown_timeout_ms = 30000;  // --shutdown-timeout
  // WebSocket sessions (--max-receive-queue, --max-ws-frame-size, --max-ws-message-size,
  // --ws-idle-timeout; the watermarks come from the fields above) and SSE streams.
  http::ws::SessionConfig ws;
  bool ws_compression = true;            // --ws-compression / --no-ws-compression
  uint64_t sse_idle_timeout_ms = 0;      // --sse-idle-timeout
  std::string server_header;
  apps::AppFactory app_factory;
  ring::ReactorConfig reactor;
  bool pin_threads = true;
  // The access log: a line per request to `access_log_fd` (not owned; shared by the cores,
  // O_APPEND) when both are set.
  int access_log_fd = -1;
  std::optional<AccessLogFormat> access_log_format;
  // --proxy-headers: whose X-Forwarded-*/Forwarded headers name the client (null: nobody's).
  const http::ProxyTrust* proxy_trust = nullptr;
  // --metrics-listen: the cores count status classes and latencies (clock reads per request).
  bool metrics = false;
  // --max-requests: a hosted (Perl) app's instance is replaced by a fresh one from the
  // factory after this many requests on a core (core_recycle.cc); 0: never.
  uint64_t max_requests = 0;
  // --heartbeat-timeout with a hosted app: the watchdog's signal, unblocked on the cores
  // (its handler is installed); 0: none.
  int interrupt_signal = 0;
};

// What Core::start's future reports: empty `error` when the core serves.
struct StartResult {
  std::string error;
  bool app_failed = false;  // the app's start-up (PAGI lifespan) failed: `error` is its message
};

class Core {
 public:
  Core(int index, const ServerConfig& config);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Starts the thread. The future resolves once the core serves (its app's start-up, PAGI
  // lifespan, done and its acceptors armed) or has failed to come up; it then stops by itself.
  std::future<StartResult> start(int cpu);
  // Graceful stop, from any thread: stop accepting, finish in-flight requests (bounded by
  // the shutdown timeout), close everything, stop the app (lifespan shutdown, bounded by the
  // shutdown timeout again), end the loop. join() waits for that. Ignored before the core
  // serves.
  void drain();
  // Reload hand-over, from any thread: stop accepting (the listening sockets stay open: the
  // new process accepts from them) but go on serving every connection, including ones
  // accepted while the stop was on its way; drain() follows.
  void stop_accepting();
  void join();
  // A copy of the core's metrics, taken on its own thread (posted to its mailbox). Only while
  // the core serves (between a successful start and drain()); else the future holds a
  // default CoreMetrics with `responsive` false at once.
  std::future<CoreMetrics> metrics();

  // --- used by Connection, on the core's thread ---
  ring::Reactor& reactor() { return *reactor_; }
  http::H1Context& h1_context() { return h1_; }
  const ServerConfig& config() const { return config_; }
  int index() const { return index_; }
  void release(Connection* c);
  // The pool of request states (ConnectionState): a connection holds one only while it has
  // a request in hand. take_state may return an empty one (no H1Connection engaged).
  std::unique_ptr<ConnectionState> take_state();
  void put_state(std::unique_ptr<ConnectionState>&& st);  // leaves `st` empty
  // Connection-side counters (accepts, bytes); the rest is gathered in metrics().
  CoreMetrics& counters() { return counters_; }
  // Pipes for spliced file bodies (connection_file.cc).
  PipePool& pipes() { return pipes_; }
  // What the heartbeat watchdog watches (written by this core's loop).
  Heartbeat& heartbeat() { return heartbeat_; }

 private:
  class Acceptor;
  class Recycler;  // core_recycle.cc
  // App::start / App::stop completions: forward to the core, once, in the right phase.
  class Lifecycle final : public LifecycleDone {
   public:
    Lifecycle(Core* core, bool starting) : core_(core), starting_(starting) {}
    void done(bool ok, std::string_view message) override;

   private:
    Core* core_;
    bool starting_;
  };
  enum class Phase : uint8_t { kStarting, kServing, kDraining, kStopping, kStopped };

  void run(int cpu, std::promise<StartResult> ready);
  void on_started(bool ok, std::string_view message);
  void on_stopped(bool ok, std::string_view message);
  void finish_stop();
  void on_accept(Acceptor& a, int fd);
  void begin_drain();
  void force_close_all();
  void maybe_finish_drain();
  static void on_shutdown_timer(void* self);
  static void on_trim_timer(void* self);

  const int index_;
  const ServerConfig& config_;
  std::thread thread_;
  std::unique_ptr<ring::Reactor> reactor_;
  std::unique_ptr<App> app_;
  std::unique_ptr<AccessLog> access_log_;
  http::DateCache date_;
  BlockPool blocks_;
  std::vector<std::unique_ptr<http::RequestHead>> head_pool_;
  http::H1Context h1_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
  std::vector<std::unique_ptr<Connection>> free_connections_;
  // At most kMaxFreeStates are kept: a burst of many concurrent requests does not pin its
  // peak memory for ever.
  static constexpr size_t kMaxFreeStates = 1024;
  std::vector<std::unique_ptr<ConnectionState>> free_states_;
  Connection* active_head_ = nullptr;  // intrusive list of live connections
  size_t active_ = 0;     // live connections, including those answering a 503
  size_t rejecting_ = 0;  // of which are being rejected: they hold no slot
  bool draining_ = false;
  Phase phase_ = Phase::kStarting;
  std::promise<StartResult> ready_;
  Lifecycle start_done_{this, true};
  Lifecycle stop_done_{this, false};
  ring::Timer shutdown_timer_;  // connections' drain, then the app's stop
  // After a burst: every kTrimIntervalMs, if the live connections fell to half of their peak
  // since the last look, the memory the burst's buffers were freed into goes back to the
  // system (malloc_trim). The pools' caps free the buffers; this returns the pages.
  static constexpr uint64_t kTrimIntervalMs = 10000;
  ring::Timer trim_timer_;
  size_t peak_active_ = 0;
  uint64_t last_capacity_log_ms_ = 0;
  CoreMetrics counters_;
  PipePool pipes_;
  http::RequestStats request_stats_;
  CoreMetrics snapshot() const;
  std::atomic<bool> started_{false};
  Heartbeat heartbeat_;
  std::unique_ptr<Recycler> recycler_;  // --max-requests with a hosted app
  // core_recycle.cc
  void make_recycler();
  bool recycle_blocks_drain();
};

}  // namespace pagi::server
