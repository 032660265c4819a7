// The `Date` header value (IMF-fixdate), formatted at most once per second per core, and the
// Date and Server lines most response heads end with, kept whole so they are one copy.
#pragma once

#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace pagi::http {

class DateCache {
 public:
  // "Tue, 24 Nov 2026 23:44:01 GMT" for the current second.
  std::string_view get();
  // "date: <get()>\r\nServer: <server>\r\n", without the Server line for an empty server
  // (the Date line is always the first 37 bytes). Rebuilt only when the server changes;
  // the date in it is refreshed once per second. Inline for the usual call, within the
  // second for the same server: one clock read and a compare.
  std::string_view lines(std::string_view server) {
    time_t now = time(nullptr);  // vDSO
    if (now == lines_time_ && same_server(server)) [[likely]] return lines_;
    return refresh_lines(server, now);
  }
  // Same, for a given time (tests).
  static void format(time_t t, char out[29]);

 private:
  // server == server_, inline, eight bytes per step with the last step overlapping the one
  // before: a call into memcmp costs more than the compare of a string this short.
  bool same_server(std::string_view server) const {
    size_t n = server.size();
    if (n != server_.size()) return false;
    const char* a = server.data();
    const char* b = server_.data();
    if (n < 8) return server == std::string_view(server_);
    auto word_diff = [&](size_t at) {
      uint64_t x, y;
      std::memcpy(&x, a + at, 8);
      std::memcpy(&y, b + at, 8);
      return x ^ y;
    };
    uint64_t diff = word_diff(n - 8);
    for (size_t at = 0; at + 8 < n; at += 8) diff |= word_diff(at);
    return diff == 0;
  }
  void set_second(time_t now);  // buf_ for `now`
  std::string_view refresh_lines(std::string_view server, time_t now);

  time_t last_ = -1;
  char buf_[30] = {};
  std::string lines_;          // for server_, dated lines_time_
  std::string server_;
  time_t lines_time_ = -1;
};

}  // namespace pagi::http
