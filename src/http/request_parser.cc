// HTTP/1.x request parser over llhttp (see request_parser.h). llhttp does the byte-level
// grammar; this file owns the head's storage, the limits (414/431/413) and the framing rules
// that decide between 400, 413 and 501 before any app sees a request (PAGI.md §6).
#include "http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "scope/path.h"

namespace pagi::http {
namespace {

// Content-Length longer than this many digits, or above INT32_MAX, is 413 whatever the
// configured body limit (the reference server's rule).
constexpr size_t kMaxContentLengthDigits = 10;
constexpr uint64_t kMaxContentLength = 0x7fffffff;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c; }

// ASCII lowercasing, eight bytes per step: a byte gets 0x20 added when it is in 'A'..'Z'.
// Names of eight bytes or more end with an overlapping word (lowercasing twice is harmless).
void lower_word(char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  uint64_t w;
  std::memcpy(&w, p, 8);
  uint64_t low7 = w & ~kHighs;
  uint64_t ge_a = low7 + kOnes * (0x80 - 'A');      // high bit: byte >= 'A'
  uint64_t gt_z = low7 + kOnes * (0x80 - 'Z' - 1);  // high bit: byte > 'Z'
  uint64_t upper = (ge_a ^ gt_z) & ~w & kHighs;     // and not >= 0x80
  w |= upper >> 2;
  std::memcpy(p, &w, 8);
}

void lower_in_place(char* p, size_t n) {
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) p[i] = lower(p[i]);
    return;
  }
  for (size_t i = 0; i + 8 <= n; i += 8) lower_word(p + i);
  if (n % 8 != 0) lower_word(p + n - 8);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(token) for each comma-separated, trimmed, non-empty token of a header value.
template <typename Fn>
void for_each_token(std::string_view value, Fn&& fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (!token.empty()) fn(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

bool has_token(std::string_view value, std::string_view token) {
  bool found = false;
  for_each_token(value, [&](std::string_view t) { found = found || iequals(t, token); });
  return found;
}

RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

// Where the query of a path_part starts ('?', npos if none), eight bytes per step. `plain`
// is cleared when the path before it has a '%' or a byte >= 0x80 (decoding or a UTF-8 check
// is needed).
size_t find_query(std::string_view s, bool& plain) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto zero_bytes = [](uint64_t w) { return (w - kOnes) & ~w & kHighs; };
  const char* p = s.data();
  size_t n = s.size(), i = 0;
  uint64_t special = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (zero_bytes(w ^ (kOnes * '?')) != 0) break;  // the '?' is in this word: bytewise
    special |= zero_bytes(w ^ (kOnes * '%')) | (w & kHighs);
  }
  size_t q = std::string_view::npos;
  for (; i < n; ++i) {
    auto c = uint8_t(p[i]);
    if (c == '?') {
      q = i;
      break;
    }
    special |= uint64_t(c == '%') | (c & 0x80u);
  }
  if (special != 0) plain = false;
  return q;
}

// Byte classes of the fast path for plain heads (RequestParser::fast_head).
enum : uint8_t { kTargetByte = 1, kTokenByte = 2 };
constexpr std::array<uint8_t, 256> kByteClass = [] {
  std::array<uint8_t, 256> t{};
  auto mark = [&t](std::string_view chars, uint8_t cls) {
    for (char c : chars) t[uint8_t(c)] |= cls;
  };
  for (int c = '0'; c <= '9'; ++c) t[c] |= kTargetByte | kTokenByte;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kTargetByte | kTokenByte;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kTargetByte | kTokenByte;
  mark("-._~!$&'()*+,;=:@/?%", kTargetByte);  // RFC 3986 pchar, '/' and '?': no '#'
  mark("!#$%&'*+-.^_`|~", kTokenByte);        // RFC 9110 tchar
  return t;
}();

// Eight bytes as one word, for comparing against literals.
uint64_t word8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
constexpr uint64_t literal8(const char (&s)[9]) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = (w << 8) | uint8_t(s[i]);
  return w;
}
constexpr uint64_t mask8(size_t n) { return n >= 8 ? ~0ull : (1ull << (8 * n)) - 1; }

