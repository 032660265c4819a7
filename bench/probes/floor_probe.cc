// The floor of an io_uring HTTP/1.1 keep-alive server on this machine: the least any server
// built on this ring can do per request, to set pagi-server's own cost against.
//
// It does not parse: each recv completion is answered with one canned response, the bytes
// native:hello sends (status line, content-type, date, Server, content-length, body).
// Everything else is what pagi-server does too: SINGLE_ISSUER + DEFER_TASKRUN, registered ring
// fd, multishot accept, multishot recv into a provided-buffer ring of 1024 × 16 KiB, one send
// per response, one submit_and_wait per loop turn. Variants (argv[2], comma list) try what
// the kernel side could still save:
//   fixed   accepted sockets go straight into the ring's file table (direct descriptors)
//   skip    sends are flagged CQE_SKIP_SUCCESS (no completion for a send that went out whole;
//           only safe here because the response is static)
//   batch   wait for 8 completions or 50 µs (IORING_ENTER_EXT_ARG min_wait), not 1
//
// usage: pagi-floor-probe PORT [VARIANTS]    (bench/floor.py runs it against nginx)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <liburing.h>

namespace {

constexpr unsigned kBuffers = 1024;
constexpr unsigned kBufferSize = 16384;
constexpr uint64_t kAccept = 1ull << 62;

const char kResponse[] =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: Wed, 02 Dec 2026 09:00:00 GMT\r\n"
    "Server: PAGI::Server/0.1.0 (pagi-server)\r\ncontent-length: 13\r\n\r\nHello, World!";

bool has(const std::string& list, const char* name) {
  return ("," + list + ",").find(std::string(",") + name + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [fixed,skip,batch]\n", argv[0]);
    return 2;
  }
  std::string variants = argc > 2 ? argv[2] : "";
  bool fixed = has(variants, "fixed"), skip = has(variants, "skip"),
       batch = has(variants, "batch");

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(atoi(argv[1])));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(lfd, 4096) != 0) {
    perror("bind/listen");
    return 1;
  }

  io_uring ring;
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
            IORING_SETUP_CQSIZE;
  p.cq_entries = 16384;
  if (int rc = io_uring_queue_init_params(2048, &ring, &p); rc != 0) {
    fprintf(stderr, "io_uring: %s\n", strerror(-rc));
    return 1;
  }
  io_uring_register_ring_fd(&ring);
  if (fixed && io_uring_register_files_sparse(&ring, 4096) != 0) {
    fprintf(stderr, "file table refused\n");
    return 1;
  }

  auto* br = static_cast<io_uring_buf_ring*>(mmap(nullptr, kBuffers * sizeof(io_uring_buf),
                                                   PROT_READ | PROT_WRITE,
                                                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0));
  auto* data = static_cast<char*>(mmap(nullptr, size_t(kBuffers) * kBufferSize,
                                       PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1,
                                       0));
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = kBuffers;
  reg.bgid = 0;
  if (io_uring_register_buf_ring(&ring, &reg, 0) != 0) {
    fprintf(stderr, "buffer ring refused\n");
    return 1;
  }
  io_uring_buf_ring_init(br);
  const int mask = io_uring_buf_ring_mask(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i) {
    io_uring_buf_ring_add(br, data + size_t(i) * kBufferSize, kBufferSize, uint16_t(i), mask,
                          int(i));
  }
  io_uring_buf_ring_advance(br, kBuffers);

  auto arm_accept = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (fixed) {
      io_uring_prep_multishot_accept_direct(s, lfd, nullptr, nullptr, 0);  // no CLOEXEC: no fd
    } else {
      io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    io_uring_sqe_set_data64(s, kAccept);
  };
  auto arm_recv = [&](int fd) {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0);
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, uint64_t(fd));
  };
  auto close_fd = [&](int fd) {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (fixed) {
      io_uring_prep_close_direct(s, unsigned(fd));
    } else {
      io_uring_prep_close(s, fd);
    }
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(s, 1ull << 61);
  };
  arm_accept();

  for (;;) {
    if (batch) {
      // min_wait (Linux 6.12): wait for 8 completions, or return after 50 µs with what is
      // there. liburing 2.3 has no wrapper; the field was `pad` before.
      io_uring_getevents_arg arg{};
      arg.pad = 50;
      __kernel_timespec ts{1, 0};
      arg.ts = reinterpret_cast<uint64_t>(&ts);
      io_uring_submit(&ring);
      // (Two enters per turn: liburing 2.3 cannot flush the SQ into an enter of our own.)
      io_uring_enter2(ring.enter_ring_fd, 0, 8,
                      IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG | IORING_ENTER_REGISTERED_RING,
                      reinterpret_cast<sigset_t*>(&arg), sizeof(arg));
    } else {
      io_uring_submit_and_wait(&ring, 1);
    }
    unsigned head, seen = 0, recycled = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t ud = io_uring_cqe_get_data64(cqe);
      if (ud == kAccept) {
        if (cqe->res >= 0) {
          arm_recv(cqe->res);
        } else if (cqe->res != -EMFILE && cqe->res != -ENFILE && cqe->res != -ENOMEM) {
          fprintf(stderr, "accept: %s\n", strerror(-cqe->res));
          return 1;
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
        continue;
      }
      if (ud >> 60 != 0) continue;  // a close, a failed send
      int fd = int(ud);
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        uint16_t bid = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        io_uring_buf_ring_add(br, data + size_t(bid) * kBufferSize, kBufferSize, bid, mask,
                              int(recycled++));
      }
      if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS)) {
        close_fd(fd);  // the peer is gone
        continue;
      }
      if (cqe->res > 0) {
        io_uring_sqe* s = io_uring_get_sqe(&ring);
        io_uring_prep_send(s, fd, kResponse, sizeof(kResponse) - 1, MSG_NOSIGNAL | MSG_WAITALL);
        if (fixed) s->flags |= IOSQE_FIXED_FILE;
        if (skip) s->flags |= IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(s, 1ull << 60);
      }
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(fd);  // out of buffers: armed again
    }
    io_uring_cq_advance(&ring, seen);
    if (recycled) io_uring_buf_ring_advance(br, int(recycled));
  }
}
