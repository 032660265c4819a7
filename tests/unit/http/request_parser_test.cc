// The HTTP/1.x request parser fed bytes with no sockets: scope fields, header normalisation,
// framing, pausing, limits and the anti-smuggling rules of PAGI.md §6.
#include "http/request_parser.h"

#include <cctype>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace pagi::http {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Everything a handler can learn about one request, copied out of the parser's head.
struct Message {
  std::string method, target, raw_path, query_string, path;
  bool path_is_utf8 = false;
  std::string http_version;
  int version_minor = -1;
  Pairs headers;
  std::string host;
  bool keep_alive = false;
  bool chunked = false;
  bool has_content_length = false;
  uint64_t content_length = 0;
  bool has_body = false;
  bool expect_continue = false;
  bool websocket_upgrade = false;
  bool is_head = false;
  std::string body;
  bool complete = false;
};

std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7F || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// A handler that records every event. Each finished message gets a fresh head (the pattern
// of the connection), either inside on_message_complete or from the driver after a pause.
class Recorder final : public ParserHandler {
 public:
  explicit Recorder(RequestParser& parser) : parser_(parser) { renew_head(); }

  void renew_head() {
    heads_.emplace_back();
    parser_.set_head(&heads_.back());
  }
  RequestHead& current_head() { return heads_.back(); }
  const RequestHead& head(size_t i) const { return heads_[i]; }

  Action on_head(RequestHead& h) override {
    log += 'H';
    ++heads_seen;
    Message m;
    m.method = h.method();
    m.target = h.target();
    m.raw_path = h.raw_path();
    m.query_string = h.query_string();
    m.path = h.path();
    m.path_is_utf8 = h.path_is_utf8();
    m.http_version = h.http_version();
    m.version_minor = h.version_minor();
    for (const Header& f : h.headers()) m.headers.emplace_back(f.name, f.value);
    m.host = h.header("host");
    m.keep_alive = h.keep_alive();
    m.chunked = h.chunked();
    m.has_content_length = h.has_content_length();
    m.content_length = h.content_length();
    m.has_body = h.has_body();
    m.expect_continue = h.expect_continue();
    m.websocket_upgrade = h.websocket_upgrade();
    m.is_head = h.is_head();
    messages.push_back(std::move(m));
    return pause_at_head ? Action::kPause : Action::kContinue;
  }

  Action on_body(std::string_view chunk) override {
    log += 'B';
    ++body_events;
    if (messages.empty() || messages.back().complete) {
      ++stray_events;
    } else {
      messages.back().body.append(chunk);
    }
    return pause_on_body ? Action::kPause : Action::kContinue;
  }

  Action on_message_complete() override {
    log += 'C';
    ++completes;
    if (messages.empty() || messages.back().complete) {
      ++stray_events;
    } else {
      messages.back().complete = true;
    }
    if (renew_in_callback) renew_head();
    return pause_at_complete ? Action::kPause : Action::kContinue;
  }

  // Everything recorded, as text, with runs of body events collapsed (how the body is cut
  // into events depends on how the bytes arrived; the bytes themselves must not).
  std::string describe() const {
    std::string out = "events=";
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i] == 'B' && i > 0 && log[i - 1] == 'B') continue;
      out += log[i];
    }
    out += " stray=" + std::to_string(stray_events) + "\n";
    for (const Message& m : messages) {
      out += "method=" + Escape(m.method) + " target=" + Escape(m.target) +
             " raw_path=" + Escape(m.raw_path) + " query=" + Escape(m.query_string) +
             " path=" + Escape(m.path) + " utf8=" + std::to_string(m.path_is_utf8) +
             " version=" + m.http_version + " minor=" + std::to_string(m.version_minor) + "\n";
      out += " keep_alive=" + std::to_string(m.keep_alive) +
             " chunked=" + std::to_string(m.chunked) +
             " has_cl=" + std::to_string(m.has_content_length) +
             " cl=" + std::to_string(m.content_length) + " has_body=" + std::to_string(m.has_body) +
             " expect=" + std::to_string(m.expect_continue) +
             " ws=" + std::to_string(m.websocket_upgrade) + " host=" + Escape(m.host) + "\n";
      for (const auto& [name, value] : m.headers) {
        out += " [" + Escape(name) + "]: [" + Escape(value) + "]\n";
      }
      out += " body=[" + Escape(m.body) + "] complete=" + std::to_string(m.complete) + "\n";
    }
    return out;
  }

  std::vector<Message> messages;
  std::string log;  // 'H' head, 'B' body, 'C' message complete
  int heads_seen = 0;
  int body_events = 0;
  int completes = 0;
  int stray_events = 0;
  bool pause_at_head = false;
  bool pause_on_body = false;
  bool pause_at_complete = false;
  bool renew_in_callback = false;

 private:
  RequestParser& parser_;
  std::deque<RequestHead> heads_;  // stable addresses
};

// Feeds from a private copy that is scribbled over and freed right after the call, so any
// view the parser kept into the caller's bytes reads garbage (or trips ASan).
ParseResult FeedCopy(RequestParser& parser, Recorder& rec, std::string_view bytes) {
  std::string buf(bytes);
  ParseResult r = parser.feed(buf, rec);
  buf.assign(buf.size(), '#');
  return r;
}

// Feeds the pieces in order. A pause is answered like the connection does: resume(), a fresh
// head if a message just ended, then the unconsumed rest of the piece.
ParseStatus FeedPieces(RequestParser& parser, Recorder& rec,
                       const std::vector<std::string>& pieces) {
  for (const std::string& piece : pieces) {
    std::string rest = piece;
    for (;;) {
      ParseResult r = FeedCopy(parser, rec, rest);
      if (r.status == ParseStatus::kError) return ParseStatus::kError;
      if (r.status == ParseStatus::kOk) {
        EXPECT_EQ(r.consumed, rest.size());
        break;
      }
      EXPECT_LE(r.consumed, rest.size());
      rest.erase(0, r.consumed);
      parser.resume();
      if (!rec.log.empty() && rec.log.back() == 'C') rec.renew_head();
      if (rest.empty() && !parser.wants_feed()) break;
    }
  }
  return ParseStatus::kOk;
}

// A parser and a recorder, fed whole buffers.
struct Harness {
  explicit Harness(const Limits& limits = Limits{}) : parser(limits), rec(parser) {}
  ParseResult feed(std::string_view bytes) { return FeedCopy(parser, rec, bytes); }

  RequestParser parser;
  Recorder rec;
};

// Parses one complete request fed at once and returns what the handler saw.
Message ParseOne(std::string_view request, const Limits& limits = Limits{}) {
  Harness h(limits);
  ParseResult r = h.feed(request);
  EXPECT_EQ(r.status, ParseStatus::kOk) << "error " << h.parser.error_status() << " "
                                        << h.parser.error_message() << " for " << Escape(request);
  EXPECT_EQ(r.consumed, request.size());
  EXPECT_EQ(h.rec.messages.size(), 1u) << Escape(request);
  EXPECT_EQ(h.rec.stray_events, 0);
  if (h.rec.messages.empty()) return Message{};
  EXPECT_TRUE(h.rec.messages[0].complete) << Escape(request);
  return h.rec.messages[0];
}