// The length of a common method and the space after it at the start of `p`, or 0. Needs
// eight readable bytes.
size_t plain_method(const char* p) {
  uint64_t w = word8(p);
  auto is = [w](const char (&m)[9], size_t n) { return (w & mask8(n)) == (literal8(m) & mask8(n)); };
  switch (p[0]) {
    case 'G':
      return is("GET     ", 4) ? 4 : 0;
    case 'H':
      return is("HEAD    ", 5) ? 5 : 0;
    case 'P':
      return is("POST    ", 5) ? 5 : is("PUT     ", 4) ? 4 : is("PATCH   ", 6) ? 6 : 0;
    case 'D':
      return is("DELETE  ", 7) ? 7 : 0;
    case 'O':
      return is("OPTIONS ", 8) ? 8 : 0;
    default:
      return 0;
  }
}

// The first byte from `p` that is not a field value's VCHAR or SP (or `stop`). HTAB, which a
// value may hold too, stops the scan like the bytes it refuses; the caller steps over it.
const char* skip_value_bytes(const char* p, const char* stop) {
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi8(0x1f);  // signed: bytes >= 0x80 are below it too
  const __m128i del = _mm_set1_epi8(0x7f);
  while (stop - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i bad = _mm_or_si128(_mm_cmpgt_epi8(below, v), _mm_cmpeq_epi8(below, v));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(unsigned(mask));
    p += 16;
  }
#endif
  while (p != stop && uint8_t(*p) >= 0x20 && uint8_t(*p) < 0x7f) ++p;
  return p;
}

}  // namespace

// --- RequestHead ------------------------------------------------------------------------------

void RequestHead::trim() {
  constexpr size_t kKeepBytes = 8192;  // a browser's head fits; a 60 KiB cookie jar does not
  constexpr size_t kKeepFields = 64;
  if (bytes_.capacity() > kKeepBytes) std::string().swap(bytes_);
  if (fields_.capacity() > kKeepFields) std::vector<Field>().swap(fields_);
  if (views_.capacity() > kKeepFields) std::vector<Header>().swap(views_);
}

void RequestHead::clear() {
  bytes_.clear();
  fields_.clear();
  views_.clear();
  method_off_ = method_len_ = 0;
  target_off_ = target_len_ = 0;
  path_off_ = path_len_ = 0;
  query_off_ = query_len_ = raw_path_off_ = raw_path_len_ = 0;
  version_minor_ = 1;
  content_length_ = -1;
  path_is_utf8_ = true;
  keep_alive_ = true;
  chunked_ = false;
  expect_continue_ = false;
  websocket_upgrade_ = false;
  event_stream_ = false;
}

std::string_view RequestHead::header(std::string_view lower_name) const {
  for (const Header& h : views_) {
    if (h.name == lower_name) return h.value;
  }
  return {};
}

// --- RequestParser ----------------------------------------------------------------------------

// The callbacks are the same for every parser: one table, built once.
const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t table = [] {
    llhttp_settings_t t;
    llhttp_settings_init(&t);
    t.on_message_begin = &RequestParser::on_message_begin;
    t.on_method = &RequestParser::on_method;
    t.on_url = &RequestParser::on_url;
    t.on_version = &RequestParser::on_version;
    t.on_version_complete = &RequestParser::on_version_complete;
    t.on_header_field = &RequestParser::on_header_field;
    t.on_header_field_complete = &RequestParser::on_header_field_complete;
    t.on_header_value = &RequestParser::on_header_value;
    t.on_header_value_complete = &RequestParser::on_header_value_complete;
    t.on_headers_complete = &RequestParser::on_headers_complete;
    t.on_chunk_header = &RequestParser::on_chunk_header;
    t.on_body = &RequestParser::on_body;
    t.on_message_complete = &RequestParser::on_message_complete;
    return t;
  }();
  return table;
}

RequestParser::RequestParser(const Limits& limits) : limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

int RequestParser::fail(int status, std::string_view message) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_message_ = message;
  }
  return -1;
}

void RequestParser::resume() {
  if (dead_) return;
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  if (user_paused_) kick_ = true;
  user_paused_ = false;
}

