// --heartbeat-timeout on the Perl side: the watchdog's signal only marks the core's
// interpreter as having a signal pending (what Perl's own signal handler does, so it is
// async-signal-safe); the interpreter then calls PL_signalhook between two ops, where dying
// is safe. The hook dies only if the watchdog's request is for the loop step running now (a
// late signal for a step that has returned is ignored); everything else goes to Perl's own
// %SIG dispatch.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "server/watchdog.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {
namespace {

// The interpreter of this core thread while it may be interrupted (null otherwise).
thread_local PerlInterpreter* t_interruptible = nullptr;

extern "C" void on_interrupt_signal(int) {
  int saved = errno;
  PerlInterpreter* p = t_interruptible;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (p != nullptr) p->Isig_pending = 1;
  errno = saved;
}

void interrupt_hook(pTHX) {
  uint64_t ran_ms = 0;
  if (server::take_interrupt(&ran_ms)) {
    const char* file = PL_curcop != nullptr ? CopFILE(PL_curcop) : nullptr;
    unsigned line = PL_curcop != nullptr ? unsigned(CopLINE(PL_curcop)) : 0;
    // Still pending: Perl's own signals (if any came) are dispatched at the next op.
    PL_sig_pending = 1;
    croak("heartbeat timeout: app code ran %.1f s without returning (at %s line %u)\n",
          double(ran_ms) / 1000.0, file != nullptr ? file : "unknown", line);
  }
  if (PL_psig_pend != nullptr) {
    Perl_despatch_signals(aTHX);
  } else {
    PL_sig_pending = 0;
  }
}

}  // namespace

bool install_interrupt_handler(int sig, std::string* error) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_interrupt_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking call in the app returns EINTR and Perl checks
  if (sigaction(sig, &sa, nullptr) != 0) {
    *error = std::string("sigaction: ") + strerror(errno);
    return false;
  }
  return true;
}

void enable_interrupts(pTHX) {
  PL_signalhook = interrupt_hook;
  t_interruptible = my_perl;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

void disable_interrupts() {
  t_interruptible = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace pagi::perl
