// The native application interface of pagi-server: what a C++ app (built in, or a user's
// shared object loaded with `native:/path/lib.so`) implements, and what the server gives it.
// It is the PAGI model (scope, receive, send) without Perl: see doc/native-apps.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pagi {

// 2: App::start/stop/on_end, Exchange::fail and the watermarks (vtable layout changed).
// 3: WebSocket and SSE scopes: Scope::subprotocols, the websocket/sse events and Exchange's
//    ws_* / sse_* sends, ExchangeEnd::code.
inline constexpr int kAbiVersion = 3;

enum class ScopeType : uint8_t { kHttp, kWebSocket, kSse };

// One header field. Request headers: lowercased name, raw value bytes, wire order
// (several Cookie lines merged into one `cookie` with "; "). Response headers: as the app gives them.
struct Header {
  std::string_view name;
  std::string_view value;
};

// A socket address as PAGI reports it: an IP literal and a port, or a unix socket path
// with port -1.
struct Endpoint {
  std::string_view host;
  int port = -1;
};

// The request's scope. Every view stays valid until the app calls Exchange::finish().
struct Scope {
  ScopeType type = ScopeType::kHttp;
  std::string_view http_version;  // "1.0", "1.1" or "2"
  std::string_view method;        // as sent (uppercase for standard methods)
  std::string_view scheme;        // "http" / "https"
  std::string_view path;          // percent-decoded raw_path (bytes; UTF-8 when path_is_utf8)
  bool path_is_utf8 = true;       // false: decoded bytes are not valid UTF-8, use them as bytes
  std::string_view raw_path;      // request-target before '?', undecoded
  std::string_view query_string;  // after the first '?', still percent-encoded; "" if none
  std::string_view root_path;     // mount point, "" here
  std::span<const Header> headers;
  bool is_unix = false;           // accepted on a unix socket: no client address
  // websocket: the Sec-WebSocket-Protocol offers, split on ',' and trimmed, in order.
  std::span<const std::string_view> subprotocols;
};

// What `receive` yields.
enum class EventType : uint8_t {
  kNone,
  kHttpRequest,          // http.request: body, more
  kHttpDisconnect,       // http.disconnect: the client went away, or the response is complete
  kWebSocketConnect,     // websocket.connect: always the first event of a websocket scope
  kWebSocketReceive,     // websocket.receive: a whole message in body; text=true for a text
                         // message (valid UTF-8), false for bytes
  kWebSocketDisconnect,  // websocket.disconnect: code, reason
  kSseRequest,           // sse.request: the request body of an sse scope: body, more
  kSseDisconnect,        // sse.disconnect: reason
};

struct Event {
  EventType type = EventType::kNone;
  std::string_view body;  // valid until the next receive() or until the app returns to the loop
  bool more = false;
  bool text = false;        // kWebSocketReceive
  int code = 0;             // kWebSocketDisconnect: the close code (1005, 1006, ...)
  std::string_view reason;  // kWebSocketDisconnect (peer's reason text or a PAGI token),
                            // kSseDisconnect (a PAGI token); same lifetime as body
};

// One sse.send (PAGI.md §3.5): a `data:` line per line of data, optional event/id/retry.
struct SseEvent {
  std::string_view data;
  std::string_view event;  // "" for none; CR or LF makes the send kInvalid
  std::string_view id;     // "" for none; CR or LF makes the send kInvalid
  int64_t retry = -1;      // milliseconds; < 0 for none
};

// Outcome of a send. kOk and kBlocked both mean the event was taken; kBlocked also means the
// connection's output is above the high watermark, so the app should wait for
// App::on_writable before sending more. kClosed: the client is gone, the event was dropped
// (not an error). kInvalid: the event broke the protocol and was refused; see error().
enum class SendResult : uint8_t { kOk, kBlocked, kClosed, kInvalid };

// One request (one scope) as the app sees it. Implemented by the server's protocol code;
// the app never owns it. All calls are made on the core that called App::on_request.
class Exchange {
 public:
  virtual const Scope& scope() const = 0;

  // Peer and local address. client() returns false on unix sockets (PAGI omits `client`).
  virtual bool client(Endpoint& out) = 0;
  virtual Endpoint server() = 0;

  // Takes the next inbound event if one is ready. Returns false when none is: the server
  // calls App::on_receive_ready once one is, and the app calls receive() again.
  virtual bool receive(Event& out) = 0;

