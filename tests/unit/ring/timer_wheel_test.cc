// Timer wheel: never early, fires in the right turn, cancel and re-arm, callbacks re-arming.
#include "ring/timer_wheel.h"

#include <vector>

#include <gtest/gtest.h>

namespace pagi::ring {
namespace {

struct Probe {
  std::vector<uint64_t> fired;
  TimerWheel* wheel = nullptr;
  static void cb(void* self) {
    auto* p = static_cast<Probe*>(self);
    p->fired.push_back(p->wheel->now_ms());
  }
};

TEST(TimerWheel, FiresAtOrAfterTheDeadlineNeverBefore) {
  TimerWheel w(1000);
  Probe p;
  p.wheel = &w;
  Timer t(&Probe::cb, &p);
  w.arm(t, 55);
  w.advance(1050);
  EXPECT_TRUE(p.fired.empty());
  w.advance(1059);
  EXPECT_TRUE(p.fired.empty());
  w.advance(1060);
  ASSERT_EQ(p.fired.size(), 1u);
  EXPECT_FALSE(t.armed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, LongTimersWaitForTheirTurn) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  Timer t(&Probe::cb, &p);
  uint64_t turn = TimerWheel::kSlots * TimerWheel::kTickMs;
  w.arm(t, turn * 3 + 20);
  for (uint64_t now = 10; now < turn * 3 + 20; now += 10) {
    w.advance(now);
    ASSERT_TRUE(p.fired.empty()) << "fired early at " << now;
  }
  w.advance(turn * 3 + 20);
  EXPECT_EQ(p.fired.size(), 1u);
}

TEST(TimerWheel, ABigJumpFiresEverythingDue) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  Timer a(&Probe::cb, &p), b(&Probe::cb, &p), c(&Probe::cb, &p);
  w.arm(a, 100);
  w.arm(b, 7000);
  w.arm(c, 60000);
  w.advance(10000);
  EXPECT_EQ(p.fired.size(), 2u);
  EXPECT_TRUE(c.armed());
  w.advance(60000);
  EXPECT_EQ(p.fired.size(), 3u);
}

TEST(TimerWheel, CancelAndRearm) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  Timer t(&Probe::cb, &p);
  w.arm(t, 100);
  w.cancel(t);
  w.advance(200);
  EXPECT_TRUE(p.fired.empty());
  w.arm(t, 100);
  w.arm(t, 500);  // re-arm moves it
  w.advance(400);
  EXPECT_TRUE(p.fired.empty());
  w.advance(700);
  EXPECT_EQ(p.fired.size(), 1u);
}

TEST(TimerWheel, DestroyingAnArmedTimerUnlinksIt) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  {
    Timer t(&Probe::cb, &p);
    w.arm(t, 100);
    EXPECT_EQ(w.size(), 1u);
  }
  EXPECT_EQ(w.size(), 0u);
  w.advance(1000);
  EXPECT_TRUE(p.fired.empty());
}

struct Rearmer {
  TimerWheel* wheel;
  Timer timer;
  int count = 0;
  static void cb(void* self) {
    auto* r = static_cast<Rearmer*>(self);
    if (++r->count < 3) r->wheel->arm(r->timer, 0);
  }
};

TEST(TimerWheel, ACallbackMayRearmItselfWithoutLoopingForever) {
  TimerWheel w(0);
  Rearmer r{&w, {}, 0};
  r.timer.bind(&Rearmer::cb, &r);
  w.arm(r.timer, 10);
  w.advance(10);
  EXPECT_EQ(r.count, 1);
  w.advance(20);
  EXPECT_EQ(r.count, 2);
  w.advance(30);
  EXPECT_EQ(r.count, 3);
  EXPECT_FALSE(r.timer.armed());
}

TEST(TimerWheel, NextTimeoutReportsTheEarliest) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  EXPECT_EQ(w.next_timeout_ms(0), -1);
  Timer a(&Probe::cb, &p), b(&Probe::cb, &p);
  w.arm(a, 300);
  w.arm(b, 40);
  EXPECT_EQ(w.next_timeout_ms(0), 40);
  w.cancel(b);
  // A cancel does not trigger a scan: the wait may still end at the cancelled deadline (never
  // later than the true one)...
  EXPECT_LE(w.next_timeout_ms(0), 300);
  EXPECT_GE(w.next_timeout_ms(0), 40);
  // ...and once that moment has passed with nothing due, the true wait is reported.
  w.advance(40);
  EXPECT_TRUE(p.fired.empty());
  EXPECT_EQ(w.next_timeout_ms(40), 260);
}

TEST(TimerWheel, ATimerBeyondOneTurnIsWaitedForInOneSleep) {
  TimerWheel w(0);
  Probe p;
  p.wheel = &w;
  Timer a(&Probe::cb, &p);
  w.arm(a, 60000);  // beyond one turn of the wheel (5.12 s)
  EXPECT_EQ(w.next_timeout_ms(0), 60000);
  EXPECT_EQ(w.next_timeout_ms(1000), 59000);
  w.advance(60000);
  EXPECT_EQ(p.fired.size(), 1u);
}

}  // namespace
}  // namespace pagi::ring
