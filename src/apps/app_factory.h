// Turns the app argument of the command line into something that makes one App per core.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "pagi/app.h"

namespace pagi::apps {

// Called once per core, on that core's thread. Returns nullptr and sets *error on failure.
using AppFactory = std::function<std::unique_ptr<App>(int core, int cores, std::string* error)>;

// "native:hello", "native:echo" or "native:/path/libapp.so[?argument]". Loads shared objects
// once, here, so a broken one fails at start-up. Returns an empty factory on error.
AppFactory make_native_factory(std::string_view spec, std::string* error);

// True for the `native:` prefix.
bool is_native_spec(std::string_view spec);

}  // namespace pagi::apps