ParseResult RequestParser::feed(std::string_view data, ParserHandler& handler) {
  ParseResult result;
  if (dead_) {
    result.status = ParseStatus::kError;
    return result;
  }
  if (user_paused_ || llhttp_get_errno(&parser_) == HPE_PAUSED) {
    result.status = ParseStatus::kPaused;  // not resumed yet: nothing can be parsed
    return result;
  }
  handler_ = &handler;
  kick_ = false;
  // llhttp re-bases an open span to the pointer it is given: never hand it a null one (an
  // empty view may have no data pointer), or the span would be lost.
  static const char kNothing[1] = {0};
  if (data.data() == nullptr) data = std::string_view(kNothing, 0);
  const char* p = data.data();
  const char* end = p + data.size();
  pass_end_ = end;

  // Plain heads at the start of the bytes are taken without llhttp (fast_head); llhttp goes
  // on from the first one that is not, and parses everything after it.
  if (fast_complete_owed_ && !fast_complete(handler)) {
    result.status = ParseStatus::kPaused;
    return result;
  }
  while (fast_enabled_ && fast_ok_ && !in_message_ && p != end) {
    size_t n = fast_head(p, end);
    if (n == 0) break;
    const char* head_end = p + n;
    if (!finish_head(0, true)) {
      dead_ = true;
      result.consumed = size_t(p - data.data());
      result.status = ParseStatus::kError;
      return result;
    }
    head_done_ = true;
    ++fast_heads_;
    p = head_end;
    if (handler.on_head(*head_) == Action::kPause) {
      fast_complete_owed_ = true;
      user_paused_ = true;
      result.consumed = size_t(p - data.data());
      result.status = ParseStatus::kPaused;
      return result;
    }
    if (!fast_complete(handler)) {
      result.consumed = size_t(p - data.data());
      result.status = ParseStatus::kPaused;
      return result;
    }
  }
  if (p == end && !in_message_) {
    result.consumed = data.size();
    return result;
  }

  // Runs even with no bytes left: after a pause llhttp may still owe events that need no
  // input (the message end right after a head or a body).
  for (;;) {
    head_mark_ = p;
    value_end_ = nullptr;  // a pointer into an earlier pass's bytes must never be read
    llhttp_errno_t err = llhttp_execute(&parser_, p, size_t(end - p));
    if (err == HPE_OK) {
      if (in_head() && !take_head_bytes(end)) break;
      p = end;
      break;
    }
    if (err == HPE_PAUSED) {
      const char* pos = llhttp_get_error_pos(&parser_);
      if (pos == nullptr) pos = p;
      if (head_pause_) {
        // The head just ended at `pos`: now its exact size is known.
        head_pause_ = false;
        llhttp_resume(&parser_);
        p = pos;
        if (!take_head_bytes(pos) || !finish_llhttp_head()) break;
        head_done_ = true;
        if (handler.on_head(*head_) == Action::kPause) {
          user_paused_ = true;
          llhttp_pause(&parser_);
          result.consumed = size_t(p - data.data());
          result.status = ParseStatus::kPaused;
          return result;
        }
        continue;
      }
      // A handler asked to stop after its event.
      user_paused_ = true;
      result.consumed = size_t(pos - data.data());
      result.status = ParseStatus::kPaused;
      return result;
    }
    // An error: ours (error_status_ set by a callback) or llhttp's grammar.
    if (error_status_ == 0) map_llhttp_error(err);
    if (llhttp_get_error_pos(&parser_) != nullptr) p = llhttp_get_error_pos(&parser_);
    break;
  }
  if (error_status_ != 0) {
    dead_ = true;
    result.consumed = size_t(std::clamp(p, data.data(), end) - data.data());
    result.status = ParseStatus::kError;
    return result;
  }
  result.consumed = data.size();
  return result;
}

// Keeps this pass's bytes of the head, from head_mark_ to `end`, after the ones of earlier
// passes: the head's storage is its raw bytes, copied once per read. False (and the error
// set) past a limit.
bool RequestParser::take_head_bytes(const char* end) {
  size_t n = size_t(end - head_mark_);
  if (!count_head_bytes(n)) return false;
  head_->bytes_.append(head_mark_, n);
  return true;
}

// Adds bytes of the head seen in this pass; false (and the error set) past a limit.
bool RequestParser::count_head_bytes(size_t n) {
  head_bytes_ += n;
  // on_version_complete fires at the CR, so an unfinished line holds no CRLF yet.
  if (!line_done_ && head_bytes_ > limits_.max_request_line) {
    fail(414, "URI Too Long");
    return false;
  }
  if (head_bytes_ > limits_.max_header_size + 4) {  // + the CRLFCRLF that ends the head
    fail(431, "Request Header Fields Too Large");
    return false;
  }
  return true;
}

