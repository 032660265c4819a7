// Server log: one line per message to stderr, written with a single write() so lines from
// different cores never interleave. Levels as the reference: debug < info < warn < error;
// -q keeps errors only.
#pragma once

#include <cstdarg>

namespace pagi::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Set once at start-up, before any core thread runs.
void set_level(Level level);
bool enabled(Level level);

void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define PAGI_LOG(level, ...)                                              \
  do {                                                                    \
    if (::pagi::log::enabled(level)) ::pagi::log::write(level, __VA_ARGS__); \
  } while (0)
#define LOG_DEBUG(...) PAGI_LOG(::pagi::log::Level::kDebug, __VA_ARGS__)
#define LOG_INFO(...) PAGI_LOG(::pagi::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) PAGI_LOG(::pagi::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) PAGI_LOG(::pagi::log::Level::kError, __VA_ARGS__)

}  // namespace pagi::log
