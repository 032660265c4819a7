// Black-box harness implementation (see harness.h): fork/exec, sockets, a small response
// parser. Plain POSIX so the tests depend on nothing the server itself uses.
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace pagi::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) return -1;
    if (Clock::now() >= deadline) return -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::string server_binary() { return env_or("PAGI_SERVER_BIN", PAGI_SERVER_BIN); }
std::string example_so() { return env_or("PAGI_EXAMPLE_SO", PAGI_EXAMPLE_SO); }
std::string bench_large_so() { return env_or("PAGI_BENCH_LARGE_SO", PAGI_BENCH_LARGE_SO); }
std::string source_dir() { return env_or("PAGI_SOURCE_DIR", PAGI_SOURCE_DIR); }

FdCount count_fds(pid_t pid, const std::string& file) {
  FdCount n;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return n;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[4096];
    std::string link = dir + "/" + e->d_name;
    ssize_t len = readlink(link.c_str(), target, sizeof(target) - 1);
    if (len < 0) continue;  // closed meanwhile
    std::string t(target, size_t(len));
    n.list += std::string(e->d_name) + " -> " + t + "\n";
    if (t.rfind("pipe:", 0) == 0) {
      ++n.pipes;
    } else {
      ++n.others;
    }
    if (!file.empty() && t == file) ++n.of_file;
  }
  closedir(d);
  return n;
}

FdCount settled_fds(pid_t pid, const std::string& file) {
  FdCount last = count_fds(pid, file);
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    FdCount now = count_fds(pid, file);
    if (now.of_file == 0 && now.others == last.others && now.pipes == last.pipes) return now;
    last = now;
  }
  return last;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/pagi-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  path_ = p != nullptr ? p : "/tmp";
  chmod(path_.c_str(), 0755);  // nginx workers (www-data) must reach sockets inside
}

TempDir::~TempDir() {
  if (path_ != "/tmp") {
    std::string cmd = "rm -rf '" + path_ + "'";
    int rc = system(cmd.c_str());
    (void)rc;
  }
}

// --- Server ----------------------------------------------------------------------------------

std::unique_ptr<Server> Server::start(std::vector<std::string> args, std::string* why) {
  bool has_listener = false;
  for (const auto& a : args) {
    if (a == "--port" || a == "-p" || a == "--socket" || a == "--listen" ||
        a.rfind("--port=", 0) == 0 || a.rfind("--socket=", 0) == 0 ||
        a.rfind("--listen=", 0) == 0) {
      has_listener = true;
    }
  }
  if (!has_listener) {
    args.push_back("--port");
    args.push_back("0");
  }
  std::unique_ptr<Server> s(new Server());
  s->dir_ = std::make_unique<TempDir>();
  s->log_path_ = s->dir_->file("server.log");

  std::vector<std::string> argv_s = {server_binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // A test process that dies (a crash, a timeout kill) takes its servers with it instead of
    // leaving them holding ports and CPU for the next suite. Started from the test's main
    // thread, whose exit is the process's.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the test died before the line above
    int fd = open(s->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDERR_FILENO);
    dup2(fd, STDOUT_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  s->pid_ = pid;

  std::regex port_re("listening on http://[^ ]*:(\\d+)/");
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    std::string log = s->log();
    std::smatch m;
    if (std::regex_search(log, m, port_re)) {
      s->port_ = std::stoi(m[1]);
      return s;
    }
    if (log.find("listening on unix:") != std::string::npos) return s;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      s->pid_ = -1;
      if (why != nullptr) *why = "server exited during start-up: " + log;
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (why != nullptr) *why = "server did not come up: " + s->log();
  return nullptr;
}

Server::~Server() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string Server::log() const { return read_file(log_path_); }

bool Server::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return log().find(text) != std::string::npos;
}

int Server::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int rc = wait_exit(pid_, timeout);
  if (rc == -2) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    rc = -1;
  }
  pid_ = -1;
  return rc;
}

bool Server::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

// --- running programs ------------------------------------------------------------------------

static RunResult run_argv(const std::vector<std::string>& argv_s, std::chrono::milliseconds timeout) {
  TempDir dir;
  std::string out_path = dir.file("out");
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    std::vector<char*> argv;
    for (auto& a : const_cast<std::vector<std::string>&>(argv_s)) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  RunResult r;
  r.exit_code = wait_exit(pid, timeout);
  if (r.exit_code == -2) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    r.exit_code = -1;
  }
  r.out = read_file(out_path);
  return r;
}

