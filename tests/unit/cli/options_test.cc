// Command-line parsing (src/cli/options.h): every flag's spellings, its defaults, the exact error
// for each bad value, listener resolution and the flags refused because they are not built.
#include "cli/options.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace pagi::cli {

void PrintTo(const ListenSpec& l, std::ostream* os) {
  if (l.kind == ListenSpec::Kind::kTcp) {
    *os << "tcp " << l.host << " port " << l.port;
  } else {
    *os << "unix " << l.path << " mode " << (l.mode ? std::to_string(*l.mode) : "none");
  }
}

namespace {

ParseOutcome run(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"pagi-server"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);  // as the kernel hands argv to main
  return parse(int(argv.size() - 1), argv.data());
}

// A successful parse; a failure is reported with its message and yields default Options.
Options ok(const std::vector<std::string>& args) {
  ParseOutcome r = run(args);
  EXPECT_TRUE(r.options.has_value()) << r.error;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.error, "");
  return r.options.value_or(Options{});
}

// A failed parse: exit code 2, no Options, and the one-line message.
std::string err(const std::vector<std::string>& args) {
  ParseOutcome r = run(args);
  EXPECT_FALSE(r.options.has_value());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  return r.error;
}

ListenSpec tcp(std::string host, int port) {
  ListenSpec l;
  l.kind = ListenSpec::Kind::kTcp;
  l.host = std::move(host);
  l.port = port;
  return l;
}

ListenSpec unix_at(std::string path, std::optional<int> mode = std::nullopt) {
  ListenSpec l;
  l.kind = ListenSpec::Kind::kUnix;
  l.path = std::move(path);
  l.mode = mode;
  return l;
}

Options defaults_for(std::string app) {
  Options o;
  o.app = std::move(app);
  o.listeners = {tcp("127.0.0.1", 5000)};
  return o;
}

// ---- defaults and purity ----------------------------------------------------------------

TEST(OptionsTest, DefaultsAreTheReferenceDefaults) {
  Options o = ok({"native:hello"});
  EXPECT_EQ(o, defaults_for("native:hello"));
  EXPECT_EQ(o.listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 5000)});
  EXPECT_EQ(o.cores, 0);
  EXPECT_EQ(o.listener_backlog, 2048);
  EXPECT_EQ(o.max_connections, 0);
  EXPECT_EQ(o.max_body_size, 10'000'000u);
  EXPECT_EQ(o.max_header_size, 8192);
  EXPECT_EQ(o.max_header_count, 100);
  EXPECT_EQ(o.max_receive_queue, 1000);
  EXPECT_EQ(o.max_ws_frame_size, 65536);
  EXPECT_EQ(o.max_requests, 0);
  EXPECT_EQ(o.write_high_watermark, 65536);
  EXPECT_EQ(o.write_low_watermark, 16384);
  EXPECT_EQ(o.sync_file_threshold, 65536);
  EXPECT_EQ(o.timeout, 60);
  EXPECT_EQ(o.shutdown_timeout, 30);
  EXPECT_EQ(o.request_timeout, 0);
  EXPECT_EQ(o.ws_idle_timeout, 0);
  EXPECT_EQ(o.sse_idle_timeout, 0);
  EXPECT_EQ(o.heartbeat_timeout, 50);
  EXPECT_EQ(o.lifespan_startup_timeout, 30);
  EXPECT_EQ(o.lifespan, LifespanMode::kAuto);
  EXPECT_EQ(o.log_level, LogLevel::kInfo);
  EXPECT_FALSE(o.quiet);
  EXPECT_EQ(o.env_mode, "");
  EXPECT_FALSE(o.access_log.has_value());
  EXPECT_FALSE(o.no_access_log);
  EXPECT_EQ(o.access_log_format, "clf");
  EXPECT_FALSE(o.eval_code.has_value());
  EXPECT_TRUE(o.modules.empty());
  EXPECT_TRUE(o.libs.empty());
  EXPECT_TRUE(o.app_args.empty());
  EXPECT_FALSE(o.show_help);
  EXPECT_FALSE(o.show_version);
}

TEST(OptionsTest, NoApplicationIsAnError) {
  EXPECT_EQ(err({}),
            "no application given (for example: pagi-server native:hello, or pagi-server app.pl)");
  EXPECT_EQ(err({"--port", "8080"}),
            "no application given (for example: pagi-server native:hello, or pagi-server app.pl)");
}

TEST(OptionsTest, SameInputSameResult) {
  ParseOutcome a = run({"native:hello", "--port", "abc"});
  ParseOutcome b = run({"native:hello", "--port", "abc"});
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(ok({"native:echo", "-p", "1"}), ok({"native:echo", "-p", "1"}));
}

TEST(OptionsTest, ArgcLimitsWhatIsRead) {
  const char* argv[] = {"pagi-server", "native:hello", "--port", "abc", nullptr};
  ParseOutcome r = parse(2, argv);
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 5000)});
}

// ---- help and version -------------------------------------------------------------------

TEST(OptionsTest, HelpNeedsNoApp) {
  for (const char* flag : {"--help", "-h", "-help"}) {
    Options o = ok({flag});
    EXPECT_TRUE(o.show_help) << flag;
    EXPECT_FALSE(o.show_version) << flag;
  }
}

TEST(OptionsTest, VersionNeedsNoApp) {
  for (const char* flag : {"--version", "-v", "-version"}) {
    Options o = ok({flag});
    EXPECT_TRUE(o.show_version) << flag;
    EXPECT_FALSE(o.show_help) << flag;
  }
}

TEST(OptionsTest, HelpSkipsConsistencyChecksButNotBadValues) {
  EXPECT_TRUE(ok({"--help", "--socket", "/tmp/a.sock", "--port", "1"}).show_help);
  EXPECT_EQ(err({"--help", "--port", "abc"}), "--port: 'abc' is not a valid port (0-65535)");
  EXPECT_EQ(err({"--help", "--http2"}), "--http2: not supported yet (HTTP/2 is not built)");
}

