// Server-Sent Events wire format (PAGI.md §3.5, the reference's exact bytes): one event per
// sse.send, comments, keepalive comments. Appends to a caller's buffer (a reused std::string
// or the connection's OutputQueue), so framing an event allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/buffer_pool.h"

namespace pagi::http::sse {

struct Event {
  std::string_view data;   // one `data:` line per line (\r\n, \n or \r; a trailing break
                           // gives a last empty line, as the reference's split(..., -1))
  std::string_view event;  // `event:` line when not empty
  std::string_view id;     // `id:` line when not empty
  int64_t retry = -1;      // `retry:` line when ≥ 0
};

// nullptr if the event can be sent; else the message the send fails with (CR or LF in
// `event` or `id`).
const char* check_event(const Event& ev);

// Exact number of bytes write_event produces (H1 writes it as one chunk: the size goes
// first).
size_t event_size(const Event& ev);
// `event: E\n` + `data: LINE\n`... + `id: I\n` + `retry: N\n` + `\n`. Empty data gives no
// data line, as the reference. Call check_event first.
void write_event(std::string& out, const Event& ev);
void write_event(OutputQueue& out, const Event& ev);

// sse.comment: each line prefixed with ':' unless it already starts with one, then a blank
// line (an empty comment is the blank line alone, as the reference writes it).
size_t comment_size(std::string_view comment);
void write_comment(std::string& out, std::string_view comment);
void write_comment(OutputQueue& out, std::string_view comment);

// sse.keepalive's periodic comment: `:<comment>\n\n` (no second ':' if it has one), bare
// `:\n\n` when empty. Line breaks inside start new ':' lines, so it cannot inject a field.
size_t keepalive_size(std::string_view comment);
void write_keepalive(std::string& out, std::string_view comment);
void write_keepalive(OutputQueue& out, std::string_view comment);

}  // namespace pagi::http::sse