// Expects the head of `request` to be refused with `status` (and `message` if given) before
// the handler sees it.
void ExpectHeadRejected(std::string_view request, int status, std::string_view message = {},
                        const Limits& limits = Limits{}) {
  SCOPED_TRACE(Escape(request));
  Harness h(limits);
  ParseResult r = h.feed(request);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), status);
  if (!message.empty()) {
    EXPECT_EQ(h.parser.error_message(), message);
  }
  EXPECT_EQ(h.rec.heads_seen, 0) << "on_head must not be called for a refused head";
  EXPECT_EQ(h.rec.completes, 0);
}

// Expects the request to fail with `status` somewhere (the head may already have been
// accepted: errors inside a chunked body).
void ExpectRejected(std::string_view request, int status, std::string_view message = {},
                    const Limits& limits = Limits{}) {
  SCOPED_TRACE(Escape(request));
  Harness h(limits);
  ParseResult r = h.feed(request);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), status);
  if (!message.empty()) {
    EXPECT_EQ(h.parser.error_message(), message);
  }
  EXPECT_EQ(h.rec.completes, 0);
}

// --- the request line and the scope fields ------------------------------------------------

TEST(RequestParserScope, SimpleGet) {
  Message m = ParseOne("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(m.method, "GET");
  EXPECT_EQ(m.target, "/");
  EXPECT_EQ(m.raw_path, "/");
  EXPECT_EQ(m.query_string, "");
  EXPECT_EQ(m.path, "/");
  EXPECT_TRUE(m.path_is_utf8);
  EXPECT_EQ(m.http_version, "1.1");
  EXPECT_EQ(m.version_minor, 1);
  EXPECT_EQ(m.host, "example.com");
  EXPECT_EQ(m.headers, (Pairs{{"host", "example.com"}}));
  EXPECT_TRUE(m.keep_alive);
  EXPECT_EQ(m.body, "");
}

TEST(RequestParserScope, MethodIsReportedAsSent) {
  EXPECT_EQ(ParseOne("DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n").method, "DELETE");
  EXPECT_EQ(ParseOne("PATCH /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").method, "PATCH");
  EXPECT_EQ(ParseOne("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").method, "OPTIONS");
}

TEST(RequestParserScope, QueryStringIsSplitAtFirstQuestionMarkAndStaysEncoded) {
  Message m = ParseOne("GET /echo/%CE%BB?x=%20y HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m.target, "/echo/%CE%BB?x=%20y");
  EXPECT_EQ(m.raw_path, "/echo/%CE%BB");
  EXPECT_EQ(m.query_string, "x=%20y");
  EXPECT_EQ(m.path, "/echo/\xCE\xBB");  // "/echo/λ"
  EXPECT_TRUE(m.path_is_utf8);

  Message two = ParseOne("GET /a?b=1?c=2&d HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(two.raw_path, "/a");
  EXPECT_EQ(two.query_string, "b=1?c=2&d");

  Message empty = ParseOne("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(empty.raw_path, "/a");
  EXPECT_EQ(empty.query_string, "");
  EXPECT_EQ(empty.path, "/a");
}

TEST(RequestParserScope, PathIsPercentDecodedRawPathIsNot) {
  Message m = ParseOne("GET /a%20b/c%2Fd+e HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m.raw_path, "/a%20b/c%2Fd+e");
  EXPECT_EQ(m.path, "/a b/c/d+e");
  EXPECT_TRUE(m.path_is_utf8);
}

TEST(RequestParserScope, PathThatIsNotUtf8KeepsTheDecodedBytes) {
  Message m = ParseOne("GET /invalid/%FF%FE/test HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m.raw_path, "/invalid/%FF%FE/test");
  EXPECT_EQ(m.path, "/invalid/\xFF\xFE/test");
  EXPECT_FALSE(m.path_is_utf8);
}

TEST(RequestParserScope, OptionsAsteriskTarget) {
  Message m = ParseOne("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m.target, "*");
  EXPECT_EQ(m.raw_path, "*");
  EXPECT_EQ(m.path, "*");
}

TEST(RequestParserScope, HttpVersionAndMinor) {
  Message m11 = ParseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(m11.http_version, "1.1");
  EXPECT_EQ(m11.version_minor, 1);
  Message m10 = ParseOne("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(m10.http_version, "1.0");
  EXPECT_EQ(m10.version_minor, 0);
}

TEST(RequestParserScope, HeadMethodIsHead) {
  EXPECT_TRUE(ParseOne("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").is_head);
  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").is_head);
}

// --- header normalisation (PAGI.md §2.2) --------------------------------------------------

TEST(RequestParserHeaders, NamesAreLowercasedValuesTrimmedOrderKept) {
  Message m = ParseOne(
      "GET / HTTP/1.1\r\n"
      "Host: h\r\n"
      "X-Custom-Header:   spaced value \t \r\n"
      "ACCEPT:\tText/HTML\r\n"
      "x-empty:\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n");
  EXPECT_EQ(m.headers, (Pairs{{"host", "h"},
                              {"x-custom-header", "spaced value"},
                              {"accept", "Text/HTML"},
                              {"x-empty", ""},
                              {"content-type", "text/plain"}}));
}

// Names are lowercased a word at a time: every token character, every name length from 1 to
// 24 (short names, whole words, an overlapping last word), values left as they are.
TEST(RequestParserHeaders, EveryTokenCharacterAndNameLengthIsLowercasedExactly) {
  const std::string tchars =
      "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  Pairs want = {{"host", "h"}};
  size_t at = 0;
  for (size_t len = 1; len <= 24; ++len) {
    std::string name;
    for (size_t i = 0; i < len; ++i) name += tchars[at++ % tchars.size()];
    std::string lowered = name;
    for (char& c : lowered) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::string value = "V" + name;
    req += name + ": " + value + "\r\n";
    want.emplace_back(lowered, value);
  }
  Message m = ParseOne(req + "\r\n");
  EXPECT_EQ(m.headers, want);
}

TEST(RequestParserHeaders, DuplicatesStaySeparatePairs) {
  Message m =
      ParseOne("GET / HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nAccept: */*\r\nX-Dup: two\r\n\r\n");
  EXPECT_EQ(m.headers,
            (Pairs{{"host", "h"}, {"x-dup", "one"}, {"accept", "*/*"}, {"x-dup", "two"}}));
}

TEST(RequestParserHeaders, CookiesAreMergedIntoTheFirstCookiePosition) {
  Message m = ParseOne(
      "GET / HTTP/1.1\r\n"
      "Cookie: a=1\r\n"
      "Host: h\r\n"
      "cookie: b=2\r\n"
      "X-After: z\r\n"
      "COOKIE: c=3; d=4\r\n"
      "\r\n");
  EXPECT_EQ(m.headers, (Pairs{{"cookie", "a=1; b=2; c=3; d=4"}, {"host", "h"}, {"x-after", "z"}}));
}

// Merging Cookie fields grows (and may move) the head's storage: a Content-Length read after
// that must come from the moved bytes (under ASan, a view into the old ones is caught).
TEST(RequestParserHeaders, ContentLengthIsReadAfterCookiesAreMerged) {
  std::string a(300, 'a'), b(300, 'b');
  Message m = ParseOne("POST /u HTTP/1.1\r\nHost: h\r\nCookie: x=" + a + "\r\nContent-Length: 0003\r\n"
                       "Cookie: y=" + b + "\r\n\r\nabc");
  EXPECT_TRUE(m.has_content_length);
  EXPECT_EQ(m.content_length, 3u);
  EXPECT_EQ(m.body, "abc");
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[1].second, "x=" + a + "; y=" + b);
}

TEST(RequestParserHeaders, SingleCookieIsUnchanged) {
  Message m = ParseOne("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\n\r\n");
  EXPECT_EQ(m.headers, (Pairs{{"host", "h"}, {"cookie", "a=1; b=2"}}));
}

TEST(RequestParserHeaders, HeaderLookupReturnsFirstValueOrEmpty) {
  Harness h;
  ASSERT_EQ(h.feed("GET / HTTP/1.1\r\nHost: h\r\nX-Dup: one\r\nX-Dup: two\r\n"
                   "Cookie: a=1\r\nCookie: b=2\r\n\r\n")
                .status,
            ParseStatus::kOk);
  const RequestHead& head = h.rec.head(0);
  EXPECT_EQ(head.header("x-dup"), "one");
  EXPECT_EQ(head.header("host"), "h");
  EXPECT_EQ(head.header("cookie"), "a=1; b=2");
  EXPECT_EQ(head.header("missing"), "");
}

// --- keep-alive -----------------------------------------------------------------------------

TEST(RequestParserKeepAlive, Http11DefaultsToKeepAlive) {
  EXPECT_TRUE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive);
  EXPECT_TRUE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n").keep_alive);
}

TEST(RequestParserKeepAlive, Http11ConnectionCloseInAnyCaseOrListCloses) {
  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").keep_alive);
  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n").keep_alive);
  EXPECT_FALSE(
      ParseOne("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
}

TEST(RequestParserKeepAlive, Http10DefaultsToCloseUnlessKeepAlive) {
  EXPECT_FALSE(ParseOne("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(ParseOne("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_TRUE(ParseOne("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  EXPECT_FALSE(ParseOne("GET / HTTP/1.0\r\nConnection: close\r\n\r\n").keep_alive);
}

// --- bodies and framing ---------------------------------------------------------------------

TEST(RequestParserFraming, GetWithoutBodyCompletesWithoutBodyEvents) {
  Harness h;
  ParseResult r = h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(h.rec.log, "HC");
  ASSERT_EQ(h.rec.messages.size(), 1u);
  const Message& m = h.rec.messages[0];
  EXPECT_FALSE(m.has_body);
  EXPECT_FALSE(m.has_content_length);
  EXPECT_EQ(m.content_length, 0u);
  EXPECT_FALSE(m.chunked);
  EXPECT_FALSE(h.parser.in_message());
}

TEST(RequestParserFraming, ContentLengthBody) {
  Harness h;
  ParseResult r =
      h.feed("POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
  EXPECT_EQ(r.status, ParseStatus::kOk);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  const Message& m = h.rec.messages[0];
  EXPECT_TRUE(m.has_body);
  EXPECT_TRUE(m.has_content_length);
  EXPECT_EQ(m.content_length, 11u);
  EXPECT_FALSE(m.chunked);
  EXPECT_EQ(m.body, "hello world");
  EXPECT_TRUE(m.complete);
}

TEST(RequestParserFraming, ContentLengthZeroHasNoBody) {
  Harness h;
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").status,
            ParseStatus::kOk);
  EXPECT_EQ(h.rec.log, "HC");
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_TRUE(h.rec.messages[0].has_content_length);
  EXPECT_EQ(h.rec.messages[0].content_length, 0u);
  EXPECT_FALSE(h.rec.messages[0].has_body);
}

TEST(RequestParserFraming, ContentLengthWithLeadingZerosIsAccepted) {
  Message m = ParseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\nabcdefg");
  EXPECT_EQ(m.content_length, 7u);
  EXPECT_EQ(m.body, "abcdefg");
}

TEST(RequestParserFraming, BodyArrivingInPiecesIsDeliveredInOrder) {
  Harness h;
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab").status,
            ParseStatus::kOk);
  EXPECT_TRUE(h.parser.in_message());
  EXPECT_FALSE(h.parser.in_head());
  EXPECT_EQ(h.feed("cdef").status, ParseStatus::kOk);
  EXPECT_EQ(h.rec.completes, 0);
  EXPECT_EQ(h.feed("ghij").status, ParseStatus::kOk);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].body, "abcdefghij");
  EXPECT_EQ(h.rec.completes, 1);
  EXPECT_FALSE(h.parser.in_message());
}

TEST(RequestParserFraming, ChunkedBodyIsDechunked) {
  Message m = ParseOne(
      "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\n"
      "5\r\nde\r\nf\r\n"
      "A\r\n0123456789\r\n"
      "0\r\n\r\n");
  EXPECT_TRUE(m.chunked);
  EXPECT_TRUE(m.has_body);
  EXPECT_FALSE(m.has_content_length);
  EXPECT_EQ(m.body, "abcde\r\nf0123456789");
}

TEST(RequestParserFraming, TransferEncodingVariantsAreRecognisedAsChunked) {
  for (std::string_view te :
       {"Transfer-Encoding: chunked\r\n"sv, "Transfer-Encoding: CHUNKED\r\n"sv,
        "Transfer-Encoding: chunked \r\n"sv, "Transfer-Encoding:\tchunked\r\n"sv,
        "transfer-encoding: Chunked\r\n"sv}) {
    SCOPED_TRACE(Escape(te));
    std::string req =
        "POST / HTTP/1.1\r\nHost: h\r\n"s + std::string(te) + "\r\n4\r\nwxyz\r\n0\r\n\r\n";
    Message m = ParseOne(req);
    EXPECT_TRUE(m.chunked);
    EXPECT_EQ(m.body, "wxyz");
  }
}

TEST(RequestParserFraming, ExpectContinueIsReportedOnHttp11) {
  Harness h;
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                   "Content-Length: 5\r\n\r\n")
                .status,
            ParseStatus::kOk);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_TRUE(h.rec.messages[0].expect_continue);
  EXPECT_EQ(h.rec.completes, 0);
  EXPECT_EQ(h.feed("hello").status, ParseStatus::kOk);
  EXPECT_EQ(h.rec.messages[0].body, "hello");
  EXPECT_EQ(h.rec.completes, 1);

  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").expect_continue);
}

TEST(RequestParserFraming, ExpectContinueIsIgnoredOnHttp10) {
  EXPECT_FALSE(ParseOne("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
                   .expect_continue);
}

// --- WebSocket upgrade requests -----------------------------------------------------------

constexpr std::string_view kUpgrade =
    "GET /ws HTTP/1.1\r\n"
    "Host: h\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

TEST(RequestParserUpgrade, WebSocketUpgradeIsDetected) {
  Message m = ParseOne(kUpgrade);
  EXPECT_TRUE(m.websocket_upgrade);
  EXPECT_FALSE(m.has_body);
  EXPECT_EQ(m.path, "/ws");
}

TEST(RequestParserUpgrade, UpgradeTokensAreCaseInsensitive) {
  Message m = ParseOne(
      "GET /ws HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\nconnection: UPGRADE\r\n"
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_TRUE(m.websocket_upgrade);
}

TEST(RequestParserUpgrade, UpgradeWithoutKeyIsNotWebSocket) {
  Message m =
      ParseOne("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  EXPECT_FALSE(m.websocket_upgrade);
}

TEST(RequestParserUpgrade, UpgradeWithoutConnectionUpgradeIsNotWebSocket) {
  Message m = ParseOne(
      "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  EXPECT_FALSE(m.websocket_upgrade);
}

TEST(RequestParserUpgrade, PlainGetIsNotWebSocket) {
  EXPECT_FALSE(ParseOne("GET / HTTP/1.1\r\nHost: h\r\n\r\n").websocket_upgrade);
}

TEST(RequestParserUpgrade, UpgradeRequestIsAnOrdinaryMessageForTheParser) {
  Harness h;
  ParseResult r = h.feed(kUpgrade);
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, kUpgrade.size());
  EXPECT_EQ(h.rec.log, "HC");
  EXPECT_FALSE(h.parser.in_message());
}

TEST(RequestParserUpgrade, PauseAfterUpgradeRequestLeavesFollowingBytesUnconsumed) {
  Harness h;
  h.rec.pause_at_complete = true;
  std::string bytes = std::string(kUpgrade) + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  ParseResult r = h.feed(bytes);
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, kUpgrade.size());
  EXPECT_EQ(h.rec.log, "HC");
}

TEST(RequestParserUpgrade, RequestAfterADeclinedUpgradeIsParsed) {
  Harness h;
  h.rec.renew_in_callback = true;
  std::string second = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  ParseResult r = h.feed(std::string(kUpgrade) + second);
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, kUpgrade.size() + second.size());
  EXPECT_EQ(h.rec.log, "HCHC");
  ASSERT_EQ(h.rec.messages.size(), 2u);
  EXPECT_EQ(h.rec.messages[1].path, "/next");
}

// --- pausing and state ----------------------------------------------------------------------

TEST(RequestParserPause, PauseAtMessageEndStopsAfterTheFirstPipelinedRequest) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  Harness h;
  h.rec.pause_at_complete = true;
  ParseResult r = h.feed(first + second);
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, first.size());
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].path, "/a");
  EXPECT_FALSE(h.parser.in_message());

  h.parser.resume();
  h.rec.renew_head();
  r = h.feed(second);
  EXPECT_EQ(r.status, ParseStatus::kPaused);  // the handler pauses at every message end
  EXPECT_EQ(r.consumed, second.size());
  ASSERT_EQ(h.rec.messages.size(), 2u);
  EXPECT_EQ(h.rec.messages[1].path, "/b");
  EXPECT_EQ(h.rec.log, "HCHC");
}

TEST(RequestParserPause, PauseAtMessageEndCoversTheBody) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  Harness h;
  h.rec.pause_at_complete = true;
  ParseResult r = h.feed(first + second);
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, first.size());
  h.parser.resume();
  h.rec.renew_head();
  h.rec.pause_at_complete = false;
  r = h.feed(second);
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, second.size());
  ASSERT_EQ(h.rec.messages.size(), 2u);
  EXPECT_EQ(h.rec.messages[0].body, "xyz");
  EXPECT_EQ(h.rec.messages[1].method, "GET");
  EXPECT_EQ(h.rec.messages[1].body, "");
}

TEST(RequestParserPause, PauseAtHeadStopsBeforeTheBody) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  Harness h;
  h.rec.pause_at_head = true;
  ParseResult r = h.feed(head + "hello");
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(h.rec.log, "H");
  EXPECT_TRUE(h.parser.in_message());
  EXPECT_FALSE(h.parser.in_head());

  h.parser.resume();
  r = h.feed("hello");
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, 5u);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].body, "hello");
  EXPECT_EQ(h.rec.completes, 1);
}