void RequestParser::map_llhttp_error(llhttp_errno_t err) {
  const char* reason = llhttp_get_error_reason(&parser_);
  std::string_view why = reason != nullptr ? reason : "";
  switch (err) {
    case HPE_INVALID_CONTENT_LENGTH:
      if (why.find("overflow") != std::string_view::npos) {
        fail(413, "Payload Too Large");
      } else {
        fail(400, "Bad Request");
      }
      break;
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      // llhttp uses this code for a duplicate Content-Length too.
      if (why.find("Transfer-Encoding") != std::string_view::npos) {
        fail(400, "Transfer-Encoding and Content-Length are mutually exclusive");
      } else {
        fail(400, "Bad Request");
      }
      break;
    case HPE_INVALID_TRANSFER_ENCODING:
      fail(400, "chunked must be the final Transfer-Encoding");
      break;
    case HPE_INVALID_CHUNK_SIZE:
      if (why.find("overflow") != std::string_view::npos) {
        fail(413, "Chunk Too Large");
      } else {
        fail(400, "Invalid chunk size");
      }
      break;
    default:
      fail(400, "Bad Request");
      break;
  }
}

// --- llhttp callbacks -------------------------------------------------------------------------

int RequestParser::on_message_begin(llhttp_t* p) {
  RequestParser& s = *self(p);
  s.in_message_ = true;
  s.head_done_ = false;
  s.line_done_ = false;
  s.method_seen_ = false;
  s.head_bytes_ = 0;
  s.body_bytes_ = 0;
  s.header_count_ = 0;
  s.trailer_bytes_ = 0;
  s.field_open_ = false;
  s.value_open_ = false;
  s.name_pending_ = false;
  s.value_end_ = nullptr;
  if (s.head_ == nullptr) return s.fail(500, "Internal Server Error");
  s.head_->clear();  // the previous request's head is reused (its exchange is wound up)
  return 0;
}

// The span callbacks only note where their bytes are in the raw head (offset_of): the bytes
// themselves are copied once per read by take_head_bytes.
int RequestParser::on_method(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = *self(p);
  RequestHead& h = *s.head_;
  if (!s.method_seen_) {
    // The head starts here: count its bytes from this point of the current pass.
    s.method_seen_ = true;
    s.head_mark_ = at;
    h.method_off_ = s.offset_of(at);
  }
  h.method_len_ += uint32_t(len);
  return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = *self(p);
  RequestHead& h = *s.head_;
  if (h.target_len_ == 0) h.target_off_ = s.offset_of(at);
  h.target_len_ += uint32_t(len);
  if (h.target_len_ > s.limits_.max_request_line) return s.fail(414, "URI Too Long");
  return 0;
}

int RequestParser::on_version(llhttp_t* p, const char* at, size_t len) {
  (void)at;
  self(p)->version_len_ += len;
  return 0;
}

int RequestParser::on_version_complete(llhttp_t* p) {
  RequestParser& s = *self(p);
  RequestHead& h = *s.head_;
  s.line_done_ = true;
  // METHOD SP TARGET SP "HTTP/" VERSION
  size_t line = h.method_len_ + 1 + h.target_len_ + 1 + 5 + s.version_len_;
  s.version_len_ = 0;
  if (line > s.limits_.max_request_line) return s.fail(414, "URI Too Long");
  if (p->http_major != 1 || p->http_minor > 1) return s.fail(400, "Bad Request");
  h.version_minor_ = p->http_minor;
  return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = *self(p);
  if (s.head_done_) return s.count_trailer(len);
  RequestHead& h = *s.head_;
  s.value_end_ = nullptr;
  if (!s.field_open_) {
    s.field_open_ = true;
    s.name_pending_ = true;
    h.fields_.push_back({s.offset_of(at), 0, 0, 0});
  }
  h.fields_.back().name_len += uint32_t(len);
  return 0;
}

