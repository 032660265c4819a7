// A core's thread: builds its reactor and app, accepts on every listener, owns its
// connections, and stops gracefully when the supervisor asks (see core.h).
#include "server/core.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "server/access_log.h"
#include "server/connection.h"
#include "server/recycler.h"

namespace pagi::server {

// Accepts on one listener's fd for this core. A socket of its own (TCP, SO_REUSEPORT) is
// accepted from with multishot. A socket every core shares (unix) is accepted from one
// connection at a time: a multishot waiter keeps its place at the head of the socket's wait
// queue and would take every connection, while a re-armed one queues behind the other cores.
class Core::Acceptor final : public ring::Handler {
 public:
  Acceptor(Core& core, const Listener& l, int fd, bool shared)
      : core_(core), listener_(l), fd_(fd), shared_(shared) {
    pause_timer_.bind(&Acceptor::on_resume, this);
  }

  void arm() {
    if (armed_ || stopped_) return;
    armed_ = true;
    if (shared_) {
      core_.reactor().accept(fd_, this, 0);
    } else {
      core_.reactor().accept_multishot(fd_, this, 0);
    }
  }

  void stop() {
    stopped_ = true;
    core_.reactor().timers().cancel(pause_timer_);
    if (armed_) core_.reactor().cancel(this, 0);
  }

  void on_completion(unsigned, const ring::Completion& c) override {
    if (!c.more) armed_ = false;
    if (c.res >= 0) {
      if (stopped_ && core_.draining_) {
        ::close(c.res);  // raced with the drain: the client retries elsewhere
      } else {
        // Accepting stopped for a reload hand-over (stop_accepting): this connection was
        // taken before the cancel landed and is served like any other.
        core_.on_accept(*this, c.res);
      }
    } else if (c.res == -EMFILE || c.res == -ENFILE || c.res == -ENOMEM || c.res == -ENOBUFS) {
      // Out of descriptors: pause accepting for 100 ms instead of spinning (PAGI.md §5.3).
      if (!paused_logged_) {
        LOG_WARN("accept failed: %s; pausing accepts for 100 ms", strerror(-c.res));
        paused_logged_ = true;
      }
      if (!armed_ && !stopped_) {
        core_.reactor().timers().arm(pause_timer_, 100);
        return;
      }
    } else if (c.res != -ECANCELED && c.res != -EINTR && c.res != -ECONNABORTED) {
      LOG_WARN("accept failed on %s: %s", listener_.describe().c_str(), strerror(-c.res));
    }
    if (!armed_ && !stopped_) arm();
  }

  const Listener& listener() const { return listener_; }
  int fd() const { return fd_; }

 private:
  static void on_resume(void* self) {
    auto* a = static_cast<Acceptor*>(self);
    a->paused_logged_ = false;
    a->arm();
  }