TEST(OptionsTest, VersionLine) {
  EXPECT_EQ(version_line(), "pagi-server " PAGI_VERSION " (PAGI 0.3, PAGI::Server compatible)");
  EXPECT_NE(version_line().find("pagi-server 0.1.0"), std::string::npos);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The help line that documents `flag` (the flag followed by a space, a comma or the line end).
std::string help_line(const std::string& flag) {
  for (const std::string& line : lines_of(help_text())) {
    size_t at = line.find(flag);
    while (at != std::string::npos) {
      size_t end = at + flag.size();
      bool starts = at == 0 || line[at - 1] == ' ';
      bool ends = end == line.size() || line[end] == ' ' || line[end] == ',';
      if (starts && ends && at < 8) return line;
      at = line.find(flag, at + 1);
    }
  }
  return "";
}

TEST(OptionsTest, HelpListsEveryFlagOnItsOwnLine) {
  const char* flags[] = {"--app",
                         "-a",
                         "-e",
                         "-M",
                         "--lib",
                         "-I",
                         "--host",
                         "-o",
                         "--port",
                         "-p",
                         "--socket",
                         "--socket-mode",
                         "--listen",
                         "--listener-backlog",
                         "-b",
                         "--reuseport",
                         "--cores",
                         "--workers",
                         "-w",
                         "--max-connections",
                         "--max-body-size",
                         "--max-header-size",
                         "--max-header-count",
                         "--max-receive-queue",
                         "--max-ws-frame-size",
                         "--max-requests",
                         "--write-high-watermark",
                         "--write-low-watermark",
                         "--sync-file-threshold",
                         "--timeout",
                         "--shutdown-timeout",
                         "--request-timeout",
                         "--ws-idle-timeout",
                         "--sse-idle-timeout",
                         "--heartbeat-timeout",
                         "--lifespan-startup-timeout",
                         "--lifespan",
                         "--log-level",
                         "--quiet",
                         "-q",
                         "--env",
                         "-E",
                         "--access-log",
                         "--no-access-log",
                         "--access-log-format",
                         "--server",
                         "-s",
                         "--help",
                         "-h",
                         "--version",
                         "-v",
                         "--http2",
                         "--ssl-cert",
                         "--ssl-key",
                         "--daemonize",
                         "-D",
                         "--user",
                         "--group",
                         "--loop",
                         "-l",
                         "--future-xs",
                         "--default-middleware",
                         "--no-default-middleware"};
  for (const char* flag : flags) EXPECT_NE(help_line(flag), "") << flag;
  for (const std::string& line : lines_of(help_text())) {
    EXPECT_LE(line.size(), 100u) << line;
  }
  EXPECT_EQ(help_text().find("Usage: pagi-server [options] [app] [key=value ...]\n"), 0u);
  EXPECT_EQ(help_text().back(), '\n');
}

TEST(OptionsTest, HelpShowsDefaultsFromOptions) {
  const Options d;
  EXPECT_NE(help_line("--port").find("(default: 5000)"), std::string::npos);
  EXPECT_NE(help_line("--host").find("(default: 127.0.0.1)"), std::string::npos);
  EXPECT_NE(help_line("--listener-backlog").find("(default: 2048)"), std::string::npos);
  EXPECT_NE(help_line("--max-connections").find("(default: 0)"), std::string::npos);
  EXPECT_NE(help_line("--max-body-size").find("(default: 10000000)"), std::string::npos);
  EXPECT_NE(help_line("--max-header-size").find("(default: 8192)"), std::string::npos);
  EXPECT_NE(help_line("--timeout").find("(default: " + std::to_string(d.timeout) + ")"),
            std::string::npos);
  EXPECT_NE(help_line("--shutdown-timeout").find("(default: 30)"), std::string::npos);
  EXPECT_NE(help_line("--write-low-watermark").find("(default: 16384)"), std::string::npos);
  EXPECT_NE(help_line("--log-level").find("(default: info)"), std::string::npos);
  EXPECT_NE(help_line("--access-log-format").find("(default: clf)"), std::string::npos);
}

TEST(OptionsTest, HelpMarksWhatIsNotBuilt) {
  EXPECT_NE(help_line("--sync-file-threshold").find("[not yet]"), std::string::npos);
  for (const char* flag : {"--port",
                           "--socket",
                           "--cores",
                           "--timeout",
                           "--max-body-size",
                           "-e",
                           "-M",
                           "--lib",
                           "--access-log",
                           "--access-log-format",
                           "--request-timeout",
                           "--metrics-listen",
                           "--proxy-headers",
                           "--max-ws-frame-size",
                           "--max-receive-queue",
                           "--ws-idle-timeout",
                           "--sse-idle-timeout",
                           "--max-ws-message-size",
                           "--ws-compression",
                           "--max-requests",
                           "--heartbeat-timeout"}) {
    EXPECT_EQ(help_line(flag).find("[not yet]"), std::string::npos) << flag;
  }
  for (const char* flag : {"--http2", "--ssl-cert", "--loop"}) {
    EXPECT_NE(help_line(flag).find("not supported"), std::string::npos) << flag;
  }
  EXPECT_NE(help_line("--reuseport").find("always on"), std::string::npos);
}

// ---- spellings --------------------------------------------------------------------------

TEST(OptionsTest, PortSpellings) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--port", "8080"},
                                             {"--port=8080"},
                                             {"-p", "8080"},
                                             {"-p8080"},
                                             {"-p=8080"},
                                             {"-port", "8080"},
                                             {"-port=8080"},
                                             {"--p", "8080"}}) {
    std::vector<std::string> full = args;
    full.push_back("native:hello");
    EXPECT_EQ(ok(full).listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 8080)}) << args[0];
  }
}

TEST(OptionsTest, OptionsAndPositionalsInterleave) {
  Options o = ok({"-p", "1", "My::App", "--cores", "2", "a=b", "-q", "c=d"});
  EXPECT_EQ(o.app, "My::App");
  EXPECT_EQ(o.app_args, (std::vector<std::string>{"a=b", "c=d"}));
  EXPECT_EQ(o.cores, 2);
  EXPECT_TRUE(o.quiet);
}

