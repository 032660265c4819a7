// libFuzzer driver for the WebSocket receive path without sockets: arbitrary client bytes go
// through FrameParser, MessageAssembler and (for RSV1 messages) the Inflater, once whole and
// once split into arbitrary reads; both runs must give the same transcript, and no message
// may exceed its size limit. Sanitizers turn memory or UB errors into crashes.
// Run: build-fuzz/ws-frame-fuzz -max_total_time=60 fuzz/corpus/ws
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/ws_deflate.h"
#include "http/ws_frame.h"
#include "http/ws_message.h"

namespace {

using namespace pagi::http::ws;

constexpr size_t kMaxMessage = 1 << 16;

// Runs the bytes through a fresh parser, cut at `cuts`, and describes what came out.
std::string transcript(const std::string& bytes, const std::vector<size_t>& cuts,
                       const FrameParser::Options& options) {
  FrameParser parser(options);
  DeflateParams params;
  Inflater inflater(params);
  MessageAssembler assembler(kMaxMessage);
  std::string log;
  std::string buf = bytes;  // unmasked in place
  size_t at = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    size_t end = i < cuts.size() ? cuts[i] : buf.size();
    std::span<char> in(buf.data() + at, end - at);
    at = end;
    for (;;) {
      FrameEvent ev = parser.next(in);
      if (ev.kind == FrameEvent::Kind::kNeedMore) break;
      if (ev.kind == FrameEvent::Kind::kError) {
        log += "E" + std::to_string(ev.error.code) + ev.error.reason;
        return log;
      }
      if (ev.kind == FrameEvent::Kind::kControl) {
        log += "C" + std::to_string(int(ev.opcode)) + ":" + std::to_string(ev.close_code) + ":";
        log.append(ev.payload);
        if (ev.payload.size() > 125) std::abort();
        continue;
      }
      WsError err = assembler.add(ev, &inflater);
      if (err) {
        // A compressed message that is both too big and invalid UTF-8 may be reported as
        // either, depending on how much each read inflated: both codes are right for it.
        bool either = err.code == 1007 || err.code == 1009;
        log += either ? std::string("M1007/1009") : "M" + std::to_string(err.code);
        return log;
      }
      if (assembler.buffered() > kMaxMessage) std::abort();
      if (assembler.complete()) {
        if (assembler.message().size() > kMaxMessage) std::abort();
        log += "D" + std::to_string(int(assembler.opcode())) + ":";
        log.append(assembler.message());
        assembler.clear();
      }
    }
  }
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  FrameParser::Options options;
  options.deflate = (data[0] & 1) != 0;
  options.require_mask = (data[0] & 2) != 0;
  options.max_frame_size = (data[0] & 4) ? 64 : kMaxMessage;
  size_t step = 1 + data[1] % 17;  // read size of the split run
  std::string bytes(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<size_t> cuts;
  for (size_t c = step; c < bytes.size(); c += step) cuts.push_back(c);
  if (transcript(bytes, {}, options) != transcript(bytes, cuts, options)) std::abort();
  return 0;
}