TEST(RequestParserPause, PauseInBodyThenTheNextRequestFollows) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  const std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  Harness h;
  h.rec.pause_on_body = true;
  ParseResult r = h.feed(first + second);
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(h.rec.log, "HB");

  h.parser.resume();
  h.rec.pause_on_body = false;
  h.rec.renew_in_callback = true;
  r = h.feed(std::string_view(first + second).substr(first.size()));
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(h.rec.log, "HBCHC");
  ASSERT_EQ(h.rec.messages.size(), 2u);
  EXPECT_EQ(h.rec.messages[0].body, "hello");
  EXPECT_EQ(h.rec.messages[1].path, "/b");
}

TEST(RequestParserPause, PauseOnTheLastBodyPieceCompletesOnAnEmptyFeed) {
  const std::string request = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  Harness h;
  h.rec.pause_on_body = true;
  ParseResult r = h.feed(request);
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, request.size());
  EXPECT_EQ(h.rec.log, "HB");
  EXPECT_TRUE(h.parser.in_message());

  h.parser.resume();
  h.rec.pause_on_body = false;
  EXPECT_TRUE(h.parser.wants_feed());
  r = h.feed("");
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(h.rec.log, "HBC");
  EXPECT_FALSE(h.parser.in_message());
}

TEST(RequestParserPause, AnEmptyViewWithoutDataAfterAPauseKeepsTheBodyIntact) {
  // A view with a null data pointer once made llhttp lose the open body span, so the next
  // body piece came out with a null start and a huge length.
  Harness h;
  h.rec.pause_on_body = true;
  ParseResult r = h.feed("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhel");
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  h.parser.resume();
  h.rec.pause_on_body = false;
  r = h.parser.feed(std::string_view(), h.rec);
  EXPECT_EQ(r.status, ParseStatus::kOk);
  r = h.feed("lo worl");
  EXPECT_EQ(r.status, ParseStatus::kOk);
  r = h.feed("d");
  EXPECT_EQ(r.status, ParseStatus::kOk) << h.parser.error_status() << h.parser.error_message();
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].body, "hello world");
}

