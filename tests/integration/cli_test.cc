// The command line against the real binary: help, version, errors with exit code 2 naming the
// flag, flags for features not built yet refused (never silently ignored), the banner.
#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

void expect_usage_error(const std::vector<std::string>& args, const std::string& text) {
  RunResult r = run_binary(args);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(text), std::string::npos) << "expected '" << text << "' in: " << r.out;
}

TEST(Cli, HelpListsTheFlags) {
  RunResult r = run_binary({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--port", "--socket", "--socket-mode", "--listen", "--cores",
                           "--max-connections", "--timeout", "--shutdown-timeout",
                           "--max-body-size", "--listener-backlog"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST(Cli, Version) {
  RunResult r = run_binary({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("pagi-server 0.1.0"), std::string::npos) << r.out;
}

TEST(Cli, BadValuesExitTwoNamingTheFlag) {
  expect_usage_error({"native:hello", "--port", "abc"}, "--port");
  expect_usage_error({"native:hello", "--port", "70000"}, "--port");
  expect_usage_error({"native:hello", "--cores", "0x"}, "--cores");
  expect_usage_error({"native:hello", "--timeout", "-1"}, "--timeout");
  expect_usage_error({"native:hello", "--socket", "/tmp/x.sock", "--socket-mode", "660"},
                     "--socket-mode");
  expect_usage_error({"native:hello", "--log-level", "loud"}, "--log-level");
  expect_usage_error({"native:hello", "--no-such-flag"}, "--no-such-flag");
  expect_usage_error({"native:hello", "--port"}, "--port");
}

TEST(Cli, ConflictingFlagsExitTwo) {
  expect_usage_error({"native:hello", "--socket", "/tmp/a.sock", "--port", "8080"}, "--socket");
  expect_usage_error({"native:hello", "--listen", "127.0.0.1:0", "--host", "0.0.0.0"},
                     "--listen");
  expect_usage_error({"native:hello", "--write-high-watermark", "100", "--write-low-watermark",
                      "200"},
                     "watermark");
}

TEST(Cli, UnbuiltFeaturesAreRefused) {
  expect_usage_error({"native:hello", "--http2"}, "--http2");
  expect_usage_error({"native:hello", "--ssl-cert", "a.pem", "--ssl-key", "b.pem"}, "--ssl-");
  expect_usage_error({"native:hello", "--sync-file-threshold", "10"}, "--sync-file-threshold");
}

TEST(Cli, MissingPerlAppFileFailsWithTheReferenceMessage) {
  RunResult r = run_binary({"/nonexistent/app.pl", "--port", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("App file not found: /nonexistent/app.pl"), std::string::npos) << r.out;
}

TEST(Cli, UnknownNativeApp) {
  expect_usage_error({"native:nope"}, "unknown native app");
}

TEST(Cli, BannerNamesListenerCoresAndLimits) {
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "2", "--max-connections", "77"}, &why);
  ASSERT_TRUE(s) << why;
  std::string log = s->log();
  EXPECT_NE(log.find("PAGI Server listening on http://127.0.0.1:" + std::to_string(s->port()) +
                     "/ (loop: io_uring, cores: 2, max_conn: 77/core"),
            std::string::npos)
      << log;
}

TEST(Cli, MoreCoresThanCpusWarnsAndServes) {
  std::string why;
  auto s = Server::start({"native:hello", "--cores", "16"}, &why);
  ASSERT_TRUE(s) << why;
  EXPECT_NE(s->log().find("more than the"), std::string::npos) << s->log();
  auto r = request(s->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Cli, WorkersIsAnAliasForCores) {
  std::string why;
  auto s = Server::start({"native:hello", "-w", "3"}, &why);
  ASSERT_TRUE(s) << why;
  EXPECT_NE(s->log().find("cores: 3"), std::string::npos) << s->log();
}

TEST(Cli, QuietKeepsTheBannerOut) {
  TempDir dir;
  std::string path = dir.file("q.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", path, "-q"}, &why);
  // The harness waits for the banner; with -q there is none, so it must time out instead.
  EXPECT_FALSE(s);
}

}  // namespace
}  // namespace pagi::test