int RequestParser::on_header_field_complete(llhttp_t* p) {
  RequestParser& s = *self(p);
  s.field_open_ = false;
  if (s.head_done_) return 0;
  if (!s.name_pending_ || s.head_->fields_.back().name_len == 0) return s.fail(400, "Bad Request");
  if (++s.header_count_ > s.limits_.max_header_count) {
    return s.fail(431, "Request Header Fields Too Large");
  }
  return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = *self(p);
  if (s.head_done_) return s.count_trailer(len);
  if (!s.name_pending_) return s.fail(400, "Bad Request");  // a value with no name before it
  RequestHead::Field& f = s.head_->fields_.back();
  if (!s.value_open_) {
    s.value_open_ = true;
    f.value_off = s.offset_of(at);
  }
  f.value_len += uint32_t(len);
  s.value_end_ = at + len;
  return 0;
}

int RequestParser::on_header_value_complete(llhttp_t* p) {
  RequestParser& s = *self(p);
  s.value_open_ = false;
  if (s.head_done_) return 0;
  if (!s.name_pending_) return s.fail(400, "Bad Request");
  s.name_pending_ = false;
  return 0;
}

int RequestParser::count_trailer(size_t len) {
  // Chunked trailers are parsed and dropped; they still may not grow without bound.
  trailer_bytes_ += len;
  if (trailer_bytes_ > limits_.max_header_size) {
    return fail(431, "Request Header Fields Too Large");
  }
  return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
  RequestParser& s = *self(p);
  // Other upgrades are not ours to switch to: parse on as plain HTTP. (WebSocket upgrades
  // are recognised from the headers, see finish_head.)
  p->upgrade = 0;
  // The callback is not told where the head ends, but when the last thing this pass saw was
  // a header value directly followed by CRLF CRLF, that is where it ended (llhttp starts no
  // span after it, and those four bytes can only end the head). Then the head is checked and
  // handed over from here, in the same llhttp_execute.
  const char* v = s.value_end_;
  if (v != nullptr && v >= s.head_mark_ && s.pass_end_ - v >= 4 &&
      std::memcmp(v, "\r\n\r\n", 4) == 0) {
    return s.head_complete(v + 4);
  }
  // Otherwise (no headers, an empty or space-padded last value, a head split just there):
  // pause so feed() learns where the head ends from llhttp's error position.
  s.head_pause_ = true;
  return HPE_PAUSED;
}

// The head ended at `end` (in this pass): count it, check it, give it to the handler.
// llhttp's own return codes: 0 go on, HPE_PAUSED stop after the head, -1 an error (set).
int RequestParser::head_complete(const char* end) {
  if (!take_head_bytes(end) || !finish_llhttp_head()) return -1;
  head_done_ = true;
  if (handler_->on_head(*head_) == Action::kPause) return HPE_PAUSED;
  return 0;
}

// A head llhttp parsed: what only llhttp knows, then the rules every head goes through.
bool RequestParser::finish_llhttp_head() {
  if (!line_done_) {  // "GET /" without a version: llhttp's HTTP/0.9, not served here
    fail(400, "Bad Request");
    return false;
  }
  if (parser_.method == HTTP_CONNECT) {
    fail(501, "CONNECT method not supported");
    return false;
  }
  return finish_head(parser_.content_length, llhttp_should_keep_alive(&parser_) != 0);
}

