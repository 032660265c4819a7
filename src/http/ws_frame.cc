// WebSocket frame parser and serialiser (see ws_frame.h).
#include "http/ws_frame.h"

#include <algorithm>
#include <cstring>

#include "common/utf8.h"

namespace pagi::http::ws {
namespace {

// Header bytes needed once the first two are known.
size_t header_size(uint8_t b1) {
  size_t n = 2 + ((b1 & 0x80) ? 4 : 0);
  uint8_t len7 = b1 & 0x7F;
  if (len7 == 126) return n + 2;
  if (len7 == 127) return n + 8;
  return n;
}

bool is_known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

template <typename Out>
void append_frame(Out& out, Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
  char header[kMaxHeaderSize];
  size_t n = write_frame_header(header, opcode, payload.size(), fin, rsv1);
  out.append(std::string_view(header, n));
  out.append(payload);
}

template <typename Out>
void append_close(Out& out, uint16_t code, std::string_view reason) {
  if (code == kCloseNoStatus) {
    append_frame(out, Opcode::kClose, {}, true, false);
    return;
  }
  reason = truncate_close_reason(reason);
  char payload[125];
  payload[0] = char(code >> 8);
  payload[1] = char(code & 0xFF);
  // An empty view may have a null data(): memcpy must not see it, even for 0 bytes.
  if (!reason.empty()) std::memcpy(payload + 2, reason.data(), reason.size());
  append_frame(out, Opcode::kClose, std::string_view(payload, 2 + reason.size()), true, false);
}

}  // namespace

bool is_valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

void apply_mask(char* data, size_t n, const uint8_t key[4], uint64_t phase) {
  uint8_t k[8];
  for (int i = 0; i < 8; ++i) k[i] = key[(phase + i) & 3];
  size_t i = 0;
  if (n >= 8) {
    uint64_t m;
    std::memcpy(&m, k, 8);
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, data + i, 8);
      w ^= m;
      std::memcpy(data + i, &w, 8);
    }
  }
  // i is a multiple of 8, so the key phase of the tail starts again at k[0].
  for (size_t j = 0; i < n; ++i, ++j) data[i] = char(uint8_t(data[i]) ^ k[j]);
}

FrameEvent FrameParser::fail(uint16_t code, const char* reason) {
  state_ = State::kFailed;
  FrameEvent ev;
  ev.kind = FrameEvent::Kind::kError;
  ev.error = WsError{code, reason};
  return ev;
}

// Checks a complete header and sets up the frame. Returns kNeedMore to go on reading.
FrameEvent FrameParser::start_frame(const uint8_t* h, size_t size) {
  uint8_t b0 = h[0], b1 = h[1];
  bool fin = (b0 & 0x80) != 0;
  uint8_t rsv = b0 & 0x70;
  uint8_t op = b0 & 0x0F;
  if (!is_known_opcode(op)) return fail(kCloseProtocolError, "Reserved opcode");
  Opcode opcode = Opcode(op);
  if (rsv != 0) {
    // RSV1 marks a compressed message: only with permessage-deflate, only on its first frame.
    bool rsv1_ok =
        rsv == 0x40 && options_.deflate && (opcode == Opcode::kText || opcode == Opcode::kBinary);
    if (!rsv1_ok) return fail(kCloseProtocolError, "RSV bits must be 0");
  }
  bool masked = (b1 & 0x80) != 0;
  if (!masked && options_.require_mask) {
    return fail(kCloseProtocolError, "Client frames must be masked");
  }
  uint64_t length = b1 & 0x7F;
  const uint8_t* p = h + 2;
  if (length == 126) {
    length = (uint64_t(p[0]) << 8) | p[1];
    p += 2;
  } else if (length == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | p[i];
    p += 8;
    if (length >> 63) return fail(kCloseProtocolError, "Invalid frame length");
  }
  if (is_control(opcode)) {
    if (!fin) return fail(kCloseProtocolError, "Control frame must not be fragmented");
    if (length > 125) return fail(kCloseProtocolError, "Control frame payload too large");
  } else if (opcode == Opcode::kContinuation) {
    if (!message_open_) return fail(kCloseProtocolError, "Unexpected continuation frame");
  } else if (message_open_) {
    return fail(kCloseProtocolError, "Expected continuation frame");
  }
  if (length > options_.max_frame_size) return fail(kCloseMessageTooBig, "Frame too large");
  if (masked) std::memcpy(mask_, p, 4);
  (void)size;

  frame_opcode_ = opcode;
  frame_fin_ = fin;
  masked_ = masked;
  remaining_ = length;
  offset_ = 0;
  if (is_control(opcode)) {
    control_have_ = 0;
    state_ = State::kControl;
  } else {
    if (opcode != Opcode::kContinuation) {
      message_open_ = true;
      message_first_piece_ = true;
      message_opcode_ = opcode;
      message_compressed_ = rsv != 0;
    }
    state_ = State::kPayload;
  }
  return FrameEvent{};
}

