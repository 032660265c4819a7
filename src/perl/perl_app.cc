// One core's Perl host: the cloned interpreter as a pagi::App. Per request it builds $scope,
// calls the app with $receive/$send and watches the Future it returns; also the lifespan
// calls and the host-wide XS subs of PAGI::Server::Embed (warn hook, log, lifespan report).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

thread_local PerlApp* t_app = nullptr;

PerlApp::PerlApp(PerlInterpreter* interp, int core, int cores, const LifespanConfig& lifespan,
        ring::Reactor& reactor)
    : my_perl(interp), core_(core), cores_(cores), lifespan_(lifespan), reactor_(reactor) {
  PL_perl_destruct_level = 1;
  app_ = SvREFCNT_inc(get_sv("PAGI::Server::Embed::APP", GV_ADD));
  future_stash_ = gv_stashpvs("Future", GV_ADD);
  // Strings every scope has: new scopes get copy-on-write copies (no buffer per request).
  k_http_ = newSVpvs("http");
  k_version_ = newSVpvs("0.3");
  k_11_ = newSVpvs("1.1");
  k_get_ = newSVpvs("GET");
  connection_stash_ = gv_stashpvs("PAGI::Server::Connection", GV_ADD);
  transport_stash_ = gv_stashpvs("PAGI::Server::Transport", GV_ADD);
  state_ = get_hv("PAGI::Server::Lifespan::STATE", GV_ADD);
  t_app = this;
  const char* file_body = getenv("PAGI_FILE_BODY");
  splice_files_ = file_body == nullptr || strcmp(file_body, "copy") != 0;
  enable_interrupts(aTHX);
}

PerlApp::~PerlApp() {
  disable_interrupts();
  PERL_SET_CONTEXT(my_perl);
  // Requests still alive are only referenced by Perl values now (every exchange is
  // finished before a core stops): drop what they hold before the interpreter goes.
  std::vector<Request*> live;
  for (Request* r = live_; r != nullptr; r = r->next) {
    ++r->refs;
    live.push_back(r);
  }
  for (Request* r : live) {
    r->ex = nullptr;
    release_futures(r);
    release_handles(r, false);
    r->app = nullptr;
  }
  live_ = nullptr;
  for (Request* r : live) request_unref(r);
  for (auto& pool : pool_) {
    for (SV* rv : pool) SvREFCNT_dec(rv);
    pool.clear();
  }
  for (auto& [id, t] : timers_) {
    reactor_.timers().cancel(t->timer);
    SvREFCNT_dec(t->future);
  }
  timers_.clear();
  // Once the loop has stopped no poll completion comes any more. A recycled interpreter goes
  // while the loop runs: its polls are cancelled and free themselves when their completion
  // arrives (the kernel owns them until then).
  for (auto& [id, w] : polls_) {
    SvREFCNT_dec(w->future);
    w->future = nullptr;
    if (reactor_.running()) {
      w->app = nullptr;
      reactor_.cancel(w.get(), 0);
      w.release();
    }
  }
  polls_.clear();
  SvREFCNT_dec(app_);
  for (SV* k : {k_http_, k_version_, k_11_, k_get_}) SvREFCNT_dec(k);
  for (Request* r : free_requests_) delete r;
  free_requests_.clear();
  t_app = nullptr;
  perl_destruct(my_perl);
  perl_free(my_perl);
  PERL_SET_CONTEXT(nullptr);
}

