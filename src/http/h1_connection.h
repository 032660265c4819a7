// One HTTP/1.x connection as a protocol state machine: bytes in (on_input), bytes out (the
// output queue), and the PAGI exchange the app talks to. No sockets: the server's
// Connection moves the bytes, unit tests feed them directly.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer_pool.h"
#include "http/access_sink.h"
#include "http/date_cache.h"
#include "http/proxy_headers.h"
#include "http/request_parser.h"
#include "http/request_stats.h"
#include "http/response_writer.h"
#include "http/sse_session.h"
#include "http/ws_session.h"
#include "pagi/app.h"

namespace pagi::http {

// --max-requests: told when a request head arrives past the core's limit, before the request
// is given to H1Context::app (which it may replace for this and later requests).
class RequestLimit {
 public:
  virtual void limit_reached() = 0;

 protected:
  ~RequestLimit() = default;
};

// Per-core things every connection of the core shares (read-mostly, never across cores).
struct H1Context {
  App* app = nullptr;
  Limits limits;
  size_t high_watermark = 65536;
  size_t low_watermark = 16384;
  std::string server_header;  // value of the Server header added when the app sets none
  std::string_view scheme = "http";
  BlockPool* blocks = nullptr;
  DateCache* date = nullptr;
  std::vector<std::unique_ptr<RequestHead>>* head_pool = nullptr;
  AccessSink* access_log = nullptr;  // null: no access log (nothing is measured either)
  RequestStats* stats = nullptr;     // null: no metrics (nothing is measured for them)
  const ProxyTrust* proxy_trust = nullptr;  // --proxy-headers: whose forwarding is believed
  // WebSocket and SSE sessions (the SSE config's date/server_header are set by the owner).
  ws::SessionConfig ws;
  sse::SessionConfig sse;
  bool ws_compression = true;  // negotiate permessage-deflate when the client offers it
  // Counters the core reports (plain integers: one core writes them).
  uint64_t requests = 0;
  uint64_t app_errors = 0;
  uint64_t bad_requests = 0;
  // --max-requests: `limit` is told once `requests` goes past `recycle_after`.
  uint64_t recycle_after = UINT64_MAX;
  RequestLimit* limit = nullptr;
};

// What the connection needs from whoever owns the socket.
class Transport {
 public:
  // The output queue has sendable bytes.
  virtual void want_flush() = 0;
  // Stop/restart reading the socket (input backpressure).
  virtual void set_reading(bool on) = 0;
  // Peer and local addresses, looked up lazily (false: no client address, a unix socket).
  virtual bool client_endpoint(Endpoint& out) = 0;
  virtual Endpoint server_endpoint() = 0;
  virtual bool is_unix() const = 0;
  // Call H1Connection::on_scheduled() once at the end of this loop turn. Calls the app makes
  // into the exchange only change state and ask for this, so the app is never re-entered.
  virtual void schedule() = 0;
  // Monotonic milliseconds for the WebSocket/SSE timers (the loop's cached clock in the
  // server; the real clock by default).
  virtual uint64_t now_ms();

 protected:
  ~Transport() = default;
};

class WsExchange;
class SseExchange;

class H1Connection final : public Exchange, private ParserHandler {
 public:
  H1Connection(H1Context& ctx, Transport& transport);
  ~H1Connection();
  H1Connection(const H1Connection&) = delete;
  H1Connection& operator=(const H1Connection&) = delete;

  // --- socket side -----------------------------------------------------------------------
  void on_input(std::string_view bytes);
  // Same, with bytes the connection may modify (a WebSocket session unmasks them in place).
  void on_input_writable(std::span<char> bytes);
  void on_input_eof();       // the peer will send nothing more (FIN)
  // The socket is dead: nothing more goes out either. `reason` is what an exchange in progress
  // reports to the app (a PAGI disconnect reason, a string literal).
  void on_transport_error(const char* reason = "client_closed");
  // The transport wrote `n` bytes from the front of output().
  void on_sent(size_t n);
  // The turn-end callback asked for with Transport::schedule().
  void on_scheduled();
  // WebSocket and SSE timers: the earliest time on_timer has work (kNoDeadline: none).
  uint64_t next_deadline() const;
  void on_timer(uint64_t now_ms);
  // The connection is a WebSocket or SSE session: the HTTP idle and head timers do not apply.
  bool streaming() const { return ws_ != nullptr || sse_ != nullptr; }

