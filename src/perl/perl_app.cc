// One core's Perl host: the cloned interpreter as a pagi::App. Per request it builds $scope
// and binds $receive/$send (XS subs) to a refcounted Request; they return real Future objects,
// already done when the exchange can answer at once, pending until the core's loop resolves
// them otherwise. Also the XS half of PAGI::Server::Embed (warn hook, Future::IO timers).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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
#include "ring/reactor.h"
#include "ring/timer_wheel.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/embed.h"

namespace pagi::perl {
namespace {

class PerlApp;

// An http.response.body with `file` or `fh` being streamed (PAGI.md §3.2): read in pieces of
// at most kFilePiece while the output is below the high watermark, resumed by on_writable.
// Reads are pread (file) or PerlIO reads (fh) on the core thread: page-cache reads of regular
// files are short; a pipe given as fh blocks the core like it blocks the reference server.
struct FileBody {
  int fd = -1;              // `file`: opened and closed here
  PerlIO* io = nullptr;     // `fh`: the app's handle (kept alive by `fh`)
  SV* fh = nullptr;
  uint64_t pos = 0;         // next pread offset (fd)
  int64_t remaining = -1;   // bytes still to send; -1: to EOF
  SV* future = nullptr;     // the send's Future, done when the last piece is queued
};

constexpr size_t kFilePiece = 65536;

// The Perl values bound to a request: $receive, $send, pagi.connection, pagi.transport. They
// are pooled per core: once a request is over and nothing but the host refers to one, it is
// re-bound to the next request instead of being freed and built again.
enum Handle : int { kReceive, kSend, kConnection, kTransport, kHandles };
constexpr size_t kHandlePoolMax = 256;

// What $receive/$send/the app's on_ready callback and the pagi.connection/pagi.transport
// objects are bound to. Counted references: the exchange while the app runs and another until
// its App::on_end, and each bound XS sub or object (through magic freed with it), so a $send
// or a connection object kept by the app after the request ended is still safe to use.
struct Request {
  PerlApp* app = nullptr;
  Exchange* ex = nullptr;  // null once finished: the exchange may be reused then
  int refs = 0;
  SV* app_future = nullptr;        // the app's pending Future, held until it is ready
  std::vector<SV*> receivers;      // pending $receive Futures, oldest first
  std::vector<SV*> blocked_sends;  // pending $send Futures (above the high watermark)
  Request* prev = nullptr;         // the app's list of live requests
  Request* next = nullptr;

  // pagi.connection (PAGI.md §2.7): filled from App::on_end.
  bool ended = false;              // is_connected is false from here on
  bool response_started = false;   // as of the end (the exchange answers before)
  bool response_complete = false;
  std::string reason;              // "" after a clean completion
  std::vector<SV*> on_disconnect;  // callbacks, in registration order
  std::vector<SV*> on_complete;
  SV* disconnect_future = nullptr;  // created when first asked for

  // pagi.transport (PAGI.md §2.8): hysteresis between the high and low watermarks.
  size_t high = 0;
  size_t low = 0;
  bool above_high = false;
  std::vector<SV*> on_high_water;
  std::vector<SV*> on_drain;

  std::unique_ptr<FileBody> file;  // a file/fh body in progress

  SV* handles[kHandles] = {};  // the host's references (RVs) to the bound values
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
  // Null: a pooled handle bound to no request.
  if (mg->mg_ptr != nullptr) request_unref(reinterpret_cast<Request*>(mg->mg_ptr));
  return 0;
}

MGVTBL g_request_vtbl = {nullptr, nullptr, nullptr, nullptr, request_magic_free,
                         nullptr, nullptr, nullptr};

XS(xs_receive);
XS(xs_send);
XS(xs_app_ready);

// The Request behind a pagi.connection / pagi.transport object (a blessed reference to a
// scalar carrying the request in ext magic), or null.
Request* object_request(pTHX_ SV* obj) {
  if (!SvROK(obj)) return nullptr;
  MAGIC* mg = mg_findext(SvRV(obj), PERL_MAGIC_ext, &g_request_vtbl);
  return mg != nullptr ? reinterpret_cast<Request*>(mg->mg_ptr) : nullptr;
}

class PerlApp final : public App, public apps::AbandonableApp {
 public:
  PerlApp(PerlInterpreter* interp, int core, int cores, const LifespanConfig& lifespan,
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
  }

