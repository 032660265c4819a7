// One core's Perl host: the cloned interpreter as a pagi::App. Per request it builds $scope
// and binds $receive/$send (XS subs) to a refcounted Request; they return real Future objects,
// already done when the exchange can answer at once, pending until the core's loop resolves
// them otherwise. Also the XS half of PAGI::Server::Embed (warn hook, Future::IO timers).
#include <poll.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "apps/app_factory.h"
#include "common/log.h"
#include "http/h1_connection.h"
#include "ring/reactor.h"
#include "ring/timer_wheel.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/embed.h"

namespace pagi::perl {
namespace {

class PerlApp;

// What $receive/$send/the app's on_ready callback are bound to. Counted references: the
// exchange (app_data) while the app runs, and each bound XS sub (through magic freed with the
// CV), so a $send kept by the app after the request ended is still safe to call.
struct Request {
  PerlApp* app = nullptr;
  Exchange* ex = nullptr;  // null once finished: the exchange may be reused then
  int refs = 0;
  SV* app_future = nullptr;        // the app's pending Future, held until it is ready
  std::vector<SV*> receivers;      // pending $receive Futures, oldest first
  std::vector<SV*> blocked_sends;  // pending $send Futures (above the high watermark)
  Request* prev = nullptr;         // the app's list of live requests
  Request* next = nullptr;
};

// A Future::IO->sleep on the core's timer wheel.
struct SleepTimer {
  ring::Timer timer;
  PerlApp* app = nullptr;
  uint64_t id = 0;
  SV* future = nullptr;
};

// A Future::IO->ready_for_read/_write: a one-shot poll on the core's ring. Kept until its
// completion arrives, even when cancelled (the kernel still owns it until then).
struct PollWatch final : ring::Handler {
  PerlApp* app = nullptr;
  uint64_t id = 0;
  SV* future = nullptr;  // null once cancelled
  void on_completion(unsigned op, const ring::Completion& c) override;
};

thread_local PerlApp* t_app = nullptr;  // the app of this core thread (none in the root)

void request_unref(Request* r);

int request_magic_free(pTHX_ SV*, MAGIC* mg) {
  request_unref(reinterpret_cast<Request*>(mg->mg_ptr));
  return 0;
}

MGVTBL g_request_vtbl = {nullptr, nullptr, nullptr, nullptr, request_magic_free,
                         nullptr, nullptr, nullptr};

XS(xs_receive);
XS(xs_send);
XS(xs_app_ready);

class PerlApp final : public App, public apps::AbandonableApp {
 public:
  PerlApp(PerlInterpreter* interp, int core, ring::Reactor& reactor)
      : my_perl(interp), core_(core), reactor_(reactor) {
    PL_perl_destruct_level = 1;
    app_ = SvREFCNT_inc(get_sv("PAGI::Server::Embed::APP", GV_ADD));
    future_stash_ = gv_stashpvs("Future", GV_ADD);
    t_app = this;
  }

  ~PerlApp() override {
    PERL_SET_CONTEXT(my_perl);
    // Requests still alive are only referenced by Perl values now (every exchange is
    // finished before a core stops): drop what they hold before the interpreter goes.
    for (Request* r = live_; r != nullptr; r = r->next) {
      r->ex = nullptr;
      release_futures(r);
      r->app = nullptr;
    }
    live_ = nullptr;
    for (auto& [id, t] : timers_) {
      reactor_.timers().cancel(t->timer);
      SvREFCNT_dec(t->future);
    }
    timers_.clear();
    // The loop has stopped: no poll completion comes any more.
    for (auto& [id, w] : polls_) SvREFCNT_dec(w->future);
    polls_.clear();
    SvREFCNT_dec(app_);
    t_app = nullptr;
    perl_destruct(my_perl);
    perl_free(my_perl);
    PERL_SET_CONTEXT(nullptr);
  }

  // --- App -----------------------------------------------------------------------------------

