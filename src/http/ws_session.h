// A WebSocket connection after the 101 (RFC 6455, PAGI.md §3.4) as a socket-free state machine:
// client bytes in, frames out, websocket.receive/disconnect through a bounded queue, the close
// handshake, keepalive pings and the idle and close timers, so wiring it is mechanical.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer_pool.h"
#include "http/session_transport.h"
#include "http/ws_deflate.h"
#include "http/ws_frame.h"
#include "http/ws_message.h"
#include "pagi/app.h"

namespace pagi::http::ws {

// Per-core settings every session of the core shares (must outlive the sessions).
struct SessionConfig {
  size_t max_receive_queue = 1000;  // --max-receive-queue: messages; one more → 1008
  // Reading stops while the queued messages hold this many bytes, and restarts below half
  // of it: memory stays bounded for large messages without changing the count rule above.
  size_t receive_pause_bytes = size_t{1} << 20;
  uint64_t max_frame_size = 65536;            // --max-ws-frame-size → 1009
  size_t max_message_size = size_t{8} << 20;  // 128 fragments of 64 KiB, the reference's bound
  uint64_t idle_timeout_ms = 0;               // --ws-idle-timeout; 0: none
  uint64_t close_timeout_ms = 2000;           // wait for the peer's Close after the app's
  size_t high_watermark = 65536;              // --write-high-watermark
  size_t low_watermark = 16384;               // --write-low-watermark
  size_t deflate_min_size = 32;         // shorter messages go out uncompressed (RFC 7692 allows it)
  bool close_frame_on_shutdown = true;  // 1001 at shutdown; false: drop like the reference
  bool require_mask = true;
};

// What receive() yields.
struct ReceiveEvent {
  enum class Type : uint8_t { kNone, kReceive, kDisconnect };
  Type type = Type::kNone;
  // kReceive: text (validated UTF-8) or bytes. Valid until the next receive() or until the
  // app's code returns to the loop (a later read may move the queue).
  bool text = false;
  std::string_view data;
  // kDisconnect: the peer's code and reason after its Close frame, else the code the server
  // sent (or 1006 when none was) and a PAGI reason token.
  uint16_t code = 0;
  std::string_view reason;
};

class Session;

// The app side's callbacks. Called only from socket-side entry points (on_input, on_timer,
// on_sent, on_input_eof, on_transport_error, on_scheduled), never from inside a call the
// app makes.
class SessionHandler {
 public:
  // A receive() that returned false now has an event. The app may call receive() inside.
  virtual void on_receive_ready(Session& session) = 0;
  // The output fell below the low watermark after a send returned kBlocked (or the
  // connection died: sends now return kClosed).
  virtual void on_writable(Session&) {}
  // Once, when the connection's outcome is known (the same code and reason the last
  // receive() yields), before that disconnect reaches a waiting receive.
  virtual void on_end(Session&, uint16_t /*code*/, std::string_view /*reason*/) {}

 protected:
  ~SessionHandler() = default;
};

class Session {
 public:
  // `out` receives the frames (usually the queue the 101 went into; the caller flushes it).
  // `deflate` is the negotiated permessage-deflate, or null.
  Session(const SessionConfig& config, SessionTransport& transport, SessionHandler& handler,
          OutputQueue& out, const DeflateParams* deflate = nullptr);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // --- socket side -----------------------------------------------------------------------
  // Client bytes. Payloads are unmasked in place, so the buffer must be writable; it needs to
  // live only during the call (whatever the app has not taken is copied).
  void on_input(std::span<char> bytes);
  void on_input_eof();  // the peer's FIN
  // The socket is dead (reset, write failure): nothing more goes out. `reason` is the PAGI
  // token the app sees (client_closed, write_error, write_timeout).
  void on_transport_error(const char* reason = "write_error");
  // The transport wrote `n` bytes from the front of the output queue.
  void on_sent(size_t n);
  void on_timer(uint64_t now_ms);
  void on_scheduled();
  // Graceful stop: Close 1001 (or a drop, see SessionConfig), disconnect `server_shutdown`.
  void begin_shutdown();

