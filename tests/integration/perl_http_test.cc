// PAGI Perl apps (tests/apps/*.pl) under the real binary, on TCP and on a unix socket: scope
// keys, every http event and error case, UTF-8 paths, keep-alive, Future::IO sleeps and fd
// readiness on the core's ring, several cores each with its own interpreter, app loading and
// its errors.
#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Every test runs twice: over TCP (param false) and over a unix socket (param true).
class PerlHttp : public PerlFixture {};

INSTANTIATE_TEST_SUITE_P(Transports, PerlHttp, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("Unix") : std::string("Tcp");
                         });

TEST_P(PerlHttp, HelloWithCurl) {
  start("hello.pl");
  RunResult r = run_shell("curl -s -i " + curl_target("/"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "HTTP/1.1 200 OK")) << r.out;
  EXPECT_TRUE(contains(r.out, "content-type: text/plain"));
  EXPECT_TRUE(contains(r.out, "content-length: 13"));
  EXPECT_TRUE(contains(r.out, "Server: PAGI::Server/"));
  EXPECT_EQ(r.out.substr(r.out.size() - 13), "Hello, World!");
}

TEST_P(PerlHttp, ScopeHasEveryHttpKey) {
  start("scope_dump.pl");
  auto r = get("/a/b?x=1&y=%20", "X-Custom: v1\r\nCookie: a=1\r\nCookie: b=2\r\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::string& j = r->body;
  EXPECT_TRUE(contains(j, R"("type":"http")")) << j;
  EXPECT_TRUE(contains(j, R"("pagi":{"spec_version":"0.3","version":"0.3"})")) << j;
  EXPECT_TRUE(contains(j, R"("http_version":"1.1")")) << j;
  EXPECT_TRUE(contains(j, R"("method":"GET")")) << j;
  EXPECT_TRUE(contains(j, R"("scheme":"http")")) << j;
  EXPECT_TRUE(contains(j, R"("path":"/a/b")")) << j;
  EXPECT_TRUE(contains(j, R"("raw_path":"/a/b")")) << j;
  EXPECT_TRUE(contains(j, R"("query_string":"x=1&y=%20")")) << j;
  EXPECT_TRUE(contains(j, R"("root_path":"")")) << j;
  EXPECT_TRUE(contains(j, R"("headers":[["host","x"],["x-custom","v1"],["cookie","a=1; b=2"]])"))
      << j;
  EXPECT_TRUE(contains(j, R"("state":{})")) << j;
  EXPECT_TRUE(contains(j, R"("extensions":{"fullflush":{}})")) << j;
  if (on_unix()) {
    EXPECT_TRUE(contains(j, R"("_has_client":0)")) << j;
    EXPECT_TRUE(contains(j, "\"server\":[\"" + sock_ + "\",null]")) << j;
  } else {
    EXPECT_TRUE(contains(j, R"("_has_client":1)")) << j;
    EXPECT_TRUE(std::regex_search(j, std::regex(R"re("client":\["127\.0\.0\.1",\d+\])re"))) << j;
    EXPECT_TRUE(contains(j, "\"server\":[\"127.0.0.1\"," + std::to_string(server_->port()) + "]"))
        << j;
  }
}

TEST_P(PerlHttp, Utf8PathIsDecodedToCharacters) {
  start("scope_dump.pl");
  auto r = get("/echo/%CE%BB");
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, R"("_path_is_utf8":1)")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("_path_hex":"2f6563686f2fcebb")")) << r->body;
  EXPECT_TRUE(contains(r->body, "\"path\":\"/echo/\xCE\xBB\"")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("raw_path":"/echo/%CE%BB")")) << r->body;
}

TEST_P(PerlHttp, InvalidUtf8PathFallsBackToBytes) {
  start("scope_dump.pl");
  auto r = get("/invalid/%FF%FE/test");
  ASSERT_TRUE(r);
  EXPECT_TRUE(contains(r->body, R"("_path_is_utf8":0)")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("_path_hex":"2f696e76616c69642ffffe2f74657374")")) << r->body;
  EXPECT_TRUE(contains(r->body, R"("raw_path":"/invalid/%FF%FE/test")")) << r->body;
}

TEST_P(PerlHttp, KeepAliveGivesAFreshScopePerRequest) {
  start("scope_dump.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(c->send("GET /req" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(contains(r->body, "\"path\":\"/req" + std::to_string(i) + "\"")) << r->body;
    EXPECT_TRUE(contains(r->body, "\"_served\":" + std::to_string(i))) << r->body;
    // The app mutated the previous scope's state and extensions: not seen here.
    EXPECT_TRUE(contains(r->body, R"("state":{})")) << r->body;
    EXPECT_TRUE(contains(r->body, R"("extensions":{"fullflush":{}})")) << r->body;
  }
}

