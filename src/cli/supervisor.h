// The main thread's job: open (or inherit) listeners, load the app, start one core per CPU,
// print the banner, then wait for signals: stop the cores gracefully, or reload.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace pagi::cli {

// Runs the server until SIGTERM/SIGINT. `argv` is the command line as given (a SIGHUP
// reload starts the binary again with it). Returns the process exit code.
int run_server(const Options& options, const std::vector<std::string>& argv);

}  // namespace pagi::cli