TEST(RequestParserPause, FeedingWhilePausedConsumesNothing) {
  Harness h;
  h.rec.pause_on_body = true;
  ParseResult r = h.feed("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhel");
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  r = h.feed("lo");  // no resume() in between
  EXPECT_EQ(r.status, ParseStatus::kPaused);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(RequestParserPause, PipelinedRequestsParseInOneFeedWithoutPausing) {
  Harness h;
  h.rec.renew_in_callback = true;
  std::string bytes =
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
      "GET /3 HTTP/1.0\r\n\r\n";
  ParseResult r = h.feed(bytes);
  EXPECT_EQ(r.status, ParseStatus::kOk);
  EXPECT_EQ(r.consumed, bytes.size());
  ASSERT_EQ(h.rec.messages.size(), 3u);
  EXPECT_EQ(h.rec.messages[0].path, "/1");
  EXPECT_EQ(h.rec.messages[1].path, "/2");
  EXPECT_EQ(h.rec.messages[1].body, "ok");
  EXPECT_EQ(h.rec.messages[2].path, "/3");
  EXPECT_EQ(h.rec.messages[2].http_version, "1.0");
  // Each request's head holds only its own headers.
  EXPECT_EQ(h.rec.messages[2].headers, Pairs{});
}

TEST(RequestParserPause, InMessageAndInHeadFollowTheRequest) {
  Harness h;
  EXPECT_FALSE(h.parser.in_message());
  EXPECT_FALSE(h.parser.in_head());

  EXPECT_EQ(h.feed("GET / HT").status, ParseStatus::kOk);
  EXPECT_TRUE(h.parser.in_message());
  EXPECT_TRUE(h.parser.in_head());

  EXPECT_EQ(h.feed("TP/1.1\r\nHost: h\r\nContent-Length: 2\r\n").status, ParseStatus::kOk);
  EXPECT_TRUE(h.parser.in_head());
  EXPECT_EQ(h.rec.heads_seen, 0);

  EXPECT_EQ(h.feed("\r\n").status, ParseStatus::kOk);
  EXPECT_TRUE(h.parser.in_message());
  EXPECT_FALSE(h.parser.in_head());
  EXPECT_EQ(h.rec.heads_seen, 1);

  EXPECT_EQ(h.feed("ab").status, ParseStatus::kOk);
  EXPECT_FALSE(h.parser.in_message());
  EXPECT_FALSE(h.parser.in_head());
  EXPECT_EQ(h.rec.completes, 1);
}

// --- the head owns its bytes --------------------------------------------------------------

void ExpectOwnedHead(const RequestHead& head) {
  EXPECT_EQ(head.method(), "POST");
  EXPECT_EQ(head.target(), "/echo/%CE%BB?x=%20y");
  EXPECT_EQ(head.raw_path(), "/echo/%CE%BB");
  EXPECT_EQ(head.query_string(), "x=%20y");
  EXPECT_EQ(head.path(), "/echo/\xCE\xBB");
  EXPECT_TRUE(head.path_is_utf8());
  EXPECT_EQ(head.http_version(), "1.1");
  ASSERT_EQ(head.headers().size(), 4u);
  EXPECT_EQ(head.headers()[0].name, "host");
  EXPECT_EQ(head.headers()[0].value, "example.org");
  EXPECT_EQ(head.headers()[1].name, "x-long-header-name");
  EXPECT_EQ(head.headers()[1].value, std::string(300, 'v'));
  EXPECT_EQ(head.headers()[2].name, "cookie");
  EXPECT_EQ(head.headers()[2].value, "a=1; b=2");
  EXPECT_EQ(head.headers()[3].name, "content-length");
  EXPECT_EQ(head.headers()[3].value, "4");
  EXPECT_EQ(head.header("host"), "example.org");
  EXPECT_EQ(head.content_length(), 4u);
}

std::string OwnedRequest() {
  return "POST /echo/%CE%BB?x=%20y HTTP/1.1\r\n"
         "Host: example.org\r\n"
         "X-Long-Header-Name: " +
         std::string(300, 'v') +
         "\r\n"
         "Cookie: a=1\r\n"
         "Cookie: b=2\r\n"
         "Content-Length: 4\r\n"
         "\r\n"
         "body";
}

TEST(RequestParserHeadStorage, ViewsOutliveTheFedBytesWhenFedAtOnce) {
  Harness h;
  {
    std::string temp = OwnedRequest();
    ParseResult r = h.parser.feed(temp, h.rec);
    ASSERT_EQ(r.status, ParseStatus::kOk);
    temp.assign(temp.size(), 'X');
  }
  std::string other(OwnedRequest().size(), '?');  // likely reuses the freed memory
  ASSERT_EQ(h.rec.completes, 1);
  ExpectOwnedHead(h.rec.head(0));
}

TEST(RequestParserHeadStorage, ViewsOutliveTheFedBytesWhenFedInPieces) {
  for (size_t step : {1u, 2u, 7u, 64u}) {
    SCOPED_TRACE(step);
    Harness h;
    const std::string request = OwnedRequest();
    for (size_t off = 0; off < request.size(); off += step) {
      std::string temp = request.substr(off, step);
      ParseResult r = h.parser.feed(temp, h.rec);
      ASSERT_EQ(r.status, ParseStatus::kOk);
      temp.assign(temp.size(), 'X');
    }
    ASSERT_EQ(h.rec.completes, 1);
    ExpectOwnedHead(h.rec.head(0));
    EXPECT_EQ(h.rec.messages[0].body, "body");
  }
}

TEST(RequestParserHeadStorage, ClearedHeadCanBeReused) {
  Limits limits;
  RequestParser parser(limits);
  Recorder rec(parser);
  RequestHead head;
  parser.set_head(&head);
  ASSERT_EQ(FeedCopy(parser, rec, "GET /first?q=1 HTTP/1.1\r\nHost: one\r\nX-A: 1\r\n\r\n").status,
            ParseStatus::kOk);
  EXPECT_EQ(head.path(), "/first");
  head.clear();
  parser.set_head(&head);
  ASSERT_EQ(FeedCopy(parser, rec, "PUT /second HTTP/1.0\r\nContent-Length: 1\r\n\r\nz").status,
            ParseStatus::kOk);
  EXPECT_EQ(head.method(), "PUT");
  EXPECT_EQ(head.path(), "/second");
  EXPECT_EQ(head.query_string(), "");
  EXPECT_EQ(head.http_version(), "1.0");
  EXPECT_FALSE(head.keep_alive());
  ASSERT_EQ(head.headers().size(), 1u);
  EXPECT_EQ(head.headers()[0].name, "content-length");
  EXPECT_EQ(head.header("host"), "");
  EXPECT_EQ(head.header("x-a"), "");
  ASSERT_EQ(rec.messages.size(), 2u);
  EXPECT_EQ(rec.messages[1].body, "z");
}

// --- byte-split property ------------------------------------------------------------------

struct SplitCase {
  const char* name;
  std::string bytes;
};

class RequestParserByteSplit : public ::testing::TestWithParam<SplitCase> {
 protected:
  // Parses `pieces` with a parser that pauses at every message end; returns what it saw.
  static std::string Run(const std::vector<std::string>& pieces) {
    Harness h;
    h.rec.pause_at_complete = true;
    ParseStatus s = FeedPieces(h.parser, h.rec, pieces);
    std::string out = s == ParseStatus::kOk ? "ok"
                                            : "error " + std::to_string(h.parser.error_status()) +
                                                  " " + std::string(h.parser.error_message());
    out += " in_message=" + std::to_string(h.parser.in_message()) + "\n";
    return out + h.rec.describe();
  }
};

TEST_P(RequestParserByteSplit, WholeBufferParsesCleanly) {
  std::string whole = Run({GetParam().bytes});
  EXPECT_EQ(whole.rfind("ok in_message=0\n", 0), 0u) << whole;
  EXPECT_EQ(whole.find("complete=0"), std::string::npos) << whole;
}

TEST_P(RequestParserByteSplit, EverySplitPointGivesTheSameResult) {
  const std::string& bytes = GetParam().bytes;
  const std::string whole = Run({bytes});
  for (size_t i = 0; i <= bytes.size(); ++i) {
    ASSERT_EQ(Run({bytes.substr(0, i), bytes.substr(i)}), whole) << "split at " << i;
  }
}

TEST_P(RequestParserByteSplit, OneByteAtATimeGivesTheSameResult) {
  const std::string& bytes = GetParam().bytes;
  std::vector<std::string> pieces;
  for (char c : bytes) pieces.emplace_back(1, c);
  EXPECT_EQ(Run(pieces), Run({bytes}));
}

INSTANTIATE_TEST_SUITE_P(
    Requests, RequestParserByteSplit,
    ::testing::Values(SplitCase{"SimpleGet", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"},
                      SplitCase{"EncodedPathAndQuery",
                                "GET /echo/%CE%BB?x=%20y HTTP/1.1\r\nHost: h\r\nUser-Agent: t/1\r\n"
                                "Cookie: a=1\r\nAccept: */*\r\nCookie: b=2\r\n\r\n"},
                      SplitCase{"ContentLengthPost",
                                "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
                                "Content-Type: text/plain\r\n\r\nhello world"},
                      SplitCase{"ChunkedPostWithExtensions",
                                "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "3;ext=1\r\nabc\r\n5\r\nde\r\nf\r\n0\r\n\r\n"},
                      SplitCase{"TwoPipelinedRequests",
                                "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                                "POST /b?q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                                "Connection: close\r\n\r\nxyz"},
                      SplitCase{"Http10KeepAlive",
                                "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}),
    [](const ::testing::TestParamInfo<SplitCase>& info) { return std::string(info.param.name); });

// --- limits -----------------------------------------------------------------------------------

TEST(RequestParserLimits, LongRequestLineIs414) {
  std::string req = "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  ExpectHeadRejected(req, 414, "URI Too Long");
}

TEST(RequestParserLimits, LongRequestLineIs414BeforeAnyLineEnd) {
  ExpectHeadRejected("GET /" + std::string(8995, 'a'), 414, "URI Too Long");
}

TEST(RequestParserLimits, RequestLineAtTheLimitIsAcceptedOneMoreIs414) {
  Limits limits{.max_request_line = 32, .max_header_size = 1024};
  // "GET /" + 18 + " HTTP/1.1" = 32 bytes.
  std::string line = "GET /" + std::string(18, 'p') + " HTTP/1.1";
  ASSERT_EQ(line.size(), 32u);
  Message m = ParseOne(line + "\r\nHost: h\r\n\r\n", limits);
  EXPECT_EQ(m.path, "/" + std::string(18, 'p'));

  std::string longer = "GET /" + std::string(19, 'p') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  ExpectHeadRejected(longer, 414, "URI Too Long", limits);
}

TEST(RequestParserLimits, RequestLineOverTheLimitFailsOnTheFirstByteTooMany) {
  Limits limits{.max_request_line = 32, .max_header_size = 1024};
  Harness h(limits);
  std::string line = "GET /" + std::string(100, 'a');
  for (size_t i = 0; i < 32; ++i) {
    ASSERT_EQ(h.feed(line.substr(i, 1)).status, ParseStatus::kOk) << "byte " << i;
  }
  EXPECT_TRUE(h.parser.in_head());
  EXPECT_EQ(h.feed(line.substr(32, 1)).status, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), 414);
}

TEST(RequestParserLimits, LargeHeaderBlockIs431) {
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  ExpectHeadRejected(req, 431, "Request Header Fields Too Large");
}

TEST(RequestParserLimits, LargeHeaderBlockIs431WithoutTerminator) {
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(9000, 'a'), 431,
                     "Request Header Fields Too Large");
}

TEST(RequestParserLimits, HeaderSizeCountsTheWholeHead) {
  // Many small fields, each fine alone, under the count limit but over the size limit.
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 90; ++i)
    req += "X-Field-" + std::to_string(i) + ": " + std::string(90, 'v') + "\r\n";
  ExpectHeadRejected(req + "\r\n", 431);
  ExpectHeadRejected(req, 431);  // no terminator yet
}

TEST(RequestParserLimits, LargeHeaderBlockIs431WhenFedInPieces) {
  Harness h;
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(20000, 'a');
  ParseStatus last = ParseStatus::kOk;
  size_t off = 0;
  for (; off < req.size() && last == ParseStatus::kOk; off += 100) {
    last = h.feed(req.substr(off, 100)).status;
  }
  EXPECT_EQ(last, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), 431);
  EXPECT_LE(off, 8192u + 200u) << "the error must come once the limit is crossed";
}

TEST(RequestParserLimits, SmallCustomHeaderSize) {
  Limits limits{.max_header_size = 64};
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'a') + "\r\n\r\n", 431,
                     "Request Header Fields Too Large", limits);
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'a'), 431, {}, limits);
  ParseOne("GET / HTTP/1.1\r\nHost: h\r\nX: short\r\n\r\n", limits);
}

