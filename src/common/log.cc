// Log sink (see log.h). The level is written before threads start and only read after.
#include "common/log.h"

#include <unistd.h>

#include <cstdio>

namespace pagi::log {
namespace {
Level g_level = Level::kInfo;  // set in main before any thread: read-only afterwards
}

void set_level(Level level) { g_level = level; }
bool enabled(Level level) { return level >= g_level; }

void write(Level, const char* fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = size_t(n) < sizeof(buf) - 1 ? size_t(n) : sizeof(buf) - 2;
  buf[len++] = '\n';
  ssize_t w = ::write(STDERR_FILENO, buf, len);
  (void)w;  // nowhere to report a failing log write
}

}  // namespace pagi::log
