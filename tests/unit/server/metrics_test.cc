// Metrics: histogram buckets, summing cores, and the Prometheus text a scrape returns.
#include "server/metrics.h"

#include "http/request_stats.h"

#include <gtest/gtest.h>

namespace pagi::server {
namespace {

TEST(LatencyHistogram, BucketsAreCumulativeAndInclusive) {
  LatencyHistogram h;
  h.observe(100);       // ≤ 100 µs
  h.observe(101);       // ≤ 250 µs
  h.observe(20000000);  // above 10 s: only +Inf
  EXPECT_EQ(h.cumulative(0), 1u);
  EXPECT_EQ(h.cumulative(1), 2u);
  EXPECT_EQ(h.cumulative(LatencyHistogram::kBoundsUs.size() - 1), 2u);
  EXPECT_EQ(h.cumulative(LatencyHistogram::kBoundsUs.size()), 3u);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.sum_us(), 20000201u);
}

TEST(Metrics, CoresAreSummedWhenRendered) {
  std::vector<CoreMetrics> cores(2);
  cores[0].requests = 5;
  cores[0].responses_by_class[2] = 4;
  cores[0].responses_by_class[5] = 1;
  cores[0].connections_active = 2;
  cores[0].total_latency.observe(300);
  cores[1].requests = 7;
  cores[1].responses_by_class[2] = 7;
  cores[1].connections_active = 1;
  cores[1].total_latency.observe(300);
  cores[1].loop_busy_us = 250;
  cores[1].loop_total_us = 1000;
  std::string text = render_prometheus(cores);
  EXPECT_NE(text.find("\npagi_requests_total 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pagi_responses_total{class=\"2xx\"} 11\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_responses_total{class=\"5xx\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_connections_active 3\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_loop_utilisation{core=\"0\"} 0.000000\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_loop_utilisation{core=\"1\"} 0.250000\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_request_duration_seconds_bucket{le=\"0.000250\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("pagi_request_duration_seconds_bucket{le=\"0.000500\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("pagi_request_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("pagi_request_duration_seconds_sum 0.000600\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_request_duration_seconds_count 2\n"), std::string::npos);
}

TEST(Metrics, EveryFamilyHasHelpAndType) {
  std::string text = render_prometheus({CoreMetrics{}});
  size_t helps = 0, types = 0;
  for (size_t p = 0; (p = text.find("# HELP ", p)) != std::string::npos; ++p) ++helps;
  for (size_t p = 0; (p = text.find("# TYPE ", p)) != std::string::npos; ++p) ++types;
  EXPECT_EQ(helps, types);
  EXPECT_EQ(helps, 15u);
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, LoopCountersAndResponsivenessArePerCore) {
  std::vector<CoreMetrics> cores(2);
  cores[0].loop_busy_us = 1500000;
  cores[0].loop_total_us = 3000000;
  cores[1].responsive = false;
  std::string text = render_prometheus(cores);
  EXPECT_NE(text.find("pagi_loop_busy_seconds_total{core=\"0\"} 1.500000\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("pagi_loop_seconds_total{core=\"0\"} 3.000000\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_loop_utilisation{core=\"0\"} 0.500000\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_core_responsive{core=\"0\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pagi_core_responsive{core=\"1\"} 0\n"), std::string::npos);
}

TEST(RequestStats, StatusClassesAndNone) {
  http::RequestStats s;
  s.count_status(101);
  s.count_status(200);
  s.count_status(204);
  s.count_status(404);
  s.count_status(599);
  s.count_status(0);    // no response was started
  s.count_status(999);  // the app may send up to 999: not a class
  EXPECT_EQ(s.responses_by_class[0], 2u);
  EXPECT_EQ(s.responses_by_class[1], 1u);
  EXPECT_EQ(s.responses_by_class[2], 2u);
  EXPECT_EQ(s.responses_by_class[3], 0u);
  EXPECT_EQ(s.responses_by_class[4], 1u);
  EXPECT_EQ(s.responses_by_class[5], 1u);
}

}  // namespace
}  // namespace pagi::server
