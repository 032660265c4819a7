// The heartbeat watchdog (see watchdog.h).
#include "server/watchdog.h"

#include <signal.h>

#include <algorithm>
#include <chrono>

#include "common/log.h"

namespace pagi::server {

thread_local Heartbeat* t_heartbeat = nullptr;

int interrupt_signal() {
  return SIGRTMIN + 4;
}

bool take_interrupt(uint64_t* ran_ms) {
  Heartbeat* hb = t_heartbeat;
  if (hb == nullptr) return false;
  uint64_t at = hb->interrupt_at.load(std::memory_order_acquire);
  if (at == kNoInterrupt || at != hb->loop.steps.load(std::memory_order_relaxed)) return false;
  hb->interrupt_at.store(kNoInterrupt, std::memory_order_relaxed);
  *ran_ms = hb->ran_ms.load(std::memory_order_relaxed);
  return true;
}

Watchdog::Watchdog(std::vector<Heartbeat*> beats, uint64_t timeout_ms)
    : beats_(std::move(beats)), timeout_ms_(timeout_ms) {
  thread_ = std::thread(&Watchdog::run, this);
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::run() {
  pthread_setname_np(pthread_self(), "pagi-watchdog");
  using namespace std::chrono;
  // A tenth of the timeout between looks: a stuck step is seen within 10 % of it.
  auto tick = milliseconds(std::clamp<uint64_t>(timeout_ms_ / 10, 20, 1000));
  std::vector<Seen> seen(beats_.size());
  auto now = steady_clock::now();
  for (Seen& s : seen) s.since = now;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, tick, [this] { return stop_; })) {
    now = steady_clock::now();
    for (size_t i = 0; i < beats_.size(); ++i) check(*beats_[i], seen[i], now);
  }
}

void Watchdog::check(Heartbeat& hb, Seen& seen, std::chrono::steady_clock::time_point now) {
  using namespace std::chrono;
  bool waiting = hb.loop.waiting.load(std::memory_order_relaxed);
  uint64_t steps = hb.loop.steps.load(std::memory_order_relaxed);
  if (waiting || steps != seen.steps) {
    seen.steps = steps;
    seen.since = now;
    seen.reports = 0;
    return;
  }
  // The step began at least `ran` ago (it was first seen then).
  uint64_t ran = uint64_t(duration_cast<milliseconds>(now - seen.since).count());
  if (ran < timeout_ms_ || (seen.reports > 0 && now < seen.next_report)) return;
  std::lock_guard<std::mutex> lock(hb.mutex);
  if (!hb.running) return;
  double secs = double(ran) / 1000.0;
  if (hb.interruptible) {
    hb.ran_ms.store(ran, std::memory_order_relaxed);
    hb.interrupt_at.store(steps, std::memory_order_release);
    pthread_kill(hb.thread, interrupt_signal());
    if (seen.reports == 0) {
      LOG_WARN(
          "Heartbeat timeout: core %d has run app code for %.1f s without returning to "
          "its loop; interrupting it",
          hb.core, secs);
    } else {
      LOG_WARN(
          "Heartbeat timeout: core %d is still in app code after %.1f s (the app may "
          "catch the interrupt); interrupting it again",
          hb.core, secs);
    }
  } else if (seen.reports == 0) {
    LOG_ERROR(
        "Heartbeat timeout: core %d has run app code for %.1f s without returning to its "
        "loop; native code cannot be interrupted, its requests wait",
        hb.core, secs);
  }
  ++seen.reports;
  seen.next_report = now + milliseconds(timeout_ms_);
}

}  // namespace pagi::server
