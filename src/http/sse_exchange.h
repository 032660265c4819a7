// The SSE side of an HTTP/1 connection's exchange (PAGI.md §3.5): the sse::Session of a
// request whose Accept names text/event-stream, fed by the connection's request parser.
// H1Connection stays the Exchange the app holds and forwards to this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/h1_connection.h"
#include "http/sse_session.h"

namespace pagi::http {

class SseExchange final : private sse::SessionHandler, private SessionTransport {
 public:
  // `exchange` is what the app sees (the H1Connection).
  SseExchange(H1Context& ctx, Transport& transport, Exchange& exchange, OutputQueue& out,
              const RequestHead& head);
  SseExchange(const SseExchange&) = delete;
  SseExchange& operator=(const SseExchange&) = delete;

  sse::Session& session() { return session_; }
  const sse::Session& session() const { return session_; }

  // --- socket side ---------------------------------------------------------------------------
  // A piece of the request body; false: pause the parser until body_wanted() again.
  bool on_body(std::string_view chunk);
  void on_body_end() { session_.on_body_end(); }
  bool body_wanted() const { return feeding_; }
  void on_input_eof() { session_.on_input_eof(); }
  void on_transport_error(const char* reason) { session_.on_transport_error(reason); }
  void on_sent(size_t n) { session_.on_sent(n); }
  void on_timer(uint64_t now) { session_.on_timer(now); }
  void on_scheduled() { session_.on_scheduled(); }
  void begin_shutdown() { session_.begin_shutdown(); }
  uint64_t next_deadline() const { return session_.next_deadline(); }
  bool wants_close() const { return session_.wants_close(); }

  // --- app side ------------------------------------------------------------------------------
  bool receive(Event& out);
  void finish(bool failed, std::string_view message);

 private:
  // sse::SessionHandler
  void on_receive_ready(sse::Session&) override;
  void on_writable(sse::Session&) override;
  void on_end(sse::Session&, std::string_view reason) override;
  // SessionTransport
  void want_flush() override { transport_.want_flush(); }
  void set_reading(bool on) override;
  void schedule() override { transport_.schedule(); }
  uint64_t now_ms() override { return transport_.now_ms(); }

  H1Context& ctx_;
  Transport& transport_;
  Exchange& exchange_;
  bool app_active_ = true;
  bool feeding_ = true;
  sse::Session session_;  // last: its constructor asks now_ms()
};

}  // namespace pagi::http