// The head's size decides 431, so it must be exact however the head ends: the parser learns
// it in the head-complete callback when the last value is followed by CRLF CRLF in the same
// read, and from a pause otherwise (no headers, an empty or space-padded last value, a read
// ending inside the terminator). A head of max_header_size + 4 bytes (its CRLF CRLF) is
// served, one byte more is 431, fed whole, split at every byte, and behind another request.
TEST(RequestParserLimits, HeadSizeIsExactHoweverTheHeadEnds) {
  Limits limits{.max_request_line = 1024, .max_header_size = 256};
  const size_t at_limit = limits.max_header_size + 4;
  // Each shape pads itself (the 'p's) to `size` bytes.
  std::vector<std::string (*)(size_t)> shapes = {
      [](size_t size) {  // value then CRLF CRLF
        std::string tail = "\r\nHost: h\r\n\r\n", head = "GET / HTTP/1.1\r\nX-Pad: ";
        return head + std::string(size - head.size() - tail.size(), 'p') + tail;
      },
      [](size_t size) {  // trailing spaces after the last value
        std::string tail = "\r\nHost: h  \r\n\r\n", head = "GET / HTTP/1.1\r\nX-Pad: ";
        return head + std::string(size - head.size() - tail.size(), 'p') + tail;
      },
      [](size_t size) {  // an empty last value
        std::string tail = "\r\nX-E:\r\n\r\n", head = "GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ";
        return head + std::string(size - head.size() - tail.size(), 'p') + tail;
      },
      [](size_t size) {  // no headers at all
        std::string tail = " HTTP/1.0\r\n\r\n", head = "GET /";
        return head + std::string(size - head.size() - tail.size(), 'p') + tail;
      },
  };
  const std::string next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  for (size_t shape = 0; shape < shapes.size(); ++shape) {
    for (size_t size : {at_limit, at_limit + 1}) {
      std::string req = shapes[shape](size);
      ASSERT_EQ(req.size(), size);
      SCOPED_TRACE("shape " + std::to_string(shape) + ": " + Escape(req));
      bool fits = size == at_limit;
      for (size_t split = 0; split < req.size(); ++split) {
        SCOPED_TRACE("split at " + std::to_string(split));
        RequestParser parser(limits);
        Recorder rec(parser);
        std::vector<std::string> pieces = {req.substr(0, split), req.substr(split)};
        ParseStatus st = FeedPieces(parser, rec, pieces);
        if (fits) {
          ASSERT_EQ(st, ParseStatus::kOk);
          ASSERT_EQ(rec.messages.size(), 1u);
          EXPECT_TRUE(rec.messages[0].complete);
        } else {
          ASSERT_EQ(st, ParseStatus::kError);
          EXPECT_EQ(parser.error_status(), 431);
          EXPECT_EQ(rec.heads_seen, 0);
        }
      }
      // Behind a request in the same read, and followed by one (not read after an HTTP/1.0
      // request without keep-alive: that one is the last).
      RequestParser parser(limits);
      Recorder rec(parser);
      ParseStatus st = FeedPieces(parser, rec, {next + req + next});
      bool last = req.find("HTTP/1.0") != std::string::npos;
      if (fits) {
        ASSERT_EQ(st, ParseStatus::kOk);
        ASSERT_EQ(rec.messages.size(), last ? 2u : 3u);
        EXPECT_EQ(rec.messages.back().target, last ? req.substr(4, req.find(' ', 4) - 4) : "/next");
      } else {
        ASSERT_EQ(st, ParseStatus::kError);
        EXPECT_EQ(parser.error_status(), 431);
        EXPECT_EQ(rec.heads_seen, 1);
      }
    }
  }
}

