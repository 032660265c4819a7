// Inherited listeners: the PAGI_REUSE format, describing real sockets, the systemd variables.
#include "server/inherited.h"

#include "server/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace pagi::server {
namespace {

int ListeningTcp(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(listen(fd, 4), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST(PagiReuse, ParsesEveryForm) {
  std::string error;
  auto e = parse_pagi_reuse("127.0.0.1:5000:7,[::1]:8080:8,unix:/run/app/pagi.sock:9", &error);
  ASSERT_TRUE(e) << error;
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].host, "127.0.0.1");
  EXPECT_EQ((*e)[0].port, 5000);
  EXPECT_EQ((*e)[0].fd, 7);
  EXPECT_EQ((*e)[1].host, "::1");
  EXPECT_EQ((*e)[1].port, 8080);
  EXPECT_TRUE((*e)[2].is_unix);
  EXPECT_EQ((*e)[2].path, "/run/app/pagi.sock");
  EXPECT_EQ((*e)[2].fd, 9);
}

TEST(PagiReuse, FormatRoundTrips) {
  std::string text = "0.0.0.0:80:3,[::]:443:4,unix:/tmp/a:b.sock:5";
  std::string error;
  auto e = parse_pagi_reuse(text, &error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ((*e)[2].path, "/tmp/a:b.sock");  // colons in a path are fine
  EXPECT_EQ(format_pagi_reuse(*e), text);
}

TEST(PagiReuse, MalformedEntriesAreErrors) {
  std::string error;
  EXPECT_FALSE(parse_pagi_reuse("127.0.0.1:5000", &error));  // the port taken as fd: no port
  EXPECT_FALSE(parse_pagi_reuse("127.0.0.1:5000:x", &error));
  EXPECT_FALSE(parse_pagi_reuse("::1:80:3", &error));
  EXPECT_NE(error.find("brackets"), std::string::npos);
  EXPECT_FALSE(parse_pagi_reuse("unix::3", &error));
  EXPECT_FALSE(parse_pagi_reuse(":80:3", &error));
  EXPECT_FALSE(parse_pagi_reuse("h:99999:3", &error));
  auto empty = parse_pagi_reuse("", &error);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(InheritedSockets, DescribesTcpAndUnixListeners) {
  int port = 0;
  int tcp = ListeningTcp(&port);
  InheritedSocket s;
  ASSERT_TRUE(describe_socket(tcp, s));
  EXPECT_FALSE(s.is_unix);
  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, port);

  char dir[] = "/tmp/pagi-inherit-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/s.sock";
  int ux = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un u{};
  u.sun_family = AF_UNIX;
  std::snprintf(u.sun_path, sizeof(u.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(ux, reinterpret_cast<sockaddr*>(&u), sizeof(u)), 0);
  InheritedSocket not_yet;
  EXPECT_FALSE(describe_socket(ux, not_yet));  // bound but not listening
  ASSERT_EQ(listen(ux, 4), 0);
  InheritedSocket us;
  ASSERT_TRUE(describe_socket(ux, us));
  EXPECT_TRUE(us.is_unix);
  EXPECT_EQ(us.path, path);

  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  InheritedSocket no;
  EXPECT_FALSE(describe_socket(udp, no));
  close(udp);
  close(ux);
  unlink(path.c_str());
  rmdir(dir);
  close(tcp);
}

TEST(InheritedSockets, ReuseVariableIsCheckedAgainstTheRealSocket) {
  int port = 0;
  int tcp = ListeningTcp(&port);
  std::string ok = "127.0.0.1:" + std::to_string(port) + ":" + std::to_string(tcp);
  std::string lie = "127.0.0.1:" + std::to_string(port + 1) + ":" + std::to_string(tcp);
  setenv("PAGI_REUSE", (ok + "," + lie).c_str(), 1);
  std::string warning;
  auto got = take_reused_sockets(&warning);
  EXPECT_EQ(getenv("PAGI_REUSE"), nullptr);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].fd, tcp);
  EXPECT_EQ(got[0].origin, "PAGI_REUSE");
  EXPECT_NE(warning.find("is not the listener it names"), std::string::npos);

  auto claimed = claim_tcp(got, "127.0.0.1", port);
  EXPECT_EQ(claimed, std::vector<int>{tcp});
  EXPECT_TRUE(got.empty());
  close(tcp);
}

TEST(InheritedSockets, SystemdVariablesForAnotherProcessAreIgnoredAndRemoved) {
  setenv("LISTEN_PID", std::to_string(getpid() + 1).c_str(), 1);
  setenv("LISTEN_FDS", "1", 1);
  setenv("LISTEN_FDNAMES", "web", 1);
  std::string warning;
  EXPECT_TRUE(take_systemd_sockets(&warning).empty());
  EXPECT_NE(warning.find("not for this process"), std::string::npos);
  EXPECT_EQ(getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(getenv("LISTEN_FDNAMES"), nullptr);
}

TEST(InheritedSockets, ClaimUnixTakesOnlyThatPath) {
  std::vector<InheritedSocket> pool(3);
  pool[0].is_unix = true, pool[0].path = "/a", pool[0].fd = 10;
  pool[1].is_unix = true, pool[1].path = "/b", pool[1].fd = 11;
  pool[2].host = "/a", pool[2].fd = 12;  // TCP entry: never a unix match
  EXPECT_EQ(claim_unix(pool, "/a"), std::vector<int>{10});
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_TRUE(claim_unix(pool, "/c").empty());
}

TEST(InheritedSockets, ClaimTcpWithPortZeroTakesThePortOfTheHostsFirstSocket) {
  // A reload of a --port 0 server: the new process finds the port the old one got, and
  // leaves another listener's port on the same host (e.g. --metrics-listen) to it.
  std::vector<InheritedSocket> pool(4);
  pool[0].host = "127.0.0.1", pool[0].port = 4001, pool[0].fd = 10;
  pool[1].host = "127.0.0.1", pool[1].port = 4001, pool[1].fd = 11;
  pool[2].host = "::1", pool[2].port = 4001, pool[2].fd = 12;
  pool[3].host = "127.0.0.1", pool[3].port = 4005, pool[3].fd = 13;
  EXPECT_TRUE(claim_tcp(pool, "127.0.0.1", 4002).empty());
  EXPECT_EQ(claim_tcp(pool, "127.0.0.1", 0), (std::vector<int>{10, 11}));
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(claim_tcp(pool, "127.0.0.1", 0), std::vector<int>{13});
  EXPECT_EQ(pool.size(), 1u);
}

TEST(InheritedSockets, CoresShareFewerSocketsAndSplitMore) {
  Listener l;
  l.fds = {10};  // systemd's one TCP socket, or a unix socket
  bool shared = false;
  EXPECT_EQ(core_fds(l, 0, 1, &shared), std::vector<int>{10});
  EXPECT_FALSE(shared);
  EXPECT_EQ(core_fds(l, 1, 2, &shared), std::vector<int>{10});
  EXPECT_TRUE(shared);
  l.fds = {10, 11, 12, 13};  // a reload from four cores into two: every queue is read
  EXPECT_EQ(core_fds(l, 0, 2, &shared), (std::vector<int>{10, 12}));
  EXPECT_FALSE(shared);
  EXPECT_EQ(core_fds(l, 1, 2, &shared), (std::vector<int>{11, 13}));
  l.fds = {10, 11};  // from two cores into three: the third shares the first socket
  EXPECT_EQ(core_fds(l, 2, 3, &shared), std::vector<int>{10});
  EXPECT_TRUE(shared);
}

TEST(InheritedSockets, BindHostIsResolvedToTheFormGetsocknameReports) {
  std::string host, error;
  bool wildcard = true;
  ASSERT_TRUE(resolve_bind_host("127.0.0.1", host, wildcard, &error)) << error;
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_FALSE(wildcard);
  ASSERT_TRUE(resolve_bind_host("0:0:0:0:0:0:0:1", host, wildcard, &error)) << error;
  EXPECT_EQ(host, "::1");
  ASSERT_TRUE(resolve_bind_host("0.0.0.0", host, wildcard, &error)) << error;
  EXPECT_TRUE(wildcard);
}

}  // namespace
}  // namespace pagi::server
