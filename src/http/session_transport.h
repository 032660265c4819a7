// What a WebSocket or SSE session needs from the connection that owns its socket: the shape
// of http::Transport (h1_connection.h) plus the loop's clock, so both sessions stay
// socket-free and unit tests drive them with a fake.
#pragma once

#include <cstdint>
#include <limits>

namespace pagi::http {

// A deadline that is not armed.
inline constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();

class SessionTransport {
 public:
  // The session's output queue has bytes to send, or the session wants to close.
  virtual void want_flush() = 0;
  // Stop/restart reading the socket (input backpressure). For SSE: stop/restart feeding the
  // request body (the parser pauses).
  virtual void set_reading(bool on) = 0;
  // Call the session's on_scheduled() once at the end of this loop turn. App-side calls only
  // change state and ask for this, so the app is never re-entered; the connection also
  // re-reads next_deadline() then.
  virtual void schedule() = 0;
  // Monotonic milliseconds (the loop's cached time: cheap to ask on every read).
  virtual uint64_t now_ms() = 0;

 protected:
  ~SessionTransport() = default;
};

}  // namespace pagi::http
