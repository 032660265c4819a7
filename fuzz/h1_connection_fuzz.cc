// libFuzzer driver for the whole HTTP/1 path without sockets: arbitrary bytes, split into
// arbitrary reads, go through RequestParser and H1Connection to the native hello and echo
// apps and to an app that answers one loop turn later, while the fake socket drains output
// in arbitrary amounts and may hit EOF or an error. Sanitizers turn any memory or UB error
// into a crash; the invariants below turn state-machine confusion into one.
// The corpus (fuzz/corpus/h1, made by fuzz/make_h1_corpus.py) has WebSocket upgrades followed
// by masked frames and SSE requests, for all three apps.
// Run: build-fuzz/h1-connection-fuzz -max_total_time=60 fuzz/corpus/h1
#include <algorithm>
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

// Answers each request on the next turn, reading the whole body first. WebSocket and SSE
// scopes are served as the reference's apps serve them, one turn late too (so frames that
// come before the accept are held): a websocket is accepted (or, on a path with "deny" or
// "forbid", denied or refused), each message echoed, and a "close" text closes it; an sse
// stream starts (or is declined on a "decline" path), each body piece becomes an event with
// an id and a keepalive is set, and the stream ends once the body is in.
class LaterApp final : public App {
 public:
  void on_request(Exchange& ex) override { pending.push_back(&ex); }
  void on_receive_ready(Exchange& ex) override { wake(ex); }
  void on_writable(Exchange& ex) override { wake(ex); }
  void run_turn() {
    std::vector<Exchange*> now;
    now.swap(pending);
    for (Exchange* ex : now) {
      switch (ex->scope().type) {
        case ScopeType::kWebSocket: serve_ws(*ex); continue;
        case ScopeType::kSse: serve_sse(*ex); continue;
        case ScopeType::kHttp: break;
      }
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
  // Every exchange the app still holds, for the wind-down.
  void finish_all() {
    for (Exchange* ex : pending) ex->finish();
    pending.clear();
    for (Exchange* ex : streams) ex->finish();
    streams.clear();
  }
  std::vector<Exchange*> pending;

 private:
  void wake(Exchange& ex) {
    for (Exchange* p : pending) {
      if (p == &ex) return;
    }
    if (ex.scope().type != ScopeType::kHttp) pending.push_back(&ex);
  }
  void done(Exchange& ex) {
    ex.finish();
    std::erase(streams, &ex);
    std::erase(pending, &ex);
  }
  static bool has(std::string_view path, std::string_view word) {
    return path.find(word) != std::string_view::npos;
  }
  void serve_ws(Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      switch (ev.type) {
        case EventType::kWebSocketConnect: {
          streams.push_back(&ex);
          std::string_view path = ex.scope().path;
          if (has(path, "forbid")) {
            ex.ws_close();
            return done(ex);
          }
          if (has(path, "deny")) {
            ex.send_start(401, {});
            ex.send_body("no", true);
            ex.send_body("", false);
            return done(ex);
          }
          const auto& offered = ex.scope().subprotocols;
          ex.ws_accept(offered.empty() ? std::string_view() : offered.back(), {});
          if (has(path, "ping")) ex.ws_keepalive(10, 5);
          break;
        }
        case EventType::kWebSocketReceive:
          if (ev.text && ev.body == "close") {
            ex.ws_close(4000, "asked");
            break;
          }
          if (ex.ws_send(ev.body, ev.text) == SendResult::kBlocked) return;  // on_writable
          break;
        default:
          return done(ex);
      }
    }
  }
  void serve_sse(Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      if (ev.type != EventType::kSseRequest) return done(ex);
      if (std::find(streams.begin(), streams.end(), &ex) == streams.end()) {
        streams.push_back(&ex);
        if (has(ex.scope().path, "decline")) {
          ex.send_start(404, {});
          ex.send_body("none", false);
          return done(ex);
        }
        ex.sse_keepalive(10, "ka");
        ex.sse_start(200, {});
      }
      ex.sse_send(SseEvent{ev.body, "piece", "7", 100});
      if (!ev.more) {
        ex.sse_comment("end\nof body");
        ex.sse_close();
        return done(ex);
      }
    }
  }
  std::vector<Exchange*> streams;  // websocket/sse exchanges the app has not finished
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
  // WebSocket and SSE sessions: small limits and every timer, so that they are reached.
  ctx.ws.max_receive_queue = 8;
  ctx.ws.receive_pause_bytes = 2048;
  ctx.ws.max_frame_size = 4096;
  ctx.ws.max_message_size = 8192;
  ctx.ws.idle_timeout_ms = 1000;
  ctx.ws.high_watermark = 1024;
  ctx.ws.low_watermark = 256;
  ctx.ws_compression = (mode & 0x08) == 0;
  ctx.sse.idle_timeout_ms = 1000;
  ctx.sse.high_watermark = 1024;
  ctx.sse.low_watermark = 256;
  ctx.sse.body_queue_limit = 512;
  ctx.sse.server_header = ctx.server_header;  // as the core sets them
  ctx.sse.date = &date;
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
      case 1: {  // a read of 1..64 bytes (only while the connection wants to read), as
                 // const bytes or as bytes a WebSocket session may unmask in place
        std::string piece(in.take(1 + (op >> 2)));
        if (!eof && transport.reading && !conn->wants_close()) {
          if (op & 1) {
            conn->on_input_writable(std::span<char>(piece.data(), piece.size()));
          } else {
            conn->on_input(piece);
          }
        }
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
        } else if ((op >> 2) == 3 && conn->next_deadline() != http::kNoDeadline) {
          conn->on_timer(conn->next_deadline());  // a session timer (ping, idle, close) fires
        }
        break;
    }
    turn();
  }
  // Wind down the way a server does: the peer goes, the app finishes what it holds.
  conn->on_transport_error();
  turn();
  later.finish_all();
  turn();
  if (conn->app_active()) abort();  // every exchange was finished above
  conn.reset();
  return 0;
}
