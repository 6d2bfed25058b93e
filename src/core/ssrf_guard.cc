#include "core/ssrf_guard.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace hookd {
namespace {

constexpr size_t kMaxAddressText = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::optional<IpAddress> ParseV4Strict(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  std::string z(text);
  in_addr a{};
  if (inet_pton(AF_INET, z.c_str(), &a) != 1) return std::nullopt;
  return IpAddress::V4(ntohl(a.s_addr));
}

std::optional<IpAddress> ParseV6Strict(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  std::string z(text);
  std::array<uint8_t, 16> b{};
  if (inet_pton(AF_INET6, z.c_str(), b.data()) != 1) return std::nullopt;
  return IpAddress::V6(b);
}

// One part of an inet_aton-style IPv4 host: decimal, 0-prefixed octal, or 0x hex
// (an empty "0x" is 0, as in WHATWG URL). nullopt if not a number or above 2^32-1.
std::optional<uint64_t> ParseV4Part(std::string_view part) {
  if (part.empty()) return std::nullopt;
  int base = 10;
  if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
  } else if (part.size() >= 2 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : part) {
    int d;
    if (IsDigit(c))
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > 0xFFFFFFFFull) return std::nullopt;
  }
  return v;
}

// "a", "a.b", "a.b.c", "a.b.c.d" with the inet_aton meaning of short forms (the last part
// fills the remaining bytes).
std::optional<IpAddress> ParseV4Lenient(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);  // one trailing dot: FQDN form
  // No length limit: inet_aton (and so the resolver) takes any number of leading zeros, and
  // the work here is linear with each part's value bounded.
  if (host.empty()) return std::nullopt;
  uint64_t parts[4];
  size_t n = 0;
  while (true) {
    size_t dot = host.find('.');
    if (n == 4) return std::nullopt;
    std::optional<uint64_t> v = ParseV4Part(host.substr(0, dot));
    if (!v) return std::nullopt;
    parts[n++] = *v;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (parts[i] > 255) return std::nullopt;
    value |= parts[i] << (8 * (3 - i));
  }
  const uint64_t last_max = (n == 1) ? 0xFFFFFFFFull : (1ull << (8 * (5 - n))) - 1;
  if (parts[n - 1] > last_max) return std::nullopt;
  value |= parts[n - 1];
  return IpAddress::V4(static_cast<uint32_t>(value));
}

std::string_view StripZone(std::string_view v6) {
  size_t pct = v6.find('%');
  return pct == std::string_view::npos ? v6 : v6.substr(0, pct);
}

bool PrefixMatches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

struct BlockedRange {
  Cidr cidr;
  std::string_view label;
};

const std::vector<BlockedRange>& BlockedRanges() {
  static const std::vector<BlockedRange> ranges = [] {
    const std::pair<std::string_view, std::string_view> table[] = {
        {"0.0.0.0/8", "this network"},
        {"127.0.0.0/8", "loopback"},
        {"10.0.0.0/8", "private"},
        {"172.16.0.0/12", "private"},
        {"192.168.0.0/16", "private"},
        {"169.254.0.0/16", "link-local / cloud metadata"},
        {"100.64.0.0/10", "carrier-grade NAT"},
        {"192.0.0.0/24", "IETF protocol assignments"},
        {"198.18.0.0/15", "benchmarking"},
        {"224.0.0.0/4", "multicast"},
        {"240.0.0.0/4", "reserved / broadcast"},
        {"::/128", "unspecified"},
        {"::1/128", "loopback"},
        {"100::/64", "discard-only"},
        {"64:ff9b:1::/48", "local-use NAT64"},
        {"fc00::/7", "unique local"},
        {"fe80::/10", "link-local"},
        {"fec0::/10", "site-local"},
        {"ff00::/8", "multicast"},
    };
    std::vector<BlockedRange> out;
    for (const auto& [cidr, label] : table) out.push_back({*Cidr::Parse(cidr), label});
    return out;
  }();
  return ranges;
}

}  // namespace

// --- IpAddress -------------------------------------------------------------------------

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return ParseV6Strict(text);
  return ParseV4Strict(text);
}

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress a;
  a.v4_ = true;
  a.bytes_[10] = 0xff;
  a.bytes_[11] = 0xff;
  a.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[15] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress a;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* addr) {
  if (addr == nullptr) return std::nullopt;
  if (addr->sa_family == AF_INET) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    return V4(ntohl(in.sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof in6);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &in6.sin6_addr, 16);
    return V6(b);
  }
  return std::nullopt;
}

uint32_t IpAddress::V4Value() const {
  return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) | (uint32_t{bytes_[14]} << 8) |
         uint32_t{bytes_[15]};
}

