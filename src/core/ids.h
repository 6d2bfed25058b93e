#pragma once
// Typed, prefixed identifiers: an EventId always prints "evt_<ulid>", and the compiler
// keeps an EndpointId from being passed where a DeliveryId is expected.
// Suffixes are ULIDs (48-bit millisecond time + 80 random bits, Crockford base32),
// monotonic within this process, so ids sort by creation time.

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hookd {

// A new 26-character ULID. Thread-safe. Strictly increasing within one process.
std::string NewUlid();
// Milliseconds since the epoch encoded in a ULID suffix, or nullopt when malformed.
std::optional<int64_t> UlidTimeMs(std::string_view ulid);
// The smallest ULID of millisecond `ms` ("01M8…0000000000000000"): ids below it were
// created before `ms`.
std::string UlidLowerBound(int64_t ms);
// True when `s` is 26 Crockford base32 characters (upper case).
bool IsUlid(std::string_view s);

// A ULID suffix in 16 bytes, for in-memory indexes that hold millions of ids (the
// dispatcher's backlog): a quarter of the size of the string form, no heap allocation.
struct PackedUlid {
  uint64_t hi = 0, lo = 0;
  bool operator==(const PackedUlid&) const = default;
};
struct PackedUlidHash {
  size_t operator()(const PackedUlid& u) const noexcept {
    return static_cast<size_t>(u.lo * 0x9E3779B97F4A7C15ull ^ u.hi);
  }
};
// `ulid`: 26 Crockford characters (trusted: from an id this process made or stored).
PackedUlid PackUlid(std::string_view ulid);
std::string UnpackUlid(const PackedUlid& u);

template <class Tag>
class Id {
 public:
  Id() = default;
  // Fresh id with the tag's prefix.
  static Id New() { return Id(std::string(Tag::kPrefix) + NewUlid()); }
  // Accepts "<prefix><ulid>"; anything else is nullopt (so a "dlv_" string never
  // becomes an EventId).
  static std::optional<Id> Parse(std::string_view s) {
    if (s.size() != Tag::kPrefix.size() + 26 || !s.starts_with(Tag::kPrefix) ||
        !IsUlid(s.substr(Tag::kPrefix.size())))
      return std::nullopt;
    return Id(std::string(s));
  }
  // Wraps a stored value without checking (store rows, tests). Prefer Parse for input.
  static Id FromTrusted(std::string s) { return Id(std::move(s)); }

  const std::string& str() const { return value_; }
  // The ULID part, packed; and back.
  PackedUlid Packed() const { return PackUlid(std::string_view(value_).substr(Tag::kPrefix.size())); }
  static Id FromPacked(const PackedUlid& u) { return Id(std::string(Tag::kPrefix) + UnpackUlid(u)); }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const Id&) const = default;

 private:
  explicit Id(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

struct CompanyTag { static constexpr std::string_view kPrefix = "co_"; };
struct TokenTag { static constexpr std::string_view kPrefix = "tok_"; };
struct EventTag { static constexpr std::string_view kPrefix = "evt_"; };
struct EndpointTag { static constexpr std::string_view kPrefix = "ep_"; };
struct DeliveryTag { static constexpr std::string_view kPrefix = "dlv_"; };
struct AttemptTag { static constexpr std::string_view kPrefix = "att_"; };
struct ErasureTag { static constexpr std::string_view kPrefix = "era_"; };
struct ReplayTag { static constexpr std::string_view kPrefix = "rpl_"; };

using CompanyId = Id<CompanyTag>;
using TokenId = Id<TokenTag>;
using EventId = Id<EventTag>;
using EndpointId = Id<EndpointTag>;
using DeliveryId = Id<DeliveryTag>;
using AttemptId = Id<AttemptTag>;
using ErasureId = Id<ErasureTag>;
using ReplayId = Id<ReplayTag>;

}  // namespace hookd

template <class Tag>
struct std::hash<hookd::Id<Tag>> {
  size_t operator()(const hookd::Id<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
