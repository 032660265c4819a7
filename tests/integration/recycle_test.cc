// --max-requests under the real binary, on TCP and on a unix socket: under continuous
// keep-alive load every request is answered while each core replaces its Perl interpreter
// every N requests (a per-interpreter counter never passes N, lifespan shutdown and startup
// run for every recycle), a request in flight at the limit completes on the old interpreter,
// and a native app accepts the flag with a warning.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class Recycle : public PerlFixture {};

INSTANTIATE_TEST_SUITE_P(Transports, Recycle, ::testing::Values(false, true), transport_name);

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST_P(Recycle, UnderLoadEveryRequestIsAnsweredAndCountersReset) {
  constexpr int kLimit = 50;
  constexpr int kClients = 5;
  constexpr int kPerClient = 100;
  start("recycle.pl", {"--cores", "2", "--max-requests", std::to_string(kLimit)});
  std::atomic<int> ok{0}, failed{0}, over{0}, max_served{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto c = connect();
      for (int n = 0; n < kPerClient; ++n) {
        // Every tenth request of one client is slow: in flight when some limit is reached.
        std::string target = (i == 0 && n % 10 == 0) ? "/slow?0.05" : "/";
        if (!c || !c->send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")) {
          ++failed;
          c = connect();
          continue;
        }
        auto r = c->read_response(false, 20s);
        if (!r || r->status != 200 || r->body.rfind("served ", 0) != 0) {
          ++failed;
          c = connect();
          continue;
        }
        ++ok;
        int served = std::stoi(r->body.substr(7));
        if (served > kLimit) ++over;
        int seen = max_served.load();
        while (served > seen && !max_served.compare_exchange_weak(seen, served)) {
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(ok.load(), kClients * kPerClient);
  EXPECT_EQ(over.load(), 0);
  EXPECT_LE(max_served.load(), kLimit);

  std::string log = server_->log();
  // 500 requests on 2 cores: at least (500 - 2*50) / 50 recycles in all.
  size_t recycles = count_of(log, "(--max-requests): recycling its interpreter");
  size_t fresh = count_of(log, "fresh interpreter serving after");
  EXPECT_GE(recycles, size_t((kClients * kPerClient - 2 * kLimit) / kLimit)) << log;
  EXPECT_EQ(fresh, recycles) << log;
  EXPECT_EQ(count_of(log, "recycle.pl: lifespan startup (served 0)"), 2 + recycles) << log;
  // Every recycled instance had served exactly N; at the SIGTERM below a core may be at N too.
  size_t full =
      count_of(log, "recycle.pl: lifespan shutdown (served " + std::to_string(kLimit) + ")");
  EXPECT_EQ(full, recycles) << log;
  EXPECT_EQ(server_->stop(SIGTERM), 0);
  log = server_->log();
  size_t full_at_exit =
      count_of(log, "recycle.pl: lifespan shutdown (served " + std::to_string(kLimit) + ")");
  EXPECT_GE(full_at_exit, recycles);
  EXPECT_LE(full_at_exit, recycles + 2);
  EXPECT_EQ(count_of(log, "recycle.pl: lifespan shutdown"), recycles + 2) << log;
}

TEST_P(Recycle, RequestInFlightAtTheLimitCompletesAndHeldOnesFollow) {
  start("recycle.pl", {"--cores", "1", "--max-requests", "2"});
  auto slow = connect();
  ASSERT_TRUE(slow);
  auto first = get("/");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "served 1");
  ASSERT_TRUE(slow->send("GET /slow?0.5 HTTP/1.1\r\nHost: x\r\n\r\n"));  // request 2
  std::this_thread::sleep_for(100ms);
  // Request 3 is held until request 2 is done and the fresh interpreter has started.
  auto third = get("/");
  auto second = slow->read_response(false, 10s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "served 2");
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->status, 200);
  EXPECT_EQ(third->body, "served 1");
  std::string log = server_->log();
  EXPECT_TRUE(contains(log, "Core 0: 2 requests served (--max-requests): recycling")) << log;
  EXPECT_TRUE(contains(log, "(1 requests held meanwhile;")) << log;
}

TEST_P(Recycle, WebSocketSessionsAreEndedSoTheRecycleDoesNotWaitForThem) {
  // A shutdown timeout longer than the clients' read timeout: a recycle that waited for the
  // session to end by itself would fail the third request.
  start("recycle.pl", {"--cores", "1", "--max-requests", "2", "--shutdown-timeout", "30"});
  auto ws = connect();
  ASSERT_TRUE(ws);
  ASSERT_TRUE(
      ws->send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n"));  // request 1
  std::string head = ws->read_all(500ms);
  ASSERT_TRUE(contains(head, "HTTP/1.1 101")) << head;
  auto second = get("/");  // request 2
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, "served 1");
  std::optional<Response> third;
  std::thread held([&] { third = get("/"); });  // request 3: the recycle
  // The session is ended as at a stop: Close 1001, answered as a client does.
  const std::string close_1001 = std::string("\x88\x16\x03\xe9", 4) + "Server shutting down";
  std::string got;
  for (int i = 0; i < 50 && !contains(got, close_1001); ++i) got += ws->read_all(100ms);
  EXPECT_TRUE(contains(got, close_1001));
  ws->send(std::string("\x88\x82\x00\x00\x00\x00\x03\xe9", 8));
  held.join();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->status, 200);
  EXPECT_EQ(third->body, "served 1");  // a fresh interpreter
  EXPECT_TRUE(contains(server_->log(), "fresh interpreter serving")) << server_->log();
}

