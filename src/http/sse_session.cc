// SSE session state machine (see sse_session.h). Events are framed straight into the output
// queue (size line, event bytes, CRLF: one chunk each), so a steady stream allocates nothing;
// only the rare decline path keeps copies of the app's headers and body.
#include "http/sse_session.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "common/log.h"
#include "http/response_writer.h"

namespace pagi::http::sse {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

bool status_has_body(int status) {
  return !(status < 200 || status == 204 || status == 304);
}

constexpr std::string_view kDeclinePrefix = "sse.http.response.";

}  // namespace

Session::Session(const SessionConfig& config, SessionTransport& transport, SessionHandler& handler,
                 OutputQueue& out, const RequestInfo& request)
    : config_(config), transport_(transport), handler_(handler), out_(out), request_(request) {
  body_complete_ = !request.has_body;
  last_send_ = transport_.now_ms();
}

// --- socket side -----------------------------------------------------------------------------

bool Session::on_body(std::string_view chunk) {
  if (!app_active_ || end_known_ || body_complete_) return true;  // nobody reads it: discard
  body_queued_.append(chunk);
  if (wants_receive_) notify();
  if (body_queued_.size() >= config_.body_queue_limit) {
    body_paused_ = true;
    return false;
  }
  return true;
}

void Session::on_body_end() {
  body_complete_ = true;
  notify();
}

void Session::on_input_eof() {
  disconnect("client_closed");
  notify();
}

void Session::on_transport_error(const char* reason) {
  dead_ = true;
  out_.clear();
  disconnect(reason);
  notify();
}

void Session::on_sent(size_t n) {
  out_.consume(n);
  if (wants_writable_ && out_.size() < config_.low_watermark) notify();
}

void Session::on_timer(uint64_t now) {
  if (wants_close_) return;
  if (config_.idle_timeout_ms != 0 && now >= last_send_ + config_.idle_timeout_ms) {
    LOG_WARN("SSE idle timeout (%gs) - closing connection", double(config_.idle_timeout_ms) / 1000);
    set_end("idle_timeout");
    end_stream();
  } else if (next_keepalive_ != 0 && now >= next_keepalive_) {
    // Before sse.start the timer runs but writes nothing (PAGI.md §3.5).
    if (state_ == State::kStreaming) {
      chunk_begin(keepalive_size(keepalive_comment_));
      write_keepalive(out_, keepalive_comment_);
      chunk_end();
    }
    next_keepalive_ = now + keepalive_interval_;
  }
  notify();
}

void Session::on_scheduled() {
  notify();
}

void Session::begin_shutdown() {
  if (wants_close_) return;
  set_end("server_shutdown");
  end_stream();
  notify();
}

uint64_t Session::next_deadline() const {
  if (wants_close_) return kNoDeadline;
  uint64_t d = next_keepalive_ != 0 ? next_keepalive_ : kNoDeadline;
  if (config_.idle_timeout_ms != 0) d = std::min(d, last_send_ + config_.idle_timeout_ms);
  return d;
}

// --- outcome -----------------------------------------------------------------------------------

void Session::set_end(std::string_view reason) {
  if (end_known_) return;
  end_known_ = true;
  end_reason_.assign(reason);
}

void Session::disconnect(std::string_view reason) {
  if (wants_close_) return;
  set_end(reason);
  state_ = State::kEnded;  // the client is gone: nothing more is written
  wants_close_ = true;
}

// Ends what is on the wire cleanly where it can (a started stream gets its last chunk) and
// closes. Used by sse.close, the app's return, the idle timeout and shutdown.
void Session::end_stream() {
  if (state_ == State::kStreaming && request_.http_minor == 1 && !dead_) out_.append("0\r\n\r\n");
  state_ = State::kEnded;
  set_end("");
  wants_close_ = true;
}

