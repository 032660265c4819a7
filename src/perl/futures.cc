// Future objects for $receive/$send results: built directly as the hashes Future::PP->new
// makes when that is the Future class in use (g_direct_futures), else by method call; and
// resolving, inspecting and watching them without letting a die escape into C++.
#include <cstring>
#include <string>
#include <string_view>

#include "common/log.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

// Futures. Built directly as Future::PP hashes when g_direct_futures, else by method call.
SV* PerlApp::future_hash(bool ready, const char* slot, SV* value) {
  HV* hv = newHV();
  store(hv, "ready", 5, newSViv(ready ? 1 : 0));
  store(hv, "callbacks", 9, newRV_noinc(reinterpret_cast<SV*>(newAV())));
  if (slot != nullptr) {
    AV* av = newAV();
    if (value != nullptr) av_push(av, value);
    store(hv, slot, I32(strlen(slot)), newRV_noinc(reinterpret_cast<SV*>(av)));
  }
  return sv_bless(newRV_noinc(reinterpret_cast<SV*>(hv)), future_stash_);
}

SV* PerlApp::future_by_method(const char* method, SV* value) {
  return call_scalar(aTHX_ method, true,
                     {sv_2mortal(newSVpvs("Future")), value ? sv_2mortal(value) : nullptr},
                     [&](SV* f) { return newSVsv(f); });
}

// Each returns a new reference (the XS caller mortalises it); `value` is taken over.
SV* PerlApp::future_done(SV* value) {
  if (g_direct_futures) return future_hash(true, "result", value);
  return future_by_method("done", value);
}

SV* PerlApp::future_new() {
  if (g_direct_futures) return future_hash(false, nullptr, nullptr);
  return future_by_method("new", nullptr);
}

SV* PerlApp::future_fail(std::string_view message) {
  std::string text(message);
  text.push_back('\n');  // no " at FILE line N" from Carp: the message says it all
  SV* msg = newSVpvn(text.data(), text.size());
  if (g_direct_futures) return future_hash(true, "failure", msg);
  return future_by_method("fail", msg);
}

// Calls $future->done(@value) / ->fail; a die in a callback it runs is logged.
void PerlApp::resolve(SV* future, const char* method, SV* value) {
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  XPUSHs(future);
  if (value != nullptr) XPUSHs(sv_2mortal(value));
  PUTBACK;
  call_method(method, G_DISCARD | G_EVAL);
  if (call_died(aTHX)) {
    std::string msg = error_text(aTHX_ ERRSV);
    LOG_ERROR("PAGI application error (in a Future callback): %s", msg.c_str());
  }
  FREETMPS;
  LEAVE;
}

// Whether a ready Future failed, and its message.
void PerlApp::future_outcome(SV* future, bool* failed, std::string* message) {
  *failed = false;
  if (g_direct_futures && SvROK(future) && SvTYPE(SvRV(future)) == SVt_PVHV) {
    HV* hv = reinterpret_cast<HV*>(SvRV(future));
    SV** f = hv_fetchs(hv, "failure", 0);
    if (f != nullptr && SvROK(*f) && SvTYPE(SvRV(*f)) == SVt_PVAV) {
      *failed = true;
      SV** e = av_fetch(reinterpret_cast<AV*>(SvRV(*f)), 0, 0);
      *message = e != nullptr ? error_text(aTHX_ * e) : "failed";
      hv_stores(hv, "reported", newSViv(1));
      return;
    }
    SV** c = hv_fetchs(hv, "cancelled", 0);
    if (c != nullptr && SvTRUE(*c)) {
      *failed = true;
      *message = "the application's Future was cancelled";
    }
    return;
  }
  call_scalar(aTHX_ "failure", true, {future}, [&](SV* e) {
    if (call_died(aTHX)) {
      *failed = true;
      *message = error_text(aTHX_ ERRSV);
    } else if (SvOK(e)) {
      *failed = true;
      *message = error_text(aTHX_ e);
    }
  });
}

bool PerlApp::future_is_ready(SV* future) {
  if (g_direct_futures && SvTYPE(SvRV(future)) == SVt_PVHV) {
    SV** ready = hv_fetchs(reinterpret_cast<HV*>(SvRV(future)), "ready", 0);
    return ready != nullptr && SvTRUE(*ready);
  }
  return call_scalar(aTHX_ "is_ready", true, {future},
                     [&](SV* v) { return !call_died(aTHX) && SvTRUE(v); });
}

}  // namespace pagi::perl
