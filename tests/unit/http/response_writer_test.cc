// Response serialisation: status lines, header checks, server-added headers, chunking.
#include "http/response_writer.h"
#include "http/date_cache.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pagi::http {
namespace {

std::string str(OutputQueue& q) {
  std::string s;
  iovec iov[64];
  int n = q.gather(iov, 64, q.size());
  for (int i = 0; i < n; ++i) s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  return s;
}

TEST(ResponseWriter, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(206), "Partial Content");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(799), "Unknown");
}

TEST(ResponseWriter, HeadKeepsAppHeadersAddsDateAndServerDropsTransferEncoding) {
  BlockPool pool;
  OutputQueue q(&pool);
  Header headers[] = {{"Content-Type", "text/plain"}, {"Transfer-Encoding", "gzip"}, {"X-A", "1"}};
  HeaderFacts facts;
  ASSERT_EQ(scan_response_headers(headers, facts), nullptr);
  write_head(q, 1, 200, headers, facts, "Tue, 24 Nov 2026 23:44:01 GMT", "PAGI::Server/x");
  EXPECT_EQ(str(q),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\n"
            "date: Tue, 24 Nov 2026 23:44:01 GMT\r\nServer: PAGI::Server/x\r\n");
}

TEST(ResponseWriter, AppDateAndServerAreNotDuplicated) {
  BlockPool pool;
  OutputQueue q(&pool);
  Header headers[] = {{"date", "X"}, {"SERVER", "Mine/1"}};
  HeaderFacts facts;
  ASSERT_EQ(scan_response_headers(headers, facts), nullptr);
  EXPECT_TRUE(facts.has_date);
  EXPECT_TRUE(facts.has_server);
  write_head(q, 0, 404, headers, facts, "D", "S");
  EXPECT_EQ(str(q), "HTTP/1.0 404 Not Found\r\ndate: X\r\nSERVER: Mine/1\r\n");
}

TEST(ResponseWriter, RejectsInjectionInNamesAndValues) {
  HeaderFacts facts;
  Header cr[] = {{"x", "a\rb"}};
  Header lf[] = {{"x", "a\nSet-Cookie: evil"}};
  Header nul[] = {{"x", std::string_view("a\0b", 3)}};
  Header name_lf[] = {{"x\r\ny", "v"}};
  Header name_space[] = {{"bad name", "v"}};
  Header empty_name[] = {{"", "v"}};
  EXPECT_STREQ(scan_response_headers(cr, facts),
               "Invalid header value: contains CR, LF, or null byte");
  EXPECT_STREQ(scan_response_headers(lf, facts),
               "Invalid header value: contains CR, LF, or null byte");
  EXPECT_STREQ(scan_response_headers(nul, facts),
               "Invalid header value: contains CR, LF, or null byte");
  EXPECT_STREQ(scan_response_headers(name_lf, facts),
               "Invalid header name: contains CR, LF, or null byte");
  EXPECT_NE(scan_response_headers(name_space, facts), nullptr);
  EXPECT_NE(scan_response_headers(empty_name, facts), nullptr);
  Header tab_ok[] = {{"x", "a\tb"}};
  EXPECT_EQ(scan_response_headers(tab_ok, facts), nullptr);
}

// Names are checked four bytes at a time and values eight: a bad byte is found at every
// position of every length (whole words and the bytes after them).
TEST(ResponseWriter, BadByteIsFoundAtEveryPosition) {
  for (size_t len = 1; len <= 19; ++len) {
    std::string name(len, 'a'), value(len, 'v');
    EXPECT_EQ(check_header(name, value), nullptr) << len;
    for (size_t at = 0; at < len; ++at) {
      for (char bad : {' ', '\r', ':', '\x80'}) {
        std::string n = name;
        n[at] = bad;
        EXPECT_NE(check_header(n, value), nullptr) << len << " " << at << " " << int(bad);
      }
      for (char bad : {'\r', '\n', '\0'}) {
        std::string v = value;
        v[at] = bad;
        EXPECT_STREQ(check_header(name, v), "Invalid header value: contains CR, LF, or null byte")
            << len << " " << at << " " << int(bad);
      }
    }
  }
}

