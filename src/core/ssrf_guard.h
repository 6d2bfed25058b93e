#pragma once
// Which destination addresses hookd may connect to (SPEC §5.9): the SSRF guard.
//
// A company administrator chooses endpoint URLs, so without a guard hookd could be made
// to POST into the operator's own network (169.254.169.254 cloud metadata, an admin
// service on 127.0.0.1, 10.x hosts). The dispatcher checks every address when the
// endpoint is saved (IP-literal hosts) and again on every connect, for the addresses DNS
// actually returned (DNS rebinding). A refused destination is attempt error "blocked".
//
// Blocked unless allowed:
//   IPv4  0.0.0.0/8 (this network), 127.0.0.0/8 (loopback), 10.0.0.0/8, 172.16.0.0/12,
//         192.168.0.0/16 (private), 169.254.0.0/16 (link-local, cloud metadata),
//         100.64.0.0/10 (CGNAT), 192.0.0.0/24 (IETF protocol assignments),
//         198.18.0.0/15 (benchmarking), 224.0.0.0/4 (multicast), 240.0.0.0/4 (reserved,
//         includes 255.255.255.255 broadcast)
//   IPv6  ::/128, ::1/128, 100::/64 (discard), 64:ff9b:1::/48 (local NAT64),
//         fc00::/7 (unique local), fe80::/10 (link-local), fec0::/10 (old site-local),
//         ff00::/8 (multicast)
//   and every IPv6 form that carries a blocked IPv4 address: IPv4-mapped ::ffff:a.b.c.d,
//   IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d, 6to4 2002:aabb:ccdd::/48.
// `allow_private` turns the guard off; an allow-list CIDR lets its range through even
// when blocked (an IPv4 CIDR also covers that range's IPv6 forms above).
//
// All types are immutable values; everything is pure (inet_pton/inet_ntop only) and
// thread-safe.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

struct sockaddr;  // <sys/socket.h>

namespace hookd {

// An IPv4 or IPv6 address. IPv4 is stored as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d) plus a family flag, so "10.0.0.1" and "::ffff:10.0.0.1" share bytes
// (and CIDRs) but print differently.
class IpAddress {
 public:
  // Strict text forms only: dotted quad (inet_pton AF_INET: no leading zeros, 4 parts) or
  // any IPv6 text form (no brackets, no zone). See ParseIpLiteral for URL hosts.
  static std::optional<IpAddress> Parse(std::string_view text);
  // From a host-order IPv4 value (0x7f000001 is 127.0.0.1).
  static IpAddress V4(uint32_t host_order);
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);
  // AF_INET / AF_INET6 socket addresses (what curl's open-socket callback gets);
  // nullopt for null or other families.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* addr);

  bool IsV4() const { return v4_; }
  // Host-order IPv4 value; meaningful only when IsV4().
  uint32_t V4Value() const;
  // 16 bytes, network order (IPv4 as ::ffff:a.b.c.d).
  const std::array<uint8_t, 16>& Bytes() const { return bytes_; }

  // The IPv4 address an IPv6 address carries, for the forms that route to it:
  // IPv4-mapped, IPv4-compatible (::/96 except :: and ::1), NAT64 64:ff9b::/96 and 6to4
  // 2002::/16. nullopt for IPv4 addresses and other IPv6 addresses.
  std::optional<IpAddress> EmbeddedV4() const;

  // Canonical text ("127.0.0.1", "::1", "::ffff:10.0.0.1"), without brackets.
  std::string ToString() const;

  bool operator==(const IpAddress&) const = default;

 private:
  IpAddress() = default;
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = false;
};

// An address range "a.b.c.d/n" (n 0-32) or "<ipv6>/n" (n 0-128); a bare address means
// /32 or /128.
class Cidr {
 public:
  // kInvalidArgument for a malformed address or prefix, or set host bits ("10.0.0.1/8":
  // the message suggests "10.0.0.0/8").
  static Result<Cidr> Parse(std::string_view text);

  // An IPv4 CIDR contains the IPv4 addresses of its range and their ::ffff: forms.
  bool Contains(const IpAddress& addr) const;
  std::string ToString() const;

 private:
  Cidr(IpAddress base, int prefix_bits) : base_(base), prefix_bits_(prefix_bits) {}
  IpAddress base_;
  int prefix_bits_;  // over the 128-bit form: an IPv4 /n is stored as /(96+n)
};

class DestinationPolicy {
 public:
  // `allow_private`: --allow-private-destinations (everything allowed, for development).
  // `allow_cidrs`: --allow-destination entries. kInvalidArgument naming the first bad entry.
  static Result<DestinationPolicy> Make(bool allow_private,
                                        const std::vector<std::string>& allow_cidrs);

  bool IsAllowed(const IpAddress& addr) const { return !WhyBlocked(addr).has_value(); }
  // nullopt when allowed, else a short reason for logs and attempt records, e.g.
  // "169.254.169.254 is in 169.254.0.0/16 (link-local / cloud metadata)".
  std::optional<std::string> WhyBlocked(const IpAddress& addr) const;

 private:
  DestinationPolicy(bool allow_private, std::vector<Cidr> allow)
      : allow_private_(allow_private), allow_(std::move(allow)) {}
  bool allow_private_;
  std::vector<Cidr> allow_;
};

// The address a URL host names literally, or nullopt when the host is a DNS name.
// Accepts "[v6]" (and bare v6), strips an IPv6 zone ("%eth0", "%25eth0"), and reads IPv4
// the way inet_aton and WHATWG URL parsers do — the forms used to sneak past naive
// checks: "2130706433" (one 32-bit number), "0177.0.0.1" (octal), "0x7f.1" (hex, and the
// a.b / a.b.c short forms), with one trailing dot allowed. Such hosts must be checked
// as addresses, since curl and resolvers turn them into one.
std::optional<IpAddress> ParseIpLiteral(std::string_view host);

}  // namespace hookd
