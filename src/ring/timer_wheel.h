// A hashed timer wheel for connection timeouts (idle, header, linger, shutdown): O(1) arm and
// cancel with intrusive nodes, no allocation. Coarse on purpose: one tick is 10 ms.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pagi::ring {

class TimerWheel;

// Embed one per timeout an object needs. The callback runs on the wheel's thread.
class Timer {
 public:
  using Callback = void (*)(void* owner);

  Timer() = default;
  Timer(Callback cb, void* owner) : cb_(cb), owner_(owner) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer();

  void bind(Callback cb, void* owner) {
    cb_ = cb;
    owner_ = owner;
  }
  bool armed() const { return wheel_ != nullptr; }
  uint64_t deadline_ms() const { return deadline_; }

 private:
  friend class TimerWheel;
  Callback cb_ = nullptr;
  void* owner_ = nullptr;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  uint64_t deadline_ = 0;
};

class TimerWheel {
 public:
  static constexpr uint64_t kTickMs = 10;
  static constexpr size_t kSlots = 512;  // one turn = 5.12 s; later deadlines wait a turn

  explicit TimerWheel(uint64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();

  // (Re)arms `t` to fire at now + delay_ms (rounded up to the next tick).
  void arm(Timer& t, uint64_t delay_ms);
  void cancel(Timer& t);

  // Fires every timer due at `now_ms`. Callbacks may arm and cancel timers.
  void advance(uint64_t now_ms);

  // Milliseconds until the earliest timer may be due, or -1 if none is armed. After a cancel
  // this may be shorter than the true wait (the loop then wakes once with nothing due and
  // asks again): cancelling is frequent, and re-scanning on each one is what this avoids.
  int64_t next_timeout_ms(uint64_t now_ms) const;

  size_t size() const { return count_; }
  uint64_t now_ms() const { return now_; }

 private:
  void link(Timer& t);
  void unlink(Timer& t);
  int64_t scan(uint64_t now_ms) const;

  Timer* slots_[kSlots] = {};
  uint64_t now_;
  uint64_t tick_;  // last tick processed
  size_t count_ = 0;
  mutable uint64_t earliest_ = UINT64_MAX;  // ≤ every armed deadline (see next_timeout_ms)
};

}  // namespace pagi::ring
