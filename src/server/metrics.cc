// Summing per-core metrics and rendering them as Prometheus text (see metrics.h).
#include "server/metrics.h"

#include <cstdio>

namespace pagi::server {
namespace {

void line(std::string& out, const char* name, const std::string& labels, uint64_t value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

std::string seconds(uint64_t us) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6f", double(us) / 1e6);
  return buf;
}

void histogram(std::string& out, const char* name, const char* help, const LatencyHistogram& h) {
  header(out, name, "histogram", help);
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= LatencyHistogram::kBoundsUs.size(); ++i) {
    std::string le = i < LatencyHistogram::kBoundsUs.size()
                         ? seconds(LatencyHistogram::kBoundsUs[i])
                         : std::string("+Inf");
    line(out, bucket.c_str(), "le=\"" + le + "\"", h.cumulative(i));
  }
  out += name;
  out += "_sum ";
  out += seconds(h.sum_us());
  out += '\n';
  line(out, (std::string(name) + "_count").c_str(), "", h.count());
}

}  // namespace

void CoreMetrics::add(const CoreMetrics& o) {
  connections_accepted += o.connections_accepted;
  connections_rejected += o.connections_rejected;
  connections_active += o.connections_active;
  requests += o.requests;
  for (size_t i = 0; i < responses_by_class.size(); ++i) {
    responses_by_class[i] += o.responses_by_class[i];
  }
  bad_requests += o.bad_requests;
  app_errors += o.app_errors;
  bytes_received += o.bytes_received;
  bytes_sent += o.bytes_sent;
  loop_busy_us += o.loop_busy_us;
  loop_total_us += o.loop_total_us;
  app_latency.add(o.app_latency);
  total_latency.add(o.total_latency);
}

std::string render_prometheus(const std::vector<CoreMetrics>& cores) {
  CoreMetrics t;
  for (const CoreMetrics& c : cores) t.add(c);
  std::string out;
  header(out, "pagi_connections_accepted_total", "counter", "Connections accepted.");
  line(out, "pagi_connections_accepted_total", "", t.connections_accepted);
  header(out, "pagi_connections_rejected_total", "counter",
         "Connections answered 503 at --max-connections.");
  line(out, "pagi_connections_rejected_total", "", t.connections_rejected);
  header(out, "pagi_connections_active", "gauge", "Open connections.");
  line(out, "pagi_connections_active", "", t.connections_active);
  header(out, "pagi_requests_total", "counter", "Requests dispatched to the app.");
  line(out, "pagi_requests_total", "", t.requests);
  header(out, "pagi_responses_total", "counter", "Responses by status class.");
  static const char* kClasses[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (size_t i = 0; i < t.responses_by_class.size(); ++i) {
    line(out, "pagi_responses_total", std::string("class=\"") + kClasses[i] + "\"",
         t.responses_by_class[i]);
  }
  header(out, "pagi_bad_requests_total", "counter",
         "Requests refused by the parser (400, 413, 414, 431, 501).");
  line(out, "pagi_bad_requests_total", "", t.bad_requests);
  header(out, "pagi_app_errors_total", "counter", "Requests whose app failed.");
  line(out, "pagi_app_errors_total", "", t.app_errors);
  header(out, "pagi_received_bytes_total", "counter", "Bytes read from clients.");
  line(out, "pagi_received_bytes_total", "", t.bytes_received);
  header(out, "pagi_sent_bytes_total", "counter", "Bytes written to clients.");
  line(out, "pagi_sent_bytes_total", "", t.bytes_sent);
  header(out, "pagi_loop_utilisation", "gauge",
         "Share of a core's loop time spent handling events, since start.");
  for (size_t i = 0; i < cores.size(); ++i) {
    char v[32];
    double u = cores[i].loop_total_us == 0
                   ? 0.0
                   : double(cores[i].loop_busy_us) / double(cores[i].loop_total_us);
    snprintf(v, sizeof(v), "%.6f", u);
    out += "pagi_loop_utilisation{core=\"" + std::to_string(i) + "\"} " + v + "\n";
  }
  header(out, "pagi_loop_busy_seconds_total", "counter",
         "A core's loop time outside io_uring_enter (rate() of it is the utilisation).");
  for (size_t i = 0; i < cores.size(); ++i) {
    out += "pagi_loop_busy_seconds_total{core=\"" + std::to_string(i) + "\"} " +
           seconds(cores[i].loop_busy_us) + "\n";
  }
  header(out, "pagi_loop_seconds_total", "counter", "A core's loop wall time.");
  for (size_t i = 0; i < cores.size(); ++i) {
    out += "pagi_loop_seconds_total{core=\"" + std::to_string(i) + "\"} " +
           seconds(cores[i].loop_total_us) + "\n";
  }
  header(out, "pagi_core_responsive", "gauge",
         "1 if the core answered this scrape in time; 0: its numbers are from its last answer.");
  for (size_t i = 0; i < cores.size(); ++i) {
    line(out, "pagi_core_responsive", "core=\"" + std::to_string(i) + "\"",
         cores[i].responsive ? 1 : 0);
  }
  histogram(out, "pagi_app_duration_seconds",
            "Time from a complete request head to the app finishing it.", t.app_latency);
  histogram(out, "pagi_request_duration_seconds",
            "Time from a complete request head to the complete response.", t.total_latency);
  return out;
}

}  // namespace pagi::server
