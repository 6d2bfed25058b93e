#include "core/ssrf_guard.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <vector>

namespace hookd {
namespace {

IpAddress Ip(std::string_view text) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress::V4(0));
}

DestinationPolicy Default() { return *DestinationPolicy::Make(false, {}); }

// --- IpAddress -------------------------------------------------------------------------

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  IpAddress v4 = Ip("192.168.1.20");
  EXPECT_TRUE(v4.IsV4());
  EXPECT_EQ(v4.V4Value(), 0xC0A80114u);
  EXPECT_EQ(v4.ToString(), "192.168.1.20");

  IpAddress v6 = Ip("2606:4700:0:0::1");
  EXPECT_FALSE(v6.IsV4());
  EXPECT_EQ(v6.ToString(), "2606:4700::1");
  EXPECT_EQ(v6.Bytes()[0], 0x26);
  EXPECT_EQ(v6.Bytes()[15], 0x01);

  EXPECT_EQ(Ip("::ffff:10.0.0.1").ToString(), "::ffff:10.0.0.1");
  EXPECT_FALSE(Ip("::ffff:10.0.0.1").IsV4());
  // Same bytes as the IPv4 address, different family.
  EXPECT_EQ(Ip("::ffff:10.0.0.1").Bytes(), Ip("10.0.0.1").Bytes());
  EXPECT_NE(Ip("::ffff:10.0.0.1"), Ip("10.0.0.1"));
}

TEST(IpAddressTest, StrictParseRefusesOddForms) {
  for (std::string_view bad :
       {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "0177.0.0.1", "0x7f.0.0.1",
        "2130706433", "[::1]", "::1%lo", "1.2.3.4 ", "gggg::1", "1:2:3:4:5:6:7:8:9"})
    EXPECT_EQ(IpAddress::Parse(bad), std::nullopt) << bad;
}

TEST(IpAddressTest, V4FromHostOrder) {
  EXPECT_EQ(IpAddress::V4(0x7f000001).ToString(), "127.0.0.1");
  EXPECT_EQ(IpAddress::V4(0xffffffff).ToString(), "255.255.255.255");
}

TEST(IpAddressTest, FromSockaddr) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(0xA9FEA9FE);  // 169.254.169.254
  std::optional<IpAddress> a = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&in));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->ToString(), "169.254.169.254");
  EXPECT_TRUE(a->IsV4());

  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr), 1);
  std::optional<IpAddress> b = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&in6));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->ToString(), "fe80::1");

  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_EQ(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&un)), std::nullopt);
  EXPECT_EQ(IpAddress::FromSockaddr(nullptr), std::nullopt);
}

TEST(IpAddressTest, EmbeddedV4) {
  EXPECT_EQ(Ip("::ffff:127.0.0.1").EmbeddedV4(), Ip("127.0.0.1"));
  EXPECT_EQ(Ip("::127.0.0.1").EmbeddedV4(), Ip("127.0.0.1"));
  EXPECT_EQ(Ip("64:ff9b::10.1.2.3").EmbeddedV4(), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("2002:a9fe:a9fe::1").EmbeddedV4(), Ip("169.254.169.254"));
  EXPECT_EQ(Ip("::").EmbeddedV4(), std::nullopt);
  EXPECT_EQ(Ip("::1").EmbeddedV4(), std::nullopt);
  EXPECT_EQ(Ip("2606:4700::1").EmbeddedV4(), std::nullopt);
  EXPECT_EQ(Ip("64:ff9b:1::10.1.2.3").EmbeddedV4(), std::nullopt);  // not the /96 prefix
  EXPECT_EQ(Ip("10.0.0.1").EmbeddedV4(), std::nullopt);
}

// --- blocked ranges --------------------------------------------------------------------

TEST(DestinationPolicyTest, BlocksEveryRequiredIpv4Range) {
  DestinationPolicy p = Default();
  for (std::string_view a : {
           "0.0.0.0",         "0.255.255.255",                      // 0/8
           "127.0.0.1",       "127.255.255.254",                    // loopback
           "10.0.0.0",        "10.255.255.255",                     // 10/8
           "172.16.0.1",      "172.31.255.255",                     // 172.16/12
           "192.168.0.1",     "192.168.255.255",                    // 192.168/16
           "169.254.169.254", "169.254.0.1",                        // link-local, cloud metadata
           "100.64.0.1",      "100.127.255.255",                    // CGNAT
           "224.0.0.1",       "239.255.255.250",                    // multicast
           "240.0.0.1",       "254.1.2.3",                          // reserved
           "255.255.255.255",                                       // broadcast
           "192.0.0.170",     "198.18.0.1",      "198.19.255.255",  // extras
       })
    EXPECT_FALSE(p.IsAllowed(Ip(a))) << a;
}

