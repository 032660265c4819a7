// Exchange::send_file in the HTTP/1 state machine, without sockets: the test plays the
// server's part (drain the output, then move the file range in short steps with pread,
// reporting on_file_read / on_file_sent) and checks framing, order, completion and the fds.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "h1_harness.h"
#include "http/h1_connection.h"

namespace pagi::http {
namespace {

class FileApp final : public App {
 public:
  std::function<void(Exchange&)> request;
  std::vector<std::string> ends;
  std::vector<SendResult> results;
  void on_request(Exchange& ex) override { request(ex); }
  void on_end(Exchange&, const ExchangeEnd& end) override {
    ends.push_back((end.reason.empty() ? std::string("ok") : std::string(end.reason)) + " " +
                   (end.response_complete ? "1" : "0"));
  }
};

class H1FileTest : public H1Harness {
 protected:
  H1FileTest() : H1Harness("S") {}
  void SetUp() override {
    char path[] = "/tmp/pagi-h1-file-XXXXXX";
    fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    unlink(path);
    for (int i = 0; i < 100000; ++i) data.push_back(char('a' + i % 26));
    ASSERT_EQ(write(fd, data.data(), data.size()), ssize_t(data.size()));
  }
  void TearDown() override {
    conn.reset();
    if (fd >= 0) close(fd);
  }

  H1Connection& connect() { return H1Harness::connect(&app); }
  // The server's part: plain output first, then the file in steps of at most `step` bytes
  // (a short move to the socket leaves some in the "pipe" for the next round).
  std::string wire(size_t step = 7000) {
    turn();
    std::string s, pipe;
    iovec iov[64];
    for (;;) {
      if (size_t limit = conn->sendable(); limit > 0) {
        int n = conn->output().gather(iov, 64, limit);
        size_t got = 0;
        for (int i = 0; i < n; ++i) {
          s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
          got += iov[i].iov_len;
        }
        conn->on_sent(got);
      } else if (const H1Connection::FileSend* f = conn->file_send()) {
        if (pipe.empty()) {
          size_t want = std::min<uint64_t>(f->to_read, step);
          pipe.resize(want);
          ssize_t got = pread(f->fd, pipe.data(), want, off_t(f->offset));
          if (got <= 0) {
            conn->on_file_error(got == 0 ? 0 : errno);
            pipe.clear();
            turn();
            continue;
          }
          pipe.resize(size_t(got));
          conn->on_file_read(size_t(got));
        }
        size_t out = std::max<size_t>(1, pipe.size() / 2);  // short moves
        s.append(pipe, 0, out);
        pipe.erase(0, out);
        conn->on_file_sent(out);
      } else {
        break;
      }
      turn();
    }
    return std::regex_replace(s, std::regex("date: [^\r]*\r\n"), "date: D\r\n");
  }
  int open_fds() {
    int n = 0;
    for (int i = 0; i < 1024; ++i) n += fcntl(i, F_GETFD) >= 0;
    return n;
  }

  FileApp app;
  int fd = -1;
  std::string data;
};

TEST_F(H1FileTest, FileRangeFollowsTheHeadWithContentLengthAndCompletesTheResponse) {
  app.request = [&](Exchange& ex) {
    ex.send_start(200, {});
    app.results.push_back(ex.send_file(fd, 1000, 50000));
    EXPECT_FALSE(ex.response_complete());  // not until the range is on the socket
    ex.finish();
  };
  auto& c = connect();
  int before = open_fds();
  c.on_input("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(app.results, std::vector<SendResult>{SendResult::kOk});
  EXPECT_TRUE(c.file_pending());
  EXPECT_EQ(open_fds(), before + 1);  // the server's own dup
  std::string out = wire();
  std::string head = "HTTP/1.1 200 OK\r\ndate: D\r\nServer: S\r\ncontent-length: 50000\r\n\r\n";
  ASSERT_EQ(out.substr(0, head.size()), head);
  EXPECT_TRUE(out.substr(head.size()) == data.substr(1000, 50000));
  EXPECT_FALSE(c.file_pending());
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(app.ends, std::vector<std::string>{"ok 1"});
  EXPECT_TRUE(c.idle());
  EXPECT_FALSE(c.wants_close());
}

TEST_F(H1FileTest, PipelinedRequestWaitsForTheFile) {
  app.request = [&](Exchange& ex) {
    ex.send_start(200, {});
    if (ex.scope().path == "/f") {
      ex.send_file(fd, 0, 30000);
    } else {
      ex.send_body("tail", false);
    }
    ex.finish();
  };
  auto& c = connect();
  c.on_input("GET /f HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire(4096);
  size_t body_at = out.find("\r\n\r\n") + 4;
  EXPECT_TRUE(out.substr(body_at, 30000) == data.substr(0, 30000));
  EXPECT_NE(out.find("content-length: 4\r\n\r\ntail", body_at + 30000), std::string::npos);
  EXPECT_EQ(app.ends, (std::vector<std::string>{"ok 1", "ok 1"}));
}

TEST_F(H1FileTest, HeadAndNotModifiedSendNoFile) {
  app.request = [&](Exchange& ex) {
    ex.send_start(ex.scope().path == "/304" ? 304 : 200, {});
    app.results.push_back(ex.send_file(fd, 0, 500));
    EXPECT_TRUE(ex.response_complete());
    ex.finish();
  };
  auto& c = connect();
  int before = open_fds();
  c.on_input("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("content-length: 500\r\n\r\nHTTP/1.1 304"), std::string::npos) << out;
  EXPECT_FALSE(c.file_pending());
  EXPECT_EQ(open_fds(), before);
}

TEST_F(H1FileTest, RefusedAfterABodyOrWithTrailersSoTheAppCanCopy) {
  app.request = [&](Exchange& ex) {
    bool trailers = ex.scope().path == "/t";
    ex.send_start(200, {}, trailers);
    if (!trailers) ex.send_body("x", true);
    app.results.push_back(ex.send_file(fd, 0, 10));
    ex.send_body("y", trailers);
    if (trailers) ex.send_trailers({});
    ex.finish();
  };
  auto& c = connect();
  c.on_input("GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /t HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_EQ(app.results, (std::vector<SendResult>{SendResult::kInvalid, SendResult::kInvalid}));
  EXPECT_NE(out.find("1\r\nx\r\n1\r\ny\r\n0\r\n\r\n"), std::string::npos) << out;
  EXPECT_FALSE(c.file_pending());
}

TEST_F(H1FileTest, ClientGoneMidFileClosesTheDupAndReportsIt) {
  app.request = [&](Exchange& ex) {
    ex.send_start(200, {});
    ex.send_file(fd, 0, 90000);
    ex.finish();
  };
  auto& c = connect();
  int before = open_fds();
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  turn();
  ASSERT_TRUE(c.file_pending());
  c.on_transport_error("client_closed");
  turn();
  EXPECT_FALSE(c.file_pending());
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(app.ends, std::vector<std::string>{"client_closed 0"});
}

TEST_F(H1FileTest, FileShorterThanItsRangeClosesTheConnection) {
  app.request = [&](Exchange& ex) {
    ex.send_start(200, {});
    ex.send_file(fd, 90000, 20000);  // 10000 bytes exist
    ex.finish();
  };
  auto& c = connect();
  c.on_input("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = wire();
  EXPECT_NE(out.find("content-length: 20000\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(c.wants_close());
  EXPECT_FALSE(c.file_pending());
  EXPECT_EQ(app.ends, std::vector<std::string>{"server_error 0"});
}

}  // namespace
}  // namespace pagi::http