// Checks the complete head against the framing rules and builds its views. `content_length`
// is the Content-Length field's value as parsed (if there is one); `keep_alive` whether the
// connection stays open after this request. False: the error is set.
bool RequestParser::finish_head(uint64_t content_length, bool keep_alive) {
  RequestHead& h = *head_;

  // One pass over the fields: lowercase the names in place, trim the values (optional
  // whitespace is not part of them, RFC 9110 §5.5), build the views, collect the facts.
  size_t hosts = 0, content_lengths = 0, cookies = 0;
  bool has_te = false, te_chunked_last = false, te_chunked_early = false, te_other = false;
  bool upgrade_ws = false, connection_upgrade = false, has_ws_key = false;
  // Where the Content-Length value is in bytes_, not a view: merging Cookie fields below
  // may move bytes_.
  uint32_t cl_off = 0, cl_len = 0;
  char* bytes = h.bytes_.data();
  h.views_.clear();
  h.views_.reserve(h.fields_.size());
  for (RequestHead::Field& f : h.fields_) {
    char* n = bytes + f.name_off;
    lower_in_place(n, f.name_len);
    std::string_view name(n, f.name_len);
    std::string_view value = trim(std::string_view(bytes + f.value_off, f.value_len));
    f.value_off = uint32_t(value.data() - bytes);
    f.value_len = uint32_t(value.size());
    h.views_.push_back(Header{name, value});
    switch (name.size()) {
      case 4:
        if (name == "host") ++hosts;
        break;
      case 6:
        if (name == "cookie") {
          ++cookies;
        } else if (name == "expect") {
          if (iequals(value, "100-continue") && h.version_minor_ == 1) h.expect_continue_ = true;
        } else if (name == "accept") {
          // PAGI.md §2.4: a substring of any Accept value, as the reference matches it.
          if (value.find("text/event-stream") != std::string_view::npos) h.event_stream_ = true;
        }
        break;
      case 7:
        if (name == "upgrade" && has_token(value, "websocket")) upgrade_ws = true;
        break;
      case 10:
        if (name == "connection" && has_token(value, "upgrade")) connection_upgrade = true;
        break;
      case 14:
        if (name == "content-length") {
          ++content_lengths;
          cl_off = f.value_off;
          cl_len = f.value_len;
        }
        break;
      case 17:
        if (name == "transfer-encoding") {
          has_te = true;
          for_each_token(value, [&](std::string_view t) {
            if (te_chunked_last) te_chunked_early = true;  // chunked followed by something
            te_chunked_last = iequals(t, "chunked");
            if (!te_chunked_last) te_other = true;
          });
        } else if (name == "sec-websocket-key") {
          has_ws_key = true;
        }
        break;
      default:
        break;
    }
  }

  // Several Cookie fields merge into the first (PAGI.md §2.2).
  if (cookies > 1) {
    std::string merged;
    for (const RequestHead::Field& f : h.fields_) {
      std::string_view name(h.bytes_.data() + f.name_off, f.name_len);
      if (name != "cookie") continue;
      if (!merged.empty()) merged += "; ";
      merged.append(h.bytes_, f.value_off, f.value_len);
    }
    bool first = true;
    uint32_t off = uint32_t(h.bytes_.size());
    h.bytes_ += merged;
    auto& fields = h.fields_;
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [&](RequestHead::Field& f) {
                                  std::string_view name(h.bytes_.data() + f.name_off, f.name_len);
                                  if (name != "cookie") return false;
                                  if (first) {
                                    first = false;
                                    f.value_off = off;
                                    f.value_len = uint32_t(merged.size());
                                    return false;
                                  }
                                  return true;
                                }),
                 fields.end());
    h.views_.clear();  // rebuilt below
  }

  if (h.version_minor_ == 1 && hosts == 0) {
    fail(400, "Bad Request");
    return false;
  }
  if (hosts > 1) {
    fail(400, "Bad Request");
    return false;
  }
  if (has_te) {
    if (content_lengths > 0) {
      fail(400, "Transfer-Encoding and Content-Length are mutually exclusive");
      return false;
    }
    if (te_chunked_early) {
      fail(400, "chunked must be the final Transfer-Encoding");
      return false;
    }
    if (te_other || !te_chunked_last) {  // no decoder for gzip & co, nor a length without chunked
      fail(501, "Unsupported Transfer-Encoding");
      return false;
    }
    h.chunked_ = true;
  } else if (content_lengths > 0) {
    // llhttp already refused duplicates and non-digits; the size rules are ours.
    if (content_lengths > 1) {
      fail(400, "Bad Request");
      return false;
    }
    std::string_view cl_text(h.bytes_.data() + cl_off, cl_len);
    size_t digits = cl_text.size();
    while (digits > 1 && cl_text[cl_text.size() - digits] == '0') --digits;  // leading zeros
    if (digits > kMaxContentLengthDigits || content_length > kMaxContentLength) {
      fail(413, "Payload Too Large");
      return false;
    }
    if (limits_.max_body_size != 0 && content_length > limits_.max_body_size) {
      fail(413, "Payload Too Large");
      return false;
    }
    h.content_length_ = int64_t(content_length);
  }

  h.keep_alive_ = keep_alive;
  h.websocket_upgrade_ = upgrade_ws && connection_upgrade && has_ws_key;

  // Target → raw_path, query_string, decoded path.
  std::string_view target = h.target();
  uint32_t path_off = h.target_off_;
  std::string_view path_part = target;
  if (target.size() > 7 && (target.compare(0, 7, "http://") == 0 ||
                            (target.size() > 8 && target.compare(0, 8, "https://") == 0))) {
    // absolute-form: the path starts after the authority.
    size_t scheme_end = target.find("//") + 2;
    size_t slash = target.find_first_of("/?", scheme_end);
    path_part = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
    path_off = uint32_t(h.target_off_ + (slash == std::string_view::npos ? target.size() : slash));
  }
  bool plain = true;
  size_t q = find_query(path_part, plain);
  h.raw_path_off_ = path_off;
  h.raw_path_len_ = uint32_t(q == std::string_view::npos ? path_part.size() : q);
  if (q != std::string_view::npos) {
    h.query_off_ = uint32_t(path_off + q + 1);
    h.query_len_ = uint32_t(path_part.size() - q - 1);
  } else {
    h.query_off_ = uint32_t(h.bytes_.size());
    h.query_len_ = 0;
  }
  if (plain) {  // the usual path: nothing to decode, ASCII
    h.path_off_ = h.raw_path_off_;
    h.path_len_ = h.raw_path_len_;
    h.path_is_utf8_ = true;
  } else if (scope::needs_decoding(h.raw_path())) {
    // Decoded after the head, in place: the room is reserved first (decoding never grows),
    // so the raw path being read stays where it is.
    h.bytes_.reserve(h.bytes_.size() + h.raw_path_len_);
    std::string_view raw = h.raw_path();
    h.path_off_ = uint32_t(h.bytes_.size());
    scope::percent_decode(raw, h.bytes_);
    h.path_len_ = uint32_t(h.bytes_.size() - h.path_off_);
    h.path_is_utf8_ = scope::is_valid_utf8(h.path());
  } else {
    h.path_off_ = h.raw_path_off_;
    h.path_len_ = h.raw_path_len_;
    h.path_is_utf8_ = scope::is_valid_utf8(h.raw_path());
  }

  // The views point into bytes_: rebuilt if it moved (a merged Cookie, a decoded path).
  if (h.bytes_.data() != bytes || h.views_.empty()) {
    h.views_.clear();
    for (const RequestHead::Field& f : h.fields_) {
      h.views_.push_back(Header{std::string_view(h.bytes_.data() + f.name_off, f.name_len),
                                std::string_view(h.bytes_.data() + f.value_off, f.value_len)});
    }
  }
  return true;
}

