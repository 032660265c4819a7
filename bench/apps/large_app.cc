// Native app for the large-body rows of bench/load.py, built by it as a shared object:
// GET any path answers a body of N bytes (N = the `?ARG`, default 1 MiB) in 64 KiB pieces,
// waiting for on_writable when the output is full; POST /upload reads and drops the body and
// answers its length. An sse scope (Accept: text/event-stream) gets `data: x…x` events of
// 32 bytes as fast as the client reads them, until it goes away (the sse row). No allocation
// per request: the body is made once per core.
#include <pagi/app.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

constexpr size_t kPiece = 64 * 1024;

class LargeApp final : public pagi::App {
 public:
  explicit LargeApp(size_t size) : body_(size, 'x') {
    auto r = std::to_chars(length_, length_ + sizeof(length_), size);
    length_size_ = size_t(r.ptr - length_);
  }

  void on_request(pagi::Exchange& ex) override {
    if (ex.scope().type == pagi::ScopeType::kSse) {
      ex.sse_start(200, {});
      stream(ex);
      return;
    }
    if (ex.scope().method == "POST") {
      ex.app_data = nullptr;  // bytes received so far
      drain(ex);
      return;
    }
    const pagi::Header headers[] = {
        {"content-type", "application/octet-stream"},
        {"content-length", std::string_view(length_, length_size_)},
    };
    ex.send_start(200, headers);
    ex.app_data = nullptr;  // bytes sent so far
    pump(ex);
  }

  void on_writable(pagi::Exchange& ex) override {
    if (ex.scope().type == pagi::ScopeType::kSse) return stream(ex);
    pump(ex);
  }
  void on_receive_ready(pagi::Exchange& ex) override {
    if (ex.scope().type == pagi::ScopeType::kSse) return stream(ex);
    drain(ex);
  }

 private:
  void pump(pagi::Exchange& ex) {
    size_t off = reinterpret_cast<uintptr_t>(ex.app_data);
    while (off < body_.size()) {
      size_t n = body_.size() - off < kPiece ? body_.size() - off : kPiece;
      bool more = off + n < body_.size();
      pagi::SendResult r = ex.send_body(std::string_view(body_).substr(off, n), more);
      off += n;
      ex.app_data = reinterpret_cast<void*>(uintptr_t(off));
      if (r == pagi::SendResult::kClosed || r == pagi::SendResult::kInvalid) {
        ex.finish(r == pagi::SendResult::kInvalid);
        return;
      }
      if (!more) break;
      if (r == pagi::SendResult::kBlocked) return;  // on_writable resumes
    }
    ex.finish();
  }

  // Events until the output is full (on_writable resumes) or the client is gone.
  void stream(pagi::Exchange& ex) {
    pagi::Event ev;
    while (ex.receive(ev)) {
      if (ev.type == pagi::EventType::kSseDisconnect) {
        ex.finish();
        return;
      }
    }
    for (;;) {
      pagi::SendResult r = ex.sse_send(pagi::SseEvent{std::string_view(body_).substr(0, 32), {}, {}, -1});
      if (r == pagi::SendResult::kClosed || r == pagi::SendResult::kInvalid) {
        ex.finish(r == pagi::SendResult::kInvalid);
        return;
      }
      if (r == pagi::SendResult::kBlocked) return;
    }
  }

  void drain(pagi::Exchange& ex) {
    size_t got = reinterpret_cast<uintptr_t>(ex.app_data);
    pagi::Event ev;
    while (ex.receive(ev)) {
      if (ev.type != pagi::EventType::kHttpRequest) {
        ex.finish();  // the client went away
        return;
      }
      got += ev.body.size();
      ex.app_data = reinterpret_cast<void*>(uintptr_t(got));
      if (ev.more) continue;
      char text[24];
      auto r = std::to_chars(text, text + sizeof(text), got);
      std::string_view answer(text, size_t(r.ptr - text));
      char len[24];
      auto l = std::to_chars(len, len + sizeof(len), answer.size());
      const pagi::Header headers[] = {
          {"content-type", "text/plain"},
          {"content-length", std::string_view(len, size_t(l.ptr - len))},
      };
      ex.send_start(200, headers);
      ex.send_body(answer, false);
      ex.finish();
      return;
    }
  }

  std::string body_;
  char length_[24];
  size_t length_size_ = 0;
};

}  // namespace

extern "C" int pagi_app_abi_version(void) { return pagi::kAbiVersion; }

extern "C" pagi::App* pagi_app_create(const pagi::AppContext* ctx) {
  size_t size = 1 << 20;
  if (ctx->argument != nullptr && *ctx->argument != '\0') size = strtoull(ctx->argument, nullptr, 10);
  return new LargeApp(size);
}