TEST(OptionsTest, DoubleDashEndsOptions) {
  Options o = ok({"--", "-p"});
  EXPECT_EQ(o.app, "-p");
  EXPECT_EQ(o.listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 5000)});
  o = ok({"-p", "9", "native:echo", "--", "--cores=3"});
  EXPECT_EQ(o.app_args, std::vector<std::string>{"--cores=3"});
  EXPECT_EQ(o.cores, 0);
  EXPECT_EQ(err({"native:echo", "--", "--quiet"}),
            "unexpected argument '--quiet' after the app 'native:echo' (only key=value "
            "arguments may follow it)");
}

TEST(OptionsTest, LoneDashIsAPositional) {
  EXPECT_EQ(ok({"-"}).app, "-");
}

TEST(OptionsTest, EmptyPositionalIsNotAnApp) {
  EXPECT_EQ(err({""}), "empty app name");
  EXPECT_EQ(err({"app.pl", ""}),
            "unexpected argument '' after the app 'app.pl' (only key=value arguments may follow "
            "it)");
}

TEST(OptionsTest, MissingValueNamesTheFlag) {
  EXPECT_EQ(err({"native:hello", "--port"}), "--port: missing value (PORT)");
  EXPECT_EQ(err({"native:hello", "-p"}), "-p/--port: missing value (PORT)");
  EXPECT_EQ(err({"native:hello", "--socket"}), "--socket: missing value (PATH)");
  EXPECT_EQ(err({"native:hello", "--listen"}), "--listen: missing value (SPEC)");
  EXPECT_EQ(err({"native:hello", "--timeout"}), "--timeout: missing value (SECS)");
  EXPECT_EQ(err({"-e"}), "-e: missing value (CODE)");
  EXPECT_EQ(err({"native:hello", "-M"}), "-M: missing value (MODULE)");
}

TEST(OptionsTest, RequiredValueIsTakenEvenIfItLooksLikeAFlag) {
  EXPECT_EQ(ok({"-e", "-1"}).eval_code, "-1");
  EXPECT_EQ(ok({"native:hello", "--access-log-format", "-%h"}).access_log_format, "-%h");
  EXPECT_EQ(err({"native:hello", "--port", "--quiet"}),
            "--port: '--quiet' is not a valid port (0-65535)");
}

TEST(OptionsTest, FlagsWithoutValuesRefuseOne) {
  EXPECT_EQ(err({"native:hello", "--quiet=1"}), "--quiet: takes no value");
  EXPECT_EQ(err({"native:hello", "-q=1"}), "-q/--quiet: takes no value");
  EXPECT_EQ(err({"native:hello", "--reuseport=yes"}), "--reuseport: takes no value");
  EXPECT_EQ(err({"--help=x"}), "--help: takes no value");
}

TEST(OptionsTest, NoBundlingOfShortFlags) {
  EXPECT_EQ(err({"native:hello", "-qv"}), "-qv: unknown option");
}

TEST(OptionsTest, UnknownFlagsAreNamedAsGiven) {
  EXPECT_EQ(err({"native:hello", "--no-such-flag"}), "--no-such-flag: unknown option");
  EXPECT_EQ(err({"native:hello", "--no-such-flag=3"}), "--no-such-flag: unknown option");
  EXPECT_EQ(err({"native:hello", "-x"}), "-x: unknown option");
  EXPECT_EQ(err({"native:hello", "-xyz"}), "-xyz: unknown option");
  EXPECT_EQ(err({"native:hello", "--Port", "1"}), "--Port: unknown option");
  EXPECT_EQ(err({"native:hello", "--por", "1"}), "--por: unknown option");  // no abbreviations
  EXPECT_EQ(err({"native:hello", "--=1"}), "--=1: unknown option");
}

TEST(OptionsTest, FirstErrorWins) {
  EXPECT_EQ(err({"native:hello", "--port", "abc", "--cores", "0"}),
            "--port: 'abc' is not a valid port (0-65535)");
}

// ---- app, -e, -M, -I ----------------------------------------------------------------------

TEST(OptionsTest, PositionalAppAndKeyValueArgs) {
  Options o = ok({"PAGI::App::Directory", "root=/var/www", "show_hidden=1"});
  EXPECT_EQ(o.app, "PAGI::App::Directory");
  EXPECT_EQ(o.app_args, (std::vector<std::string>{"root=/var/www", "show_hidden=1"}));
  EXPECT_EQ(ok({"./app.pl"}).app, "./app.pl");
  EXPECT_EQ(ok({"native:/x/libapp.so?arg"}).app, "native:/x/libapp.so?arg");
}

TEST(OptionsTest, StrayPositionalAfterTheAppIsAnError) {
  EXPECT_EQ(err({"app.pl", "other.pl"}),
            "unexpected argument 'other.pl' after the app 'app.pl' (only key=value arguments "
            "may follow it)");
}

TEST(OptionsTest, KeyValueBeforeThePositionalAppIsAnError) {
  EXPECT_EQ(err({"root=/x", "My::App"}),
            "'root=/x' comes before the app 'My::App'; key=value arguments must follow the app");
  EXPECT_EQ(err({"root=/x"}),
            "no application given (for example: pagi-server native:hello, or pagi-server app.pl)");
}

TEST(OptionsTest, AppFlag) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-a", "app.pl"}, {"--app", "app.pl"}, {"--app=app.pl"}, {"-aapp.pl"}}) {
    Options o = ok(args);
    EXPECT_EQ(o.app, "app.pl") << args[0];
  }
  // With -a, key=value arguments may come anywhere, as Getopt collects -a wherever it is.
  Options o = ok({"x=1", "-a", "app.pl", "y=2"});
  EXPECT_EQ(o.app, "app.pl");
  EXPECT_EQ(o.app_args, (std::vector<std::string>{"x=1", "y=2"}));
  EXPECT_EQ(err({"-a", "app.pl", "other.pl"}),
            "unexpected argument 'other.pl': the app is already given by -a/--app");
  EXPECT_EQ(err({"-a", ""}), "-a/--app: empty value");
  EXPECT_EQ(ok({"-a", "one.pl", "-a", "two.pl"}).app, "two.pl");  // last wins, as in Getopt
}

