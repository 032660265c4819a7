// The example apps shipped in examples/ run as documented, on TCP and on a unix socket.
#include <chrono>
#include <regex>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

std::string example(const std::string& name) {
  return source_dir() + "/examples/" + name + "/app.pl";
}

class PerlExamples : public PerlFixture {};

INSTANTIATE_TEST_SUITE_P(Transports, PerlExamples, ::testing::Values(false, true),
                         transport_name);

TEST_P(PerlExamples, Hello) {
  start(example("hello"));
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
}

TEST_P(PerlExamples, StreamingWithTrailers) {
  start(example("streaming"));
  auto r = get("/?n=4", "TE: trailers\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "piece 1 of 4\npiece 2 of 4\npiece 3 of 4\npiece 4 of 4\n");
  ASSERT_EQ(r->trailers.size(), 2u);
  RunResult md5 = run_shell("printf 'piece 1 of 4\\npiece 2 of 4\\npiece 3 of 4\\npiece 4 of 4\\n' "
                            "| md5sum | cut -d' ' -f1");
  EXPECT_EQ(r->trailers[0].first, "x-content-md5");
  EXPECT_EQ(r->trailers[0].second + "\n", md5.out);
  EXPECT_EQ(r->trailers[1], (std::pair<std::string, std::string>("x-pieces", "4")));
}

TEST_P(PerlExamples, EchoIsExact) {
  start(example("echo"));
  std::string file = dir_.file("up.bin");
  ASSERT_EQ(run_shell("head -c 700000 /dev/urandom > " + file).exit_code, 0);
  RunResult r = run_shell("curl -s --data-binary @" + file + " -o " + file + ".out " +
                          curl_target("/") + " && cmp " + file + " " + file + ".out && echo SAME");
  EXPECT_TRUE(contains(r.out, "SAME")) << r.out;
}

TEST_P(PerlExamples, LifespanState) {
  start(example("lifespan"));
  auto c = connect();
  ASSERT_TRUE(c);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::regex_match(r->body, std::regex("worker 1, request " + std::to_string(i) +
                                                     ", up \\d+\\.\\d+s\n")))
        << r->body;
  }
  EXPECT_EQ(server_->stop(SIGTERM), 0);
  EXPECT_TRUE(contains(server_->log(), "worker 1 served 3 requests")) << server_->log();
}

TEST_P(PerlExamples, Fullflush) {
  start(example("fullflush"));
  auto r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-fullflush"), "yes");
  EXPECT_EQ(r->body,
            "step 1 done\nstep 2 done\nstep 3 done\nstep 4 done\nstep 5 done\nall done\n");
}

TEST_P(PerlExamples, WebSocketEcho) {
  start(example("websocket-echo"));
  EXPECT_EQ(ws_client("/", "text:hi recv 'text:\xce\xbb' recv hex:0102ff recv close"),
            "subprotocol -\ntext echo: hi\ntext echo: \xce\xbb\nbytes 0102ff\nclosed 1000 \n");
}

TEST_P(PerlExamples, WebSocketTicks) {
  start(example("websocket-ticks"));
  // The answer comes at once, the first tick a second after the accept.
  EXPECT_EQ(ws_client("/", "text:hello recv recv close"),
            "subprotocol -\ntext you said: HELLO\ntext server tick #1\nclosed 1000 \n");
}

TEST_P(PerlExamples, SseTicker) {
  start(example("sse-ticker"));
  auto r = get("/?interval=0.05", "Accept: text/event-stream\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-type"), "text/event-stream");
  EXPECT_EQ(r->body,
            "event: tick\ndata: 1\nid: 1\nretry: 50\n\nevent: tick\ndata: 2\nid: 2\n\n"
            "event: done\ndata: finished\ndata: after 2 ticks\nid: 3\n\n");
  // A reconnect with Last-Event-ID resumes after that event; past the last one it is a 204.
  r = get("/?interval=0.05", "Accept: text/event-stream\r\nLast-Event-ID: 2\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "event: done\ndata: finished\ndata: after 2 ticks\nid: 3\nretry: 50\n\n");
  r = get("/?interval=0.05", "Accept: text/event-stream\r\nLast-Event-ID: 3\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
}

TEST_P(PerlExamples, SseFlowControl) {
  start(example("sse-flow-control"));
  // A client that keeps up gets every reading, none conflated.
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' " + curl_target("/?n=50"));
  EXPECT_EQ(occurrences(r.out, "event: reading\n"), 50u) << r.out.substr(0, 500);
  EXPECT_TRUE(contains(r.out, "id: 50\n")) << r.out.substr(0, 500);
  EXPECT_TRUE(server_->wait_for_log("[healthy] sent=50 skipped=0", 5s)) << server_->log();
}

}  // namespace
}  // namespace pagi::test
