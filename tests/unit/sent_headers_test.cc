// What an attempt keeps of the headers hookd sent (core/sent_headers.h): hookd's own and the
// signature as sent, an endpoint's custom header values redacted unless known harmless.
#include "core/sent_headers.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hookd {
namespace {

TEST(SentHeadersTest, KeepsHookdsHeadersAndRedactsCustomValues) {
  const std::string text = RecordSentHeaders(
      {"content-type: application/json", "webhook-id: evt_1", "webhook-timestamp: 1764151200",
       "webhook-signature: v1,abc= v1,def="},
      "hookd/0.1.0", 231,
      {{"authorization", "Bearer s3cr3t"}, {"x-api-key", "k-123"}, {"accept-language", "es-ES"},
       {"x-tenant", "acme"}});
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(text.find("k-123"), std::string::npos);
  const auto v = boost::json::parse(text).as_object();
  const boost::json::object want{{"user-agent", "hookd/0.1.0"},
                                 {"content-type", "application/json"},
                                 {"webhook-id", "evt_1"},
                                 {"webhook-timestamp", "1764151200"},
                                 {"webhook-signature", "v1,abc= v1,def="},
                                 {"content-length", "231"},
                                 {"authorization", "[redacted]"},
                                 {"x-api-key", "[redacted]"},
                                 {"accept-language", "es-ES"},
                                 {"x-tenant", "[redacted]"}};
  EXPECT_EQ(v, want);
  // In the order sent.
  std::vector<std::string> names;
  for (const auto& kv : v) names.emplace_back(kv.key());
  EXPECT_EQ(names.front(), "user-agent");
  EXPECT_EQ(names[4], "webhook-signature");
  EXPECT_EQ(names.back(), "x-tenant");
}

TEST(SentHeadersTest, OnlyAFewNamesAreHarmless) {
  for (const char* n : {"accept", "accept-language", "cache-control", "content-language", "x-requested-with"})
    EXPECT_TRUE(IsHarmlessHeader(n)) << n;
  for (const char* n : {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token", "x-secret",
                        "api-key", "x-tenant", ""})
    EXPECT_FALSE(IsHarmlessHeader(n)) << n;
}

TEST(SentHeadersTest, GithubSignatureIsKeptToo) {
  const auto v = boost::json::parse(RecordSentHeaders({"x-hub-signature-256: sha256=00ff"}, "hookd/1", 0, {}));
  EXPECT_EQ(v.at("x-hub-signature-256").as_string(), "sha256=00ff");
  EXPECT_EQ(v.at("content-length").as_string(), "0");
}

}  // namespace
}  // namespace hookd
