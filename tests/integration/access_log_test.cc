// The access log end to end: the real binary writes one line per request (PAGI.md §5.9) to
// --access-log FILE or, in development mode, to stderr; production and --no-access-log write
// none; requests refused while parsing their head are not logged.
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "perl_fixture.h"

namespace pagi::test {
namespace {

using std::chrono::milliseconds;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Lines are written at the end of the loop turn that finished the request: poll for them.
std::vector<std::string> wait_lines(const std::string& path, size_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::string> lines;
  do {
    lines = lines_of(read_file(path));
    if (lines.size() >= n) break;
    std::this_thread::sleep_for(milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  return lines;
}

class AccessLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<Server> start(std::vector<std::string> args) {
    std::string why;
    auto s = Server::start(std::move(args), &why);
    EXPECT_TRUE(s) << why;
    return s;
  }
  std::string log_file() const { return dir_.file("access.log"); }

  // PAGI_ENV is read by the server: each test sets what it means and restores the rest.
  ScopedEnv env_{"PAGI_ENV", nullptr};  // stdin is /dev/null: production unless told
  TempDir dir_;
};

TEST_F(AccessLogTest, ClfIsTheDefaultLine) {
  auto s = start({"native:echo", "--cores", "1", "--access-log", log_file()});
  ASSERT_TRUE(s);
  auto r = request(s->port(), "GET /path/x%20y?q=1&b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto lines = wait_lines(log_file(), 1);
  ASSERT_EQ(lines.size(), 1u);
  std::regex clf(R"(127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] )"
                 R"("GET /path/x%20y\?q=1&b" 200 \d+\.\d{3}s)");
  EXPECT_TRUE(std::regex_match(lines[0], clf)) << lines[0];
  EXPECT_EQ(s->stop(SIGTERM), 0);
}

TEST_F(AccessLogTest, UnixSocketClientIsUnix) {
  std::string sock = dir_.file("pagi.sock");
  auto s = start({"native:hello", "--cores", "1", "--socket", sock, "--access-log", log_file()});
  ASSERT_TRUE(s);
  auto c = Client::unix_socket(sock);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("GET /u HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->read_response());
  auto lines = wait_lines(log_file(), 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("unix - - [", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("\"GET /u\" 200 "), std::string::npos) << lines[0];
}

TEST_F(AccessLogTest, CombinedHasRequestLineBytesRefererAndUserAgent) {
  auto s = start({"native:hello", "--cores", "1", "--access-log", log_file(), "--access-log-format",
                  "combined"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(),
                      "GET /c?z=9 HTTP/1.1\r\nHost: x\r\nReferer: http://ref/\r\n"
                      "User-Agent: agent/1.0\r\n\r\n"));
  ASSERT_TRUE(request(s->port(), "GET /none HTTP/1.0\r\n\r\n"));
  auto lines = wait_lines(log_file(), 2);
  ASSERT_EQ(lines.size(), 2u);
  std::regex combined(
      R"(127\.0\.0\.1 - - \[[^\]]+\] "GET /c\?z=9 HTTP/1\.1" 200 13 "http://ref/" "agent/1\.0")");
  EXPECT_TRUE(std::regex_match(lines[0], combined)) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(.*"GET /none HTTP/1\.0" 200 13 "-" "-")")))
      << lines[1];
}

TEST_F(AccessLogTest, TinyAndHead) {
  auto s = start(
      {"native:hello", "--cores", "1", "--access-log", log_file(), "--access-log-format", "tiny"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /t?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(request(s->port(), "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n", true));
  auto lines = wait_lines(log_file(), 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(GET /t\?x=1 200 \d+ms)"))) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(HEAD /h 200 \d+ms)"))) << lines[1];
}

TEST_F(AccessLogTest, JsonLinesParse) {
  auto s = start(
      {"native:echo", "--cores", "1", "--access-log", log_file(), "--access-log-format", "json"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(),
                      "POST /j?a=%22 HTTP/1.1\r\nHost: x\r\nUser-Agent: say \"hi\"\r\n"
                      "Content-Length: 4\r\n\r\nbody"));
  ASSERT_EQ(wait_lines(log_file(), 1).size(), 1u);
  RunResult py = run_shell(
      "python3 -c 'import json,sys\n"
      "for l in open(sys.argv[1]):\n"
      "  d = json.loads(l)\n"
      "  print(d[\"method\"], d[\"path\"], d[\"query\"], d[\"status\"], d[\"bytes\"], "
      "d[\"client\"], d[\"user_agent\"])' " +
      log_file());
  EXPECT_EQ(py.exit_code, 0) << py.out;
  EXPECT_EQ(py.out, "POST /j a=%22 200 4 127.0.0.1 say \"hi\"\n");
}

TEST_F(AccessLogTest, BodyBytesAreCountedPerKeepAliveRequest) {
  auto s = start({"native:echo", "--cores", "1", "--access-log", log_file(), "--access-log-format",
                  "%U %s %B %b"});
  ASSERT_TRUE(s);
  auto c = Client::tcp(s->port());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n12345"));
  ASSERT_TRUE(c->read_response());
  // A chunked request body: echo sends one response chunk per piece that arrives.
  ASSERT_TRUE(
      c->send("POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "4\r\nabcd\r\n"));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(c->send("7\r\nefghijk\r\n0\r\n\r\n"));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcdefghijk");
  ASSERT_TRUE(c->send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c->read_response());
  auto lines = wait_lines(log_file(), 3);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "/a 200 5 5");
  EXPECT_EQ(lines[1], "/b 200 11 11");
  EXPECT_EQ(lines[2], "/c 200 0 -");
}

TEST_F(AccessLogTest, PerlChunkedBodyIsSummed) {
  auto s = start({app_path("streaming.pl"), "--cores", "1", "--access-log", log_file(),
                  "--access-log-format", "%U %s %B"});
  ASSERT_TRUE(s);
  auto r = request(s->port(), "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "part1;part2;part3;end");
  auto lines = wait_lines(log_file(), 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "/plain 200 21");
}

TEST_F(AccessLogTest, BackstopFiveHundredIsLogged) {
  auto s = start({app_path("die_sync.pl"), "--cores", "1", "--access-log", log_file(),
                  "--access-log-format", "%m %U %s"});
  ASSERT_TRUE(s);
  auto r = request(s->port(), "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  auto lines = wait_lines(log_file(), 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "GET /boom 500");
}

TEST_F(AccessLogTest, ParseErrorsAreNotLogged) {
  auto s = start(
      {"native:hello", "--cores", "1", "--access-log", log_file(), "--access-log-format", "%U %s"});
  ASSERT_TRUE(s);
  auto bad = request(s->port(), "GET /bad HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  ASSERT_TRUE(request(s->port(), "GET /good HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(read_file(log_file()), "/good 200\n");
}

TEST_F(AccessLogTest, LinesAreFlushedAtStop) {
  auto s = start(
      {"native:hello", "--cores", "2", "--access-log", log_file(), "--access-log-format", "%U"});
  ASSERT_TRUE(s);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(request(s->port(), "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(lines_of(read_file(log_file())).size(), 20u);
}

TEST_F(AccessLogTest, DevelopmentModeLogsToStderr) {
  auto s = start({"native:hello", "--cores", "1", "-E", "development"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /dev HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(s->wait_for_log("\"GET /dev\" 200 ", std::chrono::seconds(10))) << s->log();
}

// The reference disables the log in production only: -E none keeps its default, stderr.
TEST_F(AccessLogTest, NoneModeLogsToStderr) {
  auto s = start({"native:hello", "--cores", "1", "-E", "none"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /none HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(s->wait_for_log("\"GET /none\" 200 ", std::chrono::seconds(10))) << s->log();
}

// -q mutes the server's messages, not the access log (as the reference). No banner to wait
// for, so a shell runs it on a unix socket.
TEST_F(AccessLogTest, QuietDoesNotSilenceTheAccessLog) {
  std::string sock = dir_.file("q.sock"), err = dir_.file("err");
  RunResult r =
      run_shell("'" + server_binary() + "' native:hello -E development -q --cores 1 --socket '" +
                sock + "' 2>'" + err + "' & pid=$!; for i in $(seq 200); do [ -S '" + sock +
                "' ] && break; sleep 0.05; done; curl -s -o /dev/null --unix-socket '" + sock +
                "' http://x/quiet; kill -TERM $pid; wait $pid; cat '" + err + "'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"GET /quiet\" 200 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

TEST_F(AccessLogTest, PagiEnvDevelopmentLogsToStderr) {
  ScopedEnv env("PAGI_ENV", "development");
  auto s = start({"native:hello", "--cores", "1"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /env HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(s->wait_for_log("\"GET /env\" 200 ", std::chrono::seconds(10))) << s->log();
}

TEST_F(AccessLogTest, NoAccessLogWritesNothing) {
  auto s = start({"native:hello", "--cores", "1", "-E", "development", "--no-access-log"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /quiet HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(s->log().find("GET /quiet"), std::string::npos) << s->log();
}

TEST_F(AccessLogTest, ProductionLogsOnlyWithAccessLog) {
  // stdin is not a TTY and neither -E nor PAGI_ENV is set: production.
  auto s = start({"native:hello", "--cores", "1"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /prod HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(s->log().find("GET /prod"), std::string::npos) << s->log();

  auto s2 = start({"native:hello", "--cores", "1", "-E", "production", "--access-log", log_file(),
                   "--access-log-format", "%U"});
  ASSERT_TRUE(s2);
  ASSERT_TRUE(request(s2->port(), "GET /prod2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(wait_lines(log_file(), 1), std::vector<std::string>{"/prod2"});
  EXPECT_EQ(s2->stop(SIGTERM), 0);
  EXPECT_EQ(s2->log().find("/prod2"), std::string::npos) << s2->log();
}

TEST_F(AccessLogTest, AppendsToAnExistingFile) {
  {
    std::ofstream f(log_file());
    f << "old line\n";
  }
  auto s = start(
      {"native:hello", "--cores", "1", "--access-log", log_file(), "--access-log-format", "%U"});
  ASSERT_TRUE(s);
  ASSERT_TRUE(request(s->port(), "GET /new HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(s->stop(SIGTERM), 0);
  EXPECT_EQ(read_file(log_file()), "old line\n/new\n");
}

TEST_F(AccessLogTest, BadFormatExitsTwoNamingTheFlag) {
  RunResult r = run_binary({"native:hello", "--access-log-format", "%h %Z"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("--access-log-format"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("%Z"), std::string::npos) << r.out;
}

TEST_F(AccessLogTest, UnopenableFileExitsOne) {
  RunResult r = run_binary({"native:hello", "--access-log", dir_.file("no/such/dir.log")});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("Cannot open access log"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace pagi::test
