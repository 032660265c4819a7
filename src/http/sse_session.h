// A Server-Sent Events stream over HTTP/1.x (PAGI.md §3.5) as a socket-free state machine:
// sse.request body in; head, one chunk per event/comment/keepalive and the last chunk out; the
// decline path, keepalive and idle timers, and sse.disconnect with its reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/buffer_pool.h"
#include "http/date_cache.h"
#include "http/session_transport.h"
#include "http/response_writer.h"
#include "http/sse_writer.h"
#include "pagi/app.h"

namespace pagi::http::sse {

// Per-core settings every session of the core shares (must outlive the sessions).
struct SessionConfig {
  uint64_t idle_timeout_ms = 0;     // --sse-idle-timeout: no app send for this long → close
  size_t high_watermark = 65536;    // --write-high-watermark
  size_t low_watermark = 16384;     // --write-low-watermark
  size_t body_queue_limit = 65536;  // request body held for the app before feeding pauses
  std::string server_header;        // Server value added when the app sets none
  DateCache* date = nullptr;
};

// The request as far as the stream needs it.
struct RequestInfo {
  int http_minor = 1;     // 0: no chunked framing, the stream ends with the close
  bool is_head = false;   // a declined HEAD gets no body
  bool has_body = false;  // Content-Length > 0 or chunked: on_body / on_body_end follow
};

// What receive() yields.
struct ReceiveEvent {
  enum class Type : uint8_t { kNone, kRequest, kDisconnect };
  Type type = Type::kNone;
  std::string_view body;    // kRequest; valid until the next receive()
  bool more = false;        // kRequest
  std::string_view reason;  // kDisconnect: client_closed, write_error, server_shutdown, ...
};

class Session;

// The app side's callbacks, called only from socket-side entry points.
class SessionHandler {
 public:
  virtual void on_receive_ready(Session& session) = 0;
  virtual void on_writable(Session&) {}
  // Once, when the outcome is known: "" for a clean end (the stream or the decline response
  // was completed), else the disconnect reason.
  virtual void on_end(Session&, std::string_view /*reason*/) {}

 protected:
  ~SessionHandler() = default;
};

class Session {
 public:
  Session(const SessionConfig& config, SessionTransport& transport, SessionHandler& handler,
          OutputQueue& out, const RequestInfo& request);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // --- socket side -----------------------------------------------------------------------
  // A piece of the request body as the request parser decoded it (Content-Length or
  // chunked). Returns false when the app holds enough unread body: pause the parser until
  // the session calls set_reading(true).
  bool on_body(std::string_view chunk);
  void on_body_end();
  void on_input_eof();  // the client went away (an SSE client never half-closes)
  void on_transport_error(const char* reason = "write_error");
  void on_sent(size_t n);
  void on_timer(uint64_t now_ms);
  void on_scheduled();
  // Graceful stop: a started stream is ended (terminating chunk), then close;
  // sse.disconnect `server_shutdown`.
  void begin_shutdown();

  uint64_t next_deadline() const;
  bool wants_close() const { return wants_close_; }

  // --- app side ----------------------------------------------------------------------------
  bool receive(ReceiveEvent& out);
  // sse.start: writes the head at once (PAGI.md §3.5 headers, chunked on HTTP/1.1).
  pagi::SendResult start(int status, std::span<const Header> headers);
  pagi::SendResult send(const Event& event);           // sse.send
  pagi::SendResult comment(std::string_view comment);  // sse.comment
  // sse.keepalive: a `:comment` every interval (0 stops); written only once started.
  pagi::SendResult keepalive(uint64_t interval_ms, std::string_view comment);
  // sse.close: ends the stream now (the reason never reaches the wire). Idempotent.
  pagi::SendResult close();
  // sse.http.response.start / .body: decline with a normal response, then close.
  pagi::SendResult decline_start(int status, std::span<const Header> headers);
  pagi::SendResult decline_body(std::string_view body, bool more);
  // The app returned (failed: it died; `message` is logged).
  void finish(bool failed = false, std::string_view message = {});

  size_t buffered_amount() const { return dead_ ? 0 : out_.size(); }
  size_t high_watermark() const { return config_.high_watermark; }
  size_t low_watermark() const { return config_.low_watermark; }
  bool started() const { return state_ == State::kStreaming || state_ == State::kEnded; }
  int status() const { return status_; }
  // Bytes of the HTTP head it wrote (the stream's, the decline's or the 500's): what the
  // access log leaves out of the session's byte count, as nginx's $body_bytes_sent does.
  size_t head_bytes() const { return head_bytes_; }
  std::string_view error() const { return error_; }

 private:
  enum class State : uint8_t {
    kNew,        // nothing sent
    kStreaming,  // head written, events flow
    kDeclining,  // sse.http.response.start taken, body being buffered
    kEnded,      // stream or decline response complete (or abandoned): nothing more goes out
  };

  pagi::SendResult refuse_after(std::string_view type);
  pagi::SendResult check_send(std::string_view type);
  pagi::SendResult send_result();
  void chunk_begin(size_t size);
  void chunk_end();
  void end_stream();
  void write_decline();
  void write_500();
  void set_end(std::string_view reason);
  void disconnect(std::string_view reason);
  void notify();

  const SessionConfig& config_;
  SessionTransport& transport_;
  SessionHandler& handler_;
  OutputQueue& out_;
  RequestInfo request_;

  State state_ = State::kNew;
  int status_ = 0;
  size_t head_bytes_ = 0;
  bool app_closed_ = false;  // sse.close (or the app returned): later sends raise

  // Request body.
  std::string body_queued_;
  std::string body_delivered_;
  bool body_complete_ = false;
  bool body_event_done_ = false;
  bool body_paused_ = false;

  // Decline.
  int decline_status_ = 0;
  HeldHeaders decline_head_;  // the app's headers, checked, kept until the body is complete
  std::string decline_body_;

  // Outcome.
  bool end_known_ = false;
  bool end_reported_ = false;
  std::string end_reason_;
  bool disconnected_ = false;  // the client is gone (or we closed on it): sends are no-ops

  bool app_active_ = true;
  bool wants_receive_ = false;
  bool wants_writable_ = false;
  bool wants_close_ = false;
  bool dead_ = false;
  bool in_notify_ = false;
  bool renotify_ = false;

  // Timers (ms; 0 = not armed).
  uint64_t last_send_ = 0;
  uint64_t keepalive_interval_ = 0;
  uint64_t next_keepalive_ = 0;
  std::string keepalive_comment_;

  std::string error_;
};

}  // namespace pagi::http::sse
