// IMF-fixdate formatting without locale or strftime, and the cached Date/Server lines
// (see date_cache.h).
#include "http/date_cache.h"

#include <cstdio>

namespace pagi::http {

void DateCache::format(time_t t, char out[29]) {
  static const char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  tm g;
  gmtime_r(&t, &g);
  char tmp[40];
  snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[g.tm_wday], g.tm_mday,
           kMonths[g.tm_mon], g.tm_year + 1900, g.tm_hour, g.tm_min, g.tm_sec);
  for (int i = 0; i < 29; ++i) out[i] = tmp[i];
}

void DateCache::set_second(time_t now) {
  if (now != last_) {
    format(now, buf_);
    last_ = now;
  }
}

std::string_view DateCache::get() {
  set_second(time(nullptr));  // vDSO
  return std::string_view(buf_, 29);
}

std::string_view DateCache::refresh_lines(std::string_view server, time_t now) {
  set_second(now);
  if (lines_.empty() || !same_server(server)) {
    server_.assign(server);
    lines_.assign("date: ");
    lines_.append(buf_, 29);
    lines_.append("\r\n");
    if (!server.empty()) {
      lines_.append("Server: ");
      lines_.append(server);
      lines_.append("\r\n");
    }
  } else {
    lines_.replace(6, 29, buf_, 29);
  }
  lines_time_ = now;
  return lines_;
}

}  // namespace pagi::http
