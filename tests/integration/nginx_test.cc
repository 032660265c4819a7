// nginx as a real upstream client of the unix socket: keepalive upstream, HTTP/1.1, a worker
// running as www-data so the socket's permissions matter, thousands of requests at a
// concurrency above the listen backlog's burst: zero non-2xx.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {
namespace {

using namespace std::chrono_literals;

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size(), ++n) {
    s.replace(p, from.size(), to);
  }
  EXPECT_GT(n, 0u) << "the nginx recipe no longer contains: " << from;
}

class Nginx {
 public:
  Nginx(const TempDir& dir, const std::string& socket_path) : dir_(dir) {
    port_ = free_port();
    // The site is the recipe users are given (doc/deploy/nginx-site.conf), with this test's
    // port and socket path in place of the ones it names.
    std::ifstream recipe(source_dir() + "/doc/deploy/nginx-site.conf");
    std::string site((std::istreambuf_iterator<char>(recipe)), std::istreambuf_iterator<char>());
    replace_all(site, "unix:/run/app/pagi.sock", "unix:" + socket_path);
    replace_all(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(port_) + ";");
    std::ofstream(dir.file("site.conf")) << site;
    std::ofstream conf(dir.file("nginx.conf"));
    conf << "worker_processes 1;\n"
         << "daemon off;\n"
         << "user www-data;\n"
         << "pid " << dir.file("nginx.pid") << ";\n"
         << "error_log " << dir.file("error.log") << " warn;\n"
         << "events { worker_connections 4096; }\n"
         << "http {\n"
         << "  access_log off;\n"
         << "  client_body_temp_path " << dir.file("body") << ";\n"
         << "  proxy_temp_path " << dir.file("proxy") << ";\n"
         << "  fastcgi_temp_path " << dir.file("fcgi") << ";\n"
         << "  uwsgi_temp_path " << dir.file("uwsgi") << ";\n"
         << "  scgi_temp_path " << dir.file("scgi") << ";\n"
         << "  include " << dir.file("site.conf") << ";\n"
         << "}\n";
    conf.close();
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = dir.file("nginx.stderr");
      freopen(log.c_str(), "w", stderr);
      execlp("nginx", "nginx", "-c", dir.file("nginx.conf").c_str(), "-e",
             dir.file("error.log").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready once it accepts.
    for (int i = 0; i < 300; ++i) {
      if (Client::tcp(port_)) break;
      std::this_thread::sleep_for(10ms);
    }
  }
  ~Nginx() {
    kill(pid_, SIGQUIT);
    int status;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(10ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  int port() const { return port_; }
  std::string error_log() const { return run_shell("cat " + dir_.file("error.log")).out; }

 private:
  const TempDir& dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(NginxUpstream, ThousandsOfRequestsThroughTheUnixSocketAllSucceed) {
  TempDir dir;
  std::string sock = dir.file("pagi.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", sock, "--socket-mode", "0660", "--cores",
                          "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  // The deployment pattern: the socket's group is nginx's, mode 0660.
  ASSERT_EQ(run_shell("chgrp www-data " + sock).exit_code, 0);
  Nginx nginx(dir, sock);
  std::string url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/";
  RunResult one = run_shell("curl -s -i " + url);
  ASSERT_NE(one.out.find("200 OK"), std::string::npos) << one.out << nginx.error_log();
  EXPECT_NE(one.out.find("Hello, World!"), std::string::npos);

  RunResult r = run_shell("ab -q -n 20000 -c 300 " + url + " 2>&1", 300s);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Complete requests:      20000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Failed requests:        0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out << nginx.error_log();

  RunResult k = run_shell("ab -q -k -n 20000 -c 300 " + url + " 2>&1", 300s);
  ASSERT_EQ(k.exit_code, 0) << k.out;
  EXPECT_NE(k.out.find("Failed requests:        0"), std::string::npos) << k.out;
  EXPECT_EQ(k.out.find("Non-2xx"), std::string::npos) << k.out << nginx.error_log();
}

TEST(NginxUpstream, SocketPermissionsAreEnforced) {
  TempDir dir;
  std::string sock = dir.file("private.sock");
  std::string why;
  auto s = Server::start({"native:hello", "--socket", sock, "--socket-mode", "0600", "--cores",
                          "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  RunResult r = run_shell("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                          std::to_string(nginx.port()) + "/");
  EXPECT_EQ(r.out, "502");  // www-data may not connect to a root-only 0600 socket
  EXPECT_NE(nginx.error_log().find("Permission denied"), std::string::npos);
}

TEST(NginxUpstream, EchoBodiesThroughNginx) {
  TempDir dir;
  std::string sock = dir.file("echo.sock");
  std::string why;
  auto s = Server::start({"native:echo", "--socket", sock, "--socket-mode", "0666", "--cores",
                          "2"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  std::string file = dir.file("payload");
  // nginx stops sending a request body to the upstream once the upstream's response has
  // begun, so an app that streams its answer while reading (this echo) can only round-trip
  // what fits in the socket buffers in between; larger bodies need an app that reads first.
  ASSERT_EQ(run_shell("head -c 150000 /dev/urandom > " + file).exit_code, 0);
  RunResult r = run_shell("curl -s --data-binary @" + file + " http://127.0.0.1:" +
                          std::to_string(nginx.port()) + "/up | cmp - " + file + " && echo SAME");
  EXPECT_NE(r.out.find("SAME"), std::string::npos) << r.out << nginx.error_log();
}

// The recipe passes WebSocket upgrades (python3-websockets echo, deflate included) and streams
// SSE unbuffered.
TEST(NginxUpstream, WebSocketAndSseThroughNginx) {
  TempDir dir;
  std::string sock = dir.file("echo.sock");
  std::string why;
  auto s = Server::start({"native:echo", "--socket", sock, "--socket-mode", "0666", "--cores",
                          "1"},
                         &why);
  ASSERT_TRUE(s) << why;
  Nginx nginx(dir, sock);
  std::string base = "127.0.0.1:" + std::to_string(nginx.port());
  for (const char* scenario : {"echo", "deflate"}) {
    RunResult r = run_shell("/usr/bin/python3 '" + source_dir() +
                                "/tests/integration/ws_client.py' " + scenario + " ws://" + base +
                                "/",
                            60s);
    EXPECT_EQ(r.exit_code, 0) << scenario << ": " << r.out << nginx.error_log();
  }
  RunResult r = run_shell("curl -sN -H 'Accept: text/event-stream' -d 'abc' http://" + base +
                          "/events", 30s);
  EXPECT_NE(r.out.find("data: abc\n\nevent: end\ndata: done\n\n"), std::string::npos)
      << r.out << nginx.error_log();
}

}  // namespace
}  // namespace pagi::test
