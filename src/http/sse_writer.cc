// SSE event framing (see sse_writer.h).
#include "http/sse_writer.h"

#include <charconv>
#include <cstring>

namespace pagi::http::sse {
namespace {

// Calls f(line) for each line of `text` split on \r\n, \n or \r exactly as the reference's
// Perl `split /\r?\n|\r/, $text, -1` does: every field is kept, trailing empty ones too
// ("a\n" is "a" and ""), but an empty text has no lines at all.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  if (text.empty()) return;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\n' && c != '\r') continue;
    f(text.substr(start, i - start));
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  f(text.substr(start));
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

struct Retry {
  char digits[24]{};
  size_t size = 0;
  explicit Retry(int64_t v) {
    if (v >= 0) size = size_t(std::to_chars(digits, digits + sizeof(digits), v).ptr - digits);
  }
  std::string_view view() const { return std::string_view(digits, size); }
};

template <typename Out>
void put(Out& out, std::string_view s) {
  out.append(s);
}

// Writes into contiguous room reserved in an OutputQueue block: one reservation per event
// instead of one append per field.
struct Raw {
  char* p;
  void append(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
};

// Small output goes through one reservation; output larger than a block is appended.
template <typename Write>
void to_queue(OutputQueue& out, size_t size, Write&& write) {
  if (size <= BlockPool::kCapacity) {
    Raw raw{out.reserve(size)};
    write(raw);
    out.commit(size);
  } else {
    write(out);
  }
}

template <typename Out>
void put_event(Out& out, const Event& ev) {
  if (!ev.event.empty()) {
    put(out, "event: ");
    put(out, ev.event);
    put(out, "\n");
  }
  for_each_line(ev.data, [&](std::string_view line) {
    put(out, "data: ");
    put(out, line);
    put(out, "\n");
  });
  if (!ev.id.empty()) {
    put(out, "id: ");
    put(out, ev.id);
    put(out, "\n");
  }
  if (ev.retry >= 0) {
    Retry r(ev.retry);
    put(out, "retry: ");
    put(out, r.view());
    put(out, "\n");
  }
  put(out, "\n");
}

// A comment: each line gets a ':' unless it has one (the reference's rule). An empty comment
// is just the blank line, as the reference writes it; an empty keepalive is ":\n\n".
template <typename Out>
void put_comment(Out& out, std::string_view comment, bool keepalive) {
  bool any = false;
  for_each_line(comment, [&](std::string_view line) {
    if (line.empty() || line.front() != ':') put(out, ":");
    put(out, line);
    put(out, "\n");
    any = true;
  });
  if (!any && keepalive) put(out, ":\n");
  put(out, "\n");
}

size_t comment_bytes(std::string_view comment, bool keepalive) {
  size_t n = 0;
  bool any = false;
  for_each_line(comment, [&](std::string_view line) {
    n += (line.empty() || line.front() != ':') + line.size() + 1;
    any = true;
  });
  if (!any && keepalive) n += 2;
  return n + 1;
}

}  // namespace

const char* check_event(const Event& ev) {
  if (has_line_break(ev.event)) return "SSE event field must not contain CR or LF";
  if (has_line_break(ev.id)) return "SSE id field must not contain CR or LF";
  return nullptr;
}

size_t event_size(const Event& ev) {
  size_t n = 1;
  if (!ev.event.empty()) n += 7 + ev.event.size() + 1;
  for_each_line(ev.data, [&](std::string_view line) { n += 6 + line.size() + 1; });
  if (!ev.id.empty()) n += 4 + ev.id.size() + 1;
  if (ev.retry >= 0) n += 7 + Retry(ev.retry).size + 1;
  return n;
}

void write_event(std::string& out, const Event& ev) {
  put_event(out, ev);
}
void write_event(OutputQueue& out, const Event& ev) {
  to_queue(out, event_size(ev), [&](auto& o) { put_event(o, ev); });
}

size_t comment_size(std::string_view comment) {
  return comment_bytes(comment, false);
}
void write_comment(std::string& out, std::string_view comment) {
  put_comment(out, comment, false);
}
void write_comment(OutputQueue& out, std::string_view comment) {
  to_queue(out, comment_size(comment), [&](auto& o) { put_comment(o, comment, false); });
}

size_t keepalive_size(std::string_view comment) {
  return comment_bytes(comment, true);
}
void write_keepalive(std::string& out, std::string_view comment) {
  put_comment(out, comment, true);
}
void write_keepalive(OutputQueue& out, std::string_view comment) {
  to_queue(out, keepalive_size(comment), [&](auto& o) { put_comment(o, comment, true); });
}

}  // namespace pagi::http::sse
