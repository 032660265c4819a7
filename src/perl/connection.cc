// pagi.connection (PAGI.md §2.7) and pagi.transport (§2.8): blessed scalar refs carrying the
// Request in ext magic, with XS methods; their callbacks, the lazily created disconnect Future
// and the watermark hysteresis live in the C++ Request.
#include <string>
#include <vector>

#include "common/log.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {

bool PerlApp::response_started(Request* r) {
  return r->ex != nullptr && !r->ended ? r->ex->response_started() : r->response_started;
}

bool PerlApp::response_complete(Request* r) {
  return r->ex != nullptr && !r->ended ? r->ex->response_complete() : r->response_complete;
}

// on_disconnect / on_complete: kept until the end, or run now if that end already came.
void PerlApp::add_end_callback(Request* r, SV* cb, bool disconnect) {
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
SV* PerlApp::disconnect_future(Request* r) {
  if (r->disconnect_future == nullptr) {
    if (r->ended) return r->reason.empty() ? future_new() : future_done(str(r->reason));
    r->disconnect_future = future_new();
  }
  return newSVsv(r->disconnect_future);
}

void PerlApp::add_high_water(Request* r, SV* cb) {
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
void PerlApp::check_watermarks(Request* r) {
  if (r->above_high || r->ex == nullptr || r->ex->buffered_amount() < r->high) return;
  r->above_high = true;
  ENTER;
  SAVETMPS;
  run_callbacks(r->on_high_water, nullptr, "transport callback error", false);
  FREETMPS;
  LEAVE;
}

// Runs callbacks in order with an optional argument; a die is logged as a warning
// (`WHAT: MESSAGE`) and the others still run. `once`: the list is emptied (and freed).
void PerlApp::run_callbacks(std::vector<SV*>& cbs, SV* arg, const char* what, bool once) {
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
    if (call_died(aTHX)) {
      std::string msg = error_text(aTHX_ ERRSV);
      LOG_WARN("%s: %s", what, msg.c_str());
    }
    SvREFCNT_dec(cb);
  }
}

void PerlApp::clear_callbacks(std::vector<SV*>& cbs) {
  for (SV* cb : cbs) SvREFCNT_dec(cb);
  cbs.clear();
}

namespace {

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

}  // namespace

void register_connection_xs(pTHX) {
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
}

}  // namespace pagi::perl
