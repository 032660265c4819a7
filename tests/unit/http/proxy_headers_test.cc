// --forwarded-allow-ips parsing and the client/scheme a trusted proxy's headers give.
#include "http/proxy_headers.h"

#include <gtest/gtest.h>

#include <vector>

namespace pagi::http {
namespace {

ProxyTrust trust(std::string_view list) {
  std::string error;
  std::optional<ProxyTrust> t = ProxyTrust::parse(list, &error);
  EXPECT_TRUE(t) << list << ": " << error;
  return t.value_or(*ProxyTrust::parse("127.0.0.1", &error));
}

Forwarded resolve(std::string_view list, std::string_view peer, std::vector<Header> headers,
                  bool unix_peer = false) {
  return resolve_forwarded(trust(list), unix_peer, peer, headers);
}

TEST(ProxyTrust, ParsesAddressesBlocksUnixAndStar) {
  ProxyTrust t = trust("127.0.0.1, 10.0.0.0/8,fd00::/8 ,::1,unix:");
  EXPECT_TRUE(t.trusts("127.0.0.1"));
  EXPECT_FALSE(t.trusts("127.0.0.2"));
  EXPECT_TRUE(t.trusts("10.255.1.2"));
  EXPECT_FALSE(t.trusts("11.0.0.1"));
  EXPECT_TRUE(t.trusts("fd12::1"));
  EXPECT_FALSE(t.trusts("fe80::1"));
  EXPECT_TRUE(t.trusts("::1"));
  EXPECT_TRUE(t.trusts("[::1]:8080"));
  EXPECT_TRUE(t.trusts("127.0.0.1:5000"));
  EXPECT_TRUE(t.trusts("::ffff:127.0.0.1"));  // v4-mapped is the IPv4 address
  EXPECT_FALSE(t.trusts("localhost"));
  EXPECT_FALSE(t.trusts("unknown"));
  EXPECT_TRUE(t.trusts_unix());
  EXPECT_FALSE(t.trusts_all());
  EXPECT_FALSE(trust("127.0.0.1").trusts_unix());
  EXPECT_TRUE(trust("*").trusts("anything"));
  EXPECT_TRUE(trust("*").trusts_unix());
}

TEST(ProxyTrust, PrefixLengthsAreExact) {
  ProxyTrust t = trust("192.168.1.128/25,2001:db8::/33");
  EXPECT_TRUE(t.trusts("192.168.1.200"));
  EXPECT_FALSE(t.trusts("192.168.1.127"));
  EXPECT_TRUE(t.trusts("2001:db8:7fff::1"));
  EXPECT_FALSE(t.trusts("2001:db8:8000::1"));
  EXPECT_TRUE(trust("0.0.0.0/0").trusts("8.8.8.8"));
  EXPECT_FALSE(trust("0.0.0.0/0").trusts("::1"));
}

TEST(ProxyTrust, BadEntriesAreErrors) {
  for (const char* bad : {"", " , ", "localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x",
                          "::/129", "1.2.3", "unix"}) {
    std::string error;
    EXPECT_FALSE(ProxyTrust::parse(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(ProxyHeaders, UntrustedPeerIsIgnored) {
  Forwarded f = resolve("10.0.0.1", "127.0.0.1",
                        {{"x-forwarded-for", "1.2.3.4"}, {"x-forwarded-proto", "https"}});
  EXPECT_TRUE(f.client.empty());
  EXPECT_FALSE(f.has_scheme);
  Forwarded u = resolve("127.0.0.1", "", {{"x-forwarded-for", "1.2.3.4"}}, true);
  EXPECT_TRUE(u.client.empty()) << "unix peers need unix: in the list";
}

TEST(ProxyHeaders, RightmostUntrustedHopIsTheClient) {
  Forwarded f = resolve("127.0.0.1,10.0.0.0/8", "127.0.0.1",
                        {{"x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.7"}});
  EXPECT_EQ(f.client, "1.2.3.4");
  EXPECT_EQ(f.port, 0);  // as uvicorn: the client's port is not forwarded
  // Every hop trusted: the leftmost is the client (a client on the proxy's own network).
  Forwarded all =
      resolve("127.0.0.1,10.0.0.0/8", "127.0.0.1", {{"x-forwarded-for", "10.0.0.9,10.0.0.7"}});
  EXPECT_EQ(all.client, "10.0.0.9");
  // `*`: the leftmost, whatever it is.
  Forwarded star = resolve("*", "8.8.8.8", {{"x-forwarded-for", "6.6.6.6, 1.2.3.4"}});
  EXPECT_EQ(star.client, "6.6.6.6");
}

TEST(ProxyHeaders, SeveralXForwardedForLinesAreOneList) {
  Forwarded f = resolve("127.0.0.1,10.0.0.7", "127.0.0.1",
                        {{"x-forwarded-for", "6.6.6.6"}, {"x-forwarded-for", "1.2.3.4, 10.0.0.7"}});
  EXPECT_EQ(f.client, "1.2.3.4");
  Forwarded g = resolve("127.0.0.1,10.0.0.7,1.2.3.4", "127.0.0.1",
                        {{"x-forwarded-for", "6.6.6.6"}, {"x-forwarded-for", "1.2.3.4, 10.0.0.7"}});
  EXPECT_EQ(g.client, "6.6.6.6");
}

TEST(ProxyHeaders, HopsAreTrimmedAndPortsDropped) {
  EXPECT_EQ(resolve("127.0.0.1", "127.0.0.1", {{"x-forwarded-for", " ,1.2.3.4:5678 , "}}).client,
            "1.2.3.4");
  EXPECT_EQ(resolve("127.0.0.1", "127.0.0.1", {{"x-forwarded-for", "[2001:db8::1]:80"}}).client,
            "2001:db8::1");
  EXPECT_EQ(resolve("127.0.0.1", "127.0.0.1", {{"x-forwarded-for", "2001:db8::1"}}).client,
            "2001:db8::1");
  EXPECT_TRUE(resolve("127.0.0.1", "127.0.0.1", {{"x-forwarded-for", " "}}).client.empty());
  // Not an address: still the untrusted hop (uvicorn does the same).
  EXPECT_EQ(resolve("127.0.0.1", "127.0.0.1", {{"x-forwarded-for", "unknown"}}).client, "unknown");
}

TEST(ProxyHeaders, ForwardedProto) {
  auto scheme = [](std::vector<Header> h) {
    Forwarded f = resolve("127.0.0.1", "127.0.0.1", std::move(h));
    return f.has_scheme ? (f.secure ? "secure" : "plain") : "none";
  };
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "https"}}), "secure");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", " HTTPS "}}), "secure");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "wss"}}), "secure");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "http"}}), "plain");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "ws"}}), "plain");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "gopher"}}), "none");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "https, http"}}), "none");
  EXPECT_STREQ(scheme({{"x-forwarded-proto", "http"}, {"x-forwarded-proto", "https"}}), "secure");
  EXPECT_STREQ(scheme({}), "none");
}

TEST(ProxyHeaders, Rfc7239Forwarded) {
  Forwarded f = resolve("127.0.0.1,10.0.0.0/8", "127.0.0.1",
                        {{"forwarded",
                          "for=6.6.6.6;proto=http, for=\"[2001:db8:cafe::17]:4711\";"
                          "proto=https;by=10.0.0.1, For=10.0.0.5;Proto=http"}});
  EXPECT_EQ(f.client, "2001:db8:cafe::17");
  EXPECT_EQ(f.port, 4711);
  EXPECT_TRUE(f.has_scheme);
  EXPECT_TRUE(f.secure);  // the proto of the element the client came from
  Forwarded g = resolve("127.0.0.1", "127.0.0.1",
                        {{"forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"}});
  EXPECT_EQ(g.client, "192.0.2.60");
  EXPECT_EQ(g.port, 0);
  EXPECT_TRUE(g.secure);
  // Quoted commas do not split elements.
  Forwarded q = resolve("127.0.0.1", "127.0.0.1", {{"forwarded", "for=\"_a,b\";proto=http"}});
  EXPECT_EQ(q.client, "_a,b");
  EXPECT_FALSE(q.secure);
  EXPECT_TRUE(q.has_scheme);
}

TEST(ProxyHeaders, XForwardedHeadersWinOverForwarded) {
  Forwarded f = resolve("127.0.0.1", "127.0.0.1",
                        {{"forwarded", "for=6.6.6.6;proto=http"},
                         {"x-forwarded-for", "1.2.3.4"},
                         {"x-forwarded-proto", "https"}});
  EXPECT_EQ(f.client, "1.2.3.4");
  EXPECT_TRUE(f.secure);
  // Without X-Forwarded-Proto, Forwarded's proto= gives the scheme.
  Forwarded g = resolve("127.0.0.1", "127.0.0.1",
                        {{"forwarded", "for=6.6.6.6;proto=https"}, {"x-forwarded-for", "1.2.3.4"}});
  EXPECT_EQ(g.client, "1.2.3.4");
  EXPECT_TRUE(g.has_scheme);
  EXPECT_TRUE(g.secure);
}

TEST(ProxyHeaders, UnixPeerTrustedWithUnixEntry) {
  Forwarded f = resolve("127.0.0.1,unix:", "", {{"x-forwarded-for", "1.2.3.4"}}, true);
  EXPECT_EQ(f.client, "1.2.3.4");
}

TEST(ProxyHeaders, StripHost) {
  int port = -1;
  EXPECT_EQ(strip_host(" [::1]:443 ", &port), "::1");
  EXPECT_EQ(port, 443);
  EXPECT_EQ(strip_host("1.2.3.4:80", &port), "1.2.3.4");
  EXPECT_EQ(port, 80);
  EXPECT_EQ(strip_host("::1", &port), "::1");
  EXPECT_EQ(port, 0);
  EXPECT_EQ(strip_host("1.2.3.4:x", &port), "1.2.3.4");
  EXPECT_EQ(port, 0);
}

}  // namespace
}  // namespace pagi::http