void Session::notify() {
  if (in_notify_) {
    renotify_ = true;
    return;
  }
  in_notify_ = true;
  do {
    renotify_ = false;
    if (end_known_ && !end_reported_) {
      end_reported_ = true;
      handler_.on_end(*this, end_reason_);
    }
    bool ready = end_known_ || (!body_event_done_ && (!body_queued_.empty() || body_complete_));
    if (app_active_ && wants_receive_ && ready) {
      wants_receive_ = false;
      handler_.on_receive_ready(*this);
    }
    if (app_active_ && wants_writable_ && (dead_ || out_.size() < config_.low_watermark)) {
      wants_writable_ = false;
      handler_.on_writable(*this);
    }
  } while (renotify_);
  in_notify_ = false;
  if (body_paused_ && (body_queued_.size() < config_.body_queue_limit || end_known_)) {
    body_paused_ = false;
    transport_.set_reading(true);
  }
  if (!out_.empty() || wants_close_) transport_.want_flush();
}

// --- receive -----------------------------------------------------------------------------------

bool Session::receive(ReceiveEvent& out) {
  if (!body_event_done_ && (!body_queued_.empty() || body_complete_)) {
    body_delivered_.swap(body_queued_);
    body_queued_.clear();
    out = ReceiveEvent{ReceiveEvent::Type::kRequest, body_delivered_, !body_complete_, {}};
    if (body_complete_) body_event_done_ = true;
    if (body_paused_ && !in_notify_) transport_.schedule();  // room again: feed on
    return true;
  }
  if (end_known_) {
    // A clean end (the app's sse.close, a decline) is a closed stream to a late receive.
    std::string_view reason = end_reason_.empty() ? "client_closed" : std::string_view(end_reason_);
    out = ReceiveEvent{ReceiveEvent::Type::kDisconnect, {}, false, reason};
    return true;
  }
  wants_receive_ = true;
  return false;
}

// --- send --------------------------------------------------------------------------------------

pagi::SendResult Session::refuse_after(std::string_view type) {
  error_.assign("cannot send '");
  error_.append(type);
  error_.append("' after ");
  error_.append(app_closed_ ? "sse.close" : "sse.http.response.start");
  return pagi::SendResult::kInvalid;
}

// The rules every send obeys first, in the reference's order: after the app's sse.close
// everything but another sse.close raises; after a disconnect sends are no-ops; after a
// decline only the decline events may follow.
pagi::SendResult Session::check_send(std::string_view type) {
  if (app_closed_) {
    return type == "sse.close" ? pagi::SendResult::kOk : refuse_after(type);
  }
  if (!app_active_ || wants_close_ || dead_) return pagi::SendResult::kClosed;
  if (state_ == State::kDeclining && type.substr(0, kDeclinePrefix.size()) != kDeclinePrefix) {
    return refuse_after(type);
  }
  return pagi::SendResult::kOk;
}

pagi::SendResult Session::send_result() {
  if (out_.size() >= config_.high_watermark) {
    wants_writable_ = true;
    return pagi::SendResult::kBlocked;
  }
  return pagi::SendResult::kOk;
}

void Session::chunk_begin(size_t size) {
  if (request_.http_minor != 1) return;  // HTTP/1.0: the close ends the stream, no chunks
  char line[24];
  auto r = std::to_chars(line, line + 16, size, 16);
  *r.ptr++ = '\r';
  *r.ptr++ = '\n';
  out_.append(std::string_view(line, size_t(r.ptr - line)));
}

void Session::chunk_end() {
  if (request_.http_minor == 1) out_.append("\r\n");
}

