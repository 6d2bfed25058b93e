#pragma once
// Helpers shared by the fuzz targets (fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

namespace hookd::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Targets that take two inputs read them split at the first separator line "\n----\n"
// (the corpus files stay readable); without one, the second is empty.
inline constexpr std::string_view kSeparator = "\n----\n";
inline std::pair<std::string_view, std::string_view> SplitTwo(std::string_view in) {
  const size_t at = in.find(kSeparator);
  if (at == std::string_view::npos) return {in, {}};
  return {in.substr(0, at), in.substr(at + kSeparator.size())};
}

// A property that must hold for every input; a violation is a crash libFuzzer records.
#define HOOKD_FUZZ_CHECK(cond, what)                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "fuzz check failed: %s (%s)\n", what, #cond); \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

}  // namespace hookd::fuzz