TEST(OptionsTest, EvalCode) {
  Options o = ok({"-e", "sub { 1 }"});
  EXPECT_EQ(o.eval_code, "sub { 1 }");
  EXPECT_EQ(o.app, "");
  EXPECT_EQ(o.listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 5000)});
  EXPECT_EQ(ok({"-esub{1}"}).eval_code, "sub{1}");
  EXPECT_EQ(ok({"-e", "x", "k=v"}).app_args, std::vector<std::string>{"k=v"});
  // The reference splits cuddled -e before reading long names, so -env is -e 'nv' there too.
  EXPECT_EQ(ok({"-env"}).eval_code, "nv");
  EXPECT_EQ(err({"-e", "x", "app.pl"}),
            "unexpected argument 'app.pl': the app is already given by -e");
  EXPECT_EQ(err({"-e", "x", "-a", "app.pl"}), "-e: cannot be combined with -a/--app");
  EXPECT_EQ(err({"-e", ""}), "-e: empty value");
}

TEST(OptionsTest, ModulesAndLibsAreCollectedInOrder) {
  Options o = ok({"-MFoo", "-M", "Bar=a,b", "-M=Baz", "-I", "lib", "-Ivendor", "--lib", "l3",
                  "--lib=l4", "-lib", "l5", "-e", "Foo->app"});
  EXPECT_EQ(o.modules, (std::vector<std::string>{"Foo", "Bar=a,b", "=Baz"}));
  EXPECT_EQ(o.libs, (std::vector<std::string>{"lib", "vendor", "l3", "l4", "l5"}));
  EXPECT_EQ(o.eval_code, "Foo->app");
  EXPECT_EQ(err({"app.pl", "-M", ""}), "-M: empty value");
  EXPECT_EQ(err({"app.pl", "-I", ""}), "-I/--lib: empty value");
}

// ---- listeners: --host / --port / --socket / --socket-mode -----------------------------

TEST(OptionsTest, Host) {
  EXPECT_EQ(ok({"x.pl", "-o", "0.0.0.0"}).listeners, std::vector<ListenSpec>{tcp("0.0.0.0", 5000)});
  EXPECT_EQ(ok({"x.pl", "-o0.0.0.0", "-p0"}).listeners, std::vector<ListenSpec>{tcp("0.0.0.0", 0)});
  EXPECT_EQ(ok({"x.pl", "--host", "localhost"}).listeners,
            std::vector<ListenSpec>{tcp("localhost", 5000)});
  EXPECT_EQ(ok({"x.pl", "--host", "::1"}).listeners, std::vector<ListenSpec>{tcp("::1", 5000)});
  EXPECT_EQ(ok({"x.pl", "--host=[::1]", "--port=80"}).listeners,
            std::vector<ListenSpec>{tcp("::1", 80)});
  EXPECT_EQ(ok({"x.pl", "--host", "[fe80::1%eth0]"}).listeners,
            std::vector<ListenSpec>{tcp("fe80::1%eth0", 5000)});
  EXPECT_EQ(ok({"x.pl", "--host", "::"}).listeners, std::vector<ListenSpec>{tcp("::", 5000)});
}

TEST(OptionsTest, BadHost) {
  EXPECT_EQ(err({"x.pl", "--host", ""}), "--host: empty host");
  EXPECT_EQ(err({"x.pl", "--host", "[::1"}), "--host: '[::1' is not a bracketed IPv6 address");
  EXPECT_EQ(err({"x.pl", "--host", "[]"}), "--host: '[]' is not a bracketed IPv6 address");
  EXPECT_EQ(err({"x.pl", "--host", "[1.2.3.4]"}),
            "--host: '[1.2.3.4]' is not a bracketed IPv6 address");
  EXPECT_EQ(err({"x.pl", "-o", "1:2:3"}), "-o/--host: '1:2:3' is not a valid IPv6 address");
  EXPECT_EQ(err({"x.pl", "-o", "fe80::1%"}), "-o/--host: 'fe80::1%' is not a valid IPv6 address");
}

TEST(OptionsTest, Port) {
  EXPECT_EQ(ok({"x.pl", "--port", "0"}).listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 0)});
  EXPECT_EQ(ok({"x.pl", "--port", "65535"}).listeners,
            std::vector<ListenSpec>{tcp("127.0.0.1", 65535)});
  EXPECT_EQ(ok({"x.pl", "--port", "080"}).listeners, std::vector<ListenSpec>{tcp("127.0.0.1", 80)});
  EXPECT_EQ(ok({"x.pl", "-p", "1", "-p", "2"}).listeners,
            std::vector<ListenSpec>{tcp("127.0.0.1", 2)});
}

TEST(OptionsTest, BadPort) {
  for (const char* bad : {"abc", "70000", "65536", "-1", "", "+80", " 80", "80 ", "1.5", "0x50",
                          "99999999999999999999999"}) {
    EXPECT_EQ(err({"x.pl", "--port", bad}),
              std::string("--port: '") + bad + "' is not a valid port (0-65535)");
  }
  EXPECT_EQ(err({"x.pl", "-pabc"}), "-p/--port: 'abc' is not a valid port (0-65535)");
}

TEST(OptionsTest, Socket) {
  EXPECT_EQ(ok({"x.pl", "--socket", "/run/app/pagi.sock"}).listeners,
            std::vector<ListenSpec>{unix_at("/run/app/pagi.sock")});
  EXPECT_EQ(ok({"x.pl", "--socket=rel.sock", "--socket-mode", "0660"}).listeners,
            std::vector<ListenSpec>{unix_at("rel.sock", 0660)});
  EXPECT_EQ(ok({"x.pl", "--socket", "/s", "--socket-mode=0777"}).listeners,
            std::vector<ListenSpec>{unix_at("/s", 0777)});
  EXPECT_EQ(ok({"x.pl", "--socket", "/s", "--socket-mode", "0000"}).listeners,
            std::vector<ListenSpec>{unix_at("/s", 0)});
  EXPECT_EQ(ok({"x.pl", "--socket", "/a", "--socket", "/b"}).listeners,
            std::vector<ListenSpec>{unix_at("/b")});
  std::string longest(107, 'x');
  longest[0] = '/';
  EXPECT_EQ(ok({"x.pl", "--socket", longest}).listeners, std::vector<ListenSpec>{unix_at(longest)});
}