TEST_P(PerlHttp, RequestBodyArrivesInPieces) {
  start("echo_body.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  std::string body(300000, 'x');
  for (size_t i = 0; i < body.size(); ++i) body[i] = char('a' + i % 26);
  ASSERT_TRUE(c->send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 1000)));
  std::this_thread::sleep_for(100ms);  // the app sees a first piece with more => 1
  ASSERT_TRUE(c->send(body.substr(1000)));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_TRUE(r->body == body);
  ASSERT_TRUE(r->header("x-events"));
  EXPECT_GE(std::stoi(*r->header("x-events")), 2);
  EXPECT_EQ(r->header("x-last-more"), "0");
}

TEST_P(PerlHttp, ChunkedUploadWithCurl) {
  start("echo_body.pl");
  std::string file = dir_.file("up.bin");
  ASSERT_EQ(run_shell("head -c 100000 /dev/urandom > " + file).exit_code, 0);
  RunResult r =
      run_shell("curl -s -H 'Transfer-Encoding: chunked' --data-binary @" + file + " -o " + file +
                ".out " + curl_target("/") + " && cmp " + file + " " + file + ".out && echo SAME");
  EXPECT_TRUE(contains(r.out, "SAME")) << r.out;
}

TEST_P(PerlHttp, ReceiveAfterTheResponseIsDisconnect) {
  start("echo_body.pl");
  auto r = get("/log-after");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(server_->wait_for_log("after-response receive: http.disconnect", 5s))
      << server_->log();
}

