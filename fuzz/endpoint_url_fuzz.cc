// Endpoint URLs and the SSRF check: the input is the "url" of an endpoint being created,
// checked as the API does (ApplyEndpointInput with the save-time SSRF check,
// CheckDestinationLiteral, under the default policy). A URL that is accepted is then read
// with libcurl's URL parser — what the dispatcher connects with — and if the host curl
// would connect to is an address literal (inet_aton's forms, or IPv6) that the policy
// refuses, the save-time check has been sneaked past: a crash. The input is also tried
// as an IP literal and as a --allow-destination CIDR.

#include <arpa/inet.h>
#include <curl/curl.h>

#include <boost/json.hpp>

#include "core/endpoint.h"
#include "core/event_catalog.h"
#include "core/ssrf_guard.h"
#include "dispatch/destination_check.h"
#include "fuzz/fuzz_util.h"

namespace {

// The address libcurl would connect to for `url`, when its host is a literal.
std::optional<hookd::IpAddress> CurlLiteralHost(const std::string& url) {
  CURLU* u = curl_url();
  std::optional<hookd::IpAddress> out;
  char* host = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    std::string h(host);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
      h = h.substr(1, h.size() - 2);
      if (size_t pct = h.find('%'); pct != std::string::npos) h.resize(pct);
      in6_addr a6{};
      if (inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
        std::array<uint8_t, 16> b{};
        std::memcpy(b.data(), &a6, 16);
        out = hookd::IpAddress::V6(b);
      }
    } else {
      if (!h.empty() && h.back() == '.') h.pop_back();
      in_addr a4{};
      if (inet_aton(h.c_str(), &a4) != 0) out = hookd::IpAddress::V4(ntohl(a4.s_addr));
    }
  }
  curl_free(host);
  curl_url_cleanup(u);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hookd::EventCatalog* catalog = new hookd::EventCatalog();
  static const hookd::DestinationPolicy* policy =
      new hookd::DestinationPolicy(*hookd::DestinationPolicy::Make(false, {}));
  const std::string_view input = hookd::fuzz::AsView(data, size);

  (void)hookd::ParseIpLiteral(input);
  (void)hookd::Cidr::Parse(input);

  hookd::EndpointRules rules;
  rules.catalog = catalog;
  rules.allow_http = true;
  rules.check_destination = [](std::string_view url) { return hookd::CheckDestinationLiteral(*policy, url); };
  boost::json::object body;
  body["url"] = boost::json::string(input);
  body["event_types"] = boost::json::array{"*"};
  hookd::Endpoint ep;
  if (!hookd::ApplyEndpointInput(body, true, rules, ep)) return 0;

  if (auto ip = CurlLiteralHost(ep.url)) {
    const auto why = policy->WhyBlocked(*ip);
    if (why) std::fprintf(stderr, "accepted %s, which connects to %s\n", ep.url.c_str(), why->c_str());
    HOOKD_FUZZ_CHECK(!why, "an endpoint URL whose host is a refused address was accepted");
  }
  return 0;
}