// Lifespan startup on this core's interpreter and loop (PAGI::Server::Lifespan does the
// protocol; it reports back through lifespan_report).
void PerlApp::start(LifecycleDone& done) {
  if (lifespan_.mode == LifespanMode::kOff) {
    done.done(true);
    return;
  }
  start_done_ = &done;
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  EXTEND(SP, 6);
  PUSHs(sv_2mortal(newSVpvs("PAGI::Server::Lifespan")));
  PUSHs(app_);
  PUSHs(sv_2mortal(lifespan_.mode == LifespanMode::kOn ? newSVpvs("on") : newSVpvs("auto")));
  PUSHs(sv_2mortal(newSViv(lifespan_.startup_timeout)));
  // Each core is a worker of its own (like the reference's pre-fork workers).
  PUSHs(sv_2mortal(newSViv(cores_ > 1 ? 1 : 0)));
  PUSHs(sv_2mortal(newSViv(core_ + 1)));
  PUTBACK;
  call_method("startup", G_DISCARD | G_EVAL);
  if (call_died(aTHX)) lifespan_report(true, false, error_text(aTHX_ ERRSV));
  FREETMPS;
  LEAVE;
}

void PerlApp::stop(LifecycleDone& done) {
  SV* current = get_sv("PAGI::Server::Lifespan::CURRENT", 0);
  if (lifespan_.mode == LifespanMode::kOff || current == nullptr || !SvROK(current)) {
    done.done(true);
    return;
  }
  stop_done_ = &done;
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  XPUSHs(current);
  PUTBACK;
  call_method("shutdown", G_DISCARD | G_EVAL);
  if (call_died(aTHX)) lifespan_report(false, false, error_text(aTHX_ ERRSV));
  FREETMPS;
  LEAVE;
}

// The outcome of the lifespan startup (startup=true) or shutdown.
void PerlApp::lifespan_report(bool startup, bool ok, const std::string& message) {
  LifecycleDone*& slot = startup ? start_done_ : stop_done_;
  LifecycleDone* done = slot;
  slot = nullptr;
  if (done != nullptr) done->done(ok, message);
}

void PerlApp::on_request(Exchange& ex) {
  Request* r;
  if (free_requests_.empty()) {
    r = new Request;
  } else {
    r = free_requests_.back();
    free_requests_.pop_back();
  }
  r->app = this;
  r->ex = &ex;
  r->refs = 2;  // the exchange's: one dropped at finish, one at on_end
  ++exchanges_held_;  // until both happened
  r->type = ex.scope().type;
  r->high = ex.high_watermark();
  r->low = ex.low_watermark();
  r->next = live_;
  if (live_ != nullptr) live_->prev = r;
  live_ = r;
  ex.app_data = r;

  dSP;
  ENTER;
  SAVETMPS;
  SV* scope = sv_2mortal(build_scope(ex));
  // Copies of the host's references: @_ aliases what is pushed, and the app may write to it.
  SV* receive = sv_2mortal(newRV_inc(SvRV(handle(kReceive, r))));
  SV* send = sv_2mortal(newRV_inc(SvRV(handle(kSend, r))));
  PUSHMARK(SP);
  EXTEND(SP, 3);
  PUSHs(scope);
  PUSHs(receive);
  PUSHs(send);
  PUTBACK;
  int n = call_sv(app_, G_SCALAR | G_EVAL);
  SPAGAIN;
  SV* ret = n == 1 ? POPs : &PL_sv_undef;
  PUTBACK;
  if (call_died(aTHX)) {
    finish(r, true, error_text(aTHX_ ERRSV));
  } else {
    watch_result(r, ret);
  }
  FREETMPS;
  LEAVE;
}

void PerlApp::on_receive_ready(Exchange& ex) {
  auto* r = static_cast<Request*>(ex.app_data);
  if (r == nullptr) return;
  ++r->refs;
  deliver_receives(r);
  request_unref(r);
}

void PerlApp::on_writable(Exchange& ex) {
  auto* r = static_cast<Request*>(ex.app_data);
  if (r == nullptr || (r->blocked_sends.empty() && !r->above_high && !r->file)) return;
  ++r->refs;
  std::vector<SV*> sends;
  sends.swap(r->blocked_sends);
  ENTER;
  SAVETMPS;
  if (r->above_high) {
    // Below the low watermark after a high crossing: on_drain, and the cycle re-arms.
    r->above_high = false;
    run_callbacks(r->on_drain, nullptr, "transport callback error", false);
  }
  if (r->file) pump_file(r);  // after the drain: its sends may cross the high mark again
  for (SV* f : sends) resolve(sv_2mortal(f), "done", nullptr);
  FREETMPS;
  LEAVE;
  request_unref(r);
}