  // http.response.start. Headers are validated (no CR, LF or NUL) and copied.
  virtual SendResult send_start(int status, std::span<const Header> headers,
                                bool trailers = false) = 0;
  // http.response.body with bytes; more=false completes the response (unless trailers follow).
  virtual SendResult send_body(std::string_view body, bool more) = 0;
  // http.response.trailers; completes the response.
  virtual SendResult send_trailers(std::span<const Header> trailers) = 0;
  // Before the first body: the whole body will be `length` bytes sent in several send_body
  // calls (a file), so the head gets a Content-Length instead of chunked framing. Ignored
  // once a body was sent, when the app set Content-Length, or with trailers.
  virtual void announce_body_length(uint64_t length) = 0;

  // Bytes accepted by send but not yet written to the socket.
  virtual size_t buffered_amount() const = 0;

  // A response head was taken (send_start succeeded, or the server answered for the app), and
  // the response's last byte was (final body, trailers).
  virtual bool response_started() const = 0;
  virtual bool response_complete() const = 0;

  // The output thresholds: a send at or above `high` returns kBlocked; App::on_writable comes
  // once the output falls below `low` (PAGI.md §2.8).
  virtual size_t high_watermark() const = 0;
  virtual size_t low_watermark() const = 0;

  // Message of the last kInvalid result.
  virtual std::string_view error() const = 0;

  // The app is done with this scope (its PAGI future resolved). failed=true is an app error:
  // the server answers 500 if nothing was sent yet, else closes the connection. Until this
  // call the exchange stays valid even if the client is gone (sends then return kClosed and
  // receive yields kHttpDisconnect); after it the app must not touch the exchange again
  // (except app_data in App::on_end).
  virtual void finish(bool failed = false) = 0;
  // finish(true) with the app's error message, logged as `PAGI application error: MESSAGE`.
  virtual void fail(std::string_view message) = 0;

  // --- websocket scopes (PAGI.md §3.4) ---------------------------------------------------
  // receive() yields kWebSocketConnect first, then kWebSocketReceive messages and one
  // kWebSocketDisconnect. Before ws_accept, send_start/send_body are the denial response
  // (websocket.http.response.start/body: buffered until the last body, then sent and the
  // connection closed). Called on another scope type, these return kInvalid.
  //
  // websocket.accept: writes the 101. `subprotocol` "" for none, else it must match
  // ^[\w\-.]+$; `headers` are extra handshake headers (checked like response headers).
  virtual SendResult ws_accept(std::string_view subprotocol, std::span<const Header> headers) = 0;
  // websocket.send: one message, text (UTF-8 checked) or bytes. Before accept: kInvalid.
  virtual SendResult ws_send(std::string_view data, bool text) = 0;
  // websocket.close: before accept the handshake is refused with 403; after it a Close frame
  // with code (1000-1003, 1007-1011, 3000-4999) and a UTF-8 reason (cut to 123 bytes).
  virtual SendResult ws_close(int code = 1000, std::string_view reason = {}) = 0;
  // websocket.keepalive: a ping every interval (0 stops); no pong within timeout (0: no
  // check) closes with 1006 keepalive_timeout. The last call wins.
  virtual SendResult ws_keepalive(uint64_t interval_ms, uint64_t timeout_ms) = 0;

  // --- sse scopes (PAGI.md §3.5) ---------------------------------------------------------
  // receive() yields kSseRequest body pieces (one {"", more=false} for a bodiless request),
  // then kSseDisconnect. Before sse_start, send_start/send_body are the decline response
  // (sse.http.response.start/body), after which the connection closes; first send wins.
  //
  // sse.start: writes the head at once (text/event-stream, no-cache, chunked on HTTP/1.1).
  virtual SendResult sse_start(int status, std::span<const Header> headers) = 0;
  virtual SendResult sse_send(const SseEvent& event) = 0;
  virtual SendResult sse_comment(std::string_view comment) = 0;
  // sse.keepalive: a `:comment` every interval (0 stops); allowed before sse_start.
  virtual SendResult sse_keepalive(uint64_t interval_ms, std::string_view comment) = 0;
  // sse.close: ends the stream now; any later send is kInvalid. Idempotent.
  virtual SendResult sse_close() = 0;

