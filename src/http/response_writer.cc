// Response serialisation (see response_writer.h).
#include "http/response_writer.h"

#include <array>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Every registered status and its reason phrase, once: reason_phrase and the precomputed
// status lines are both built from it.
#define PAGI_HTTP_STATUSES(X) \
  X(100, "Continue") \
  X(101, "Switching Protocols") \
  X(102, "Processing") \
  X(103, "Early Hints") \
  X(200, "OK") \
  X(201, "Created") \
  X(202, "Accepted") \
  X(203, "Non-Authoritative Information") \
  X(204, "No Content") \
  X(205, "Reset Content") \
  X(206, "Partial Content") \
  X(207, "Multi-Status") \
  X(300, "Multiple Choices") \
  X(301, "Moved Permanently") \
  X(302, "Found") \
  X(303, "See Other") \
  X(304, "Not Modified") \
  X(307, "Temporary Redirect") \
  X(308, "Permanent Redirect") \
  X(400, "Bad Request") \
  X(401, "Unauthorized") \
  X(402, "Payment Required") \
  X(403, "Forbidden") \
  X(404, "Not Found") \
  X(405, "Method Not Allowed") \
  X(406, "Not Acceptable") \
  X(407, "Proxy Authentication Required") \
  X(408, "Request Timeout") \
  X(409, "Conflict") \
  X(410, "Gone") \
  X(411, "Length Required") \
  X(412, "Precondition Failed") \
  X(413, "Payload Too Large") \
  X(414, "URI Too Long") \
  X(415, "Unsupported Media Type") \
  X(416, "Range Not Satisfiable") \
  X(417, "Expectation Failed") \
  X(418, "I'm a teapot") \
  X(421, "Misdirected Request") \
  X(422, "Unprocessable Content") \
  X(425, "Too Early") \
  X(426, "Upgrade Required") \
  X(428, "Precondition Required") \
  X(429, "Too Many Requests") \
  X(431, "Request Header Fields Too Large") \
  X(451, "Unavailable For Legal Reasons") \
  X(500, "Internal Server Error") \
  X(501, "Not Implemented") \
  X(502, "Bad Gateway") \
  X(503, "Service Unavailable") \
  X(504, "Gateway Timeout") \
  X(505, "HTTP Version Not Supported") \
  X(507, "Insufficient Storage") \
  X(511, "Network Authentication Required")

namespace pagi::http {
namespace {

// RFC 9110 token characters; every byte ≥ 0x80 is not one.
constexpr auto kTchar = [] {
  std::array<uint8_t, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[uint8_t(c)] = true;
  return t;
}();

// Whether any byte of `v` is CR, LF or NUL: eight bytes per step (the classic "has a zero
// byte" test on the word, and on the word xor-ed with CR and with LF), the tail per byte.
bool has_cr_lf_nul(std::string_view v) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; };
  const char* p = v.data();
  size_t n = v.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (has_zero(w) | has_zero(w ^ (kOnes * '\r')) | has_zero(w ^ (kOnes * '\n'))) return true;
  }
  for (; n > 0; ++p, --n) {
    if (uint8_t(*p) <= '\r' && (*p == '\r' || *p == '\n' || *p == 0)) return true;
  }
  return false;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

bool has_token(std::string_view list, std::string_view token) {
  size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ',')) ++i;
    size_t start = i;
    while (i < list.size() && list[i] != ',') ++i;
    size_t end = i;
    while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t')) --end;
    if (iequals(list.substr(start, end - start), token)) return true;
  }
  return false;
}

// Appends piece by piece: for heads too big for one reserved window (and error responses).
class Writer {
 public:
  explicit Writer(OutputQueue& out) : out_(out) {}
  void put(std::string_view s) { out_.append(s); }
  void put_uint(uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(std::string_view(buf, size_t(r.ptr - buf)));
  }

 private:
  OutputQueue& out_;
};

// Writes into memory reserved in the output queue: a whole head is one bounds check.
struct Cursor {
  char* p;
  void put(std::string_view s) {
    copy_short(p, s.data(), s.size());  // copies nothing for an empty view (maybe null)
    p += s.size();
  }
  void crlf() {
    p[0] = '\r';
    p[1] = '\n';
    p += 2;
  }
  // "name: value\r\n"
  void field(const Header& h) {
    put(h.name);
    p[0] = ':';
    p[1] = ' ';
    p += 2;
    put(h.value);
    crlf();
  }
};

// "HTTP/1.1 200 OK\r\n" for a registered status, "" for others. Always inline (GCC keeps
// a switch this size out of line): the call cost as much as the jump-table lookup.
[[gnu::always_inline]] inline std::string_view status_line_11(int status) {
  switch (status) {
#define PAGI_STATUS_LINE_CASE(code, reason) \
  case code:                                \
    return "HTTP/1.1 " #code " " reason "\r\n";
    PAGI_HTTP_STATUSES(PAGI_STATUS_LINE_CASE)
#undef PAGI_STATUS_LINE_CASE
    default: return {};
  }
}

