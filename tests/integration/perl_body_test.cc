// File and filehandle response bodies of Perl apps (PAGI.md §3.2) and http.fullflush (§4.2),
// under the real binary on TCP and on a unix socket: whole files, offset/length, past EOF,
// missing files, binary exactness, bodies larger than the watermarks, in-memory handles.
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "perl_fixture.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class PerlBody : public PerlFixture {
 protected:
  // A file of `size` bytes covering every byte value, written into the test's directory.
  std::string make_file(const std::string& name, size_t size) {
    std::string data(size, '\0');
    std::mt19937 rng(42);
    for (size_t i = 0; i < size; ++i) data[i] = char(i < 256 ? i : rng() & 0xff);
    std::string path = dir_.file(name);
    std::ofstream(path, std::ios::binary).write(data.data(), std::streamsize(data.size()));
    content_[path] = data;
    return path;
  }

  std::map<std::string, std::string> content_;
};

INSTANTIATE_TEST_SUITE_P(Transports, PerlBody, ::testing::Values(false, true), transport_name);

TEST_P(PerlBody, WholeFileWithContentLength) {
  start("files.pl");
  std::string f = make_file("small.bin", 10000);
  for (const char* kind : {"/file", "/fh"}) {
    auto r = get(std::string(kind) + "?path=" + f);
    ASSERT_TRUE(r) << kind;
    EXPECT_EQ(r->status, 200) << kind;
    EXPECT_FALSE(r->chunked) << kind;
    EXPECT_EQ(r->header("content-length"), "10000") << kind;
    EXPECT_TRUE(r->body == content_[f]) << kind;
  }
}

TEST_P(PerlBody, OffsetAndLength) {
  start("files.pl");
  std::string f = make_file("range.bin", 100000);
  for (const char* kind : {"/file", "/fh"}) {
    auto r = get(std::string(kind) + "?path=" + f + "&offset=1000&length=5000");
    ASSERT_TRUE(r) << kind;
    EXPECT_EQ(r->header("content-length"), "5000") << kind;
    EXPECT_TRUE(r->body == content_[f].substr(1000, 5000)) << kind;
    // Offset alone: to the end.
    auto tail = get(std::string(kind) + "?path=" + f + "&offset=99990");
    ASSERT_TRUE(tail) << kind;
    EXPECT_TRUE(tail->body == content_[f].substr(99990)) << kind;
  }
  // A length beyond the end of a file is cut to what the file has.
  auto r = get("/file?path=" + f + "&offset=99000&length=5000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-length"), "1000");
  EXPECT_TRUE(r->body == content_[f].substr(99000));
}

TEST_P(PerlBody, OffsetPastTheEndSendsNothing) {
  start("files.pl");
  std::string f = make_file("short.bin", 100);
  auto r = get("/file?path=" + f + "&offset=5000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "0");
  EXPECT_EQ(r->body, "");
  auto h = get("/fh?path=" + f + "&offset=5000");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "");
}

TEST_P(PerlBody, MissingFileFailsTheSendSoTheAppGets500) {
  start("files.pl");
  auto r = get("/file?path=/nonexistent/pagi-missing.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(server_->wait_for_log(
      "Cannot open file /nonexistent/pagi-missing.bin: No such file or directory", 5s))
      << server_->log();
}

