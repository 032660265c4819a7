// pagi-server entry point: parse the command line, then hand over to the supervisor.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli/supervisor.h"

int main(int argc, char** argv) {
  pagi::cli::ParseOutcome parsed = pagi::cli::parse(argc, argv);
  if (!parsed.options) {
    fprintf(stderr, "pagi-server: %s\nTry 'pagi-server --help'.\n", parsed.error.c_str());
    return parsed.exit_code != 0 ? parsed.exit_code : 2;
  }
  const pagi::cli::Options& o = *parsed.options;
  if (o.show_help) {
    fputs(pagi::cli::help_text().c_str(), stdout);
    return 0;
  }
  if (o.show_version) {
    printf("%s\n", pagi::cli::version_line().c_str());
    return 0;
  }
  return pagi::cli::run_server(o, std::vector<std::string>(argv, argv + argc));
}