  void on_request(Exchange& ex) override {
    Request* r = new Request;
    r->app = this;
    r->ex = &ex;
    r->refs = 1;  // the exchange's reference, dropped at finish
    r->next = live_;
    if (live_ != nullptr) live_->prev = r;
    live_ = r;
    ex.app_data = r;

    dSP;
    ENTER;
    SAVETMPS;
    SV* scope = sv_2mortal(build_scope(ex));
    SV* receive = sv_2mortal(bound_sub(xs_receive, r));
    SV* send = sv_2mortal(bound_sub(xs_send, r));
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
    if (SvTRUE(ERRSV)) {
      finish(r, true, error_text(aTHX_ ERRSV));
    } else {
      watch_result(r, ret);
    }
    FREETMPS;
    LEAVE;
  }

  void on_receive_ready(Exchange& ex) override {
    auto* r = static_cast<Request*>(ex.app_data);
    if (r == nullptr) return;
    ++r->refs;
    deliver_receives(r);
    request_unref(r);
  }

  void on_writable(Exchange& ex) override {
    auto* r = static_cast<Request*>(ex.app_data);
    if (r == nullptr || r->blocked_sends.empty()) return;
    ++r->refs;
    std::vector<SV*> sends;
    sends.swap(r->blocked_sends);
    ENTER;
    SAVETMPS;
    for (SV* f : sends) resolve(sv_2mortal(f), "done", nullptr);
    FREETMPS;
    LEAVE;
    request_unref(r);
  }

