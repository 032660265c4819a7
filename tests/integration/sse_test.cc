// Server-Sent Events against the real binary with curl -N: the stream's framing on the wire
// (raw socket for the chunk terminator), decline responses, a POST body as sse.request,
// keepalive comments and --sse-idle-timeout.
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Server> start_echo(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"native:echo", "--cores", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string why;
  auto s = Server::start(args, &why);
  EXPECT_TRUE(s) << why;
  return s;
}

std::string url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST(SseTest, CurlReadsEventsAndTheStreamEnds) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' -d 'abc' -D - " +
                          url(*s, "/events"), 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("content-type: text/event-stream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data: abc\n\nevent: end\ndata: done\n\n"), std::string::npos) << r.out;
}

TEST(SseTest, SseCloseWritesTheLastChunk) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  c->send("GET /e HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
  std::string all = c->read_all();
  EXPECT_NE(all.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << all;
  ASSERT_GE(all.size(), 5u);
  EXPECT_EQ(all.substr(all.size() - 5), "0\r\n\r\n") << all;
}

TEST(SseTest, DeclineWith204And404) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  RunResult r = run_shell("curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/event-stream' " +
                          url(*s, "/sse/decline"), 30s);
  EXPECT_EQ(r.out, "204");
  r = run_shell("curl -s -w ' %{http_code}' -H 'Accept: text/event-stream' " +
                url(*s, "/sse/missing"), 30s);
  EXPECT_EQ(r.out, "not found 404");
}

TEST(SseTest, KeepaliveCommentsWhileHeld) {
  auto s = start_echo();
  ASSERT_TRUE(s);
  // --max-time ends curl (exit 28) once a few keepalives came.
  RunResult r = run_shell("curl -sN --max-time 2 -H 'Accept: text/event-stream' '" +
                          url(*s, "/e?keepalive=100") + "'", 30s);
  EXPECT_NE(r.out.find("event: end\ndata: done\n\n:ka\n\n"), std::string::npos) << r.out;
}

TEST(SseTest, SseIdleTimeoutEndsTheStream) {
  auto s = start_echo({"--sse-idle-timeout", "1"});
  ASSERT_TRUE(s);
  RunResult r = run_shell("curl -sN --max-time 20 -H 'Accept: text/event-stream' '" +
                          url(*s, "/e?hold") + "'", 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out;  // the server ended the stream, not --max-time
  EXPECT_NE(r.out.find("data: done"), std::string::npos) << r.out;
  EXPECT_TRUE(s->wait_for_log("SSE idle timeout", 5s)) << s->log();
}

// %b of a stream is what the client was sent after the head, chunk framing included (nginx's
// $body_bytes_sent); a decline's is its body.
TEST(SseTest, AccessLogCountsTheBytesSentAfterTheHead) {
  TempDir dir;
  auto s = start_echo({"--access-log", dir.file("access.log"), "--access-log-format", "%U %s %b"});
  ASSERT_TRUE(s);
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  c->send("POST /counted HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
          "Content-Length: 3\r\n\r\nabc");
  std::string all = c->read_all();
  size_t head = all.find("\r\n\r\n");
  ASSERT_NE(head, std::string::npos) << all;
  std::string body = all.substr(head + 4);
  EXPECT_NE(body.find("data: abc\n\n"), std::string::npos) << body;  // in chunks
  EXPECT_NE(body.find("event: end\ndata: done\n\n"), std::string::npos) << body;
  RunResult r = run_shell("curl -s -H 'Accept: text/event-stream' " + url(*s, "/sse/missing"));
  EXPECT_EQ(r.out, "not found");
  std::string log;
  for (int i = 0; i < 100 && (log.find("/sse/missing") == std::string::npos ||
                              log.find("/counted") == std::string::npos);
       ++i) {
    std::this_thread::sleep_for(50ms);
    std::ifstream f(dir.file("access.log"));
    std::stringstream ss;
    ss << f.rdbuf();
    log = ss.str();
  }
  EXPECT_NE(log.find("/counted 200 " + std::to_string(body.size()) + "\n"), std::string::npos)
      << log;
  EXPECT_NE(log.find("/sse/missing 404 9\n"), std::string::npos) << log;
}

}  // namespace
}  // namespace pagi::test