RunResult run_binary(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {server_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_argv(argv, timeout);
}

RunResult run_shell(const std::string& command, std::chrono::milliseconds timeout) {
  return run_argv({"/bin/sh", "-c", command}, timeout);
}

// --- Response --------------------------------------------------------------------------------

std::optional<std::string> Response::header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

size_t Response::count(const std::string& lower_name) const {
  size_t n = 0;
  for (const auto& h : headers) n += h.first == lower_name;
  return n;
}

// Returns nullopt while incomplete. Body framing per RFC 9112: 1xx/204/304/HEAD none,
// chunked, Content-Length, else until close (only complete when `at_eof`).
static std::optional<Response> parse_impl(const std::string& bytes, bool head_request,
                                          bool at_eof, size_t* consumed) {
  size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  Response r;
  std::istringstream head(bytes.substr(0, end));
  std::string line;
  std::getline(head, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  {
    std::istringstream sl(line);
    sl >> r.version >> r.status;
    std::getline(sl, r.reason);
    if (!r.reason.empty() && r.reason.front() == ' ') r.reason.erase(0, 1);
  }
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    r.headers.emplace_back(lower(line.substr(0, colon)), value);
  }
  size_t pos = end + 4;
  bool no_body = head_request || r.status / 100 == 1 || r.status == 204 || r.status == 304;
  auto te = r.header("transfer-encoding");
  auto cl = r.header("content-length");
  if (no_body) {
    // nothing
  } else if (te && lower(*te).find("chunked") != std::string::npos) {
    r.chunked = true;
    for (;;) {
      size_t eol = bytes.find("\r\n", pos);
      if (eol == std::string::npos) return std::nullopt;
      size_t size = std::stoul(bytes.substr(pos, eol - pos), nullptr, 16);
      pos = eol + 2;
      if (size == 0) {
        for (;;) {  // trailers until the empty line
          size_t e = bytes.find("\r\n", pos);
          if (e == std::string::npos) return std::nullopt;
          if (e == pos) {
            pos += 2;
            break;
          }
          std::string t = bytes.substr(pos, e - pos);
          size_t c = t.find(':');
          if (c != std::string::npos) {
            std::string v = t.substr(c + 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            r.trailers.emplace_back(lower(t.substr(0, c)), v);
          }
          pos = e + 2;
        }
        break;
      }
      if (bytes.size() < pos + size + 2) return std::nullopt;
      r.body.append(bytes, pos, size);
      pos += size + 2;
    }
  } else if (cl) {
    size_t n = std::stoul(*cl);
    if (bytes.size() < pos + n) return std::nullopt;
    r.body = bytes.substr(pos, n);
    pos += n;
  } else {
    if (!at_eof) return std::nullopt;
    r.body = bytes.substr(pos);
    pos = bytes.size();
  }
  if (consumed != nullptr) *consumed = pos;
  return r;
}

std::optional<Response> parse_response(const std::string& bytes, bool head_request,
                                       size_t* consumed) {
  return parse_impl(bytes, head_request, true, consumed);
}

// --- Client ----------------------------------------------------------------------------------

std::unique_ptr<Client> Client::tcp(int port, const std::string& host) {
  int fd = socket(host.find(':') != std::string::npos ? AF_INET6 : AF_INET,
                  SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int rc;
  if (host.find(':') != std::string::npos) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(uint16_t(port));
    inet_pton(AF_INET6, host.c_str(), &a.sin6_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  if (rc < 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<Client>(new Client(fd));
}

std::unique_ptr<Client> Client::unix_socket(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) {
    close(fd);
    return nullptr;
  }
  return std::unique_ptr<Client>(new Client(fd));
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

bool Client::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += size_t(n);
  }
  return true;
}

void Client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool Client::fill(Clock::time_point deadline) {
  if (eof_) return false;
  auto now = Clock::now();
  if (now >= deadline) return false;
  int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
  pollfd p{fd_, POLLIN, 0};
  int r = poll(&p, 1, ms);
  if (r <= 0) return false;
  char tmp[65536];
  ssize_t n = recv(fd_, tmp, sizeof(tmp), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(tmp, size_t(n));
  return true;
}

std::optional<Response> Client::read_response(bool head_request,
                                              std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    size_t used = 0;
    auto r = parse_impl(buf_, head_request, eof_, &used);
    if (r) {
      buf_.erase(0, used);
      return r;
    }
    if (!fill(deadline)) {
      if (eof_) {
        r = parse_impl(buf_, head_request, true, &used);
        if (r) buf_.erase(0, used);
        return r;
      }
      return std::nullopt;
    }
  }
}

std::string Client::read_all(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (fill(deadline)) {
  }
  std::string out;
  out.swap(buf_);
  return out;
}

bool Client::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_) {
    if (!fill(deadline) && !eof_) return false;
  }
  return true;
}

bool read_at_least(Client& c, size_t n) {
  char buf[65536];
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(c.fd(), buf, sizeof(buf), 0);
    if (r <= 0) return false;
    got += size_t(r);
  }
  return true;
}

std::optional<Response> request(int port, const std::string& raw, bool head_request) {
  auto c = Client::tcp(port);
  if (!c || !c->send(raw)) return std::nullopt;
  return c->read_response(head_request);
}

}  // namespace pagi::test
