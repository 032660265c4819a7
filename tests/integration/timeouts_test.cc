// Connection timers end to end: --request-timeout closes a stalled HTTP request (the app
// sees client_timeout) but not a slow, steady one and not an idle keep-alive connection;
// --timeout (idle) never fires while a request is in flight. The header-read (slowloris) and
// idle keep-alive timeouts themselves are in limits_test.cc.
#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

TEST(Timeouts, RequestTimeoutClosesAStalledRequest) {
  std::string why;
  auto s = Server::start(
      {app_path("connection_state.pl"), "--cores", "1", "--request-timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_TRUE(s->wait_for_log("Request stall timeout", 5s)) << s->log();
  EXPECT_TRUE(s->wait_for_log("/wait disconnected: client_timeout", 5s)) << s->log();
  // The core goes on serving.
  auto r = request(s->port(), "GET /complete HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Timeouts, RequestTimeoutClosesAnAppThatNeverAnswers) {
  std::string why;
  auto s = Server::start({app_path("never_responds.pl"), "--cores", "1", "--request-timeout", "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_EQ(c->read_all(1s), "");  // closed without a response
  EXPECT_TRUE(s->wait_for_log("Request stall timeout", 5s)) << s->log();
}

TEST(Timeouts, SteadySlowStreamIsNotCut) {
  std::string why;
  auto s =
      Server::start({app_path("slow_stream.pl"), "--cores", "1", "--request-timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response(false, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "piece1\npiece2\npiece3\npiece4\npiece5\npiece6\n");
  EXPECT_EQ(s->log().find("Request stall timeout"), std::string::npos) << s->log();
}

TEST(Timeouts, WorkAfterTheResponseIsNotAStall) {
  std::string why;
  auto s = Server::start(
      {app_path("work_after_response.pl"), "--cores", "1", "--request-timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "answered\n");
  EXPECT_TRUE(s->wait_for_log("work done for /slow", 10s)) << s->log();
  // The connection is still usable once the app has returned.
  ASSERT_TRUE(c->send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = c->read_response();
  ASSERT_TRUE(again) << s->log();
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(s->log().find("Request stall timeout"), std::string::npos) << s->log();
}

TEST(Timeouts, RequestTimeoutLeavesIdleKeepAliveConnectionsAlone) {
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "1", "--request-timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->read_response());
  EXPECT_FALSE(c->wait_closed(1500ms)) << "only --timeout (60 s) applies between requests";
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Timeouts, IdleTimeoutNeverFiresWhileARequestIsInFlight) {
  std::string why;
  auto s = Server::start({app_path("sleep.pl"), "--cores", "1", "--timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /?1.6 HTTP/1.1\r\nHost: x\r\n\r\n"));  // no bytes for 1.6 s
  auto r = c->read_response(false, 10s);
  ASSERT_TRUE(r) << s->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.rfind("slept 1.", 0), 0u) << r->body;
}

// The idle period starts when the response is done: a request that took longer than
// --timeout leaves its keep-alive connection open for the next one, and only a full idle
// period after that closes it.
TEST(Timeouts, IdlePeriodStartsWhenTheResponseIsDone) {
  std::string why;
  auto s = Server::start({app_path("sleep.pl"), "--cores", "1", "--timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /?1.6 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response(false, 10s);
  ASSERT_TRUE(r) << s->log();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(c->wait_closed(400ms)) << "closed as soon as it was idle: " << s->log();
  ASSERT_TRUE(c->send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c->read_response();
  ASSERT_TRUE(r) << s->log();
  EXPECT_EQ(r->status, 200);
  auto idle = std::chrono::steady_clock::now();
  EXPECT_TRUE(c->wait_closed(5s)) << "the idle timeout never closed it";
  EXPECT_GE(std::chrono::steady_clock::now() - idle, 900ms);
}

TEST(Timeouts, BadRequestTimeoutValueIsAUsageError) {
  RunResult r = run_binary({"native:hello", "--request-timeout", "soon"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--request-timeout"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pagi::test
