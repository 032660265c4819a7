// The loop: submit everything queued, wait for at least one completion (or the next timer),
// dispatch completions, fire timers, run deferred work. One io_uring_enter per turn.
#include "ring/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <liburing.h>

namespace pagi::ring {
namespace {

constexpr uint64_t kOpMask = 0xf;

uint64_t pack(Handler* h, unsigned op) {
  return reinterpret_cast<uint64_t>(h) | (op & kOpMask);
}

struct TechniqueName {
  Technique bit;
  std::string_view name;
};
constexpr TechniqueName kTechniqueNames[] = {
    {kDeferTaskrun, "defer-taskrun"},       {kCoopTaskrun, "coop-taskrun"},
    {kRegisteredFd, "registered-fd"},       {kMultishotRecv, "multishot-recv"},
    {kMultishotAccept, "multishot-accept"}, {kDeferAccept, "defer-accept"},
};

}  // namespace

bool parse_techniques(std::string_view list, unsigned* mask, std::string* error) {
  unsigned m = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (name.empty()) continue;
    bool known = false;
    for (const TechniqueName& t : kTechniqueNames) {
      if (t.name == name) {
        m |= t.bit;
        known = true;
      }
    }
    if (!known) {
      *error = "unknown technique '" + std::string(name) + "' (known: ";
      for (const TechniqueName& t : kTechniqueNames) {
        if (&t != kTechniqueNames) *error += ", ";
        *error += t.name;
      }
      *error += ")";
      return false;
    }
  }
  *mask = m;
  return true;
}

std::string describe_techniques(unsigned mask) {
  std::string out;
  for (const TechniqueName& t : kTechniqueNames) {
    if ((mask & t.bit) == 0) continue;
    if (!out.empty()) out += ",";
    out += t.name;
  }
  return out;
}

class Reactor::MailboxHandler final : public Handler {
 public:
  explicit MailboxHandler(Reactor* r) : reactor_(r) {}
  void on_completion(unsigned, const Completion&) override {
    reactor_->drain_mailbox();
    reactor_->arm_mailbox();
  }

 private:
  Reactor* reactor_;
};

// CLOCK_MONOTONIC (vDSO: no syscall), read twice per loop turn: around io_uring_enter, which
// gives the timers their "now" and the loop-utilisation metric its wait time.
uint64_t Reactor::clock_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

uint64_t Reactor::loop_run_ns() const {
  return run_start_ns_ == 0 ? 0 : clock_ns() - run_start_ns_;
}

std::unique_ptr<Reactor> Reactor::create(const ReactorConfig& config, std::string* error) {
  std::unique_ptr<Reactor> r(new Reactor());
  r->ring_ = std::make_unique<io_uring>();
  r->now_ms_ = clock_ms();
  r->disabled_ = config.disabled;

  // Best set first; older kernels reject unknown flags with EINVAL, so fall back step by step.
  // A technique turned off skips its step.
  const struct {
    unsigned flags;
    Technique needs;
  } attempts[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
           IORING_SETUP_CQSIZE,
       kDeferTaskrun},
      {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE, kCoopTaskrun},
      {IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE, Technique(0)},
      {IORING_SETUP_CQSIZE, Technique(0)},
  };
  int rc = -EINVAL;
  for (auto [flags, needs] : attempts) {
    if ((config.disabled & needs) != 0) continue;
    io_uring_params p{};
    p.flags = flags;
    p.cq_entries = config.entries * 8;
    rc = io_uring_queue_init_params(config.entries, r->ring_.get(), &p);
    if (rc == 0) {
      r->features_.defer_taskrun = (flags & IORING_SETUP_DEFER_TASKRUN) != 0;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc < 0) {
    std::string why = strerror(-rc);
    if (rc == -EPERM || rc == -EACCES) {
      why += " — io_uring is disabled for this process (kernel.io_uring_disabled sysctl, "
             "a seccomp filter or a container policy)";
    } else if (rc == -ENOSYS) {
      why += " — this kernel was built without io_uring";
    } else if (rc == -ENOMEM) {
      why += " — locked-memory limit too low (raise `ulimit -l`)";
    }
    *error = "io_uring is unavailable: " + why;
    r->ring_.reset();
    return nullptr;
  }
  r->features_.registered_fd =
      r->uses(kRegisteredFd) && io_uring_register_ring_fd(r->ring_.get()) == 1;

  if (!r->buffers_.init(r->ring_.get(), 0, config.buffer_count, config.buffer_size, error)) {
    return nullptr;
  }

  r->event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (r->event_fd_ < 0) {
    *error = std::string("eventfd failed: ") + strerror(errno);
    return nullptr;
  }
  r->mailbox_handler_ = std::make_unique<MailboxHandler>(r.get());
  r->arm_mailbox();
  return r;
}

