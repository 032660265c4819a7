// Micro-benchmarks of the WebSocket and SSE byte paths, no sockets: frame parsing with
// unmasking, UTF-8 validation, message assembly, and SSE event framing. No BENCHMARK_MAIN
// here: it links into the same executable as http_bench.cc.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "common/buffer_pool.h"
#include "http/sse_writer.h"
#include "common/utf8.h"
#include "http/ws_frame.h"
#include "http/ws_message.h"

namespace {

using namespace pagi;
using namespace pagi::http;

constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};

std::string text_payload(size_t n, bool multibyte) {
  std::string s;
  while (s.size() < n) s += multibyte ? "h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC " : "hello world ";
  while (s.size() > n) s.pop_back();
  while (!is_valid_utf8(s)) s.pop_back();  // do not end inside a code point
  return s;
}

void BM_Unmask(benchmark::State& state) {
  std::string data(size_t(state.range(0)), 'x');
  for (auto _ : state) {
    ws::apply_mask(data.data(), data.size(), kKey, 1);
    benchmark::DoNotOptimize(data.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Unmask)->Arg(125)->Arg(4096)->Arg(65536);

void BM_Utf8Validate(benchmark::State& state) {
  std::string s = text_payload(size_t(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    Utf8Validator v;
    benchmark::DoNotOptimize(v.feed(s) && v.complete());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.size()));
}
BENCHMARK(BM_Utf8Validate)->Args({4096, 0})->Args({4096, 1})->Args({65536, 0})->Args({65536, 1});

// One masked text frame per iteration: parse, unmask in place, validate, deliver.
void BM_ParseTextFrame(benchmark::State& state) {
  std::string payload = text_payload(size_t(state.range(0)), false);
  std::string frame;
  frame.push_back(char(0x81));
  size_t n = payload.size();
  if (n < 126) {
    frame.push_back(char(0x80 | n));
  } else if (n <= 0xFFFF) {
    frame.push_back(char(0x80 | 126));
    frame.push_back(char(n >> 8));
    frame.push_back(char(n & 0xFF));
  } else {
    frame.push_back(char(0x80 | 127));
    for (int i = 0; i < 8; ++i) frame.push_back(char(uint64_t(n) >> (56 - 8 * i)));
  }
  frame.append(reinterpret_cast<const char*>(kKey), 4);
  size_t at = frame.size();
  frame += payload;
  for (size_t i = 0; i < n; ++i) frame[at + i] = char(uint8_t(frame[at + i]) ^ kKey[i % 4]);
  std::string buf = frame;
  ws::FrameParser parser;
  ws::MessageAssembler assembler(1 << 24);
  for (auto _ : state) {
    std::memcpy(buf.data(), frame.data(), frame.size());  // unmasking is in place
    std::span<char> in(buf.data(), buf.size());
    for (;;) {
      ws::FrameEvent ev = parser.next(in);
      if (ev.kind != ws::FrameEvent::Kind::kData) break;
      if (assembler.add(ev)) state.SkipWithError("rejected");
    }
    benchmark::DoNotOptimize(assembler.message().size());
    assembler.clear();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(frame.size()));
}
BENCHMARK(BM_ParseTextFrame)->Arg(16)->Arg(1024)->Arg(65536);

void BM_WriteTextFrame(benchmark::State& state) {
  BlockPool pool;
  OutputQueue q(&pool);
  std::string payload(size_t(state.range(0)), 'x');
  for (auto _ : state) {
    ws::write_frame(q, ws::Opcode::kText, payload);
    q.clear();
  }
}
BENCHMARK(BM_WriteTextFrame)->Arg(16)->Arg(1024);

void BM_SseEvent(benchmark::State& state) {
  BlockPool pool;
  OutputQueue q(&pool);
  sse::Event ev;
  ev.event = "update";
  ev.id = "12345";
  std::string data = state.range(0) ? "line one\nline two\r\nline three\rline four"
                                    : "{\"price\": 101.25, \"symbol\": \"ACME\"}";
  ev.data = data;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sse::event_size(ev));
    sse::write_event(q, ev);
    q.clear();
  }
}
BENCHMARK(BM_SseEvent)->Arg(0)->Arg(1);

}  // namespace