TEST_P(PerlBody, LargeFileStreamsToASlowReaderExactly) {
  start("files.pl");
  std::string f = make_file("large.bin", 3 * 1024 * 1024 + 17);
  for (const char* kind : {"/file", "/fh"}) {
    auto c = connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send(std::string("GET ") + kind + "?path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(200ms);  // the output fills up: reading waits for the client
    auto r = c->read_response(false, 30s);
    ASSERT_TRUE(r) << kind;
    EXPECT_EQ(r->header("content-length"), std::to_string(3 * 1024 * 1024 + 17)) << kind;
    EXPECT_EQ(r->body.size(), content_[f].size()) << kind;
    EXPECT_TRUE(r->body == content_[f]) << kind;
    // The connection is reused after a file body.
    ASSERT_TRUE(c->send(std::string("GET ") + kind + "?path=" + f +
                        "&length=10 HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto again = c->read_response();
    ASSERT_TRUE(again) << kind;
    EXPECT_TRUE(again->body == content_[f].substr(0, 10)) << kind;
  }
  std::string out = dir_.file("curl.out");
  RunResult r = run_shell("curl -s -o " + out + " " + curl_target("/file?path=" + f) +
                          " && cmp " + out + " " + f + " && echo SAME");
  EXPECT_TRUE(contains(r.out, "SAME")) << r.out;
}

// The copy path (PAGI_FILE_BODY=copy) reads the file only while the output is under the high
// watermark: with a slow reader the transport callbacks alternate high, drain, high, ...
TEST_P(PerlBody, CopiedFileBodyFollowsTheWatermarks) {
  setenv("PAGI_FILE_BODY", "copy", 1);  // inherited by the server started here
  start("files.pl");
  unsetenv("PAGI_FILE_BODY");
  std::string f = make_file("watch.bin", 2 * 1024 * 1024);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /file?watch=1&path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(300ms);
  auto r = c->read_response(false, 30s);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == content_[f]);
  ASSERT_TRUE(server_->wait_for_log("file transport: seq=", 5s)) << server_->log();
  std::smatch m;
  std::string log = server_->log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(file transport: seq=(\w*))")));
  std::string seq = m[1];
  EXPECT_TRUE(std::regex_match(seq, std::regex("(HD)+H?"))) << seq;
}

// Spliced (the default), the file never passes through the output queue: a slow reader
// sees every byte while the watermarks never fire.
TEST_P(PerlBody, SplicedFileBodyBypassesTheOutputQueue) {
  start("files.pl");
  std::string f = make_file("spliced.bin", 2 * 1024 * 1024);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /file?watch=1&path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(300ms);
  auto r = c->read_response(false, 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-length"), std::to_string(2 * 1024 * 1024));
  EXPECT_TRUE(r->body == content_[f]);
  ASSERT_TRUE(server_->wait_for_log("file transport: seq=", 5s)) << server_->log();
  EXPECT_TRUE(contains(server_->log(), "file transport: seq=\n")) << server_->log();
}

// Requests pipelined behind file bodies are answered in order, on the same connection.
TEST_P(PerlBody, PipelinedRequestsAfterFileBodiesAreAnsweredInOrder) {
  start("files.pl");
  std::string f = make_file("pipelined.bin", 600000);
  auto c = connect();
  ASSERT_TRUE(c);
  std::string p = " HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c->send("GET /file?path=" + f + "&offset=10&length=500000" + p +  //
                      "GET /fh?path=" + f + "&length=50" + p +                    //
                      "GET /fh-memory" + p +                                      //
                      "GET /file?path=" + f + "&offset=5&length=7" + p));
  auto a = c->read_response(false, 30s);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->body == content_[f].substr(10, 500000));
  auto b = c->read_response();
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->body == content_[f].substr(0, 50));
  auto m = c->read_response();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->chunked);
  EXPECT_EQ(m->body, "in-memory body\nin-memory body\nin-memory body\n");
  auto d = c->read_response();
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->body == content_[f].substr(5, 7));
}