  // --- file bodies (http scopes; last in the vtable so ABI 3 apps keep working) -----------
  // http.response.body from a file: `length` bytes of `fd` from `offset` (fewer if the file
  // is shorter: the connection then closes, as the body is short of its Content-Length).
  // Instead of the first body, after send_start; completes the response. The server dup()s
  // the fd, so the app may close its own at once, and sends the range without copying it
  // (splice). The head gets Content-Length: length unless the app set one. kInvalid: not an
  // http scope, a body was already sent, trailers were announced, or the fd cannot be
  // dup()ed; the app may then send the bytes with send_body instead. response_complete()
  // turns true once the range is on the socket.
  virtual SendResult send_file(int fd, uint64_t offset, uint64_t length) = 0;

  // Free for the app: per-request state it wants back in the callbacks below. Untouched by
  // the server from on_request until App::on_end has returned.
  void* app_data = nullptr;

 protected:
  ~Exchange() = default;
};

// How an exchange ended (App::on_end).
struct ExchangeEnd {
  // "" when the app finished cleanly and its whole response was queued for the client; else a
  // PAGI disconnect reason (PAGI.md §2.7): client_closed, write_error, server_shutdown,
  // server_error (the app failed or left its response unfinished), body_too_large,
  // protocol_error.
  //
  // websocket: the reason the last kWebSocketDisconnect carried (the peer's reason text or a
  // token), with its code; sse: "" for a clean end (the stream or the decline response was
  // completed), else the sse.disconnect reason.
  std::string_view reason;
  bool response_started = false;   // a response head was sent (the app's, or the server's 500)
  bool response_complete = false;  // the final body or trailers were sent (or a whole 500)
  int code = 0;                    // websocket: the disconnect's close code; else 0
};

// Reports the outcome of App::start / App::stop. Call done() once, on the core's thread,
// either inside start()/stop() or later from a callback of the core's loop.
class LifecycleDone {
 public:
  // ok=false: start-up failed (the server does not serve; `message` says why), or stop
  // failed (logged, the server stops anyway).
  virtual void done(bool ok, std::string_view message = {}) = 0;

 protected:
  ~LifecycleDone() = default;
};

// An application instance. The server creates one per core (no locking needed inside) and
// calls it only from that core's thread.
class App {
 public:
  virtual ~App() = default;
  // Start-up (PAGI lifespan), before the core accepts any connection: the core serves once
  // `done` reports ok, and the whole server stops if it reports a failure. The core's loop
  // runs meanwhile (timers and I/O of the app work). Default: ready at once.
  virtual void start(LifecycleDone& done) { done.done(true); }
  // Graceful stop, after the core's connections are closed; bounded by the shutdown timeout
  // (after it the core stops without waiting). Default: done at once.
  virtual void stop(LifecycleDone& done) { done.done(true); }
  // A new scope. The app may answer at once or keep the exchange and answer later.
  virtual void on_request(Exchange& ex) = 0;
  // A receive() that returned false now has an event.
  virtual void on_receive_ready(Exchange&) {}
  // Output fell below the low watermark after a kBlocked send.
  virtual void on_writable(Exchange&) {}
  // Exactly once per exchange, when its outcome is known: at a disconnect (possibly while the
  // app still holds the exchange; receive() then yields kHttpDisconnect) or once the app has
  // finished and the response is complete (then after finish()). Only app_data may be used
  // after finish(): this is where the app lets go of it.
  virtual void on_end(Exchange&, const ExchangeEnd&) {}
};

// What a shared-object app gets when it is created.
struct AppContext {
  int abi_version;        // kAbiVersion of the server
  int core;               // 0-based core index
  int cores;              // number of cores
  const char* argument;   // text after the '?' in `native:/path/lib.so?ARG`, or ""
};

}  // namespace pagi

// A shared-object app exports these two C symbols:
//   extern "C" int pagi_app_abi_version(void) { return pagi::kAbiVersion; }
//   extern "C" pagi::App* pagi_app_create(const pagi::AppContext* ctx);
// pagi_app_create is called once per core, on that core's thread; the server deletes the
// returned object (with `delete`) when the core stops.
extern "C" {
using pagi_app_abi_version_fn = int (*)();
using pagi_app_create_fn = pagi::App* (*)(const pagi::AppContext*);
}
