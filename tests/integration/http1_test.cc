// HTTP/1.1 against the real binary: curl, raw sockets for keep-alive and pipelining,
// uploads, HEAD, HTTP/1.0, native apps (built-in and a shared object), graceful stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

class Http1 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    hello_ = Server::start({"native:hello", "--cores", "2"}, &why).release();
    ASSERT_NE(hello_, nullptr) << why;
    echo_ = Server::start({"native:echo", "--cores", "1"}, &why).release();
    ASSERT_NE(echo_, nullptr) << why;
  }
  static void TearDownTestSuite() {
    delete hello_;
    delete echo_;
  }
  static Server* hello_;
  static Server* echo_;
};
Server* Http1::hello_ = nullptr;
Server* Http1::echo_ = nullptr;

TEST_F(Http1, CurlGetsHello) {
  RunResult r = run_shell("curl -s -i http://127.0.0.1:" + std::to_string(hello_->port()) + "/");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("HTTP/1.1 200 OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("content-type: text/plain"), std::string::npos);
  EXPECT_NE(r.out.find("content-length: 13"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("date: \\w{3}, \\d\\d \\w{3} \\d{4} "
                                                  "\\d\\d:\\d\\d:\\d\\d GMT")));
  EXPECT_NE(r.out.find("Server: PAGI::Server/"), std::string::npos);
  EXPECT_EQ(r.out.substr(r.out.size() - 13), "Hello, World!");
}

TEST_F(Http1, KeepAliveReusesTheConnection) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c->send("GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "Hello, World!");
  }
}

TEST_F(Http1, CurlReusesOneConnectionForSeveralUrls) {
  std::string base = "http://127.0.0.1:" + std::to_string(hello_->port());
  RunResult r = run_shell("curl -sv " + base + "/a " + base + "/b " + base + "/c 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Re-using existing connection"), std::string::npos) << r.out;
}

TEST_F(Http1, PipelinedRequestsComeBackInOrder) {
  auto c = Client::tcp(echo_->port());
  ASSERT_TRUE(c);
  std::string batch;
  for (int i = 0; i < 16; ++i) {
    std::string body = "body-" + std::to_string(i);
    batch += "POST /p" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  ASSERT_TRUE(c->send(batch));
  for (int i = 0; i < 16; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "body-" + std::to_string(i));
    EXPECT_EQ(r->header("x-echo-path"), "/p" + std::to_string(i));
  }
}

TEST_F(Http1, PipelinedBurstIsAnsweredCompletely) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c);
  std::string batch;
  for (int i = 0; i < 500; ++i) batch += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c->send(batch));
  for (int i = 0; i < 500; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
}

TEST_F(Http1, ChunkedUploadIsDechunked) {
  std::string url = "http://127.0.0.1:" + std::to_string(echo_->port()) + "/up";
  RunResult r = run_shell("printf 'hello chunked world' | curl -s -H 'Transfer-Encoding: chunked' "
                          "--data-binary @- " + url);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hello chunked world");
}

TEST_F(Http1, LargeUploadRoundTrips) {
  TempDir dir;
  std::string file = dir.file("big");
  ASSERT_EQ(run_shell("head -c 3000000 /dev/urandom > " + file).exit_code, 0);
  std::string url = "http://127.0.0.1:" + std::to_string(echo_->port()) + "/big";
  RunResult r = run_shell("curl -s --data-binary @" + file + " " + url + " | cmp - " + file +
                          " && echo SAME");
  EXPECT_NE(r.out.find("SAME"), std::string::npos) << r.out;
}

TEST_F(Http1, ExpectContinueUploadWorks) {
  std::string url = "http://127.0.0.1:" + std::to_string(echo_->port()) + "/c";
  // curl sends Expect: 100-continue for bodies over 1 MB; -w shows the time taken, which would
  // be ≥1 s if curl had to give up waiting for the 100.
  TempDir dir;
  std::string file = dir.file("f");
  ASSERT_EQ(run_shell("head -c 1500000 /dev/zero > " + file).exit_code, 0);
  RunResult r = run_shell("curl -sv -o /dev/null -w '%{http_code}' --data-binary @" + file +
                          " " + url + " 2>&1");
  EXPECT_NE(r.out.find("HTTP/1.1 100 Continue"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("200"), std::string::npos);
}

TEST_F(Http1, HeadHasNoBody) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c->read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "13");
  EXPECT_TRUE(head->body.empty());
  auto get = c->read_response();  // would be corrupted if HEAD had sent a body
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "Hello, World!");
}

