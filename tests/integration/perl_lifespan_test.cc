// The lifespan scope of Perl apps (PAGI.md §2.6, §3.6, §5.6) under the real binary, on TCP and
// on a unix socket: startup before listening, state shallow-copied into requests, failure,
// decline, --lifespan on/off, the startup timeout and lifespan.shutdown at a graceful stop.
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PerlLifespan : public PerlFixture {
 protected:
  // Runs the server to completion (it must fail at start-up) on this test's listener.
  RunResult run_failing(const std::string& app, std::vector<std::string> extra) {
    std::vector<std::string> args{app_path(app)};
    args.insert(args.end(), extra.begin(), extra.end());
    if (on_unix()) {
      sock_ = dir_.file("pagi.sock");
      args.insert(args.end(), {"--socket", sock_});
    } else {
      args.insert(args.end(), {"--port", "0"});
    }
    return run_binary(args, 20s);
  }
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlLifespan, ::testing::Values(false, true),
                         transport_name);

TEST_P(PerlLifespan, StateReachesRequestsAsAShallowCopy) {
  start("lifespan_state.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // The container stored once is shared (its count grows); the key the previous request
    // added to its own copy is not seen.
    EXPECT_EQ(r->body, R"({"count":)" + std::to_string(i) +
                           R"(,"greeting":"hello from lifespan","is_worker":0,"leaked":0,)"
                           R"("worker_num":1})");
  }
}

TEST_P(PerlLifespan, EachCoreRunsItsOwnLifespan) {
  start("lifespan_state.pl", {"--cores", "2"});
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, R"("is_worker":1)")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("greeting":"hello from lifespan")")) << r->body;
}

TEST_P(PerlLifespan, ShutdownEventOnSigterm) {
  std::string marker = dir_.file("marker.txt");
  ScopedEnv env("PAGI_TEST_MARKER", marker);
  start("lifespan_state.pl", {"--cores", "2"});
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(slurp(marker), "");
  EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log();
  std::string m = slurp(marker);
  EXPECT_TRUE(contains(m, "shutdown 1\n")) << m;
  EXPECT_TRUE(contains(m, "shutdown 2\n")) << m;
}

TEST_P(PerlLifespan, StartupFailedExitsWithTheMessage) {
  RunResult r = run_failing("lifespan_fail.pl", {"--cores", "2"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "PAGI Server startup failed: database unreachable")) << r.out;
  EXPECT_TRUE(contains(r.out, "Lifespan startup failed: database unreachable")) << r.out;
  EXPECT_FALSE(contains(r.out, "listening")) << r.out;
  if (on_unix()) {
    EXPECT_FALSE(Client::unix_socket(sock_)) << "the socket is still there";
  }
}

TEST_P(PerlLifespan, DieDeclinesAndServes) {
  start("lifespan_decline.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "lifespan calls: 1");
  EXPECT_TRUE(contains(server_->log(), "Lifespan not supported, continuing without it "
                                       "(application raised: Unsupported scope type: lifespan)"))
      << server_->log();
  // No lifespan.shutdown for a declined lifespan: the stop is quick and clean.
  EXPECT_EQ(server_->stop(SIGTERM, 5s), 0) << server_->log();
}

TEST_P(PerlLifespan, CleanReturnDeclinesAndServes) {
  ScopedEnv env("PAGI_TEST_DECLINE", "return");
  start("lifespan_decline.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "lifespan calls: 1");
  EXPECT_TRUE(contains(server_->log(), "Lifespan not supported, continuing without it"))
      << server_->log();
  EXPECT_FALSE(contains(server_->log(), "application raised")) << server_->log();
}

TEST_P(PerlLifespan, OffNeverCallsIt) {
  start("lifespan_decline.pl", {"--cores", "1", "--lifespan", "off"});
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "lifespan calls: 0");
  EXPECT_FALSE(contains(server_->log(), "Lifespan")) << server_->log();
}

TEST_P(PerlLifespan, OnMakesADeclineFatal) {
  RunResult r = run_failing("lifespan_decline.pl", {"--cores", "1", "--lifespan", "on"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "lifespan_mode is 'on' but the application raised: "
                              "Unsupported scope type: lifespan"))
      << r.out;
  EXPECT_FALSE(contains(r.out, "listening")) << r.out;
}

TEST_P(PerlLifespan, StartupTimesOut) {
  auto t0 = std::chrono::steady_clock::now();
  RunResult r =
      run_failing("lifespan_hang.pl", {"--cores", "1", "--lifespan-startup-timeout", "1"});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "Lifespan startup timed out after 1s")) << r.out;
  EXPECT_FALSE(contains(r.out, "listening")) << r.out;
  EXPECT_GE(secs, 0.9);
  EXPECT_LT(secs, 10.0);
}

TEST_P(PerlLifespan, FailureAfterStartupIsLoggedAndServingGoesOn) {
  start("lifespan_crash.pl");
  EXPECT_TRUE(server_->wait_for_log("Lifespan app failed after startup: background task crashed",
                                    5s))
      << server_->log();
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "still serving");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
}

TEST_P(PerlLifespan, NativeAppsHaveNoLifespan) {
  start("native:hello", {"--cores", "1", "--lifespan", "on"});
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace pagi::test
