#include "core/sent_headers.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

namespace hookd {

bool IsHarmlessHeader(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 8> kHarmless = {
      "accept", "accept-charset", "accept-encoding", "accept-language",
      "cache-control", "content-language", "pragma", "x-requested-with"};
  return std::find(kHarmless.begin(), kHarmless.end(), lower_name) != kHarmless.end();
}

std::string RecordSentHeaders(const std::vector<std::string>& own, std::string_view user_agent,
                              size_t content_length,
                              const std::vector<std::pair<std::string, std::string>>& custom) {
  boost::json::object o;
  o.reserve(own.size() + custom.size() + 2);
  o["user-agent"] = user_agent;
  for (const std::string& line : own) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view value = std::string_view(line).substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    o[std::string_view(line).substr(0, colon)] = value;
  }
  o["content-length"] = std::to_string(content_length);
  for (const auto& [name, value] : custom)
    o[name] = IsHarmlessHeader(name) ? std::string_view(value) : kRedacted;
  return boost::json::serialize(o);
}

}  // namespace hookd