TEST_P(PerlHttp, DieBeforeStartIs500AndLogged) {
  start("die_before_start.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "Internal Server Error");
  EXPECT_TRUE(server_->wait_for_log("PAGI application error: deliberate failure before start", 5s))
      << server_->log();
  EXPECT_EQ(occurrences(server_->log(), "PAGI application error"), 1u) << server_->log();
  // The core and its interpreter go on serving.
  auto ok = get("/ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "fine");
}

TEST_P(PerlHttp, SynchronousDieIs500) {
  start("die_sync.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(server_->wait_for_log("PAGI application error: synchronous failure", 5s))
      << server_->log();
}

TEST_P(PerlHttp, DieAfterStartClosesTheConnection) {
  start("die_after_start.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string raw = c->read_all(5s);
  EXPECT_TRUE(contains(raw, "HTTP/1.1 200 OK")) << raw;
  EXPECT_TRUE(contains(raw, "partial")) << raw;
  EXPECT_FALSE(contains(raw, "\r\n0\r\n\r\n")) << "the body must be truncated, not completed";
  EXPECT_TRUE(server_->wait_for_log(
      "PAGI application error (after response started): deliberate failure after start", 5s))
      << server_->log();
}

TEST_P(PerlHttp, ReturningWithoutAResponseIs500) {
  start("no_response.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(server_->wait_for_log("PAGI application returned without starting a response", 5s))
      << server_->log();
}

TEST_P(PerlHttp, ExitInsideTheAppDoesNotEndTheServer) {
  start("exit_in_app.pl");
  auto r = get("/exit");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(server_->wait_for_log("exit(3) called inside the application", 5s)) << server_->log();
  EXPECT_TRUE(server_->running());
  auto ok = get("/");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->body, "still here");
}

TEST_P(PerlHttp, WarningsAreLoggedWithFileAndLine) {
  start("warn.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "warned");
  EXPECT_TRUE(server_->wait_for_log("careful-with-this at " + app_path("warn.pl") + " line 8.", 5s))
      << server_->log();
}

TEST_P(PerlHttp, StreamingWithTrailers) {
  start("streaming.pl");
  auto r = get("/", "TE: trailers\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "part1;part2;part3;end");
  ASSERT_EQ(r->trailers.size(), 2u);
  EXPECT_EQ(r->trailers[0], (std::pair<std::string, std::string>("x-checksum", "abc123")));
  EXPECT_EQ(r->trailers[1], (std::pair<std::string, std::string>("x-parts", "3")));
}

TEST_P(PerlHttp, StreamingWithoutTrailers) {
  start("streaming.pl");
  auto r = get("/plain");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "part1;part2;part3;end");
  EXPECT_TRUE(r->trailers.empty());
}

TEST_P(PerlHttp, InvalidSendsFailTheSendFuture) {
  start("send_errors.pl");
  const std::pair<const char*, const char*> cases[] = {
      {"/unknown", "Unrecognized event type 'http.response.bogus' for http protocol"},
      {"/crlf", "Invalid header value"},
      {"/name-ctl", "Invalid header name"},
      {"/wide-header", "wide characters"},
      {"/wide-body", "wide characters"},
      {"/status", "status must be an integer"},
      {"/fullflush", "error: none"},  // advertised, so accepted
      {"/file", "Cannot open file /nonexistent/pagi-missing: No such file or directory"},
      {"/relative-file", "file must be an absolute path"},
      {"/bad-fh", "fh is not an open filehandle"},
      {"/not-hash", "send requires an event hash reference"},
  };
  for (const auto& [path, message] : cases) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_TRUE(contains(r->body, message)) << path << ": " << r->body;
  }
}

TEST_P(PerlHttp, HeaderInjectionIsRefused) {
  start("send_errors.pl");
  auto r = get("/crlf");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->header("set-cookie")) << "injected header reached the wire";
  EXPECT_FALSE(r->header("x-injected"));
  auto t = get("/trailer-crlf");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->trailers.size(), 1u);
  EXPECT_EQ(t->trailers[0], (std::pair<std::string, std::string>("x-error", "1")));
}

TEST_P(PerlHttp, LateSendIsANoOpAndLateReceiveIsDisconnect) {
  start("late.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "first");
  std::string result;
  for (int i = 0; i < 50 && result != "send-done,http.disconnect"; ++i) {
    std::this_thread::sleep_for(20ms);
    auto res = get("/result");
    ASSERT_TRUE(res);
    result = res->body;
  }
  EXPECT_EQ(result, "send-done,http.disconnect");
}

// A slow reader: sends above the high watermark return pending Futures that resolve once the
// output drains, and every byte arrives.
TEST_P(PerlHttp, SendFuturesWaitForTheOutputToDrain) {
  start("backpressure.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(300ms);  // read nothing yet: the socket buffers fill up
  auto r = c->read_response(false, 20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 64u * 65536u);
  ASSERT_TRUE(server_->wait_for_log("backpressure: pending=", 5s)) << server_->log();
  std::smatch m;
  std::string log = server_->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("backpressure: pending=(\\d+)")));
  EXPECT_GT(std::stoi(m[1]), 0) << "no send ever waited for the output to drain";
}

TEST_P(PerlHttp, AppWithoutAsyncAwaitChainsFutures) {
  start("sync_then.pl");
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
}

// Two requests that each sleep 0.6 s on one core finish together: the sleep is a timer on the
// core's ring, not a blocking call.
TEST_P(PerlHttp, SleepsDoNotBlockTheCore) {
  start("sleep.pl");
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a && b);
  auto t0 = Clock::now();
  ASSERT_TRUE(a->send("GET /s?0.6 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b->send("GET /s?0.6 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // A third request answers at once while both sleep.
  auto fast = get("/fast");
  double fast_s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->status, 200);
  EXPECT_LT(fast_s, 0.4);
  auto ra = a->read_response();
  auto rb = b->read_response();
  double total = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->status, 200);
  EXPECT_EQ(rb->status, 200);
  EXPECT_GE(total, 0.55);
  EXPECT_LT(total, 0.6 * 1.7) << "the two sleeps ran one after the other";
}

// Future::IO->sysread/syswrite wait for readiness with polls on the core's ring.
TEST_P(PerlHttp, FutureIoReadinessRunsOnTheRing) {
  start("future_io.pl");
  auto a = connect();
  auto b = connect();
  ASSERT_TRUE(a && b);
  auto t0 = Clock::now();
  ASSERT_TRUE(a->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto ra = a->read_response();
  auto rb = b->read_response();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->body, "read ping");
  EXPECT_EQ(rb->body, "read ping");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.5);
  auto c = get("/cancel");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->body, "cancelled");
}