TEST(DestinationPolicyTest, BlocksEveryRequiredIpv6Range) {
  DestinationPolicy p = Default();
  for (std::string_view a : {"::", "::1", "fc00::1", "fd12:3456:789a::1", "fe80::1", "febf:ffff::1",
                             "feff::1", "ff02::1", "ff05::2", "fec0::1", "100::1", "64:ff9b:1::1"})
    EXPECT_FALSE(p.IsAllowed(Ip(a))) << a;
}

TEST(DestinationPolicyTest, BlocksIpv6FormsOfBlockedIpv4) {
  DestinationPolicy p = Default();
  for (std::string_view a :
       {"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:0:0",
        "::127.0.0.1", "::10.1.2.3", "::0.0.0.2", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe",
        "64:ff9b::192.168.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1"})
    EXPECT_FALSE(p.IsAllowed(Ip(a))) << a;
}

TEST(DestinationPolicyTest, AllowsPublicAddressesJustOutsideRanges) {
  DestinationPolicy p = Default();
  for (std::string_view a : {
           "8.8.8.8",
           "1.1.1.1",
           "1.0.0.0",
           "9.255.255.255",
           "11.0.0.0",  // around 10/8
           "172.15.255.255",
           "172.32.0.1",  // around 172.16/12
           "192.167.255.255",
           "192.169.0.0",  // around 192.168/16
           "169.253.255.255",
           "169.255.0.0",  // around 169.254/16
           "100.63.255.255",
           "100.128.0.1",  // around 100.64/10
           "126.255.255.255",
           "128.0.0.0",        // around 127/8
           "223.255.255.255",  // just below multicast
           "192.0.1.1",
           "198.17.255.255",
           "198.20.0.0",
           "2606:4700::1",
           "2001:4860:4860::8888",
           "2a00:1450::1",
           "fbff:ffff::1",
           "fe00::1",
           "fe7f::1",  // around fc00::/7 and fe80::/10
           "::2:0:0:1",
           "::ffff:8.8.8.8",
           "64:ff9b::8.8.8.8",
           "::8.8.8.8",
           "2002:808:808::1",
       })
    EXPECT_TRUE(p.IsAllowed(Ip(a))) << a << ": " << p.WhyBlocked(Ip(a)).value_or("");
}

TEST(DestinationPolicyTest, WhyBlockedExplains) {
  DestinationPolicy p = Default();
  EXPECT_EQ(p.WhyBlocked(Ip("169.254.169.254")),
            "169.254.169.254 is in 169.254.0.0/16 (link-local / cloud metadata)");
  EXPECT_EQ(p.WhyBlocked(Ip("::1")), "::1 is in ::1/128 (loopback)");
  EXPECT_EQ(p.WhyBlocked(Ip("::ffff:127.0.0.1")), "::ffff:127.0.0.1 is in 127.0.0.0/8 (loopback)");
  EXPECT_EQ(p.WhyBlocked(Ip("64:ff9b::a00:1")),
            "64:ff9b::a00:1 carries 10.0.0.1, which is in 10.0.0.0/8 (private)");
  EXPECT_EQ(p.WhyBlocked(Ip("8.8.8.8")), std::nullopt);
}

// --- overrides -------------------------------------------------------------------------

TEST(DestinationPolicyTest, AllowPrivateAllowsEverything) {
  DestinationPolicy p = *DestinationPolicy::Make(true, {});
  for (std::string_view a : {"127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1"})
    EXPECT_TRUE(p.IsAllowed(Ip(a))) << a;
}

