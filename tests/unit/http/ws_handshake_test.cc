// WebSocket opening handshake: detection, request checks (400 / 426), Sec-WebSocket-Accept,
// subprotocol lists, permessage-deflate offers with RFC 7692 parameter rules, and the exact
// bytes of the 101 response.
#include "http/ws_handshake.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pagi::http::ws {
namespace {

std::string str(OutputQueue& q) {
  std::string s;
  iovec iov[16];
  int n = q.gather(iov, 16, q.size());
  for (int i = 0; i < n; ++i) s.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  return s;
}

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";

TEST(WsHandshake, AcceptKeyOfTheRfc6455Example) {
  EXPECT_EQ(compute_accept(kKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, DetectsUpgradeLikeTheReference) {
  Header ok[] = {{"host", "x"},
                 {"upgrade", "WebSocket"},
                 {"connection", "keep-alive, Upgrade"},
                 {"sec-websocket-key", kKey}};
  EXPECT_TRUE(is_upgrade_request(ok));
  Header no_key[] = {{"upgrade", "websocket"}, {"connection", "upgrade"}};
  EXPECT_FALSE(is_upgrade_request(no_key));
  Header h2c[] = {{"upgrade", "h2c"}, {"connection", "upgrade"}, {"sec-websocket-key", kKey}};
  EXPECT_FALSE(is_upgrade_request(h2c));
  Header no_token[] = {
      {"upgrade", "websocket"}, {"connection", "keep-alive"}, {"sec-websocket-key", kKey}};
  EXPECT_FALSE(is_upgrade_request(no_token));
  Header upgrader[] = {
      {"upgrade", "websocket"}, {"connection", "upgraded"}, {"sec-websocket-key", kKey}};
  EXPECT_FALSE(is_upgrade_request(upgrader));
}

TEST(WsHandshake, ValidRequestPasses) {
  Header h[] = {{"upgrade", "websocket"},
                {"connection", "Upgrade"},
                {"sec-websocket-key", kKey},
                {"sec-websocket-version", "13"}};
  UpgradeCheck c = check_upgrade("GET", 1, h);
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.key, kKey);
}

TEST(WsHandshake, BadRequestsGet400) {
  Header good[] = {{"sec-websocket-key", kKey}, {"sec-websocket-version", "13"}};
  EXPECT_EQ(check_upgrade("POST", 1, good).status, 400);
  EXPECT_STREQ(check_upgrade("POST", 1, good).message, "WebSocket upgrade requires GET");
  EXPECT_EQ(check_upgrade("GET", 0, good).status, 400);
  Header short_key[] = {{"sec-websocket-key", "dGhlIHNhbXBsZSBub25j"},
                        {"sec-websocket-version", "13"}};  // 15 bytes
  EXPECT_EQ(check_upgrade("GET", 1, short_key).status, 400);
  EXPECT_STREQ(check_upgrade("GET", 1, short_key).message, "Invalid Sec-WebSocket-Key");
  Header not_base64[] = {{"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ!!"},
                         {"sec-websocket-version", "13"}};
  EXPECT_EQ(check_upgrade("GET", 1, not_base64).status, 400);
  Header two_keys[] = {
      {"sec-websocket-key", kKey}, {"sec-websocket-key", kKey}, {"sec-websocket-version", "13"}};
  EXPECT_EQ(check_upgrade("GET", 1, two_keys).status, 400);
  Header no_key[] = {{"sec-websocket-version", "13"}};
  EXPECT_EQ(check_upgrade("GET", 1, no_key).status, 400);
}

TEST(WsHandshake, OtherVersionsGet426) {
  Header v8[] = {{"sec-websocket-key", kKey}, {"sec-websocket-version", "8"}};
  UpgradeCheck c = check_upgrade("GET", 1, v8);
  EXPECT_EQ(c.status, 426);
  EXPECT_STREQ(c.message, "Unsupported WebSocket version");
  Header none[] = {{"sec-websocket-key", kKey}};
  EXPECT_EQ(check_upgrade("GET", 1, none).status, 426);
  EXPECT_EQ(kVersionHeader.name, "Sec-WebSocket-Version");
  EXPECT_EQ(kVersionHeader.value, "13");
}

TEST(WsHandshake, SubprotocolsFromEveryHeaderSplitAndTrimmed) {
  Header h[] = {{"sec-websocket-protocol", "chat, superchat"},
                {"host", "x"},
                {"sec-websocket-protocol", " v2.json ,, graphql-ws "}};
  std::vector<std::string_view> out;
  parse_subprotocols(h, out);
  EXPECT_EQ(out, (std::vector<std::string_view>{"chat", "superchat", "v2.json", "graphql-ws"}));
  std::vector<std::string_view> none;
  parse_subprotocols(std::span<const Header>(), none);
  EXPECT_TRUE(none.empty());
}

DeflateParams negotiate(std::string_view offers, bool* found = nullptr) {
  Header h[] = {{"sec-websocket-extensions", offers}};
  DeflateParams p;
  bool ok = negotiate_deflate(h, p);
  if (found != nullptr) *found = ok;
  return p;
}

std::string response_for(std::string_view offers) {
  bool found = false;
  DeflateParams p = negotiate(offers, &found);
  if (!found) return "(declined)";
  std::string s;
  extension_response(p, s);
  return s;
}

TEST(WsHandshake, PlainDeflateOffer) {
  EXPECT_EQ(response_for("permessage-deflate"), "permessage-deflate");
  DeflateParams p = negotiate("permessage-deflate");
  EXPECT_FALSE(p.server_no_context_takeover);
  EXPECT_FALSE(p.client_no_context_takeover);
  EXPECT_EQ(p.server_max_window_bits, 15);
  EXPECT_EQ(p.client_max_window_bits, 15);
}

TEST(WsHandshake, BrowserOfferWithClientMaxWindowBitsWithoutValue) {
  EXPECT_EQ(response_for("permessage-deflate; client_max_window_bits"), "permessage-deflate");
}

TEST(WsHandshake, ParametersAreHonouredAndEchoed) {
  EXPECT_EQ(response_for("permessage-deflate; server_no_context_takeover; "
                         "client_no_context_takeover; server_max_window_bits=10; "
                         "client_max_window_bits=12"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=12");
  DeflateParams p =
      negotiate("Permessage-Deflate; Server_No_Context_Takeover; server_max_window_bits=\"9\"");
  EXPECT_TRUE(p.server_no_context_takeover);
  EXPECT_EQ(p.server_max_window_bits, 9);
}

TEST(WsHandshake, InvalidOffersAreDeclined) {
  const char* invalid[] = {
      "permessage-deflate; server_max_window_bits",  // value required
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=08",  // no leading zeros
      "permessage-deflate; client_max_window_bits=abc",
      "permessage-deflate; client_max_window_bits=+9",
      "permessage-deflate; server_no_context_takeover=1",  // flags take no value
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
      "permessage-deflate; unknown_param",
      "x-webkit-deflate-frame",
      "",
  };
  for (const char* offer : invalid) EXPECT_EQ(response_for(offer), "(declined)") << offer;
}

TEST(WsHandshake, FirstAcceptableOfferWinsAcrossListsAndHeaders) {
  EXPECT_EQ(response_for("permessage-deflate; server_max_window_bits=20, "
                         "permessage-deflate; client_no_context_takeover, permessage-deflate"),
            "permessage-deflate; client_no_context_takeover");
  EXPECT_EQ(response_for("foo, permessage-deflate; server_max_window_bits=8"),
            "permessage-deflate; server_max_window_bits=8");
  Header h[] = {{"sec-websocket-extensions", "foo; bar=1"},
                {"sec-websocket-extensions", "permessage-deflate; server_no_context_takeover"}};
  DeflateParams p;
  ASSERT_TRUE(negotiate_deflate(h, p));
  EXPECT_TRUE(p.server_no_context_takeover);
}

TEST(WsHandshake, SubprotocolSyntax) {
  EXPECT_TRUE(is_valid_subprotocol("chat"));
  EXPECT_TRUE(is_valid_subprotocol("v2.json-rpc_1"));
  EXPECT_FALSE(is_valid_subprotocol(""));
  EXPECT_FALSE(is_valid_subprotocol("a b"));
  EXPECT_FALSE(is_valid_subprotocol("chat\r\nX-Evil: 1"));
  EXPECT_FALSE(is_valid_subprotocol("chat\n"));
  EXPECT_FALSE(is_valid_subprotocol("a,b"));
  EXPECT_FALSE(is_valid_subprotocol("caf\xC3\xA9"));
}

TEST(WsHandshake, MinimalAcceptResponse) {
  BlockPool pool;
  OutputQueue q(&pool);
  EXPECT_EQ(write_accept_response(q, kKey, "", nullptr, {}), nullptr);
  EXPECT_EQ(str(q),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(WsHandshake, FullAcceptResponseInReferenceOrder) {
  BlockPool pool;
  OutputQueue q(&pool);
  DeflateParams p;
  p.client_no_context_takeover = true;
  Header app[] = {{"X-Session", "abc"}, {"Set-Cookie", "a=b"}};
  EXPECT_EQ(write_accept_response(q, kKey, "chat", &p, app), nullptr);
  EXPECT_EQ(str(q),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Protocol: chat\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
            "X-Session: abc\r\n"
            "Set-Cookie: a=b\r\n"
            "\r\n");
}

TEST(WsHandshake, InvalidSubprotocolOrHeaderWritesNothing) {
  BlockPool pool;
  OutputQueue q(&pool);
  EXPECT_STREQ(write_accept_response(q, kKey, "bad proto", nullptr, {}),
               "Invalid subprotocol: must match ^[\\w\\-.]+$");
  Header crlf[] = {{"X-A", "1\r\nX-Injected: yes"}};
  EXPECT_STREQ(write_accept_response(q, kKey, "", nullptr, crlf),
               "Invalid header value: contains CR, LF, or null byte");
  Header nul[] = {{"X-A", std::string_view("a\0b", 3)}};
  EXPECT_NE(write_accept_response(q, kKey, "", nullptr, nul), nullptr);
  Header bad_name[] = {{"X\nA", "1"}};
  EXPECT_NE(write_accept_response(q, kKey, "", nullptr, bad_name), nullptr);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace pagi::http::ws