TEST_F(Http1, Http10ClosesUnlessKeepAlive) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c->send("GET / HTTP/1.0\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, "HTTP/1.0");
  EXPECT_TRUE(c->wait_closed());

  auto k = Client::tcp(hello_->port());
  ASSERT_TRUE(k->send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = k->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "keep-alive");
  ASSERT_TRUE(k->send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(k->read_response());
}

TEST_F(Http1, ConnectionCloseClosesAfterTheResponse) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c->wait_closed());
}

// A client that keeps sending after its Connection: close request (pipelined requests and a
// stream of more bytes) still reads the whole response and a clean end, not a reset: the
// server drops the extra input unread and lingers for the client's FIN before closing.
TEST_F(Http1, BytesSentAfterConnectionCloseDoNotResetTheResponse) {
  auto c = Client::tcp(echo_->port());
  ASSERT_TRUE(c);
  std::string body(200000, 'e');
  std::string batch = "POST /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
  for (int i = 0; i < 50; ++i) batch += "GET /never HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c->send(batch));
  std::string junk(64 * 1024, 'j');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(c->send(junk)) << i;
  c->shutdown_write();
  std::string all = c->read_all();
  size_t used = 0;
  auto r = parse_response(all, false, &used);
  ASSERT_TRUE(r) << all.size() << " bytes read";
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == body) << r->body.size();
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(all.size(), used) << "nothing after the one response";
}

// Whether bytes the client sends after the server's FIN are answered with a reset (the
// server's socket is closed) or taken (the server still reads them, and drops them). The
// reset shows as an error on the next send: the first one has received the FIN, so a
// recv would report end-of-stream before any error.
bool late_bytes_are_reset(Client& c) {
  if (::send(c.fd(), "late", 4, MSG_NOSIGNAL) != 4) return errno == ECONNRESET || errno == EPIPE;
  std::this_thread::sleep_for(200ms);  // the RST, if any, comes back over loopback at once
  if (::send(c.fd(), "more", 4, MSG_NOSIGNAL) == 4) return false;
  return errno == ECONNRESET || errno == EPIPE;
}

// The client asked for the close and sent nothing more: it will send nothing more (RFC 9112
// §9.6), so the server closes its socket at once instead of lingering for the client's FIN.
TEST_F(Http1, AgreedCloseIsNotLingeredOn) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Hello, World!");
  ASSERT_TRUE(c->wait_closed());
  EXPECT_TRUE(late_bytes_are_reset(*c));
}

// A close the client did not ask for (here: a bad request) lingers: what the client sends
// meanwhile is read and dropped, never answered with a reset that could cost it the response.
TEST_F(Http1, CloseTheClientDidNotAskForLingers) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  ASSERT_TRUE(c->wait_closed());
  EXPECT_FALSE(late_bytes_are_reset(*c));
}

TEST_F(Http1, HalfClosedClientStillGetsItsResponses) {
  auto c = Client::tcp(hello_->port());
  ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  c->shutdown_write();
  std::string all = c->read_all();
  size_t used = 0;
  auto first = parse_response(all, false, &used);
  ASSERT_TRUE(first);
  auto second = parse_response(all.substr(used));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "Hello, World!");
}

