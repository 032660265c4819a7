// The `Date` header value (IMF-fixdate), formatted at most once per second per core, and the
// Date and Server lines most response heads end with, kept whole so they are one copy.
#pragma once

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
  // the date in it is refreshed once per second.
  std::string_view lines(std::string_view server);
  // Same, for a given time (tests).
  static void format(time_t t, char out[29]);

 private:
  time_t last_ = -1;
  char buf_[30] = {};
  std::string lines_;          // for server_, dated lines_time_
  std::string server_;
  time_t lines_time_ = -1;
};

}  // namespace pagi::http