// The request's outcome (PAGI.md §2.7 order: is_connected false, reason, future,
// on_disconnect callbacks; the http.disconnect for a waiting receive comes after this).
void PerlApp::on_end(Exchange& ex, const ExchangeEnd& end) {
  auto* r = static_cast<Request*>(ex.app_data);
  if (r == nullptr || r->ended) return;
  // The app still holding the exchange keeps app_data for its receives; finish clears it.
  if (r->ex == nullptr) {
    ex.app_data = nullptr;
    --exchanges_held_;  // finished already: the exchange is out of the app now
  }
  r->ended = true;
  r->response_started = end.response_started;
  r->response_complete = end.response_complete;
  r->reason.assign(end.reason);
  r->code = end.code;
  ENTER;
  SAVETMPS;
  if (r->reason.empty()) {
    run_callbacks(r->on_complete, nullptr, "on_complete callback error", true);
    clear_callbacks(r->on_disconnect);
  } else {
    SV* reason = sv_2mortal(str(r->reason));
    if (r->disconnect_future != nullptr) {
      SV* f = sv_2mortal(r->disconnect_future);
      r->disconnect_future = nullptr;
      resolve(f, "done", newSVsv(reason));
    }
    run_callbacks(r->on_disconnect, reason, "on_disconnect callback error", true);
    clear_callbacks(r->on_complete);
  }
  // Nothing fires any more: drop what may refer back to this request (a callback closing
  // over pagi.transport would otherwise keep it alive for ever). A disconnect Future left
  // pending by a clean completion stays pending for whoever holds it.
  clear_callbacks(r->on_high_water);
  clear_callbacks(r->on_drain);
  r->above_high = false;
  SvREFCNT_dec(r->disconnect_future);
  r->disconnect_future = nullptr;
  FREETMPS;
  LEAVE;
  // Not inside any Perl call here: handles nobody else holds can go back to the pool.
  if (r->ex == nullptr) release_handles(r, true);
  request_unref(r);  // the exchange's on_end reference
}

// Shutdown timeout: every connection is closed; finish what the app still holds (quietly:
// the clients are gone).
void PerlApp::abandon_all() {
  std::vector<Request*> held;
  for (Request* r = live_; r != nullptr; r = r->next) {
    if (r->ex != nullptr) {
      ++r->refs;
      held.push_back(r);
    }
  }
  for (Request* r : held) {
    finish(r, false, {});
    request_unref(r);
  }
}

// The app's Future is ready (from its on_ready callback).
void PerlApp::app_ready(Request* r, SV* future) {
  bool failed = false;
  std::string message;
  future_outcome(future, &failed, &message);
  finish(r, failed, message);
}

// What the app returned: a Future (ready now, or watched with on_ready) or anything else
// (treated as done: the app returned).
void PerlApp::watch_result(Request* r, SV* ret) {
  if (!SvROK(ret) || !sv_isobject(ret) || !sv_derived_from(ret, "Future")) {
    finish(r, false, {});
    return;
  }
  if (future_is_ready(ret)) {
    app_ready(r, ret);
    return;
  }
  if (r->ex == nullptr) return;  // it finished through a callback meanwhile
  r->app_future = newSVsv(ret);
  dSP;
  ENTER;
  SAVETMPS;
  PUSHMARK(SP);
  XPUSHs(ret);
  XPUSHs(sv_2mortal(bound_sub(xs_app_ready, r)));
  PUTBACK;
  call_method("on_ready", G_DISCARD | G_EVAL);
  if (call_died(aTHX)) finish(r, true, error_text(aTHX_ ERRSV));
  FREETMPS;
  LEAVE;
}