Reactor::~Reactor() {
  if (ring_) {
    buffers_.unregister();  // before the ring it is registered with goes away
    io_uring_queue_exit(ring_.get());
  }
  if (event_fd_ >= 0) ::close(event_fd_);
}

io_uring_sqe* Reactor::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(ring_.get());
  if (s == nullptr) {
    // SQ full: hand what we have to the kernel now, then there is room.
    io_uring_submit(ring_.get());
    s = io_uring_get_sqe(ring_.get());
  }
  return s;
}

void Reactor::accept_multishot(int fd, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  if (uses(kMultishotAccept)) {
    io_uring_prep_multishot_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC);  // the handler re-arms
  }
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::accept(int fd, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_accept(s, fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::recv_multishot(int fd, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  if (uses(kMultishotRecv)) {
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
  } else {
    io_uring_prep_recv(s, fd, nullptr, 0, 0);  // a buffer from the ring; the handler re-arms
  }
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = buffers_.group();
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::send(int fd, const void* data, size_t len, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, fd, data, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::sendmsg(int fd, const msghdr* msg, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_sendmsg(s, fd, msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::read(int fd, void* data, size_t len, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, fd, data, unsigned(len), 0);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::write(int fd, const void* data, size_t len, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  // Offset -1: the file position, which O_APPEND files and pipes need.
  io_uring_prep_write(s, fd, data, unsigned(len), uint64_t(-1));
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::shutdown(int fd, int how, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_shutdown(s, fd, how);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::poll(int fd, unsigned events, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_add(s, fd, events);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, unsigned len,
                     unsigned flags, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_splice(s, fd_in, off_in, fd_out, off_out, len, flags);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::close(int fd) {
  io_uring_sqe* s = sqe();
  io_uring_prep_close(s, fd);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(s, 0);
}

void Reactor::cancel_fd(int fd, Handler* h, unsigned op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(s, pack(h, op));
}

void Reactor::cancel(Handler* target, unsigned target_op) {
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, pack(target, target_op), 0);
  s->flags |= IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(s, 0);
}

void Reactor::defer(Deferred& d) {
  if (d.deferred_) return;
  d.deferred_ = true;
  d.next_deferred_ = nullptr;
  if (deferred_tail_ != nullptr) {
    deferred_tail_->next_deferred_ = &d;
  } else {
    deferred_head_ = &d;
  }
  deferred_tail_ = &d;
}

void Reactor::run_deferred() {
  // Items deferred while running are run in this same pass.
  while (deferred_head_ != nullptr) {
    Deferred* d = deferred_head_;
    deferred_head_ = d->next_deferred_;
    if (deferred_head_ == nullptr) deferred_tail_ = nullptr;
    d->deferred_ = false;
    d->next_deferred_ = nullptr;
    d->run_deferred();
  }
}

void Reactor::arm_mailbox() {
  read(event_fd_, &event_value_, sizeof(event_value_), mailbox_handler_.get(), 0);
}

void Reactor::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    mailbox_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t n = ::write(event_fd_, &one, sizeof(one));
  (void)n;  // eventfd write only fails on counter overflow: the reader is awake anyway
}

void Reactor::drain_mailbox() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    work.swap(mailbox_);
  }
  for (auto& fn : work) fn();
}

void Reactor::run() {
  io_uring* ring = ring_.get();
  if (run_start_ns_ == 0) run_start_ns_ = clock_ns();
  running_ = true;
  while (!stopping_) {
    buffers_.publish();
    uint64_t before = clock_ns();
    now_ms_ = before / 1000000;
    int64_t wait_ms = timers_.next_timeout_ms(now_ms_);
    io_uring_cqe* cqe = nullptr;
    int rc;
    progress_->waiting.store(true, std::memory_order_relaxed);
    if (wait_ms < 0) {
      rc = io_uring_submit_and_wait(ring, 1);
    } else {
      __kernel_timespec ts{};
      ts.tv_sec = wait_ms / 1000;
      ts.tv_nsec = (wait_ms % 1000) * 1000000;
      rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      // Nothing sane to do but keep going; errors here are transient (e.g. CQ overflow).
    }
    progress_->waiting.store(false, std::memory_order_relaxed);
    uint64_t after = clock_ns();
    wait_ns_ += after - before;
    now_ms_ = after / 1000000;

    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      if (data == 0) continue;
      Completion c;
      c.res = cqe->res;
      c.more = (cqe->flags & IORING_CQE_F_MORE) != 0;
      c.has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
      c.buffer_id = uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
      auto* h = reinterpret_cast<Handler*>(data & ~kOpMask);
      step();
      h->on_completion(unsigned(data & kOpMask), c);
    }
    io_uring_cq_advance(ring, seen);
    completions_ += seen;

    step();
    timers_.advance(now_ms_);
    step();
    run_deferred();
  }
  running_ = false;
  // Hand the kernel what the last turn queued (closes, cancels) before the ring goes away.
  io_uring_submit(ring);
}

}  // namespace pagi::ring