// check_header before its vector pass: a table lookup per name byte, every value byte
// compared. The reference the fast path must agree with, message for message.
const char* ReferenceCheckHeader(std::string_view name, std::string_view value) {
  auto tchar = [](unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos);
  };
  if (name.empty()) return "Invalid header name: empty";
  for (unsigned char c : name) {
    if (!tchar(c)) {
      for (unsigned char d : name) {
        if (d == '\r' || d == '\n' || d == 0) {
          return "Invalid header name: contains CR, LF, or null byte";
        }
      }
      return "Invalid header name: not a token";
    }
  }
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == 0) {
      return "Invalid header value: contains CR, LF, or null byte";
    }
  }
  return nullptr;
}

void ExpectSameAsReference(std::string_view name, std::string_view value) {
  const char* want = ReferenceCheckHeader(name, value);
  const char* got = check_header(name, value);
  if (want == nullptr) {
    EXPECT_EQ(got, nullptr) << testing::PrintToString(std::string(name)) << " "
                            << testing::PrintToString(std::string(value));
  } else {
    EXPECT_STREQ(got, want) << testing::PrintToString(std::string(name)) << " "
                            << testing::PrintToString(std::string(value));
  }
  // scan_response_headers checks with the same inline code: the same verdict.
  HeaderFacts facts;
  Header h[] = {{name, value}};
  const char* scanned = scan_response_headers(h, facts);
  if (want == nullptr) {
    EXPECT_TRUE(scanned == nullptr || std::string_view(scanned).find("Content-Length") !=
                                          std::string_view::npos);
  } else {
    EXPECT_STREQ(scanned, want);
  }
}

// The vector pass loads names and values 16 bytes at a time, shorter ones with overlapping
// loads: every byte value at every position of every length up to three vectors and a bit
// gives the reference's answer, in the name and in the value, in strings carved out of a
// larger buffer so no load can lean on what lies past either end.
TEST(ResponseWriter, CheckHeaderEveryByteAtEveryPositionGivesTheReferencesAnswer) {
  for (size_t len = 0; len <= 50; ++len) {
    std::string buf(len + 32, '\n');  // past the ends: bytes that would be refused
    std::string_view name(buf.data() + 16, len), value = name;
    for (const char* fill : {"a", "Z", "9", "-", "!"}) {
      std::fill(buf.begin() + 16, buf.begin() + 16 + std::ptrdiff_t(len), fill[0]);
      ExpectSameAsReference(name, "v");
      ExpectSameAsReference("x-name", value);
      for (size_t at = 0; at < len; ++at) {
        for (int b = 0; b < 256; ++b) {
          char saved = buf[16 + at];
          buf[16 + at] = char(b);
          ExpectSameAsReference(name, "text/plain");
          ExpectSameAsReference("content-type", value);
          buf[16 + at] = saved;
        }
        if (HasFailure()) return;
      }
    }
  }
}

// Two bad bytes in one name: the message names CR/LF/NUL whichever comes first.
TEST(ResponseWriter, CheckHeaderTwoBadBytesGiveTheReferencesAnswer) {
  const char bads[] = {' ', ':', '\r', '\n', '\0', '\x80', '"', '_'};
  for (size_t len = 2; len <= 34; ++len) {
    for (size_t i = 0; i < len; ++i) {
      for (size_t j = i + 1; j < len; ++j) {
        for (char x : bads) {
          for (char y : bads) {
            std::string n(len, 'k');
            n[i] = x;
            n[j] = y;
            ExpectSameAsReference(n, "v");
            std::string v(len, 'v');
            v[i] = x;
            v[j] = y;
            ExpectSameAsReference("k", v);
          }
        }
      }
      if (HasFailure()) return;
    }
  }
}

TEST(ResponseWriter, ContentLengthAndConnectionFacts) {
  HeaderFacts facts;
  Header h[] = {{"Content-Length", " 12 "}, {"Connection", "keep-alive, Close"}};
  ASSERT_EQ(scan_response_headers(h, facts), nullptr);
  EXPECT_TRUE(facts.has_content_length);
  EXPECT_EQ(facts.content_length, 12u);
  EXPECT_TRUE(facts.connection_close);
  HeaderFacts bad;
  Header junk[] = {{"content-length", "12x"}};
  EXPECT_NE(scan_response_headers(junk, bad), nullptr);
  HeaderFacts conflict;
  Header two[] = {{"content-length", "1"}, {"content-length", "2"}};
  EXPECT_NE(scan_response_headers(two, conflict), nullptr);
}