  Core& core_;
  const Listener& listener_;
  int fd_;
  bool shared_;
  bool armed_ = false;
  bool stopped_ = false;
  bool paused_logged_ = false;
  ring::Timer pause_timer_;
};

Core::Core(int index, const ServerConfig& config) : index_(index), config_(config) {
  shutdown_timer_.bind(&Core::on_shutdown_timer, this);
  trim_timer_.bind(&Core::on_trim_timer, this);
}

void Core::on_trim_timer(void* self) {
  auto* core = static_cast<Core*>(self);
  constexpr size_t kBurst = 64;  // fewer connections than this leave little to give back
  if (core->peak_active_ >= kBurst && core->active_ * 2 <= core->peak_active_) {
    malloc_trim(0);
    LOG_DEBUG("core %d: memory trimmed after a burst of %zu connections (now %zu)",
              core->index_, core->peak_active_, core->active_);
  }
  core->peak_active_ = core->active_;
  if (!core->draining_) core->reactor_->timers().arm(core->trim_timer_, kTrimIntervalMs);
}

Core::~Core() {
  join();
}

std::future<StartResult> Core::start(int cpu) {
  std::promise<StartResult> ready;
  std::future<StartResult> f = ready.get_future();
  thread_ = std::thread(&Core::run, this, cpu, std::move(ready));
  return f;
}

void Core::drain() {
  // The only cross-thread call: queued on the core's mailbox.
  if (started_.load()) reactor_->post([this] { begin_drain(); });
}

void Core::stop_accepting() {
  if (started_.load()) {
    reactor_->post([this] {
      for (auto& a : acceptors_) a->stop();
    });
  }
}

void Core::join() {
  if (thread_.joinable()) thread_.join();
}

std::future<CoreMetrics> Core::metrics() {
  auto p = std::make_shared<std::promise<CoreMetrics>>();
  std::future<CoreMetrics> f = p->get_future();
  if (!started_.load()) {
    CoreMetrics none;
    none.responsive = false;
    p->set_value(none);
    return f;
  }
  // Copied on the core's thread: its counters are plain integers nobody else touches.
  reactor_->post([this, p] { p->set_value(snapshot()); });
  return f;
}

CoreMetrics Core::snapshot() const {
  CoreMetrics m = counters_;
  m.connections_active = uint64_t(active_ - rejecting_);
  m.requests = h1_.requests;
  m.app_errors = h1_.app_errors;
  m.bad_requests = h1_.bad_requests;
  m.responses_by_class = request_stats_.responses_by_class;
  m.app_latency = request_stats_.app_latency;
  m.total_latency = request_stats_.total_latency;
  uint64_t run_ns = reactor_->loop_run_ns();
  uint64_t wait_ns = std::min(reactor_->loop_wait_ns(), run_ns);
  m.loop_total_us = run_ns / 1000;
  m.loop_busy_us = (run_ns - wait_ns) / 1000;
  m.responsive = true;
  return m;
}

void Core::run(int cpu, std::promise<StartResult> ready) {
  if (cpu >= 0 && config_.pin_threads) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  char name[16];
  snprintf(name, sizeof(name), "pagi-core-%d", index_);
  pthread_setname_np(pthread_self(), name);

  // The watchdog may signal this thread from now until it returns (never after).
  t_heartbeat = &heartbeat_;
  {
    std::lock_guard<std::mutex> lock(heartbeat_.mutex);
    heartbeat_.core = index_;
    heartbeat_.thread = pthread_self();
    heartbeat_.running = true;
    // Only a Perl app's cores take the signal (its handler touches nothing while no clone of
    // this thread is live, e.g. during the clone itself).
    heartbeat_.interruptible = config_.interrupt_signal != 0;
  }
  struct Unwatch {
    Heartbeat& hb;
    ~Unwatch() {
      std::lock_guard<std::mutex> lock(hb.mutex);
      hb.running = false;
      hb.interruptible = false;
      t_heartbeat = nullptr;
    }
  } unwatch{heartbeat_};
  if (config_.interrupt_signal != 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, config_.interrupt_signal);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  }

  std::string error;
  reactor_ = ring::Reactor::create(config_.reactor, &error);
  if (!reactor_) {
    ready.set_value(StartResult{error, false});
    return;
  }
  reactor_->set_progress(&heartbeat_.loop);
  LOG_DEBUG("core %d ring: defer_taskrun %s, registered fd %s, multishot recv %s, "
            "multishot accept %s",
            index_, reactor_->features().defer_taskrun ? "on" : "off",
            reactor_->features().registered_fd ? "on" : "off",
            reactor_->uses(ring::kMultishotRecv) ? "on" : "off",
            reactor_->uses(ring::kMultishotAccept) ? "on" : "off");
  app_ = config_.app_factory(index_, config_.cores, *reactor_, &error);
  if (!app_) {
    ready.set_value(StartResult{error.empty() ? "the app could not be created" : error, false});
    reactor_.reset();
    return;
  }
  make_recycler();

