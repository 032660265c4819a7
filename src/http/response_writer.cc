// Response serialisation (see response_writer.h).
#include "http/response_writer.h"

#include <charconv>
#include <cstring>

namespace pagi::http {
namespace {

bool is_tchar(unsigned char c) {
  // RFC 9110 token characters.
  static constexpr bool kTable[128] = {
      // 0x00-0x1f: controls
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0,
      // ' ' ! " # $ % & ' ( ) * + , - . /
      0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0,
      // 0-9 : ; < = > ? @
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
      // A-Z
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
      // [ \ ] ^ _ `
      0, 0, 0, 1, 1, 1,
      // a-z
      1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
      // { | } ~ DEL
      0, 1, 0, 1, 0};
  return c < 128 && kTable[c];
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

// Appends through a reserved window so a header line is usually one bounds check.
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

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
  }
}

const char* check_header(std::string_view name, std::string_view value) {
  if (name.empty()) return "Invalid header name: empty";
  for (unsigned char c : name) {
    if (!is_tchar(c)) {
      return (c == '\r' || c == '\n' || c == 0)
                 ? "Invalid header name: contains CR, LF, or null byte"
                 : "Invalid header name: not a token";
    }
  }
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == 0) {
      return "Invalid header value: contains CR, LF, or null byte";
    }
  }
  return nullptr;
}

const char* scan_response_headers(std::span<const Header> headers, HeaderFacts& facts) {
  for (const Header& h : headers) {
    if (const char* err = check_header(h.name, h.value)) return err;
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
  }
  return nullptr;
}

void write_head(OutputQueue& out, int minor_version, int status, std::span<const Header> headers,
                const HeaderFacts& facts, std::string_view date, std::string_view server) {
  Writer w(out);
  w.put(minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  w.put_uint(uint64_t(status));
  w.put(" ");
  w.put(reason_phrase(status));
  w.put("\r\n");
  for (const Header& h : headers) {
    if (h.name.size() == 17 && iequals(h.name, "transfer-encoding")) continue;
    w.put(h.name);
    w.put(": ");
    w.put(h.value);
    w.put("\r\n");
  }
  if (!facts.has_date) {
    w.put("date: ");
    w.put(date);
    w.put("\r\n");
  }
  if (!facts.has_server && !server.empty()) {
    w.put("Server: ");
    w.put(server);
    w.put("\r\n");
  }
}

void write_content_length(OutputQueue& out, uint64_t n) {
  Writer w(out);
  w.put("content-length: ");
  w.put_uint(n);
  w.put("\r\n");
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
