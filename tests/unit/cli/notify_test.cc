// sd_notify: the datagram reaches the socket systemd names, abstract names work, unset is a
// no-op.
#include "cli/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace pagi::cli {
namespace {

std::string Receive(int fd) {
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

TEST(Notify, SendsToAPathSocket) {
  char dir[] = "/tmp/pagi-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(notify_systemd("READY=1"));
  EXPECT_EQ(Receive(fd), "READY=1");
  EXPECT_TRUE(notify_systemd_reloading());
  std::string r = Receive(fd);
  EXPECT_EQ(r.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << r;
  unsetenv("NOTIFY_SOCKET");
  close(fd);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(Notify, SendsToAnAbstractSocket) {
  std::string name = "@pagi-notify-test-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + 1, name.data() + 1, name.size() - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a),
                 socklen_t(offsetof(sockaddr_un, sun_path) + name.size())),
            0);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(notify_systemd("STOPPING=1"));
  EXPECT_EQ(Receive(fd), "STOPPING=1");
  unsetenv("NOTIFY_SOCKET");
  close(fd);
}

TEST(Notify, UnsetIsANoOpAndAMissingSocketFails) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(notify_systemd("READY=1"));
  setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
  EXPECT_FALSE(notify_systemd("READY=1"));
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace pagi::cli
