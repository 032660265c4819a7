// Compiling and rendering access-log formats (see access_log_format.h). The atoms and
// presets are the reference server's, so existing log parsers keep working.
#include "server/access_log_format.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace pagi::server {
namespace {

struct Preset {
  std::string_view name;
  std::string_view format;
};

constexpr Preset kPresets[] = {
    {"clf", "%h - - [%t] \"%m %U%q\" %s %ds"},
    {"combined", "%h - - [%t] \"%r\" %s %b \"%{Referer}i\" \"%{User-Agent}i\""},
    {"common", "%h - - [%t] \"%r\" %s %b"},
    {"tiny", "%m %U%q %s %Dms"},
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c; }

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, size_t(r.ptr - buf));
}

std::string_view header_value(const AccessRecord& r, std::string_view lower_name) {
  for (const Header& h : r.headers) {
    if (h.name == lower_name) return h.value;
  }
  return {};
}

// JSON string body: quotes, backslashes and control bytes escaped; other bytes as they are
// (request data is bytes; a log reader gets them back unchanged).
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

void format_clf_time(int64_t t, char out[26]) {
  static const char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = time_t(t);
  tm g;
  gmtime_r(&tt, &g);
  char tmp[48];
  snprintf(tmp, sizeof(tmp), "%02d/%s/%04d:%02d:%02d:%02d +0000", g.tm_mday, kMonths[g.tm_mon],
           g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec);
  for (int i = 0; i < 26; ++i) out[i] = tmp[i];
}

std::optional<AccessLogFormat> AccessLogFormat::compile(std::string_view spec,
                                                        std::string* error) {
  AccessLogFormat f;
  if (spec == "json") {
    f.json_ = true;
    return f;
  }
  for (const Preset& p : kPresets) {
    if (spec == p.name) spec = p.format;
  }
  auto literal = [&f](std::string_view text) {
    if (!f.ops_.empty() && f.ops_.back().atom == Atom::kLiteral) {
      f.ops_.back().text.append(text);
    } else {
      f.ops_.push_back({Atom::kLiteral, std::string(text)});
    }
  };
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t pct = spec.find('%', pos);
    if (pct == std::string_view::npos) {
      literal(spec.substr(pos));
      break;
    }
    if (pct > pos) literal(spec.substr(pos, pct - pos));
    pos = pct + 1;
    if (pos >= spec.size()) break;  // a lone trailing '%' is dropped, as the reference does
    char c = spec[pos++];
    Atom atom;
    switch (c) {
      case '%': literal("%"); continue;
      case 'h': atom = Atom::kClient; break;
      case 'l': case 'u': atom = Atom::kDash; break;
      case 't': atom = Atom::kTime; break;
      case 'r': atom = Atom::kRequestLine; break;
      case 'm': atom = Atom::kMethod; break;
      case 'U': atom = Atom::kPath; break;
      case 'q': atom = Atom::kQuery; break;
      case 'H': atom = Atom::kProtocol; break;
      case 's': atom = Atom::kStatus; break;
      case 'b': atom = Atom::kBytesOrDash; break;
      case 'B': atom = Atom::kBytes; break;
      case 'd': atom = Atom::kSeconds3; break;
      case 'D': atom = Atom::kMicros; break;
      case 'T': atom = Atom::kSecondsInt; break;
      case '{': {
        size_t end = spec.find('}', pos);
        if (end == std::string_view::npos) {
          *error = "unterminated %{...} in access log format";
          return std::nullopt;
        }
        std::string name(spec.substr(pos, end - pos));
        pos = end + 1;
        if (pos >= spec.size() || spec[pos] != 'i') {
          *error = "expected 'i' after %{" + name + "} in access log format";
          return std::nullopt;
        }
        ++pos;
        for (char& ch : name) ch = lower(ch);
        f.ops_.push_back({Atom::kHeader, std::move(name)});
        continue;
      }
      default:
        *error = std::string("unknown access log format atom '%") + c + "'";
        return std::nullopt;
    }
    f.ops_.push_back({atom, {}});
  }
  return f;
}

void AccessLogFormat::render(const AccessRecord& r, std::string& out) const {
  if (json_) {
    render_json(r, out);
    return;
  }
  for (const Op& op : ops_) {
    switch (op.atom) {
      case Atom::kLiteral: out += op.text; break;
      case Atom::kClient: out += r.client.empty() ? std::string_view("-") : r.client; break;
      case Atom::kDash: out += '-'; break;
      case Atom::kTime: {
        char t[26];
        format_clf_time(r.time, t);
        out.append(t, 26);
        break;
      }
      case Atom::kRequestLine:
        out += r.method;
        out += ' ';
        out += r.raw_path;
        if (!r.query.empty()) {
          out += '?';
          out += r.query;
        }
        out += " HTTP/";
        out += r.http_version;
        break;
      case Atom::kMethod: out += r.method; break;
      case Atom::kPath: out += r.raw_path; break;
      case Atom::kQuery:
        if (!r.query.empty()) {
          out += '?';
          out += r.query;
        }
        break;
      case Atom::kProtocol:
        out += "HTTP/";
        out += r.http_version;
        break;
      case Atom::kStatus:
        if (r.status == 0) {
          out += '-';
        } else {
          append_uint(out, uint64_t(r.status));
        }
        break;
      case Atom::kBytesOrDash:
        if (r.bytes == 0) {
          out += '-';
        } else {
          append_uint(out, r.bytes);
        }
        break;
      case Atom::kBytes: append_uint(out, r.bytes); break;
      case Atom::kSeconds3: {
        // %.3f of the duration in seconds, from integer µs (rounded like printf would).
        uint64_t ms = (r.duration_us + 500) / 1000;
        append_uint(out, ms / 1000);
        char frac[4] = {char('0' + ms % 1000 / 100), char('0' + ms % 100 / 10),
                        char('0' + ms % 10), 0};
        out += '.';
        out.append(frac, 3);
        break;
      }
      case Atom::kMicros: append_uint(out, r.duration_us); break;
      case Atom::kSecondsInt: append_uint(out, r.duration_us / 1000000); break;
      case Atom::kHeader: {
        std::string_view v = header_value(r, op.text);
        out += v.empty() ? std::string_view("-") : v;
        break;
      }
    }
  }
  out += '\n';
}

void AccessLogFormat::render_json(const AccessRecord& r, std::string& out) const {
  char t[26];
  format_clf_time(r.time, t);
  out += "{\"time\":";
  append_json_string(out, std::string_view(t, 26));
  out += ",\"client\":";
  append_json_string(out, r.client.empty() ? std::string_view("-") : r.client);
  out += ",\"method\":";
  append_json_string(out, r.method);
  out += ",\"path\":";
  append_json_string(out, r.raw_path);
  out += ",\"query\":";
  append_json_string(out, r.query);
  out += ",\"protocol\":";
  out += "\"HTTP/";
  out += r.http_version;
  out += "\",\"status\":";
  if (r.status == 0) {
    out += "null";
  } else {
    append_uint(out, uint64_t(r.status));
  }
  out += ",\"bytes\":";
  append_uint(out, r.bytes);
  out += ",\"duration_us\":";
  append_uint(out, r.duration_us);
  out += ",\"referer\":";
  append_json_string(out, header_value(r, "referer"));
  out += ",\"user_agent\":";
  append_json_string(out, header_value(r, "user-agent"));
  out += "}\n";
}

}  // namespace pagi::server