TEST_P(PerlHttp, GracefulStopWaitsForASleepingRequest) {
  start("sleep.pl");
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /s?0.4 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(100ms);
  auto t0 = Clock::now();
  std::thread stopper([&] { EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log(); });
  auto r = c->read_response();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 5.0);
}

TEST_P(PerlHttp, StopEndsAnAppThatNeverResponds) {
  start("never_responds.pl", {"--cores", "1", "--shutdown-timeout", "1"});
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);
  auto t0 = Clock::now();
  EXPECT_EQ(server_->stop(SIGTERM, 10s), 0) << server_->log();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 5.0);
  EXPECT_TRUE(c->wait_closed(2s));
}

TEST_P(PerlHttp, TwoCoresServeFromTwoInterpreters) {
  start("scope_dump.pl", {"--cores", "2"});
  std::set<std::string> threads;
  std::regex thread_re(R"re("_thread":"?(\d+))re");
  // Open many connections at once so both cores' accepts get some.
  for (int round = 0; round < 20 && threads.size() < 2; ++round) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 8; ++i) clients.push_back(connect());
    for (auto& c : clients) {
      ASSERT_TRUE(c);
      ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (auto& c : clients) {
      auto r = c->read_response();
      ASSERT_TRUE(r);
      std::smatch m;
      ASSERT_TRUE(std::regex_search(r->body, m, thread_re)) << r->body;
      threads.insert(m[1]);
    }
  }
  // TCP: each core has its own SO_REUSEPORT socket. Unix: the cores take turns on the one
  // shared socket (single-shot accepts), so both answer there too.
  EXPECT_EQ(threads.size(), 2u) << "only one core's interpreter answered";
}

// --- loading (PAGI.md §1.2) ----------------------------------------------------------------

TEST(PerlLoad, ModuleWithConstructorArgs) {
  std::string why;
  auto s =
      Server::start({"-I", app_path("lib"), "TestGreeter", "greeting=Howdy", "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Howdy from TestGreeter");
}

TEST(PerlLoad, EvalCodeWithModules) {
  std::string why;
  auto s = Server::start(
      {"-MList::Util=sum,max", "-M", "JSON::PP", "-e",
       "my $n = sum(1, max(2, 3)); my $j = JSON::PP->new; sub { my ($s, $r, $send) = @_; "
       "$send->({type => 'http.response.start', status => 200})->then(sub { "
       "$send->({type => 'http.response.body', body => $j->encode([$n, $s->{method}])}) }) }",
       "--cores", "1"},
      &why);
  ASSERT_TRUE(s) << why;
  auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"([4,"GET"])");
}

