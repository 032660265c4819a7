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

  void on_receive_ready(Exchange& ex) override { pump(ex); }
  void on_writable(Exchange& ex) override { pump(ex); }

 private:
  static std::string_view format(const Endpoint& e, char* buf, size_t size) {
    int n = e.port >= 0 ? snprintf(buf, size, "%.*s:%d", int(e.host.size()), e.host.data(), e.port)
                        : snprintf(buf, size, "%.*s", int(e.host.size()), e.host.data());
    if (n < 0) return {};
    return std::string_view(buf, size_t(n) < size ? size_t(n) : size - 1);
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
