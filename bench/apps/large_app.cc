// Native app for the large-body rows of bench/load.py, built by it as a shared object:
// GET any path answers a body of N bytes (N = the `?ARG`, default 1 MiB) in 64 KiB pieces,
// waiting for on_writable when the output is full; POST /upload reads and drops the body and
// answers its length. An sse scope (Accept: text/event-stream) gets `data: x…x` events of
// 32 bytes as fast as the client reads them, until it goes away (the sse row). No allocation
// per request: the body is made once per core. GET /file answers the same bytes from a file
// (made once per core, unlinked at once, its fd kept) with Exchange::send_file: the server
// splices it to the socket (the "1 MiB file response" row); PAGI_FILE_BODY=copy reads it
// with pread and sends it with send_body instead, the copy path, to measure the difference.
#include <fcntl.h>
#include <pagi/app.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr size_t kPiece = 64 * 1024;

class LargeApp final : public pagi::App {
 public:
  LargeApp(size_t size, int core) : body_(size, 'x') {
    auto r = std::to_chars(length_, length_ + sizeof(length_), size);
    length_size_ = size_t(r.ptr - length_);
    const char* dir = getenv("TMPDIR");
    std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                       "/pagi-bench-large-" + std::to_string(getpid()) + "-" +
                       std::to_string(core);
    file_ = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (file_ >= 0) {
      unlink(path.c_str());
      if (write(file_, body_.data(), body_.size()) != ssize_t(body_.size())) {
        close(file_);
        file_ = -1;
      }
    }
    const char* mode = getenv("PAGI_FILE_BODY");
    copy_ = mode != nullptr && strcmp(mode, "copy") == 0;
  }
  ~LargeApp() override {
    if (file_ >= 0) close(file_);
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
    if (from_file(ex) && !copy_ &&
        ex.send_file(file_, 0, body_.size()) != pagi::SendResult::kInvalid) {
      ex.finish();
      return;
    }
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
  bool from_file(pagi::Exchange& ex) const { return file_ >= 0 && ex.scope().path == "/file"; }

  void pump(pagi::Exchange& ex) {
    size_t off = reinterpret_cast<uintptr_t>(ex.app_data);
    while (off < body_.size()) {
      size_t n = body_.size() - off < kPiece ? body_.size() - off : kPiece;
      bool more = off + n < body_.size();
      std::string_view piece = std::string_view(body_).substr(off, n);
      if (from_file(ex)) {
        // The copy path a server without send_file has: read the piece, queue a copy.
        buf_.resize(n);
        ssize_t got = pread(file_, buf_.data(), n, off_t(off));
        if (got != ssize_t(n)) {
          ex.finish(true);
          return;
        }
        piece = buf_;
      }
      pagi::SendResult r = ex.send_body(piece, more);
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
  std::string buf_;     // one piece read from the file (copy path)
  int file_ = -1;       // the body as a file, for GET /file
  bool copy_ = false;   // PAGI_FILE_BODY=copy: pread + send_body instead of send_file
  char length_[24];
  size_t length_size_ = 0;
};

}  // namespace

extern "C" int pagi_app_abi_version(void) { return pagi::kAbiVersion; }

extern "C" pagi::App* pagi_app_create(const pagi::AppContext* ctx) {
  size_t size = 1 << 20;
  if (ctx->argument != nullptr && *ctx->argument != '\0') size = strtoull(ctx->argument, nullptr, 10);
  return new LargeApp(size, ctx->core);
}