  ~PerlApp() override {
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
    // The loop has stopped: no poll completion comes any more.
    for (auto& [id, w] : polls_) SvREFCNT_dec(w->future);
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

  // --- App -----------------------------------------------------------------------------------

  // Lifespan startup on this core's interpreter and loop (PAGI::Server::Lifespan does the
  // protocol; it reports back through lifespan_report).
  void start(LifecycleDone& done) override {
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
    if (SvTRUE(ERRSV)) lifespan_report(true, false, error_text(aTHX_ ERRSV));
    FREETMPS;
    LEAVE;
  }

  void stop(LifecycleDone& done) override {
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
    if (SvTRUE(ERRSV)) lifespan_report(false, false, error_text(aTHX_ ERRSV));
    FREETMPS;
    LEAVE;
  }

  // The outcome of the lifespan startup (startup=true) or shutdown.
  void lifespan_report(bool startup, bool ok, const std::string& message) {
    LifecycleDone*& slot = startup ? start_done_ : stop_done_;
    LifecycleDone* done = slot;
    slot = nullptr;
    if (done != nullptr) done->done(ok, message);
  }

  void on_request(Exchange& ex) override {
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
  void on_end(Exchange& ex, const ExchangeEnd& end) override {
    auto* r = static_cast<Request*>(ex.app_data);
    if (r == nullptr || r->ended) return;
    // The app still holding the exchange keeps app_data for its receives; finish clears it.
    if (r->ex == nullptr) ex.app_data = nullptr;
    r->ended = true;
    r->response_started = end.response_started;
    r->response_complete = end.response_complete;
    r->reason.assign(end.reason);
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

  // The value of handle `kind` for `r`: a pooled one re-bound, or a new one. The returned RV
  // is the host's own (r->handles[kind]): the app only ever gets other references.
  SV* handle(Handle kind, Request* r) {
    std::vector<SV*>& pool = pool_[kind];
    SV* rv;
    if (!pool.empty()) {
      rv = pool.back();
      pool.pop_back();
      SV* target = SvRV(rv);
      MAGIC* mg = mg_findext(target, PERL_MAGIC_ext, &g_request_vtbl);
      mg->mg_ptr = reinterpret_cast<char*>(r);
      if (SvTYPE(target) == SVt_PVCV) CvXSUBANY(reinterpret_cast<CV*>(target)).any_ptr = r;
      ++r->refs;
    } else if (kind == kReceive || kind == kSend) {
      rv = bound_sub(kind == kReceive ? xs_receive : xs_send, r);
    } else {
      rv = request_object(r, kind == kConnection ? connection_stash_ : transport_stash_);
    }
    r->handles[kind] = rv;
    return rv;
  }

  // Drops the host's references to r's handles. With `recycle`, a handle only the host
  // refers to (the app kept no copy) is unbound and pooled.
  void release_handles(Request* r, bool recycle) {
    ++r->refs;  // freeing a handle may drop r's last other reference
    for (int k = 0; k < kHandles; ++k) {
      SV* rv = r->handles[k];
      if (rv == nullptr) continue;
      r->handles[k] = nullptr;
      SV* target = SvRV(rv);
      if (recycle && SvREFCNT(rv) == 1 && SvREFCNT(target) == 1 &&
          pool_[k].size() < kHandlePoolMax) {
        MAGIC* mg = mg_findext(target, PERL_MAGIC_ext, &g_request_vtbl);
        mg->mg_ptr = nullptr;
        if (SvTYPE(target) == SVt_PVCV) CvXSUBANY(reinterpret_cast<CV*>(target)).any_ptr = nullptr;
        pool_[k].push_back(rv);
        --r->refs;  // the handle's reference (never the last: ours is held above)
      } else {
        SvREFCNT_dec(rv);
      }
    }
    request_unref(r);
  }

  // --- pagi.connection / pagi.transport (their XS methods) -----------------------------------

  bool response_started(Request* r) {
    return r->ex != nullptr && !r->ended ? r->ex->response_started() : r->response_started;
  }
  bool response_complete(Request* r) {
    return r->ex != nullptr && !r->ended ? r->ex->response_complete() : r->response_complete;
  }
  size_t buffered_amount(Request* r) { return r->ex != nullptr ? r->ex->buffered_amount() : 0; }

  // on_disconnect / on_complete: kept until the end, or run now if that end already came.
  void add_end_callback(Request* r, SV* cb, bool disconnect) {
    if (!r->ended) {
      (disconnect ? r->on_disconnect : r->on_complete).push_back(newSVsv(cb));
      return;
    }
    if (disconnect != !r->reason.empty()) return;  // the other outcome: never
    std::vector<SV*> once{newSVsv(cb)};
    ENTER;
    SAVETMPS;
    SV* reason = disconnect ? sv_2mortal(str(r->reason)) : nullptr;
    run_callbacks(once, reason,
                  disconnect ? "on_disconnect callback error" : "on_complete callback error", true);
    FREETMPS;
    LEAVE;
  }

  // A new reference to the disconnect Future (created on first use; done at once if the
  // request already ended abnormally, pending forever after a clean completion).
  SV* disconnect_future(Request* r) {
    if (r->disconnect_future == nullptr) {
      if (r->ended) return r->reason.empty() ? future_new() : future_done(str(r->reason));
      r->disconnect_future = future_new();
    }
    return newSVsv(r->disconnect_future);
  }

  void add_high_water(Request* r, SV* cb) {
    if (r->ended) return;  // no more output: it would never fire
    r->on_high_water.push_back(newSVsv(cb));
    if (r->above_high) {
      std::vector<SV*> once{newSVsv(cb)};
      ENTER;
      SAVETMPS;
      run_callbacks(once, nullptr, "transport callback error", true);
      FREETMPS;
      LEAVE;
    } else {
      check_watermarks(r);
    }
  }

  // After each body send: the edge up through the high watermark fires on_high_water; the
  // exchange owes an on_writable from then (its send returned kBlocked), which fires on_drain.
  void check_watermarks(Request* r) {
    if (r->above_high || r->ex == nullptr || r->ex->buffered_amount() < r->high) return;
    r->above_high = true;
    ENTER;
    SAVETMPS;
    run_callbacks(r->on_high_water, nullptr, "transport callback error", false);
    FREETMPS;
    LEAVE;
  }

  // A blessed handle on `r` for pagi.connection or pagi.transport.
  SV* request_object(Request* r, HV* stash) {
    SV* inner = newSV(0);
    sv_magicext(inner, nullptr, PERL_MAGIC_ext, &g_request_vtbl, reinterpret_cast<const char*>(r),
                0);
    ++r->refs;
    return sv_bless(newRV_noinc(inner), stash);
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
      if (hv_exists(hv, "file", 4) || hv_exists(hv, "fh", 2)) return send_file(r, hv);
      std::string_view body;
      SV** b = hv_fetchs(hv, "body", 0);
      if (b != nullptr && SvOK(*b) && !bytes_of(*b, &body)) {
        return future_fail("http.response.body: body contains wide characters (encode it)");
      }
      SV** m = hv_fetchs(hv, "more", 0);
      bool more = m != nullptr && SvTRUE(*m);
      if (ex == nullptr) return future_done(nullptr);
      res = ex->send_body(body, more);
      if (res == SendResult::kOk || res == SendResult::kBlocked) check_watermarks(r);
    } else if (type == "http.response.trailers") {
      if (!collect_headers(hv, "http.response.trailers", &error)) return future_fail(error);
      if (ex == nullptr) return future_done(nullptr);
      res = ex->send_trailers(headers_);
    } else if (type == "http.fullflush") {
      // Advertised in every scope. Output is written at the end of the loop turn the send
      // happens in (and unix/TCP sockets here never hold bytes back), so this is that flush.
      return future_done(nullptr);
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

  // http.response.body with `file` (a path we open) or `fh` (the app's handle), with optional
  // offset and length. A pending Future, done once the last piece is queued.
  SV* send_file(Request* r, HV* hv) {
    uint64_t offset = 0;
    int64_t length = -1;
    SV** o = hv_fetchs(hv, "offset", 0);
    if (o != nullptr && SvOK(*o)) {
      if (!looks_like_integer(*o) || SvNV(*o) < 0) {
        return future_fail("http.response.body: offset must be a non-negative integer");
      }
      offset = uint64_t(SvNV(*o));
    }
    SV** l = hv_fetchs(hv, "length", 0);
    if (l != nullptr && SvOK(*l)) {
      if (!looks_like_integer(*l) || SvNV(*l) < 0) {
        return future_fail("http.response.body: length must be a non-negative integer");
      }
      length = int64_t(SvNV(*l));
    }
    if (r->file) return future_fail("http.response.body: a file body is already being sent");
    auto fb = std::make_unique<FileBody>();
    SV** file = hv_fetchs(hv, "file", 0);
    if (file != nullptr && SvOK(*file)) {
      std::string_view path;
      if (!bytes_of(*file, &path)) {
        return future_fail("http.response.body: file contains wide characters (encode it)");
      }
      if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos) {
        return future_fail("http.response.body: file must be an absolute path");
      }
      std::string p(path);
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return future_fail("Cannot open file " + p + ": " + strerror(errno));
      struct stat st {};
      if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return future_fail("Cannot open file " + p + ": not a regular file");
      }
      uint64_t size = uint64_t(st.st_size);
      uint64_t start = std::min(offset, size);
      uint64_t avail = size - start;
      fb->fd = fd;
      fb->pos = start;
      fb->remaining = int64_t(length >= 0 ? std::min<uint64_t>(uint64_t(length), avail) : avail);
    } else {
      SV** fh = hv_fetchs(hv, "fh", 0);
      SV* v = fh != nullptr ? *fh : &PL_sv_undef;
      if (SvROK(v)) v = SvRV(v);
      IO* io = nullptr;
      if (isGV_with_GP(v)) {
        io = GvIO(reinterpret_cast<GV*>(v));
      } else if (SvTYPE(v) == SVt_PVIO) {
        io = reinterpret_cast<IO*>(v);
      }
      PerlIO* fp = io != nullptr ? IoIFP(io) : nullptr;
      if (fp == nullptr) return future_fail("http.response.body: fh is not an open filehandle");
      // Like the reference: an offset seeks, else the handle is read from where it is.
      if (offset > 0 && PerlIO_seek(fp, Off_t(offset), SEEK_SET) != 0) {
        std::string msg = "http.response.body: cannot seek fh: ";
        msg.append(strerror(errno));
        return future_fail(msg);
      }
      fb->io = fp;
      fb->fh = newSVsv(*fh);
      fb->remaining = length;
      // A regular file's rest is known: announce it (Content-Length), still reading to EOF.
      struct stat st {};
      int fd = PerlIO_fileno(fp);
      Off_t at = fd >= 0 ? PerlIO_tell(fp) : -1;
      if (at >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int64_t rest = std::max<int64_t>(0, int64_t(st.st_size) - int64_t(at));
        fb->remaining = length >= 0 ? std::min(length, rest) : rest;
      }
    }
    if (r->ex == nullptr || !r->ex->response_started() || r->ex->response_complete()) {
      // The request is over, or a body before the start / after the end: ignored like any
      // such body (PAGI.md §3.7), without reading the file.
      close_file(fb.get());
      return future_done(nullptr);
    }
    if (fb->remaining >= 0) r->ex->announce_body_length(uint64_t(fb->remaining));
    SV* f = future_new();
    fb->future = SvREFCNT_inc_simple_NN(f);
    r->file = std::move(fb);
    pump_file(r);
    return f;
  }

  // Queues file pieces until the output reaches the high watermark (on_writable resumes) or
  // the file is done.
  void pump_file(Request* r) {
    while (r->file && r->ex != nullptr) {
      FileBody* fb = r->file.get();
      if (r->ex->buffered_amount() >= r->high) return;  // the last send was kBlocked
      size_t want = kFilePiece;
      if (fb->remaining >= 0) want = size_t(std::min<int64_t>(fb->remaining, int64_t(want)));
      ssize_t n = 0;
      if (want > 0) {
        file_buf_.resize(want);
        if (fb->fd >= 0) {
          do {
            n = pread(fb->fd, file_buf_.data(), want, off_t(fb->pos));
          } while (n < 0 && errno == EINTR);
        } else {
          n = PerlIO_read(fb->io, file_buf_.data(), want);
          if (n == 0 && PerlIO_error(fb->io)) n = -1;
        }
      }
      if (n < 0) {
        std::string msg = "http.response.body: reading the file failed: ";
        msg.append(strerror(errno));
        end_file(r, msg.c_str());
        return;
      }
      fb->pos += uint64_t(n);
      if (fb->remaining >= 0) fb->remaining -= n;
      bool last = n == 0 || fb->remaining == 0;
      SendResult res = r->ex->send_body(std::string_view(file_buf_.data(), size_t(n)), !last);
      if (last || res == SendResult::kClosed || res == SendResult::kInvalid) {
        end_file(r, res == SendResult::kInvalid ? "http.response.body: refused" : nullptr);
        return;
      }
      check_watermarks(r);
    }
  }

  // The file body is over: close what we opened and settle its Future (failed with `error`).
  void end_file(Request* r, const char* error) {
    std::unique_ptr<FileBody> fb = std::move(r->file);
    if (!fb) return;
    SV* f = fb->future;
    fb->future = nullptr;
    close_file(fb.get());
    if (f == nullptr) return;
    ENTER;
    SAVETMPS;
    if (error != nullptr) {
      std::string text(error);
      text.push_back('\n');
      resolve(sv_2mortal(f), "fail", newSVpvn(text.data(), text.size()));
    } else {
      resolve(sv_2mortal(f), "done", nullptr);
    }
    FREETMPS;
    LEAVE;
  }

  void close_file(FileBody* fb) {
    if (fb->fd >= 0) ::close(fb->fd);
    fb->fd = -1;
    SvREFCNT_dec(fb->fh);
    fb->fh = nullptr;
    fb->io = nullptr;
    SvREFCNT_dec(fb->future);
    fb->future = nullptr;
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

  // A request nothing refers to any more: kept for the next one (a few), else deleted.
  void recycle(Request* r) {
    unlink(r);
    ++r->refs;  // releasing what it still holds must not come back here
    release_futures(r);
    --r->refs;
    if (free_requests_.size() >= 64) {
      delete r;
      return;
    }
    // Everything a finished request still holds was released; reset the rest, keeping the
    // vectors' and the string's capacity.
    r->ex = nullptr;
    r->ended = false;
    r->response_started = false;
    r->response_complete = false;
    r->reason.clear();
    r->high = r->low = 0;
    r->above_high = false;
    r->app = nullptr;
    free_requests_.push_back(r);
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
    store(hv, "type", 4, newSVsv(k_http_));
    HV* pagi = newHV();
    store(pagi, "version", 7, newSVsv(k_version_));
    store(pagi, "spec_version", 12, newSVsv(k_version_));
    store(hv, "pagi", 4, newRV_noinc(reinterpret_cast<SV*>(pagi)));
    store(hv, "http_version", 12, s.http_version == "1.1" ? newSVsv(k_11_) : str(s.http_version));
    store(hv, "method", 6, s.method == "GET" ? newSVsv(k_get_) : str(s.method));
    store(hv, "scheme", 6,
          s.scheme.empty() || s.scheme == "http" ? newSVsv(k_http_) : str(s.scheme));
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
    // A shallow copy of the core's lifespan state (PAGI.md §3.6), or a fresh hash.
    HV* state = HvUSEDKEYS(state_) > 0 ? newHVhv(state_) : newHV();
    store(hv, "state", 5, newRV_noinc(reinterpret_cast<SV*>(state)));
    HV* extensions = newHV();
    store(extensions, "fullflush", 9, newRV_noinc(reinterpret_cast<SV*>(newHV())));
    store(hv, "extensions", 10, newRV_noinc(reinterpret_cast<SV*>(extensions)));
    auto* r = static_cast<Request*>(ex.app_data);
    store(hv, "pagi.connection", 15, newRV_inc(SvRV(handle(kConnection, r))));
    store(hv, "pagi.transport", 14, newRV_inc(SvRV(handle(kTransport, r))));
    return newRV_noinc(reinterpret_cast<SV*>(hv));
  }

  // Runs callbacks in order with an optional argument; a die is logged as a warning
  // (`WHAT: MESSAGE`) and the others still run. `once`: the list is emptied (and freed).
  void run_callbacks(std::vector<SV*>& cbs, SV* arg, const char* what, bool once) {
    std::vector<SV*> list;
    if (once) {
      list.swap(cbs);
    } else {
      list = cbs;  // kept: hysteresis callbacks fire every cycle
      for (SV* cb : list) SvREFCNT_inc_simple_void_NN(cb);
    }
    for (SV* cb : list) {
      dSP;
      PUSHMARK(SP);
      if (arg != nullptr) XPUSHs(arg);
      PUTBACK;
      call_sv(cb, G_DISCARD | G_EVAL);
      if (SvTRUE(ERRSV)) {
        std::string msg = error_text(aTHX_ ERRSV);
        LOG_WARN("%s: %s", what, msg.c_str());
      }
      SvREFCNT_dec(cb);
    }
  }

  void clear_callbacks(std::vector<SV*>& cbs) {
    for (SV* cb : cbs) SvREFCNT_dec(cb);
    cbs.clear();
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
    // app_data stays for App::on_end unless that came already.
    if (r->ended) ex->app_data = nullptr;
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
    if (r->file) close_file(r->file.get());
    r->file.reset();
    clear_callbacks(r->on_disconnect);
    clear_callbacks(r->on_complete);
    clear_callbacks(r->on_high_water);
    clear_callbacks(r->on_drain);
    SvREFCNT_dec(r->disconnect_future);
    r->disconnect_future = nullptr;
  }

  PerlInterpreter* my_perl;  // the name the Perl API macros (aTHX) expect
  int core_;
  int cores_;
  LifespanConfig lifespan_;
  ring::Reactor& reactor_;
  HV* state_ = nullptr;  // %PAGI::Server::Lifespan::STATE of this interpreter
  LifecycleDone* start_done_ = nullptr;  // set while the lifespan startup is pending
  LifecycleDone* stop_done_ = nullptr;   // set while the lifespan shutdown is pending
  SV* app_ = nullptr;
  HV* future_stash_ = nullptr;
  SV* k_http_ = nullptr;
  SV* k_version_ = nullptr;
  SV* k_11_ = nullptr;
  SV* k_get_ = nullptr;
  std::vector<Request*> free_requests_;  // ended requests kept for reuse
  HV* connection_stash_ = nullptr;
  std::vector<SV*> pool_[kHandles];  // unbound handles ready for the next request
  HV* transport_stash_ = nullptr;
  Request* live_ = nullptr;
  std::vector<Header> headers_;  // reused by every send
  std::string file_buf_;          // one file piece at a time (copied into the output)
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
  if (r->app != nullptr) {
    r->app->recycle(r);
  } else {
    delete r;
  }
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
  if (r == nullptr || r->app == nullptr) XSRETURN_UNDEF;
  ST(0) = sv_2mortal(r->app->receive(r));
  XSRETURN(1);
}

XS(xs_send) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r == nullptr || r->app == nullptr) XSRETURN_UNDEF;
  SV* event = items > 0 ? ST(0) : &PL_sv_undef;
  ST(0) = sv_2mortal(r->app->send(r, event));
  XSRETURN(1);
}

XS(xs_app_ready) {
  dXSARGS;
  Request* r = bound_request(cv);
  if (r != nullptr && r->app != nullptr && items > 0) r->app->app_ready(r, ST(0));
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

// --- pagi.connection / pagi.transport methods -------------------------------------------------

// The object's request, with its app still alive; else the method returns its "gone" value.
#define OBJECT_REQUEST(r)                                      \
  Request* r = items > 0 ? object_request(aTHX_ ST(0)) : nullptr; \
  if (r == nullptr) croak("not a pagi-server request object\n")

XS(xs_conn_is_connected) {
  dXSARGS;
  OBJECT_REQUEST(r);
  ST(0) = sv_2mortal(newSViv(r->ended ? 0 : 1));
  XSRETURN(1);
}

XS(xs_conn_disconnect_reason) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (!r->ended || r->reason.empty()) XSRETURN_UNDEF;
  ST(0) = sv_2mortal(newSVpvn(r->reason.data(), r->reason.size()));
  XSRETURN(1);
}

XS(xs_conn_response_started) {
  dXSARGS;
  OBJECT_REQUEST(r);
  bool v = r->app != nullptr ? r->app->response_started(r) : r->response_started;
  ST(0) = sv_2mortal(newSViv(v ? 1 : 0));
  XSRETURN(1);
}

XS(xs_conn_response_complete) {
  dXSARGS;
  OBJECT_REQUEST(r);
  bool v = r->app != nullptr ? r->app->response_complete(r) : r->response_complete;
  ST(0) = sv_2mortal(newSViv(v ? 1 : 0));
  XSRETURN(1);
}

XS(xs_conn_on_disconnect) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (items < 2) croak_xs_usage(cv, "self, callback");
  if (r->app != nullptr) r->app->add_end_callback(r, ST(1), true);
  XSRETURN_EMPTY;
}

XS(xs_conn_on_complete) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (items < 2) croak_xs_usage(cv, "self, callback");
  if (r->app != nullptr) r->app->add_end_callback(r, ST(1), false);
  XSRETURN_EMPTY;
}

XS(xs_conn_disconnect_future) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (r->app == nullptr) XSRETURN_UNDEF;
  ST(0) = sv_2mortal(r->app->disconnect_future(r));
  XSRETURN(1);
}

