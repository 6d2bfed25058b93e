#include "core/ids.h"

#include <array>
#include <chrono>
#include <mutex>

#include "core/crypto.h"

namespace hookd {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Crockford base32 value of each byte, -1 for bytes outside the alphabet (a table: the
// dispatcher packs several ids per delivery).
constexpr std::array<int8_t, 256> kDecode = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 32; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}();

int DecodeChar(char c) { return kDecode[static_cast<unsigned char>(c)]; }

struct UlidState {
  std::mutex mu;
  uint64_t last_ms = 0;
  std::array<uint8_t, 10> random{};  // 80 bits, big-endian
};

}  // namespace

std::string NewUlid() {
  static UlidState state;
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  uint64_t ms;
  std::array<uint8_t, 10> rnd;
  {
    std::lock_guard lock(state.mu);
    if (now > state.last_ms) {
      state.last_ms = now;
      std::string r = RandomBytes(10);
      std::copy(r.begin(), r.end(), state.random.begin());
      state.random[0] &= 0x7f;  // leave room to increment within the millisecond
    } else {
      // Same (or earlier, if the clock stepped back) millisecond: increment the random part.
      for (int i = 9; i >= 0; --i)
        if (++state.random[i] != 0) break;
    }
    ms = state.last_ms;
    rnd = state.random;
  }
  // 128 bits: 48 time + 80 random, encoded as 26 base32 chars (first char carries 3 bits).
  std::string out(26, '0');
  uint64_t t = ms;
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[t & 31];
    t >>= 5;
  }
  // 80 bits -> 16 chars.
  unsigned __int128 r = 0;
  for (uint8_t b : rnd) r = (r << 8) | b;
  for (int i = 25; i >= 10; --i) {
    out[i] = kAlphabet[static_cast<int>(r & 31)];
    r >>= 5;
  }
  return out;
}

PackedUlid PackUlid(std::string_view ulid) {
  unsigned __int128 v = 0;
  for (char c : ulid.substr(0, 26)) {
    int d = DecodeChar(c);
    v = (v << 5) | static_cast<unsigned>(d < 0 ? 0 : d);
  }
  return PackedUlid{static_cast<uint64_t>(v >> 64), static_cast<uint64_t>(v)};
}

std::string UnpackUlid(const PackedUlid& u) {
  unsigned __int128 v = (static_cast<unsigned __int128>(u.hi) << 64) | u.lo;
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    out[i] = kAlphabet[static_cast<int>(v & 31)];
    v >>= 5;
  }
  return out;
}

std::string UlidLowerBound(int64_t ms) {
  std::string out(26, '0');
  uint64_t t = static_cast<uint64_t>(ms < 0 ? 0 : ms);
  for (int i = 9; i >= 0; --i) {
    out[i] = kAlphabet[t & 31];
    t >>= 5;
  }
  return out;
}

bool IsUlid(std::string_view s) {
  if (s.size() != 26) return false;
  if (s[0] > '7') return false;
  for (char c : s)
    if (DecodeChar(c) < 0) return false;
  return true;
}

std::optional<int64_t> UlidTimeMs(std::string_view s) {
  if (!IsUlid(s)) return std::nullopt;
  int64_t t = 0;
  for (int i = 0; i < 10; ++i) t = (t << 5) | DecodeChar(s[i]);
  return t;
}

}  // namespace hookd