TEST(DestinationPolicyTest, AllowListOverridesOnlyItsRange) {
  Result<DestinationPolicy> p = DestinationPolicy::Make(false, {"10.20.0.0/16", "fd00:1::/32"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_TRUE(p->IsAllowed(Ip("10.20.0.1")));
  EXPECT_TRUE(p->IsAllowed(Ip("10.20.255.255")));
  EXPECT_FALSE(p->IsAllowed(Ip("10.21.0.1")));
  EXPECT_FALSE(p->IsAllowed(Ip("10.19.255.255")));
  EXPECT_FALSE(p->IsAllowed(Ip("127.0.0.1")));
  EXPECT_FALSE(p->IsAllowed(Ip("169.254.169.254")));
  EXPECT_TRUE(p->IsAllowed(Ip("fd00:1:ffff::1")));
  EXPECT_FALSE(p->IsAllowed(Ip("fd00:2::1")));
  // The IPv6 forms of an allowed IPv4 range are allowed too...
  EXPECT_TRUE(p->IsAllowed(Ip("::ffff:10.20.3.4")));
  EXPECT_TRUE(p->IsAllowed(Ip("64:ff9b::10.20.3.4")));
  // ...but not of the neighbouring blocked range.
  EXPECT_FALSE(p->IsAllowed(Ip("::ffff:10.21.3.4")));
  // Public addresses stay allowed.
  EXPECT_TRUE(p->IsAllowed(Ip("8.8.8.8")));
}

TEST(DestinationPolicyTest, AllowSingleHostAndLoopback) {
  Result<DestinationPolicy> p = DestinationPolicy::Make(false, {"127.0.0.1", "::1/128"});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_TRUE(p->IsAllowed(Ip("127.0.0.1")));
  EXPECT_FALSE(p->IsAllowed(Ip("127.0.0.2")));
  EXPECT_TRUE(p->IsAllowed(Ip("::1")));
  EXPECT_TRUE(p->IsAllowed(Ip("::ffff:127.0.0.1")));
}

TEST(DestinationPolicyTest, MalformedAllowEntryIsRefused) {
  Result<DestinationPolicy> p = DestinationPolicy::Make(false, {"10.0.0.0/8", "10.0.0.0/33"});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(p.error().message,
            "--allow-destination: invalid CIDR \"10.0.0.0/33\": prefix length must be 0-32");
}

// --- Cidr ------------------------------------------------------------------------------

TEST(CidrTest, ParsesAndContains) {
  Result<Cidr> c = Cidr::Parse("172.16.0.0/12");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->ToString(), "172.16.0.0/12");
  EXPECT_TRUE(c->Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(c->Contains(Ip("172.32.0.0")));
  EXPECT_TRUE(c->Contains(Ip("::ffff:172.20.0.1")));
  EXPECT_FALSE(c->Contains(Ip("::172.20.0.1")));

  Result<Cidr> v6 = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->ToString(), "2001:db8::/32");
  EXPECT_TRUE(v6->Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->Contains(Ip("2001:db9::1")));
  EXPECT_FALSE(v6->Contains(Ip("10.0.0.1")));
}

TEST(CidrTest, BareAddressAndZeroPrefix) {
  Result<Cidr> host = Cidr::Parse("192.0.2.7");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->ToString(), "192.0.2.7/32");
  EXPECT_TRUE(host->Contains(Ip("192.0.2.7")));
  EXPECT_FALSE(host->Contains(Ip("192.0.2.8")));

  Result<Cidr> all4 = Cidr::Parse("0.0.0.0/0");
  ASSERT_TRUE(all4.has_value());
  EXPECT_TRUE(all4->Contains(Ip("255.1.2.3")));
  EXPECT_FALSE(all4->Contains(Ip("2606:4700::1")));  // IPv4 /0 is IPv4 only

  Result<Cidr> all6 = Cidr::Parse("::/0");
  ASSERT_TRUE(all6.has_value());
  EXPECT_TRUE(all6->Contains(Ip("2606:4700::1")));
  EXPECT_TRUE(Cidr::Parse("fe80::/10").has_value());
  EXPECT_TRUE(Cidr::Parse("fd00::1/128").has_value());
}

TEST(CidrTest, MalformedAreRefusedWithReason) {
  struct Case {
    std::string_view text;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "invalid CIDR \"\": not an IPv4 or IPv6 address"},
      {"/8", "invalid CIDR \"/8\": not an IPv4 or IPv6 address"},
      {"10.0.0/8", "invalid CIDR \"10.0.0/8\": not an IPv4 or IPv6 address"},
      {"300.0.0.0/8", "invalid CIDR \"300.0.0.0/8\": not an IPv4 or IPv6 address"},
      {"example.com/24", "invalid CIDR \"example.com/24\": not an IPv4 or IPv6 address"},
      {"10.0.0.0/", "invalid CIDR \"10.0.0.0/\": bad prefix length"},
      {"10.0.0.0/-1", "invalid CIDR \"10.0.0.0/-1\": bad prefix length"},
      {"10.0.0.0/8/8", "invalid CIDR \"10.0.0.0/8/8\": bad prefix length"},
      {"10.0.0.0/ 8", "invalid CIDR \"10.0.0.0/ 8\": bad prefix length"},
      {"10.0.0.0/1000", "invalid CIDR \"10.0.0.0/1000\": bad prefix length"},
      {"10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\": prefix length must be 0-32"},
      {"::/129", "invalid CIDR \"::/129\": prefix length must be 0-128"},
      {"10.0.0.1/8", "invalid CIDR \"10.0.0.1/8\": host bits set (did you mean 10.0.0.0/8?)"},
      {"172.31.0.0/12",
       "invalid CIDR \"172.31.0.0/12\": host bits set (did you mean 172.16.0.0/12?)"},
      {"fd00::1/8", "invalid CIDR \"fd00::1/8\": host bits set (did you mean fd00::/8?)"},
  };
  for (const Case& c : cases) {
    Result<Cidr> r = Cidr::Parse(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message, c.message);
  }
}

