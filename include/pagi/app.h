// The native application interface of pagi-server: what a C++ app (built in, or a user's
// shared object loaded with `native:/path/lib.so`) implements, and what the server gives it.
// It is the PAGI model (scope, receive, send) without Perl: see doc/native-apps.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace pagi {

inline constexpr int kAbiVersion = 1;

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
};

// What `receive` yields.
enum class EventType : uint8_t {
  kNone,
  kHttpRequest,     // body chunk: body, more
  kHttpDisconnect,  // the client went away, or the response is complete
};

struct Event {
  EventType type = EventType::kNone;
  std::string_view body;  // valid until the next receive() or until the app returns to the loop
  bool more = false;
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

  // Bytes accepted by send but not yet written to the socket.
  virtual size_t buffered_amount() const = 0;

  // Message of the last kInvalid result.
  virtual std::string_view error() const = 0;

  // The app is done with this scope (its PAGI future resolved). failed=true is an app error:
  // the server answers 500 if nothing was sent yet, else closes the connection. Until this
  // call the exchange stays valid even if the client is gone (sends then return kClosed and
  // receive yields kHttpDisconnect); after it the app must not touch the exchange again.
  virtual void finish(bool failed = false) = 0;

  // Free for the app: per-request state it wants back in the callbacks below.
  void* app_data = nullptr;

 protected:
  ~Exchange() = default;
};

// An application instance. The server creates one per core (no locking needed inside) and
// calls it only from that core's thread.
class App {
 public:
  virtual ~App() = default;
  // A new scope. The app may answer at once or keep the exchange and answer later.
  virtual void on_request(Exchange& ex) = 0;
  // A receive() that returned false now has an event.
  virtual void on_receive_ready(Exchange&) {}
  // Output fell below the low watermark after a kBlocked send.
  virtual void on_writable(Exchange&) {}
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
