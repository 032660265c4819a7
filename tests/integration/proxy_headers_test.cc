// --proxy-headers end to end: a trusted peer (127.0.0.1, or a unix socket by default) names
// the client and scheme with X-Forwarded-For/-Proto or Forwarded; an untrusted peer's
// headers change nothing. native:echo shows the client (x-echo-client), scope_dump.pl the
// scheme, the access log's %h the logged client.
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

const std::string kForwarded =
    "X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n";

std::string echo_client(Client& c, const std::string& extra_headers) {
  if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n")) return "(send failed)";
  auto r = c.read_response();
  if (!r) return "(no response)";
  return r->header("x-echo-client").value_or("(none)");
}

TEST(ProxyHeaders, TrustedLoopbackPeerNamesTheClient) {
  std::string why;
  auto server = Server::start({"native:echo", "--cores", "1", "--proxy-headers"}, &why);
  ASSERT_TRUE(server) << why;
  auto c = Client::tcp(server->port());
  ASSERT_TRUE(c);
  EXPECT_EQ(echo_client(*c, kForwarded), "203.0.113.7:0");
  // Per request: the next request on the same connection without the headers is the peer's.
  std::string own = echo_client(*c, "");
  EXPECT_EQ(own.rfind("127.0.0.1:", 0), 0u) << own;
  EXPECT_NE(own, "127.0.0.1:0");
  EXPECT_EQ(echo_client(*c, "Forwarded: for=\"[2001:db8::5]:4711\";proto=https\r\n"),
            "2001:db8::5:4711");
}

TEST(ProxyHeaders, UntrustedPeerIsIgnored) {
  std::string why;
  auto server = Server::start(
      {"native:echo", "--cores", "1", "--proxy-headers", "--forwarded-allow-ips", "10.0.0.1"},
      &why);
  ASSERT_TRUE(server) << why;
  auto c = Client::tcp(server->port());
  ASSERT_TRUE(c);
  std::string client = echo_client(*c, kForwarded);
  EXPECT_EQ(client.rfind("127.0.0.1:", 0), 0u) << client;
}

TEST(ProxyHeaders, HeadersAreIgnoredWithoutTheFlag) {
  std::string why;
  auto server = Server::start({"native:echo", "--cores", "1"}, &why);
  ASSERT_TRUE(server) << why;
  auto c = Client::tcp(server->port());
  ASSERT_TRUE(c);
  std::string client = echo_client(*c, kForwarded);
  EXPECT_EQ(client.rfind("127.0.0.1:", 0), 0u) << client;
}

TEST(ProxyHeaders, UnixSocketPeersAreTrustedByDefaultOnly) {
  TempDir dir;
  std::string sock = dir.file("pagi.sock");
  std::string why;
  {
    auto server =
        Server::start({"native:echo", "--cores", "1", "--proxy-headers", "--socket", sock}, &why);
    ASSERT_TRUE(server) << why;
    auto c = Client::unix_socket(sock);
    ASSERT_TRUE(c);
    EXPECT_EQ(echo_client(*c, kForwarded), "203.0.113.7:0");
    EXPECT_EQ(echo_client(*c, ""), "unix");
  }
  // Another path: a killed server's ring may hold its socket open for a moment.
  std::string sock2 = dir.file("pagi2.sock");
  auto server = Server::start({"native:echo", "--cores", "1", "--proxy-headers",
                               "--forwarded-allow-ips", "127.0.0.1", "--socket", sock2},
                              &why);
  ASSERT_TRUE(server) << why;
  auto c = Client::unix_socket(sock2);
  ASSERT_TRUE(c);
  EXPECT_EQ(echo_client(*c, kForwarded), "unix");
}

TEST(ProxyHeaders, SchemeAndClientReachThePerlScope) {
  std::string why;
  auto server = Server::start({app_path("scope_dump.pl"), "--cores", "1", "--proxy-headers"}, &why);
  ASSERT_TRUE(server) << why;
  auto r = request(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n" + kForwarded + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"scheme\":\"https\""), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("\"client\":[\"203.0.113.7\",0]"), std::string::npos) << r->body;
  auto plain = request(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->body.find("\"scheme\":\"http\""), std::string::npos) << plain->body;
}

TEST(ProxyHeaders, AccessLogShowsTheForwardedClient) {
  TempDir dir;
  std::string log = dir.file("access.log");
  std::string why;
  auto server = Server::start({"native:hello", "--cores", "1", "--proxy-headers", "--access-log",
                               log, "--access-log-format", "%h %s"},
                              &why);
  ASSERT_TRUE(server) << why;
  ASSERT_TRUE(request(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n" + kForwarded + "\r\n"));
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream f(log);
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
    if (!text.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(text, "203.0.113.7 200\n");
}

TEST(ProxyHeaders, BadTrustListsExitTwo) {
  RunResult bad =
      run_binary({"native:hello", "--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/40"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--forwarded-allow-ips"), std::string::npos) << bad.out;
  RunResult alone = run_binary({"native:hello", "--forwarded-allow-ips", "10.0.0.1"});
  EXPECT_EQ(alone.exit_code, 2) << alone.out;
  EXPECT_NE(alone.out.find("--proxy-headers"), std::string::npos) << alone.out;
}

}  // namespace
}  // namespace pagi::test
