// Turns the app argument of the command line into something that makes one App per core.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pagi/app.h"

namespace pagi::ring {
class Reactor;
}

namespace pagi::apps {

// Called once per core, on that core's thread. Returns nullptr and sets *error on failure.
// `reactor` is the core's loop: hosts that run timers or I/O for the app (the Perl host's
// Future::IO) use it; native apps ignore it.
using AppFactory = std::function<std::unique_ptr<App>(int core, int cores, ring::Reactor& reactor,
                                                      std::string* error)>;

// Implemented (besides App) by hosts whose apps may keep a request open indefinitely, like the
// Perl host (an app awaiting a Future nothing resolves). At the shutdown timeout the core has
// closed every connection and asks the host to finish every exchange it still holds, so the
// core can stop. Found with dynamic_cast: native apps need not know about it.
class AbandonableApp {
 public:
  virtual void abandon_all() = 0;

 protected:
  ~AbandonableApp() = default;
};

// Implemented (besides App) by hosts of interpreted app code, like the Perl host: such an
// app can be interrupted by the heartbeat watchdog (--heartbeat-timeout), and --max-requests
// replaces a core's instance with a fresh one from the factory once it holds no exchange.
// Found with dynamic_cast: native apps need not know about it.
class HostedApp {
 public:
  // Exchanges the app may still be called for: given to it and not yet both finished by it
  // and ended (App::on_end).
  virtual size_t exchanges_held() const = 0;

 protected:
  ~HostedApp() = default;
};

// "native:hello", "native:echo" or "native:/path/libapp.so[?argument]". Loads shared objects
// once, here, so a broken one fails at start-up. Returns an empty factory on error.
AppFactory make_native_factory(std::string_view spec, std::string* error);

// True for the `native:` prefix.
bool is_native_spec(std::string_view spec);

}  // namespace pagi::apps
