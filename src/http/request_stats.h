// What the HTTP layer counts for metrics, per core (plain integers: only the core's thread
// writes them; a scrape copies them on that thread). The server owns one per core and hands
// it to its connections through H1Context; null there means no metrics and no clock reads.
#pragma once

#include <array>
#include <cstdint>

#include "common/latency_histogram.h"

namespace pagi::http {

struct RequestStats {
  std::array<uint64_t, 6> responses_by_class{};  // index 1..5 = 1xx..5xx, 0 = none sent
  LatencyHistogram app_latency;                  // head complete → the app finished
  LatencyHistogram total_latency;                // head complete → the response complete

  void count_status(int status) {
    int c = status / 100;
    ++responses_by_class[c >= 1 && c <= 5 ? size_t(c) : 0];
  }
};

}  // namespace pagi::http
