// A latency histogram with fixed bucket bounds, cheap enough to observe on the request path
// (a short scan and three additions); kept per core and summed only when scraped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pagi {

class LatencyHistogram {
 public:
  // Upper bounds in µs: a 1-2.5-5 series from 100 µs to 10 s; the last slot is +Inf.
  static constexpr std::array<uint64_t, 16> kBoundsUs = {
      100,   250,    500,    1000,   2500,    5000,    10000,   25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

  void observe(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    ++buckets_[i];
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
  uint64_t cumulative(size_t i) const {
    uint64_t n = 0;
    for (size_t k = 0; k <= i && k < buckets_.size(); ++k) n += buckets_[k];
    return n;
  }

 private:
  std::array<uint64_t, kBoundsUs.size() + 1> buckets_{};
  uint64_t sum_us_ = 0;
  uint64_t count_ = 0;
};

}  // namespace pagi