pagi::SendResult Session::start(int status, std::span<const Header> headers) {
  if (pagi::SendResult r = check_send("sse.start"); r != pagi::SendResult::kOk) return r;
  if (state_ != State::kNew) return send_result();  // a second sse.start is ignored
  if (status < 200 || status > 999) {
    error_.assign("sse.start: status must be an integer from 200 to 999");
    return pagi::SendResult::kInvalid;
  }
  HeaderFacts facts;
  if (const char* err = scan_response_headers(headers, facts)) {
    error_.assign(err);
    return pagi::SendResult::kInvalid;
  }
  if (facts.has_content_length) {
    error_.assign("sse.start: content-length cannot frame an event stream");
    return pagi::SendResult::kInvalid;
  }
  bool has_type = false, has_cache = false, has_connection = false;
  for (const Header& h : headers) {
    has_type = has_type || iequals(h.name, "content-type");
    has_cache = has_cache || iequals(h.name, "cache-control");
    has_connection = has_connection || iequals(h.name, "connection");
  }
  size_t before = out_.size();
  write_head(out_, request_.http_minor, status, headers, facts, config_.date->get(),
             config_.server_header);
  if (!has_type) out_.append("content-type: text/event-stream\r\n");
  if (!has_cache) out_.append("cache-control: no-cache\r\n");
  if (request_.http_minor == 1) {
    if (!has_connection) out_.append("connection: keep-alive\r\n");
    out_.append("Transfer-Encoding: chunked\r\n");
  } else if (!has_connection) {
    out_.append("connection: close\r\n");  // HTTP/1.0: the stream ends with the connection
  }
  out_.append("\r\n");
  head_bytes_ = out_.size() - before;
  state_ = State::kStreaming;
  status_ = status;
  last_send_ = transport_.now_ms();
  if (request_.is_head) {
    // A HEAD response has no body: the head is the whole answer; later events are no-ops.
    state_ = State::kEnded;
    set_end("");
    wants_close_ = true;
    transport_.schedule();
  }
  transport_.want_flush();
  return send_result();
}

pagi::SendResult Session::send(const Event& event) {
  if (pagi::SendResult r = check_send("sse.send"); r != pagi::SendResult::kOk) return r;
  if (const char* err = check_event(event)) {
    error_.assign(err);
    return pagi::SendResult::kInvalid;
  }
  if (event.retry < -1) {
    error_.assign("Invalid SSE retry: must be a non-negative integer");
    return pagi::SendResult::kInvalid;
  }
  if (state_ != State::kStreaming) return pagi::SendResult::kOk;  // before sse.start: ignored
  chunk_begin(event_size(event));
  write_event(out_, event);
  chunk_end();
  last_send_ = transport_.now_ms();
  transport_.want_flush();
  return send_result();
}

pagi::SendResult Session::comment(std::string_view text) {
  if (pagi::SendResult r = check_send("sse.comment"); r != pagi::SendResult::kOk) return r;
  if (state_ != State::kStreaming) return pagi::SendResult::kOk;
  chunk_begin(comment_size(text));
  write_comment(out_, text);
  chunk_end();
  last_send_ = transport_.now_ms();
  transport_.want_flush();
  return send_result();
}

pagi::SendResult Session::keepalive(uint64_t interval_ms, std::string_view text) {
  if (pagi::SendResult r = check_send("sse.keepalive"); r != pagi::SendResult::kOk) return r;
  keepalive_interval_ = interval_ms;
  keepalive_comment_.assign(text);
  next_keepalive_ = interval_ms != 0 ? transport_.now_ms() + interval_ms : 0;
  transport_.schedule();  // the deadline changed
  return pagi::SendResult::kOk;
}

pagi::SendResult Session::close() {
  if (pagi::SendResult r = check_send("sse.close"); r != pagi::SendResult::kOk) return r;
  if (app_closed_) return pagi::SendResult::kOk;  // idempotent
  app_closed_ = true;
  if (state_ == State::kNew) {
    // Closed before anything was sent: answered like an app returning without sse.start.
    LOG_ERROR("PAGI application sent sse.close before sse.start");
    write_500();
  } else {
    end_stream();
  }
  transport_.want_flush();
  transport_.schedule();
  return pagi::SendResult::kOk;
}

