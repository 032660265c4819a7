// Micro-benchmark of the Perl request path, no sockets: the same HTTP/1 connection as
// BM_HelloRequest, with tests/apps/hello.pl (Future::AsyncAwait, two awaited $send calls) as
// the app. Per request that is the parse, the Perl scope hash (PAGI.md §2: every header
// becomes a Perl array pair), the call into the app, its two $send events, and the response.
// The browser request differs from the api one only by its headers, so the gap between the
// two rows is mostly the scope build's cost per header.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "http/h1_connection.h"
#include "requests.h"
#include "perl/perl_host.h"
#include "ring/reactor.h"

#ifndef PAGI_SOURCE_DIR
#define PAGI_SOURCE_DIR "."
#endif

namespace {

using namespace pagi;

using bench::kApiRequest;
using bench::kBrowserRequest;

class NullTransport final : public http::Transport {
 public:
  void want_flush() override {}
  void set_reading(bool) override {}
  bool client_endpoint(Endpoint& out) override {
    out = Endpoint{"127.0.0.1", 40000};
    return true;
  }
  Endpoint server_endpoint() override { return Endpoint{"127.0.0.1", 5000}; }
  bool is_unix() const override { return false; }
  void schedule() override { scheduled = true; }
  bool scheduled = false;
};

// The root interpreter is loaded once (on the main thread, where benchmarks run) and lives
// until exit, as in the server.
const apps::AppFactory* perl_factory(std::string* error) {
  static apps::AppFactory factory = [error] {
    perl::PerlAppSpec spec;
    spec.app = std::string(PAGI_SOURCE_DIR) + "/tests/apps/hello.pl";
    spec.lifespan = perl::LifespanMode::kOff;
    return perl::make_perl_factory(spec, error);
  }();
  return factory ? &factory : nullptr;
}

void BM_PerlHelloRequest(benchmark::State& state, const std::string& request) {
  std::string error;
  const apps::AppFactory* factory = perl_factory(&error);
  if (factory == nullptr) {
    state.SkipWithError(("Perl app not loaded: " + error).c_str());
    return;
  }
  std::unique_ptr<ring::Reactor> reactor = ring::Reactor::create(ring::ReactorConfig{}, &error);
  if (!reactor) {
    state.SkipWithError(("no io_uring: " + error).c_str());
    return;
  }
  std::unique_ptr<App> app = (*factory)(0, 1, *reactor, &error);
  if (!app) {
    state.SkipWithError(("Perl app not created: " + error).c_str());
    return;
  }
  BlockPool blocks;
  http::DateCache date;
  std::vector<std::unique_ptr<http::RequestHead>> heads;
  http::H1Context ctx;
  ctx.app = app.get();
  ctx.blocks = &blocks;
  ctx.date = &date;
  ctx.head_pool = &heads;
  ctx.server_header = "PAGI::Server/bench";
  NullTransport transport;
  {
    http::H1Connection conn(ctx, transport);
    size_t answered = 0;
    for (auto _ : state) {
      conn.on_input(request);
      while (transport.scheduled) {  // the loop turn's end
        transport.scheduled = false;
        conn.on_scheduled();
      }
      answered += conn.output().size() > 0;
      conn.on_sent(conn.output().size());
    }
    if (answered != size_t(state.iterations())) state.SkipWithError("a request was not answered");
  }
}
BENCHMARK_CAPTURE(BM_PerlHelloRequest, api, kApiRequest);
BENCHMARK_CAPTURE(BM_PerlHelloRequest, browser, kBrowserRequest);

}  // namespace
