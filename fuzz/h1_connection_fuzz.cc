// libFuzzer driver for the whole HTTP/1 path without sockets: arbitrary bytes, split into
// arbitrary reads, go through RequestParser and H1Connection to the native hello and echo
// apps and to an app that answers one loop turn later, while the fake socket drains output
// in arbitrary amounts and may hit EOF or an error. Sanitizers turn any memory or UB error
// into a crash; the invariants below turn state-machine confusion into one.
// Run: build-fuzz/h1-connection-fuzz -max_total_time=60 fuzz/corpus/h1
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apps/builtin.h"
#include "common/log.h"
#include "http/h1_connection.h"

namespace {

using namespace pagi;

class FakeTransport final : public http::Transport {
 public:
  void want_flush() override {}
  void set_reading(bool on) override { reading = on; }
  bool client_endpoint(Endpoint& out) override {
    out = Endpoint{"127.0.0.1", 40000};
    return true;
  }
  Endpoint server_endpoint() override { return Endpoint{"127.0.0.1", 5000}; }
  bool is_unix() const override { return false; }
  void schedule() override { scheduled = true; }

  bool reading = true;
  bool scheduled = false;
};

// Answers each request on the next turn, reading the whole body first.
class LaterApp final : public App {
 public:
  void on_request(Exchange& ex) override { pending.push_back(&ex); }
  void on_receive_ready(Exchange&) override {}
  void run_turn() {
    std::vector<Exchange*> now;
    now.swap(pending);
    for (Exchange* ex : now) {
      Event ev;
      bool done = false;
      while (ex->receive(ev)) {
        if (ev.type != EventType::kHttpRequest || !ev.more) {
          done = true;
          break;
        }
      }
      if (!done) {
        pending.push_back(ex);  // body still coming
        continue;
      }
      static constexpr Header kHeaders[] = {{"content-type", "text/plain"}};
      ex->send_start(200, kHeaders);
      ex->send_body("later", true);
      ex->send_body("", false);
      ex->finish();
    }
  }
  std::vector<Exchange*> pending;
};

// Reads control values from the front of the input.
struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::string_view take(size_t len) {
    len = len < n ? len : n;
    std::string_view s(reinterpret_cast<const char*>(p), len);
    p += len;
    n -= len;
    return s;
  }
};

}  // namespace

// Reads every view of a record, so a dangling one shows under ASan.
class TouchingSink final : public http::AccessSink {
 public:
  void log(const http::AccessRecord& r) override {
    for (std::string_view v : {r.client, r.method, r.raw_path, r.query, r.http_version}) {
      for (char ch : v) sum_ += uint8_t(ch);
    }
    for (const Header& h : r.headers) sum_ += h.name.size() + h.value.size();
  }
  size_t sum_ = 0;
};

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    log::set_level(log::Level::kError);
    return true;
  }();
  (void)quiet;
  Reader in{data, size};
  uint8_t mode = in.byte();

  BlockPool blocks;
  http::DateCache date;
  std::vector<std::unique_ptr<http::RequestHead>> heads;
  std::unique_ptr<App> native;
  LaterApp later;
  http::H1Context ctx;
  ctx.server_header = "fuzz";
  ctx.blocks = &blocks;
  ctx.date = &date;
  ctx.head_pool = &heads;
  ctx.limits.max_header_size = 256 + (mode & 0x30) * 64;
  ctx.limits.max_body_size = (mode & 0x40) ? 0 : 4096;
  ctx.high_watermark = 1024;
  ctx.low_watermark = 256;
  TouchingSink sink;
  if (mode & 0x80) ctx.access_log = &sink;
  switch (mode % 3) {
    case 0: native = apps::make_hello_app(); ctx.app = native.get(); break;
    case 1: native = apps::make_echo_app(); ctx.app = native.get(); break;
    default: ctx.app = &later; break;
  }
  FakeTransport transport;
  auto conn = std::make_unique<http::H1Connection>(ctx, transport);

  auto turn = [&] {
    for (int i = 0; i < 64 && (transport.scheduled || !later.pending.empty()); ++i) {
      if (ctx.app == &later) later.run_turn();
      transport.scheduled = false;
      conn->on_scheduled();
    }
  };
  auto drain = [&](size_t budget) {
    iovec iov[16];
    size_t limit = conn->sendable() < budget ? conn->sendable() : budget;
    if (limit == 0) return;
    int k = conn->output().gather(iov, 16, limit);
    size_t got = 0;
    for (int i = 0; i < k; ++i) got += iov[i].iov_len;
    if (got > conn->output().size()) abort();
    conn->on_sent(got);
  };

  bool eof = false;
  while (in.n > 0) {
    uint8_t op = in.byte();
    switch (op & 3) {
      case 0:
      case 1: {  // a read of 1..64 bytes (only while the connection wants to read)
        std::string piece(in.take(1 + (op >> 2)));
        if (!eof && transport.reading && !conn->wants_close()) conn->on_input(piece);
        break;
      }
      case 2:
        drain(size_t(op >> 2) * 97 + 1);
        break;
      default:
        if ((op >> 2) == 0 && !eof) {
          eof = true;
          conn->on_input_eof();
        } else if ((op >> 2) == 1) {
          conn->on_transport_error();
        } else if ((op >> 2) == 2) {
          conn->begin_shutdown();
        }
        break;
    }
    turn();
  }
  // Wind down the way a server does: the peer goes, the app finishes what it holds.
  conn->on_transport_error();
  turn();
  while (!later.pending.empty()) {
    later.pending.back()->finish();
    later.pending.pop_back();
  }
  turn();
  if (conn->app_active()) abort();  // every exchange was finished above
  conn.reset();
  return 0;
}
