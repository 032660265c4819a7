// Does IORING_OP_SEND_ZC save CPU for large bodies on this machine's loopback? DESIGN.md lists
// "SEND_ZC only for large bodies" as a technique; before building it into the server, this
// probe sends the same 1 MiB buffer over a loopback TCP connection with plain io_uring sends
// and with zero-copy sends, and reports the sender thread's CPU per MiB and whether the kernel
// had to copy the zero-copy sends anyway (IORING_SEND_ZC_REPORT_USAGE: the notification says
// so). A reader thread on another CPU drains the socket.
//
// Usage: pagi-send-zc-probe [MIB=2000] [SEND_SIZE_KIB=256] [SENDER_CPU=0] [READER_CPU=1]
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Newer than Debian 12's liburing 2.3 headers; the kernel has had them since 6.2.
constexpr unsigned kReportUsage = 1u << 3;        // IORING_SEND_ZC_REPORT_USAGE
constexpr unsigned kUsageCopied = 1u << 31;       // IORING_NOTIF_USAGE_ZC_COPIED

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double thread_cpu_us() {
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void die(const char* what) {
  perror(what);
  exit(1);
}

// A connected loopback pair: returns the sender's fd; the reader drains the other end.
int connect_pair(int* reader_fd) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("bind");
  socklen_t len = sizeof(a);
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  listen(l, 1);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("connect");
  *reader_fd = accept(l, nullptr, nullptr);
  close(l);
  return c;
}

struct Result {
  double sender_us_per_mib = 0;
  double reader_us_per_mib = 0;
  unsigned notifs = 0;
  unsigned copied = 0;
};

Result run(bool zc, size_t mib, size_t send_size, int sender_cpu, int reader_cpu) {
  int rfd = -1;
  int fd = connect_pair(&rfd);
  double reader_us = 0;
  const size_t total = mib << 20;
  std::thread reader([&] {
    pin(reader_cpu);
    std::vector<char> buf(1 << 20);
    double t0 = thread_cpu_us();
    size_t got = 0;
    while (got < total) {
      ssize_t n = read(rfd, buf.data(), buf.size());
      if (n <= 0) break;
      got += size_t(n);
    }
    reader_us = thread_cpu_us() - t0;
  });
  pin(sender_cpu);
  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(64, &ring, &p) != 0) die("io_uring_queue_init");
  std::vector<char> body(send_size, 'z');
  Result r;
  double t0 = thread_cpu_us();
  size_t sent = 0;
  while (sent < total) {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    size_t want = std::min(send_size, total - sent);
    if (zc) {
      io_uring_prep_send_zc(s, fd, body.data(), want, MSG_NOSIGNAL, kReportUsage);
    } else {
      io_uring_prep_send(s, fd, body.data(), want, MSG_NOSIGNAL);
    }
    io_uring_submit(&ring);
    // One send at a time: the buffer is reused, so a zero-copy send must be notified first.
    bool done = false;
    bool notified = !zc;
    while (!done || !notified) {
      io_uring_cqe* cqe;
      if (io_uring_wait_cqe(&ring, &cqe) != 0) die("io_uring_wait_cqe");
      if (cqe->flags & IORING_CQE_F_NOTIF) {
        notified = true;
        ++r.notifs;
        if (uint32_t(cqe->res) & kUsageCopied) ++r.copied;
      } else {
        if (cqe->res < 0) {
          fprintf(stderr, "send: %s\n", strerror(-cqe->res));
          exit(1);
        }
        sent += size_t(cqe->res);
        done = true;
        if (zc && !(cqe->flags & IORING_CQE_F_MORE)) notified = true;  // no notification
      }
      io_uring_cqe_seen(&ring, cqe);
    }
  }
  double sender_us = thread_cpu_us() - t0;
  reader.join();
  io_uring_queue_exit(&ring);
  close(fd);
  close(rfd);
  r.sender_us_per_mib = sender_us / double(mib);
  r.reader_us_per_mib = reader_us / double(mib);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? size_t(atol(argv[1])) : 2000;
  size_t send_kib = argc > 2 ? size_t(atol(argv[2])) : 256;
  int sender_cpu = argc > 3 ? atoi(argv[3]) : 0;
  int reader_cpu = argc > 4 ? atoi(argv[4]) : 1;
  printf("%zu MiB over loopback TCP in %zu KiB sends, sender on CPU %d, reader on CPU %d\n",
         mib, send_kib, sender_cpu, reader_cpu);
  for (int round = 0; round < 3; ++round) {
    for (bool zc : {false, true}) {
      Result r = run(zc, mib, send_kib << 10, sender_cpu, reader_cpu);
      printf("round %d %-8s sender %7.1f µs/MiB  reader %7.1f µs/MiB", round,
             zc ? "send_zc" : "send", r.sender_us_per_mib, r.reader_us_per_mib);
      if (zc) printf("  notifications %u, of which copied by the kernel %u", r.notifs, r.copied);
      printf("\n");
      fflush(stdout);
    }
  }
  return 0;
}