  // A file body (Exchange::send_file) goes after every byte queued before it, straight from
  // the file to the socket (the server splices it: src/server/connection_file.cc). file_send()
  // is non-null once those bytes are sent and until the range is; the owner reports what the
  // kernel moved into its pipe (on_file_read) and onto the socket (on_file_sent), or that the
  // file could not be read (on_file_error: the connection closes, as for any broken body).
  struct FileSend {
    int fd = -1;           // ours (a dup of the app's), closed once the range is sent
    uint64_t offset = 0;   // next byte to read from the file
    uint64_t to_read = 0;  // not yet read from the file
    uint64_t to_send = 0;  // not yet written to the socket (read ones may wait in a pipe)
  };
  const FileSend* file_send() const {
    return file_.fd >= 0 && out_.empty() && !client_gone_ ? &file_ : nullptr;
  }
  bool file_pending() const { return file_.fd >= 0; }
  void on_file_read(size_t n);
  void on_file_sent(size_t n);
  void on_file_error(int err);

  OutputQueue& output() { return out_; }
  // Bytes that may be written now (a response head still being built is held back).
  size_t sendable() const { return out_.size() - held_; }
  // Close once the output is written (error, Connection: close, shutdown).
  bool wants_close() const {
    return close_after_flush_ || (streaming() && stream_wants_close());
  }
  // The connection closes once its output is sent: input from now on is dropped unread.
  bool closing_after_flush() const { return close_after_flush_; }
  // Closing, and the client asked for it (`Connection: close`, HTTP/1.0 without keep-alive)
  // and sent nothing past that request, which was read whole: it will send nothing more
  // (RFC 9112 §9.6), so no late input can turn the close into a reset that loses our
  // response, and the socket is closed without the lingering read (nginx decides the same).
  bool close_is_agreed() const {
    return close_after_flush_ && client_closes_ && !input_dropped_ && !parse_error_ &&
           !parser_.in_message() && pending_bytes() == 0 && incoming_.empty() && !streaming();
  }
  // No request in progress and no unparsed input: the idle timer applies.
  bool idle() const {
    return !exchange_open_ && !parser_.in_message() && pending_bytes() == 0;
  }
  // A request head has begun but is not complete (header-read timeout applies).
  bool reading_head() const { return parser_.in_head(); }
  // The app still holds the exchange: the connection object must stay alive.
  bool app_active() const { return app_active_; }
  // Between two keep-alive requests with nothing held: no exchange, no partial request, no
  // input or output, not upgraded, not closing. Its state is then exactly what the next
  // request on any connection starts from, so the server parks it in a per-core pool while
  // the socket is idle and attach()es it to whichever connection reads first.
  // Inline, most often false first (output still queued): the server asks after every event.
  bool parkable() const {
    return out_.empty() && !app_active_ && idle() && held_ == 0 && head_ == nullptr &&
           incoming_.empty() && body_queued_.empty() && pause_ == Pause::kNone && reading_ &&
           !parser_.wants_feed() && !streaming() && !sse_request_done_ && !client_gone_ &&
           !input_eof_ && !close_after_flush_ && !shutting_down_ && !parse_error_ &&
           !in_pump_ && !repump_ && !wants_receive_ && !wants_writable_ && end_reported_;
  }
  // Rebinds a parked connection state to another socket owner.
  void attach(Transport& transport) { transport_ = &transport; }
  // Before parking: buffers a large request grew (a big upload, a long pipeline) are given
  // back, so parked states stay small however big the burst before was.
  void release_spare_capacity();
  // Graceful stop: finish the request in progress (answering with Connection: close), then
  // close; an idle connection closes at once.
  void begin_shutdown();
  // Answer the raw 503 at capacity and close.
  void reject_at_capacity();

