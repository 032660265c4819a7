// --heartbeat-timeout: a supervisor thread that notices a core whose loop has not moved for
// the timeout while it was not waiting for I/O (its app's code has not returned), and, when
// the core's app can be interrupted (the Perl host), signals that core's thread so the app's
// code dies at its next Perl op. Native app code cannot be interrupted safely: it is only
// reported. The core side costs two relaxed stores per loop turn and one per completion.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "ring/reactor.h"

namespace pagi::server {

// The signal the watchdog sends to a stuck core thread (a real-time one nothing else uses).
// Blocked in every thread but the cores of an interruptible app.
int interrupt_signal();

constexpr uint64_t kNoInterrupt = ~uint64_t{0};

// One core's liveness. `loop` is written by the core's loop; the interrupt fields by the
// watchdog; the rest, under `mutex`, when the core thread starts and ends (never per request).
struct Heartbeat {
  ring::LoopProgress loop;
  // The loop step the watchdog wants interrupted (kNoInterrupt: none) and how long the app
  // had run in it. Stored before the signal is sent.
  std::atomic<uint64_t> interrupt_at{kNoInterrupt};
  std::atomic<uint64_t> ran_ms{0};
  int core = 0;
  std::mutex mutex;
  pthread_t thread{};
  bool running = false;        // the thread exists and may be signalled
  bool interruptible = false;  // its app's code can be interrupted (signal handler installed)
};

// The heartbeat of the core running on this thread (null elsewhere).
extern thread_local Heartbeat* t_heartbeat;

// On a core thread, from the app host's interrupt hook: true (once) when the watchdog asked
// to interrupt the loop step running now; *ran_ms says how long it had run.
bool take_interrupt(uint64_t* ran_ms);

class Watchdog {
 public:
  // Watches `beats` (owned by the cores, which outlive this object) with `timeout_ms`.
  Watchdog(std::vector<Heartbeat*> beats, uint64_t timeout_ms);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  struct Seen {
    uint64_t steps = 0;
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point next_report;
    int reports = 0;  // for this stuck step
  };
  void run();
  void check(Heartbeat& hb, Seen& seen, std::chrono::steady_clock::time_point now);

  std::vector<Heartbeat*> beats_;
  uint64_t timeout_ms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pagi::server
