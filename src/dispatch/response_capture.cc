#include "dispatch/response_capture.h"

#include <boost/json.hpp>

namespace hookd {

void ResponseCapture::AddHeader(std::string_view name, std::string_view value) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!value.empty() && blank(value.front())) value.remove_prefix(1);
  while (!value.empty() && blank(value.back())) value.remove_suffix(1);
  if (value.size() > kMaxHeaderValue) value = value.substr(0, kMaxHeaderValue);
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& [k, v] : headers) {
    if (k == lower) {
      v.assign(value);
      return;
    }
  }
  if (headers.size() >= kMaxHeaders) return;
  headers.emplace_back(std::move(lower), value);
}

std::string ResponseCapture::HeadersJson() const {
  boost::json::object o;
  o.reserve(headers.size());
  for (const auto& [k, v] : headers) o.emplace(k, v);
  return boost::json::serialize(o);
}

}  // namespace hookd