TEST(RequestParserLimits, HeaderCountAtTheLimitIsAcceptedOneMoreIs431) {
  Limits limits{.max_header_count = 3};
  Message m = ParseOne("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits);
  EXPECT_EQ(m.headers.size(), 3u);
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
                     "Request Header Fields Too Large", limits);
}

TEST(RequestParserLimits, DefaultHeaderCountIs100) {
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 1; i < 100; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(ParseOne(req + "\r\n").headers.size(), 100u);
  ExpectHeadRejected(req + "X-100: v\r\n\r\n", 431, "Request Header Fields Too Large");
}

TEST(RequestParserLimits, ContentLengthOverMaxBodySizeIs413BeforeTheHead) {
  Limits limits{.max_body_size = 10};
  Message ok =
      ParseOne("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", limits);
  EXPECT_EQ(ok.body, "0123456789");
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413,
                     "Payload Too Large", limits);
}

TEST(RequestParserLimits, DefaultMaxBodySizeIsTenMillion) {
  Harness h;
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000\r\n\r\n").status,
            ParseStatus::kOk);
  EXPECT_EQ(h.rec.heads_seen, 1);
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000001\r\n\r\n", 413,
                     "Payload Too Large");
}

TEST(RequestParserLimits, MaxBodySizeZeroIsUnlimited) {
  Limits limits{.max_body_size = 0};
  Harness h(limits);
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\nabc").status,
            ParseStatus::kOk);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].content_length, 100000000u);
  EXPECT_EQ(h.rec.messages[0].body, "abc");

  Message chunked = ParseOne(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n",
      limits);
  EXPECT_EQ(chunked.body, "abcdefgh");
}

