// What a finished request contributes to the access log, and the sink it goes to. The core
// implements the sink (server::AccessLog); protocol code only fills records, so src/http stays
// free of the server and the ring.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "pagi/app.h"

namespace pagi::http {

// Views are valid only during AccessSink::log.
struct AccessRecord {
  std::string_view client;  // IP literal; "unix" on unix sockets; "" unknown (`-`)
  std::string_view method;
  std::string_view raw_path;      // undecoded
  std::string_view query;         // without '?', "" if none
  std::string_view http_version;  // "1.1"
  int status = 0;                 // 0: no response was started (`-`)
  uint64_t bytes = 0;             // response body bytes
  uint64_t duration_us = 0;
  int64_t time = 0;                 // unix seconds when the request arrived, for %t
  std::span<const Header> headers;  // request headers, lowercased names
};

class AccessSink {
 public:
  // Renders the line at once (no view is kept).
  virtual void log(const AccessRecord& record) = 0;

 protected:
  ~AccessSink() = default;
};

}  // namespace pagi::http
