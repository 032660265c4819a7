// hello and echo: the native apps the benchmarks and tests use. Neither allocates per
// request: every header value is a view into the scope or a constant.
#include "apps/builtin.h"

#include <charconv>
#include <cstdio>
#include <string_view>

namespace pagi::apps {
namespace {

class HelloApp final : public App {
 public:
  void on_request(Exchange& ex) override {
    static constexpr Header kHeaders[] = {
        {"content-type", "text/plain"},
    };
    ex.send_start(200, kHeaders);
    ex.send_body("Hello, World!", false);
    ex.finish();
  }
};

// Per-request state lives in the exchange's app_data slot as a small integer: nothing to free.
class EchoApp final : public App {
 public:
  void on_request(Exchange& ex) override {
    const Scope& s = ex.scope();
    if (s.type == ScopeType::kWebSocket) return pump_ws(ex);
    if (s.type == ScopeType::kSse) return start_sse(ex);
    std::string_view content_type = "application/octet-stream";
    std::string_view length;
    for (const Header& h : s.headers) {
      if (h.name == "content-type") content_type = h.value;
      if (h.name == "content-length") length = h.value;
    }
    Endpoint client;
    bool has_client = ex.client(client);
    Endpoint server = ex.server();
    char client_buf[80];
    char server_buf[4200];
    std::string_view client_text = "unix";
    if (has_client) client_text = format(client, client_buf, sizeof(client_buf));
    std::string_view server_text = format(server, server_buf, sizeof(server_buf));

    Header headers[10];
    size_t n = 0;
    headers[n++] = {"content-type", content_type};
    if (!length.empty()) headers[n++] = {"content-length", length};
    headers[n++] = {"x-echo-method", s.method};
    headers[n++] = {"x-echo-path", s.path_is_utf8 ? s.path : std::string_view("(bytes)")};
    headers[n++] = {"x-echo-raw-path", s.raw_path};
    headers[n++] = {"x-echo-query", s.query_string};
    headers[n++] = {"x-echo-http-version", s.http_version};
    headers[n++] = {"x-echo-client", client_text};
    headers[n++] = {"x-echo-server", server_text};
    if (ex.send_start(200, std::span<const Header>(headers, n)) == SendResult::kInvalid) {
      ex.finish(true);
      return;
    }
    pump(ex);
  }

  void on_receive_ready(Exchange& ex) override { dispatch(ex); }
  void on_writable(Exchange& ex) override { dispatch(ex); }

 private:
  static std::string_view format(const Endpoint& e, char* buf, size_t size) {
    int n = e.port >= 0 ? snprintf(buf, size, "%.*s:%d", int(e.host.size()), e.host.data(), e.port)
                        : snprintf(buf, size, "%.*s", int(e.host.size()), e.host.data());
    if (n < 0) return {};
    return std::string_view(buf, size_t(n) < size ? size_t(n) : size - 1);
  }

  static void dispatch(Exchange& ex) {
    switch (ex.scope().type) {
      case ScopeType::kWebSocket: return pump_ws(ex);
      case ScopeType::kSse: return pump_sse(ex);
      case ScopeType::kHttp: return pump(ex);
    }
  }

  // Echoes messages until the disconnect, or until the output is full (on_writable resumes).
  static void pump_ws(Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      switch (ev.type) {
        case EventType::kWebSocketConnect: {
          std::string_view path = ex.scope().path;
          if (path == "/ws/forbidden") {
            ex.ws_close();
            ex.finish();
            return;
          }
          if (path == "/ws/deny") {
            static constexpr Header kDeny[] = {{"content-type", "text/plain"}};
            ex.send_start(401, kDeny);
            ex.send_body("denied", false);
            ex.finish();
            return;
          }
          const auto& offered = ex.scope().subprotocols;
          if (ex.ws_accept(offered.empty() ? std::string_view() : offered[0], {}) !=
              SendResult::kOk) {
            ex.finish(true);
            return;
          }
          break;
        }
        case EventType::kWebSocketReceive:
          if (ex.ws_send(ev.body, ev.text) == SendResult::kBlocked) return;
          break;
        default:  // the disconnect
          ex.finish();
          return;
      }
    }
  }

  static void start_sse(Exchange& ex) {
    std::string_view path = ex.scope().path;
    if (path == "/sse/decline") {
      ex.send_start(204, {});
      ex.send_body({}, false);
      ex.finish();
      return;
    }
    if (path == "/sse/missing") {
      static constexpr Header kText[] = {{"content-type", "text/plain"}};
      ex.send_start(404, kText);
      ex.send_body("not found", false);
      ex.finish();
      return;
    }
    ex.sse_start(200, {});
    std::string_view q = ex.scope().query_string;
    if (q.substr(0, 10) == "keepalive=") {
      uint64_t ms = 0;
      std::from_chars(q.data() + 10, q.data() + q.size(), ms);
      ex.sse_keepalive(ms, "ka");
    }
    pump_sse(ex);
  }

  static void pump_sse(Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      if (ev.type != EventType::kSseRequest) {
        ex.finish();  // the client went away (or the stream was ended by the server)
        return;
      }
      if (!ev.body.empty()) ex.sse_send(SseEvent{ev.body, {}, {}, -1});
      if (!ev.more) {
        ex.sse_send(SseEvent{"done", "end", {}, -1});
        std::string_view q = ex.scope().query_string;
        if (q != "hold" && q.substr(0, 10) != "keepalive=") {
          ex.sse_close();
          ex.finish();
          return;
        }
        // Held: the next receive waits for the disconnect.
      }
    }
  }

  // Moves body events to the response until the app must wait for input or for output room.
  static void pump(Exchange& ex) {
    Event ev;
    while (ex.receive(ev)) {
      if (ev.type != EventType::kHttpRequest) {
        ex.finish();  // the client went away
        return;
      }
      SendResult r = ex.send_body(ev.body, ev.more);
      if (!ev.more || r == SendResult::kClosed) {
        ex.finish();
        return;
      }
      // kBlocked: the server keeps the bytes; we read on when on_writable comes.
      if (r == SendResult::kBlocked) return;
    }
  }
};

}  // namespace

std::unique_ptr<App> make_hello_app() { return std::make_unique<HelloApp>(); }
std::unique_ptr<App> make_echo_app() { return std::make_unique<EchoApp>(); }

}  // namespace pagi::apps
