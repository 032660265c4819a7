// What the H1Connection unit tests share: a transport that records what the connection
// asks of it, and a fixture base holding the per-core context a connection needs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/buffer_pool.h"
#include "http/date_cache.h"
#include "http/h1_connection.h"

namespace pagi::http {

class FakeTransport final : public Transport {
 public:
  void want_flush() override { ++flushes; }
  void set_reading(bool on) override { reading = on; }
  bool client_endpoint(Endpoint& out) override {
    if (unix_socket) return false;
    out = Endpoint{"127.0.0.1", 40000};
    return true;
  }
  Endpoint server_endpoint() override { return Endpoint{"127.0.0.1", 5000}; }
  bool is_unix() const override { return unix_socket; }
  void schedule() override { scheduled = true; }

  int flushes = 0;
  bool reading = true;
  bool scheduled = false;
  bool unix_socket = false;
};

// A connection over FakeTransport with its context; the test plays the loop (turn()).
class H1Harness : public ::testing::Test {
 protected:
  explicit H1Harness(const char* server_header) {
    ctx.server_header = server_header;
    ctx.blocks = &blocks;
    ctx.date = &date;
    ctx.head_pool = &heads;
    ctx.sse.date = &date;
    ctx.sse.server_header = ctx.server_header;
  }

  H1Connection& connect(App* app) {
    ctx.app = app;
    conn = std::make_unique<H1Connection>(ctx, transport);
    return *conn;
  }

  // Runs deferred work like the end of a loop turn does.
  void turn() {
    while (transport.scheduled) {
      transport.scheduled = false;
      conn->on_scheduled();
    }
  }

  BlockPool blocks;
  DateCache date;
  std::vector<std::unique_ptr<RequestHead>> heads;
  H1Context ctx;
  FakeTransport transport;
  std::unique_ptr<H1Connection> conn;
};

}  // namespace pagi::http
