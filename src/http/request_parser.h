// HTTP/1.x request parser: llhttp plus the limits and anti-smuggling rules of PAGI.md §6.
// Fed bytes, it fills a RequestHead and calls a handler; it never touches sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <llhttp.h>

#include "pagi/app.h"

namespace pagi::http {

struct Limits {
  size_t max_request_line = 8192;   // method SP target SP version, without CRLF → 414
  size_t max_header_size = 8192;    // whole head incl. request line, up to CRLFCRLF → 431
  size_t max_header_count = 100;    // → 431
  uint64_t max_body_size = 10'000'000;  // CL or cumulative chunked body; 0 = unlimited → 413
  uint64_t max_chunk_size = 10 * 1024 * 1024;  // one chunk → 413 "Chunk Too Large"
};

// One request head. Owns its bytes; the views it hands out stay valid until clear().
// The connection borrows one from a per-core pool while a request is in progress, so the
// steady state allocates nothing (clear() keeps capacity).
class RequestHead {
 public:
  void clear();
  // As the head goes back to the pool (the parser clears it when it is next used): storage a
  // large head grew is given back, so a burst of big requests does not stay pinned there.
  void trim();

  // Inline: the scope is built from these on every request.
  std::string_view method() const { return view(method_off_, method_len_); }
  std::string_view target() const { return view(target_off_, target_len_); }  // raw
  // The target before the first '?'.
  std::string_view raw_path() const { return view(raw_path_off_, raw_path_len_); }
  // After the first '?', "" if none.
  std::string_view query_string() const { return view(query_off_, query_len_); }
  std::string_view path() const { return view(path_off_, path_len_); }  // decoded raw_path
  bool path_is_utf8() const { return path_is_utf8_; }
  std::string_view http_version() const { return version_minor_ == 0 ? "1.0" : "1.1"; }
  int version_minor() const { return version_minor_; }
  // Lowercased names, raw values (surrounding OWS trimmed), wire order. Several Cookie
  // fields are merged into the first one's position joined with "; ". Valid after on_head.
  std::span<const Header> headers() const { return views_; }
  // First value of a header by lowercase name, or "" if absent.
  std::string_view header(std::string_view lower_name) const;

  bool keep_alive() const { return keep_alive_; }    // HTTP/1.1 unless `Connection: close`;
                                                     // HTTP/1.0 only with `keep-alive`
  bool chunked() const { return chunked_; }
  bool has_content_length() const { return content_length_ >= 0; }
  uint64_t content_length() const { return has_content_length() ? uint64_t(content_length_) : 0; }
  bool has_body() const { return chunked_ || content_length_ > 0; }
  bool expect_continue() const { return expect_continue_; }  // `Expect: 100-continue` (1.1)
  bool is_head() const { return method() == "HEAD"; }
  // `Upgrade: websocket` + `Connection: ...upgrade...` + `Sec-WebSocket-Key` present.
  bool websocket_upgrade() const { return websocket_upgrade_; }
  // An Accept value contains `text/event-stream` (PAGI.md §2.4: an sse scope unless upgrading).
  bool accepts_event_stream() const { return event_stream_; }

 private:
  friend class RequestParser;
  // Offsets set by the parser always lie inside bytes_ (query_off_ may be its end).
  std::string_view view(uint32_t off, uint32_t len) const {
    return std::string_view(bytes_.data() + off, len);
  }
  struct Field {  // offsets into bytes_ (the raw head: request line, fields, CRLF CRLF)
    uint32_t name_off, name_len, value_off, value_len;
  };
  std::string bytes_;
  std::vector<Field> fields_;
  std::vector<Header> views_;
  uint32_t method_off_ = 0, method_len_ = 0;
  uint32_t target_off_ = 0, target_len_ = 0;
  uint32_t path_off_ = 0, path_len_ = 0;
  uint32_t query_off_ = 0;  // into bytes_ (inside the target)
  // bytes_ holds the head as it came (names lowercased in place by finish_head), then the
  // merged Cookie value and the decoded path if there are any.
  uint32_t query_len_ = 0, raw_path_off_ = 0, raw_path_len_ = 0;
  int version_minor_ = 1;
  int64_t content_length_ = -1;
  bool path_is_utf8_ = true;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool expect_continue_ = false;
  bool websocket_upgrade_ = false;
  bool event_stream_ = false;
};

// What a handler callback wants the parser to do next.
enum class Action : uint8_t {
  kContinue,  // go on parsing the bytes given
  kPause,     // stop right after this event; feed() returns kPaused, resume() to go on
};

class ParserHandler {
 public:
  // The head is complete and passed every rule. Body events follow (none if !has_body()).
  virtual Action on_head(RequestHead& head) = 0;
  // A piece of the body, de-chunked. The view is into the bytes given to feed().
  virtual Action on_body(std::string_view chunk) = 0;
  // The request (head and body) is complete.
  virtual Action on_message_complete() = 0;