int RequestParser::on_chunk_header(llhttp_t* p) {
  RequestParser& s = *self(p);
  uint64_t size = p->content_length;
  if (size > s.limits_.max_chunk_size) return s.fail(413, "Chunk Too Large");
  if (s.limits_.max_body_size != 0 && s.body_bytes_ + size > s.limits_.max_body_size) {
    return s.fail(413, "Payload Too Large");
  }
  return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, size_t len) {
  RequestParser& s = *self(p);
  s.body_bytes_ += len;
  if (s.handler_->on_body(std::string_view(at, len)) == Action::kPause) return HPE_PAUSED;
  return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
  RequestParser& s = *self(p);
  // After a message that ends the connection llhttp refuses any further bytes: so must the
  // fast path, which is only for the connection's next message.
  if (llhttp_should_keep_alive(p) == 0) s.fast_ok_ = false;
  s.in_message_ = false;
  s.head_done_ = false;
  s.head_bytes_ = 0;
  if (s.handler_->on_message_complete() == Action::kPause) return HPE_PAUSED;
  return 0;
}

// --- the fast path for plain heads ----------------------------------------------------------
//
// Most requests are a short head with no body, whole in one read: a common method, an
// origin-form target of plain characters, HTTP/1.1 (or 1.0 with keep-alive) and a few fields
// of plain text. For those, llhttp's byte-at-a-time machine and its callbacks are most of the
// cost of parsing. fast_head takes exactly such heads and leaves every other one to llhttp,
// which stays the judge of anything that could be refused or has a body: a Content-Length or
// Transfer-Encoding field, Upgrade, a Connection field other than `keep-alive`, a connection
// that closes after the request, obs-text, folding, a bare CR or LF, a head split across reads
// or past a limit. So it accepts only what llhttp accepts, and records a head as llhttp's
// callbacks would; both then go through the same finish_head. The differential tests in
// request_parser_test.cc hold the two paths to the same result.

