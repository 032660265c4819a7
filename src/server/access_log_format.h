// Access-log line formats: the reference server's atoms and presets (PAGI.md §5.9) plus a
// `json` preset and µs durations. A format is compiled once at start-up; rendering a line
// appends to a caller's buffer and allocates nothing once that buffer has grown.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/access_sink.h"
#include "pagi/app.h"

namespace pagi::server {

using http::AccessRecord;

class AccessLogFormat {
 public:
  // A preset name (clf, combined, common, tiny, json) or a format string of atoms. Unknown
  // atoms, an unterminated `%{` and `%{X}` not followed by `i` are errors (naming the spot).
  static std::optional<AccessLogFormat> compile(std::string_view spec, std::string* error);

  // Appends one line (with the trailing '\n') to `out`.
  void render(const AccessRecord& r, std::string& out) const;

  bool is_json() const { return json_; }

 private:
  enum class Atom : uint8_t {
    kLiteral, kClient, kDash, kTime, kRequestLine, kMethod, kPath, kQuery, kProtocol,
    kStatus, kBytesOrDash, kBytes, kSeconds3, kMicros, kSecondsInt, kHeader,
  };
  struct Op {
    Atom atom;
    std::string text;  // literal text, or the lowercased header name
  };

  void render_json(const AccessRecord& r, std::string& out) const;

  std::vector<Op> ops_;
  bool json_ = false;
};

// `[DD/Mon/YYYY:HH:MM:SS +0000]`'s inside for a unix time, UTC (26 characters).
void format_clf_time(int64_t t, char out[26]);

}  // namespace pagi::server
