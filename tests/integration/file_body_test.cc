// Exchange::send_file end to end: bench/apps/large_app.cc (built as a .so) answers GET /file
// from a file with send_file, which the server splices to the socket; GET /big sends the same
// bytes from memory with send_body. Slow readers, keep-alive and pipelining after a file,
// HEAD, clients leaving mid-file, and the copy path forced with PAGI_FILE_BODY=copy.
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t kSize = 5 * 1024 * 1024 + 3;  // more than the socket buffers hold

std::unique_ptr<Server> start_large(std::string* why) {
  return Server::start({"native:" + bench_large_so() + "?" + std::to_string(kSize), "--cores", "1"},
                       why);
}

const std::string kGet = " HTTP/1.1\r\nHost: x\r\n\r\n";

bool all_x(const std::string& body) {
  return body.find_first_not_of('x') == std::string::npos;
}

TEST(NativeSendFile, SlowReaderGetsTheWholeFileThenTheConnectionIsReused) {
  std::string why;
  auto s = start_large(&why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /file" + kGet));
  std::this_thread::sleep_for(300ms);  // the socket fills: the splice waits for POLLOUT
  auto r = c->read_response(false, 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), std::to_string(kSize));
  EXPECT_EQ(r->body.size(), kSize);
  EXPECT_TRUE(all_x(r->body));
  // Keep-alive after it, with the copy-from-memory path and a HEAD in between.
  ASSERT_TRUE(c->send("GET /big" + kGet));
  auto big = c->read_response(false, 30s);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->body.size(), kSize);
  ASSERT_TRUE(c->send("HEAD /file" + kGet));
  auto head = c->read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), std::to_string(kSize));
  EXPECT_EQ(head->body, "");
  ASSERT_TRUE(c->send("GET /file" + kGet));
  auto again = c->read_response(false, 30s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body.size(), kSize);
}

TEST(NativeSendFile, PipelinedFileResponsesComeInOrder) {
  std::string why;
  auto s = start_large(&why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /file" + kGet + "HEAD /file" + kGet + "GET /file" + kGet +
                      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto a = c->read_response(false, 30s);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body.size(), kSize);
  auto h = c->read_response(true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->body, "");
  auto b = c->read_response(false, 30s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body.size(), kSize);
  EXPECT_TRUE(all_x(b->body));
  auto u = c->read_response();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->body, "3");
}

TEST(NativeSendFile, ClientsLeavingMidFileLeakNoDescriptor) {
  std::string why;
  auto s = start_large(&why);
  ASSERT_TRUE(s) << why;
  auto warm = request(s->port(), "GET /file" + kGet);
  ASSERT_TRUE(warm);
  ASSERT_EQ(warm->body.size(), kSize);
  FdCount before = settled_fds(s->pid());
  for (int i = 0; i < 4; ++i) {
    auto c = Client::tcp(s->port());
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send("GET /file" + kGet));
    ASSERT_TRUE(read_at_least(*c, 200000));
  }
  auto r = request(s->port(), "GET /file" + kGet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), kSize);
  FdCount after = settled_fds(s->pid());
  EXPECT_EQ(after.others, before.others) << "before:\n"
                                         << before.list << "after:\n"
                                         << after.list;  // the file dups and the sockets are closed
  EXPECT_LE(after.pipes, before.pipes + 2 * 5);
  EXPECT_EQ(s->stop(SIGTERM), 0);
}

TEST(NativeSendFile, CopyPathForcedAnswersTheSame) {
  setenv("PAGI_FILE_BODY", "copy", 1);
  std::string why;
  auto s = start_large(&why);
  unsetenv("PAGI_FILE_BODY");
  ASSERT_TRUE(s) << why;
  auto r = request(s->port(), "GET /file" + kGet);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), kSize);
  EXPECT_TRUE(all_x(r->body));
}

// A graceful stop while a slow client is halfway through a file: the body is finished
// (Connection: close is too late for a sent head, so the server closes after it).
TEST(NativeSendFile, GracefulStopFinishesAFileInFlight) {
  std::string why;
  auto s = start_large(&why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /file" + kGet));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(kill(s->pid(), SIGTERM), 0);
  auto r = c->read_response(false, 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), kSize);
  EXPECT_TRUE(c->wait_closed(10s));
  EXPECT_EQ(s->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace pagi::test
