// libFuzzer driver holding RequestParser's fast path for plain heads to llhttp: the same bytes,
// cut into the same reads, go to a parser with the fast path and to one without it, and every
// event, every head field and the outcome must be the same. The first input byte picks the
// pauses and small limits; the next two where the bytes are cut. A difference is a crash.
// Run: build-fuzz/request-parser-diff-fuzz -max_total_time=60 fuzz/corpus/parser
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

#include "http/request_parser.h"

namespace {

using namespace pagi;
using namespace pagi::http;

// Records what the handler sees, as text; each message gets a fresh head as in H1Connection.
class Recorder final : public ParserHandler {
 public:
  Recorder(RequestParser& parser, bool pause_head, bool pause_complete)
      : parser_(parser), pause_head_(pause_head), pause_complete_(pause_complete) {
    renew();
  }
  void renew() {
    heads_.emplace_back();
    parser_.set_head(&heads_.back());
  }
  Action on_head(RequestHead& h) override {
    log += "H[" + std::string(h.method()) + " " + std::string(h.target()) + " " +
           std::string(h.raw_path()) + " " + std::string(h.query_string()) + " " +
           std::string(h.path()) + " " + std::to_string(h.path_is_utf8()) +
           std::to_string(h.version_minor()) + std::to_string(h.keep_alive()) +
           std::to_string(h.chunked()) + std::to_string(h.has_content_length()) +
           std::to_string(h.content_length()) + std::to_string(h.expect_continue()) +
           std::to_string(h.websocket_upgrade()) + std::to_string(h.accepts_event_stream());
    for (const Header& f : h.headers()) {
      log += " <" + std::string(f.name) + ":" + std::string(f.value) + ">";
    }
    log += "]";
    return pause_head_ ? Action::kPause : Action::kContinue;
  }
  Action on_body(std::string_view chunk) override {
    body.append(chunk);  // the bytes count, not how the reads cut them into events
    return Action::kContinue;
  }
  Action on_message_complete() override {
    log += "B[" + body + "]C";
    body.clear();
    renew();
    return pause_complete_ ? Action::kPause : Action::kContinue;
  }
  std::string log, body;

 private:
  RequestParser& parser_;
  bool pause_head_, pause_complete_;
  std::deque<RequestHead> heads_;
};

std::string Run(std::string_view bytes, size_t cut1, size_t cut2, bool fast, uint8_t mode) {
  Limits limits;
  if (mode & 4) limits.max_request_line = 32;
  if (mode & 8) limits.max_header_size = 64;
  if (mode & 16) limits.max_header_count = 2;
  RequestParser parser(limits);
  if (!fast) parser.disable_fast_path();
  Recorder rec(parser, (mode & 1) != 0, (mode & 2) != 0);
  std::string_view pieces[3] = {bytes.substr(0, cut1), bytes.substr(cut1, cut2 - cut1),
                                bytes.substr(cut2)};
  for (std::string_view piece : pieces) {
    for (int guard = 0; guard < 100000; ++guard) {
      std::string copy(piece);  // freed after the call: a view kept into it would be caught
      ParseResult r = parser.feed(copy, rec);
      if (r.status == ParseStatus::kError) {
        return rec.log + " B[" + rec.body + "] E" + std::to_string(parser.error_status()) +
               std::string(parser.error_message());
      }
      piece.remove_prefix(r.consumed);
      if (r.status == ParseStatus::kOk) break;
      parser.resume();
      if (piece.empty() && !parser.wants_feed()) break;
    }
  }
  return rec.log + " B[" + rec.body + "] in_message=" + std::to_string(parser.in_message()) +
         " in_head=" + std::to_string(parser.in_head());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  uint8_t mode = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 3), size - 3);
  size_t cut1 = bytes.empty() ? 0 : data[1] % (bytes.size() + 1);
  size_t cut2 = bytes.empty() ? 0 : cut1 + data[2] % (bytes.size() - cut1 + 1);
  std::string fast = Run(bytes, cut1, cut2, true, mode);
  std::string slow = Run(bytes, cut1, cut2, false, mode);
  if (fast != slow) {
    std::fprintf(stderr, "fast path and llhttp differ\nfast: %s\nslow: %s\n", fast.c_str(),
                 slow.c_str());
    std::abort();
  }
  return 0;
}