TEST(OptionsTest, BadSocket) {
  EXPECT_EQ(err({"x.pl", "--socket", ""}), "--socket: empty socket path");
  EXPECT_EQ(err({"x.pl", "--socket", "/" + std::string(107, 'x')}),
            "--socket: socket path is 108 bytes, more than the 107 a unix socket allows");
}

TEST(OptionsTest, BadSocketMode) {
  for (const char* bad : {"660", "0668", "06600", "00660", "0o660", "", "0x66", "1660", "+660"}) {
    EXPECT_EQ(err({"x.pl", "--socket", "/s", "--socket-mode", bad}),
              std::string("--socket-mode: '") + bad + "' is not an octal mode like 0660");
  }
}

TEST(OptionsTest, SocketModeWithoutAUnixListener) {
  const std::string why =
      "--socket-mode: applies to unix sockets, and no --socket or --listen PATH is given";
  EXPECT_EQ(err({"x.pl", "--socket-mode", "0660"}), why);
  EXPECT_EQ(err({"x.pl", "--port", "80", "--socket-mode", "0660"}), why);
  EXPECT_EQ(err({"x.pl", "--listen", "0.0.0.0:80", "--socket-mode", "0660"}), why);
}

TEST(OptionsTest, SocketExcludesOtherListeners) {
  EXPECT_EQ(err({"x.pl", "--socket", "/tmp/a.sock", "--port", "8080"}),
            "--socket: cannot be combined with --port");
  EXPECT_EQ(err({"x.pl", "--socket", "/tmp/a.sock", "-o", "0.0.0.0"}),
            "--socket: cannot be combined with --host");
  EXPECT_EQ(err({"x.pl", "-p", "1", "--host", "::1", "--socket", "/tmp/a.sock"}),
            "--socket: cannot be combined with --host and --port");
  EXPECT_EQ(err({"x.pl", "--socket", "/tmp/a.sock", "--listen", "/tmp/b.sock"}),
            "--socket: cannot be combined with --listen");
  // Given explicitly with the default value still counts.
  EXPECT_EQ(err({"x.pl", "--socket", "/tmp/a.sock", "--port", "5000"}),
            "--socket: cannot be combined with --port");
}

// ---- listeners: --listen ------------------------------------------------------------------

TEST(OptionsTest, ListenSpecs) {
  struct Case {
    const char* spec = nullptr;
    ListenSpec want;
  };
  const Case cases[] = {
      {"/tmp/a.sock", unix_at("/tmp/a.sock")},
      {"./rel.sock", unix_at("./rel.sock")},
      {"/var/run/app:8080", unix_at("/var/run/app:8080")},  // a path even with a colon
      {".:80", unix_at(".:80")},
      {"[::1]:8080", tcp("::1", 8080)},
      {"[::]:0", tcp("::", 0)},
      {"[fe80::1%eth0]:80", tcp("fe80::1%eth0", 80)},
      {"0.0.0.0:80", tcp("0.0.0.0", 80)},
      {"localhost:5000", tcp("localhost", 5000)},
      {"127.0.0.1:65535", tcp("127.0.0.1", 65535)},
      {"weird", unix_at("weird")},
      {"localhost:http", unix_at("localhost:http")},  // no digits after the colon: a path
      {"name:", unix_at("name:")},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ok({"x.pl", "--listen", c.spec}).listeners, std::vector<ListenSpec>{c.want})
        << c.spec;
    EXPECT_EQ(ok({"x.pl", std::string("--listen=") + c.spec}).listeners,
              std::vector<ListenSpec>{c.want})
        << c.spec;
  }
}

TEST(OptionsTest, ListenIsRepeatableAndSocketModeAppliesToUnixOnes) {
  Options o = ok({"x.pl", "--listen", "0.0.0.0:8080", "--listen", "/tmp/pagi.sock", "--socket-mode",
                  "0660", "--listen", "[::1]:8081", "--listen", "./b.sock"});
  EXPECT_EQ(o.listeners,
            (std::vector<ListenSpec>{tcp("0.0.0.0", 8080), unix_at("/tmp/pagi.sock", 0660),
                                     tcp("::1", 8081), unix_at("./b.sock", 0660)}));
  // Port 0 twice is two ephemeral ports, not a duplicate.
  EXPECT_EQ(ok({"x.pl", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"}).listeners,
            (std::vector<ListenSpec>{tcp("127.0.0.1", 0), tcp("127.0.0.1", 0)}));
}

TEST(OptionsTest, BadListenSpecs) {
  EXPECT_EQ(err({"x.pl", "--listen", ""}), "--listen: empty listen address");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]"}), "--listen: '[::1]' is not [IPV6]:PORT");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]:"}), "--listen: '[::1]:' is not [IPV6]:PORT");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]:ab"}), "--listen: '[::1]:ab' is not [IPV6]:PORT");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]x80"}), "--listen: '[::1]x80' is not [IPV6]:PORT");
  EXPECT_EQ(err({"x.pl", "--listen", "[nope]:80"}),
            "--listen: '[nope]:80': 'nope' is not a valid IPv6 address");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]:70000"}),
            "--listen: '[::1]:70000': port '70000' is not a valid port (0-65535)");
  EXPECT_EQ(err({"x.pl", "--listen", "0.0.0.0:65536"}),
            "--listen: '0.0.0.0:65536': port '65536' is not a valid port (0-65535)");
  EXPECT_EQ(err({"x.pl", "--listen", ":80"}),
            "--listen: ':80' has no host (use 0.0.0.0:PORT or [::]:PORT)");
  EXPECT_EQ(err({"x.pl", "--listen", "::1:80"}),
            "--listen: '::1:80': an IPv6 address needs brackets, as in [::1]:8080");
  EXPECT_EQ(err({"x.pl", "--listen", "/" + std::string(200, 'x')}),
            "--listen: socket path is 201 bytes, more than the 107 a unix socket allows");
}

