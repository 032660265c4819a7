// permessage-deflate (RFC 7692) over zlib: the negotiated parameters, a compressor for the
// server's messages and a decompressor for the client's, bounded so that a small compressed
// message cannot expand past --max-ws-message-size (zip bomb → 1009).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct z_stream_s;

namespace pagi::http::ws {

// What the handshake agreed (ws_handshake.h fills it from the client's offer).
struct DeflateParams {
  bool server_no_context_takeover = false;  // our compressor starts afresh per message
  bool client_no_context_takeover = false;  // the client's does: our decompressor may too
  uint8_t server_max_window_bits = 15;      // our compressor's LZ77 window (8..15)
  uint8_t client_max_window_bits = 15;      // the client's window (8..15)
  // Parameters to echo in the response (the client named them in its offer).
  bool server_max_window_bits_in_response = false;
  bool client_max_window_bits_in_response = false;
};

// Compresses whole messages. zlib cannot make raw deflate streams with a 256-byte window
// (it turns windowBits 8 into 9 for deflate, which a peer holding us to 8 could not
// inflate), so with server_max_window_bits=8 enabled() is false and messages go out
// uncompressed (RFC 7692 allows any message to be sent without RSV1).
class Deflater {
 public:
  explicit Deflater(const DeflateParams& params, int level = 6, int mem_level = 8);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  bool enabled() const { return window_bits_ >= 9; }

  // Appends the compressed form of `message` (a sync-flushed deflate stream without its
  // trailing 00 00 ff ff, RFC 7692 §7.2.1) to `out`. False on a zlib failure.
  bool compress(std::string_view message, std::string& out);

 private:
  bool init();

  z_stream_s* z_ = nullptr;  // created on first use: an idle connection holds no zlib state
  int level_;
  int mem_level_;
  int window_bits_;
  bool no_context_takeover_;
};

enum class InflateStatus : uint8_t { kOk, kTooBig, kCorrupt };

// Decompresses the pieces of compressed messages as they arrive.
class Inflater {
 public:
  explicit Inflater(const DeflateParams& params);
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Decompresses `piece` of the current message and appends the output to `out`; `fin`
  // marks the message's last piece (the 00 00 ff ff tail is added here). `out` never grows
  // past `max_size` bytes in total: more output gives kTooBig (no more than max_size + 1
  // bytes are ever produced, however much the input would expand). After kTooBig or kCorrupt
  // the connection must be failed (1009 / 1007).
  InflateStatus inflate(std::string_view piece, bool fin, std::string& out, size_t max_size);

 private:
  bool init();
  InflateStatus run(const uint8_t* in, size_t n, std::string& out, size_t max_size);

  z_stream_s* z_ = nullptr;
  int window_bits_;
  bool no_context_takeover_;
  bool stream_ended_ = false;  // the peer ended its deflate stream inside this message
};

}  // namespace pagi::http::ws
