// Access-log formats: the reference's presets render the same lines, every atom, the json
// preset, and format errors.
#include "server/access_log_format.h"

#include <gtest/gtest.h>

namespace pagi::server {
namespace {

constexpr int64_t kTime = 1795565045;  // 2026-11-25 00:04:05 UTC

const Header kHeaders[] = {
    {"host", "example.com"},
    {"referer", "https://example.com/start"},
    {"user-agent", "curl/7.88.1"},
};

AccessRecord Record() {
  AccessRecord r;
  r.client = "127.0.0.1";
  r.method = "GET";
  r.raw_path = "/caf%C3%A9";
  r.query = "a=1&b=2";
  r.http_version = "1.1";
  r.status = 200;
  r.bytes = 13;
  r.duration_us = 1234567;
  r.time = kTime;
  r.headers = kHeaders;
  return r;
}

std::string Render(std::string_view spec, const AccessRecord& r) {
  std::string error;
  auto f = AccessLogFormat::compile(spec, &error);
  EXPECT_TRUE(f) << error;
  std::string out;
  if (f) f->render(r, out);
  return out;
}

TEST(AccessLogFormat, ClfIsTheDefaultPreset) {
  EXPECT_EQ(Render("clf", Record()),
            "127.0.0.1 - - [25/Nov/2026:00:04:05 +0000] \"GET /caf%C3%A9?a=1&b=2\" 200 1.235s\n");
}

TEST(AccessLogFormat, CombinedHasRequestLineSizeRefererAndAgent) {
  EXPECT_EQ(Render("combined", Record()),
            "127.0.0.1 - - [25/Nov/2026:00:04:05 +0000] \"GET /caf%C3%A9?a=1&b=2 HTTP/1.1\" 200 13 "
            "\"https://example.com/start\" \"curl/7.88.1\"\n");
}

TEST(AccessLogFormat, CommonAndTiny) {
  EXPECT_EQ(Render("common", Record()),
            "127.0.0.1 - - [25/Nov/2026:00:04:05 +0000] \"GET /caf%C3%A9?a=1&b=2 HTTP/1.1\" 200 "
            "13\n");
  EXPECT_EQ(Render("tiny", Record()), "GET /caf%C3%A9?a=1&b=2 200 1234567ms\n");
}

TEST(AccessLogFormat, EveryAtom) {
  EXPECT_EQ(Render("%h|%l|%u|%m|%U|%q|%H|%s|%b|%B|%d|%D|%T|%%|%{Host}i|%{X-Missing}i",
                   Record()),
            "127.0.0.1|-|-|GET|/caf%C3%A9|?a=1&b=2|HTTP/1.1|200|13|13|1.235|1234567|1|%|"
            "example.com|-\n");
}

TEST(AccessLogFormat, MissingValuesBecomeDashes) {
  AccessRecord r = Record();
  r.client = {};
  r.status = 0;
  r.bytes = 0;
  r.query = {};
  EXPECT_EQ(Render("%h %s %b %B %q.", r), "- - - 0 .\n");
}

TEST(AccessLogFormat, UnixClientsAreLoggedAsUnix) {
  AccessRecord r = Record();
  r.client = "unix";
  EXPECT_EQ(Render("%h", r), "unix\n");
}

TEST(AccessLogFormat, DurationsRound) {
  AccessRecord r = Record();
  r.duration_us = 499;
  EXPECT_EQ(Render("%d %D %T", r), "0.000 499 0\n");
  r.duration_us = 500;
  EXPECT_EQ(Render("%d", r), "0.001\n");
  r.duration_us = 61999999;
  EXPECT_EQ(Render("%d %T", r), "62.000 61\n");
}

TEST(AccessLogFormat, JsonPresetEscapesStrings) {
  AccessRecord r = Record();
  const Header h[] = {{"user-agent", "a \"quoted\" \\ agent\x01"}};
  r.headers = h;
  EXPECT_EQ(Render("json", r),
            "{\"time\":\"25/Nov/2026:00:04:05 +0000\",\"client\":\"127.0.0.1\",\"method\":\"GET\","
            "\"path\":\"/caf%C3%A9\",\"query\":\"a=1&b=2\",\"protocol\":\"HTTP/1.1\",\"status\":200,"
            "\"bytes\":13,\"duration_us\":1234567,\"referer\":\"\","
            "\"user_agent\":\"a \\\"quoted\\\" \\\\ agent\\u0001\"}\n");
}

TEST(AccessLogFormat, ATrailingPercentIsDropped) {
  EXPECT_EQ(Render("%s %", Record()), "200 \n");
}

TEST(AccessLogFormat, ErrorsAreReported) {
  std::string error;
  EXPECT_FALSE(AccessLogFormat::compile("%h %Z", &error));
  EXPECT_EQ(error, "unknown access log format atom '%Z'");
  EXPECT_FALSE(AccessLogFormat::compile("%{Referer", &error));
  EXPECT_EQ(error, "unterminated %{...} in access log format");
  EXPECT_FALSE(AccessLogFormat::compile("%{Referer}o", &error));
  EXPECT_EQ(error, "expected 'i' after %{Referer} in access log format");
}

TEST(AccessLogFormat, ClfTimeIsUtc) {
  char t[26];
  format_clf_time(0, t);
  EXPECT_EQ(std::string(t, 26), "01/Jan/1970:00:00:00 +0000");
}

}  // namespace
}  // namespace pagi::server