bool is_transfer_encoding(std::string_view name) {
  return name.size() == 17 && iequals(name, "transfer-encoding");
}

constexpr size_t kDateLine = 6 + 29 + 2;  // "date: " IMF-fixdate CRLF

// Of DateCache::lines, the part the head ends with, as one copy: both lines, only Date's or
// only Server's, or nothing when the app set both.
std::string_view cached_lines(std::string_view lines, const HeaderFacts& facts,
                              std::string_view server) {
  size_t from = facts.has_date ? kDateLine : 0;
  size_t to = !facts.has_server && !server.empty() ? lines.size() : kDateLine;
  return from < to ? lines.substr(from, to - from) : std::string_view();
}

// The head of write_head, and of write_checked_head for an unregistered status or a head
// past one block. `lines` is DateCache::lines (Date line, then the Server line if any) or
// empty, in which case `date` and `server` are written piece by piece.
void write_head_impl(OutputQueue& out, int minor_version, int status,
                     std::span<const Header> headers, const HeaderFacts& facts,
                     std::string_view date, std::string_view server, std::string_view lines) {
  bool add_date = !facts.has_date;
  bool add_server = !facts.has_server && !server.empty();
  std::string_view status_line = status_line_11(status);
  size_t n = status_line.empty() ? 9 + 20 + 1 + 7 + 2 : status_line.size();
  for (const Header& h : headers) n += h.name.size() + h.value.size() + 4;
  if (add_date) n += 6 + date.size() + 2;
  if (add_server) n += 8 + server.size() + 2;
  if (n > BlockPool::kCapacity) [[unlikely]] {
    Writer w(out);
    w.put(minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    w.put_uint(uint64_t(status));
    w.put(" ");
    w.put(reason_phrase(status));
    w.put("\r\n");
    for (const Header& h : headers) {
      if (is_transfer_encoding(h.name)) continue;
      w.put(h.name);
      w.put(": ");
      w.put(h.value);
      w.put("\r\n");
    }
    if (add_date) {
      w.put("date: ");
      w.put(date);
      w.put("\r\n");
    }
    if (add_server) {
      w.put("Server: ");
      w.put(server);
      w.put("\r\n");
    }
    return;
  }
  char* start = out.reserve(n);
  Cursor c{start};
  if (!status_line.empty()) {
    c.put(status_line);
    if (minor_version == 0) start[7] = '0';  // "HTTP/1.0"
  } else {
    c.put(minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    c.p = std::to_chars(c.p, c.p + 20, uint64_t(status)).ptr;
    c.put(" Unknown");
    c.crlf();
  }
  for (const Header& h : headers) {
    if (is_transfer_encoding(h.name)) continue;
    c.field(h);
  }
  if (!lines.empty()) {
    c.put(cached_lines(lines, facts, server));
  } else {
    if (add_date) {
      c.put("date: ");
      c.put(date);
      c.crlf();
    }
    if (add_server) {
      c.put("Server: ");
      c.put(server);
      c.crlf();
    }
  }
  out.commit(size_t(c.p - start));
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
#define PAGI_REASON_CASE(code, reason) \
  case code:                           \
    return reason;
    PAGI_HTTP_STATUSES(PAGI_REASON_CASE)
#undef PAGI_REASON_CASE
    default: return "Unknown";
  }
}

namespace {

// The exact checks, byte by byte (a table per name byte, words for the value): what
// check_header answers whenever the vector pass below does not vouch for the header.
const char* check_header_exact(std::string_view name, std::string_view value) {
  if (name.empty()) return "Invalid header name: empty";
  // Four bytes per branch; only a bad name is looked at again.
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  size_t n = name.size(), i = 0;
  unsigned ok = 1;
  for (; i + 4 <= n; i += 4) {
    ok = kTchar[p[i]] & kTchar[p[i + 1]] & kTchar[p[i + 2]] & kTchar[p[i + 3]];
    if (!ok) break;
  }
  for (; ok && i < n; ++i) ok = kTchar[p[i]];
  if (!ok) [[unlikely]] {
    for (unsigned char c : name) {
      if (c == '\r' || c == '\n' || c == 0) {
        return "Invalid header name: contains CR, LF, or null byte";
      }
    }
    return "Invalid header name: not a token";
  }
  if (has_cr_lf_nul(value)) [[unlikely]] {
    return "Invalid header value: contains CR, LF, or null byte";
  }
  return nullptr;
}

#if defined(__SSE2__)
// Every byte of p[0, n), 1 <= n <= 16, in one vector, read without going past either end:
// two overlapping loads, repeated to fill the lanes, so every lane holds some byte of the
// range and every byte is in some lane.
inline __m128i load_1_16(const char* p, size_t n) {
  if (n >= 8) {
    __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + n - 8));
    return _mm_unpacklo_epi64(a, b);
  }
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return _mm_set1_epi64x(int64_t(uint64_t(a) | uint64_t(b) << 32));
  }
  uint32_t a = uint8_t(p[0]), b = uint8_t(p[n / 2]), c = uint8_t(p[n - 1]);
  return _mm_set1_epi32(int(a | b << 8 | c << 16 | c << 24));
}

