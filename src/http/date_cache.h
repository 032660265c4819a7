// The `Date` header value (IMF-fixdate), formatted at most once per second per core.
#pragma once

#include <ctime>
#include <string_view>

namespace pagi::http {

class DateCache {
 public:
  // "Tue, 24 Nov 2026 23:44:01 GMT" for the current second.
  std::string_view get();
  // Same, for a given time (tests).
  static void format(time_t t, char out[29]);

 private:
  time_t last_ = -1;
  char buf_[30] = {};
};

}  // namespace pagi::http