  // --- Exchange (the app side) -----------------------------------------------------------
  const Scope& scope() const override { return scope_; }
  bool client(Endpoint& out) override;
  Endpoint server() override { return transport_->server_endpoint(); }
  // On websocket and sse scopes these go to ws_ / sse_ (h1_stream.cc).
  bool receive(Event& out) override;
  SendResult send_start(int status, std::span<const Header> headers, bool trailers) override;
  SendResult send_body(std::string_view body, bool more) override;
  SendResult send_trailers(std::span<const Header> trailers) override;
  SendResult send_file(int fd, uint64_t offset, uint64_t length) override;  // h1_file.cc
  void announce_body_length(uint64_t length) override { announced_length_ = int64_t(length); }
  size_t buffered_amount() const override;
  bool response_started() const override;
  bool response_complete() const override;
  size_t high_watermark() const override { return ctx_.high_watermark; }
  size_t low_watermark() const override { return ctx_.low_watermark; }
  std::string_view error() const override { return error_; }
  void finish(bool failed) override;
  void fail(std::string_view message) override;
  SendResult ws_accept(std::string_view subprotocol, std::span<const Header> headers) override;
  SendResult ws_send(std::string_view data, bool text) override;
  SendResult ws_close(int code, std::string_view reason) override;
  SendResult ws_keepalive(uint64_t interval_ms, uint64_t timeout_ms) override;
  SendResult sse_start(int status, std::span<const Header> headers) override;
  SendResult sse_send(const SseEvent& event) override;
  SendResult sse_comment(std::string_view comment) override;
  SendResult sse_keepalive(uint64_t interval_ms, std::string_view comment) override;
  SendResult sse_close() override;

 private:
  enum class Response : uint8_t { kNone, kHeadOpen, kBody, kComplete };

  // ParserHandler
  Action on_head(RequestHead& head) override;
  Action on_body(std::string_view chunk) override;
  Action on_message_complete() override;

  enum class Pause : uint8_t { kNone, kBody, kMessage };

  SendResult wrong_scope(const char* message) {
    error_ = message;
    return SendResult::kInvalid;
  }
  // WebSocket and SSE (h1_stream.cc).
  Action start_websocket(RequestHead& head);
  void start_sse(RequestHead& head);
  void start_stream(RequestHead& head, ScopeType type);
  // A session's send result, with its error() for kInvalid. The error is read here, after
  // the call that sets it: as a second argument it could be read before (the order of
  // argument evaluation is unspecified), which gave apps an empty or stale message.
  template <class Source>
  SendResult stream_result(SendResult r, const Source& source) {
    if (r == SendResult::kInvalid) error_ = source.error();
    return r;
  }
  void log_stream();
  bool stream_wants_close() const;  // a WebSocket or SSE session's (h1_stream.cc)

  void pump();
  void request_pump();
  void parse_available();
  void start_exchange(RequestHead& head);
  bool exchange_done() const;
  void end_exchange();
  void close_head(bool final_body, size_t body_len);
  void write_body_bytes(std::string_view body);
  void complete_response(std::span<const Header> trailers);
  void backstop_500();
  void bad_request(int status, std::string_view message, std::span<const Header> extra = {});
  bool receive_ready() const;
  void output_grew();
  void insert_before_held(std::string_view bytes);
  SendResult send_result();
  void release_head();
  void finish_impl(bool failed, std::string_view message);
  size_t pending_bytes() const { return pending_in_.size() - pending_off_; }
  void update_reading();
  void disconnect(const char* reason);
  void report_end();
  void mark_complete();
  void log_access();
  void write_access_line(std::string_view method, int status, uint64_t bytes, uint64_t end_ns);
  bool measuring() const { return ctx_.access_log != nullptr || ctx_.stats != nullptr; }
  void count_exchange();
  void fill_scope(RequestHead& head, ScopeType type);
  void close_file();