TEST(OptionsTest, ListenExcludesHostAndPort) {
  EXPECT_EQ(err({"x.pl", "--listen", "127.0.0.1:0", "--host", "0.0.0.0"}),
            "--listen: cannot be combined with --host");
  EXPECT_EQ(err({"x.pl", "-p", "80", "--listen", "127.0.0.1:0"}),
            "--listen: cannot be combined with --port");
  EXPECT_EQ(err({"x.pl", "-p", "80", "-o", "::", "--listen", "/a"}),
            "--listen: cannot be combined with --host and --port");
}

TEST(OptionsTest, DuplicateListenersAreRefused) {
  EXPECT_EQ(err({"x.pl", "--listen", "/tmp/a.sock", "--listen", "/tmp/a.sock"}),
            "--listen: '/tmp/a.sock' is given twice");
  EXPECT_EQ(err({"x.pl", "--listen", "[::1]:80", "--listen", "[::1]:80"}),
            "--listen: '[::1]:80' is given twice");
  EXPECT_EQ(err({"x.pl", "--listen", "0.0.0.0:80", "--listen", "0.0.0.0:80"}),
            "--listen: '0.0.0.0:80' is given twice");
}

// ---- cores, limits, timeouts --------------------------------------------------------------

TEST(OptionsTest, Cores) {
  EXPECT_EQ(ok({"x.pl", "--cores", "4"}).cores, 4);
  EXPECT_EQ(ok({"x.pl", "--cores=1"}).cores, 1);
  EXPECT_EQ(ok({"x.pl", "--cores", "1024"}).cores, 1024);
  EXPECT_EQ(err({"x.pl", "--cores", "0"}), "--cores: '0' is too small (at least 1)");
  EXPECT_EQ(err({"x.pl", "--cores", "1025"}), "--cores: '1025' is too large (at most 1024)");
  EXPECT_EQ(err({"x.pl", "--cores", "0x"}), "--cores: '0x' is not a non-negative integer");
  EXPECT_EQ(err({"x.pl", "--cores", "-2"}), "--cores: '-2' is not a non-negative integer");
}

TEST(OptionsTest, WorkersIsAnAliasForCores) {
  EXPECT_EQ(ok({"x.pl", "-w", "3"}).cores, 3);
  EXPECT_EQ(ok({"x.pl", "-w3"}).cores, 3);
  EXPECT_EQ(ok({"x.pl", "--workers", "3"}).cores, 3);
  EXPECT_EQ(ok({"x.pl", "--workers=5"}).cores, 5);
  // The reference runs a single process for -w 0 and -w 1 alike.
  EXPECT_EQ(ok({"x.pl", "-w", "0"}).cores, 1);
  EXPECT_EQ(ok({"x.pl", "-w", "1"}).cores, 1);
  // Last one given wins, like any repeated flag.
  EXPECT_EQ(ok({"x.pl", "--cores", "2", "-w", "6"}).cores, 6);
  EXPECT_EQ(ok({"x.pl", "-w", "6", "--cores", "2"}).cores, 2);
  EXPECT_EQ(err({"x.pl", "-w", "x"}), "-w/--workers: 'x' is not a non-negative integer");
  EXPECT_EQ(err({"x.pl", "-w", "2000"}), "-w/--workers: '2000' is too large (at most 1024)");
}

// One int member of Options, the flag that sets it and the smallest value it takes.
struct IntFlag {
  const char* flag;
  std::function<int(const Options&)> get;
  int min;
};

std::vector<IntFlag> int_flags() {
  return {
      {"--listener-backlog", [](const Options& o) { return o.listener_backlog; }, 1},
      {"--max-connections", [](const Options& o) { return o.max_connections; }, 0},
      {"--max-header-size", [](const Options& o) { return o.max_header_size; }, 1},
      {"--max-header-count", [](const Options& o) { return o.max_header_count; }, 1},
      {"--max-receive-queue", [](const Options& o) { return o.max_receive_queue; }, 1},
      {"--max-ws-frame-size", [](const Options& o) { return o.max_ws_frame_size; }, 1},
      {"--max-requests", [](const Options& o) { return o.max_requests; }, 0},
      {"--sync-file-threshold", [](const Options& o) { return o.sync_file_threshold; }, 0},
      {"--timeout", [](const Options& o) { return o.timeout; }, 0},
      {"--shutdown-timeout", [](const Options& o) { return o.shutdown_timeout; }, 0},
      {"--request-timeout", [](const Options& o) { return o.request_timeout; }, 0},
      {"--ws-idle-timeout", [](const Options& o) { return o.ws_idle_timeout; }, 0},
      {"--sse-idle-timeout", [](const Options& o) { return o.sse_idle_timeout; }, 0},
      {"--heartbeat-timeout", [](const Options& o) { return o.heartbeat_timeout; }, 0},
      {"--lifespan-startup-timeout", [](const Options& o) { return o.lifespan_startup_timeout; },
       0},
  };
}

TEST(OptionsTest, IntegerFlagsTakeBothSpellings) {
  for (const IntFlag& f : int_flags()) {
    std::string flag = f.flag;
    EXPECT_EQ(f.get(ok({"x.pl", flag, "123"})), 123) << flag;
    EXPECT_EQ(f.get(ok({"x.pl", flag + "=456"})), 456) << flag;
    EXPECT_EQ(f.get(ok({"x.pl", flag.substr(1), "7"})), 7) << flag;
    EXPECT_EQ(f.get(ok({"x.pl", flag, std::to_string(f.min)})), f.min) << flag;
    EXPECT_EQ(f.get(ok({"x.pl", flag, "2147483647"})), 2147483647) << flag;
  }
  EXPECT_EQ(ok({"x.pl", "-b", "16"}).listener_backlog, 16);
  EXPECT_EQ(ok({"x.pl", "-b16"}).listener_backlog, 16);
}

