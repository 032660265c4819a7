// Identity, daemon, pid file (see process.h).
#include "cli/process.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pagi::cli {

namespace {

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by SIG") + sigabbrev_np(WTERMSIG(status));
  return "stopped";
}

bool write_pid_file(const std::string& path) {
  std::string text = std::to_string(getpid()) + "\n";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && write(fd, text.data(), text.size()) == ssize_t(text.size());
  int err = errno;
  if (fd >= 0) close(fd);
  errno = err;
  return ok;
}

bool resolve_identity(const Options& o, Identity& id, std::string* error) {
  if (!o.user && !o.group) return true;
  id.wanted = true;
  const passwd* pw = nullptr;
  if (o.user) {
    pw = all_digits(*o.user) ? getpwuid(uid_t(std::stoul(*o.user))) : getpwnam(o.user->c_str());
    if (pw == nullptr && !all_digits(*o.user)) {
      *error = "--user: unknown user '" + *o.user + "'";
      return false;
    }
    id.set_uid = true;
    id.uid = pw != nullptr ? pw->pw_uid : uid_t(std::stoul(*o.user));
    if (pw != nullptr) id.user = pw->pw_name;
  }
  if (o.group) {
    const group* gr =
        all_digits(*o.group) ? getgrgid(gid_t(std::stoul(*o.group))) : getgrnam(o.group->c_str());
    if (gr == nullptr && !all_digits(*o.group)) {
      *error = "--group: unknown group '" + *o.group + "'";
      return false;
    }
    id.gid = gr != nullptr ? gr->gr_gid : gid_t(std::stoul(*o.group));
  } else if (pw != nullptr) {
    id.gid = pw->pw_gid;  // the user's primary group, as login does
  } else {
    *error = "--user " + *o.user + " has no passwd entry: give --group too";
    return false;
  }
  bool already = getgid() == id.gid && getegid() == id.gid &&
                 (!id.set_uid || (getuid() == id.uid && geteuid() == id.uid));
  if (already) return true;
  if (geteuid() != 0) {
    *error = std::string(o.user ? "--user" : "--group") + " needs root (running as uid " +
             std::to_string(geteuid()) + ")";
    return false;
  }
  id.change = true;
  return true;
}

bool drop_privileges(const Identity& id, std::string* error) {
  if (!id.change) return true;
  int rc = !id.user.empty() ? initgroups(id.user.c_str(), id.gid) : setgroups(1, &id.gid);
  if (rc != 0) {
    *error = std::string("cannot set supplementary groups: ") + strerror(errno);
    return false;
  }
  if (setgid(id.gid) != 0) {
    *error = "cannot switch to gid " + std::to_string(id.gid) + ": " + strerror(errno);
    return false;
  }
  if (id.set_uid) {
    if (setuid(id.uid) != 0) {
      *error = "cannot switch to uid " + std::to_string(id.uid) + ": " + strerror(errno);
      return false;
    }
    if (id.uid != 0 && setuid(0) == 0) {
      *error = "still able to regain root after switching user";
      return false;
    }
  }
  return true;
}

int daemonize(int* ready_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    fprintf(stderr, "pagi-server: pipe: %s\n", strerror(errno));
    return 1;
  }
  fflush(nullptr);
  pid_t first = fork();
  if (first < 0) {
    fprintf(stderr, "pagi-server: fork: %s\n", strerror(errno));
    return 1;
  }
  if (first > 0) {
    close(p[1]);
    waitpid(first, nullptr, 0);
    char byte = 0;
    ssize_t r;
    do {
      r = read(p[0], &byte, 1);
    } while (r < 0 && errno == EINTR);
    return r == 1 ? 0 : 1;
  }
  close(p[0]);
  setsid();
  pid_t second = fork();
  if (second != 0) _exit(second < 0 ? 1 : 0);
  *ready_fd = p[1];
  return -1;
}

}  // namespace pagi::cli
