// Internal to src/perl: one core's Perl host (PerlApp, the pagi::App of a cloned interpreter)
// and the per-request state its XS subs and objects are bound to. The members are defined by
// concept: perl_app.cc (App callbacks, app Futures), request.cc (handles, pooling), scope.cc,
// events.cc ($receive/$send), futures.cc, future_io.cc, connection.cc, file_body.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "apps/app_factory.h"
#include "ring/reactor.h"
#include "ring/timer_wheel.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/embed.h"

namespace pagi::perl {

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
  ScopeType type = ScopeType::kHttp;
  bool ws_accepted = false;  // websocket.accept was taken: denial events are ignored now
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
  int code = 0;                    // websocket: the disconnect's close code
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

extern thread_local PerlApp* t_app;  // the app of this core thread (none in the root)

// The ext magic binding a handle to its Request (mg_ptr; null for a pooled, unbound handle).
extern MGVTBL g_request_vtbl;

// Drops one reference; the last one recycles the request (or deletes it once its app is gone).
void request_unref(Request* r);

// The Request behind a pagi.connection / pagi.transport object (a blessed reference to a
// scalar carrying the request in ext magic), or null.
Request* object_request(pTHX_ SV* obj);

// The Request an XS sub made by PerlApp::bound_sub is bound to (null once unbound).
inline Request* bound_request(CV* cv) { return static_cast<Request*>(CvXSUBANY(cv).any_ptr); }

XS(xs_receive);
XS(xs_send);
XS(xs_app_ready);

// Each concept's XS subs, registered by register_xs.
void register_connection_xs(pTHX);
void register_future_io_xs(pTHX);

class PerlApp final : public App, public apps::AbandonableApp, public apps::HostedApp {
 public:
  PerlApp(PerlInterpreter* interp, int core, int cores, const LifespanConfig& lifespan,
          ring::Reactor& reactor);
  ~PerlApp() override;

  // --- App (perl_app.cc) -------------------------------------------------------------------
  void start(LifecycleDone& done) override;
  void stop(LifecycleDone& done) override;
  void on_request(Exchange& ex) override;
  void on_receive_ready(Exchange& ex) override;
  void on_writable(Exchange& ex) override;
  void on_end(Exchange& ex, const ExchangeEnd& end) override;
  void abandon_all() override;
  size_t exchanges_held() const override { return exchanges_held_; }

  // The outcome of the lifespan startup (startup=true) or shutdown.
  void lifespan_report(bool startup, bool ok, const std::string& message);
  // The app's Future is ready (from its on_ready callback).
  void app_ready(Request* r, SV* future);

  PerlInterpreter* interp() const { return my_perl; }

  // --- $receive / $send (events.cc) ----------------------------------------------------------
  SV* receive(Request* r);
  SV* send(Request* r, SV* event);

  // --- pagi.connection / pagi.transport (connection.cc) -------------------------------------
  bool response_started(Request* r);
  bool response_complete(Request* r);
  size_t buffered_amount(Request* r) { return r->ex != nullptr ? r->ex->buffered_amount() : 0; }
  void add_end_callback(Request* r, SV* cb, bool disconnect);
  SV* disconnect_future(Request* r);
  void add_high_water(Request* r, SV* cb);

  // --- Future::IO on the core's ring (future_io.cc) ------------------------------------------
  uint64_t add_timer(double secs, SV* future);
  void cancel_timer(uint64_t id);
  uint64_t add_poll(int fd, bool write, SV* future);
  void cancel_poll(uint64_t id);
  void poll_done(uint64_t id, int res);

  // --- Request lifetime (request.cc) ---------------------------------------------------------
  void recycle(Request* r);

 private:
  // request.cc
  SV* handle(Handle kind, Request* r);
  void release_handles(Request* r, bool recycle);
  SV* request_object(Request* r, HV* stash);
  SV* bound_sub(XSUBADDR_t fn, Request* r);
  void unlink(Request* r);
  void release_futures(Request* r);