TEST(OptionsTest, IntegerFlagsRejectBadValuesNamingTheFlag) {
  for (const IntFlag& f : int_flags()) {
    std::string flag = f.flag;
    for (const char* bad : {"-1", "0x", "1.5x", "", "1.5", "abc", "+1", " 1", "1e3"}) {
      EXPECT_EQ(err({"x.pl", flag, bad}), flag + ": '" + bad + "' is not a non-negative integer");
    }
    EXPECT_EQ(err({"x.pl", flag, "2147483648"}),
              flag + ": '2147483648' is too large (at most 2147483647)");
    EXPECT_EQ(err({"x.pl", flag, "99999999999999999999999"}),
              flag + ": '99999999999999999999999' is too large (at most 2147483647)");
    if (f.min > 0) {
      EXPECT_EQ(err({"x.pl", flag, "0"}), flag + ": '0' is too small (at least 1)");
    }
  }
  EXPECT_EQ(err({"x.pl", "-b", "0"}), "-b/--listener-backlog: '0' is too small (at least 1)");
  EXPECT_EQ(err({"x.pl", "--timeout", "-1"}), "--timeout: '-1' is not a non-negative integer");
}

TEST(OptionsTest, MaxBodySizeTakesTheWholeUint64Range) {
  EXPECT_EQ(ok({"x.pl", "--max-body-size", "0"}).max_body_size, 0u);
  EXPECT_EQ(ok({"x.pl", "--max-body-size=5000000000"}).max_body_size, 5'000'000'000u);
  EXPECT_EQ(ok({"x.pl", "--max-body-size", "18446744073709551615"}).max_body_size, UINT64_MAX);
  EXPECT_EQ(err({"x.pl", "--max-body-size", "18446744073709551616"}),
            "--max-body-size: '18446744073709551616' is too large (at most "
            "18446744073709551615)");
  EXPECT_EQ(err({"x.pl", "--max-body-size", "-1"}),
            "--max-body-size: '-1' is not a non-negative integer");
  EXPECT_EQ(err({"x.pl", "--max-body-size", "10M"}),
            "--max-body-size: '10M' is not a non-negative integer");
}

TEST(OptionsTest, Watermarks) {
  Options o = ok({"x.pl", "--write-high-watermark", "200", "--write-low-watermark", "100"});
  EXPECT_EQ(o.write_high_watermark, 200);
  EXPECT_EQ(o.write_low_watermark, 100);
  EXPECT_EQ(ok({"x.pl", "--write-low-watermark", "0"}).write_low_watermark, 0);
  EXPECT_EQ(ok({"x.pl", "--write-high-watermark=16385"}).write_high_watermark, 16385);
  EXPECT_EQ(err({"x.pl", "--write-high-watermark", "100", "--write-low-watermark", "200"}),
            "--write-low-watermark (200) must be below --write-high-watermark (100)");
  EXPECT_EQ(err({"x.pl", "--write-high-watermark", "100", "--write-low-watermark", "100"}),
            "--write-low-watermark (100) must be below --write-high-watermark (100)");
  // Against the default of the other one.
  EXPECT_EQ(err({"x.pl", "--write-high-watermark", "16384"}),
            "--write-low-watermark (16384) must be below --write-high-watermark (16384)");
  EXPECT_EQ(err({"x.pl", "--write-low-watermark", "70000"}),
            "--write-low-watermark (70000) must be below --write-high-watermark (65536)");
  EXPECT_EQ(err({"x.pl", "--write-high-watermark", "0"}),
            "--write-high-watermark: '0' is too small (at least 1)");
}

// ---- modes and logging ------------------------------------------------------------------

TEST(OptionsTest, Lifespan) {
  EXPECT_EQ(ok({"x.pl", "--lifespan", "auto"}).lifespan, LifespanMode::kAuto);
  EXPECT_EQ(ok({"x.pl", "--lifespan", "on"}).lifespan, LifespanMode::kOn);
  EXPECT_EQ(ok({"x.pl", "--lifespan=off"}).lifespan, LifespanMode::kOff);
  EXPECT_EQ(err({"x.pl", "--lifespan", "yes"}), "--lifespan: 'yes' is not one of auto, on, off");
  EXPECT_EQ(err({"x.pl", "--lifespan", "ON"}), "--lifespan: 'ON' is not one of auto, on, off");
}

TEST(OptionsTest, LogLevel) {
  EXPECT_EQ(ok({"x.pl", "--log-level", "debug"}).log_level, LogLevel::kDebug);
  EXPECT_EQ(ok({"x.pl", "--log-level", "info"}).log_level, LogLevel::kInfo);
  EXPECT_EQ(ok({"x.pl", "--log-level", "warn"}).log_level, LogLevel::kWarn);
  EXPECT_EQ(ok({"x.pl", "--log-level=error"}).log_level, LogLevel::kError);
  EXPECT_EQ(err({"x.pl", "--log-level", "loud"}),
            "--log-level: 'loud' is not one of debug, info, warn, error");
  EXPECT_EQ(err({"x.pl", "--log-level", "warning"}),
            "--log-level: 'warning' is not one of debug, info, warn, error");
}

TEST(OptionsTest, Quiet) {
  EXPECT_TRUE(ok({"x.pl", "-q"}).quiet);
  EXPECT_TRUE(ok({"x.pl", "--quiet"}).quiet);
  EXPECT_TRUE(ok({"x.pl", "-quiet"}).quiet);
}

TEST(OptionsTest, EnvMode) {
  EXPECT_EQ(ok({"x.pl", "-E", "development"}).env_mode, "development");
  EXPECT_EQ(ok({"x.pl", "-Eproduction"}).env_mode, "production");
  EXPECT_EQ(ok({"x.pl", "--env", "none"}).env_mode, "none");
  EXPECT_EQ(ok({"x.pl", "--env=production"}).env_mode, "production");
  EXPECT_EQ(err({"x.pl", "-E", "prod"}),
            "-E/--env: 'prod' is not one of development, production, none");
  EXPECT_EQ(err({"x.pl", "--env", ""}), "--env: '' is not one of development, production, none");
}

TEST(OptionsTest, AccessLog) {
  Options o = ok({"x.pl", "--access-log", "/var/log/pagi.log", "--access-log-format", "tiny"});
  EXPECT_EQ(o.access_log, "/var/log/pagi.log");
  EXPECT_EQ(o.access_log_format, "tiny");
  EXPECT_FALSE(o.no_access_log);
  EXPECT_EQ(ok({"x.pl", "--access-log-format=%h %s %Dms"}).access_log_format, "%h %s %Dms");
  EXPECT_TRUE(ok({"x.pl", "--no-access-log"}).no_access_log);
  EXPECT_EQ(err({"x.pl", "--access-log", "a.log", "--no-access-log"}),
            "--no-access-log: cannot be combined with --access-log");
  EXPECT_EQ(err({"x.pl", "--access-log", ""}), "--access-log: empty value");
  EXPECT_EQ(err({"x.pl", "--access-log-format", ""}), "--access-log-format: empty value");
}

// ---- flags of the reference that are not built ---------------------------------------------

TEST(OptionsTest, ProcessFlags) {
  const char* argv[] = {"pagi-server", "native:hello", "-D", "--user", "nobody",
                        "--group=65534"};
  ParseOutcome r = parse(6, argv);
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_TRUE(r.options->daemonize);
  EXPECT_EQ(r.options->user, "nobody");
  EXPECT_EQ(r.options->group, "65534");
  const char* empty[] = {"pagi-server", "native:hello", "--user="};
  EXPECT_FALSE(parse(3, empty).options);
}

TEST(OptionsTest, UnbuiltFeaturesAreRefusedNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    const char* error = nullptr;
  };
  const Case cases[] = {
      {{"--http2"}, "--http2: not supported yet (HTTP/2 is not built)"},
      {{"--ssl-cert", "a.pem", "--ssl-key", "b.pem"},
       "--ssl-cert: not supported yet (TLS is not built)"},
      {{"--ssl-key=b.pem"}, "--ssl-key: not supported yet (TLS is not built)"},
      {{"-l", "EV"}, "-l/--loop: not supported (the event loop is always io_uring)"},
      {{"-lEV"}, "-l/--loop: not supported (the event loop is always io_uring)"},
      {{"--loop=Epoll"}, "--loop: not supported (the event loop is always io_uring)"},
      {{"--future-xs"}, "--future-xs: not supported yet (Perl apps are not built)"},
      {{"--default-middleware"},
       "--default-middleware: not supported yet (no middleware is built)"},
      {{"--no-default-middleware"},
       "--no-default-middleware: not supported yet (no middleware is built)"},
      {{"--error-log", "e.log"}, "--error-log: not supported yet (diagnostics go to stderr)"},
      {{"--log-format", "json"}, "--log-format: not supported yet (diagnostics are text)"},
      {{"--max-disconnect-receives", "5"}, "--max-disconnect-receives: not supported yet"},
      {{"--read-buffer-size", "8192"}, "--read-buffer-size: not supported yet"},
      {{"--write-buffer-size", "8192"}, "--write-buffer-size: not supported yet"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"native:hello"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    EXPECT_EQ(err(args), c.error) << c.args[0];
  }
  // Refused even without its value.
  EXPECT_EQ(err({"native:hello", "--ssl-cert"}),
            "--ssl-cert: not supported yet (TLS is not built)");
}

TEST(OptionsTest, ServerClassMustBePagiServer) {
  EXPECT_EQ(ok({"x.pl", "-s", "PAGI::Server"}), defaults_for("x.pl"));
  EXPECT_EQ(ok({"x.pl", "--server=PAGI::Server"}), defaults_for("x.pl"));
  EXPECT_EQ(err({"x.pl", "-s", "Other::Server"}),
            "-s/--server: 'Other::Server' is not supported (this binary is the server; only "
            "PAGI::Server)");
  EXPECT_EQ(err({"x.pl", "--server", "Starman"}),
            "--server: 'Starman' is not supported (this binary is the server; only "
            "PAGI::Server)");
}

TEST(OptionsTest, ReuseportIsAcceptedAndChangesNothing) {
  EXPECT_EQ(ok({"x.pl", "--reuseport"}), defaults_for("x.pl"));
  EXPECT_EQ(ok({"x.pl", "--reuseport", "-p", "80"}).listeners,
            std::vector<ListenSpec>{tcp("127.0.0.1", 80)});
}

TEST(OptionsTest, FlagsBuiltLaterStillParse) {
  // The supervisor refuses these at start-up; the parser must hand them over intact.
  Options o = ok({"x.pl", "--request-timeout", "5", "--max-requests", "10", "--access-log", "a",
                  "--lifespan", "on", "--heartbeat-timeout", "0", "-I", "lib"});
  EXPECT_EQ(o.request_timeout, 5);
  EXPECT_EQ(o.max_requests, 10);
  EXPECT_EQ(o.access_log, "a");
  EXPECT_EQ(o.lifespan, LifespanMode::kOn);
  EXPECT_EQ(o.heartbeat_timeout, 0);
  EXPECT_EQ(o.libs, std::vector<std::string>{"lib"});
}

TEST(OptionsTest, ATypicalNginxUpstreamCommandLine) {
  Options o =
      ok({"--cores", "8", "--socket", "/run/app/pagi.sock", "--socket-mode", "0660", "app.pl"});
  Options want = defaults_for("app.pl");
  want.cores = 8;
  want.listeners = {unix_at("/run/app/pagi.sock", 0660)};
  EXPECT_EQ(o, want);
}

}  // namespace
}  // namespace pagi::cli

namespace pagi::cli {
namespace {

TEST(OptionsTest, WebSocketFlags) {
  Options o = ok({"app.pl", "--max-ws-message-size", "20000000", "--no-ws-compression",
                  "--max-ws-frame-size", "1000", "--ws-idle-timeout", "5"});
  EXPECT_EQ(o.max_ws_message_size, 20000000u);
  EXPECT_FALSE(o.ws_compression);
  EXPECT_EQ(o.max_ws_frame_size, 1000);
  EXPECT_EQ(o.ws_idle_timeout, 5);
  EXPECT_TRUE(ok({"app.pl", "--no-ws-compression", "--ws-compression"}).ws_compression);
  EXPECT_TRUE(Options().ws_compression);  // on by default
  EXPECT_FALSE(run({"app.pl", "--max-ws-message-size", "0"}).error.empty());
}

}  // namespace
}  // namespace pagi::cli
