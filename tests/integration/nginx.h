// nginx started by a test in front of pagi-server's unix socket, configured with the shipped
// recipe doc/deploy/nginx-site.conf (with the test's port and socket path in place of the
// ones it names): a worker running as www-data, so the socket's permissions matter.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "launch.h"

namespace pagi::test {

inline void replace_all(std::string& s, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size(), ++n) {
    s.replace(p, from.size(), to);
  }
  EXPECT_GT(n, 0u) << "the nginx recipe no longer contains: " << from;
}

class Nginx {
 public:
  Nginx(const TempDir& dir, const std::string& socket_path) : dir_(dir) {
    using namespace std::chrono_literals;
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
    using namespace std::chrono_literals;
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

}  // namespace pagi::test
