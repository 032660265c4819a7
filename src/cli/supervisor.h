// The main thread's job: open listeners, start one core per CPU, print the banner, then wait
// for signals and stop the cores gracefully.
#pragma once

#include "cli/options.h"

namespace pagi::cli {

// Runs the server until SIGTERM/SIGINT. Returns the process exit code.
int run_server(const Options& options);

}  // namespace pagi::cli