TEST_F(Http1, EchoReportsScopeData) {
  auto r = request(echo_->port(),
                   "GET /caf%C3%A9/x?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("x-echo-method"), "GET");
  EXPECT_EQ(r->header("x-echo-path"), "/caf\xC3\xA9/x");
  EXPECT_EQ(r->header("x-echo-raw-path"), "/caf%C3%A9/x");
  EXPECT_EQ(r->header("x-echo-query"), "a=1&b=%20");
  EXPECT_EQ(r->header("x-echo-http-version"), "1.1");
  EXPECT_TRUE(std::regex_match(*r->header("x-echo-client"), std::regex("127\\.0\\.0\\.1:\\d+")));
  EXPECT_EQ(r->header("x-echo-server"), "127.0.0.1:" + std::to_string(echo_->port()));
}

// Idle keep-alive connections hold no HTTP state: it is lent per request from a per-core
// pool. Interleaved requests on many connections (one split across two writes while others
// are answered) must each see their own connection: path, and the client port of its socket.
TEST_F(Http1, InterleavedKeepAliveConnectionsEachSeeTheirOwnRequest) {
  constexpr int kConns = 20;
  std::vector<std::unique_ptr<Client>> conns;
  std::vector<int> ports;
  for (int i = 0; i < kConns; ++i) {
    conns.push_back(Client::tcp(echo_->port()));
    ASSERT_TRUE(conns.back());
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    ASSERT_EQ(getsockname(conns.back()->fd(), reinterpret_cast<sockaddr*>(&local), &len), 0);
    ports.push_back(ntohs(local.sin_port));
  }
  auto check = [&](int i, const std::string& path) {
    auto r = conns[i]->read_response();
    ASSERT_TRUE(r) << "connection " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("x-echo-path"), path) << "connection " << i;
    EXPECT_EQ(r->header("x-echo-client"), "127.0.0.1:" + std::to_string(ports[i]))
        << "connection " << i;
  };
  for (int i = 0; i < kConns; ++i) {
    ASSERT_TRUE(conns[i]->send("GET /first/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    check(i, "/first/" + std::to_string(i));
  }
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kConns; ++i) {
      int j = (i + 7) % kConns;
      std::string pi = "/r" + std::to_string(round) + "/split/" + std::to_string(i);
      std::string pj = "/r" + std::to_string(round) + "/whole/" + std::to_string(j);
      ASSERT_TRUE(conns[i]->send("GET " + pi + " HTTP/1.1\r\nHo"));
      std::this_thread::sleep_for(2ms);  // let the server read the half on its own
      ASSERT_TRUE(conns[j]->send("GET " + pj + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      check(j, pj);
      ASSERT_TRUE(conns[i]->send("st: x\r\n\r\n"));
      check(i, pi);
    }
  }
  // A parked connection the client closes is closed by the server too; the others still serve.
  conns[3].reset();
  ASSERT_TRUE(conns[4]->send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
  check(4, "/after");
}

TEST_F(Http1, ConcurrentClientsAllSucceed) {
  RunResult r = run_shell("ab -q -k -n 4000 -c 64 http://127.0.0.1:" +
                          std::to_string(hello_->port()) + "/ 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Complete requests:      4000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Failed requests:        0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
}

TEST_F(Http1, ConnectionPerRequestLoad) {
  RunResult r = run_shell("ab -q -n 2000 -c 32 http://127.0.0.1:" +
                          std::to_string(hello_->port()) + "/ 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Failed requests:        0"), std::string::npos) << r.out;
}

TEST(NativeSo, SharedObjectAppServesWithItsArgument) {
  std::string why;
  auto s = Server::start({"native:" + example_so() + "?Greetings from the test", "--cores", "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "Greetings from the test");
  ASSERT_TRUE(r->header("x-core"));
}

TEST(NativeSo, BrokenSharedObjectFailsAtStartup) {
  RunResult r = run_binary({"native:/nonexistent/libnope.so", "--port", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("cannot load native app /nonexistent/libnope.so"), std::string::npos)
      << r.out;
}

TEST(GracefulStop, InFlightRequestCompletesAndTheServerExitsZero) {
  std::string why;
  auto s = Server::start({"native:echo", "--cores", "1"}, &why);
  ASSERT_TRUE(s) << why;
  // A request whose body is still arriving when SIGTERM comes.
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello"));
  std::this_thread::sleep_for(200ms);
  auto idle = Client::tcp(s->port());  // an idle keep-alive connection is closed at once
  ASSERT_TRUE(idle);
  ASSERT_TRUE(idle->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle->read_response());
  // One that never sent a byte waits in the kernel (deferred accept, see Listen tests)
  // until the listener closes as the server exits.
  auto silent = Client::tcp(s->port());
  ASSERT_TRUE(silent);
  std::this_thread::sleep_for(100ms);
  kill(s->pid(), SIGTERM);
  EXPECT_TRUE(idle->wait_closed(5s));
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(c->send("world"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "helloworld");
  EXPECT_TRUE(c->wait_closed(5s));  // no keep-alive during a drain
  EXPECT_EQ(s->stop(SIGTERM, 10s), 0);
  EXPECT_TRUE(silent->wait_closed(5s));
}

TEST(GracefulStop, ShutdownTimeoutBoundsAStuckRequest) {
  std::string why;
  auto s = Server::start({"native:echo", "--cores", "1", "--shutdown-timeout", "1"}, &why);
  ASSERT_TRUE(s) << why;
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c->send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel"));
  std::this_thread::sleep_for(200ms);
  auto start = std::chrono::steady_clock::now();
  kill(s->pid(), SIGINT);
  EXPECT_TRUE(c->wait_closed(5s));
  EXPECT_EQ(s->stop(SIGINT, 10s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_NE(s->log().find("Shutdown timeout: force-closing 1 active connections"),
            std::string::npos);
}

}  // namespace
}  // namespace pagi::test
