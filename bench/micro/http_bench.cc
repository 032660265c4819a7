// Micro-benchmarks of the per-request CPU path, no sockets: parse a request, run the native
// hello app through the HTTP/1 connection, serialise headers and chunks.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "apps/builtin.h"
#include "http/h1_connection.h"
#include "requests.h"
#include "http/request_parser.h"
#include "http/response_writer.h"

namespace {

using namespace pagi;

using bench::kApiRequest;
using bench::kBrowserRequest;

class NullHandler final : public http::ParserHandler {
 public:
  http::Action on_head(http::RequestHead& h) override {
    benchmark::DoNotOptimize(h.headers().size());
    return http::Action::kContinue;
  }
  http::Action on_body(std::string_view) override { return http::Action::kContinue; }
  http::Action on_message_complete() override { return http::Action::kContinue; }
};

void BM_ParseRequest(benchmark::State& state, const std::string& request) {
  http::Limits limits;
  http::RequestParser parser(limits);
  http::RequestHead head;
  parser.set_head(&head);
  NullHandler handler;
  for (auto _ : state) {
    auto r = parser.feed(request, handler);
    benchmark::DoNotOptimize(r.consumed);
  }
  state.SetBytesProcessed(int64_t(state.iterations() * request.size()));
}
BENCHMARK_CAPTURE(BM_ParseRequest, api, kApiRequest);
BENCHMARK_CAPTURE(BM_ParseRequest, browser, kBrowserRequest);

class NullTransport final : public http::Transport {
 public:
  void want_flush() override {}
  void set_reading(bool) override {}
  bool client_endpoint(Endpoint&) override { return false; }
  Endpoint server_endpoint() override { return {}; }
  bool is_unix() const override { return false; }
  void schedule() override {}
};

// One whole native request: parse, scope, app, response head and body into the output queue.
void BM_HelloRequest(benchmark::State& state, const std::string& request,
                     bool metrics = false) {
  BlockPool blocks;
  http::DateCache date;
  std::vector<std::unique_ptr<http::RequestHead>> heads;
  auto app = apps::make_hello_app();
  http::H1Context ctx;
  ctx.app = app.get();
  ctx.blocks = &blocks;
  ctx.date = &date;
  ctx.head_pool = &heads;
  ctx.server_header = "PAGI::Server/bench";
  http::RequestStats stats;  // --metrics-listen: status classes, two clock reads, histograms
  if (metrics) ctx.stats = &stats;
  NullTransport transport;
  http::H1Connection conn(ctx, transport);
  for (auto _ : state) {
    conn.on_input(request);
    conn.on_sent(conn.output().size());
  }
}
BENCHMARK_CAPTURE(BM_HelloRequest, api, kApiRequest);
BENCHMARK_CAPTURE(BM_HelloRequest, browser, kBrowserRequest);
BENCHMARK_CAPTURE(BM_HelloRequest, api_metrics, kApiRequest, true);

void BM_WriteHead(benchmark::State& state) {
  BlockPool blocks;
  OutputQueue out(&blocks);
  Header headers[] = {{"content-type", "application/json"}, {"cache-control", "no-store"},
                      {"x-request-id", "0123456789abcdef"}};
  http::HeaderFacts facts;
  http::scan_response_headers(headers, facts);
  for (auto _ : state) {
    http::write_head(out, 1, 200, headers, facts, "Tue, 24 Nov 2026 23:44:01 GMT",
                     "PAGI::Server/bench");
    http::write_content_length(out, 13);
    out.append("\r\n");
    out.consume(out.size());
  }
}
BENCHMARK(BM_WriteHead);

// What the HTTP/1 exchange writes: the one-pass head with the cached Date and Server lines.
void BM_WriteCheckedHead(benchmark::State& state) {
  BlockPool blocks;
  OutputQueue out(&blocks);
  http::DateCache date;
  Header headers[] = {{"content-type", "application/json"}, {"cache-control", "no-store"},
                      {"x-request-id", "0123456789abcdef"}};
  for (auto _ : state) {
    http::HeaderFacts facts;
    const char* err =
        http::write_checked_head(out, 1, 200, headers, facts, date, "PAGI::Server/bench");
    benchmark::DoNotOptimize(err);
    http::write_content_length(out, 13, "\r\n");
    out.consume(out.size());
  }
}
BENCHMARK(BM_WriteCheckedHead);

void BM_WriteChunks(benchmark::State& state) {
  BlockPool blocks;
  OutputQueue out(&blocks);
  std::string chunk(size_t(state.range(0)), 'x');
  for (auto _ : state) {
    http::write_chunk(out, chunk);
    out.consume(out.size());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_WriteChunks)->Arg(64)->Arg(4096)->Arg(65536);

}  // namespace

BENCHMARK_MAIN();
