// Future::IO on the core's ring, the XS half of PAGI::Server::FutureIO: sleeps are timers on
// the core's timer wheel, ready_for_read/_write one-shot io_uring polls, so an app that waits
// never blocks the core.
#include <poll.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

// Future::IO->sleep: arms a timer that resolves `future`.
uint64_t PerlApp::add_timer(double secs, SV* future) {
  auto t = std::make_unique<SleepTimer>();
  t->app = this;
  t->id = ++timer_ids_;
  t->future = SvREFCNT_inc_simple_NN(future);
  t->timer.bind(&PerlApp::on_timer, t.get());
  double ms = secs > 0 && std::isfinite(secs) ? std::ceil(secs * 1000.0) : 0;
  if (ms > 1e12) ms = 1e12;
  reactor_.timers().arm(t->timer, uint64_t(ms));
  uint64_t id = t->id;
  timers_.emplace(id, std::move(t));
  return id;
}

void PerlApp::cancel_timer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  reactor_.timers().cancel(it->second->timer);
  SvREFCNT_dec(it->second->future);
  timers_.erase(it);
}

// Future::IO readiness: a one-shot poll of `fd` resolving `future`.
uint64_t PerlApp::add_poll(int fd, bool write, SV* future) {
  auto w = std::make_unique<PollWatch>();
  w->app = this;
  w->id = ++timer_ids_;
  w->future = SvREFCNT_inc_simple_NN(future);
  reactor_.poll(fd, write ? POLLOUT : POLLIN, w.get(), 0);
  uint64_t id = w->id;
  polls_.emplace(id, std::move(w));
  return id;
}

void PerlApp::cancel_poll(uint64_t id) {
  auto it = polls_.find(id);
  if (it == polls_.end() || it->second->future == nullptr) return;
  SvREFCNT_dec(it->second->future);
  it->second->future = nullptr;
  reactor_.cancel(it->second.get(), 0);  // its -ECANCELED completion removes it
}

void PerlApp::poll_done(uint64_t id, int res) {
  auto it = polls_.find(id);
  if (it == polls_.end()) return;
  SV* f = it->second->future;
  polls_.erase(it);  // the watch is gone: touch nothing of it after this
  if (f == nullptr) return;
  ENTER;
  SAVETMPS;
  if (res >= 0) {
    resolve(sv_2mortal(f), "done", nullptr);
  } else {
    std::string msg = "Future::IO poll failed: ";
    msg.append(strerror(-res));
    msg.push_back('\n');
    resolve(sv_2mortal(f), "fail", newSVpvn(msg.data(), msg.size()));
  }
  FREETMPS;
  LEAVE;
}

void PerlApp::on_timer(void* owner) {
  auto* t = static_cast<SleepTimer*>(owner);
  PerlApp* app = t->app;
  app->fire_timer(t->id);
}

void PerlApp::fire_timer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  SV* f = it->second->future;
  timers_.erase(it);
  ENTER;
  SAVETMPS;
  resolve(sv_2mortal(f), "done", nullptr);
  FREETMPS;
  LEAVE;
}

void PollWatch::on_completion(unsigned, const ring::Completion& c) {
  if (app == nullptr) {
    delete this;  // its interpreter was recycled: this is the cancelled poll's last word
    return;
  }
  app->poll_done(id, c.res);
}

namespace {

XS(xs_timer) {
  dXSARGS;
  if (items != 2) croak_xs_usage(cv, "secs, future");
  if (t_app == nullptr) {
    croak("Future::IO->sleep is only available while pagi-server serves requests\n");
  }
  NV secs = SvNV(ST(0));
  uint64_t id = t_app->add_timer(double(secs), ST(1));
  ST(0) = sv_2mortal(newSVuv(UV(id)));
  XSRETURN(1);
}

XS(xs_poll) {
  dXSARGS;
  if (items != 3) croak_xs_usage(cv, "fd, write, future");
  if (t_app == nullptr) {
    croak("Future::IO readiness is only available while pagi-server serves requests\n");
  }
  int fd = int(SvIV(ST(0)));
  bool write = SvTRUE(ST(1));
  uint64_t id = t_app->add_poll(fd, write, ST(2));
  ST(0) = sv_2mortal(newSVuv(UV(id)));
  XSRETURN(1);
}

XS(xs_cancel_poll) {
  dXSARGS;
  if (items == 1 && t_app != nullptr) t_app->cancel_poll(uint64_t(SvUV(ST(0))));
  XSRETURN_EMPTY;
}

XS(xs_cancel_timer) {
  dXSARGS;
  if (items == 1 && t_app != nullptr) t_app->cancel_timer(uint64_t(SvUV(ST(0))));
  XSRETURN_EMPTY;
}

}  // namespace

void register_future_io_xs(pTHX) {
  newXS("PAGI::Server::Embed::_timer", xs_timer, __FILE__);
  newXS("PAGI::Server::Embed::_cancel_timer", xs_cancel_timer, __FILE__);
  newXS("PAGI::Server::Embed::_poll", xs_poll, __FILE__);
  newXS("PAGI::Server::Embed::_cancel_poll", xs_cancel_poll, __FILE__);
}

}  // namespace pagi::perl
