// SSE framing: the reference's exact event bytes, data split on LF / CRLF / CR / mixed
// line breaks, comments and keepalives, CR/LF refused in event and id, sizes computed ahead.
#include "http/sse_writer.h"

#include <string>

#include <gtest/gtest.h>

namespace pagi::http::sse {
namespace {

Event E(std::string_view data, std::string_view event = {}, std::string_view id = {},
        int64_t retry = -1) {
  Event e;
  e.data = data;
  e.event = event;
  e.id = id;
  e.retry = retry;
  return e;
}

std::string ev(const Event& e) {
  std::string s;
  write_event(s, e);
  EXPECT_EQ(event_size(e), s.size());
  return s;
}

TEST(SseWriter, DataOnly) {
  EXPECT_EQ(ev(E("hello")), "data: hello\n\n");
}

TEST(SseWriter, AllFieldsInReferenceOrder) {
  EXPECT_EQ(ev(E("payload", "update", "42", 3000)),
            "event: update\ndata: payload\nid: 42\nretry: 3000\n\n");
  EXPECT_EQ(ev(E("x", "", "", 0)), "data: x\nretry: 0\n\n");
}

TEST(SseWriter, DataSplitOnLf) {
  EXPECT_EQ(ev(E("a\nb\nc")), "data: a\ndata: b\ndata: c\n\n");
}

TEST(SseWriter, DataSplitOnCrlf) {
  EXPECT_EQ(ev(E("a\r\nb\r\nc")), "data: a\ndata: b\ndata: c\n\n");
}

TEST(SseWriter, DataSplitOnCr) {
  EXPECT_EQ(ev(E("a\rb\rc")), "data: a\ndata: b\ndata: c\n\n");
}

TEST(SseWriter, DataSplitOnMixedBreaks) {
  EXPECT_EQ(ev(E("a\r\nb\nc\rd\n\re")), "data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\n\n");
  EXPECT_EQ(ev(E("a\r\r\nb")), "data: a\ndata: \ndata: b\n\n");
}

TEST(SseWriter, EmptyLinesInsideAndAtTheStartAreKept) {
  EXPECT_EQ(ev(E("a\n\nb")), "data: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(ev(E("\nb")), "data: \ndata: b\n\n");
}

TEST(SseWriter, TrailingBreaksKeepTheirEmptyLinesLikeTheReference) {
  // The reference splits with `split /\r?\n|\r/, $data, -1`: trailing empty fields stay.
  EXPECT_EQ(ev(E("a\n")), "data: a\ndata: \n\n");
  EXPECT_EQ(ev(E("a\r\n\r\n")), "data: a\ndata: \ndata: \n\n");
  EXPECT_EQ(ev(E("\n")), "data: \ndata: \n\n");
}

TEST(SseWriter, EmptyDataWritesNoDataLine) {
  EXPECT_EQ(ev(E("")), "\n");
  EXPECT_EQ(ev(E("", "ping")), "event: ping\n\n");
}

TEST(SseWriter, CrOrLfInEventOrIdIsRefused) {
  EXPECT_EQ(check_event(E("a\nb", "e", "1")), nullptr);
  EXPECT_STREQ(check_event(E("x", "a\nb")), "SSE event field must not contain CR or LF");
  EXPECT_STREQ(check_event(E("x", "a\rb")), "SSE event field must not contain CR or LF");
  EXPECT_STREQ(check_event(E("x", "", "1\r\ndata: injected")),
               "SSE id field must not contain CR or LF");
  EXPECT_STREQ(check_event(E("x", "", "\n")), "SSE id field must not contain CR or LF");
}

std::string comment(std::string_view c) {
  std::string s;
  write_comment(s, c);
  EXPECT_EQ(comment_size(c), s.size());
  return s;
}

std::string keepalive(std::string_view c) {
  std::string s;
  write_keepalive(s, c);
  EXPECT_EQ(keepalive_size(c), s.size());
  return s;
}

TEST(SseWriter, CommentLinesArePrefixedUnlessAlready) {
  EXPECT_EQ(comment("keepalive"), ":keepalive\n\n");
  EXPECT_EQ(comment(":already"), ":already\n\n");
  EXPECT_EQ(comment("one\ntwo\r\n:three\rfour"), ":one\n:two\n:three\n:four\n\n");
  EXPECT_EQ(comment(""), "\n");  // the reference writes just the blank line
  EXPECT_EQ(comment("a\n\nb"), ":a\n:\n:b\n\n");
}

TEST(SseWriter, KeepaliveComment) {
  EXPECT_EQ(keepalive(""), ":\n\n");
  EXPECT_EQ(keepalive("ping"), ":ping\n\n");
  EXPECT_EQ(keepalive(":x"), ":x\n\n");
  EXPECT_EQ(keepalive("a\ndata: injected"), ":a\n:data: injected\n\n");
}

TEST(SseWriter, OutputQueueGetsTheSameBytes) {
  BlockPool pool;
  OutputQueue q(&pool);
  Event e = E("multi\r\nline", "e", "7", 10);
  std::string s;
  write_event(q, e);
  write_event(s, e);
  write_comment(q, "c");
  write_comment(s, "c");
  write_keepalive(q, "");
  write_keepalive(s, "");
  std::string got;
  iovec iov[8];
  int n = q.gather(iov, 8, q.size());
  for (int i = 0; i < n; ++i) got.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  EXPECT_EQ(got, s);
  EXPECT_EQ(s, "event: e\ndata: multi\ndata: line\nid: 7\nretry: 10\n\n:c\n\n:\n\n");
}

TEST(SseWriter, LargeRetryAndLongData) {
  std::string data(100000, 'd');
  EXPECT_EQ(ev(E(data, "", "", 9223372036854775807)),
            "data: " + data + "\nretry: 9223372036854775807\n\n");
}

}  // namespace
}  // namespace pagi::http::sse
