// WebSocket frames (RFC 6455 §5), server side: an incremental parser that is fed client bytes
// and emits data-message pieces and whole control frames, checking every framing rule of
// PAGI.md §6, and the serialiser of server frames. No sockets, no allocation per frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/buffer_pool.h"

namespace pagi::http::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes the server sends or reports (RFC 6455 §7.4.1).
enum CloseCode : uint16_t {
  kCloseNormal = 1000,
  kCloseGoingAway = 1001,
  kCloseProtocolError = 1002,
  kCloseUnsupportedData = 1003,
  kCloseNoStatus = 1005,  // reported when a Close frame has no payload; never sent
  kCloseAbnormal = 1006,  // reported for a drop without a Close frame; never sent
  kCloseInvalidPayload = 1007,
  kClosePolicyViolation = 1008,
  kCloseMessageTooBig = 1009,
  kCloseInternalError = 1011,
};

// Why the connection must be failed: the close code to send and a reason for the log and
// the Close frame. code 0 means no error.
struct WsError {
  uint16_t code = 0;
  const char* reason = nullptr;
  explicit operator bool() const { return code != 0; }
};

// Codes a peer may put in a Close frame: 1000-1003, 1007-1011, 3000-4999.
bool is_valid_close_code(uint16_t code);

inline bool is_control(Opcode op) {
  return (uint8_t(op) & 0x8) != 0;
}

struct FrameEvent {
  enum class Kind : uint8_t {
    kNeedMore,  // the input is used up; feed more bytes
    kData,      // a piece of a text or binary message
    kControl,   // a whole Close, Ping or Pong frame
    kError,     // the connection must be failed with `error`; the parser stays failed
  };
  Kind kind = Kind::kNeedMore;
  Opcode opcode = Opcode::kContinuation;  // kData: the message's opcode (text or binary)
  bool compressed = false;                // kData: RSV1 was set on the message's first frame
  bool first = false;                     // kData: first piece of the message
  bool fin = false;                       // kData: last piece of the message
  // kData: unmasked bytes, inside the caller's input buffer. kControl: the unmasked
  // payload in the parser's own buffer. Valid until the next call to next().
  std::string_view payload;
  uint16_t close_code = 0;        // kControl Close: the peer's code, kCloseNoStatus if none
  std::string_view close_reason;  // kControl Close: the peer's reason (valid UTF-8)
  WsError error;                  // kError
};

class FrameParser {
 public:
  struct Options {
    uint64_t max_frame_size = 65536;  // --max-ws-frame-size (reference default): larger → 1009
    bool deflate = false;      // permessage-deflate negotiated: RSV1 allowed on a first frame
    bool require_mask = true;  // RFC 6455 §5.1: client frames must be masked
  };

  FrameParser() = default;
  explicit FrameParser(const Options& options) : options_(options) {}
  void set_deflate(bool on) { options_.deflate = on; }

  // Consumes bytes from the front of `in`, unmasking payload bytes in place, until it has
  // an event to return (or kNeedMore once `in` is empty). Call again with the rest.
  FrameEvent next(std::span<char>& in);

  bool failed() const { return state_ == State::kFailed; }
  bool in_message() const { return message_open_; }

 private:
  enum class State : uint8_t { kHeader, kPayload, kControl, kFailed };

  FrameEvent fail(uint16_t code, const char* reason);
  FrameEvent start_frame(const uint8_t* h, size_t header_size);
  FrameEvent finish_control();

  Options options_;
  State state_ = State::kHeader;
  uint8_t header_[14]{};
  uint8_t header_have_ = 0;
  // Current frame.
  Opcode frame_opcode_ = Opcode::kContinuation;
  bool frame_fin_ = false;
  bool masked_ = false;
  uint8_t mask_[4] = {0, 0, 0, 0};
  uint64_t remaining_ = 0;  // payload bytes of this frame not yet consumed
  uint64_t offset_ = 0;     // payload bytes consumed so far (mask phase)
  // Current data message.
  bool message_open_ = false;
  bool message_first_piece_ = false;
  bool message_compressed_ = false;
  Opcode message_opcode_ = Opcode::kText;
  // Control frame payload (at most 125 bytes) gathered across reads.
  char control_[125]{};
  uint8_t control_have_ = 0;
};

// XORs `n` bytes with the 4-byte masking key, starting at key position `phase % 4`.
// Works 8 bytes at a time.
void apply_mask(char* data, size_t n, const uint8_t key[4], uint64_t phase);

// --- Serialiser (server → client: never masked) ---

inline constexpr size_t kMaxHeaderSize = 10;

// Writes a frame header for a payload of `length` bytes into `out`; returns its size (2,
// 4 or 10). rsv1 marks the first frame of a compressed message.
size_t write_frame_header(char* out, Opcode opcode, uint64_t length, bool fin = true,
                          bool rsv1 = false);

void write_frame(OutputQueue& out, Opcode opcode, std::string_view payload, bool fin = true,
                 bool rsv1 = false);
void write_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true,
                 bool rsv1 = false);

// A Close frame: the code and the reason cut to 123 bytes on a UTF-8 boundary. Code
// kCloseNoStatus writes a Close frame without payload.
void write_close(OutputQueue& out, uint16_t code, std::string_view reason);
void write_close(std::string& out, uint16_t code, std::string_view reason);

// The longest prefix of `reason` that fits a Close frame (123 bytes) and does not split a
// UTF-8 sequence.
std::string_view truncate_close_reason(std::string_view reason);

}  // namespace pagi::http::ws
