// The requests the micro-benchmarks parse and serve: a typical browser GET and a minimal API
// GET (what wrk sends).
#pragma once

#include <string>

namespace pagi::bench {

inline const std::string kBrowserRequest =
    "GET /assets/app.js?v=12345 HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=abcdef0123456789; theme=dark; tracking=xyz\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n\r\n";

inline const std::string kApiRequest = "GET / HTTP/1.1\r\nHost: localhost:5000\r\n\r\n";

}  // namespace pagi::bench