XS(xs_transport_buffered_amount) {
  dXSARGS;
  OBJECT_REQUEST(r);
  ST(0) = sv_2mortal(newSVuv(r->app != nullptr ? UV(r->app->buffered_amount(r)) : 0));
  XSRETURN(1);
}

XS(xs_transport_high_water_mark) {
  dXSARGS;
  OBJECT_REQUEST(r);
  ST(0) = sv_2mortal(newSVuv(UV(r->high)));
  XSRETURN(1);
}

XS(xs_transport_low_water_mark) {
  dXSARGS;
  OBJECT_REQUEST(r);
  ST(0) = sv_2mortal(newSVuv(UV(r->low)));
  XSRETURN(1);
}

XS(xs_transport_on_high_water) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (items < 2) croak_xs_usage(cv, "self, callback");
  SV* self = ST(0);
  if (r->app != nullptr) r->app->add_high_water(r, ST(1));
  ST(0) = self;  // chainable
  XSRETURN(1);
}

XS(xs_transport_on_drain) {
  dXSARGS;
  OBJECT_REQUEST(r);
  if (items < 2) croak_xs_usage(cv, "self, callback");
  SV* self = ST(0);
  if (!r->ended) r->on_drain.push_back(newSVsv(ST(1)));
  ST(0) = self;
  XSRETURN(1);
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
  newXS("PAGI::Server::Embed::_lifespan_report", xs_lifespan_report, __FILE__);
  newXS("PAGI::Server::Connection::is_connected", xs_conn_is_connected, __FILE__);
  newXS("PAGI::Server::Connection::disconnect_reason", xs_conn_disconnect_reason, __FILE__);
  newXS("PAGI::Server::Connection::on_disconnect", xs_conn_on_disconnect, __FILE__);
  newXS("PAGI::Server::Connection::on_complete", xs_conn_on_complete, __FILE__);
  newXS("PAGI::Server::Connection::disconnect_future", xs_conn_disconnect_future, __FILE__);
  newXS("PAGI::Server::Connection::response_started", xs_conn_response_started, __FILE__);
  newXS("PAGI::Server::Connection::response_complete", xs_conn_response_complete, __FILE__);
  newXS("PAGI::Server::Transport::buffered_amount", xs_transport_buffered_amount, __FILE__);
  newXS("PAGI::Server::Transport::high_water_mark", xs_transport_high_water_mark, __FILE__);
  newXS("PAGI::Server::Transport::low_water_mark", xs_transport_low_water_mark, __FILE__);
  newXS("PAGI::Server::Transport::on_high_water", xs_transport_on_high_water, __FILE__);
  newXS("PAGI::Server::Transport::on_drain", xs_transport_on_drain, __FILE__);
  newXS("PAGI::Server::Embed::_log", xs_log, __FILE__);
}

std::unique_ptr<App> make_perl_app(PerlInterpreter* interp, int core, int cores,
                                   const LifespanConfig& lifespan, ring::Reactor& reactor) {
  return std::make_unique<PerlApp>(interp, core, cores, lifespan, reactor);
}

}  // namespace pagi::perl