// Lanes holding a letter, a digit or '-' (what header names are made of, all tchar; the
// other tchar bytes are left to the exact check). Signed compares: bytes >= 0x80 fail all.
inline int plain_name_lanes(__m128i v) {
  __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
  __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                 _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
  __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
  return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));
}

// Lanes holding CR, LF or NUL (exact: the bytes a value must not have).
inline int bad_value_lanes(__m128i v) {
  __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
  return _mm_movemask_epi8(_mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
}

// A non-empty name made only of letters, digits and '-': 16 bytes per step, the last step
// overlapping the one before.
inline bool plain_name(std::string_view name) {
  const char* p = name.data();
  size_t n = name.size();
  for (; n > 16; p += 16, n -= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (plain_name_lanes(v) != 0xffff) return false;
  }
  return n != 0 && plain_name_lanes(load_1_16(p, n)) == 0xffff;
}

inline bool value_has_cr_lf_nul(std::string_view value) {
  const char* p = value.data();
  size_t n = value.size();
  for (; n > 16; p += 16, n -= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if (bad_value_lanes(v) != 0) return true;
  }
  return n != 0 && bad_value_lanes(load_1_16(p, n)) != 0;
}
#endif

// The checks of check_header, inline for scan_response_headers: one vector pass over the
// name and one over the value for the usual header; anything unusual in the name gets the
// exact answer (and message) from check_header_exact.
inline const char* check_field(std::string_view name, std::string_view value) {
#if defined(__SSE2__)
  if (!plain_name(name)) [[unlikely]] return check_header_exact(name, value);
  if (value_has_cr_lf_nul(value)) [[unlikely]] {
    return "Invalid header value: contains CR, LF, or null byte";
  }
  return nullptr;
#else
  return check_header_exact(name, value);
#endif
}

}  // namespace

const char* check_header(std::string_view name, std::string_view value) {
  return check_field(name, value);
}

namespace {

// What one checked header says about framing, into `facts`; the message for a bad or
// conflicting Content-Length.
inline const char* note_header(const Header& h, HeaderFacts& facts) {
  switch (h.name.size()) {
    case 4:
      if (iequals(h.name, "date")) facts.has_date = true;
      break;
    case 6:
      if (iequals(h.name, "server")) facts.has_server = true;
      break;
    case 10:
      if (iequals(h.name, "connection") && has_token(h.value, "close")) {
        facts.connection_close = true;
      }
      break;
    case 14:
      if (iequals(h.name, "content-length")) {
        std::string_view v = h.value;
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        uint64_t n = 0;
        auto r = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
          return "Invalid Content-Length header value";
        }
        if (facts.has_content_length && facts.content_length != n) {
          return "Conflicting Content-Length headers";
        }
        facts.has_content_length = true;
        facts.content_length = n;
      }
      break;
    default:
      break;
  }
  return nullptr;
}

}  // namespace

const char* scan_response_headers(std::span<const Header> headers, HeaderFacts& facts) {
  for (const Header& h : headers) {
    if (const char* err = check_field(h.name, h.value)) return err;
    if (const char* err = note_header(h, facts)) return err;
  }
  return nullptr;
}

const char* write_checked_head(OutputQueue& out, int minor_version, int status,
                               std::span<const Header> headers, HeaderFacts& facts,
                               DateCache& date, std::string_view server) {
  std::string_view status_line = status_line_11(status);
  std::string_view lines = date.lines(server);
  // Room for the most it can write: both cached lines, whatever the app set.
  size_t n = status_line.size() + lines.size();
  for (const Header& h : headers) n += h.name.size() + h.value.size() + 4;
  if (status_line.empty() || n > BlockPool::kCapacity) [[unlikely]] {
    if (const char* err = scan_response_headers(headers, facts)) return err;
    write_head_impl(out, minor_version, status, headers, facts, lines.substr(6, 29), server,
                    lines);
    return nullptr;
  }
  // Bytes are only committed once every header has passed: a refused head writes nothing.
  // The room reserved may be a new empty block: an otherwise empty queue gives it back (an
  // idle connection holds none), behind unsent bytes the next write uses it.
  char* start = out.reserve(n);
  auto refuse = [&out](const char* err) {
    if (out.empty()) out.clear();
    return err;
  };
  Cursor c{start};
  c.put(status_line);
  if (minor_version == 0) start[7] = '0';  // "HTTP/1.0"
  for (const Header& h : headers) {
    if (const char* err = check_field(h.name, h.value)) [[unlikely]] return refuse(err);
    if (const char* err = note_header(h, facts)) [[unlikely]] return refuse(err);
    if (is_transfer_encoding(h.name)) continue;
    c.field(h);
  }
  c.put(cached_lines(lines, facts, server));
  out.commit(size_t(c.p - start));
  return nullptr;
}