  // perl_app.cc
  void watch_result(Request* r, SV* ret);
  void finish(Request* r, bool failed, const std::string& message);

  // scope.cc
  SV* build_scope(Exchange& ex);

  // events.cc
  SV* disconnect_event(Request* r);
  SV* event_sv(const Event& ev);
  void deliver_receives(Request* r);
  SV* send_http(Request* r, HV* hv, std::string_view type);
  // The Future of a send the exchange answered with `res` (kBlocked: pending until
  // on_writable); `output` sends also run the transport's watermark check.
  SV* send_outcome(Request* r, SendResult res, bool output);
  SV* unrecognized(std::string_view type, const char* protocol);
  bool looks_like_integer(SV* sv);
  bool bytes_of(SV* sv, std::string_view* out);
  // A PAGI "String" value (PAGI.md §1.3): the UTF-8 of a character string, else its octets.
  std::string_view text_of(SV* sv);
  // An optional integer field: `def` when absent or undef; false when not an integer.
  bool int_field(HV* hv, const char* key, int64_t def, int64_t* out);
  // An optional duration in seconds (fractions allowed) as milliseconds, rounded up; 0 when
  // absent; false when not a non-negative number.
  bool ms_field(HV* hv, const char* key, uint64_t* out);
  bool collect_headers(HV* hv, const char* event, std::string_view* error);

  // ws_events.cc, sse_events.cc
  SV* send_websocket(Request* r, HV* hv, std::string_view type);
  SV* send_sse(Request* r, HV* hv, std::string_view type);

  // connection.cc
  void check_watermarks(Request* r);
  void run_callbacks(std::vector<SV*>& cbs, SV* arg, const char* what, bool once);
  void clear_callbacks(std::vector<SV*>& cbs);

  // file_body.cc
  SV* send_file(Request* r, HV* hv);
  void pump_file(Request* r);
  void end_file(Request* r, const char* error);
  void close_file(FileBody* fb);
  bool splice_file(Request* r, FileBody* fb);

  // future_io.cc
  static void on_timer(void* owner);
  void fire_timer(uint64_t id);

  // futures.cc: built directly as Future::PP hashes when g_direct_futures, else by method
  // call. Each returns a new reference; `value` is taken over.
  SV* future_hash(bool ready, const char* slot, SV* value);
  SV* future_by_method(const char* method, SV* value);
  SV* future_done(SV* value);
  SV* future_new();
  SV* future_fail(std::string_view message);
  void resolve(SV* future, const char* method, SV* value);
  void future_outcome(SV* future, bool* failed, std::string* message);
  bool future_is_ready(SV* future);

  void store(HV* hv, const char* key, I32 len, SV* value) { hv_store(hv, key, len, value, 0); }
  // Always a defined string ("" for an empty view, whose data() may be null).
  SV* str(std::string_view s) { return newSVpvn(s.empty() ? "" : s.data(), s.size()); }
  // A character string from valid UTF-8 (the UTF-8 flag only when a byte is not ASCII).
  SV* chars(std::string_view s) {
    SV* sv = str(s);
    for (unsigned char c : s) {
      if (c >= 0x80) {
        SvUTF8_on(sv);
        break;
      }
    }
    return sv;
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
  size_t exchanges_held_ = 0;    // see exchanges_held()
  std::vector<Header> headers_;  // reused by every send
  std::string_view sending_;     // the type of the event being sent (valid during send())
  std::string file_buf_;          // one file piece at a time (copied into the output)
  // File bodies go to Exchange::send_file (spliced, no copy) when they can; false with
  // PAGI_FILE_BODY=copy (the copy path, kept for measuring what the splice saves).
  bool splice_files_ = true;
  std::string error_;
  std::unordered_map<uint64_t, std::unique_ptr<SleepTimer>> timers_;
  std::unordered_map<uint64_t, std::unique_ptr<PollWatch>> polls_;
  uint64_t timer_ids_ = 0;
};

}  // namespace pagi::perl
