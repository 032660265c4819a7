// Internal to src/perl: the perl.h include (with an explicit interpreter argument everywhere,
// since every core runs its own interpreter) and what perl_host.cc and the PerlApp files share.
// Include it after every other header: perl.h defines many short macros.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>

#include "pagi/app.h"
#include "perl/perl_host.h"

#define PERL_NO_GET_CONTEXT
// perl.h must come after EXTERN.h and before XSUB.h.
// clang-format off
#include <EXTERN.h>
#include <perl.h>
#include <XSUB.h>
// clang-format on

namespace pagi::ring {
class Reactor;
}

namespace pagi::perl {

// True when `Future` is the pure-Perl Future::PP without debugging or timing: done/pending
// futures are then built directly as the hashes Future::PP->new would make (saves ~2 µs per
// future). Decided once in the root interpreter, before any clone exists.
extern bool g_direct_futures;

// Registers the XS subs of PAGI::Server::Embed in `my_perl` (done in the root before the app
// loads, so every clone inherits them).
void register_xs(pTHX);

struct LifespanConfig {
  LifespanMode mode = LifespanMode::kAuto;
  int startup_timeout = 30;  // seconds; 0 = none
};

// Wraps a cloned interpreter (already the current context of this thread) as the core's App.
// Takes ownership: the interpreter is destroyed with the app, on this thread.
std::unique_ptr<App> make_perl_app(PerlInterpreter* interp, int core, int cores,
                                   const LifespanConfig& lifespan, ring::Reactor& reactor);

// --heartbeat-timeout (interrupt.cc): make this core thread's interpreter interruptible by
// the watchdog's signal (its PL_signalhook dies when asked to), or stop that before it goes.
void enable_interrupts(pTHX);
void disable_interrupts();

// The text of a Perl error value ($@ or a Future failure): stringified without letting an
// overloaded object's die escape, trailing newline removed.
std::string error_text(pTHX_ SV* err);

// True when the last G_EVAL call died. $@ may be an exception object whose overloaded
// stringification or boolean dies (outside any eval here: the whole process would exit), so a
// reference counts as an error without its overloads being called.
inline bool call_died(pTHX) {
  SV* e = ERRSV;
  return SvROK(e) || SvTRUE_nomg(e);
}

// Calls NAME in scalar context under G_EVAL: a method of the first argument when `method`,
// else the sub of that name. ARGS are pushed in order (nullptr ones skipped; mortal ones are
// freed with the call's temporaries). USE gets the result (undef if the call died, with ERRSV
// set) while it is still alive, and what USE returns (if anything) is returned.
template <class Use>
auto call_scalar(pTHX_ const char* name, bool method, std::initializer_list<SV*> args, Use&& use) {
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  for (SV* a : args) {
    if (a != nullptr) XPUSHs(a);
  }
  PUTBACK;
  int n = method ? call_method(name, G_SCALAR | G_EVAL) : call_pv(name, G_SCALAR | G_EVAL);
  SPAGAIN;
  SV* result = n == 1 ? POPs : &PL_sv_undef;
  PUTBACK;
  if constexpr (std::is_void_v<std::invoke_result_t<Use, SV*>>) {
    use(result);
    FREETMPS;
    LEAVE;
  } else {
    auto out = use(result);
    FREETMPS;
    LEAVE;
    return out;
  }
}

}  // namespace pagi::perl
