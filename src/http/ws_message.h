// Reassembles WebSocket data messages from the frame parser's pieces: copies (or, for a
// compressed message, inflates) each piece once into a growing buffer, checks the size limit
// (--max-ws-message-size → 1009) and validates text as it arrives (→ 1007), so a 10 MB
// message or a chain of 1000 fragments costs linear time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/utf8.h"
#include "http/ws_deflate.h"
#include "http/ws_frame.h"

namespace pagi::http::ws {

class MessageAssembler {
 public:
  explicit MessageAssembler(size_t max_message_size) : max_size_(max_message_size) {}

  // Adds a kData event of the frame parser. When the event's `compressed` is set, the
  // piece is inflated with `inflater` (which must then be non-null). Returns the error to
  // fail the connection with, if any. After a piece with fin, complete() is true until
  // clear().
  WsError add(const FrameEvent& piece, Inflater* inflater = nullptr);

  bool complete() const { return complete_; }
  Opcode opcode() const { return opcode_; }
  // The whole message once complete(). An uncompressed message that came as a single frame
  // in one read is not copied: the view then points into the parser's input buffer and is
  // valid only as long as that buffer.
  std::string_view message() const { return direct_ ? direct_view_ : std::string_view(buf_); }
  // Moves the message out (copying it if it was a direct view).
  std::string take();
  // Ready for the next message. Keeps the buffer unless it grew large.
  void clear();

  size_t buffered() const { return buf_.size(); }

 private:
  size_t max_size_;
  std::string buf_;
  std::string_view direct_view_;
  bool direct_ = false;
  bool complete_ = false;
  Opcode opcode_ = Opcode::kText;
  Utf8Validator utf8_;
};

}  // namespace pagi::http::ws