// An fh the app has read from is sent from where it is (PerlIO's read-ahead is not lost).
TEST_P(PerlBody, FilehandleIsSentFromWhereTheAppLeftIt) {
  start("files.pl");
  std::string f = make_file("partly.bin", 200000);
  auto r = get("/fh?skip=100&path=" + f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-length"), "199900");
  EXPECT_TRUE(r->body == content_[f].substr(100));
}

// A pipe cannot be spliced from a position: an fh that is one takes the copy path (chunked,
// its length unknown) and arrives whole.
TEST_P(PerlBody, PipeFilehandleIsCopied) {
  start("files.pl");
  std::string f = make_file("piped.bin", 300000);
  auto r = get("/fh-pipe?path=" + f);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_TRUE(r->body == content_[f]);
}

// Clients that leave halfway through large file bodies: the server serves the next client,
// and closes every descriptor it had for them (its dups of the file, the pipes with bytes
// left in them); only a few empty pipes stay pooled.
TEST_P(PerlBody, ClientLeavingMidFileLeaksNoDescriptor) {
  start("files.pl");
  std::string f = make_file("leave.bin", 8 * 1024 * 1024);
  auto warm = get("/file?path=" + f + "&length=1000");
  ASSERT_TRUE(warm);
  ASSERT_TRUE(warm->body == content_[f].substr(0, 1000));
  FdCount before = settled_fds(server_->pid(), f);
  ASSERT_GT(before.others, 0);
  for (int i = 0; i < 4; ++i) {
    auto c = connect();
    ASSERT_TRUE(c);
    const char* kind = i % 2 == 0 ? "/file" : "/fh";
    ASSERT_TRUE(c->send(std::string("GET ") + kind + "?path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(read_at_least(*c, 100000));
  }  // each client closes with most of its body unread
  auto r = get("/file?path=" + f + "&offset=4000000&length=300000");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->body == content_[f].substr(4000000, 300000));
  FdCount after = settled_fds(server_->pid(), f);
  EXPECT_EQ(after.others, before.others) << "before:\n" << before.list << "after:\n" << after.list;
  EXPECT_EQ(after.of_file, 0);
  EXPECT_LE(after.pipes, before.pipes + 2 * 5);
}

// A client that leaves mid-body while the server's splice onto its socket still waits for an
// io-wq worker (a busy machine: this test keeps every CPU spinning), and a new client accepted
// right after on the freed descriptor number: the new client gets its own bytes only, never
// the rest of the old body (the kernel resolves a queued splice's descriptors late).
TEST_P(PerlBody, NewClientGetsNoBytesOfALeftClientsBody) {
  start("files.pl", {"--cores", "1"});
  std::string f = make_file("busy.bin", 8 * 1024 * 1024);
  std::atomic<bool> spin{true};
  std::vector<std::thread> spinners;
  for (unsigned i = 0; i < std::max(2u, std::thread::hardware_concurrency()); ++i) {
    spinners.emplace_back([&spin] {
      while (spin.load(std::memory_order_relaxed)) {
      }
    });
  }
  int wrong = 0;
  std::string first_wrong;
  for (int round = 0; round < 100; ++round) {
    {
      auto c = connect();
      ASSERT_TRUE(c);
      ASSERT_TRUE(c->send("GET /file?path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      ASSERT_TRUE(read_at_least(*c, 100000));
    }  // leaves with most of the body unsent
    uint64_t offset = 1000000 + uint64_t(round) * 1000;
    auto r = get("/file?path=" + f + "&offset=" + std::to_string(offset) + "&length=300000");
    ASSERT_TRUE(r) << "round " << round;
    if (r->body != content_[f].substr(offset, 300000)) {
      if (wrong++ == 0) first_wrong = "round " + std::to_string(round);
    }
  }
  spin = false;
  for (std::thread& t : spinners) t.join();
  EXPECT_EQ(wrong, 0) << "first in " << first_wrong;
}

// The access log counts a file body's bytes (framing excluded), none for HEAD.
TEST_P(PerlBody, AccessLogCountsFileBodyBytes) {
  std::string log = dir_.file("access.log");
  start("files.pl", {"--cores", "1", "--access-log", log, "--access-log-format", "%m %U %s %B"});
  std::string f = make_file("logged.bin", 200000);
  auto r = get("/file?path=" + f + "&offset=100&length=150000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), 150000u);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("HEAD /fh?path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->read_response(true));
  std::string text;
  for (int i = 0; i < 100 && occurrences(text, "\n") < 2; ++i) {
    std::this_thread::sleep_for(50ms);
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  EXPECT_TRUE(contains(text, "GET /file 200 150000\n")) << text;
  EXPECT_TRUE(contains(text, "HEAD /fh 200 0\n")) << text;
}

TEST_P(PerlBody, InMemoryFilehandleIsChunked) {
  start("files.pl");
  auto r = get("/fh-memory");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->body, "in-memory body\nin-memory body\nin-memory body\n");
}

TEST_P(PerlBody, HeadRequestGetsTheFileLengthAndNoBody) {
  start("files.pl");
  std::string f = make_file("head.bin", 4321);
  auto c = connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("HEAD /file?path=" + f + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c->read_response(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-length"), "4321");
  EXPECT_EQ(r->body, "");
}

}  // namespace
}  // namespace pagi::test