FrameEvent FrameParser::finish_control() {
  state_ = State::kHeader;
  if (masked_) apply_mask(control_, control_have_, mask_, 0);
  FrameEvent ev;
  ev.kind = FrameEvent::Kind::kControl;
  ev.opcode = frame_opcode_;
  ev.payload = std::string_view(control_, control_have_);
  if (frame_opcode_ == Opcode::kClose) {
    if (control_have_ == 0) {
      ev.close_code = kCloseNoStatus;
    } else if (control_have_ == 1) {
      return fail(kCloseProtocolError, "Close frame payload of 1 byte");
    } else {
      ev.close_code = uint16_t((uint8_t(control_[0]) << 8) | uint8_t(control_[1]));
      if (!is_valid_close_code(ev.close_code)) {
        return fail(kCloseProtocolError, "Invalid close code");
      }
      ev.close_reason = ev.payload.substr(2);
      if (!is_valid_utf8(ev.close_reason)) {
        return fail(kCloseInvalidPayload, "Invalid UTF-8 in close reason");
      }
    }
  }
  return ev;
}

FrameEvent FrameParser::next(std::span<char>& in) {
  for (;;) {
    switch (state_) {
      case State::kFailed: return fail(kCloseProtocolError, "Connection already failed");

      case State::kHeader: {
        if (in.empty()) return FrameEvent{};
        const uint8_t* h;
        size_t need;
        if (header_have_ == 0 && in.size() >= 2 &&
            in.size() >= (need = header_size(uint8_t(in[1])))) {
          // The whole header is in this read: parse it where it lies.
          h = reinterpret_cast<const uint8_t*>(in.data());
          in = in.subspan(need);
        } else {
          // Gather the header across reads, at most 14 bytes.
          if (header_have_ < 2) {
            size_t take = std::min<size_t>(2 - header_have_, in.size());
            std::memcpy(header_ + header_have_, in.data(), take);
            header_have_ += uint8_t(take);
            in = in.subspan(take);
            if (header_have_ < 2) return FrameEvent{};
          }
          need = header_size(header_[1]);
          size_t take = std::min<size_t>(need - header_have_, in.size());
          std::memcpy(header_ + header_have_, in.data(), take);
          header_have_ += uint8_t(take);
          in = in.subspan(take);
          if (header_have_ < need) return FrameEvent{};
          h = header_;
          header_have_ = 0;
        }
        FrameEvent ev = start_frame(h, need);
        if (ev.kind == FrameEvent::Kind::kError) return ev;
        continue;
      }

      case State::kControl: {
        size_t take = std::min<uint64_t>(remaining_, in.size());
        std::memcpy(control_ + control_have_, in.data(), take);
        control_have_ += uint8_t(take);
        remaining_ -= take;
        in = in.subspan(take);
        if (remaining_ > 0) return FrameEvent{};
        return finish_control();
      }

      case State::kPayload: {
        if (remaining_ > 0 && in.empty()) return FrameEvent{};
        size_t take = std::min<uint64_t>(remaining_, in.size());
        char* p = in.data();
        if (masked_) apply_mask(p, take, mask_, offset_);
        in = in.subspan(take);
        remaining_ -= take;
        offset_ += take;
        FrameEvent ev;
        ev.kind = FrameEvent::Kind::kData;
        ev.opcode = message_opcode_;
        ev.compressed = message_compressed_;
        ev.first = message_first_piece_;
        ev.payload = std::string_view(p, take);
        if (remaining_ == 0) {
          state_ = State::kHeader;
          if (frame_fin_) {
            ev.fin = true;
            message_open_ = false;
          } else if (take == 0 && !message_first_piece_) {
            continue;  // an empty middle fragment carries nothing
          }
        }
        message_first_piece_ = false;
        return ev;
      }
    }
  }
}

size_t write_frame_header(char* out, Opcode opcode, uint64_t length, bool fin, bool rsv1) {
  out[0] = char((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | uint8_t(opcode));
  if (length < 126) {
    out[1] = char(length);
    return 2;
  }
  if (length <= 0xFFFF) {
    out[1] = char(126);
    out[2] = char(length >> 8);
    out[3] = char(length & 0xFF);
    return 4;
  }
  out[1] = char(127);
  for (int i = 0; i < 8; ++i) out[2 + i] = char(length >> (56 - 8 * i));
  return 10;
}

void write_frame(OutputQueue& out, Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
  append_frame(out, opcode, payload, fin, rsv1);
}

void write_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
  append_frame(out, opcode, payload, fin, rsv1);
}

void write_close(OutputQueue& out, uint16_t code, std::string_view reason) {
  append_close(out, code, reason);
}

void write_close(std::string& out, uint16_t code, std::string_view reason) {
  append_close(out, code, reason);
}

std::string_view truncate_close_reason(std::string_view reason) {
  constexpr size_t kMax = 123;
  if (reason.size() <= kMax) return reason;
  size_t n = kMax;
  // Step back over continuation bytes so the cut falls before a lead byte.
  while (n > 0 && (uint8_t(reason[n]) & 0xC0) == 0x80) --n;
  return reason.substr(0, n);
}

}  // namespace pagi::http::ws
