// Hashed timer wheel: slot = deadline tick mod kSlots; a slot's timers not yet due (a later
// turn) stay where they are until their turn comes round.
#include "ring/timer_wheel.h"

namespace pagi::ring {

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->cancel(*this);
}

TimerWheel::TimerWheel(uint64_t now_ms) : now_(now_ms), tick_(now_ms / kTickMs) {}

TimerWheel::~TimerWheel() {
  for (Timer*& head : slots_) {
    while (head != nullptr) {
      Timer* t = head;
      head = t->next_;
      t->wheel_ = nullptr;
      t->prev_ = t->next_ = nullptr;
    }
  }
}

void TimerWheel::link(Timer& t) {
  Timer*& head = slots_[(t.deadline_ / kTickMs) % kSlots];
  t.prev_ = nullptr;
  t.next_ = head;
  if (head != nullptr) head->prev_ = &t;
  head = &t;
  t.wheel_ = this;
  ++count_;
}

void TimerWheel::unlink(Timer& t) {
  if (t.prev_ != nullptr) {
    t.prev_->next_ = t.next_;
  } else {
    slots_[(t.deadline_ / kTickMs) % kSlots] = t.next_;
  }
  if (t.next_ != nullptr) t.next_->prev_ = t.prev_;
  t.prev_ = t.next_ = nullptr;
  t.wheel_ = nullptr;
  --count_;
}

void TimerWheel::arm(Timer& t, uint64_t delay_ms) {
  if (t.wheel_ != nullptr) unlink(t);
  // Round up so a timer never fires early; never into a tick already processed.
  uint64_t deadline = now_ + delay_ms;
  uint64_t tick = (deadline + kTickMs - 1) / kTickMs;
  if (tick <= tick_) tick = tick_ + 1;
  t.deadline_ = tick * kTickMs;
  if (t.deadline_ < earliest_) earliest_ = t.deadline_;
  link(t);
}

void TimerWheel::cancel(Timer& t) {
  if (t.wheel_ == this) unlink(t);
}

void TimerWheel::advance(uint64_t now_ms) {
  if (now_ms > now_) now_ = now_ms;
  uint64_t target = now_ / kTickMs;
  if (count_ == 0) {
    tick_ = target;
    return;
  }
  // Walk at most one full turn: a longer gap visits every slot once anyway.
  uint64_t first = tick_ + 1;
  if (target >= first + kSlots) first = target - kSlots + 1;
  for (uint64_t tick = first; tick <= target && count_ > 0; ++tick) {
    tick_ = tick;
    Timer* t = slots_[tick % kSlots];
    while (t != nullptr) {
      Timer* next = t->next_;
      if (t->deadline_ <= now_) {
        unlink(*t);
        t->cb_(t->owner_);  // may arm/cancel others; `next` may then be gone, so restart
        t = slots_[tick % kSlots];
        continue;
      }
      t = next;
    }
  }
  tick_ = target;
}

int64_t TimerWheel::next_timeout_ms(uint64_t now_ms) const {
  if (count_ == 0) return -1;
  // earliest_ is a lower bound of every armed deadline (cancelling only raises the true
  // minimum), so until it passes there is nothing to scan: the loop asks every turn, and a
  // scan of the slots is what it would otherwise pay, all of them when timers are far away.
  if (earliest_ > now_ms) return int64_t(earliest_ - now_ms);
  int64_t wait = scan(now_ms);
  earliest_ = now_ms + uint64_t(wait);
  return wait;
}

int64_t TimerWheel::scan(uint64_t now_ms) const {
  uint64_t base = now_ms / kTickMs;
  for (uint64_t i = 1; i <= kSlots; ++i) {
    uint64_t tick = base + i;
    for (const Timer* t = slots_[tick % kSlots]; t != nullptr; t = t->next_) {
      if (t->deadline_ / kTickMs == tick) {
        return t->deadline_ > now_ms ? int64_t(t->deadline_ - now_ms) : 0;
      }
      if (t->deadline_ <= now_ms) return 0;
    }
  }
  // Only timers more than a turn away: wake when the next turn begins.
  return int64_t(kSlots * kTickMs);
}

}  // namespace pagi::ring
