#include "core/endpoint.h"

#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/event_catalog.h"
#include "core/ssrf_guard.h"
#include "dispatch/destination_check.h"

namespace hookd {
namespace {

using ::testing::HasSubstr;

// The error of creating an endpoint with `url` (as POST …/endpoints does, with the save-time
// SSRF check under the default policy), or "" when it is accepted.
std::string UrlError(std::string_view url) {
  static const EventCatalog catalog;
  static const DestinationPolicy policy = *DestinationPolicy::Make(false, {});
  EndpointRules rules;
  rules.catalog = &catalog;
  rules.allow_http = true;
  rules.check_destination = [](std::string_view u) { return CheckDestinationLiteral(policy, u); };
  boost::json::object body{{"url", url}, {"event_types", boost::json::array{"*"}}};
  Endpoint ep;
  Result<void> r = ApplyEndpointInput(body, true, rules, ep);
  if (r) {
    EXPECT_EQ(ep.url, url);
    return "";
  }
  EXPECT_FALSE(r.error().fields.empty());
  return r.error().fields.empty() ? r.error().message : r.error().fields[0].message;
}

TEST(EndpointUrlTest, OrdinaryUrlsAreAccepted) {
  for (std::string_view url : {"https://it.example.com/hooks", "https://example.com", "http://example.com:8080/a/@me?x=1",
                               "https://93.184.216.34/x", "https://[2606:4700::1]:8443/"})
    EXPECT_EQ(UrlError(url), "") << url;
}

TEST(EndpointUrlTest, RefusedForms) {
  EXPECT_THAT(UrlError("ftp://example.com/"), HasSubstr("scheme"));
  EXPECT_THAT(UrlError("https://user:pw@example.com/"), HasSubstr("credentials"));
  EXPECT_NE(UrlError("https://example.com/#x"), "");
  EXPECT_THAT(UrlError("http://127.0.0.1/"), HasSubstr("not allowed"));
  EXPECT_THAT(UrlError("http://0177.1/"), HasSubstr("not allowed"));
}

// Found by fuzz/endpoint_url_fuzz.cc: Boost.URL 1.81 parses "http://[2::]:@1/" as host
// [2::] with the path "@1/", while libcurl sees the credentials "[2::]:" and the host 1
// (0.0.0.1) — any address could be sneaked past the save-time SSRF check this way.
TEST(EndpointUrlTest, APathThatDoesNotStartWithSlashIsRefused) {
  for (std::string_view url : {"http://[2::]:@1/", "http://[2606:4700::1]:@127.0.0.1/x",
                               "https://[2606:4700::1]:@169.254.169.254/latest/meta-data"})
    EXPECT_THAT(UrlError(url), HasSubstr("path must start with '/'")) << url;
}

// Found by fuzz/endpoint_url_fuzz.cc: see DestinationCheckTest.PercentEncodedHostIsDecodedBeforeTheCheck.
TEST(EndpointUrlTest, PercentEncodedLoopbackIsRefused) {
  EXPECT_THAT(UrlError("http://%31%32%37.0.0.1/"), HasSubstr("not allowed"));
}

}  // namespace
}  // namespace hookd