std::optional<IpAddress> IpAddress::EmbeddedV4() const {
  if (v4_) return std::nullopt;
  const auto& b = bytes_;
  auto zero = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  auto v4_at = [&](int i) {
    return V4((uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) |
              uint32_t{b[i + 3]});
  };
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return v4_at(12);  // ::ffff:a.b.c.d
  if (zero(0, 12)) {                                                    // ::a.b.c.d
    if (zero(12, 15) && b[15] <= 1) return std::nullopt;                // :: and ::1
    return v4_at(12);
  }
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12))
    return v4_at(12);                                 // 64:ff9b::a.b.c.d
  if (b[0] == 0x20 && b[1] == 0x02) return v4_at(2);  // 2002:aabb:ccdd::/48
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v4_) {
    in_addr a;
    std::memcpy(&a, bytes_.data() + 12, 4);
    inet_ntop(AF_INET, &a, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

// --- Cidr ------------------------------------------------------------------------------

Result<Cidr> Cidr::Parse(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("invalid CIDR \"{}\": {}", text, why));
  };
  size_t slash = text.find('/');
  std::optional<IpAddress> base = IpAddress::Parse(text.substr(0, slash));
  if (!base) return fail("not an IPv4 or IPv6 address");
  const int max_bits = base->IsV4() ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return fail("bad prefix length");
    bits = 0;
    for (char c : digits) {
      if (!IsDigit(c)) return fail("bad prefix length");
      bits = bits * 10 + (c - '0');
    }
    if (bits > max_bits) return fail(fmt::format("prefix length must be 0-{}", max_bits));
  }
  const int bits128 = base->IsV4() ? bits + 96 : bits;
  // Host bits must be zero: compare with the masked address.
  std::array<uint8_t, 16> masked = base->Bytes();
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(bits128 - 8 * i, 0, 8);
    masked[i] &= static_cast<uint8_t>(0xFF00 >> keep);
  }
  if (masked != base->Bytes()) {
    IpAddress network =
        base->IsV4() ? IpAddress::V4(IpAddress::V6(masked).V4Value()) : IpAddress::V6(masked);
    return fail(fmt::format("host bits set (did you mean {}/{}?)", network.ToString(), bits));
  }
  return Cidr(*base, bits128);
}

bool Cidr::Contains(const IpAddress& addr) const {
  return PrefixMatches(base_.Bytes(), addr.Bytes(), prefix_bits_);
}

std::string Cidr::ToString() const {
  return fmt::format("{}/{}", base_.ToString(), base_.IsV4() ? prefix_bits_ - 96 : prefix_bits_);
}

// --- DestinationPolicy -----------------------------------------------------------------

Result<DestinationPolicy> DestinationPolicy::Make(bool allow_private,
                                                  const std::vector<std::string>& allow_cidrs) {
  std::vector<Cidr> allow;
  for (const std::string& text : allow_cidrs) {
    Result<Cidr> cidr = Cidr::Parse(text);
    if (!cidr)
      return MakeError(ErrorCode::kInvalidArgument, "--allow-destination: " + cidr.error().message);
    allow.push_back(*cidr);
  }
  return DestinationPolicy(allow_private, std::move(allow));
}

std::optional<std::string> DestinationPolicy::WhyBlocked(const IpAddress& addr) const {
  if (allow_private_) return std::nullopt;
  std::optional<IpAddress> embedded = addr.EmbeddedV4();
  for (const Cidr& cidr : allow_) {
    if (cidr.Contains(addr) || (embedded && cidr.Contains(*embedded))) return std::nullopt;
  }
  for (const BlockedRange& range : BlockedRanges()) {
    if (range.cidr.Contains(addr))
      return fmt::format("{} is in {} ({})", addr.ToString(), range.cidr.ToString(), range.label);
  }
  if (embedded) {
    for (const BlockedRange& range : BlockedRanges()) {
      if (range.cidr.Contains(*embedded))
        return fmt::format("{} carries {}, which is in {} ({})", addr.ToString(),
                           embedded->ToString(), range.cidr.ToString(), range.label);
    }
  }
  return std::nullopt;
}

// --- ParseIpLiteral --------------------------------------------------------------------

std::optional<IpAddress> ParseIpLiteral(std::string_view host) {
  if (host.empty()) return std::nullopt;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    return ParseV6Strict(StripZone(host.substr(1, host.size() - 2)));
  }
  if (host.find(':') != std::string_view::npos) return ParseV6Strict(StripZone(host));
  return ParseV4Lenient(host);
}

}  // namespace hookd
