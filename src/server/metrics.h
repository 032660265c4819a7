// Server metrics. Each core counts into its own CoreMetrics with plain integers (no atomics,
// no sharing on the request path); a scrape asks every core for a copy through its mailbox,
// sums the copies and renders Prometheus text exposition (format 0.0.4).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/latency_histogram.h"

namespace pagi::server {

using pagi::LatencyHistogram;

struct CoreMetrics {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // at --max-connections
  uint64_t connections_active = 0;    // a gauge
  uint64_t requests = 0;
  std::array<uint64_t, 6> responses_by_class{};  // index 1..5 = 1xx..5xx, 0 = none sent
  uint64_t bad_requests = 0;                     // answered by the parser (400/413/414/431/501)
  uint64_t app_errors = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t loop_busy_us = 0;   // loop time outside io_uring_enter, since the core started
  uint64_t loop_total_us = 0;  // wall time of the loop, since the core started
  LatencyHistogram app_latency;    // head complete → app finished
  LatencyHistogram total_latency;  // head complete → response complete
  bool responsive = true;  // answered the scrape in time (else these are its last numbers)

  void add(const CoreMetrics& o);
};

// The text a scrape returns: totals over all cores, and per-core loop utilisation.
std::string render_prometheus(const std::vector<CoreMetrics>& cores);

}  // namespace pagi::server
