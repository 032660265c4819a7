// What the Perl integration tests share: a fixture that runs a tests/apps/ app under the real
// binary on TCP (param false) or a unix socket (param true), and small string helpers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"

namespace pagi::test {

inline std::string app_path(const std::string& name) {
  return source_dir() + "/tests/apps/" + name;
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

inline size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class PerlFixture : public ::testing::TestWithParam<bool> {
 protected:
  bool on_unix() const { return GetParam(); }

  // Starts APP (a tests/apps/ name or an absolute path) with EXTRA arguments on this test's
  // listener.
  void start(const std::string& app, std::vector<std::string> extra = {"--cores", "1"}) {
    bool as_is = app.front() == '/' || app.rfind("native:", 0) == 0;
    std::vector<std::string> args{as_is ? app : app_path(app)};
    args.insert(args.end(), extra.begin(), extra.end());
    if (on_unix()) {
      sock_ = dir_.file("pagi.sock");
      args.push_back("--socket");
      args.push_back(sock_);
    }
    std::string why;
    server_ = Server::start(args, &why);
    ASSERT_TRUE(server_) << why;
  }

  std::unique_ptr<Client> connect() {
    return on_unix() ? Client::unix_socket(sock_) : Client::tcp(server_->port());
  }

  std::optional<Response> get(const std::string& target, const std::string& extra_headers = "") {
    auto c = connect();
    if (!c) return std::nullopt;
    if (!c->send("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n")) {
      return std::nullopt;
    }
    return c->read_response();
  }

  std::string curl_target(const std::string& path) {
    if (on_unix()) return "--unix-socket " + sock_ + " 'http://localhost" + path + "'";
    return "'http://127.0.0.1:" + std::to_string(server_->port()) + path + "'";
  }

  // Runs tests/integration/ws_client.py (python3-websockets) in steps mode on `path` with
  // `steps` and `flags`; its output, one line per outcome.
  std::string ws_client(const std::string& path, const std::string& steps,
                        const std::string& flags = "") {
    std::string client =
        "/usr/bin/python3 " + source_dir() + "/tests/integration/ws_client.py steps ";
    std::string target =
        on_unix() ? "--unix " + sock_ + " 'ws://localhost" + path + "'"
                  : "'ws://127.0.0.1:" + std::to_string(server_->port()) + path + "'";
    return run_shell(client + flags + " " + target + " " + steps + " 2>&1",
                     std::chrono::seconds(30))
        .out;
  }

  TempDir dir_;
  std::string sock_;
  std::unique_ptr<Server> server_;
};

// Sets (or, given nullptr, unsets) an environment variable for the servers this test starts;
// restored at scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ScopedEnv(const char* name, const std::string& value) : ScopedEnv(name, value.c_str()) {}
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

inline std::string transport_name(const ::testing::TestParamInfo<bool>& p) {
  return p.param ? std::string("Unix") : std::string("Tcp");
}

}  // namespace pagi::test
