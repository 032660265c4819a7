// HTTP/1.x connection state machine (see h1_connection.h). The parser runs in place over the
// bytes the transport hands in; whatever cannot be parsed yet (a request waiting behind one
// in flight, body the app has not asked for) is kept in pending_in_.
#include "http/h1_connection.h"

#include <time.h>

#include <algorithm>

#include "common/log.h"
#include "http/sse_exchange.h"
#include "http/ws_exchange.h"

namespace pagi::http {
namespace {

// Body bytes held for an app that has not asked for them before the parser stops reading.
constexpr size_t kBodyQueueLimit = 65536;

bool status_has_body(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

// vDSO: no system call.
uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace

H1Connection::H1Connection(H1Context& ctx, Transport& transport)
    : ctx_(ctx), transport_(&transport), parser_(ctx.limits), out_(ctx.blocks) {}

// No on_end from here: the server destroys a connection only once its app let go of the
// exchange, and the pump has reported the end by then (finish always leaves an end due).
// A WebSocket or SSE session is logged here, once, at its close.
H1Connection::~H1Connection() {
  if (streaming() && ctx_.access_log != nullptr) log_stream();
  release_head();
  close_file();
}

uint64_t Transport::now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000u + uint64_t(ts.tv_nsec) / 1000000u;
}

void H1Connection::release_head() {
  if (head_ == nullptr) return;
  // The pool holds as many heads as requests were in flight at once: past a burst's worth of
  // them, the rest are freed.
  constexpr size_t kMaxPooledHeads = 256;
  if (ctx_.head_pool->size() >= kMaxPooledHeads) {
    delete head_;
  } else {
    // Not cleared here: the parser clears a head at the first byte of the request it is for.
    head_->trim();
    ctx_.head_pool->emplace_back(head_);
  }
  head_ = nullptr;
}

void H1Connection::release_spare_capacity() {
  constexpr size_t kKeep = 4096;  // what a request of ordinary size leaves behind
  if (pending_in_.capacity() > kKeep) std::string().swap(pending_in_);
  if (body_queued_.capacity() > kKeep) std::string().swap(body_queued_);
  if (body_delivered_.capacity() > kKeep) std::string().swap(body_delivered_);
}

// --- socket side ---------------------------------------------------------------------------

void H1Connection::on_input_writable(std::span<char> bytes) {
  if (ws_ != nullptr && !client_gone_) {
    ws_->on_input(bytes);
    return;
  }
  on_input(std::string_view(bytes.data(), bytes.size()));
}

void H1Connection::on_input(std::string_view bytes) {
  if (client_gone_) return;
  if (ws_ != nullptr) {
    ws_->on_input_copy(bytes);
    return;
  }
  if (close_after_flush_) {  // closing: whatever else comes is not read
    if (!bytes.empty()) input_dropped_ = true;
    return;
  }
  if (sse_request_done_) return;   // an SSE client sends nothing after its request
  if (pending_bytes() == 0) {
    pending_in_.clear();
    pending_off_ = 0;
    incoming_ = bytes;
  } else {
    pending_in_.append(bytes);
  }
  // pump() ends with update_reading(); it is needed again only if the held input changes
  // below (or if this pump was a nested request that did not run).
  bool recheck = in_pump_;
  pump();
  if (!incoming_.empty()) {
    // Not parsed yet (the parser is paused): the transport's buffer goes back to the kernel.
    if (!close_after_flush_) {
      pending_in_.append(incoming_);
    } else {
      input_dropped_ = true;
    }
    incoming_ = {};
    recheck = true;
  }
  if (ws_ != nullptr && pending_bytes() > 0) {
    // The upgrade request came in this read: what follows it is the session's.
    ws_->on_input_copy(std::string_view(pending_in_).substr(pending_off_));
    pending_in_.clear();
    pending_off_ = 0;
  } else if (sse_request_done_) {
    pending_in_.clear();
    pending_off_ = 0;
    recheck = true;
  }
  if (recheck) update_reading();
}

void H1Connection::on_input_eof() {
  input_eof_ = true;
  if (ws_ != nullptr) return ws_->on_input_eof();
  if (sse_ != nullptr) return sse_->on_input_eof();
  // The client left before its response was complete (PAGI.md §2.7: EOF is client_closed).
  if (exchange_open_ && response_ != Response::kComplete) disconnect("client_closed");
  request_pump();
}

void H1Connection::on_transport_error(const char* reason) {
  if (ws_ != nullptr || sse_ != nullptr) {
    if (!client_gone_) {
      client_gone_ = true;
      input_eof_ = true;
      if (ws_ != nullptr) ws_->on_transport_error(reason);
      if (sse_ != nullptr) sse_->on_transport_error(reason);
    }
    return;
  }
  if (exchange_open_ && !client_gone_) disconnect(reason);
  client_gone_ = true;
  input_eof_ = true;
  close_after_flush_ = true;
  out_.clear();
  held_ = 0;
  close_file();  // a file body in flight is dropped with the rest of the output
  request_pump();
}

void H1Connection::on_sent(size_t n) {
  if (streaming()) stream_sent_ += n;
  if (ws_ != nullptr) return ws_->on_sent(n);
  if (sse_ != nullptr) return sse_->on_sent(n);
  out_.consume(n);
  if (wants_writable_ && out_.size() < ctx_.low_watermark) {
    wants_writable_ = false;
    if (app_active_) ctx_.app->on_writable(*this);
  }
}

void H1Connection::begin_shutdown() {
  shutting_down_ = true;
  if (ws_ != nullptr) return ws_->begin_shutdown();
  if (sse_ != nullptr) return sse_->begin_shutdown();
  if (!exchange_open_) {
    close_after_flush_ = true;
  } else {
    keep_alive_ = false;
  }
  transport_->want_flush();
}

void H1Connection::reject_at_capacity() {
  out_.append(capacity_response());
  close_after_flush_ = true;
  transport_->want_flush();
}

void H1Connection::update_reading() {
  if (ws_ != nullptr) return;  // the WebSocket exchange or session decides
  // Input backpressure: a client pipelining faster than the app answers, or a body the app
  // does not read, stops being read once a bounded amount is buffered.
  size_t limit = ctx_.limits.max_header_size + kBodyQueueLimit;
  bool want = pending_bytes() < limit && !close_after_flush_;
  if (want != reading_) {
    reading_ = want;
    transport_->set_reading(want);
  }
}

// --- the pump: parse, wind up exchanges, wake the app ----------------------------------------

void H1Connection::request_pump() {
  if (in_pump_) {
    repump_ = true;
  } else {
    transport_->schedule();
  }
}

void H1Connection::pump() {
  if (in_pump_) {
    repump_ = true;
    return;
  }
  in_pump_ = true;
  do {
    repump_ = false;
    if (sse_ != nullptr) {
      // The SSE session reports its own outcome; the parser only feeds it the body.
      if (pause_ == Pause::kBody && sse_->body_wanted()) {
        pause_ = Pause::kNone;
        parser_.resume();
      }
      parse_available();
      continue;
    }
    if (exchange_open_ && !end_reported_ &&
        (end_reason_ != nullptr || (app_finished_ && response_ == Response::kComplete))) {
      report_end();  // before the http.disconnect below reaches a waiting receive
    }
    if (exchange_open_ && exchange_done()) end_exchange();
    if (pause_ == Pause::kBody && body_queued_.size() < kBodyQueueLimit) {
      pause_ = Pause::kNone;
      parser_.resume();
    }
    parse_available();
    if (app_active_ && wants_receive_ && receive_ready()) {
      wants_receive_ = false;
      ctx_.app->on_receive_ready(*this);
    }
    if (app_active_ && wants_writable_ && client_gone_) {
      wants_writable_ = false;
      ctx_.app->on_writable(*this);
    }
  } while (repump_);
  in_pump_ = false;

  if (input_eof_ && !exchange_open_ && pending_bytes() == 0 && incoming_.empty()) {
    close_after_flush_ = true;  // the peer is done and everything it sent is answered
  }
  if (!exchange_open_ && !parser_.in_message() && pending_bytes() == 0 && incoming_.empty()) {
    release_head();  // idle: hand the head storage back to the core
    if (body_delivered_.capacity() > kBodyQueueLimit) std::string().swap(body_delivered_);
    if (body_queued_.capacity() > kBodyQueueLimit) std::string().swap(body_queued_);
    if (pending_in_.capacity() > kBodyQueueLimit) std::string().swap(pending_in_);
  }
  update_reading();  // the parser may have drained held input
  if (close_after_flush_ || sendable() > 0) transport_->want_flush();
}

void H1Connection::parse_available() {
  while (pause_ == Pause::kNone && !parse_error_ && !close_after_flush_) {
    bool from_pending = pending_bytes() > 0;
    std::string_view src =
        from_pending ? std::string_view(pending_in_).substr(pending_off_) : incoming_;
    if (src.empty() && !parser_.wants_feed()) return;
    if (head_ == nullptr) {
      if (ctx_.head_pool->empty()) {
        head_ = new RequestHead();
      } else {
        head_ = ctx_.head_pool->back().release();
        ctx_.head_pool->pop_back();
      }
      parser_.set_head(head_);
    }
    ParseResult r = parser_.feed(src, *this);
    if (from_pending) {
      pending_off_ += r.consumed;
      if (pending_off_ == pending_in_.size()) {
        pending_in_.clear();
        pending_off_ = 0;
      }
    } else {
      incoming_.remove_prefix(r.consumed);
    }
    if (r.status == ParseStatus::kError) {
      bad_request(parser_.error_status(), parser_.error_message());
      return;
    }
    if (r.status == ParseStatus::kPaused && pause_ == Pause::kNone) {
      // A pause we did not ask for (cannot happen with our callbacks): treat as done.
      parser_.resume();
    }
  }
}

// --- parser events -------------------------------------------------------------------------

Action H1Connection::on_head(RequestHead& head) {
  if (++ctx_.requests > ctx_.recycle_after) [[unlikely]] {
    ctx_.limit->limit_reached();
  }
  if (head.websocket_upgrade()) return start_websocket(head);
  if (head.accepts_event_stream()) {
    start_sse(head);
    return Action::kContinue;
  }
  start_exchange(head);
  return Action::kContinue;
}

Action H1Connection::on_body(std::string_view chunk) {
  if (sse_ != nullptr) {
    if (sse_->on_body(chunk)) return Action::kContinue;
    pause_ = Pause::kBody;
    return Action::kPause;
  }
  if (!app_active_ || client_gone_) return Action::kContinue;  // nobody will read it: drop
  body_queued_.append(chunk);
  if (wants_receive_) repump_ = true;
  if (body_queued_.size() >= kBodyQueueLimit) {
    pause_ = Pause::kBody;
    return Action::kPause;
  }
  return Action::kContinue;
}

Action H1Connection::on_message_complete() {
  if (sse_ != nullptr) {
    // The stream owns the connection: nothing after this request is parsed.
    sse_->on_body_end();
    sse_request_done_ = true;
    pause_ = Pause::kMessage;
    return Action::kPause;
  }
  if (!exchange_open_) return close_after_flush_ ? Action::kPause : Action::kContinue;
  message_complete_ = true;
  if (wants_receive_) repump_ = true;
  if (exchange_done()) {
    end_exchange();
    return close_after_flush_ ? Action::kPause : Action::kContinue;
  }
  // The next pipelined request waits until this exchange is wound up.
  pause_ = Pause::kMessage;
  return Action::kPause;
}

// --- exchange lifecycle --------------------------------------------------------------------

void H1Connection::start_exchange(RequestHead& head) {
  exchange_open_ = true;
  app_active_ = true;
  app_finished_ = false;
  // A bodiless request is complete with its head: the app's first receive gets its event.
  message_complete_ = !head.has_body();
  body_event_done_ = false;
  continue_sent_ = false;
  wants_receive_ = false;
  wants_writable_ = false;
  keep_alive_ = head.keep_alive() && !shutting_down_;
  client_closes_ = !head.keep_alive();
  is_head_request_ = head.is_head();
  response_ = Response::kNone;
  framing_ = Framing::kNone;
  trailers_expected_ = false;
  body_finished_ = false;
  status_ = 0;
  facts_ = HeaderFacts{};
  cl_remaining_ = 0;
  announced_length_ = -1;
  held_ = 0;
  error_ = {};
  end_reported_ = false;
  resp_started_ = false;
  resp_complete_ = false;
  end_reason_ = nullptr;
  app_data = nullptr;
  body_queued_.clear();
  body_bytes_ = 0;
  complete_ns_ = 0;
  if (measuring()) {
    head_ns_ = monotonic_ns();
    if (ctx_.access_log != nullptr) arrived_ = int64_t(time(nullptr));
  }

  fill_scope(head, ScopeType::kHttp);
  ctx_.app->on_request(*this);
}

// The scope's request part, the same for http, websocket and sse scopes (a websocket scope
// drops the method afterwards). With --proxy-headers, a trusted peer's forwarding headers
// name the client and the scheme (per request: a proxy's keep-alive connection carries many
// clients' requests); a websocket scope's scheme is ws/wss.
void H1Connection::fill_scope(RequestHead& head, ScopeType type) {
  // Every field is set (no Scope{} first: this runs per request). A new Scope field changes
  // its size: set it here too, then update the size.
  static_assert(sizeof(void*) != 8 || sizeof(Scope) == 168,
                "fill_scope must set every Scope field");
  scope_.type = type;
  scope_.root_path = {};
  scope_.subprotocols = {};
  scope_.http_version = head.http_version();
  scope_.method = head.method();
  scope_.path = head.path();
  scope_.path_is_utf8 = head.path_is_utf8();
  scope_.raw_path = head.raw_path();
  scope_.query_string = head.query_string();
  scope_.headers = head.headers();
  scope_.is_unix = transport_->is_unix();
  forwarded_client_ = {};
  bool secure = ctx_.scheme == "https";
  if (ctx_.proxy_trust != nullptr) {
    Endpoint peer;
    bool has_peer = transport_->client_endpoint(peer);
    Forwarded f = resolve_forwarded(*ctx_.proxy_trust, !has_peer, peer.host, scope_.headers);
    if (!f.client.empty()) {
      forwarded_client_ = f.client;
      forwarded_port_ = f.port;
    }
    if (f.has_scheme) secure = f.secure;
  }
  if (type == ScopeType::kWebSocket) {
    scope_.scheme = secure ? "wss" : "ws";
  } else {
    scope_.scheme = secure ? "https" : "http";
  }
}

bool H1Connection::client(Endpoint& out) {
  if (!forwarded_client_.empty()) {
    out.host = forwarded_client_;
    out.port = forwarded_port_;
    return true;
  }
  return transport_->client_endpoint(out);
}

bool H1Connection::exchange_done() const {
  if (!app_finished_ || response_ != Response::kComplete) return false;
  if (message_complete_) return true;
  // The app answered without reading a body the client will only send after a
  // 100 Continue: waiting for it would hang, so wind up now (and close).
  return head_ != nullptr && head_->expect_continue() && !continue_sent_;
}

void H1Connection::disconnect(const char* reason) {
  if (end_reason_ == nullptr) end_reason_ = reason;
}

void H1Connection::report_end() {
  if (end_reported_) return;
  end_reported_ = true;
  ExchangeEnd end;
  if (end_reason_ != nullptr) end.reason = end_reason_;
  end.response_started = resp_started_;
  end.response_complete = resp_complete_;
  ctx_.app->on_end(*this, end);
}

void H1Connection::mark_complete() {
  if (measuring() && complete_ns_ == 0) complete_ns_ = monotonic_ns();
}

// Metrics for an exchange being wound up: its status class and latencies, from the readings
// the access log shares.
void H1Connection::count_exchange() {
  RequestStats& st = *ctx_.stats;
  st.count_status(status_);
  st.app_latency.observe(app_done_ns_ > head_ns_ ? (app_done_ns_ - head_ns_) / 1000 : 0);
  uint64_t end_ns = complete_ns_ != 0 ? complete_ns_ : monotonic_ns();
  st.total_latency.observe(end_ns > head_ns_ ? (end_ns - head_ns_) / 1000 : 0);
}

// One line per request the app was given, once it is wound up (PAGI.md §5.9); requests
// refused while parsing their head never reach here, as in the reference.
void H1Connection::log_access() {
  uint64_t end_ns = complete_ns_ != 0 ? complete_ns_ : monotonic_ns();
  write_access_line(scope_.method, status_, body_bytes_, end_ns);
}

// The one filler of access-log records, for plain requests (log_access) and for WebSocket
// and SSE sessions (log_stream).
void H1Connection::write_access_line(std::string_view method, int status, uint64_t bytes,
                                     uint64_t end_ns) {
  AccessRecord r;
  Endpoint peer;
  r.client = client(peer) ? peer.host : std::string_view("unix");
  r.method = method;
  r.raw_path = scope_.raw_path;
  r.query = scope_.query_string;
  r.http_version = scope_.http_version;
  r.status = status;
  r.bytes = bytes;
  r.duration_us = end_ns > head_ns_ ? (end_ns - head_ns_) / 1000 : 0;
  r.time = arrived_;
  r.headers = scope_.headers;
  ctx_.access_log->log(r);
}

void H1Connection::end_exchange() {
  report_end();
  if (ctx_.access_log != nullptr) log_access();
  if (ctx_.stats != nullptr) count_exchange();
  exchange_open_ = false;
  if (!message_complete_ || !keep_alive_ || shutting_down_ || input_eof_) {
    close_after_flush_ = true;
  }
  body_queued_.clear();
  body_delivered_.clear();
  scope_ = Scope{};
  forwarded_client_ = {};
  if (pause_ == Pause::kMessage || pause_ == Pause::kBody) {
    pause_ = Pause::kNone;
    parser_.resume();
  }
}

void H1Connection::finish(bool failed) {
  finish_impl(failed, failed ? "application reported failure" : std::string_view());
}

void H1Connection::fail(std::string_view message) { finish_impl(true, message); }

void H1Connection::finish_impl(bool failed, std::string_view message) {
  if (!app_active_) return;
  app_active_ = false;
  if (ws_ != nullptr) return ws_->finish(failed, message);
  if (sse_ != nullptr) return sse_->finish(failed, message);
  app_finished_ = true;
  wants_receive_ = false;
  wants_writable_ = false;
  if (failed) ++ctx_.app_errors;
  if (measuring()) app_done_ns_ = monotonic_ns();
  // A failed app, or one that left no or half a response, ends abnormally (server_error);
  // an app that started a response and returned gets it completed with an empty body.
  // A file body being sent (send_file) is a whole response on its way, not half of one.
  bool half_sent = response_ == Response::kBody && !file_pending();
  if (failed || response_ == Response::kNone || half_sent) {
    disconnect("server_error");
  }
  if (client_gone_) {
    // Nobody to answer and nothing to log as an error (PAGI.md §3.7).
    response_ = Response::kComplete;
  } else if (response_ == Response::kNone ||
             (response_ == Response::kHeadOpen && failed)) {
    if (failed) {
      LOG_ERROR("PAGI application error: %.*s", int(message.size()), message.data());
    } else {
      LOG_ERROR("PAGI application returned without starting a response");
    }
    backstop_500();
  } else if (response_ == Response::kHeadOpen) {
    // Started, never sent a body, returned: an empty body, and no reuse of a connection
    // whose app did not finish its response.
    keep_alive_ = false;
    close_head(true, 0);
    complete_response({});
    output_grew();
  } else if (half_sent) {
    if (failed) {
      LOG_ERROR("PAGI application error (after response started): %.*s", int(message.size()),
                message.data());
    }
    // The body cannot be completed: close, so the client sees a truncated response.
    keep_alive_ = false;
    close_after_flush_ = true;
    response_ = Response::kComplete;
  }
  request_pump();
}

void H1Connection::backstop_500() {
  if (held_ > 0) {
    out_.truncate(out_.size() - held_);
    held_ = 0;
  }
  write_error_response(out_, 500, "Internal Server Error", ctx_.date->get(), ctx_.server_header);
  status_ = 500;
  body_bytes_ = 0;  // whatever the app had sent is discarded
  mark_complete();
  response_ = Response::kComplete;
  resp_started_ = true;
  resp_complete_ = true;
  keep_alive_ = false;
  close_after_flush_ = true;
  output_grew();
}

void H1Connection::bad_request(int status, std::string_view message,
                               std::span<const Header> extra) {
  parse_error_ = true;
  ++ctx_.bad_requests;
  if (log::enabled(log::Level::kInfo)) {
    Endpoint peer;
    bool has_peer = transport_->client_endpoint(peer);
    LOG_INFO("HTTP %d %.*s from %s%.*s: %.*s", status,
             int(reason_phrase(status).size()), reason_phrase(status).data(),
             has_peer ? "" : "unix", has_peer ? int(peer.host.size()) : 0,
             has_peer ? peer.host.data() : "", int(message.size()), message.data());
  }
  if (!exchange_open_ || response_ == Response::kNone || response_ == Response::kHeadOpen) {
    if (held_ > 0) {
      out_.truncate(out_.size() - held_);
      held_ = 0;
    }
    write_error_response(out_, status, message, ctx_.date->get(), ctx_.server_header, extra);
    if (exchange_open_) status_ = status;
    // A head refused before dispatch is no exchange: its response is counted here.
    if (!exchange_open_ && ctx_.stats != nullptr) ctx_.stats->count_status(status);
  }
  // The app, if any, sees its client gone; its later sends are dropped.
  if (exchange_open_) {
    mark_complete();
    disconnect(status == 413 ? "body_too_large" : "protocol_error");
    response_ = Response::kComplete;
    input_eof_ = true;
    if (wants_receive_) repump_ = true;
  }
  close_after_flush_ = true;
  output_grew();
}

// --- receive ----------------------------------------------------------------------------------

bool H1Connection::receive_ready() const {
  if (client_gone_) return true;
  if (!body_event_done_) return !body_queued_.empty() || message_complete_ || input_eof_;
  return response_ == Response::kComplete || input_eof_;
}

bool H1Connection::receive(Event& out) {
  if (ws_ != nullptr) return ws_->receive(out);
  if (sse_ != nullptr) return sse_->receive(out);
  if (!app_active_) {
    out = Event{};
    out.type = EventType::kHttpDisconnect;
    return true;
  }
  if (!client_gone_ && !body_event_done_) {
    if (!body_queued_.empty() || message_complete_) {
      body_delivered_.swap(body_queued_);
      body_queued_.clear();
      out.type = EventType::kHttpRequest;
      out.body = body_delivered_;
      out.more = !message_complete_;
      if (message_complete_) body_event_done_ = true;
      if (pause_ == Pause::kBody) request_pump();  // room again: read on
      return true;
    }
    if (!input_eof_) {
      if (head_ != nullptr && head_->expect_continue() && !continue_sent_ &&
          (response_ == Response::kNone || response_ == Response::kHeadOpen)) {
        // The client waits for this before sending the body (PAGI.md §3.1). A response head
        // the app already started is still held back, so the 100 goes in front of it.
        continue_sent_ = true;
        insert_before_held("HTTP/1.1 100 Continue\r\n\r\n");
        output_grew();
      }
      wants_receive_ = true;
      return false;
    }
  } else if (!client_gone_ && response_ != Response::kComplete && !input_eof_) {
    wants_receive_ = true;
    return false;
  }
  out = Event{};
  out.type = EventType::kHttpDisconnect;
  return true;
}

// Writes `bytes` in front of a held response head (rare: only the 100 Continue needs it).
void H1Connection::insert_before_held(std::string_view bytes) {
  if (held_ == 0) {
    out_.append(bytes);
    return;
  }
  std::string head;
  head.reserve(held_);
  iovec iov[64];
  size_t start = out_.size() - held_, pos = 0;
  int n = out_.gather(iov, 64, out_.size());
  for (int i = 0; i < n; ++i) {
    std::string_view piece(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
    if (pos + piece.size() > start) {
      size_t skip = start > pos ? start - pos : 0;
      head.append(piece.substr(skip));
    }
    pos += piece.size();
  }
  out_.truncate(start);
  out_.append(bytes);
  out_.append(head);
}

// --- send -------------------------------------------------------------------------------------

SendResult H1Connection::send_result() {
  if (client_gone_) return SendResult::kClosed;
  if (out_.size() >= ctx_.high_watermark) {
    wants_writable_ = true;
    return SendResult::kBlocked;
  }
  return SendResult::kOk;
}

void H1Connection::output_grew() {
  if (sendable() > 0) transport_->want_flush();
}

SendResult H1Connection::send_start(int status, std::span<const Header> headers, bool trailers) {
  if (ws_ != nullptr) return stream_result(ws_->deny_start(status, headers), *ws_);
  if (sse_ != nullptr) {
    return stream_result(sse_->session().decline_start(status, headers), sse_->session());
  }
  if (!app_active_ || client_gone_) return SendResult::kClosed;
  if (response_ != Response::kNone) return send_result();  // a second start is ignored
  if (status < 200 || status > 999) {
    error_ = "http.response.start: status must be an integer from 200 to 999";
    return SendResult::kInvalid;
  }
  HeaderFacts facts;
  size_t before = out_.size();
  if (const char* err = write_checked_head(out_, head_ != nullptr ? head_->version_minor() : 1,
                                           status, headers, facts, *ctx_.date,
                                           ctx_.server_header)) {
    error_ = err;
    return SendResult::kInvalid;
  }
  // Held back until the framing is known (first body), so a failing app can still get a 500.
  held_ = out_.size() - before;
  facts_ = facts;
  status_ = status;
  trailers_expected_ = trailers;
  if (facts.connection_close) keep_alive_ = false;
  if (shutting_down_) keep_alive_ = false;
  response_ = Response::kHeadOpen;
  resp_started_ = true;
  return send_result();
}

void H1Connection::close_head(bool final_body, size_t body_len) {
  int minor = head_ != nullptr ? head_->version_minor() : 1;
  bool chunk_for_trailers = trailers_expected_ && minor == 1;
  if (announced_length_ >= 0 && !facts_.has_content_length && !chunk_for_trailers) {
    final_body = true;  // a file: its whole length is known before its first piece
    body_len = size_t(announced_length_);
  }
  bool add_length = false;  // a content-length line of body_len
  if (is_head_request_ || !status_has_body(status_)) {
    framing_ = Framing::kNone;
    // A HEAD response announces the length the GET would have had, when it is known.
    add_length = is_head_request_ && status_has_body(status_) && !facts_.has_content_length &&
                 final_body;
  } else if (facts_.has_content_length) {
    framing_ = Framing::kContentLength;
    cl_remaining_ = facts_.content_length;
  } else if (final_body && !chunk_for_trailers) {
    framing_ = Framing::kContentLength;
    cl_remaining_ = body_len;
    add_length = true;
  } else if (minor == 1) {
    framing_ = Framing::kChunked;
    out_.append("Transfer-Encoding: chunked\r\n");
  } else {
    framing_ = Framing::kUntilClose;
    keep_alive_ = false;
  }
  // The connection line when one is needed, then the blank line: written with the length
  // line, in one piece, when there is one.
  std::string_view end = "\r\n";
  if (!keep_alive_) {
    if (!facts_.connection_close) end = "connection: close\r\n\r\n";
  } else if (minor == 0) {
    end = "connection: keep-alive\r\n\r\n";
  }
  if (add_length) {
    write_content_length(out_, body_len, end);
  } else {
    out_.append(end);
  }
  held_ = 0;
  response_ = Response::kBody;
  // Every caller writes on (a body, the last chunk, a file) and then calls output_grew().
}

void H1Connection::write_body_bytes(std::string_view body) {
  switch (framing_) {
    case Framing::kNone:
      break;
    case Framing::kContentLength: {
      size_t n = std::min<uint64_t>(body.size(), cl_remaining_);
      out_.append(body.substr(0, n));
      cl_remaining_ -= n;
      if (n < body.size()) {
        // More than the announced length: the extra cannot be framed. Drop it and do not
        // reuse the connection.
        keep_alive_ = false;
      }
      break;
    }
    case Framing::kChunked:
      write_chunk(out_, body);
      break;
    case Framing::kUntilClose:
      out_.append(body);
      break;
  }
}

SendResult H1Connection::send_body(std::string_view body, bool more) {
  if (ws_ != nullptr) return stream_result(ws_->deny_body(body, more), *ws_);
  if (sse_ != nullptr) {
    return stream_result(sse_->session().decline_body(body, more), sse_->session());
  }
  if (!app_active_ || client_gone_) return SendResult::kClosed;
  if (response_ == Response::kNone || response_ == Response::kComplete || body_finished_) {
    return send_result();  // before start / after the end: ignored (PAGI.md §3.7)
  }
  if (response_ == Response::kHeadOpen) close_head(!more, body.size());
  if (!is_head_request_) body_bytes_ += body.size();  // the reference counts no HEAD body
  write_body_bytes(body);
  if (!more) {
    if (trailers_expected_ && framing_ == Framing::kChunked) {
      body_finished_ = true;  // the trailers complete it
    } else {
      complete_response({});
    }
  }
  output_grew();
  return send_result();
}

SendResult H1Connection::send_trailers(std::span<const Header> trailers) {
  if (streaming()) return wrong_scope("http.response.trailers is not valid on this scope");
  if (!app_active_ || client_gone_) return SendResult::kClosed;
  if (!trailers_expected_ || response_ == Response::kNone || response_ == Response::kComplete) {
    return send_result();  // not announced with trailers=>1: ignored
  }
  for (const Header& h : trailers) {
    if (const char* err = check_header(h.name, h.value)) {
      error_ = err;
      return SendResult::kInvalid;
    }
  }
  if (response_ == Response::kHeadOpen) close_head(false, 0);
  complete_response(trailers);
  output_grew();
  return send_result();
}

void H1Connection::complete_response(std::span<const Header> trailers) {
  if (framing_ == Framing::kChunked) {
    write_last_chunk(out_, trailers);
  } else if (framing_ == Framing::kContentLength && cl_remaining_ > 0) {
    // Fewer bytes than announced: only closing tells the client the body is short.
    keep_alive_ = false;
    close_after_flush_ = true;
  }
  if (framing_ == Framing::kUntilClose) close_after_flush_ = true;
  response_ = Response::kComplete;
  resp_complete_ = true;
  mark_complete();
  if (wants_receive_) request_pump();
  if (app_finished_ || message_complete_) request_pump();
}

}  // namespace pagi::http
