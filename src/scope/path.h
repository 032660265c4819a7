// Request-target helpers of the PAGI scope: percent-decoding of the path and a UTF-8 check,
// so `path` is the decoded text when it is UTF-8 and the decoded bytes otherwise (PAGI.md §2.1).
#pragma once

#include <string>
#include <string_view>

#include "common/utf8.h"

namespace pagi::scope {

// Appends the percent-decoding of `in` to `out`. `%XY` with two hex digits becomes one byte;
// a `%` not followed by two hex digits is kept as it is. `+` is not a space in a path.
void percent_decode(std::string_view in, std::string& out);

// True if `in` contains a `%` (decoding would change it).
inline bool needs_decoding(std::string_view in) { return in.find('%') != std::string_view::npos; }

// Strict UTF-8 (RFC 3629): the one validator of common/utf8.h.
using pagi::is_valid_utf8;

}  // namespace pagi::scope