// Small lengths are written from a table of digit pairs, larger ones by to_chars: every
// number across the boundaries gives its decimal digits, and `then` follows the line.
TEST(ResponseWriter, ContentLengthLineIsTheDecimalLength) {
  BlockPool pool;
  std::vector<uint64_t> ns;
  for (uint64_t n = 0; n <= 10100; ++n) ns.push_back(n);
  for (uint64_t n : {99999ull, 100000ull, 4294967296ull, 18446744073709551615ull}) ns.push_back(n);
  for (uint64_t n : ns) {
    OutputQueue q(&pool);
    write_content_length(q, n);
    ASSERT_EQ(str(q), "content-length: " + std::to_string(n) + "\r\n");
  }
  OutputQueue q(&pool);
  write_content_length(q, 13, "connection: close\r\n\r\n");
  EXPECT_EQ(str(q), "content-length: 13\r\nconnection: close\r\n\r\n");
}

TEST(ResponseWriter, Chunks) {
  BlockPool pool;
  OutputQueue q(&pool);
  write_chunk(q, "hello");
  write_chunk(q, "");  // nothing: an empty chunk would end the body
  write_chunk(q, std::string(26, 'x'));
  Header trailers[] = {{"x-checksum", "abc"}};
  write_last_chunk(q, trailers);
  EXPECT_EQ(str(q), "5\r\nhello\r\n1a\r\n" + std::string(26, 'x') +
                        "\r\n0\r\nx-checksum: abc\r\n\r\n");
}

TEST(ResponseWriter, ErrorResponse) {
  BlockPool pool;
  OutputQueue q(&pool);
  write_error_response(q, 413, "Payload Too Large", "D", "S");
  EXPECT_EQ(str(q),
            "HTTP/1.1 413 Payload Too Large\r\ncontent-type: text/plain\r\ncontent-length: 17\r\n"
            "date: D\r\nServer: S\r\nconnection: close\r\n\r\nPayload Too Large");
}

TEST(ResponseWriter, CapacityResponseIsTheReferencesBytes) {
  std::string_view r = capacity_response();
  EXPECT_EQ(r.substr(0, 34), "HTTP/1.1 503 Service Unavailable\r\n");
  size_t body = r.find("\r\n\r\n");
  ASSERT_NE(body, std::string_view::npos);
  EXPECT_EQ(r.size() - body - 4, 46u);
}

// write_checked_head against the two passes it replaces (scan_response_headers, then
// write_head with the date piece by piece): the same bytes, the same facts and the same first error, and
// nothing written on an error, for heads that hit every branch of either.
TEST(ResponseWriter, CheckedHeadIsTheTwoPasses) {
  const std::string big(BlockPool::kCapacity, 'b');
  const std::vector<std::vector<Header>> cases = {
      {},
      {{"content-type", "text/plain"}},
      {{"Content-Type", "text/plain"}, {"Transfer-Encoding", "chunked"}, {"X-A", "1"}},
      {{"date", "X"}},
      {{"SERVER", "Mine/1"}},
      {{"Date", "X"}, {"Server", "Mine/1"}},
      {{"content-length", " 12 "}, {"Connection", "keep-alive, Close"}},
      {{"content-length", "1"}, {"content-length", "1"}},
      {{"content-length", "1"}, {"content-length", "2"}},
      {{"content-length", "12x"}},
      {{"x-ok", "1"}, {"x", "a\rb"}, {"bad name", "v"}},
      {{"x-ok", "1"}, {"bad name", "v"}, {"x", "a\nb"}},
      {{"", "v"}},
      {{"x!#$%&'*+.^_`|~", "v"}},
      {{"x-big", big}},
      {{"x-big", big}, {"x", std::string_view("a\0b", 3)}},
  };
  const int statuses[] = {200, 404, 299, 999};
  for (std::string_view server : {"PAGI::Server/x", ""}) {
    for (const auto& headers : cases) {
      for (int status : statuses) {
        for (int minor : {0, 1}) {
          SCOPED_TRACE(testing::Message() << "case " << (&headers - cases.data()) << " status "
                                          << status << " minor " << minor << " server '"
                                          << server << "'");
          DateCache date;
          BlockPool pool;
          OutputQueue two(&pool), one(&pool);
          HeaderFacts two_facts, one_facts;
          const char *two_err, *one_err;
          std::string before;
          do {  // both within one second, so both carry the same Date
            two.clear();
            one.clear();
            two.append("before ");
            one.append("before ");
            two_facts = one_facts = HeaderFacts();
            before = date.get();
            two_err = scan_response_headers(headers, two_facts);
            if (two_err == nullptr) {
              write_head(two, minor, status, headers, two_facts, before, server);
            }
            one_err = write_checked_head(one, minor, status, headers, one_facts, date, server);
          } while (before != date.get());
          if (two_err == nullptr) {
            EXPECT_EQ(one_err, nullptr);
          } else {
            EXPECT_STREQ(one_err, two_err);
          }
          EXPECT_EQ(str(one), str(two));
          EXPECT_EQ(one.size(), two.size());
          EXPECT_EQ(one_facts.has_date, two_facts.has_date);
          EXPECT_EQ(one_facts.has_server, two_facts.has_server);
          EXPECT_EQ(one_facts.has_content_length, two_facts.has_content_length);
          EXPECT_EQ(one_facts.content_length, two_facts.content_length);
          EXPECT_EQ(one_facts.connection_close, two_facts.connection_close);
          if (two_err != nullptr) {
            EXPECT_EQ(str(one), "before ");
          }
          if (HasFailure()) return;
        }
      }
    }
  }
}