 protected:
  ~ParserHandler() = default;
};

enum class ParseStatus : uint8_t {
  kOk,      // all bytes consumed
  kPaused,  // a callback asked to pause; `consumed` bytes were used, the rest was not
  kError,   // the request is bad: answer error_status() with error_message() and close
};

struct ParseResult {
  size_t consumed = 0;
  ParseStatus status = ParseStatus::kOk;
};

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Where the next head is written. Must be set (to a cleared head) before the first byte
  // of a request is fed; the parser writes only into it until on_head.
  void set_head(RequestHead* head) { head_ = head; }

  // Parses as much of `data` as it can. After kPaused, call resume() and feed the unconsumed
  // rest (plus anything newer). After kError the parser is dead; the connection closes.
  ParseResult feed(std::string_view data, ParserHandler& handler);
  void resume();

  // True between the first byte of a request and its on_message_complete.
  bool in_message() const { return in_message_; }
  // True while the head is not complete yet (bytes of a head were seen, no on_head).
  bool in_head() const { return in_message_ && !head_done_; }
  // After resume(): events may be pending that need no new bytes (a message end right after
  // the body), so feed() should be called even with an empty view.
  bool wants_feed() const { return kick_; }

  // For tests and measurement: every request goes through llhttp, none through the fast path
  // for plain heads (see fast_head in request_parser.cc).
  void disable_fast_path() { fast_enabled_ = false; }
  // Heads the fast path took so far (the rest went through llhttp).
  uint64_t fast_heads() const { return fast_heads_; }

  // After kError: 400, 413, 414, 431 or 501, and the short text/plain body for it
  // (PAGI.md §3.3: "Bad Request", "Payload Too Large", "URI Too Long",
  // "Request Header Fields Too Large", "Unsupported Transfer-Encoding", "Invalid chunk size",
  // "Chunk Too Large", "Transfer-Encoding and Content-Length are mutually exclusive",
  // "chunked must be the final Transfer-Encoding").
  int error_status() const { return error_status_; }
  std::string_view error_message() const { return error_message_; }

 private:
  static int on_message_begin(llhttp_t*);
  static int on_method(llhttp_t*, const char*, size_t);
  static int on_url(llhttp_t*, const char*, size_t);
  static int on_version(llhttp_t*, const char*, size_t);
  static int on_version_complete(llhttp_t*);
  static int on_header_field(llhttp_t*, const char*, size_t);
  static int on_header_field_complete(llhttp_t*);
  static int on_header_value(llhttp_t*, const char*, size_t);
  static int on_header_value_complete(llhttp_t*);
  static int on_headers_complete(llhttp_t*);
  static int on_chunk_header(llhttp_t*);
  static int on_body(llhttp_t*, const char*, size_t);
  static int on_message_complete(llhttp_t*);

  int fail(int status, std::string_view message);
  bool count_head_bytes(size_t n);
  bool take_head_bytes(const char* end);
  // Where a byte of this pass will be in the head's raw bytes once they are taken.
  uint32_t offset_of(const char* at) const {
    return uint32_t(head_bytes_ + size_t(at - head_mark_));
  }
  int count_trailer(size_t len);
  bool finish_llhttp_head();
  bool finish_head(uint64_t content_length, bool keep_alive);
  int head_complete(const char* end);
  size_t fast_head(const char* p, const char* end);
  bool fast_complete(ParserHandler& handler);
  void map_llhttp_error(llhttp_errno_t err);

  static const llhttp_settings_t& settings();

  llhttp_t parser_;
  Limits limits_;
  RequestHead* head_ = nullptr;
  ParserHandler* handler_ = nullptr;
  const char* head_mark_ = nullptr;  // where this pass's bytes of the head start
  const char* pass_end_ = nullptr;   // end of the bytes given to this feed()
  const char* value_end_ = nullptr;  // end of the last header value span of this pass
  size_t head_bytes_ = 0;            // bytes of the current head seen so far
  size_t version_len_ = 0;
  size_t header_count_ = 0;
  size_t trailer_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  bool in_message_ = false;
  bool head_done_ = false;
  bool line_done_ = false;
  bool method_seen_ = false;
  bool field_open_ = false;
  bool value_open_ = false;
  bool name_pending_ = false;  // a field name was seen and its value has not ended yet
  bool head_pause_ = false;   // llhttp paused by our on_headers_complete
  bool user_paused_ = false;  // a handler asked for a pause
  bool kick_ = false;         // resumed: feed() is owed a call even without new bytes
  bool dead_ = false;         // after an error
  bool fast_enabled_ = true;
  // llhttp is at the start of a keep-alive connection's next message: a head may be taken by
  // the fast path. Cleared for good once llhttp ends a message that closes the connection.
  bool fast_ok_ = true;
  bool fast_complete_owed_ = false;  // a fast head paused in on_head: its message end is owed
  uint64_t fast_heads_ = 0;
  int error_status_ = 0;
  std::string_view error_message_;
};

}  // namespace pagi::http
