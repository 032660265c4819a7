// HTTP/1.x response serialisation: status line, header checks (nothing with CR, LF or NUL
// reaches the wire), server-added headers, chunked framing, and the server's own error
// responses. Writes into an OutputQueue; knows nothing of sockets or apps.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer_pool.h"
#include "http/date_cache.h"
#include "pagi/app.h"

namespace pagi::http {

// Reason phrase for a status code ("Unknown" for codes without a registered phrase).
std::string_view reason_phrase(int status);

// What the app's own headers say about framing; filled by scan_response_headers and
// write_checked_head.
struct HeaderFacts {
  bool has_date = false;
  bool has_server = false;
  bool has_content_length = false;
  bool connection_close = false;  // the app asked to close: honoured
  uint64_t content_length = 0;
};

// Checks every header for the wire (name: an RFC 9110 token; value: no CR, LF or NUL) and
// collects framing facts. Returns nullptr if all are fine, else the message the send fails
// with.
const char* scan_response_headers(std::span<const Header> headers, HeaderFacts& facts);
// Same checks for one field (trailers).
const char* check_header(std::string_view name, std::string_view value);

// How the body of a response is framed on the wire.
enum class Framing : uint8_t {
  kNone,           // no body allowed (HEAD, 1xx, 204, 304): body bytes are dropped
  kContentLength,  // exactly N bytes follow
  kChunked,        // HTTP/1.1 chunked
  kUntilClose,     // HTTP/1.0 without length: the end of the body is the close
};

// Status line plus the app's headers (Transfer-Encoding dropped: the server owns framing),
// then Date and Server when the app set none. No framing headers, no final CRLF: the caller
// adds those once it knows the framing.
void write_head(OutputQueue& out, int minor_version, int status, std::span<const Header> headers,
                const HeaderFacts& facts, std::string_view date, std::string_view server);

// scan_response_headers and write_head (with the date of date.get()) in one pass over the
// headers, each checked, noted and copied in turn: the same bytes, the same facts and the
// same first error, on which nothing is written. The Date and Server lines are copied whole
// from the cache's per-second DateCache::lines. The HTTP/1 exchange's head.
const char* write_checked_head(OutputQueue& out, int minor_version, int status,
                               std::span<const Header> headers, HeaderFacts& facts,
                               DateCache& date, std::string_view server);

// "content-length: N\r\n", then `then` (the short rest of the head) in the same room.
void write_content_length(OutputQueue& out, uint64_t n, std::string_view then = {});

// One chunk: size line, data, CRLF. Empty data writes nothing (an empty chunk would end
// the body).
void write_chunk(OutputQueue& out, std::string_view data);

// The last chunk and optional trailer fields (already checked), then the final CRLF.
void write_last_chunk(OutputQueue& out, std::span<const Header> trailers);

// A complete server-generated response: text/plain `message`, Content-Length, Date, Server,
// `connection: close`. Always HTTP/1.1 in the status line, as the reference does. `extra`
// headers (checked by the caller) go before Date (the 426 of a bad WebSocket version).
void write_error_response(OutputQueue& out, int status, std::string_view message,
                          std::string_view date, std::string_view server,
                          std::span<const Header> extra = {});

// Response headers kept past the app's call (the views it passed do not last): the WebSocket
// denial and the SSE decline hold theirs until the last body. Packed as "name\0value\0"
// (a checked header has no NUL).
class HeldHeaders {
 public:
  void assign(std::span<const Header> headers);
  // Views into this object, valid until the next assign.
  std::vector<Header> views() const;
  void release() { std::string().swap(packed_); }  // frees the memory

 private:
  std::string packed_;
};

// The raw 503 sent at --max-connections (byte-for-byte the reference's).
std::string_view capacity_response();

}  // namespace pagi::http
