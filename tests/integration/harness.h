// Black-box test harness: starts the real pagi-server binary, talks to it over real sockets
// and with real clients (curl, ab, nginx), and reads its log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagi::test {

// Paths of what the build produced (environment variables override the compiled-in ones).
std::string server_binary();
std::string example_so();
// bench/apps/large_app.cc built as a shared object (GET /file answers with send_file).
std::string bench_large_so();
std::string source_dir();

// A temporary directory removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A running pagi-server. stderr goes to a file the test can read.
class Server {
 public:
  // Starts `pagi-server ARGS...` and waits until its banner says it listens. When the args
  // have no --port/--socket/--listen, `--port 0` is added and the chosen port read back.
  // Returns nullptr (and the reason in *why) if it exits or does not come up in time.
  static std::unique_ptr<Server> start(std::vector<std::string> args, std::string* why = nullptr);
  ~Server();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  // Waits until the log contains `text` (true) or the timeout passes (false).
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const;

  // Sends `sig` and waits for exit; returns the exit status (or 128+signal), or -1 on timeout
  // (the process is then killed).
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running();

 private:
  Server() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  std::unique_ptr<TempDir> dir_;
};

// A process's open descriptors (/proc/PID/fd), for leak checks: pipes apart (the server
// pools a few for file bodies), and how many refer to `file` (its path) if one is given.
struct FdCount {
  int pipes = 0;
  int others = 0;  // everything that is not a pipe
  int of_file = 0;
  std::string list;  // every target, one per line (for failure messages)
};
FdCount count_fds(pid_t pid, const std::string& file = "");
// count_fds once the process has let go of `file` and two counts 100 ms apart agree (the
// server closes a finished connection a moment after the client has read its response).
FdCount settled_fds(pid_t pid, const std::string& file = "");

// Runs the binary to completion (for CLI errors, --help, ...): exit code and output.
struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};
RunResult run_binary(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
// Runs a shell command (a real client) and returns its exit code and output.
RunResult run_shell(const std::string& command,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A parsed HTTP/1.x response.
struct Response {
  int status = 0;
  std::string version;  // "HTTP/1.1"
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  bool chunked = false;
  std::vector<std::pair<std::string, std::string>> trailers;

  std::optional<std::string> header(const std::string& lower_name) const;
  size_t count(const std::string& lower_name) const;
};

// A raw client socket (TCP on 127.0.0.1 or a unix socket).
class Client {
 public:
  static std::unique_ptr<Client> tcp(int port, const std::string& host = "127.0.0.1");
  static std::unique_ptr<Client> unix_socket(const std::string& path);
  ~Client();

  bool send(const std::string& bytes);
  void shutdown_write();
  // Reads one response (Content-Length, chunked, or until close). `head_request` for HEAD.
  std::optional<Response> read_response(bool head_request = false,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads everything until the peer closes (or timeout). Returns what arrived.
  std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True if the peer closed the connection (EOF or reset) within the timeout.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  int fd() const { return fd_; }

 private:
  explicit Client(int fd) : fd_(fd) {}
  bool fill(std::chrono::steady_clock::time_point deadline);  // reads more into buf_
  int fd_;
  std::string buf_;
  bool eof_ = false;
};

// One request on a fresh connection: send, read the response, close.
std::optional<Response> request(int port, const std::string& raw, bool head_request = false);

// Reads and drops at least `n` bytes of what the peer sends (a client that reads part of a
// large body, then leaves): false if the connection ends or fails first.
bool read_at_least(Client& c, size_t n);

// Parses a full response from bytes (for tests that read raw).
std::optional<Response> parse_response(const std::string& bytes, bool head_request = false,
                                       size_t* consumed = nullptr);

}  // namespace pagi::test
