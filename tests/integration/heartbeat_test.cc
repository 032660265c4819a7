// --heartbeat-timeout under the real binary, on TCP and on a unix socket: Perl code that does
// not return to the loop is interrupted (500, or a close once the response has started), the
// log names the app's file and line, the other requests (same core and other core) are
// served, and the server goes on serving and stops on SIGTERM. Code that awaits returns to
// the loop and is never interrupted.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class Heartbeat : public PerlFixture {};

INSTANTIATE_TEST_SUITE_P(Transports, Heartbeat, ::testing::Values(false, true), transport_name);

// The line of tests/apps/stuck.pl that spins for /busy.
int busy_line() {
  std::ifstream in(app_path("stuck.pl"));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find("BUSY-LINE") != std::string::npos) return n;
  }
  return -1;
}

TEST_P(Heartbeat, BusyLoopGets500WithFileAndLineAndTheCoresGoOn) {
  start("stuck.pl", {"--cores", "2", "--heartbeat-timeout", "1"});
  std::atomic<int> order{0};
  int busy_done_at = -1;
  std::optional<Response> busy;
  std::thread busy_thread([&] {
    busy = get("/busy");
    busy_done_at = order++;
  });
  std::this_thread::sleep_for(200ms);  // the busy request is in its loop by now
  // Fresh connections while one core spins: the kernel spreads them over both cores; those of
  // the other core are answered at once, those of the spinning one after its interrupt.
  constexpr int kOthers = 16;
  std::vector<std::optional<Response>> others(kOthers);
  std::vector<int> done_at(kOthers, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOthers; ++i) {
    threads.emplace_back([&, i] {
      others[size_t(i)] = get("/fast");
      done_at[size_t(i)] = order++;
    });
  }
  for (auto& t : threads) t.join();
  busy_thread.join();

  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status, 500);
  int before_busy = 0;
  for (int i = 0; i < kOthers; ++i) {
    ASSERT_TRUE(others[size_t(i)].has_value()) << i;
    EXPECT_EQ(others[size_t(i)]->status, 200) << i;
    EXPECT_EQ(others[size_t(i)]->body, "ok /fast");
    if (done_at[size_t(i)] < busy_done_at) ++before_busy;
  }
  // With 2 cores some were served while the other core was stuck.
  if (!on_unix()) {
    EXPECT_GT(before_busy, 0);
  }

  std::string where = "stuck.pl line " + std::to_string(busy_line()) + ")";
  ASSERT_TRUE(server_->wait_for_log(where, 5s)) << server_->log();
  std::string log = server_->log();
  EXPECT_TRUE(contains(log, "PAGI application error: heartbeat timeout: app code ran 1.")) << log;
  EXPECT_TRUE(contains(log, "Heartbeat timeout: core ")) << log;

  // Both cores serve afterwards (every connection of 16 answered), and the supervisor's
  // signals still work.
  for (int i = 0; i < kOthers; ++i) {
    auto r = get("/after");
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server_->stop(SIGTERM), 0);
}

TEST_P(Heartbeat, OneCoreGoesOnServingAfterTheInterrupt) {
  start("stuck.pl", {"--cores", "1", "--heartbeat-timeout", "1"});
  // A request queued behind the spinning one on the only core is answered after the interrupt,
  // and so is every later one.
  auto busy = connect();
  ASSERT_TRUE(busy);
  ASSERT_TRUE(busy->send("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);
  auto queued = connect();
  ASSERT_TRUE(queued);
  ASSERT_TRUE(queued->send("GET /queued HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = busy->read_response(false, 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  r = queued->read_response(false, 10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok /queued");
  for (int i = 0; i < 3; ++i) {
    r = get("/again");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "ok /again");
  }
}

TEST_P(Heartbeat, StartedResponseIsClosed) {
  start("stuck.pl", {"--cores", "1", "--heartbeat-timeout", "1"});
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /busy-after-start HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got = c->read_all(10s);
  EXPECT_TRUE(contains(got, "HTTP/1.1 200")) << got;
  EXPECT_TRUE(contains(got, "partial")) << got;
  EXPECT_FALSE(contains(got, "\r\n0\r\n\r\n")) << got;  // the chunked body never ended
  EXPECT_TRUE(server_->wait_for_log("heartbeat timeout: app code ran", 5s)) << server_->log();
  auto after = get("/after");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_P(Heartbeat, AnInterruptTheAppCatchesIsSentAgain) {
  start("stuck.pl", {"--cores", "1", "--heartbeat-timeout", "1"});
  auto r = get("/caught");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(contains(server_->log(), "interrupting it again")) << server_->log();
}

TEST_P(Heartbeat, AwaitingLongerThanTheTimeoutIsNotInterrupted) {
  start("stuck.pl", {"--cores", "1", "--heartbeat-timeout", "1"});
  auto r = get("/sleep?2.5");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok /sleep");
  EXPECT_FALSE(contains(server_->log(), "eartbeat timeout")) << server_->log();
}

TEST_P(Heartbeat, ZeroTurnsItOff) {
  start("stuck.pl", {"--cores", "1", "--heartbeat-timeout", "0"});
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(c->read_response(false, 2500ms).has_value());
  EXPECT_FALSE(contains(server_->log(), "eartbeat timeout")) << server_->log();
  // The core never comes back: SIGKILL is all that stops it (the harness kills on timeout).
  server_->stop(SIGKILL);
}

}  // namespace
}  // namespace pagi::test