TEST_P(Recycle, SigtermWhileWaitingGivesTheHeldRequestBackAndDrains) {
  start("recycle.pl", {"--cores", "1", "--max-requests", "1"});
  auto slow = connect();
  ASSERT_TRUE(slow);
  ASSERT_TRUE(slow->send("GET /slow?1 HTTP/1.1\r\nHost: x\r\n\r\n"));  // request 1
  std::this_thread::sleep_for(200ms);
  auto held = connect();
  ASSERT_TRUE(held);
  ASSERT_TRUE(held->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));  // request 2: held
  ASSERT_TRUE(server_->wait_for_log("recycling its interpreter", 5s)) << server_->log();
  kill(server_->pid(), SIGTERM);
  auto first = slow->read_response(false, 10s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "served 1");
  auto second = held->read_response(false, 10s);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "served 2");  // the old interpreter, which drains now
  EXPECT_EQ(server_->stop(SIGTERM), 0);
  EXPECT_FALSE(contains(server_->log(), "fresh interpreter serving")) << server_->log();
}

TEST_P(Recycle, FailedFreshStartIsRetriedWithTheRequestHeld) {
  std::string flag = dir_.file("fail-flag");
  ScopedEnv env("PAGI_TEST_FAIL_FLAG", flag);
  start("recycle_flaky.pl", {"--cores", "1", "--max-requests", "1"});
  auto first = get("/");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "served 1");
  std::ofstream(flag) << "down\n";
  std::optional<Response> second;
  std::thread held([&] { second = get("/"); });
  ASSERT_TRUE(
      server_->wait_for_log("lifespan startup of the fresh interpreter failed: db down", 5s))
      << server_->log();
  std::remove(flag.c_str());  // the next attempt (a second later) starts
  held.join();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "served 1");
  EXPECT_TRUE(contains(server_->log(), "trying a fresh interpreter again in 1s")) << server_->log();
}

TEST_P(Recycle, StopWhileNoFreshInstanceStartsAnswers500AndExits) {
  std::string flag = dir_.file("fail-flag");
  ScopedEnv env("PAGI_TEST_FAIL_FLAG", flag);
  start("recycle_flaky.pl", {"--cores", "1", "--max-requests", "1"});
  ASSERT_TRUE(get("/").has_value());
  std::ofstream(flag) << "down\n";
  auto held = connect();
  ASSERT_TRUE(held);
  ASSERT_TRUE(held->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(server_->wait_for_log("lifespan startup of the fresh interpreter failed", 5s))
      << server_->log();
  EXPECT_EQ(server_->stop(SIGTERM), 0);  // bounded: one more attempt, then no app
  auto r = held->read_response(false, 5s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(contains(server_->log(), "giving up the recycle (1 held requests get a 500)"))
      << server_->log();
}

TEST(RecycleNative, NativeAppAcceptsTheFlagWithAWarning) {
  std::string why;
  auto server = Server::start({"native:hello", "--cores", "1", "--max-requests", "5"}, &why);
  ASSERT_TRUE(server) << why;
  for (int i = 0; i < 12; ++i) {
    auto r = request(server->port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  std::string log = server->log();
  EXPECT_TRUE(contains(log, "--max-requests has no effect on a native app")) << log;
  EXPECT_FALSE(contains(log, "recycling")) << log;
}

}  // namespace
}  // namespace pagi::test
