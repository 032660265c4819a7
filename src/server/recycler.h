// --max-requests (internal to src/server): replaces a core's hosted (Perl) app instance with a
// fresh one from the factory, without a process. Once the core has given its app N requests,
// the recycler stands in as H1Context::app: new requests are held (the exchanges wait, none
// is refused), calls about the old instance's open exchanges go to it, and once it holds none
// (its WebSocket and SSE sessions are told the server is going away at once, as at a stop;
// --shutdown-timeout bounds the rest, then what it still holds is abandoned) it is stopped
// (lifespan shutdown), destroyed, a fresh one is made and started (lifespan startup), and the
// held requests go to it in their order. Every step runs at the end of a loop turn (deferred)
// or from the recycler's timer, outside any app call: an interpreter is never destroyed under
// its own frames.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "server/core.h"

namespace pagi::server {

class Core::Recycler final : public http::RequestLimit, public App, public ring::Deferred {
 public:
  explicit Recycler(Core& core);
  ~Recycler() override;

  // http::RequestLimit: the request being dispatched is the first one past the limit.
  void limit_reached() override;

  // App, while requests are held.
  void on_request(Exchange& ex) override;
  void on_receive_ready(Exchange& ex) override;
  void on_writable(Exchange& ex) override;
  void on_end(Exchange& ex, const ExchangeEnd& end) override;

  // ring::Deferred: the next step, at the end of this loop turn.
  void run_deferred() override { step(); }

  bool active() const { return stage_ != Stage::kIdle; }
  // A drain asked for while recycling: false when the recycle gave way to it (it was still
  // waiting for the old instance, which keeps serving); true when the drain must wait until
  // the fresh instance serves.
  bool defer_drain();

 private:
  // kGivenUp: the server stops and no fresh instance would start; requests get a 500.
  enum class Stage : uint8_t { kIdle, kWaiting, kStopping, kReplacing, kStarting, kGivenUp };
  struct Held {
    Exchange* ex = nullptr;
    bool ended = false;  // on_end came while held: given to the fresh app after its request
    bool response_started = false;
    bool response_complete = false;
    int code = 0;
    std::string reason;
  };
  // App::start / App::stop completions; they only note the outcome and wake the timer.
  class Done final : public LifecycleDone {
   public:
    Done(Recycler* r, bool starting) : r_(r), starting_(starting) {}
    void done(bool ok, std::string_view message) override;

   private:
    Recycler* r_;
    bool starting_;
  };

  static void on_timer(void* self);
  void step();
  void wake(uint64_t ms);  // step after `ms` (the timer: 10 ms ticks)
  void wake_now();         // step at the end of this loop turn
  void replace();
  void serve();
  void release_held();
  void end_streams();
  // After a failed attempt: try again in a second, or, when a drain waits, give up.
  void retry_or_give_up();
  bool is_held(const Exchange& ex) const { return ex.app_data == this; }
  App* old_app();

  Core& core_;
  Stage stage_ = Stage::kIdle;
  ring::Timer timer_;
  std::chrono::steady_clock::time_point begun_;
  uint64_t deadline_ms_ = 0;       // the old instance's exchanges: abandoned after this (0: never)
  uint64_t stop_deadline_ms_ = 0;  // its lifespan shutdown: given up after this (0: never)
  bool abandoned_ = false;
  bool streams_ended_ = false;
  bool drain_after_ = false;
  uint64_t base_ = 0;  // h1_.requests when the current instance got its first request
  uint64_t served_ = 0;
  uint64_t destroy_us_ = 0;  // the last replace(): perl_destruct of the old instance
  uint64_t clone_us_ = 0;    // and making the fresh one (perl_clone)
  std::vector<Held> held_;
  Done start_done_{this, true};
  Done stop_done_{this, false};
  bool outcome_ = false;  // a start/stop completion came
  bool outcome_ok_ = false;
  std::string outcome_message_;
};

}  // namespace pagi::server