  h1_.app = app_.get();
  h1_.limits = config_.limits;
  h1_.high_watermark = config_.high_watermark;
  h1_.low_watermark = config_.low_watermark;
  h1_.server_header = config_.server_header;
  h1_.blocks = &blocks_;
  h1_.date = &date_;
  h1_.head_pool = &head_pool_;
  if (config_.metrics) h1_.stats = &request_stats_;
  h1_.proxy_trust = config_.proxy_trust;
  h1_.ws = config_.ws;
  h1_.ws.high_watermark = config_.high_watermark;
  h1_.ws.low_watermark = config_.low_watermark;
  h1_.ws_compression = config_.ws_compression;
  h1_.sse.idle_timeout_ms = config_.sse_idle_timeout_ms;
  h1_.sse.high_watermark = config_.high_watermark;
  h1_.sse.low_watermark = config_.low_watermark;
  h1_.sse.server_header = config_.server_header;
  h1_.sse.date = &date_;
  if (config_.access_log_fd >= 0 && config_.access_log_format) {
    access_log_ = std::make_unique<AccessLog>(*reactor_, config_.access_log_fd,
                                              *config_.access_log_format);
    h1_.access_log = access_log_.get();
  }

  // The app starts (PAGI lifespan) on this core's loop before anything is accepted: it may
  // sleep or do I/O, so the loop runs meanwhile; on_started arms the acceptors.
  ready_ = std::move(ready);
  phase_ = Phase::kStarting;
  app_->start(start_done_);
  reactor_->timers().arm(trim_timer_, kTrimIntervalMs);
  reactor_->run();

  // Every connection is released before the loop ends; what is left is owned here. The
  // access log's last write completed before the loop stopped (finish_stop), unless it hung
  // past its bound: then flush_blocking writes nothing and the cancel is best effort.
  reactor_->timers().cancel(shutdown_timer_);
  h1_.access_log = nullptr;
  if (access_log_) {
    access_log_->flush_blocking();
    access_log_.reset();
  }
  acceptors_.clear();
  free_connections_.clear();
  free_states_.clear();
  recycler_.reset();
  app_.reset();
  reactor_.reset();
}

void Core::Lifecycle::done(bool ok, std::string_view message) {
  if (starting_) {
    core_->on_started(ok, message);
  } else {
    core_->on_stopped(ok, message);
  }
}

void Core::on_started(bool ok, std::string_view message) {
  if (phase_ != Phase::kStarting) return;
  if (!ok) {
    phase_ = Phase::kStopped;
    ready_.set_value(StartResult{std::string(message), true});
    reactor_->stop();
    return;
  }
  for (const Listener& l : config_.listeners) {
    bool shared = false;
    for (int fd : core_fds(l, index_, config_.cores, &shared)) {
      acceptors_.push_back(std::make_unique<Acceptor>(*this, l, fd, shared));
      acceptors_.back()->arm();
    }
  }
  phase_ = Phase::kServing;
  started_.store(true);
  ready_.set_value(StartResult{});
}

void Core::on_stopped(bool ok, std::string_view message) {
  if (phase_ != Phase::kStopping) return;
  if (!ok) {
    LOG_WARN("PAGI Server shutdown warning: %.*s", int(message.size()), message.data());
  }
  finish_stop();
}

void Core::finish_stop() {
  phase_ = Phase::kStopped;
  reactor_->timers().cancel(shutdown_timer_);
  if (!access_log_) {
    reactor_->stop();
    return;
  }
  // The last lines are written through the loop, and a log that does not take them (a
  // blocked pipe) does not hold the stop for more than a second.
  reactor_->timers().arm(shutdown_timer_, 1000);
  access_log_->stop_reactor_when_idle();
}

void Core::on_accept(Acceptor& a, int fd) {
  ++counters_.connections_accepted;
  // Connections being turned away do not count: they only linger briefly so the client
  // reads its 503, and a slot must free up as soon as an admitted connection goes.
  size_t admitted = active_ - rejecting_;
  bool reject = int(admitted) >= config_.max_connections_per_core || draining_;
  if (reject) {
    ++counters_.connections_rejected;
    if (int(rejecting_) >= config_.max_connections_per_core) {
      reactor_->close(fd);  // a flood: no 503 for this one, and no memory spent on it
      return;
    }
    uint64_t now = reactor_->now_ms();
    if (now - last_capacity_log_ms_ >= 1000 || last_capacity_log_ms_ == 0) {
      last_capacity_log_ms_ = now;
      LOG_WARN("Connection rejected: at capacity (%zu/%d) on core %d", admitted,
               config_.max_connections_per_core, index_);
    }
  }
  std::unique_ptr<Connection> c;
  if (!free_connections_.empty()) {
    c = std::move(free_connections_.back());
    free_connections_.pop_back();
  } else {
    c = std::make_unique<Connection>(*this);
  }
  Connection* raw = c.release();
  raw->prev = nullptr;
  raw->next = active_head_;
  if (active_head_ != nullptr) active_head_->prev = raw;
  active_head_ = raw;
  ++active_;
  if (active_ > peak_active_) peak_active_ = active_;
  raw->rejected = reject;
  if (reject) ++rejecting_;
  raw->start(fd, a.listener(), reject);
}