// Takes the plain head at the start of `p` (on a clean head_) and returns its size with the
// request line and fields recorded, or 0 (nothing decided) when llhttp must parse it.
size_t RequestParser::fast_head(const char* p, const char* end) {
  if (head_ == nullptr) return 0;
  const char* const start = p;
  // A head past the size limit, or not ended in these bytes, is llhttp's to refuse or wait for.
  const char* const stop = p + std::min(size_t(end - p), limits_.max_header_size + 4);
  if (stop - p < 16) return 0;  // shorter than any head it could take
  size_t method = plain_method(p);
  if (method == 0) return 0;
  const char* target = p + method;
  const char* q = target;
  if (q == stop || *q != '/') return 0;
  while (q != stop && (kByteClass[uint8_t(*q)] & kTargetByte) != 0) ++q;
  const char* target_end = q;
  if (stop - q < 11 || word8(q) != literal8(" HTTP/1.") || (q[8] != '0' && q[8] != '1') ||
      q[9] != '\r' || q[10] != '\n') {
    return 0;
  }
  int minor = q[8] - '0';
  if (size_t(q - start) + 9 > limits_.max_request_line) return 0;  // the line without CRLF
  q += 11;

  RequestHead& h = *head_;
  h.clear();
  bool keep_alive = minor == 1;
  size_t count = 0;
  for (;;) {
    if (stop - q < 2) return 0;
    if (q[0] == '\r') {
      if (q[1] != '\n') return 0;
      q += 2;
      break;
    }
    const char* name = q;
    while (q != stop && (kByteClass[uint8_t(*q)] & kTokenByte) != 0) ++q;
    if (q == name || q == stop || *q != ':') return 0;
    std::string_view field(name, size_t(q - name));
    const char* value = ++q;
    for (q = skip_value_bytes(q, stop); q != stop && *q == '\t';) q = skip_value_bytes(q + 1, stop);
    if (stop - q < 2 || q[0] != '\r' || q[1] != '\n') return 0;
    if (++count > limits_.max_header_count) return 0;
    std::string_view text(value, size_t(q - value));
    // The fields llhttp acts on itself.
    switch (field.size()) {
      case 7:
        if (iequals(field, "upgrade")) return 0;
        break;
      case 10:
        if (iequals(field, "connection")) {
          // Only the one spelling llhttp reads as keep-alive for sure: no trailing OWS.
          std::string_view token = text.substr(std::min(text.find_first_not_of(" \t"), text.size()));
          if (!iequals(token, "keep-alive")) return 0;
          keep_alive = true;
        }
        break;
      case 14:
        if (iequals(field, "content-length")) return 0;
        break;
      case 16:
        if (iequals(field, "proxy-connection")) return 0;
        break;
      case 17:
        if (iequals(field, "transfer-encoding")) return 0;
        break;
      default:
        break;
    }
    h.fields_.push_back({uint32_t(name - start), uint32_t(field.size()),
                         uint32_t(value - start), uint32_t(text.size())});
    q += 2;
  }
  if (!keep_alive) return 0;  // HTTP/1.0 without keep-alive ends the connection

  size_t n = size_t(q - start);
  // What on_message_begin and the request-line callbacks would have left.
  in_message_ = true;
  head_done_ = false;
  line_done_ = true;
  method_seen_ = true;
  head_bytes_ = n;
  body_bytes_ = 0;
  header_count_ = count;
  trailer_bytes_ = 0;
  field_open_ = value_open_ = name_pending_ = false;
  value_end_ = nullptr;
  h.bytes_.append(start, n);
  h.method_off_ = 0;
  h.method_len_ = uint32_t(method - 1);
  h.target_off_ = uint32_t(method);
  h.target_len_ = uint32_t(target_end - target);
  h.version_minor_ = minor;
  return n;
}

// The end of a message whose head fast_head took (it has no body). False: the handler paused.
bool RequestParser::fast_complete(ParserHandler& handler) {
  fast_complete_owed_ = false;
  in_message_ = false;
  head_done_ = false;
  head_bytes_ = 0;
  if (handler.on_message_complete() == Action::kPause) {
    user_paused_ = true;
    return false;
  }
  return true;
}

}  // namespace pagi::http