// Errors reach the log by their text: an exception object by its stringification, and one
// whose stringification dies by a fixed phrase. Run with the direct Future::PP hashes and,
// under PERL_FUTURE_DEBUG (Future's own methods are then called), with the method calls.
TEST(PerlErrors, ExceptionObjectsAndFailedFuturesOnBothFuturePaths) {
  const std::string app =
      "package Nice { use overload '\"\"' => sub { 'a nice error' } } "
      "package Boom { use overload '\"\"' => sub { die \"nested\\n\" } } "
      "sub { my ($s, $r, $send) = @_; my $p = $s->{path}; "
      "die bless({}, 'Nice') if $p eq '/nice'; "
      "die bless({}, 'Boom') if $p eq '/boom'; "
      "return Future->fail(\"failed future\\n\") if $p eq '/fail'; "
      "$send->({type => 'http.response.start', status => 200})->then(sub { "
      "$send->({type => 'http.response.body', body => 'ok'}) }) }";
  for (const char* debug : {"0", "1"}) {
    SCOPED_TRACE(std::string("PERL_FUTURE_DEBUG=") + debug);
    ScopedEnv env("PERL_FUTURE_DEBUG", debug[0] == '1' ? debug : nullptr);
    std::string why;
    auto s = Server::start({"-e", app, "--cores", "1", "--no-access-log"}, &why);
    ASSERT_TRUE(s) << why;
    for (const char* path : {"/nice", "/boom", "/fail"}) {
      auto r = request(s->port(), std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 500) << path;
    }
    auto ok = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->body, "ok");
    EXPECT_TRUE(s->wait_for_log("PAGI application error: a nice error", 5s)) << s->log();
    EXPECT_TRUE(s->wait_for_log(
        "PAGI application error: (an exception object that cannot be printed)", 5s))
        << s->log();
    EXPECT_TRUE(s->wait_for_log("PAGI application error: failed future", 5s)) << s->log();
  }
}

// The runner exports the mode it resolved (-E > PAGI_ENV > TTY on stdin), so the app sees it
// even when it came from the TTY rule; the test's servers have stdin on /dev/null.
TEST(PerlLoad, ResolvedModeIsExportedAsPagiEnv) {
  const std::string app =
      "sub { my ($s, $r, $send) = @_; "
      "$send->({type => 'http.response.start', status => 200})->then(sub { "
      "$send->({type => 'http.response.body', body => $ENV{PAGI_ENV} // 'unset'}) }) }";
  struct Case {
    const char* env;
    std::vector<std::string> flags;
    std::string mode;
  };
  const Case cases[] = {
      {nullptr, {}, "production"},
      {nullptr, {"-E", "none"}, "none"},
      {"development", {}, "development"},
      {"development", {"-E", "production"}, "production"},
  };
  for (const Case& c : cases) {
    ScopedEnv env("PAGI_ENV", c.env);
    std::vector<std::string> args = {"-e", app, "--cores", "1", "--no-access-log"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    std::string why;
    auto s = Server::start(args, &why);
    ASSERT_TRUE(s) << why;
    auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, c.mode) << (c.env ? c.env : "unset") << " " << testing::PrintToString(c.flags);
  }
}

TEST(PerlLoad, AppOptionLoadsAFile) {
  std::string why;
  auto s = Server::start({"--app", app_path("hello.pl"), "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST(PerlLoad, ErrorsUseTheReferenceMessages) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{app_path("missing.pl")}, "App file not found: " + app_path("missing.pl")},
      {{app_path("not_code.pl")}, "App file must return a coderef, got: HASH"},
      {{app_path("syntax_error.pl")}, "Error loading " + app_path("syntax_error.pl") + ": "},
      {{"No::Such::Module"}, "Cannot find module 'No::Such::Module': "},
      {{"-e", "42"}, "-e code must return a coderef, got: non-reference"},
      {{"-e", "sub {"}, "Error evaluating -e code: "},
      {{"-MNo::Such::Thing", "-e", "sub {}"}, "Cannot load module No::Such::Thing: "},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = c.args;
    args.push_back("--port");
    args.push_back("0");
    RunResult r = run_binary(args);
    EXPECT_NE(r.exit_code, 0) << c.message;
    EXPECT_TRUE(contains(r.out, c.message)) << r.out;
    EXPECT_FALSE(contains(r.out, "listening")) << r.out;
  }
}

}  // namespace
}  // namespace pagi::test