TEST(RequestParserLimits, ContentLengthAbove2To31Is413) {
  Limits limits{.max_body_size = 0};
  Harness h(limits);
  EXPECT_EQ(h.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2147483647\r\n\r\n").status,
            ParseStatus::kOk);
  EXPECT_EQ(h.rec.heads_seen, 1);
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2147483648\r\n\r\n", 413, {},
                     limits);
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12345678901\r\n\r\n", 413, {},
                     limits);
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, {},
      limits);
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12345678901\r\n\r\n", 413);
}

TEST(RequestParserLimits, ChunkedBodyOverMaxBodySizeIs413) {
  Limits limits{.max_body_size = 10};
  Message ok = ParseOne(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n",
      limits);
  EXPECT_EQ(ok.body, "abcdefghij");
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
      413, {}, limits);
}

TEST(RequestParserLimits, ChunkOverMaxChunkSizeIs413ChunkTooLarge) {
  Limits limits{.max_body_size = 0, .max_chunk_size = 16};
  Message ok = ParseOne(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10\r\n0123456789abcdef\r\n0\r\n\r\n",
      limits);
  EXPECT_EQ(ok.body, "0123456789abcdef");
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "11\r\n0123456789abcdefg\r\n0\r\n\r\n",
      413, "Chunk Too Large", limits);
}

TEST(RequestParserLimits, ChunkOverTheDefaultMaxChunkSizeIs413) {
  // 10 MiB + 1, announced but never sent: the size line alone decides.
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nA00001\r\n", 413);
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000\r\n",
                 413);
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000\r\n",
                 413, "Chunk Too Large", Limits{.max_body_size = 0});
}

// --- malformed requests: 400 --------------------------------------------------------------

TEST(RequestParserBadRequest, Http11WithoutHostIs400) {
  ExpectHeadRejected("GET / HTTP/1.1\r\n\r\n", 400, "Bad Request");
  ExpectHeadRejected("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, Http10WithoutHostIsAccepted) {
  Message m = ParseOne("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(m.host, "");
  EXPECT_EQ(m.http_version, "1.0");
}

TEST(RequestParserBadRequest, MissingVersionIs400) {
  ExpectHeadRejected("GET /\r\nHost: h\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, MissingPathIs400) {
  ExpectHeadRejected("GET HTTP/1.1\r\nHost: h\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, UnknownVersionIs400) {
  ExpectHeadRejected("GET / HTTP/9.9\r\nHost: h\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, HeaderWithoutColonIs400) {
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, EmptyHeaderNameIs400) {
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\n: value\r\n\r\n", 400, "Bad Request");
}

TEST(RequestParserBadRequest, ControlCharacterInHeaderNameIs400) {
  ExpectHeadRejected(
      "GET / HTTP/1.1\r\nHost: h\r\nX-\x01"
      "Bad: v\r\n\r\n",
      400, "Bad Request");
}

TEST(RequestParserBadRequest, NulInHeaderValueIs400) {
  ExpectHeadRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n"sv, 400, "Bad Request");
}

TEST(RequestParserBadRequest, NulInPathIs400) {
  ExpectHeadRejected("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"sv, 400, "Bad Request");
}

TEST(RequestParserBadRequest, GarbageBytesAre400) {
  ExpectHeadRejected("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"sv, 400, "Bad Request");
  ExpectHeadRejected("\xff\xfe\xfd\x00\x01\x02\r\n\r\n"sv, 400, "Bad Request");
}

TEST(RequestParserBadRequest, ContentLengthMustBeDigitsOnly) {
  for (std::string_view cl : {"-1"sv, "abc"sv, "+5"sv, "5, 5"sv, "5 5"sv, "0x5"sv, ""sv}) {
    ExpectHeadRejected(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: "s + std::string(cl) + "\r\n\r\nhello", 400,
        "Bad Request");
  }
}

TEST(RequestParserBadRequest, TwoContentLengthHeadersAre400) {
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400,
      "Bad Request");
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400,
      "Bad Request");
}

TEST(RequestParserBadRequest, TransferEncodingWithContentLengthIs400) {
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      400, "Transfer-Encoding and Content-Length are mutually exclusive");
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      400, "Transfer-Encoding and Content-Length are mutually exclusive");
}

TEST(RequestParserBadRequest, ChunkedNotLastIs400) {
  ExpectHeadRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n",
      400, "chunked must be the final Transfer-Encoding");
}

TEST(RequestParserBadRequest, InvalidChunkSizeIs400) {
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      400, "Invalid chunk size");
}

TEST(RequestParserBadRequest, EmptyChunkSizeLineIs400) {
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400,
      "Invalid chunk size");
}

// --- not implemented: 501 -----------------------------------------------------------------

