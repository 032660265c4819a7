// File and filehandle response bodies of Perl apps (PAGI.md §3.2) and http.fullflush (§4.2),
// under the real binary on TCP and on a unix socket: whole files, offset/length, past EOF,
// missing files, binary exactness, bodies larger than the watermarks, in-memory handles.
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

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

// The file is read only while the output is under the high watermark: with a slow reader the
// transport callbacks alternate high, drain, high, ...
TEST_P(PerlBody, FileBodyFollowsTheWatermarks) {
  start("files.pl");
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
