// permessage-deflate compressor and decompressor (see ws_deflate.h).
#include "http/ws_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

namespace pagi::http::ws {
namespace {

constexpr uint8_t kTail[4] = {0x00, 0x00, 0xFF, 0xFF};
constexpr size_t kMinGrow = 4096;

}  // namespace

Deflater::Deflater(const DeflateParams& params, int level, int mem_level)
    : level_(level),
      mem_level_(mem_level),
      window_bits_(params.server_max_window_bits),
      no_context_takeover_(params.server_no_context_takeover) {}

Deflater::~Deflater() {
  if (z_ != nullptr) {
    deflateEnd(z_);
    delete z_;
  }
}

bool Deflater::init() {
  z_ = new z_stream{};
  if (deflateInit2(z_, level_, Z_DEFLATED, -window_bits_, mem_level_, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z_;
    z_ = nullptr;
    return false;
  }
  return true;
}

bool Deflater::compress(std::string_view message, std::string& out) {
  if (!enabled()) return false;
  if (z_ == nullptr && !init()) return false;
  size_t start = out.size();
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  size_t left = message.size();
  for (;;) {
    uInt chunk = uInt(std::min<size_t>(left, UINT_MAX));
    z_->avail_in = chunk;
    left -= chunk;
    int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      size_t at = out.size();
      size_t grow = std::max<size_t>(kMinGrow, deflateBound(z_, z_->avail_in) + 16);
      out.resize(at + grow);
      z_->next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_->avail_out = uInt(grow);
      int rc = deflate(z_, flush);
      out.resize(at + grow - z_->avail_out);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
    } while (z_->avail_out == 0 || z_->avail_in > 0);
    if (left == 0) break;
  }
  // A sync flush ends with an empty stored block: 00 00 ff ff, which the receiver adds back.
  if (out.size() - start < 4 || std::memcmp(out.data() + out.size() - 4, kTail, 4) != 0) {
    return false;
  }
  out.resize(out.size() - 4);
  if (no_context_takeover_) deflateReset(z_);
  return true;
}

Inflater::Inflater(const DeflateParams& params)
    // zlib compressors asked for 8 bits use 9, so a window of 256 bytes is never enough.
    : window_bits_(std::max<int>(9, params.client_max_window_bits)),
      no_context_takeover_(params.client_no_context_takeover) {}

Inflater::~Inflater() {
  if (z_ != nullptr) {
    inflateEnd(z_);
    delete z_;
  }
}

bool Inflater::init() {
  z_ = new z_stream{};
  if (inflateInit2(z_, -window_bits_) != Z_OK) {
    delete z_;
    z_ = nullptr;
    return false;
  }
  return true;
}

InflateStatus Inflater::run(const uint8_t* in, size_t n, std::string& out, size_t max_size) {
  while (n > 0 && !stream_ended_) {
    uInt chunk = uInt(std::min<size_t>(n, UINT_MAX));
    z_->next_in = const_cast<Bytef*>(in);
    z_->avail_in = chunk;
    for (;;) {
      size_t at = out.size();
      // Room for one byte beyond the limit shows whether the output would exceed it.
      size_t limit = max_size == SIZE_MAX ? max_size : max_size + 1;
      size_t room = limit - std::min(at, limit);
      if (room == 0) return InflateStatus::kTooBig;
      size_t grow = std::min(room, std::max(kMinGrow, std::min<size_t>(at, 1 << 20)));
      out.resize(at + grow);
      z_->next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_->avail_out = uInt(grow);
      int rc = ::inflate(z_, Z_SYNC_FLUSH);
      out.resize(at + grow - z_->avail_out);
      if (out.size() > max_size) {
        out.resize(max_size);
        return InflateStatus::kTooBig;
      }
      if (rc == Z_STREAM_END) {
        // A block with BFINAL set ended the stream (RFC 7692 §7.2.3.4): the rest of this
        // message, the 00 00 ff ff tail included, is ignored; the next message starts a
        // new stream.
        stream_ended_ = true;
        return InflateStatus::kOk;
      }
      if (rc == Z_BUF_ERROR) {
        if (z_->avail_out == 0) continue;  // output full: give it more room
        break;                             // all input used
      }
      if (rc != Z_OK) return InflateStatus::kCorrupt;
      if (z_->avail_in == 0 && z_->avail_out > 0) break;
    }
    in += chunk;
    n -= chunk;
  }
  return InflateStatus::kOk;
}

InflateStatus Inflater::inflate(std::string_view piece, bool fin, std::string& out,
                                size_t max_size) {
  if (z_ == nullptr && !init()) return InflateStatus::kCorrupt;
  InflateStatus st =
      run(reinterpret_cast<const uint8_t*>(piece.data()), piece.size(), out, max_size);
  if (st == InflateStatus::kOk && fin) {
    st = run(kTail, sizeof(kTail), out, max_size);
    if (st == InflateStatus::kOk && (no_context_takeover_ || stream_ended_)) {
      inflateReset(z_);
      stream_ended_ = false;
    }
  }
  return st;
}

}  // namespace pagi::http::ws
