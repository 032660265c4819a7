// The server with each ring technique (and deferred accept) turned off (PAGI_RING_DISABLE, used by
// bench/techniques.py to measure what each is worth) still serves HTTP/1.1 correctly:
// keep-alive, pipelining, a large upload over many receive buffers, concurrent connections
// and a graceful stop. Unknown names are refused at start-up.
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

class RingTechniques : public ::testing::TestWithParam<const char*> {};

TEST_P(RingTechniques, ServerWithoutItStillServesCorrectly) {
  ScopedEnv env("PAGI_RING_DISABLE", GetParam());
  std::string why;
  auto server = Server::start({"native:echo", "--cores", "1", "--log-level", "debug"}, &why);
  ASSERT_TRUE(server) << why;
  std::string banner = "running without ";
  banner += GetParam();
  EXPECT_TRUE(contains(server->log(), banner)) << server->log();
  // The ring the core made says what it runs without.
  const std::string off = std::string(",") + GetParam() + ",";
  auto state = [&](const char* log_name, const char* technique) {
    bool is_off = contains(off, std::string(",") + technique + ",");
    return std::string(log_name) + (is_off ? " off" : " on");
  };
  std::string ring = "core 0 ring: " + state("defer_taskrun", "defer-taskrun") + ", " +
                     state("registered fd", "registered-fd") + ", " +
                     state("multishot recv", "multishot-recv") + ", " +
                     state("multishot accept", "multishot-accept");
  EXPECT_TRUE(contains(server->log(), ring)) << server->log();

  // Keep-alive: one connection, one request after another.
  auto c = Client::tcp(server->port());
  ASSERT_TRUE(c);
  for (int i = 0; i < 20; ++i) {
    std::string body = "keep-alive-" + std::to_string(i);
    ASSERT_TRUE(c->send("POST /ka HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, body);
  }

  // Pipelined: 16 requests in one write come back in order.
  std::string batch;
  for (int i = 0; i < 16; ++i) {
    std::string body = "pipelined-" + std::to_string(i);
    batch += "POST /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  ASSERT_TRUE(c->send(batch));
  for (int i = 0; i < 16; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "pipelined-" + std::to_string(i));
  }

  // A 1 MiB upload spans many provided receive buffers (and recv re-arms without multishot).
  std::string big(1 << 20, 'u');
  for (size_t i = 0; i < big.size(); i += 4093) big[i] = char('a' + i % 26);
  ASSERT_TRUE(c->send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(big.size()) + "\r\n\r\n" + big));
  auto r = c->read_response(false, std::chrono::seconds(30));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == big) << "echoed " << r->body.size() << " bytes";

  // Concurrent connections, each accepted (and re-armed without multishot accept).
  std::vector<std::thread> threads;
  std::vector<int> ok(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto resp = request(server->port(), "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        if (resp && resp->status == 200) ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(ok[t], 10) << "thread " << t;

  c.reset();
  EXPECT_EQ(server->stop(SIGTERM), 0) << server->log();
}

INSTANTIATE_TEST_SUITE_P(EachOff, RingTechniques,
                         ::testing::Values("defer-taskrun", "defer-taskrun,coop-taskrun",
                                           "registered-fd", "multishot-recv", "multishot-accept",
                                           "defer-accept",
                                           "defer-taskrun,coop-taskrun,registered-fd,"
                                           "multishot-recv,multishot-accept,defer-accept"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           std::string name;
                           for (const char* c = p.param; *c; ++c) {
                             name += (*c == '-' || *c == ',') ? '_' : *c;
                           }
                           return name;
                         });

TEST(RingTechniquesRefused, UnknownTechniqueIsRefusedWithTheKnownNames) {
  ScopedEnv env("PAGI_RING_DISABLE", "multishot-recv,sqpoll");
  RunResult r = run_binary({"native:hello", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "PAGI_RING_DISABLE: unknown technique 'sqpoll' (known: "))
      << r.out;
}

}  // namespace
}  // namespace pagi::test
