// The embedded Perl host as the rest of the server sees it: load a PAGI Perl app once (in the
// root interpreter, on the main thread) and get a factory that gives every core its own clone.
// Nothing here includes perl.h: only src/perl/*.cc do.
#pragma once

#include <string>
#include <vector>

#include "apps/app_factory.h"

namespace pagi::perl {

// --lifespan (PAGI.md §3.6): auto = a decline continues without lifespan; on = a decline is
// fatal; off = the app never sees a lifespan scope.
enum class LifespanMode { kAuto, kOn, kOff };

// What the command line says to run (PAGI.md §1.2).
struct PerlAppSpec {
  std::string app;                    // file or module name ("" with -e)
  std::vector<std::string> app_args;  // key=value constructor args of a module
  bool has_eval = false;              // -e given
  std::string eval_code;              // -e CODE
  std::vector<std::string> modules;   // -M Module[=imp,orts], loaded before -e
  std::vector<std::string> libs;      // -I PATH, unshifted onto @INC
  LifespanMode lifespan = LifespanMode::kAuto;
  int lifespan_startup_timeout = 30;  // seconds; 0 = wait forever
};

// Call on the main thread before any core thread starts and after %ENV is final (the root
// interpreter copies the environment). Loads the app; on failure returns an empty factory and
// puts the reference server's message (e.g. "Error loading FILE: ...") in *error. The factory
// keeps the root interpreter alive; it is destroyed with the last copy of the factory, which
// must happen on the main thread after every core has stopped.
apps::AppFactory make_perl_factory(const PerlAppSpec& spec, std::string* error);

// --heartbeat-timeout: installs the process-wide handler of the watchdog's signal `sig`. It
// only touches the interpreter of the core thread it lands on (none: nothing happens), and
// the interpreter dies at its next op if the watchdog asked for it (interrupt.cc).
bool install_interrupt_handler(int sig, std::string* error);

}  // namespace pagi::perl
