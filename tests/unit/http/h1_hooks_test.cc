// What H1Connection reports to metrics (http::RequestStats) and how --proxy-headers changes
// the client it gives the app, driven without sockets.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "apps/builtin.h"
#include "http/h1_connection.h"

namespace pagi::http {
namespace {

class PeerTransport final : public Transport {
 public:
  void want_flush() override {}
  void set_reading(bool) override {}
  bool client_endpoint(Endpoint& out) override {
    out = Endpoint{peer, 40000};
    return true;
  }
  Endpoint server_endpoint() override { return Endpoint{"127.0.0.1", 5000}; }
  bool is_unix() const override { return false; }
  void schedule() override { scheduled = true; }

  std::string peer = "127.0.0.1";
  bool scheduled = false;
};

// Remembers the client each request saw.
class ClientApp final : public App {
 public:
  void on_request(Exchange& ex) override {
    Endpoint e;
    clients.push_back(ex.client(e) ? std::string(e.host) + ":" + std::to_string(e.port)
                                   : std::string("none"));
    schemes.emplace_back(ex.scope().scheme);
    ex.send_start(200, {});
    ex.send_body("ok", false);
    ex.finish();
  }
  std::vector<std::string> clients;
  std::vector<std::string> schemes;
};

class H1Hooks : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx.server_header = "PAGI::Server/test";
    ctx.blocks = &blocks;
    ctx.date = &date;
    ctx.head_pool = &heads;
    ctx.sse.date = &date;  // as the core sets it
    ctx.sse.server_header = ctx.server_header;
  }
  void feed(App* app, const std::string& bytes) {
    ctx.app = app;
    if (!conn) conn = std::make_unique<H1Connection>(ctx, transport);
    conn->on_input(bytes);
    for (int i = 0; i < 10 && transport.scheduled; ++i) {
      transport.scheduled = false;
      conn->on_scheduled();
    }
    conn->on_sent(conn->output().size());
  }

  BlockPool blocks;
  DateCache date;
  std::vector<std::unique_ptr<RequestHead>> heads;
  H1Context ctx;
  PeerTransport transport;
  std::unique_ptr<H1Connection> conn;
};

TEST_F(H1Hooks, MetricsCountEveryExchangeOnceWithLatencies) {
  RequestStats stats;
  ctx.stats = &stats;
  auto app = apps::make_hello_app();
  feed(app.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ctx.requests, 2u);
  EXPECT_EQ(stats.responses_by_class[2], 2u);
  EXPECT_EQ(stats.app_latency.count(), 2u);
  EXPECT_EQ(stats.total_latency.count(), 2u);
  // A head the parser refuses is answered, and counted, without being an exchange.
  feed(app.get(), "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  EXPECT_EQ(ctx.bad_requests, 1u);
  EXPECT_EQ(stats.responses_by_class[4], 1u);
  EXPECT_EQ(stats.total_latency.count(), 2u);
  EXPECT_EQ(ctx.requests, 2u);
}

TEST_F(H1Hooks, WithoutStatsNothingIsCounted) {
  auto app = apps::make_hello_app();
  feed(app.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ctx.requests, 1u);  // the plain counters are always kept
  EXPECT_EQ(ctx.stats, nullptr);
}

TEST_F(H1Hooks, TrustedPeerForwardsClientAndSchemePerRequest) {
  std::string error;
  std::optional<ProxyTrust> trust = ProxyTrust::parse("127.0.0.1", &error);
  ASSERT_TRUE(trust) << error;
  ctx.proxy_trust = &*trust;
  ClientApp app;
  feed(&app,
       "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n"
       "X-Forwarded-Proto: https\r\n\r\n"
       "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(app.clients.size(), 2u);
  EXPECT_EQ(app.clients[0], "203.0.113.7:0");
  EXPECT_EQ(app.schemes[0], "https");
  EXPECT_EQ(app.clients[1], "127.0.0.1:40000");
  EXPECT_EQ(app.schemes[1], "http");
}

TEST_F(H1Hooks, UntrustedPeerKeepsItsOwnAddress) {
  std::string error;
  std::optional<ProxyTrust> trust = ProxyTrust::parse("10.0.0.1", &error);
  ASSERT_TRUE(trust) << error;
  ctx.proxy_trust = &*trust;
  ClientApp app;
  feed(&app, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n");
  ASSERT_EQ(app.clients.size(), 1u);
  EXPECT_EQ(app.clients[0], "127.0.0.1:40000");
}

// WebSocket and SSE scopes take the forwarded scheme too, a websocket one as ws/wss.
TEST_F(H1Hooks, ForwardedSchemeReachesWebSocketAndSseScopes) {
  std::string error;
  std::optional<ProxyTrust> trust = ProxyTrust::parse("127.0.0.1", &error);
  ASSERT_TRUE(trust) << error;
  ctx.proxy_trust = &*trust;
  ClientApp ws_app;
  feed(&ws_app,
       "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
       "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n");
  ASSERT_EQ(ws_app.schemes.size(), 1u);
  EXPECT_EQ(ws_app.schemes[0], "wss");
  EXPECT_EQ(ws_app.clients[0], "203.0.113.7:0");

  conn.reset();
  ClientApp sse_app;
  feed(&sse_app,
       "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
       "X-Forwarded-Proto: https\r\n\r\n");
  ASSERT_EQ(sse_app.schemes.size(), 1u);
  EXPECT_EQ(sse_app.schemes[0], "https");
}

}  // namespace
}  // namespace pagi::http