void write_head(OutputQueue& out, int minor_version, int status, std::span<const Header> headers,
                const HeaderFacts& facts, std::string_view date, std::string_view server) {
  write_head_impl(out, minor_version, status, headers, facts, date, server, {});
}

void write_content_length(OutputQueue& out, uint64_t n, std::string_view then) {
  // "00".."99": the usual small body's digits two at a time (to_chars is a call).
  static constexpr auto kPairs = [] {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
      t[size_t(2 * i)] = char('0' + i / 10);
      t[size_t(2 * i + 1)] = char('0' + i % 10);
    }
    return t;
  }();
  constexpr std::string_view kName = "content-length: ";
  char* start = out.reserve(kName.size() + 20 + 2 + then.size());
  std::memcpy(start, kName.data(), kName.size());
  char* p = start + kName.size();
  if (n < 10) {
    *p++ = char('0' + n);
  } else if (n < 100) {
    std::memcpy(p, &kPairs[2 * n], 2);
    p += 2;
  } else if (n < 10000) {
    if (n >= 1000) *p++ = char('0' + n / 1000);
    std::memcpy(p, &kPairs[2 * (n / 10 % 100)], 2);
    p[2] = char('0' + n % 10);
    p += 3;
  } else {
    p = std::to_chars(p, p + 20, n).ptr;
  }
  p[0] = '\r';
  p[1] = '\n';
  copy_short(p + 2, then.data(), then.size());
  out.commit(size_t(p + 2 + then.size() - start));
}

void write_chunk(OutputQueue& out, std::string_view data) {
  if (data.empty()) return;
  char line[24];
  auto r = std::to_chars(line, line + 16, data.size(), 16);
  *r.ptr++ = '\r';
  *r.ptr++ = '\n';
  out.append(std::string_view(line, size_t(r.ptr - line)));
  out.append(data);
  out.append("\r\n");
}

void write_last_chunk(OutputQueue& out, std::span<const Header> trailers) {
  out.append("0\r\n");
  for (const Header& h : trailers) {
    out.append(h.name);
    out.append(": ");
    out.append(h.value);
    out.append("\r\n");
  }
  out.append("\r\n");
}

void write_error_response(OutputQueue& out, int status, std::string_view message,
                          std::string_view date, std::string_view server,
                          std::span<const Header> extra) {
  Writer w(out);
  w.put("HTTP/1.1 ");
  w.put_uint(uint64_t(status));
  w.put(" ");
  w.put(reason_phrase(status));
  w.put("\r\ncontent-type: text/plain\r\ncontent-length: ");
  w.put_uint(message.size());
  for (const Header& h : extra) {
    w.put("\r\n");
    w.put(h.name);
    w.put(": ");
    w.put(h.value);
  }
  w.put("\r\ndate: ");
  w.put(date);
  if (!server.empty()) {
    w.put("\r\nServer: ");
    w.put(server);
  }
  w.put("\r\nconnection: close\r\n\r\n");
  w.put(message);
}

std::string_view capacity_response() {
  return "HTTP/1.1 503 Service Unavailable\r\n"
         "Content-Type: text/plain\r\n"
         "Content-Length: 46\r\n"
         "Connection: close\r\n"
         "Retry-After: 5\r\n"
         "\r\n"
         "503 Service Unavailable - Server at capacity\r\n";
}

void HeldHeaders::assign(std::span<const Header> headers) {
  packed_.clear();
  for (const Header& h : headers) {
    packed_.append(h.name);
    packed_.push_back('\0');
    packed_.append(h.value);
    packed_.push_back('\0');
  }
}

std::vector<Header> HeldHeaders::views() const {
  std::vector<Header> out;
  std::string_view p = packed_;
  for (size_t at = 0; at < p.size();) {
    size_t name_end = p.find('\0', at);
    size_t value_end = p.find('\0', name_end + 1);
    out.push_back(Header{p.substr(at, name_end - at),
                         p.substr(name_end + 1, value_end - name_end - 1)});
    at = value_end + 1;
  }
  return out;
}

}  // namespace pagi::http
