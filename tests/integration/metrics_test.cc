// --metrics-listen end to end: the real binary on two cores answers known statuses, and the
// Prometheus text scraped from its separate metrics listener counts exactly those.
#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

using Samples = std::map<std::string, double>;  // "name{labels}" → value

Samples parse_samples(const std::string& text) {
  Samples out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

int metrics_port(const Server& s) {
  std::smatch m;
  std::string log = s.log();
  if (!std::regex_search(log, m, std::regex("metrics at http://127\\.0\\.0\\.1:(\\d+)/metrics"))) {
    return -1;
  }
  return std::stoi(m[1]);
}

std::optional<Response> scrape(std::unique_ptr<Client> c, const std::string& path = "/metrics") {
  if (!c || !c->send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")) return std::nullopt;
  return c->read_response();
}

// Counters move when an exchange is wound up, which may be a loop turn after the client has
// its response: poll until `done` holds (or the deadline passes) and return the last scrape.
template <typename Pred>
Samples scrape_until(int port, Pred done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Samples s;
  do {
    auto r = scrape(Client::tcp(port));
    if (r && r->status == 200) {
      s = parse_samples(r->body);
      if (done(s)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return s;
}

TEST(Metrics, ScrapeCountsExactlyTheRequestsSentOnTwoCores) {
  std::string why;
  auto server = Server::start(
      {app_path("status.pl"), "--cores", "2", "--metrics-listen", "127.0.0.1:0", "--no-access-log"},
      &why);
  ASSERT_TRUE(server) << why;
  int mport = metrics_port(*server);
  ASSERT_GT(mport, 0) << server->log();

  uint64_t sent_bytes = 0;
  int connections = 0;
  auto one = [&](const std::string& raw, int expect) {
    auto c = Client::tcp(server->port());
    ASSERT_TRUE(c);
    ++connections;
    ASSERT_TRUE(c->send(raw));
    sent_bytes += raw.size();
    auto r = c->read_response();
    ASSERT_TRUE(r) << raw;
    EXPECT_EQ(r->status, expect) << raw;
  };
  // Five 200s on one keep-alive connection, then one connection per other request.
  {
    auto c = Client::tcp(server->port());
    ASSERT_TRUE(c);
    ++connections;
    for (int i = 0; i < 5; ++i) {
      std::string raw = "GET /200 HTTP/1.1\r\nHost: x\r\n\r\n";
      ASSERT_TRUE(c->send(raw));
      sent_bytes += raw.size();
      auto r = c->read_response();
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
  }
  for (int i = 0; i < 3; ++i) one("GET /404 HTTP/1.1\r\nHost: x\r\n\r\n", 404);
  for (int i = 0; i < 2; ++i) one("GET /302 HTTP/1.1\r\nHost: x\r\n\r\n", 302);
  one("GET /die HTTP/1.1\r\nHost: x\r\n\r\n", 500);
  one("GET /nope HTTP/9.9\r\n\r\n", 400);  // refused by the parser: never dispatched

  Samples s = scrape_until(mport, [&](const Samples& x) {
    auto v = [&](const char* k) { return x.count(k) ? x.at(k) : -1.0; };
    return v("pagi_requests_total") == 11 && v("pagi_request_duration_seconds_count") == 11 &&
           v("pagi_connections_active") == 0 && v("pagi_received_bytes_total") == sent_bytes;
  });
  EXPECT_EQ(s["pagi_requests_total"], 11);
  EXPECT_EQ(s["pagi_responses_total{class=\"2xx\"}"], 5);
  EXPECT_EQ(s["pagi_responses_total{class=\"3xx\"}"], 2);
  EXPECT_EQ(s["pagi_responses_total{class=\"4xx\"}"], 4);  // three 404s and the 400
  EXPECT_EQ(s["pagi_responses_total{class=\"5xx\"}"], 1);
  EXPECT_EQ(s["pagi_responses_total{class=\"1xx\"}"], 0);
  EXPECT_EQ(s["pagi_responses_total{class=\"none\"}"], 0);
  EXPECT_EQ(s["pagi_bad_requests_total"], 1);
  EXPECT_EQ(s["pagi_app_errors_total"], 1);
  EXPECT_EQ(s["pagi_connections_accepted_total"], connections);
  EXPECT_EQ(s["pagi_connections_rejected_total"], 0);
  EXPECT_EQ(s["pagi_connections_active"], 0);
  EXPECT_EQ(s["pagi_received_bytes_total"], double(sent_bytes));
  EXPECT_GT(s["pagi_sent_bytes_total"], 0);
  // Latency histograms: one observation per dispatched request, cumulative buckets.
  for (std::string h : {"pagi_request_duration_seconds", "pagi_app_duration_seconds"}) {
    EXPECT_EQ(s[h + "_count"], 11) << h;
    EXPECT_EQ(s[h + "_bucket{le=\"+Inf\"}"], 11) << h;
    std::vector<std::pair<double, double>> buckets;  // (le, count)
    std::string prefix = h + "_bucket{le=\"";
    for (const auto& [k, v] : s) {
      if (k.rfind(prefix, 0) != 0 || k.find("+Inf") != std::string::npos) continue;
      buckets.emplace_back(std::stod(k.substr(prefix.size())), v);
    }
    std::sort(buckets.begin(), buckets.end());
    EXPECT_EQ(buckets.size(), 16u) << h;
    for (size_t i = 1; i < buckets.size(); ++i) {
      EXPECT_LE(buckets[i - 1].second, buckets[i].second) << h << " le=" << buckets[i].first;
    }
    ASSERT_FALSE(buckets.empty()) << h;
    EXPECT_LE(buckets.back().second, 11) << h;
    EXPECT_GT(s[h + "_sum"], 0) << h;
  }
  for (const char* core : {"0", "1"}) {
    std::string u = std::string("pagi_loop_utilisation{core=\"") + core + "\"}";
    ASSERT_TRUE(s.count(u)) << u;
    EXPECT_GE(s[u], 0.0);
    EXPECT_LE(s[u], 1.0);
    EXPECT_EQ(s[std::string("pagi_core_responsive{core=\"") + core + "\"}"], 1);
    EXPECT_GT(s[std::string("pagi_loop_seconds_total{core=\"") + core + "\"}"], 0);
  }
}

TEST(Metrics, OnlyMetricsIsServedAndAsPrometheusText) {
  std::string why;
  auto server =
      Server::start({"native:hello", "--cores", "1", "--metrics-listen", "127.0.0.1:0"}, &why);
  ASSERT_TRUE(server) << why;
  int mport = metrics_port(*server);
  ASSERT_GT(mport, 0) << server->log();
  auto ok = scrape(Client::tcp(mport));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->header("content-type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(ok->body.find("# TYPE pagi_requests_total counter\n"), std::string::npos);
  auto missing = scrape(Client::tcp(mport), "/");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto other = scrape(Client::tcp(mport), "/metricsx");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  // The app's listener knows nothing of /metrics: hello answers it like any path.
  auto app = request(server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->body, "Hello, World!");
  // Scrapes are not requests of the app.
  auto again = scrape(Client::tcp(mport));
  ASSERT_TRUE(again);
  Samples s = parse_samples(again->body);
  EXPECT_EQ(s["pagi_requests_total"], 1);
}

TEST(Metrics, UnixSocketListener) {
  TempDir dir;
  std::string path = dir.file("metrics.sock");
  std::string why;
  auto server =
      Server::start({"native:hello", "--cores", "2", "--metrics-listen", "unix:" + path}, &why);
  ASSERT_TRUE(server) << why;
  EXPECT_NE(server->log().find("metrics at unix:" + path), std::string::npos) << server->log();
  ASSERT_TRUE(request(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  Samples s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    auto r = scrape(Client::unix_socket(path));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    s = parse_samples(r->body);
    if (s["pagi_responses_total{class=\"2xx\"}"] == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(s["pagi_responses_total{class=\"2xx\"}"], 1);
  EXPECT_EQ(s["pagi_requests_total"], 1);
  EXPECT_EQ(server->stop(SIGTERM), 0);
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "the metrics socket file is removed at exit";
}

TEST(Metrics, BadAddressesExitTwoWithAMessage) {
  for (const std::string addr :
       {"nonsense", "127.0.0.1:99999", "/tmp/no-unix-prefix.sock", "unix:", "[::1]"}) {
    RunResult r = run_binary({"native:hello", "--metrics-listen", addr});
    EXPECT_EQ(r.exit_code, 2) << addr << ": " << r.out;
    EXPECT_NE(r.out.find("--metrics-listen"), std::string::npos) << addr << ": " << r.out;
  }
  RunResult same =
      run_binary({"native:hello", "--port", "5999", "--metrics-listen", "127.0.0.1:5999"});
  EXPECT_EQ(same.exit_code, 2) << same.out;
  EXPECT_NE(same.out.find("is also an app listener"), std::string::npos) << same.out;
}

}  // namespace
}  // namespace pagi::test
