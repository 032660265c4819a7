// The lifetime of a Request and of the Perl values bound to it ($receive, $send,
// pagi.connection, pagi.transport): reference counting through ext magic, and the per-core
// pools that re-bind a finished request's values to the next one instead of rebuilding them.
#include <vector>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"

namespace pagi::perl {
namespace {

int request_magic_free(pTHX_ SV*, MAGIC* mg) {
  // Null: a pooled handle bound to no request.
  if (mg->mg_ptr != nullptr) request_unref(reinterpret_cast<Request*>(mg->mg_ptr));
  return 0;
}

}  // namespace

MGVTBL g_request_vtbl = {nullptr, nullptr, nullptr, nullptr, request_magic_free,
                         nullptr, nullptr, nullptr};

Request* object_request(pTHX_ SV* obj) {
  if (!SvROK(obj)) return nullptr;
  MAGIC* mg = mg_findext(SvRV(obj), PERL_MAGIC_ext, &g_request_vtbl);
  return mg != nullptr ? reinterpret_cast<Request*>(mg->mg_ptr) : nullptr;
}

void request_unref(Request* r);

int request_magic_free(pTHX_ SV*, MAGIC* mg) {
  // Null: a pooled handle bound to no request.
  if (mg->mg_ptr != nullptr) request_unref(reinterpret_cast<Request*>(mg->mg_ptr));
  return 0;
}
void request_unref(Request* r) {
  if (--r->refs > 0) return;
  if (r->app != nullptr) {
    r->app->recycle(r);
  } else {
    delete r;
  }
}

// The value of handle `kind` for `r`: a pooled one re-bound, or a new one. The returned RV
// is the host's own (r->handles[kind]): the app only ever gets other references.
SV* PerlApp::handle(Handle kind, Request* r) {
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
void PerlApp::release_handles(Request* r, bool recycle) {
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

// A blessed handle on `r` for pagi.connection or pagi.transport.
SV* PerlApp::request_object(Request* r, HV* stash) {
  SV* inner = newSV(0);
  sv_magicext(inner, nullptr, PERL_MAGIC_ext, &g_request_vtbl, reinterpret_cast<const char*>(r),
              0);
  ++r->refs;
  return sv_bless(newRV_noinc(inner), stash);
}

// An anonymous XS sub bound to `r` (one more reference on it until the sub is freed).
SV* PerlApp::bound_sub(XSUBADDR_t fn, Request* r) {
  CV* cv = newXS(nullptr, fn, __FILE__);
  CvXSUBANY(cv).any_ptr = r;
  ++r->refs;
  sv_magicext(reinterpret_cast<SV*>(cv), nullptr, PERL_MAGIC_ext, &g_request_vtbl,
              reinterpret_cast<const char*>(r), 0);
  return newRV_noinc(reinterpret_cast<SV*>(cv));
}

// A request nothing refers to any more: kept for the next one (a few), else deleted.
void PerlApp::recycle(Request* r) {
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
  r->code = 0;
  r->type = ScopeType::kHttp;
  r->ws_accepted = false;
  r->high = r->low = 0;
  r->above_high = false;
  r->app = nullptr;
  free_requests_.push_back(r);
}

void PerlApp::unlink(Request* r) {
  if (r->app == nullptr) return;
  if (r->prev != nullptr) {
    r->prev->next = r->next;
  } else {
    live_ = r->next;
  }
  if (r->next != nullptr) r->next->prev = r->prev;
  r->prev = r->next = nullptr;
}

void PerlApp::release_futures(Request* r) {
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

}  // namespace pagi::perl
