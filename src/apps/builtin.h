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
// websocket scopes: accepts (with the first offered subprotocol) and sends every message back
// as it came, text as text, bytes as bytes; path /ws/forbidden closes before accepting (403),
// /ws/deny answers with the denial response 401 "denied".
// sse scopes: sse.start, one event per non-empty sse.request piece (its bytes as data), then
// `event: end` / `data: done` once the request is in, then sse.close; query `hold` keeps the
// stream open until the client goes, `keepalive=MS` also sends `:ka` every MS ms; path
// /sse/decline declines with 204, /sse/missing with 404 "not found".
std::unique_ptr<App> make_echo_app();

}  // namespace pagi::apps
