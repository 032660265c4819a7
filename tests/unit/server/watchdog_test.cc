// The heartbeat's two halves without a server: the reactor's progress (steps move in
// handlers, `waiting` only inside io_uring_enter) and take_interrupt (once, and only for the
// step that is still running).
#include "server/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ring/reactor.h"

namespace pagi::server {
namespace {

using namespace std::chrono_literals;

TEST(LoopProgress, StepsMoveInHandlersAndWaitingIsSetOnlyInsideTheWait) {
  std::string error;
  auto reactor = ring::Reactor::create(ring::ReactorConfig{}, &error);
  ASSERT_TRUE(reactor) << error;
  ring::LoopProgress progress;
  reactor->set_progress(&progress);
  EXPECT_FALSE(reactor->running());

  std::atomic<bool> saw_waiting{false};
  std::thread watcher([&] {
    // The loop has nothing to do: it sits in io_uring_enter.
    for (int i = 0; i < 2000 && !progress.waiting.load(); ++i) std::this_thread::sleep_for(1ms);
    saw_waiting = progress.waiting.load();
    uint64_t before = progress.steps.load();
    reactor->post([&, before] {
      EXPECT_FALSE(progress.waiting.load());
      EXPECT_GT(progress.steps.load(), before);
      EXPECT_TRUE(reactor->running());
      reactor->stop();
    });
  });
  reactor->run();
  watcher.join();
  EXPECT_TRUE(saw_waiting.load());
  EXPECT_FALSE(progress.waiting.load());
  EXPECT_FALSE(reactor->running());
}

TEST(TakeInterrupt, OnlyForTheStepStillRunningAndOnlyOnce) {
  Heartbeat hb;
  uint64_t ran = 0;
  EXPECT_FALSE(take_interrupt(&ran));  // no heartbeat on this thread
  t_heartbeat = &hb;
  EXPECT_FALSE(take_interrupt(&ran));  // nothing asked
  hb.loop.steps = 7;
  hb.ran_ms = 1500;
  hb.interrupt_at = 6;  // a step that has returned since
  EXPECT_FALSE(take_interrupt(&ran));
  hb.interrupt_at = 7;
  EXPECT_TRUE(take_interrupt(&ran));
  EXPECT_EQ(ran, 1500u);
  EXPECT_FALSE(take_interrupt(&ran));  // taken
  EXPECT_EQ(hb.interrupt_at.load(), kNoInterrupt);
  t_heartbeat = nullptr;
}

}  // namespace
}  // namespace pagi::server
