#pragma once
// What an attempt keeps of a receiver's response, the same whichever HTTP engine read it
// (libcurl, or the built-in HTTP/1.1 path): header names lower-cased, a later header of the
// same name replacing an earlier one, at most 100 of them, values cut at 1 KiB; the first
// 4 KiB of the body (the rest is read and dropped, so the connection can be reused).

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd {

struct ResponseCapture {
  static constexpr size_t kMaxHeaders = 100;
  static constexpr size_t kMaxHeaderValue = 1024;
  static constexpr size_t kMaxBody = 4096;

  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void Clear() {
    headers.clear();
    body.clear();
  }
  void AddHeader(std::string_view name, std::string_view value);
  void AddBody(const char* p, size_t n) {
    if (body.size() < kMaxBody) body.append(p, std::min(n, kMaxBody - body.size()));
  }
  // The header's value, or "" (names are lower-case).
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return v;
    return {};
  }
  // {"name":"value",…}
  std::string HeadersJson() const;
};

}  // namespace hookd