// --- ParseIpLiteral --------------------------------------------------------------------

TEST(ParseIpLiteralTest, PlainAndBracketed) {
  EXPECT_EQ(ParseIpLiteral("93.184.216.34"), Ip("93.184.216.34"));
  EXPECT_EQ(ParseIpLiteral("[::1]"), Ip("::1"));
  EXPECT_EQ(ParseIpLiteral("[2606:4700::1]"), Ip("2606:4700::1"));
  EXPECT_EQ(ParseIpLiteral("::1"), Ip("::1"));
  EXPECT_EQ(ParseIpLiteral("[::ffff:169.254.169.254]"), Ip("::ffff:169.254.169.254"));
  EXPECT_EQ(ParseIpLiteral("[fe80::1%25eth0]"), Ip("fe80::1"));
  EXPECT_EQ(ParseIpLiteral("fe80::1%eth0"), Ip("fe80::1"));
}

TEST(ParseIpLiteralTest, HostNamesAreNotLiterals) {
  for (std::string_view h : {"",           "example.com",   "localhost",  "hooks.acme-hr.io",
                             "1.2.3.4.5",  "1.2.3.example", "0x7g.0.0.1", "08.0.0.1",
                             "4294967296", "256.0.0.1",     "1.2.3.256",  "1.2.65536",
                             "1..2.3",     "1.2.3.4..",     ".1.2.3",     "[]",
                             "[::1",       "::1]",          "[1.2.3.4]",  "[example.com]",
                             "1.2.3.4 "})
    EXPECT_EQ(ParseIpLiteral(h), std::nullopt) << '"' << h << '"';
}

TEST(ParseIpLiteralTest, OddIpv4FormsAreRecognised) {
  const IpAddress loopback = Ip("127.0.0.1");
  for (std::string_view h :
       {"2130706433", "0177.0.0.1", "0x7f.1", "0x7f.0.0.1", "0X7F.0.0.01", "127.1", "127.0.1",
        "0x7f000001", "017700000001", "127.0.0.1.", "0x7f.0x0.0x0.0x1", "127.00.0.1"})
    EXPECT_EQ(ParseIpLiteral(h), loopback) << h;

  EXPECT_EQ(ParseIpLiteral("0"), Ip("0.0.0.0"));
  EXPECT_EQ(ParseIpLiteral("0x"), Ip("0.0.0.0"));
  EXPECT_EQ(ParseIpLiteral("2852039166"), Ip("169.254.169.254"));
  EXPECT_EQ(ParseIpLiteral("0xa9fea9fe"), Ip("169.254.169.254"));
  EXPECT_EQ(ParseIpLiteral("169.254.43518"), Ip("169.254.169.254"));
  EXPECT_EQ(ParseIpLiteral("10.1"), Ip("10.0.0.1"));
  EXPECT_EQ(ParseIpLiteral("4294967295"), Ip("255.255.255.255"));
  EXPECT_EQ(ParseIpLiteral("1.16777215"), Ip("1.255.255.255"));
}

TEST(ParseIpLiteralTest, OddFormsEndUpBlocked) {
  DestinationPolicy p = Default();
  for (std::string_view h : {"2130706433", "0177.0.0.1", "0x7f.1", "0xa9fea9fe", "012.1",
                             "[::ffff:7f00:1]", "[::]", "0", "[fe80::1%25eth0]"}) {
    std::optional<IpAddress> a = ParseIpLiteral(h);
    ASSERT_TRUE(a.has_value()) << h;
    EXPECT_FALSE(p.IsAllowed(*a)) << h;
  }
  EXPECT_TRUE(p.IsAllowed(*ParseIpLiteral("134744072")));  // 8.8.8.8
}

// Found by fuzz/endpoint_url_fuzz.cc: a host of more than 64 characters was never read as an
// address, while inet_aton (and so curl and the resolver) takes any number of leading zeros:
// "http://000…0/" (65 zeros) was saved and goes to 0.0.0.0.
TEST(ParseIpLiteralTest, AnyNumberOfLeadingZeros) {
  EXPECT_EQ(ParseIpLiteral(std::string(65, '0')), Ip("0.0.0.0"));
  EXPECT_EQ(ParseIpLiteral(std::string(200, '0') + "177.0.0.1"), Ip("127.0.0.1"));
  EXPECT_EQ(ParseIpLiteral("0x" + std::string(100, '0') + "7f.1"), Ip("127.0.0.1"));
  EXPECT_EQ(ParseIpLiteral(std::string(100, '1')), std::nullopt);  // too large: a name
}

}  // namespace
}  // namespace hookd