TEST(RequestParserNotImplemented, TransferEncodingWithoutChunkedIs501) {
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nhello", 501,
                     "Unsupported Transfer-Encoding");
  ExpectHeadRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\nhello", 501,
                     "Unsupported Transfer-Encoding");
}

TEST(RequestParserNotImplemented, ConnectIs501) {
  ExpectHeadRejected("CONNECT host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n", 501);
}

// --- after an error -------------------------------------------------------------------------

TEST(RequestParserError, ParserStaysDeadAfterAnError) {
  Harness h;
  EXPECT_EQ(h.feed("GET / HTTP/1.1\r\nNoColon\r\n\r\n").status, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), 400);
  h.rec.renew_head();
  EXPECT_EQ(h.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, ParseStatus::kError);
  EXPECT_EQ(h.feed("x").status, ParseStatus::kError);
  EXPECT_EQ(h.rec.heads_seen, 0);
  EXPECT_EQ(h.parser.error_status(), 400);
}

TEST(RequestParserError, ErrorInSecondPipelinedRequestKeepsTheFirst) {
  Harness h;
  h.rec.renew_in_callback = true;
  ParseResult r = h.feed("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET /bad HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(h.parser.error_status(), 400);
  ASSERT_EQ(h.rec.messages.size(), 1u);
  EXPECT_EQ(h.rec.messages[0].path, "/ok");
  EXPECT_EQ(h.rec.completes, 1);
}

// --- the fast path for plain heads, held to llhttp's results ------------------------------------

// Everything one run of a parser decides, as text: the events, each message as the handler saw
// it, and how the run ended. `split` cuts the bytes into two reads (0: one read).
struct Run {
  std::string outcome;
  uint64_t fast_heads = 0;
};

Run RunParser(std::string_view bytes, bool fast, const Limits& limits = Limits{}, size_t split = 0,
              bool pause_at_head = false, bool pause_at_complete = false) {
  RequestParser parser(limits);
  if (!fast) parser.disable_fast_path();
  Recorder rec(parser);
  rec.pause_at_head = pause_at_head;
  rec.pause_at_complete = pause_at_complete;
  std::vector<std::string> pieces;
  if (split == 0 || split >= bytes.size()) {
    pieces.emplace_back(bytes);
  } else {
    pieces.emplace_back(bytes.substr(0, split));
    pieces.emplace_back(bytes.substr(split));
  }
  ParseStatus status = FeedPieces(parser, rec, pieces);
  Run run;
  run.outcome = rec.describe() + "status=" + std::to_string(int(status)) +
                " error=" + std::to_string(parser.error_status()) + " " +
                std::string(parser.error_message()) +
                " in_message=" + std::to_string(parser.in_message()) +
                " in_head=" + std::to_string(parser.in_head()) + "\n";
  run.fast_heads = parser.fast_heads();
  return run;
}

void ExpectSameAsLlhttp(std::string_view bytes, const Limits& limits = Limits{}, size_t split = 0,
                        bool pause_at_head = false, bool pause_at_complete = false) {
  Run fast = RunParser(bytes, true, limits, split, pause_at_head, pause_at_complete);
  Run slow = RunParser(bytes, false, limits, split, pause_at_head, pause_at_complete);
  ASSERT_EQ(slow.fast_heads, 0u);
  ASSERT_EQ(fast.outcome, slow.outcome)
      << "for " << Escape(bytes) << " split at " << split << " pauses " << pause_at_head
      << pause_at_complete;
}

// Requests near the fast path's edges: plain heads it takes, and ones it must leave to llhttp.
const std::vector<std::string>& DifferentialRequests() {
  static const std::vector<std::string> requests = {
      "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
      "GET /a/b%20c;p?x=1&y=%41 HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
      "HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\ncookie: b=2\r\nX-Empty:\r\nX-Pad: \t v \r\n\r\n",
      "DELETE /r HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\nExpect: 100-continue\r\n\r\n",
      "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
      "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "OPTIONS /o HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: x\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: h\r\n\r\n",
      // Pipelined: plain, then not, then plain again; and a closing request with one after it.
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n"
      "xPATCH /3 HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  return requests;
}

TEST(RequestParserFastPath, TakesPlainHeadsAndLeavesTheRestToLlhttp) {
  EXPECT_EQ(RunParser("GET / HTTP/1.1\r\nHost: h\r\n\r\n", true).fast_heads, 1u);
  EXPECT_EQ(RunParser("HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n", true)
                .fast_heads,
            1u);
  EXPECT_EQ(RunParser("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", true).fast_heads,
            0u);
  EXPECT_EQ(RunParser("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", true).fast_heads,
            0u);
  EXPECT_EQ(RunParser("GET / HTTP/1.1\r\nHost: h\r\n", true).fast_heads, 0u);  // not whole
  // Three pipelined requests, the middle one with a body: llhttp, once it has a message, parses
  // the rest of the read.
  EXPECT_EQ(RunParser(DifferentialRequests()[10], true).fast_heads, 1u);
}

TEST(RequestParserFastPath, EveryByteAtEveryPositionGivesLlhttpsResult) {
  for (const std::string& base : DifferentialRequests()) {
    for (size_t i = 0; i < base.size(); ++i) {
      std::string mutated = base;
      for (int b = 0; b < 256; ++b) {
        mutated[i] = char(b);
        ExpectSameAsLlhttp(mutated);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(RequestParserFastPath, DroppedAndInsertedBytesGiveLlhttpsResult) {
  for (const std::string& base : DifferentialRequests()) {
    for (size_t i = 0; i <= base.size(); ++i) {
      if (i < base.size()) {
        std::string dropped = base;
        dropped.erase(i, 1);
        ExpectSameAsLlhttp(dropped);
      }
      for (char c : {' ', '\t', '\r', '\n', ':', '/', '?', '#', 'A', '\x80', '\0'}) {
        std::string inserted = base;
        inserted.insert(i, 1, c);
        ExpectSameAsLlhttp(inserted);
      }
      ExpectSameAsLlhttp(std::string_view(base).substr(0, i));  // the first i bytes only
      if (HasFatalFailure()) return;
    }
  }
}

TEST(RequestParserFastPath, SplitReadsAndPausesGiveLlhttpsResult) {
  for (const std::string& base : DifferentialRequests()) {
    for (size_t split = 0; split < base.size(); ++split) {
      for (int pauses = 0; pauses < 4; ++pauses) {
        ExpectSameAsLlhttp(base, Limits{}, split, (pauses & 1) != 0, (pauses & 2) != 0);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(RequestParserFastPath, LimitsGiveLlhttpsResult) {
  // Limits small enough that the requests above hit each of them somewhere.
  for (const Limits& limits : {Limits{24, 8192, 100}, Limits{8192, 40, 100}, Limits{8192, 8192, 1},
                               Limits{8192, 8192, 2}, Limits{20, 30, 2}}) {
    for (const std::string& base : DifferentialRequests()) {
      for (size_t i = 0; i <= base.size(); ++i) {
        ExpectSameAsLlhttp(base, limits, i);
        std::string longer = base;
        longer.insert(i, 7, 'a');
        ExpectSameAsLlhttp(longer, limits);
        if (HasFatalFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace pagi::http
