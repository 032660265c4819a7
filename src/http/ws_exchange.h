// The WebSocket side of an HTTP/1 connection's exchange (PAGI.md §3.4, §4.3): from the upgrade
// request through websocket.connect and the app's answer (accept, close → 403, the denial
// response, or a 500 for an app that gives none) to the ws::Session that owns the connection
// after the 101. H1Connection stays the Exchange the app holds and forwards to this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/h1_connection.h"
#include "http/response_writer.h"
#include "http/ws_session.h"

namespace pagi::http {

class WsExchange final : private ws::SessionHandler, private SessionTransport {
 public:
  // `exchange` is what the app sees (the H1Connection); `head` and `key` (its
  // Sec-WebSocket-Key) outlive this object.
  WsExchange(H1Context& ctx, Transport& transport, Exchange& exchange, OutputQueue& out,
             const RequestHead& head, std::string_view key);
  WsExchange(const WsExchange&) = delete;
  WsExchange& operator=(const WsExchange&) = delete;

  std::span<const std::string_view> subprotocols() const { return subprotocols_; }

  // --- socket side (the connection's entry points, in H1Connection's words) ----------------
  void on_input(std::span<char> bytes);        // writable: the session unmasks in place
  void on_input_copy(std::string_view bytes);  // read-only bytes: copied first
  void on_input_eof();
  void on_transport_error(const char* reason);
  void on_sent(size_t n);
  void on_timer(uint64_t now_ms);
  void on_scheduled();
  void begin_shutdown();
  uint64_t next_deadline() const;
  bool wants_close() const;

  // --- app side -------------------------------------------------------------------------------
  bool receive(Event& out);
  SendResult deny_start(int status, std::span<const Header> headers);
  SendResult deny_body(std::string_view body, bool more);
  SendResult accept(std::string_view subprotocol, std::span<const Header> headers);
  SendResult send(std::string_view data, bool text);
  SendResult close(int code, std::string_view reason);
  SendResult keepalive(uint64_t interval_ms, uint64_t timeout_ms);
  void finish(bool failed, std::string_view message);

  size_t buffered_amount() const;
  std::string_view error() const { return error_; }
  // The HTTP status the client got: 101 once accepted, else the denial's, 403 or 500; 0: none.
  int status() const { return status_; }
  // Bytes of the HTTP head it wrote (the 101's, the denial's or the refusal's): what the
  // access log leaves out of the session's byte count, as nginx's $body_bytes_sent does.
  size_t head_bytes() const { return head_bytes_; }
  bool answered() const { return state_ == State::kOpen || state_ == State::kAnswered; }

 private:
  enum class State : uint8_t {
    kConnecting,  // the app has not answered the handshake
    kDenying,     // websocket.http.response.start taken, body being buffered
    kOpen,        // 101 written: session_ owns the connection
    kAnswered,    // an HTTP response (denial, 403, 500) was written: close once sent
    kGone,        // the client (or the server) ended the connection before an answer
  };

  // ws::SessionHandler
  void on_receive_ready(ws::Session&) override;
  void on_writable(ws::Session&) override;
  void on_end(ws::Session&, uint16_t code, std::string_view reason) override;
  // SessionTransport
  void want_flush() override { transport_.want_flush(); }
  void set_reading(bool on) override { transport_.set_reading(on); }
  void schedule() override { transport_.schedule(); }
  uint64_t now_ms() override { return transport_.now_ms(); }

  void feed_buffered();
  void answer(int status, std::string_view message, const char* reason);
  void write_denial();
  void gone(const char* reason);
  void notify();

  H1Context& ctx_;
  Transport& transport_;
  Exchange& exchange_;
  OutputQueue& out_;
  const RequestHead& head_;
  std::string_view key_;
  std::vector<std::string_view> subprotocols_;
  std::optional<ws::Session> session_;

  State state_ = State::kConnecting;
  int status_ = 0;
  size_t head_bytes_ = 0;
  bool connect_delivered_ = false;
  bool app_active_ = true;
  bool wants_receive_ = false;
  bool reading_paused_ = false;

  // Input that came before the session could take it (frames sent right behind the
  // handshake): fed to the session at the first turn after the 101.
  std::string in_;
  std::string feeding_;

  // websocket.keepalive before accept: applied to the session when it starts.
  bool keepalive_set_ = false;
  uint64_t keepalive_interval_ = 0;
  uint64_t keepalive_timeout_ = 0;

  // Denial response.
  int deny_status_ = 0;
  HeldHeaders deny_head_;
  std::string deny_body_;

  // Outcome before the session exists (the session reports its own).
  bool end_known_ = false;
  bool end_reported_ = false;
  const char* end_reason_ = "";

  std::string_view error_;
};

}  // namespace pagi::http
