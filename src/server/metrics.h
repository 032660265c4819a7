// Server metrics. Each core counts into its own CoreMetrics with plain integers (no atomics,
// no sharing on the request path); a scrape asks every core for a copy through its mailbox,
// sums the copies and renders Prometheus text exposition (format 0.0.4).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pagi::server {

// Latency histogram with fixed bucket bounds in µs (a 1-2-5 series from 100 µs to 10 s).
class LatencyHistogram {
 public:
  static constexpr std::array<uint64_t, 16> kBoundsUs = {
      100,    250,    500,     1000,    2500,    5000,    10000,    25000,
      50000,  100000, 250000,  500000,  1000000, 2500000, 5000000,  10000000};

  void observe(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    ++buckets_[i];  // the last slot is +Inf
    sum_us_ += us;
    ++count_;
  }
  void add(const LatencyHistogram& o) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    sum_us_ += o.sum_us_;
    count_ += o.count_;
  }
  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  // Observations ≤ kBoundsUs[i] (cumulative), or all of them for i == kBoundsUs.size().
  uint64_t cumulative(size_t i) const;

 private:
  std::array<uint64_t, kBoundsUs.size() + 1> buckets_{};
  uint64_t sum_us_ = 0;
  uint64_t count_ = 0;
};

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
  uint64_t loop_busy_us = 0;   // time spent handling completions
  uint64_t loop_total_us = 0;  // wall time of the loop
  LatencyHistogram app_latency;    // request dispatch → app finished
  LatencyHistogram total_latency;  // head received → response written

  void add(const CoreMetrics& o);
};

// The text a scrape returns: totals over all cores, and per-core loop utilisation.
std::string render_prometheus(const std::vector<CoreMetrics>& cores);

}  // namespace pagi::server
