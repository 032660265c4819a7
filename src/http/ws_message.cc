// WebSocket message reassembly (see ws_message.h).
#include "http/ws_message.h"

namespace pagi::http::ws {
namespace {

// A buffer larger than this is released after its message rather than kept for the next.
constexpr size_t kKeepCapacity = size_t{64} << 10;

constexpr WsError kTooBig{kCloseMessageTooBig, "Message too big"};
constexpr WsError kBadUtf8{kCloseInvalidPayload, "Invalid UTF-8"};

}  // namespace

WsError MessageAssembler::add(const FrameEvent& piece, Inflater* inflater) {
  if (piece.first) {
    clear();
    opcode_ = piece.opcode;
  }
  bool text = opcode_ == Opcode::kText;
  if (piece.compressed) {
    // The parser only lets RSV1 through when deflate was negotiated; without an inflater
    // that is a caller bug, failed like the parser would.
    if (inflater == nullptr) return WsError{kCloseProtocolError, "RSV bits must be 0"};
    size_t before = buf_.size();
    switch (inflater->inflate(piece.payload, piece.fin, buf_, max_size_)) {
      case InflateStatus::kOk: break;
      case InflateStatus::kTooBig: return kTooBig;
      case InflateStatus::kCorrupt: return WsError{kCloseInvalidPayload, "Invalid compressed data"};
    }
    if (text && !utf8_.feed(std::string_view(buf_).substr(before))) return kBadUtf8;
  } else {
    if (piece.payload.size() > max_size_ - buf_.size()) return kTooBig;
    if (text && !utf8_.feed(piece.payload)) return kBadUtf8;
    if (piece.first && piece.fin) {
      direct_ = true;
      direct_view_ = piece.payload;
    } else {
      buf_.append(piece.payload);
    }
  }
  if (piece.fin) {
    if (text && !utf8_.complete()) return kBadUtf8;
    complete_ = true;
  }
  return WsError{};
}

std::string MessageAssembler::take() {
  std::string out = direct_ ? std::string(direct_view_) : std::move(buf_);
  clear();
  return out;
}

void MessageAssembler::clear() {
  if (buf_.capacity() > kKeepCapacity) {
    std::string().swap(buf_);
  } else {
    buf_.clear();
  }
  direct_ = false;
  direct_view_ = {};
  complete_ = false;
  utf8_.reset();
}

}  // namespace pagi::http::ws
