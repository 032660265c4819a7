// --max-requests: the core's recycler (see recycler.h).
#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "server/connection.h"
#include "server/recycler.h"

namespace pagi::server {

// How often the old instance's open exchanges are counted while the recycle waits for them.
constexpr uint64_t kPollMs = 5;
// A fresh instance that cannot be made or started is tried again after this.
constexpr uint64_t kRetryMs = 1000;

void Core::make_recycler() {
  if (config_.max_requests == 0 || dynamic_cast<apps::HostedApp*>(app_.get()) == nullptr) return;
  recycler_ = std::make_unique<Recycler>(*this);
  h1_.limit = recycler_.get();
  h1_.recycle_after = config_.max_requests;
}

bool Core::recycle_blocks_drain() {
  return recycler_ != nullptr && recycler_->defer_drain();
}

Core::Recycler::Recycler(Core& core) : core_(core) {
  timer_.bind(&Recycler::on_timer, this);
}

Core::Recycler::~Recycler() {
  core_.reactor_->timers().cancel(timer_);
}

void Core::Recycler::Done::done(bool ok, std::string_view message) {
  r_->outcome_ = true;
  r_->outcome_ok_ = ok;
  r_->outcome_message_.assign(message);
  // Possibly from inside the instance's own Perl code: the next step waits for the turn end.
  if ((starting_ && r_->stage_ == Stage::kStarting) ||
      (!starting_ && r_->stage_ == Stage::kStopping)) {
    r_->wake_now();
  }
}

void Core::Recycler::wake(uint64_t ms) {
  core_.reactor_->timers().cancel(timer_);
  core_.reactor_->timers().arm(timer_, ms);
}

void Core::Recycler::wake_now() {
  core_.reactor_->defer(*this);
}

void Core::Recycler::on_timer(void* self) {
  static_cast<Recycler*>(self)->step();
}

App* Core::Recycler::old_app() {
  return core_.app_.get();
}

void Core::Recycler::limit_reached() {
  Core& c = core_;
  c.h1_.recycle_after = UINT64_MAX;  // told once per instance
  if (stage_ != Stage::kIdle || c.phase_ != Phase::kServing) return;
  stage_ = Stage::kWaiting;
  served_ = c.h1_.requests - 1 - base_;
  begun_ = std::chrono::steady_clock::now();
  uint64_t now = c.reactor_->now_ms();
  deadline_ms_ = c.config_.shutdown_timeout_ms > 0 ? now + c.config_.shutdown_timeout_ms : 0;
  abandoned_ = false;
  streams_ended_ = false;
  c.h1_.app = this;  // this request and the next ones are held
  LOG_INFO("Core %d: %llu requests served (--max-requests): recycling its interpreter", c.index_,
           static_cast<unsigned long long>(served_));
  wake_now();
}

void Core::Recycler::on_request(Exchange& ex) {
  if (stage_ == Stage::kGivenUp) {
    ex.fail("the core's interpreter could not be restarted and the server is stopping");
    return;
  }
  ex.app_data = this;
  Held h;
  h.ex = &ex;
  held_.push_back(std::move(h));
}

void Core::Recycler::on_receive_ready(Exchange& ex) {
  if (!is_held(ex) && old_app() != nullptr) old_app()->on_receive_ready(ex);
}

void Core::Recycler::on_writable(Exchange& ex) {
  if (!is_held(ex) && old_app() != nullptr) old_app()->on_writable(ex);
}

void Core::Recycler::on_end(Exchange& ex, const ExchangeEnd& end) {
  if (!is_held(ex)) {
    if (old_app() != nullptr) old_app()->on_end(ex, end);
    // Usually the old instance's last word about an exchange: count again at the turn end.
    if (stage_ == Stage::kWaiting) wake_now();
    return;
  }
  // The client went away (or the request timed out) while held: the fresh app gets the
  // request and then this end, as if it had come while it ran.
  for (Held& h : held_) {
    if (h.ex == &ex) {
      h.ended = true;
      h.response_started = end.response_started;
      h.response_complete = end.response_complete;
      h.code = end.code;
      h.reason.assign(end.reason);
    }
  }
}

bool Core::Recycler::defer_drain() {
  if (stage_ == Stage::kIdle || stage_ == Stage::kGivenUp) return false;
  if (stage_ == Stage::kWaiting) {
    // The old instance still serves: it gets the held requests back, and the drain goes on.
    core_.reactor_->timers().cancel(timer_);
    stage_ = Stage::kIdle;
    core_.h1_.app = core_.app_.get();
    release_held();
    return false;
  }
  drain_after_ = true;
  return true;
}

void Core::Recycler::step() {
  Core& c = core_;
  uint64_t now = c.reactor_->now_ms();
  switch (stage_) {
    case Stage::kIdle:
    case Stage::kGivenUp: return;
    case Stage::kWaiting: {
      if (!streams_ended_) end_streams();
      auto* hosted = dynamic_cast<apps::HostedApp*>(old_app());
      size_t open = hosted != nullptr ? hosted->exchanges_held() : 0;
      if (open > 0) {
        if (!abandoned_ && deadline_ms_ != 0 && now >= deadline_ms_) {
          // --shutdown-timeout, as for a stop: what the old instance still holds is wound up.
          LOG_WARN("Core %d: %zu exchanges still open %llus into the recycle; abandoning them",
                   c.index_, open,
                   static_cast<unsigned long long>(c.config_.shutdown_timeout_ms / 1000));
          abandoned_ = true;
          if (auto* a = dynamic_cast<apps::AbandonableApp*>(old_app())) a->abandon_all();
        }
        wake(kPollMs);
        return;
      }
      core_.reactor_->timers().cancel(timer_);
      stage_ = Stage::kStopping;
      outcome_ = false;
      stop_deadline_ms_ = 0;
      if (c.config_.shutdown_timeout_ms > 0) {
        stop_deadline_ms_ = now + c.config_.shutdown_timeout_ms;
        wake(c.config_.shutdown_timeout_ms);
      }
      old_app()->stop(stop_done_);  // lifespan shutdown of the old instance
      return;
    }
    case Stage::kStopping:
      if (!outcome_ && (stop_deadline_ms_ == 0 || now < stop_deadline_ms_)) return;
      core_.reactor_->timers().cancel(timer_);
      if (!outcome_) {
        LOG_WARN(
            "PAGI Server shutdown warning: Lifespan shutdown timed out after %llus on core "
            "%d (recycle)",
            static_cast<unsigned long long>(c.config_.shutdown_timeout_ms / 1000), c.index_);
      } else if (!outcome_ok_) {
        LOG_WARN("PAGI Server shutdown warning: %s", outcome_message_.c_str());
      }
      stage_ = Stage::kReplacing;
      replace();
      return;
    case Stage::kReplacing: replace(); return;
    case Stage::kStarting:
      if (!outcome_) return;  // the startup's own timeout (lifespan) bounds it
      if (outcome_ok_) {
        serve();
        return;
      }
      LOG_ERROR("Core %d: lifespan startup of the fresh interpreter failed: %s (%zu requests held)",
                c.index_, outcome_message_.c_str(), held_.size());
      c.app_.reset();
      retry_or_give_up();
      return;
  }
}

void Core::Recycler::retry_or_give_up() {
  Core& c = core_;
  if (!drain_after_) {
    stage_ = Stage::kReplacing;
    LOG_INFO("Core %d: trying a fresh interpreter again in %llus", c.index_,
             static_cast<unsigned long long>(kRetryMs / 1000));
    wake(kRetryMs);
    return;
  }
  // The server is stopping: no more attempts. The held requests (and any that still come
  // before the connections close) get the 500 backstop, and the drain goes on without an app.
  LOG_ERROR("Core %d: the server is stopping; giving up the recycle (%zu held requests get a 500)",
            c.index_, held_.size());
  stage_ = Stage::kGivenUp;
  std::vector<Held> held;
  held.swap(held_);
  for (Held& h : held) {
    h.ex->app_data = nullptr;
    h.ex->fail("the core's interpreter could not be restarted and the server is stopping");
  }
  drain_after_ = false;
  c.begin_drain();
}

// The old instance's WebSocket and SSE sessions would hold the recycle (and so every held
// request) for as long as they last: they are ended as at a stop (Close 1001, the SSE stream
// finished), and their clients reconnect to the fresh instance. Held ones are left alone.
void Core::Recycler::end_streams() {
  streams_ended_ = true;
  for (Connection* conn = core_.active_head_; conn != nullptr;) {
    Connection* next = conn->next;  // a shutdown may release it
    http::H1Connection* h = conn->http();
    if (h != nullptr && h->streaming() && !is_held(*h)) conn->shutdown_gracefully();
    conn = next;
  }
}

// The old instance goes (its interpreter destroyed), a fresh one comes from the factory (a
// perl_clone of the root, serialised with the other cores' by the factory) and starts.
void Core::Recycler::replace() {
  Core& c = core_;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  c.app_.reset();
  auto t1 = Clock::now();
  std::string error;
  std::unique_ptr<App> fresh =
      c.config_.app_factory(c.index_, c.config_.cores, *c.reactor_, &error);
  auto t2 = Clock::now();
  destroy_us_ = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count());
  clone_us_ = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count());
  if (!fresh) {
    LOG_ERROR("Core %d: could not make a fresh interpreter: %s", c.index_,
              error.empty() ? "the app could not be created" : error.c_str());
    retry_or_give_up();
    return;
  }
  c.app_ = std::move(fresh);
  stage_ = Stage::kStarting;
  outcome_ = false;
  c.app_->start(start_done_);  // lifespan startup; may be done at once
}

