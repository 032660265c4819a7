// pagi.connection and pagi.transport of Perl apps (PAGI.md §2.7, §2.8) under the real binary,
// on TCP and on a unix socket: completion and disconnect callbacks, the disconnect future and
// its ordering, response_started/response_complete, watermark callbacks with a slow reader.
#include <chrono>
#include <regex>
#include <thread>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class PerlConnection : public PerlFixture {
 protected:
  // The app's log (/result) once it has `lines` lines, or what it has after ~3 s.
  std::string result_lines(size_t lines) {
    std::string all;
    for (int i = 0; i < 60; ++i) {
      auto r = get("/result");
      if (!r) return all + "<no response>";
      all += r->body;
      size_t n = 0;
      for (char ch : all) n += ch == '\n' ? 1 : 0;
      if (n >= lines) return all;
      std::this_thread::sleep_for(50ms);
    }
    return all;
  }
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlConnection, ::testing::Values(false, true),
                         transport_name);

TEST_P(PerlConnection, CleanCompletionOnKeepAlive) {
  start("connection_state.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /complete HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "partend");
  std::this_thread::sleep_for(150ms);
  // The same keep-alive connection carries on.
  ASSERT_TRUE(c->send("GET /result HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = c->read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body,
            "/complete before 1 0 0\n"
            "/complete started 1 0\n"
            "/complete sent 1 1 1\n"
            "/complete on_complete 0 undef\n"
            "/complete later 0 undef 1 pending\n"
            "/complete late on_complete\n");
}

TEST_P(PerlConnection, ClientGoingAwayIsClientClosedInOrder) {
  start("connection_state.pl");
  {
    auto c = connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(100ms);
  }  // closed mid-request
  std::string log = result_lines(6);
  EXPECT_EQ(log,
            "/wait waiting\n"
            "/wait future client_closed 0 client_closed\n"
            "/wait on_disconnect client_closed\n"
            "/wait receive http.disconnect\n"
            "/wait late on_disconnect client_closed\n"
            "/wait done 0 0\n");
  EXPECT_FALSE(contains(log, "on_complete"));
}

TEST_P(PerlConnection, AppFailureAfterStartIsServerError) {
  start("connection_state.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /fail HTTP/1.1\r\nHost: x\r\n\r\n"));
  c->read_all(5s);
  EXPECT_EQ(result_lines(1), "/fail on_disconnect server_error\n");
}

TEST_P(PerlConnection, ShutdownTimeoutIsServerShutdown) {
  start("connection_state.pl", {"--cores", "1", "--shutdown-timeout", "1"});
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server_->stop(SIGTERM, 10s), 0) << server_->log();
  EXPECT_TRUE(c->wait_closed(2s));
  EXPECT_TRUE(contains(server_->log(), "/wait disconnected: server_shutdown")) << server_->log();
}

// A client that reads nothing for a while: the output climbs over the high watermark
// (on_high_water), then drains below the low one as the client reads (on_drain), repeatedly.
TEST_P(PerlConnection, TransportWatermarksWithASlowReader) {
  start("transport.pl", {"--cores", "1", "--write-high-watermark", "131072",
                         "--write-low-watermark", "32768"});
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(300ms);
  auto r = c->read_response(false, 20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 64u * 65536u);
  ASSERT_TRUE(server_->wait_for_log("transport: seq=", 5s)) << server_->log();
  std::smatch m;
  std::string log = server_->log();
  ASSERT_TRUE(std::regex_search(
      log, m, std::regex(R"(transport: seq=(\w*) high=(\d+) low=(\d+) max_at_high=(\d+))")));
  std::string seq = m[1];
  EXPECT_GE(seq.size(), 2u) << seq;
  EXPECT_TRUE(std::regex_match(seq, std::regex("(HD)+H?"))) << seq;
  EXPECT_EQ(m[2], "131072");
  EXPECT_EQ(m[3], "32768");
  EXPECT_GE(std::stoul(m[4]), 131072u);
}

}  // namespace
}  // namespace pagi::test