// The app is done with the request: wind up the exchange, then settle what still waits.
void PerlApp::finish(Request* r, bool failed, const std::string& message) {
  Exchange* ex = r->ex;
  if (ex == nullptr) return;
  r->ex = nullptr;
  // app_data stays for App::on_end unless that came already.
  if (r->ended) {
    ex->app_data = nullptr;
    --exchanges_held_;  // ended already: the exchange is out of the app now
  }
  // Possibly inside a Perl call (a Future callback): drop the handles, pool none.
  if (r->ended) release_handles(r, false);
  if (failed) {
    // The exchange logs "PAGI application error: MSG" itself (once, with the right variant
    // for before/after the response started).
    ex->fail(message);
  } else {
    ex->finish(false);
  }
  // Receives still waiting get http.disconnect; blocked sends are done (no-ops now).
  ENTER;
  SAVETMPS;
  std::vector<SV*> receivers;
  receivers.swap(r->receivers);
  std::vector<SV*> sends;
  sends.swap(r->blocked_sends);
  if (r->app_future != nullptr) {
    sv_2mortal(r->app_future);
    r->app_future = nullptr;
  }
  end_file(r, nullptr);  // the app returned without awaiting it
  for (SV* f : receivers) resolve(sv_2mortal(f), "done", disconnect_event(r));
  for (SV* f : sends) resolve(sv_2mortal(f), "done", nullptr);
  FREETMPS;
  LEAVE;
  request_unref(r);  // the exchange's reference
}

XS(xs_app_ready) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r != nullptr && r->app != nullptr && items > 0) r->app->app_ready(r, ST(0));
  XSRETURN_EMPTY;
}

namespace {

// $SIG{__WARN__}: Perl's own text already ends in " at FILE line N." unless the app ended
// its message with a newline.
XS(xs_warn) {
  dXSARGS;
  std::string text =
      items > 0 ? error_text(aTHX_ ST(0)) : std::string("Warning: something's wrong");
  LOG_WARN("%s", text.c_str());
  XSRETURN_EMPTY;
}

XS(xs_lifespan_report) {
  dXSARGS;
  if (items != 3) croak_xs_usage(cv, "phase, ok, message");
  if (t_app == nullptr) XSRETURN_EMPTY;
  STRLEN len;
  const char* phase = SvPV(ST(0), len);
  bool startup = std::string_view(phase, len) == "startup";
  bool ok = SvTRUE(ST(1));
  std::string message = error_text(aTHX_ ST(2));
  t_app->lifespan_report(startup, ok, message);
  XSRETURN_EMPTY;
}

// PAGI::Server::Embed::_log(LEVEL, MESSAGE) into the server's log.
XS(xs_log) {
  dXSARGS;
  if (items != 2) croak_xs_usage(cv, "level, message");
  STRLEN len;
  const char* p = SvPV(ST(0), len);
  std::string_view level(p, len);
  std::string message = error_text(aTHX_ ST(1));
  if (level == "error") {
    LOG_ERROR("%s", message.c_str());
  } else if (level == "warn") {
    LOG_WARN("%s", message.c_str());
  } else if (level == "debug") {
    LOG_DEBUG("%s", message.c_str());
  } else {
    LOG_INFO("%s", message.c_str());
  }
  XSRETURN_EMPTY;
}

}  // namespace

void register_xs(pTHX) {
  newXS("PAGI::Server::Embed::_warn", xs_warn, __FILE__);
  newXS("PAGI::Server::Embed::_lifespan_report", xs_lifespan_report, __FILE__);
  newXS("PAGI::Server::Embed::_log", xs_log, __FILE__);
  register_future_io_xs(aTHX);
  register_connection_xs(aTHX);
}

std::unique_ptr<App> make_perl_app(PerlInterpreter* interp, int core, int cores,
                                   const LifespanConfig& lifespan, ring::Reactor& reactor) {
  return std::make_unique<PerlApp>(interp, core, cores, lifespan, reactor);
}

}  // namespace pagi::perl
