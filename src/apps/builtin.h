// Built-in native apps for measuring the server itself: hello and echo.
#pragma once

#include <memory>

#include "pagi/app.h"

namespace pagi::apps {

// 200 text/plain "Hello, World!" for every request.
std::unique_ptr<App> make_hello_app();

// Echoes the request body back (streamed as it arrives) with the request's content-type, and
// reports the request in x-echo-* headers: method, path, raw path, query, HTTP version,
// client and server address.
std::unique_ptr<App> make_echo_app();

}  // namespace pagi::apps