  // Earliest time on_timer has something to do, kNoDeadline if none.
  uint64_t next_deadline() const;
  // Close the socket once the output is written.
  bool wants_close() const { return wants_close_; }

  // --- app side ----------------------------------------------------------------------------
  bool receive(ReceiveEvent& out);
  pagi::SendResult send_text(std::string_view text);
  pagi::SendResult send_bytes(std::string_view bytes);
  // websocket.close: a code a peer may receive (1000-1003, 1007-1011, 3000-4999) and a reason
  // of valid UTF-8 (cut to 123 bytes on a character boundary). kInvalid otherwise.
  pagi::SendResult send_close(uint16_t code = kCloseNormal, std::string_view reason = {});
  // websocket.keepalive: a ping every interval (0 stops); no pong within timeout (0: no
  // check) → 1006 keepalive_timeout. Last call wins.
  void keepalive(uint64_t interval_ms, uint64_t timeout_ms);
  // The app returned (or failed: `message` is logged): an open connection gets Close 1000
  // (failed: 1011), sent without waiting for the peer's answer.
  void finish(bool failed = false, std::string_view message = {});

  size_t buffered_amount() const { return dead_ ? 0 : out_.size(); }
  size_t high_watermark() const { return config_.high_watermark; }
  size_t low_watermark() const { return config_.low_watermark; }
  std::string_view error() const { return error_; }
  bool deflate_enabled() const { return deflater_.has_value(); }
  size_t queued_messages() const { return queue_.size() - queue_head_; }

 private:
  struct Queued {
    size_t offset;
    size_t size;
    bool text;
  };

  void handle_message();
  void handle_control(const FrameEvent& ev);
  void enqueue(bool text, std::string_view data);
  size_t queued_bytes() const;
  void compact_queue();
  pagi::SendResult send_data(Opcode opcode, std::string_view data);
  pagi::SendResult send_result();
  // Sends Close (unless one went out) and ends with `code` and `token`.
  void close_with(uint16_t code, std::string_view wire_reason, std::string_view token);
  // Ends without a Close frame (1006).
  void drop(std::string_view token);
  void set_end(uint16_t code, std::string_view reason);
  void activity();
  void notify();
  void update_reading();

  const SessionConfig& config_;
  SessionTransport& transport_;
  SessionHandler& handler_;
  OutputQueue& out_;
  FrameParser parser_;
  MessageAssembler assembler_;
  std::optional<Inflater> inflater_;
  std::optional<Deflater> deflater_;
  std::string deflate_out_;  // reused buffer for compressed sends

  // Receive queue: message bytes back to back in one buffer (capacity reused), and records.
  std::string queue_bytes_;
  std::vector<Queued> queue_;
  size_t queue_head_ = 0;  // records before it were handed out
  // A message handed to a waiting app without copying, during on_input only.
  bool direct_pending_ = false;
  bool direct_text_ = false;
  std::string_view direct_;

  // Outcome.
  bool end_known_ = false;
  bool end_reported_ = false;
  uint16_t end_code_ = 0;
  std::string end_reason_;

  // Connection state.
  bool app_active_ = true;
  bool wants_receive_ = false;
  bool wants_writable_ = false;
  bool close_sent_ = false;
  uint16_t close_code_sent_ = 0;
  bool wants_close_ = false;
  bool dead_ = false;  // transport error: nothing can be written
  bool reading_ = true;
  bool in_notify_ = false;
  bool renotify_ = false;

  // Timers (ms; 0 = not armed).
  uint64_t last_activity_ = 0;
  uint64_t ping_interval_ = 0;
  uint64_t pong_timeout_ = 0;
  uint64_t next_ping_ = 0;
  uint64_t pong_deadline_ = 0;
  uint64_t close_deadline_ = 0;

  std::string_view error_;
};

}  // namespace pagi::http::ws