  // Shutdown timeout: every connection is closed; finish what the app still holds (quietly:
  // the clients are gone).
  void abandon_all() override {
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

  // --- used by the XS subs -------------------------------------------------------------------

  PerlInterpreter* interp() const { return my_perl; }

  // $receive->(): a done Future with the next event, or a pending one resolved from
  // on_receive_ready. After the request ended: http.disconnect.
  SV* receive(Request* r) {
    Event ev;
    if (r->ex == nullptr) return future_done(disconnect_event());
    if (r->receivers.empty() && r->ex->receive(ev)) return future_done(event_sv(ev));
    SV* f = future_new();
    r->receivers.push_back(SvREFCNT_inc_simple_NN(f));
    return f;
  }

  // $send->(\%event).
  SV* send(Request* r, SV* event) {
    if (!SvROK(event) || SvTYPE(SvRV(event)) != SVt_PVHV) {
      return future_fail("send requires an event hash reference");
    }
    HV* hv = reinterpret_cast<HV*>(SvRV(event));
    SV** type_sv = hv_fetchs(hv, "type", 0);
    STRLEN type_len = 0;
    const char* type_p = type_sv != nullptr && SvOK(*type_sv) ? SvPV(*type_sv, type_len) : "";
    std::string_view type(type_p, type_len);
    std::string_view error;
    SendResult res = SendResult::kOk;
    Exchange* ex = r->ex;
    if (type == "http.response.start") {
      int status = 200;
      SV** s = hv_fetchs(hv, "status", 0);
      if (s != nullptr && SvOK(*s)) {
        if (!looks_like_integer(*s)) {
          return future_fail("http.response.start: status must be an integer");
        }
        status = int(SvIV(*s));
      }
      if (!collect_headers(hv, "http.response.start", &error)) return future_fail(error);
      SV** t = hv_fetchs(hv, "trailers", 0);
      bool trailers = t != nullptr && SvTRUE(*t);
      if (ex == nullptr) return future_done(nullptr);
      res = ex->send_start(status, headers_, trailers);
    } else if (type == "http.response.body") {
      if (hv_exists(hv, "file", 4) || hv_exists(hv, "fh", 2)) {
        return future_fail(
            "http.response.body: file and fh bodies are not supported by pagi-server yet");
      }
      std::string_view body;
      SV** b = hv_fetchs(hv, "body", 0);
      if (b != nullptr && SvOK(*b) && !bytes_of(*b, &body)) {
        return future_fail("http.response.body: body contains wide characters (encode it)");
      }
      SV** m = hv_fetchs(hv, "more", 0);
      bool more = m != nullptr && SvTRUE(*m);
      if (ex == nullptr) return future_done(nullptr);
      res = ex->send_body(body, more);
    } else if (type == "http.response.trailers") {
      if (!collect_headers(hv, "http.response.trailers", &error)) return future_fail(error);
      if (ex == nullptr) return future_done(nullptr);
      res = ex->send_trailers(headers_);
    } else if (type == "http.fullflush") {
      return future_fail("Extension not enabled: fullflush");
    } else {
      std::string msg = "Unrecognized event type '";
      msg.append(type);
      msg.append("' for http protocol");
      return future_fail(msg);
    }
    switch (res) {
      case SendResult::kOk:
      case SendResult::kClosed: return future_done(nullptr);
      case SendResult::kInvalid: return future_fail(ex->error());
      case SendResult::kBlocked: {
        SV* f = future_new();
        r->blocked_sends.push_back(SvREFCNT_inc_simple_NN(f));
        return f;
      }
    }
    return future_done(nullptr);
  }

  // The app's Future is ready (from its on_ready callback).
  void app_ready(Request* r, SV* future) {
    bool failed = false;
    std::string message;
    future_outcome(future, &failed, &message);
    finish(r, failed, message);
  }

  // Future::IO->sleep: arms a timer that resolves `future`.
  uint64_t add_timer(double secs, SV* future) {
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

  void cancel_timer(uint64_t id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    reactor_.timers().cancel(it->second->timer);
    SvREFCNT_dec(it->second->future);
    timers_.erase(it);
  }

  // Future::IO readiness: a one-shot poll of `fd` resolving `future`.
  uint64_t add_poll(int fd, bool write, SV* future) {
    auto w = std::make_unique<PollWatch>();
    w->app = this;
    w->id = ++timer_ids_;
    w->future = SvREFCNT_inc_simple_NN(future);
    reactor_.poll(fd, write ? POLLOUT : POLLIN, w.get(), 0);
    uint64_t id = w->id;
    polls_.emplace(id, std::move(w));
    return id;
  }

  void cancel_poll(uint64_t id) {
    auto it = polls_.find(id);
    if (it == polls_.end() || it->second->future == nullptr) return;
    SvREFCNT_dec(it->second->future);
    it->second->future = nullptr;
    reactor_.cancel(it->second.get(), 0);  // its -ECANCELED completion removes it
  }

  void poll_done(uint64_t id, int res) {
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

  void unlink(Request* r) {
    if (r->app == nullptr) return;
    if (r->prev != nullptr) {
      r->prev->next = r->next;
    } else {
      live_ = r->next;
    }
    if (r->next != nullptr) r->next->prev = r->prev;
    r->prev = r->next = nullptr;
  }

 private:
  static void on_timer(void* owner) {
    auto* t = static_cast<SleepTimer*>(owner);
    PerlApp* app = t->app;
    app->fire_timer(t->id);
  }

  void fire_timer(uint64_t id) {
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

  // An anonymous XS sub bound to `r` (one more reference on it until the sub is freed).
  SV* bound_sub(XSUBADDR_t fn, Request* r) {
    CV* cv = newXS(nullptr, fn, __FILE__);
    CvXSUBANY(cv).any_ptr = r;
    ++r->refs;
    sv_magicext(reinterpret_cast<SV*>(cv), nullptr, PERL_MAGIC_ext, &g_request_vtbl,
                reinterpret_cast<const char*>(r), 0);
    return newRV_noinc(reinterpret_cast<SV*>(cv));
  }

  void store(HV* hv, const char* key, I32 len, SV* value) { hv_store(hv, key, len, value, 0); }

  // Always a defined string ("" for an empty view, whose data() may be null).
  SV* str(std::string_view s) { return newSVpvn(s.empty() ? "" : s.data(), s.size()); }

  SV* build_scope(Exchange& ex) {
    const Scope& s = ex.scope();
    HV* hv = newHV();
    store(hv, "type", 4, newSVpvs("http"));
    HV* pagi = newHV();
    store(pagi, "version", 7, newSVpvs("0.3"));
    store(pagi, "spec_version", 12, newSVpvs("0.3"));
    store(hv, "pagi", 4, newRV_noinc(reinterpret_cast<SV*>(pagi)));
    store(hv, "http_version", 12, str(s.http_version));
    store(hv, "method", 6, str(s.method));
    store(hv, "scheme", 6, str(s.scheme.empty() ? std::string_view("http") : s.scheme));
    SV* path = str(s.path);
    if (s.path_is_utf8) {
      for (unsigned char c : s.path) {
        if (c >= 0x80) {
          SvUTF8_on(path);
          break;
        }
      }
    }
    store(hv, "path", 4, path);
    store(hv, "raw_path", 8, str(s.raw_path));
    store(hv, "query_string", 12, str(s.query_string));
    store(hv, "root_path", 9, str(s.root_path));
    AV* headers = newAV();
    av_extend(headers, SSize_t(s.headers.size()));
    for (const Header& h : s.headers) {
      AV* pair = newAV();
      av_extend(pair, 1);
      av_push(pair, str(h.name));
      av_push(pair, str(h.value));
      av_push(headers, newRV_noinc(reinterpret_cast<SV*>(pair)));
    }
    store(hv, "headers", 7, newRV_noinc(reinterpret_cast<SV*>(headers)));
    Endpoint client;
    if (ex.client(client)) {
      AV* c = newAV();
      av_push(c, str(client.host));
      av_push(c, newSViv(client.port));
      store(hv, "client", 6, newRV_noinc(reinterpret_cast<SV*>(c)));
    }
    Endpoint server = ex.server();
    AV* sv = newAV();
    av_push(sv, str(server.host));
    av_push(sv, server.port >= 0 ? newSViv(server.port) : newSV(0));
    store(hv, "server", 6, newRV_noinc(reinterpret_cast<SV*>(sv)));
    // Lifespan state is not built yet: a fresh hash per request.
    store(hv, "state", 5, newRV_noinc(reinterpret_cast<SV*>(newHV())));
    store(hv, "extensions", 10, newRV_noinc(reinterpret_cast<SV*>(newHV())));
    return newRV_noinc(reinterpret_cast<SV*>(hv));
  }

  SV* disconnect_event() {
    HV* hv = newHV();
    store(hv, "type", 4, newSVpvs("http.disconnect"));
    return newRV_noinc(reinterpret_cast<SV*>(hv));
  }

  SV* event_sv(const Event& ev) {
    if (ev.type != EventType::kHttpRequest) return disconnect_event();
    HV* hv = newHV();
    store(hv, "type", 4, newSVpvs("http.request"));
    store(hv, "body", 4, str(ev.body));
    store(hv, "more", 4, newSViv(ev.more ? 1 : 0));
    return newRV_noinc(reinterpret_cast<SV*>(hv));
  }

  bool looks_like_integer(SV* sv) {
    if (SvIOK(sv)) return true;
    if (!looks_like_number(sv)) return false;
    NV nv = SvNV(sv);
    return std::isfinite(nv) && nv == std::floor(nv);
  }

  // Bytes of a PAGI "Bytes" value (SvPVbyte semantics without croaking): false on wide
  // characters. A downgraded copy is mortal, so the view lives until the caller's FREETMPS.
  bool bytes_of(SV* sv, std::string_view* out) {
    STRLEN len;
    if (SvUTF8(sv) || SvROK(sv)) {
      SV* copy = sv_2mortal(newSVsv(sv));
      if (SvUTF8(copy) && !sv_utf8_downgrade(copy, TRUE)) return false;
      sv = copy;
    }
    const char* p = SvPV(sv, len);
    *out = std::string_view(p, len);
    return true;
  }

  // headers => [[name, value], ...] of an event into headers_ (views into Perl values).
  bool collect_headers(HV* hv, const char* event, std::string_view* error) {
    headers_.clear();
    SV** h = hv_fetchs(hv, "headers", 0);
    if (h == nullptr || !SvOK(*h)) return true;
    if (!SvROK(*h) || SvTYPE(SvRV(*h)) != SVt_PVAV) {
      error_.assign(event).append(": headers must be an array reference");
      *error = error_;
      return false;
    }
    AV* av = reinterpret_cast<AV*>(SvRV(*h));
    SSize_t n = av_top_index(av) + 1;
    for (SSize_t i = 0; i < n; ++i) {
      SV** pair = av_fetch(av, i, 0);
      AV* p = pair != nullptr && SvROK(*pair) && SvTYPE(SvRV(*pair)) == SVt_PVAV
                  ? reinterpret_cast<AV*>(SvRV(*pair))
                  : nullptr;
      SV** name = p != nullptr ? av_fetch(p, 0, 0) : nullptr;
      SV** value = p != nullptr ? av_fetch(p, 1, 0) : nullptr;
      if (name == nullptr || value == nullptr || !SvOK(*name) || !SvOK(*value)) {
        error_.assign(event).append(": each header must be a [name, value] pair");
        *error = error_;
        return false;
      }
      Header hd;
      if (!bytes_of(*name, &hd.name) || !bytes_of(*value, &hd.value)) {
        error_.assign(event).append(": header contains wide characters (encode it to bytes)");
        *error = error_;
        return false;
      }
      headers_.push_back(hd);
    }
    return true;
  }

  // Futures. Built directly as Future::PP hashes when g_direct_futures, else by method call.
  SV* future_hash(bool ready, const char* slot, SV* value) {
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

  SV* future_by_method(const char* method, SV* value) {
    dSP;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    XPUSHs(sv_2mortal(newSVpvs("Future")));
    if (value != nullptr) XPUSHs(sv_2mortal(value));
    PUTBACK;
    int n = call_method(method, G_SCALAR | G_EVAL);
    SPAGAIN;
    SV* f = n == 1 ? newSVsv(POPs) : newSV(0);
    PUTBACK;
    FREETMPS;
    LEAVE;
    return f;
  }

  // Each returns a new reference (the XS caller mortalises it); `value` is taken over.
  SV* future_done(SV* value) {
    if (g_direct_futures) return future_hash(true, "result", value);
    return future_by_method("done", value);
  }
  SV* future_new() {
    if (g_direct_futures) return future_hash(false, nullptr, nullptr);
    return future_by_method("new", nullptr);
  }
  SV* future_fail(std::string_view message) {
    std::string text(message);
    text.push_back('\n');  // no " at FILE line N" from Carp: the message says it all
    SV* msg = newSVpvn(text.data(), text.size());
    if (g_direct_futures) return future_hash(true, "failure", msg);
    return future_by_method("fail", msg);
  }

  // Calls $future->done(@value) / ->fail; a die in a callback it runs is logged.
  void resolve(SV* future, const char* method, SV* value) {
    dSP;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    XPUSHs(future);
    if (value != nullptr) XPUSHs(sv_2mortal(value));
    PUTBACK;
    call_method(method, G_DISCARD | G_EVAL);
    if (SvTRUE(ERRSV)) {
      std::string msg = error_text(aTHX_ ERRSV);
      LOG_ERROR("PAGI application error (in a Future callback): %s", msg.c_str());
    }
    FREETMPS;
    LEAVE;
  }

  // Whether a ready Future failed, and its message.
  void future_outcome(SV* future, bool* failed, std::string* message) {
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
    dSP;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    XPUSHs(future);
    PUTBACK;
    int n = call_method("failure", G_SCALAR | G_EVAL);
    SPAGAIN;
    SV* e = n == 1 ? POPs : &PL_sv_undef;
    PUTBACK;
    if (SvTRUE(ERRSV)) {
      *failed = true;
      *message = error_text(aTHX_ ERRSV);
    } else if (SvOK(e)) {
      *failed = true;
      *message = error_text(aTHX_ e);
    }
    FREETMPS;
    LEAVE;
  }

  bool future_is_ready(SV* future) {
    if (g_direct_futures && SvTYPE(SvRV(future)) == SVt_PVHV) {
      SV** ready = hv_fetchs(reinterpret_cast<HV*>(SvRV(future)), "ready", 0);
      return ready != nullptr && SvTRUE(*ready);
    }
    dSP;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    XPUSHs(future);
    PUTBACK;
    int n = call_method("is_ready", G_SCALAR | G_EVAL);
    SPAGAIN;
    SV* v = n == 1 ? POPs : &PL_sv_undef;
    PUTBACK;
    bool ready = !SvTRUE(ERRSV) && SvTRUE(v);
    FREETMPS;
    LEAVE;
    return ready;
  }

  // What the app returned: a Future (ready now, or watched with on_ready) or anything else
  // (treated as done: the app returned).
  void watch_result(Request* r, SV* ret) {
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
    if (SvTRUE(ERRSV)) finish(r, true, error_text(aTHX_ ERRSV));
    FREETMPS;
    LEAVE;
  }

  // The app is done with the request: wind up the exchange, then settle what still waits.
  void finish(Request* r, bool failed, const std::string& message) {
    Exchange* ex = r->ex;
    if (ex == nullptr) return;
    r->ex = nullptr;
    ex->app_data = nullptr;
    if (failed) {
      // H1Connection logs "PAGI application error: MSG" itself (once, with the right variant
      // for before/after the response started).
      if (auto* h1 = dynamic_cast<http::H1Connection*>(ex)) {
        h1->fail(message);
      } else {
        LOG_ERROR("PAGI application error: %s", message.c_str());
        ex->finish(true);
      }
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
    for (SV* f : receivers) resolve(sv_2mortal(f), "done", disconnect_event());
    for (SV* f : sends) resolve(sv_2mortal(f), "done", nullptr);
    FREETMPS;
    LEAVE;
    request_unref(r);  // the exchange's reference
  }

  void deliver_receives(Request* r) {
    ENTER;
    SAVETMPS;
    while (r->ex != nullptr && !r->receivers.empty()) {
      Event ev;
      if (!r->ex->receive(ev)) break;
      SV* f = r->receivers.front();
      r->receivers.erase(r->receivers.begin());
      resolve(sv_2mortal(f), "done", event_sv(ev));
    }
    FREETMPS;
    LEAVE;
  }

  void release_futures(Request* r) {
    for (SV* f : r->receivers) SvREFCNT_dec(f);
    r->receivers.clear();
    for (SV* f : r->blocked_sends) SvREFCNT_dec(f);
    r->blocked_sends.clear();
    SvREFCNT_dec(r->app_future);
    r->app_future = nullptr;
  }

  PerlInterpreter* my_perl;  // the name the Perl API macros (aTHX) expect
  int core_;
  ring::Reactor& reactor_;
  SV* app_ = nullptr;
  HV* future_stash_ = nullptr;
  Request* live_ = nullptr;
  std::vector<Header> headers_;  // reused by every send
  std::string error_;
  std::unordered_map<uint64_t, std::unique_ptr<SleepTimer>> timers_;
  std::unordered_map<uint64_t, std::unique_ptr<PollWatch>> polls_;
  uint64_t timer_ids_ = 0;
};

void PollWatch::on_completion(unsigned, const ring::Completion& c) {
  app->poll_done(id, c.res);
}

void request_unref(Request* r) {
  if (--r->refs > 0) return;
  if (r->app != nullptr) r->app->unlink(r);
  delete r;
}

// --- XS subs. A croak here unwinds to the app's eval (they are only called from Perl), so
// nothing with a destructor lives on their C++ frames across a call that may croak. ---------

Request* bound_request(CV* cv) {
  return static_cast<Request*>(CvXSUBANY(cv).any_ptr);
}

XS(xs_receive) {
  dXSARGS;
  PERL_UNUSED_VAR(items);
  Request* r = bound_request(cv);
  if (r->app == nullptr) XSRETURN_UNDEF;
  ST(0) = sv_2mortal(r->app->receive(r));
  XSRETURN(1);
}

XS(xs_send) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r->app == nullptr) XSRETURN_UNDEF;
  SV* event = items > 0 ? ST(0) : &PL_sv_undef;
  ST(0) = sv_2mortal(r->app->send(r, event));
  XSRETURN(1);
}

XS(xs_app_ready) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r->app != nullptr && items > 0) r->app->app_ready(r, ST(0));
  XSRETURN_EMPTY;
}

// $SIG{__WARN__}: Perl's own text already ends in " at FILE line N." unless the app ended
// its message with a newline.
XS(xs_warn) {
  dXSARGS;
  std::string text =
      items > 0 ? error_text(aTHX_ ST(0)) : std::string("Warning: something's wrong");
  LOG_WARN("%s", text.c_str());
  XSRETURN_EMPTY;
}

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

void register_xs(pTHX) {
  newXS("PAGI::Server::Embed::_warn", xs_warn, __FILE__);
  newXS("PAGI::Server::Embed::_timer", xs_timer, __FILE__);
  newXS("PAGI::Server::Embed::_cancel_timer", xs_cancel_timer, __FILE__);
  newXS("PAGI::Server::Embed::_poll", xs_poll, __FILE__);
  newXS("PAGI::Server::Embed::_cancel_poll", xs_cancel_poll, __FILE__);
}

std::unique_ptr<App> make_perl_app(PerlInterpreter* interp, int core, ring::Reactor& reactor) {
  return std::make_unique<PerlApp>(interp, core, reactor);
}

}  // namespace pagi::perl