pagi::SendResult Session::decline_start(int status, std::span<const Header> headers) {
  if (pagi::SendResult r = check_send("sse.http.response.start"); r != pagi::SendResult::kOk) {
    return r;
  }
  if (state_ == State::kStreaming) {
    error_.assign("cannot decline with sse.http.response.start after sse.start");
    return pagi::SendResult::kInvalid;
  }
  if (state_ == State::kDeclining) return pagi::SendResult::kOk;  // idempotent, first wins
  if (status < 200 || status > 999) {
    error_.assign("sse.http.response.start: status must be an integer from 200 to 999");
    return pagi::SendResult::kInvalid;
  }
  HeaderFacts facts;
  if (const char* err = scan_response_headers(headers, facts)) {
    error_.assign(err);
    return pagi::SendResult::kInvalid;
  }
  // Kept until the body is complete (the app's views do not last).
  decline_head_.assign(headers);
  decline_body_.clear();
  decline_status_ = status;
  state_ = State::kDeclining;
  return pagi::SendResult::kOk;
}

pagi::SendResult Session::decline_body(std::string_view body, bool more) {
  if (pagi::SendResult r = check_send("sse.http.response.body"); r != pagi::SendResult::kOk) {
    return r;
  }
  if (state_ != State::kDeclining) return pagi::SendResult::kOk;  // no decline start: ignored
  decline_body_.append(body);
  if (more) return pagi::SendResult::kOk;
  write_decline();
  transport_.schedule();
  return send_result();
}

void Session::write_decline() {
  std::vector<Header> headers = decline_head_.views();
  HeaderFacts facts;
  scan_response_headers(headers, facts);  // checked in decline_start
  size_t before = out_.size();
  write_head(out_, request_.http_minor, decline_status_, headers, facts, config_.date->get(),
             config_.server_header);
  bool body_allowed = status_has_body(decline_status_);
  std::string_view body = decline_body_;
  if (body_allowed) {
    if (facts.has_content_length) {
      body = body.substr(0, facts.content_length);  // the app's length rules; the close ends it
    } else {
      write_content_length(out_, body.size());
    }
  }
  if (!facts.connection_close) out_.append("connection: close\r\n");
  out_.append("\r\n");
  head_bytes_ = out_.size() - before;
  if (body_allowed && !request_.is_head) out_.append(body);
  status_ = decline_status_;
  state_ = State::kEnded;
  set_end("");
  wants_close_ = true;
  decline_head_.release();
  std::string().swap(decline_body_);
  transport_.want_flush();
}

void Session::write_500() {
  static constexpr std::string_view kMessage = "Internal Server Error";
  size_t before = out_.size();
  write_error_response(out_, 500, kMessage, config_.date->get(), config_.server_header);
  head_bytes_ = out_.size() - before - kMessage.size();
  status_ = 500;
  state_ = State::kEnded;
  set_end("server_error");
  wants_close_ = true;
}

void Session::finish(bool failed, std::string_view message) {
  if (!app_active_) return;
  app_active_ = false;
  wants_receive_ = false;
  wants_writable_ = false;
  if (!wants_close_) {
    switch (state_) {
      case State::kNew:
        if (failed) {
          LOG_ERROR("PAGI application error: %.*s", int(message.size()), message.data());
        } else {
          LOG_ERROR("PAGI application returned without starting a response");
        }
        write_500();
        break;
      case State::kDeclining:
        if (failed || !decline_body_.empty()) {
          // Nothing of the decline is on the wire yet, so it can still become a 500.
          if (failed) {
            LOG_ERROR("PAGI application error: %.*s", int(message.size()), message.data());
          } else {
            LOG_ERROR("PAGI application returned without completing its response");
          }
          write_500();
        } else {
          write_decline();  // started, no body, returned: an empty body (as for HTTP)
        }
        break;
      case State::kStreaming:
        if (failed) {
          // Truncated, not terminated: the client sees the stream did not end cleanly.
          LOG_ERROR("PAGI application error (after response started): %.*s", int(message.size()),
                    message.data());
          set_end("server_error");
          state_ = State::kEnded;
          wants_close_ = true;
        } else {
          end_stream();  // returning is wire-identical to sse.close
        }
        break;
      case State::kEnded: break;
    }
  } else if (failed && !end_known_) {
    set_end("server_error");
  }
  transport_.want_flush();
  transport_.schedule();
}

}  // namespace pagi::http::sse