void Core::release(Connection* c) {
  if (c->prev != nullptr) {
    c->prev->next = c->next;
  } else {
    active_head_ = c->next;
  }
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  --active_;
  if (c->rejected) --rejecting_;
  c->rejected = false;
  // Kept for reuse, never freed here: a released connection may still be on this turn's
  // deferred list (its run then finds it closed and does nothing).
  free_connections_.emplace_back(c);
  if (draining_) maybe_finish_drain();
}

std::unique_ptr<ConnectionState> Core::take_state() {
  if (free_states_.empty()) return std::make_unique<ConnectionState>();
  std::unique_ptr<ConnectionState> st = std::move(free_states_.back());
  free_states_.pop_back();
  return st;
}

void Core::put_state(std::unique_ptr<ConnectionState>&& st) {
  if (free_states_.size() < kMaxFreeStates) {
    free_states_.push_back(std::move(st));
  } else {
    st.reset();
  }
}

void Core::begin_drain() {
  if (draining_ || phase_ != Phase::kServing) return;
  if (recycle_blocks_drain()) return;  // the recycle drains once its fresh app serves
  draining_ = true;
  phase_ = Phase::kDraining;
  reactor_->timers().cancel(trim_timer_);
  for (auto& a : acceptors_) a->stop();
  // Our own SO_REUSEPORT sockets are closed by the supervisor after every core is done;
  // accepting has stopped here already.
  Connection* c = active_head_;
  while (c != nullptr) {
    Connection* next = c->next;  // shutdown may release c
    c->shutdown_gracefully();
    c = next;
  }
  if (config_.shutdown_timeout_ms > 0) {
    reactor_->timers().arm(shutdown_timer_, config_.shutdown_timeout_ms);
  }
  maybe_finish_drain();
}

void Core::on_shutdown_timer(void* self) {
  auto* core = static_cast<Core*>(self);
  if (core->phase_ == Phase::kStopped) {
    core->reactor_->stop();  // the access log's last write did not complete in time
    return;
  }
  if (core->phase_ == Phase::kStopping) {
    LOG_WARN("PAGI Server shutdown warning: Lifespan shutdown timed out after %llus on core %d",
             static_cast<unsigned long long>(core->config_.shutdown_timeout_ms / 1000),
             core->index_);
    core->finish_stop();
    return;
  }
  if (core->active_ > 0) {
    LOG_WARN("Shutdown timeout: force-closing %zu active connections on core %d", core->active_,
             core->index_);
  }
  core->force_close_all();
}

void Core::force_close_all() {
  Connection* c = active_head_;
  while (c != nullptr) {
    Connection* next = c->next;
    c->close_now();
    c = next;
  }
  // An app still holding exchanges (e.g. a Perl app awaiting forever) would keep their
  // connections, and so the core, alive: a host that can, lets go of them now.
  if (auto* a = dynamic_cast<apps::AbandonableApp*>(app_.get())) a->abandon_all();
  maybe_finish_drain();
}

void Core::maybe_finish_drain() {
  if (phase_ != Phase::kDraining || active_ > 0) return;
  // Every connection is closed: the app's stop (lifespan.shutdown) gets its own bound.
  phase_ = Phase::kStopping;
  reactor_->timers().cancel(shutdown_timer_);
  if (!app_) {
    finish_stop();  // a recycle found no fresh instance before the stop (core_recycle.cc)
    return;
  }
  if (config_.shutdown_timeout_ms > 0) {
    reactor_->timers().arm(shutdown_timer_, config_.shutdown_timeout_ms);
  }
  app_->stop(stop_done_);
}

}  // namespace pagi::server