TEST(DateCacheFormat, ImfFixdate) {
  char out[29];
  DateCache::format(1795996800, out);  // 2026-11-30 00:00:00 UTC
  EXPECT_EQ(std::string(out, 29), "Mon, 30 Nov 2026 00:00:00 GMT");
}

// A refused head on an empty queue leaves no block behind (an idle connection holds none).
TEST(ResponseWriter, RefusedCheckedHeadKeepsNoBlock) {
  BlockPool pool;
  DateCache date;
  OutputQueue q(&pool);
  Header bad[] = {{"content-type", "text/plain"}, {"x", "a\r\nb"}};
  HeaderFacts facts;
  EXPECT_STREQ(write_checked_head(q, 1, 200, bad, facts, date, "S"),
               "Invalid header value: contains CR, LF, or null byte");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(pool.free_count(), pool.allocated());
  Header good[] = {{"content-type", "text/plain"}};
  HeaderFacts ok;
  EXPECT_EQ(write_checked_head(q, 1, 200, good, ok, date, "S"), nullptr);
  EXPECT_TRUE(str(q).starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: "));
}

// The cached lines follow the server they are asked for, whatever byte of it changes and
// however long it is (the compare goes by words), and the clock's second.
TEST(DateCacheLines, FollowTheServerAndTheSecond) {
  DateCache date;
  auto want = [&](std::string_view server) {
    std::string d(date.get());
    return server.empty() ? "date: " + d + "\r\n"
                          : "date: " + d + "\r\nServer: " + std::string(server) + "\r\n";
  };
  std::vector<std::string> servers = {"PAGI::Server/0.1.0 (pagi-server)", "", "S", "1234567",
                                      "12345678", "123456789"};
  for (size_t len : {8u, 9u, 16u, 17u, 32u, 33u}) {
    std::string base(len, 'k');
    servers.push_back(base);
    for (size_t at = 0; at < len; ++at) {
      std::string s = base;
      s[at] = 'x';
      servers.push_back(s);
      servers.push_back(base);
    }
  }
  for (const std::string& server : servers) {
    std::string got, expected;
    do {  // in one second: compare with the get() of the same second
      got = std::string(date.lines(server));
      expected = want(server);
    } while (std::string_view(expected).substr(6, 29) != std::string_view(got).substr(6, 29));
    EXPECT_EQ(got, expected) << server;
  }
  std::string first(date.lines("S"));
  while (std::string_view(date.lines("S")) == first) {
  }
  std::string next(date.lines("S"));
  EXPECT_NE(next.substr(6, 29), first.substr(6, 29));
  EXPECT_EQ(next.substr(35), "\r\nServer: S\r\n");
}

}  // namespace
}  // namespace pagi::http