  H1Context& ctx_;
  Transport* transport_;
  RequestParser parser_;
  OutputQueue out_;
  RequestHead* head_ = nullptr;  // borrowed from ctx_.head_pool while needed
  Scope scope_;

  std::string pending_in_;      // input not parsed yet (parser paused, or bytes held back)
  size_t pending_off_ = 0;      // parsed prefix of pending_in_
  std::string_view incoming_;   // the current on_input bytes, parsed in place when possible
  std::string body_queued_;     // body bytes the app has not received yet
  std::string body_delivered_;  // backing store of the last http.request event handed out

  // Exchange state.
  bool exchange_open_ = false;     // from on_head until the exchange is wound up
  bool app_active_ = false;
  bool app_finished_ = false;
  bool message_complete_ = false;  // the request's body is all in
  bool body_event_done_ = false;   // the final http.request (more=0) was handed out
  bool continue_sent_ = false;
  bool wants_receive_ = false;     // receive() returned false: on_receive_ready owed
  bool wants_writable_ = false;    // a send returned kBlocked: on_writable owed
  bool keep_alive_ = true;
  bool is_head_request_ = false;
  Response response_ = Response::kNone;
  Framing framing_ = Framing::kNone;
  bool trailers_expected_ = false;
  bool body_finished_ = false;     // final body sent, trailers still to come
  int status_ = 0;
  HeaderFacts facts_;
  uint64_t cl_remaining_ = 0;      // for Framing::kContentLength
  int64_t announced_length_ = -1;  // announce_body_length, -1: none
  size_t held_ = 0;                // bytes of an open head at the end of out_
  FileSend file_;                  // a file body after out_ (fd -1: none)
  std::string_view error_;
  // The exchange's outcome for App::on_end: reported once, from the pump (never from inside
  // a call the app makes), or when the exchange is wound up at the latest.
  bool end_reported_ = true;
  bool resp_started_ = false;
  bool resp_complete_ = false;
  const char* end_reason_ = nullptr;  // a disconnect reason; null: none (yet)
  // For the access log and metrics, measured only when there is one of them.
  uint64_t body_bytes_ = 0;   // the app's body bytes, framing excluded
  uint64_t head_ns_ = 0;      // monotonic: the request head was complete
  uint64_t complete_ns_ = 0;  // monotonic: the response was complete; 0: not (yet)
  uint64_t app_done_ns_ = 0;  // monotonic: the app finished (for metrics)
  int64_t arrived_ = 0;       // unix seconds, for %t
  uint64_t stream_sent_ = 0;    // a WS/SSE session's bytes sent, head included
  uint64_t stream_before_ = 0;  // bytes queued before the session began (earlier responses)
  // The client a trusted proxy named (a view into the request's headers); empty: the peer.
  std::string_view forwarded_client_;
  int forwarded_port_ = 0;

  // Connection state.
  bool client_gone_ = false;  // transport error: nothing more can be written
  bool input_eof_ = false;
  bool close_after_flush_ = false;
  bool client_closes_ = false;  // this request said it is the connection's last
  bool input_dropped_ = false;  // bytes came after the close was decided (never parsed)
  bool shutting_down_ = false;
  bool reading_ = true;
  bool in_pump_ = false;
  bool repump_ = false;
  Pause pause_ = Pause::kNone;
  bool parse_error_ = false;

  // A websocket or sse scope: the connection is theirs until it closes (allocated at the
  // upgrade; plain HTTP never touches these).
  std::unique_ptr<WsExchange> ws_;
  std::unique_ptr<SseExchange> sse_;
  bool sse_request_done_ = false;  // the SSE request is all in: later input is dropped
};

}  // namespace pagi::http