void Core::Recycler::serve() {
  Core& c = core_;
  stage_ = Stage::kIdle;
  c.h1_.app = c.app_.get();
  // The held requests are the fresh instance's first ones.
  base_ = c.h1_.requests - held_.size();
  c.h1_.recycle_after = base_ + c.config_.max_requests;
  size_t held = held_.size();
  release_held();
  auto took = std::chrono::steady_clock::now() - begun_;
  LOG_INFO(
      "Core %d: fresh interpreter serving after %.1f ms (%zu requests held meanwhile; "
      "old one destroyed in %.1f ms, new one cloned in %.1f ms)",
      c.index_,
      double(std::chrono::duration_cast<std::chrono::microseconds>(took).count()) / 1000.0, held,
      double(destroy_us_) / 1000.0, double(clone_us_) / 1000.0);
  if (drain_after_) {
    drain_after_ = false;
    c.begin_drain();
  }
}

// The held requests go to core_.app_ (fresh, or the old one when a drain cut the recycle
// short), oldest first.
void Core::Recycler::release_held() {
  std::vector<Held> held;
  held.swap(held_);
  App* app = core_.app_.get();
  for (Held& h : held) {
    h.ex->app_data = nullptr;
    app->on_request(*h.ex);
  }
  for (Held& h : held) {
    if (!h.ended) continue;
    ExchangeEnd end;
    end.reason = h.reason;
    end.response_started = h.response_started;
    end.response_complete = h.response_complete;
    end.code = h.code;
    app->on_end(*h.ex, end);
  }
  held_.swap(held);
  held_.clear();  // keeps its capacity for the next recycle
}

}  // namespace pagi::server
