// The management API's happy paths as an operator and a company administrator use them:
// companies, tokens, endpoints (secret, rotation, enable/disable, delete), the event
// catalog and custom types, health and OpenAPI, deliveries, retry, recover and test events.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

// "2026-11-26T10:00:00.000Z" → ms since the epoch; nullopt unless exactly that form.
std::optional<int64_t> ParseRfc3339Ms(std::string_view s) {
  if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s[19] != '.' || s[23] != 'Z')
    return std::nullopt;
  std::tm tm{};
  int ms = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Standard base64 (with padding); nullopt on any invalid character or length.
std::optional<std::string> Base64Decode(std::string_view in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) return std::nullopt;
      ++pad;
      continue;
    }
    if (pad) return std::nullopt;
    size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return out;
}

std::string Str(const json::value& v, std::string_view key) {
  auto* p = v.as_object().if_contains(key);
  if (!p || !p->is_string()) {
    ADD_FAILURE() << "no string '" << key << "' in " << json::serialize(v);
    return "";
  }
  return std::string(p->as_string());
}

class ManagementTest : public HookdTest {
 protected:
  std::string Co() const { return "/v1/companies/" + company_; }
  std::string Events() const { return Co() + "/events"; }
  std::string Endpoints() const { return Co() + "/endpoints"; }
  std::string Deliveries() const { return Co() + "/deliveries"; }

  json::value CreateEndpointJson(const std::string& body) {
    auto r = co_->Post(Endpoints(), body);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.ContentType(), "application/json");
    return r.status == 201 ? r.Json() : json::value(json::object{{"id", ""}});
  }
  std::string CreateEndpoint(const std::string& body) { return Str(CreateEndpointJson(body), "id"); }

  std::string Publish(const json::value& ev) {
    auto r = co_->Post(Events(), ev);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? Str(r.Json(), "id") : "";
  }

  json::array List(HttpClient& c, const std::string& path) {
    auto r = c.Get(path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=500");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) return {};
    auto v = r.Json();
    EXPECT_TRUE(v.at("next_cursor").is_null()) << r.body;
    return v.at("data").as_array();
  }
};

// ---------------------------------------------------------------- companies and tokens

TEST_F(ManagementTest, CompaniesAreCreatedAndListedWithPagination) {
  auto r = op_->Post("/v1/companies", R"({"name":"Logística del Sur S.L."})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto c = r.Json();
  EXPECT_TRUE(Str(c, "id").starts_with("co_")) << r.body;
  EXPECT_EQ(Str(c, "id").size(), 3u + 26u);
  EXPECT_EQ(Str(c, "name"), "Logística del Sur S.L.");
  auto created = ParseRfc3339Ms(Str(c, "created_at"));
  ASSERT_TRUE(created) << r.body;
  EXPECT_NEAR(static_cast<double>(*created), static_cast<double>(NowMs()), 60000.0);
  auto one = op_->Get("/v1/companies/" + Str(c, "id"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json(), c);

  std::set<std::string> ids = {company_, Str(c, "id")};
  for (int i = 0; i < 3; ++i) ids.insert(CreateCompany("Company " + std::to_string(i)));
  ASSERT_EQ(ids.size(), 5u);

  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto p = op_->Get("/v1/companies?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(p.status, 200) << p.body;
    auto v = p.Json();
    EXPECT_LE(v.at("data").as_array().size(), 2u);
    for (auto& x : v.at("data").as_array()) {
      seen.push_back(Str(x, "id"));
      EXPECT_TRUE(x.as_object().contains("name") && x.as_object().contains("created_at"));
    }
    cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), ids);
  EXPECT_EQ(seen.size(), 5u) << "a company appeared on two pages";
  // Newest first (README).
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), *ids.rbegin());
}

// A company's own retention, shorter than the server's (--retention 30d by default): set by the
// operator at creation or later, shown with the company, null for the server's; anything else
// is a 422 naming /retention, and only the operator may change it.
TEST_F(ManagementTest, TheOperatorSetsACompanysOwnShorterRetention) {
  auto one = op_->Get(Co());
  ASSERT_EQ(one.status, 200);
  EXPECT_TRUE(one.Json().at("retention").is_null()) << one.body;
  auto set = op_->Request("PATCH", Co(), R"({"retention":"7d"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Str(set.Json(), "retention"), "7d");
  EXPECT_EQ(Str(co_->Get(Co()).Json(), "retention"), "7d");  // the company sees it
  auto created = op_->Post("/v1/companies", R"({"name":"Nómina Rápida S.A.","retention":"36h"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Str(created.Json(), "retention"), "36h");
  auto cleared = op_->Request("PATCH", Co(), R"({"retention":null})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_TRUE(cleared.Json().at("retention").is_null());

  for (const char* bad : {R"({"retention":"31d"})", R"({"retention":"30m"})", R"({"retention":"soon"})",
                          R"({"retention":7})", R"({})", R"({"retention":"7d","name":"x"})"}) {
    auto r = op_->Request("PATCH", Co(), bad);
    EXPECT_EQ(r.status, 422) << bad << ": " << r.body;
    EXPECT_EQ(r.ContentType(), "application/problem+json") << bad;
    if (std::string(bad).find("name") == std::string::npos) {
      EXPECT_EQ(Str(r.Json().at("errors").as_array().at(0), "pointer"), "/retention") << bad << ": " << r.body;
    }
  }
  EXPECT_EQ(op_->Request("PATCH", Co(), "not json").status, 400);
  EXPECT_EQ(op_->Post("/v1/companies", R"({"name":"X","retention":"90d"})").status, 422);
  // Not the company's own to change; unknown companies are 404.
  EXPECT_EQ(co_->Request("PATCH", Co(), R"({"retention":"7d"})").status, 403);
  EXPECT_EQ(op_->Request("PATCH", "/v1/companies/co_01M8Y55HK62QR8MAN7ZPEWYTKV", R"({"retention":"7d"})").status, 404);
  EXPECT_TRUE(op_->Get(Co()).Json().at("retention").is_null());  // nothing half-written
}

TEST_F(ManagementTest, TokensAreShownOnceAndRevocationIsImmediate) {
  auto r = op_->Post(Co() + "/tokens", R"({"scopes":["manage"],"description":"IT provisioning"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto t = r.Json();
  std::string id = Str(t, "id"), token = Str(t, "token");
  EXPECT_TRUE(id.starts_with("tok_")) << r.body;
  EXPECT_TRUE(token.starts_with("hkd_")) << r.body;
  EXPECT_EQ(token.size(), 4u + 43u) << token;  // 256 bits, url-safe base64 (README)
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
            std::string::npos)
      << token;
  if (t.as_object().contains("scopes")) {
    EXPECT_EQ(t.at("scopes"), json::value(json::array{"manage"}));
  }

  // Two tokens are never the same.
  auto r2 = op_->Post(Co() + "/tokens", R"({"scopes":["manage"]})");
  ASSERT_EQ(r2.status, 201);
  EXPECT_NE(Str(r2.Json(), "token"), token);

  auto c = ClientWith(token);
  ASSERT_EQ(c->Get(Endpoints()).status, 200);
  // The token is not shown by anything else: a company listing does not carry it.
  EXPECT_EQ(op_->Get("/v1/companies?limit=500").body.find(token), std::string::npos);
  EXPECT_EQ(op_->Get(Co()).body.find(token), std::string::npos);

  auto del = op_->Request("DELETE", Co() + "/tokens/" + id);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(del.body.empty()) << del.body;
  auto after = c->Get(Endpoints());
  ExpectProblem(after, 401);
  EXPECT_TRUE(after.headers.contains("www-authenticate"));
  // Revoking twice: it is gone.
  ExpectProblem(op_->Request("DELETE", Co() + "/tokens/" + id), 404);
  // Other tokens of the company are untouched.
  EXPECT_EQ(ClientWith(Str(r2.Json(), "token"))->Get(Endpoints()).status, 200);
  EXPECT_EQ(co_->Get(Endpoints()).status, 200);
}

// ---------------------------------------------------------------- endpoints

TEST_F(ManagementTest, CreatedEndpointCarriesSecretAndDefaults) {
  auto ep = CreateEndpointJson(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["employee.*","contract.updated"]})");
  std::string id = Str(ep, "id");
  EXPECT_TRUE(id.starts_with("ep_")) << id;
  std::string secret = Str(ep, "secret");
  ASSERT_TRUE(secret.starts_with("whsec_")) << secret;
  auto key = Base64Decode(std::string_view(secret).substr(6));
  ASSERT_TRUE(key) << "secret is not whsec_ + base64: " << secret;
  EXPECT_EQ(key->size(), 32u) << secret;

  EXPECT_EQ(Str(ep, "url"), "https://127.0.0.2:9/it/hooks");
  EXPECT_EQ(ep.at("event_types"), (json::array{"employee.*", "contract.updated"}));
  EXPECT_TRUE(ep.at("filter").is_null());
  EXPECT_EQ(Str(ep, "signature_scheme"), "standard");
  EXPECT_EQ(ep.at("headers"), json::object());
  EXPECT_EQ(Str(ep, "ordering"), "none");
  EXPECT_EQ(ep.at("max_concurrency").to_number<int>(), 10);
  EXPECT_TRUE(ep.at("rate_limit_per_second").is_null());
  EXPECT_EQ(ep.at("timeout_ms").to_number<int>(), 15000);
  EXPECT_EQ(Str(ep, "status"), "enabled");
  EXPECT_TRUE(ep.at("disabled_reason").is_null());
  EXPECT_EQ(Str(ep, "kind"), "endpoint");
  EXPECT_TRUE(ep.as_object().contains("description"));
  ASSERT_TRUE(ParseRfc3339Ms(Str(ep, "created_at")));
  EXPECT_EQ(Str(ep, "created_at"), Str(ep, "updated_at"));

  // Every field given.
  auto full = CreateEndpointJson(R"({"url":"https://127.0.0.2:9/erp/in","description":"ERP","event_types":["*"],
      "filter":{"data.contract.salary.amount":{"$gte":50000}},"signature_scheme":"github",
      "headers":{"x-api-key":"k-123"},"ordering":"subject","max_concurrency":3,"rate_limit_per_second":20,
      "timeout_ms":5000})");
  EXPECT_EQ(Str(full, "description"), "ERP");
  EXPECT_EQ(full.at("filter"), json::parse(R"({"data.contract.salary.amount":{"$gte":50000}})"));
  EXPECT_EQ(Str(full, "signature_scheme"), "github");
  EXPECT_EQ(full.at("headers"), json::parse(R"({"x-api-key":"k-123"})"));
  EXPECT_EQ(Str(full, "ordering"), "subject");
  EXPECT_EQ(full.at("max_concurrency").to_number<int>(), 3);
  EXPECT_EQ(full.at("rate_limit_per_second").to_number<int>(), 20);
  EXPECT_EQ(full.at("timeout_ms").to_number<int>(), 5000);
  EXPECT_NE(Str(full, "secret"), secret) << "two endpoints share a secret";
}

TEST_F(ManagementTest, GetAndListNeverShowTheSecret) {
  auto created = CreateEndpointJson(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["employee.*"]})");
  std::string id = Str(created, "id"), secret = Str(created, "secret");
  std::string other = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp/in","event_types":["*"]})");

  auto g = co_->Get(Endpoints() + "/" + id);
  ASSERT_EQ(g.status, 200) << g.body;
  auto got = g.Json();
  EXPECT_FALSE(got.as_object().contains("secret")) << g.body;
  EXPECT_EQ(g.body.find(secret), std::string::npos);
  json::object expected = created.as_object();
  expected.erase("secret");
  EXPECT_EQ(got, json::value(expected));

  auto l = co_->Get(Endpoints());
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_EQ(l.body.find("whsec_"), std::string::npos) << l.body;
  std::set<std::string> ids;
  const json::value listed = l.Json();
  for (auto& e : listed.at("data").as_array()) ids.insert(Str(e, "id"));
  EXPECT_EQ(ids, (std::set<std::string>{id, other}));
  EXPECT_TRUE(l.Json().at("next_cursor").is_null());
}

TEST_F(ManagementTest, PatchIsPartialAndBumpsUpdatedAt) {
  auto created = CreateEndpointJson(
      R"({"url":"https://127.0.0.2:9/it/hooks","description":"IT","event_types":["employee.*"],"headers":{"x-api-key":"k"},"max_concurrency":4})");
  std::string id = Str(created, "id");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  auto p = co_->Request("PATCH", Endpoints() + "/" + id, R"({"description":"IT provisioning"})");
  ASSERT_EQ(p.status, 200) << p.body;
  auto patched = p.Json();
  EXPECT_EQ(Str(patched, "description"), "IT provisioning");
  EXPECT_EQ(Str(patched, "url"), "https://127.0.0.2:9/it/hooks");
  EXPECT_EQ(patched.at("event_types"), json::array{"employee.*"});
  EXPECT_EQ(patched.at("headers"), json::parse(R"({"x-api-key":"k"})"));
  EXPECT_EQ(patched.at("max_concurrency").to_number<int>(), 4);
  EXPECT_EQ(Str(patched, "created_at"), Str(created, "created_at"));
  auto before = ParseRfc3339Ms(Str(created, "updated_at")), after = ParseRfc3339Ms(Str(patched, "updated_at"));
  ASSERT_TRUE(before && after);
  EXPECT_GT(*after, *before);
  EXPECT_FALSE(patched.as_object().contains("secret"));
  // The change is stored, not just echoed.
  EXPECT_EQ(co_->Get(Endpoints() + "/" + id).Json(), patched);

  // Several fields at once; null clears the filter and the headers.
  auto p2 = co_->Request("PATCH", Endpoints() + "/" + id,
                         R"({"url":"https://127.0.0.2:9/it2/h","event_types":["time_off.approved","contract.*"],
                             "filter":{"data.request.type":"vacation"},"timeout_ms":3000})");
  ASSERT_EQ(p2.status, 200) << p2.body;
  EXPECT_EQ(Str(p2.Json(), "url"), "https://127.0.0.2:9/it2/h");
  EXPECT_EQ(p2.Json().at("event_types"), (json::array{"time_off.approved", "contract.*"}));
  EXPECT_EQ(p2.Json().at("filter"), json::parse(R"({"data.request.type":"vacation"})"));
  EXPECT_EQ(p2.Json().at("timeout_ms").to_number<int>(), 3000);
  EXPECT_EQ(Str(p2.Json(), "description"), "IT provisioning");
  auto p3 = co_->Request("PATCH", Endpoints() + "/" + id, R"({"filter":null,"headers":null})");
  ASSERT_EQ(p3.status, 200) << p3.body;
  EXPECT_TRUE(p3.Json().at("filter").is_null());
  EXPECT_EQ(p3.Json().at("headers"), json::object());
  EXPECT_EQ(Str(p3.Json(), "url"), "https://127.0.0.2:9/it2/h");
  // The secret did not change through PATCH.
  EXPECT_EQ(Str(co_->Get(Endpoints() + "/" + id + "/secret").Json(), "secret"), Str(created, "secret"));
}

// Issue 11: GET gives the endpoint's version as its ETag; PATCH with If-Match is refused on a
// stale one instead of undoing another admin's edit.
TEST_F(ManagementTest, EtagAndIfMatchMakeConcurrentEditsSafe) {
  auto created = co_->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"]})");
  ASSERT_EQ(created.status, 201);
  EXPECT_EQ(created.headers["etag"], "\"1\"");
  const std::string ep = Str(created.Json(), "id");
  auto get = co_->Get(Endpoints() + "/" + ep);
  EXPECT_EQ(get.headers["etag"], "\"1\"");
  auto patch = [&](const std::string& body, std::vector<std::string> headers) {
    return co_->Request("PATCH", Endpoints() + "/" + ep, body, headers);
  };
  auto first = patch(R"({"description":"Alice's"})", {"If-Match: \"1\""});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["etag"], "\"2\"");
  // Bob edited from the same read: refused, and Alice's edit stays.
  auto stale = patch(R"({"description":"Bob's"})", {"If-Match: \"1\""});
  auto p = ExpectProblem(stale, 412);
  EXPECT_NE(std::string(p.at("detail").as_string()).find("now \"2\""), std::string::npos) << stale.body;
  EXPECT_EQ(Str(co_->Get(Endpoints() + "/" + ep).Json(), "description"), "Alice's");
  ExpectProblem(patch(R"({"description":"x"})", {"If-Match: W/\"2\""}), 412);
  ExpectProblem(patch(R"({"description":"x"})", {"If-Match: garbage"}), 412);
  // * matches any version; no If-Match at all applies the fields to the current endpoint.
  EXPECT_EQ(patch(R"({"description":"any"})", {"If-Match: *"}).headers["etag"], "\"3\"");
  EXPECT_EQ(patch(R"({"timeout_ms":2000})", {}).headers["etag"], "\"4\"");
  // A rotated secret is a new version; what hookd itself changes (disable) is not.
  ASSERT_EQ(co_->Post(Endpoints() + "/" + ep + "/rotate-secret", "").status, 200);
  EXPECT_EQ(co_->Get(Endpoints() + "/" + ep).headers["etag"], "\"5\"");
  ASSERT_EQ(co_->Post(Endpoints() + "/" + ep + "/disable", "").status, 200);
  EXPECT_EQ(co_->Get(Endpoints() + "/" + ep).headers["etag"], "\"5\"");
  // Another company's endpoint stays 404 whatever the header.
  auto other = ClientWith(CreateToken(CreateCompany("Other S.L."), {"manage"}));
  ExpectProblem(other->Request("PATCH", "/v1/companies/" + company_ + "/endpoints/" + ep, "{}", {"If-Match: \"5\""}), 404);
}

TEST_F(ManagementTest, SecretIsReadableAndRotatesWithGrace) {
  auto created = CreateEndpointJson(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["*"]})");
  std::string id = Str(created, "id"), original = Str(created, "secret");
  const std::string base = Endpoints() + "/" + id;

  auto s = co_->Get(base + "/secret");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(Str(s.Json(), "secret"), original);
  EXPECT_FALSE(s.Json().as_object().contains("previous_secret_expires_at")) << s.body;

  auto rot = co_->Post(base + "/rotate-secret", "");
  ASSERT_EQ(rot.status, 200) << rot.body;
  std::string rotated = Str(rot.Json(), "secret");
  EXPECT_NE(rotated, original);
  ASSERT_TRUE(rotated.starts_with("whsec_"));
  auto key = Base64Decode(std::string_view(rotated).substr(6));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
  auto expires = ParseRfc3339Ms(Str(rot.Json(), "previous_secret_expires_at"));
  ASSERT_TRUE(expires) << rot.body;
  EXPECT_NEAR(static_cast<double>(*expires), static_cast<double>(NowMs() + 86400 * 1000LL), 60000.0) << rot.body;
  // The old secret is not echoed back.
  EXPECT_EQ(rot.body.find(original), std::string::npos);

  auto s2 = co_->Get(base + "/secret");
  ASSERT_EQ(s2.status, 200);
  EXPECT_EQ(Str(s2.Json(), "secret"), rotated);
  EXPECT_EQ(Str(s2.Json(), "previous_secret_expires_at"), Str(rot.Json(), "previous_secret_expires_at"));

  // An explicit grace.
  auto rot2 = co_->Post(base + "/rotate-secret", R"({"grace_seconds":60})");
  ASSERT_EQ(rot2.status, 200) << rot2.body;
  EXPECT_NE(Str(rot2.Json(), "secret"), rotated);
  auto exp2 = ParseRfc3339Ms(Str(rot2.Json(), "previous_secret_expires_at"));
  ASSERT_TRUE(exp2);
  EXPECT_NEAR(static_cast<double>(*exp2), static_cast<double>(NowMs() + 60 * 1000), 30000.0);

  // No grace: the old secret stops at once.
  auto rot3 = co_->Post(base + "/rotate-secret", R"({"grace_seconds":0})");
  ASSERT_EQ(rot3.status, 200) << rot3.body;
  EXPECT_FALSE(rot3.Json().as_object().contains("previous_secret_expires_at")) << rot3.body;
  ExpectProblem(co_->Post(base + "/rotate-secret", R"({"grace_seconds":-1})"), 422);
  EXPECT_EQ(Str(co_->Get(base + "/secret").Json(), "secret"), Str(rot3.Json(), "secret"));
}

TEST_F(ManagementTest, DisableAndEnable) {
  std::string id = CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["*"]})");
  const std::string base = Endpoints() + "/" + id;
  auto d = co_->Post(base + "/disable", "");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Str(d.Json(), "status"), "disabled");
  EXPECT_EQ(Str(d.Json(), "disabled_reason"), "manual");
  EXPECT_EQ(Str(co_->Get(base).Json(), "status"), "disabled");

  auto e = co_->Post(base + "/enable", "");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(Str(e.Json(), "status"), "enabled");
  EXPECT_TRUE(e.Json().at("disabled_reason").is_null()) << e.body;
  EXPECT_EQ(e.Json().at("released").to_number<int>(), 0);
  EXPECT_EQ(Str(co_->Get(base).Json(), "status"), "enabled");

  // enable {release_held:false} keeps held deliveries held.
  ASSERT_EQ(co_->Post(base + "/disable", "").status, 200);
  Publish(HiredEvent());
  ASSERT_EQ(List(*co_, Deliveries() + "?status=held").size(), 1u);
  auto keep = co_->Post(base + "/enable", R"({"release_held":false})");
  ASSERT_EQ(keep.status, 200) << keep.body;
  EXPECT_EQ(keep.Json().at("released").to_number<int>(), 0);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=held").size(), 1u);
}

TEST_F(ManagementTest, DeleteEndpointDropsItsPendingDeliveries) {
  std::string gone = CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["*"]})");
  std::string kept = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp/in","event_types":["*"]})");
  std::string held = CreateEndpoint(R"({"url":"https://127.0.0.2:9/held/in","event_types":["*"]})");
  ASSERT_EQ(co_->Post(Endpoints() + "/" + held + "/disable", "").status, 200);
  std::string ev = Publish(HiredEvent());
  auto mine = List(*co_, Deliveries() + "?endpoint_id=" + gone);
  ASSERT_EQ(mine.size(), 1u);
  std::string dlv = Str(mine[0], "id");
  ASSERT_EQ(List(*co_, Deliveries() + "?endpoint_id=" + held).size(), 1u);

  auto del = co_->Request("DELETE", Endpoints() + "/" + gone);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_TRUE(del.body.empty());
  ExpectProblem(co_->Get(Endpoints() + "/" + gone), 404);
  ExpectProblem(co_->Get(Endpoints() + "/" + gone + "/secret"), 404);
  ExpectProblem(co_->Request("DELETE", Endpoints() + "/" + gone), 404);
  EXPECT_EQ(List(*co_, Deliveries() + "?endpoint_id=" + gone).size(), 0u);
  ExpectProblem(co_->Get(Deliveries() + "/" + dlv), 404);
  // Held deliveries of a deleted endpoint go too.
  ASSERT_EQ(co_->Request("DELETE", Endpoints() + "/" + held).status, 204);
  EXPECT_EQ(List(*co_, Deliveries() + "?endpoint_id=" + held).size(), 0u);
  // The other endpoint's delivery and the event stay.
  EXPECT_EQ(List(*co_, Deliveries() + "?event_id=" + ev).size(), 1u);
  EXPECT_EQ(List(*co_, Deliveries() + "?endpoint_id=" + kept).size(), 1u);
  EXPECT_EQ(co_->Get(Events() + "/" + ev).status, 200);
  auto eps = List(*co_, Endpoints());
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(Str(eps[0], "id"), kept);
  // New events no longer fan out to it.
  auto r = co_->Post(Events(), HiredEvent("emp_2"));
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(r.Json().at("deliveries").to_number<int>(), 1);
}

// ---------------------------------------------------------------- event catalog

TEST_F(ManagementTest, EventCatalogListsBuiltinTypesWithSchemaAndExample) {
  const std::set<std::string> expected = {
      "employee.hired",        "employee.left",          "employee.department_changed",
      "time_off.requested",    "time_off.approved",      "time_off.rejected",
      "time_entry.clocked_in", "time_entry.clocked_out", "contract.created",
      "contract.updated",      "onboarding.started",     "onboarding.completed",
      "webhook.test"};
  // Any token can read the catalog, a publish-only one too.
  for (auto* c : {co_.get(), op_.get()}) {
    auto r = c->Get("/v1/event-types");
    ASSERT_EQ(r.status, 200) << r.body;
    std::set<std::string> names;
    const json::value catalog = r.Json();
    for (auto& t : catalog.at("data").as_array()) {
      std::string name = Str(t, "name");
      names.insert(name);
      SCOPED_TRACE(name);
      EXPECT_FALSE(Str(t, "description").empty());
      ASSERT_TRUE(t.as_object().contains("schema"));
      EXPECT_TRUE(t.at("schema").is_object());
      EXPECT_FALSE(t.at("schema").as_object().empty());
      ASSERT_TRUE(t.as_object().contains("example"));
      EXPECT_TRUE(t.at("example").is_object());
      EXPECT_FALSE(t.at("example").as_object().empty());
    }
    EXPECT_EQ(names, expected);
  }
  auto pub = ClientWith(CreateToken(company_, {"publish"}));
  EXPECT_EQ(pub->Get("/v1/event-types").status, 200);

  auto one = co_->Get("/v1/event-types/employee.hired");
  ASSERT_EQ(one.status, 200) << one.body;
  auto t = one.Json();
  EXPECT_EQ(Str(t, "name"), "employee.hired");
  auto required = t.at("schema").at("properties").at("employee").at("required").as_array();
  for (const char* f : {"id", "first_name", "last_name", "email", "start_date"})
    EXPECT_NE(std::find(required.begin(), required.end(), json::value(f)), required.end()) << f;
  EXPECT_TRUE(t.at("example").at("employee").is_object());
  // The catalog example is itself publishable.
  auto ex = co_->Post(Events(), json::object{{"type", "employee.hired"}, {"data", t.at("example")}});
  EXPECT_EQ(ex.status, 202) << ex.body;

  ExpectProblem(co_->Get("/v1/event-types/employee.promoted"), 404);
  ExpectProblem(co_->Get("/v1/event-types/nope"), 404);
}

TEST_F(ManagementTest, OperatorAddsCustomEventTypeThatCanBePublished) {
  const json::value def = json::parse(R"({
    "name":"payroll.closed",
    "description":"A payroll period was closed.",
    "subject":"/payroll/id",
    "schema":{"type":"object","required":["payroll"],"properties":{"payroll":{"type":"object",
      "required":["id","period"],"properties":{"id":{"type":"string"},"period":{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}$"}}}}},
    "example":{"payroll":{"id":"pay_2026_11","period":"2026-11"}}})");
  auto r = op_->Post("/v1/event-types", def);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Str(r.Json(), "name"), "payroll.closed");
  EXPECT_EQ(r.Json().at("schema"), def.at("schema"));
  EXPECT_EQ(r.Json().at("example"), def.at("example"));

  auto g = co_->Get("/v1/event-types/payroll.closed");
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.Json().at("schema"), def.at("schema"));
  bool listed = false;
  const json::value catalog = co_->Get("/v1/event-types").Json();
  for (auto& t : catalog.at("data").as_array())
    listed = listed || Str(t, "name") == "payroll.closed";
  EXPECT_TRUE(listed);

  // Endpoints can subscribe to it (exactly and by family), and it can be published.
  std::string exact = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp/in","event_types":["payroll.closed"]})");
  std::string fam = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp2/in","event_types":["payroll.*"]})");
  CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/in","event_types":["employee.*"]})");
  auto p = co_->Post(Events(), R"({"type":"payroll.closed","data":{"payroll":{"id":"pay_1","period":"2026-12"}}})");
  ASSERT_EQ(p.status, 202) << p.body;
  EXPECT_EQ(p.Json().at("deliveries").to_number<int>(), 2);
  std::string ev = Str(p.Json(), "id");
  std::set<std::string> eps;
  for (auto& d : List(*co_, Deliveries() + "?event_id=" + ev)) eps.insert(Str(d, "endpoint_id"));
  EXPECT_EQ(eps, (std::set<std::string>{exact, fam}));
  auto stored = co_->Get(Events() + "/" + ev);
  ASSERT_EQ(stored.status, 200);
  EXPECT_EQ(Str(stored.Json(), "subject"), "pay_1");
  // Its schema is enforced.
  auto bad = co_->Post(Events(), R"({"type":"payroll.closed","data":{"payroll":{"id":"pay_1","period":"December"}}})");
  auto prob = ExpectProblem(bad, 422);
  ASSERT_TRUE(prob.contains("errors")) << bad.body;
  EXPECT_EQ(prob.at("errors").as_array()[0].at("pointer").as_string(), "/data/payroll/period") << bad.body;

  // Adding it again, or over a built-in type: 409.
  ExpectProblem(op_->Post("/v1/event-types", def), 409);
  json::value builtin = def;
  builtin.as_object()["name"] = "employee.hired";
  builtin.as_object()["subject"] = nullptr;
  ExpectProblem(op_->Post("/v1/event-types", builtin), 409);
  EXPECT_EQ(Str(co_->Get("/v1/event-types/employee.hired").Json(), "description").find("payroll"), std::string::npos);

  // An example that fails its own schema: 422 pointing into the example; nothing added.
  json::value broken = def;
  broken.as_object()["name"] = "payroll.reopened";
  broken.as_object()["example"] = json::parse(R"({"payroll":{"id":"pay_1","period":"last month"}})");
  auto b = op_->Post("/v1/event-types", broken);
  auto bp = ExpectProblem(b, 422);
  ASSERT_TRUE(bp.contains("errors")) << b.body;
  EXPECT_EQ(bp.at("errors").as_array()[0].at("pointer").as_string(), "/example/payroll/period") << b.body;
  ExpectProblem(co_->Get("/v1/event-types/payroll.reopened"), 404);

  // A company token cannot add types.
  json::value other = def;
  other.as_object()["name"] = "payroll.opened";
  ExpectProblem(co_->Post("/v1/event-types", other), 403);
  ExpectProblem(co_->Get("/v1/event-types/payroll.opened"), 404);

  // Custom types survive a restart.
  hookd_->Restart();
  auto c = ClientWith(company_token_);
  EXPECT_EQ(c->Get("/v1/event-types/payroll.closed").status, 200);
  EXPECT_EQ(c->Post(Events(), R"({"type":"payroll.closed","data":{"payroll":{"id":"pay_2","period":"2027-01"}}})").status,
            202);
}

// ---------------------------------------------------------------- health and docs

TEST_F(ManagementTest, HealthReadinessAndOpenApiNeedNoToken) {
  HttpClient anon(hookd_->BaseUrl());
  auto h = anon.Get("/healthz");
  EXPECT_EQ(h.status, 200) << h.body;
  auto r = anon.Get("/readyz");
  EXPECT_EQ(r.status, 200) << r.body;
  auto o = anon.Get("/openapi.json");
  ASSERT_EQ(o.status, 200);
  EXPECT_TRUE(o.ContentType().starts_with("application/json")) << o.ContentType();
  auto doc = o.Json();
  ASSERT_TRUE(doc.is_object());
  ASSERT_TRUE(doc.as_object().contains("openapi"));
  EXPECT_TRUE(Str(doc, "openapi").starts_with("3.1")) << Str(doc, "openapi");
  ASSERT_TRUE(doc.as_object().contains("paths"));
  EXPECT_TRUE(doc.at("paths").as_object().contains("/v1/companies/{cid}/events") ||
              doc.at("paths").as_object().contains("/v1/companies/{company_id}/events"))
      << "the events path is not documented";
}

// ---------------------------------------------------------------- deliveries

TEST_F(ManagementTest, DeliveriesAreListedFilteredAndFetched) {
  std::string a = CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["employee.*"]})");
  std::string b = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp/in","event_types":["*"]})");
  std::string e1 = Publish(HiredEvent("emp_1"));
  std::string e2 = Publish(HiredEvent("emp_2"));

  EXPECT_EQ(List(*co_, Deliveries()).size(), 4u);
  auto by_a = List(*co_, Deliveries() + "?endpoint_id=" + a);
  ASSERT_EQ(by_a.size(), 2u);
  for (auto& d : by_a) EXPECT_EQ(Str(d, "endpoint_id"), a);
  auto by_e1 = List(*co_, Deliveries() + "?event_id=" + e1);
  ASSERT_EQ(by_e1.size(), 2u);
  for (auto& d : by_e1) EXPECT_EQ(Str(d, "event_id"), e1);
  auto both = List(*co_, Deliveries() + "?endpoint_id=" + b + "&event_id=" + e2);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=pending").size(), 4u);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=pending&endpoint_id=" + a).size(), 2u);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=failed").size(), 0u);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=succeeded").size(), 0u);
  EXPECT_EQ(List(*co_, Deliveries() + "?status=held").size(), 0u);

  // Pagination over deliveries.
  auto page = co_->Get(Deliveries() + "?limit=3");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json().at("data").as_array().size(), 3u);
  ASSERT_TRUE(page.Json().at("next_cursor").is_string()) << page.body;
  auto rest = co_->Get(Deliveries() + "?limit=3&cursor=" + Str(page.Json(), "next_cursor"));
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(rest.Json().at("data").as_array().size(), 1u);

  std::string id = Str(both[0], "id");
  EXPECT_TRUE(id.starts_with("dlv_"));
  auto g = co_->Get(Deliveries() + "/" + id);
  ASSERT_EQ(g.status, 200) << g.body;
  auto d = g.Json();
  for (const char* k : {"id", "event_id", "endpoint_id", "status", "attempts", "next_attempt_at", "last_attempt_at",
                        "created_at"})
    EXPECT_TRUE(d.as_object().contains(k)) << k << " missing: " << g.body;
  EXPECT_EQ(Str(d, "id"), id);
  EXPECT_EQ(Str(d, "event_id"), e2);
  EXPECT_EQ(Str(d, "endpoint_id"), b);
  EXPECT_EQ(Str(d, "created_at"), Str(both[0], "created_at"));
  // The dispatcher may already have tried (these hosts do not resolve): still pending.
  EXPECT_EQ(Str(d, "status"), "pending");
  EXPECT_TRUE(ParseRfc3339Ms(Str(d, "created_at")));
  EXPECT_TRUE(ParseRfc3339Ms(Str(d, "next_attempt_at"))) << g.body;

  // Attempts of a delivery: only its own, newest first.
  auto att = co_->Get(Deliveries() + "/" + id + "/attempts");
  ASSERT_EQ(att.status, 200) << att.body;
  const json::value attempts = att.Json();
  int last_number = 1 << 30;
  for (auto& a : attempts.at("data").as_array()) {
    EXPECT_EQ(Str(a, "delivery_id"), id);
    EXPECT_TRUE(Str(a, "id").starts_with("att_"));
    int n = a.at("number").to_number<int>();
    EXPECT_LT(n, last_number) << att.body;
    last_number = n;
  }

  // A held delivery (disabled endpoint) has no attempts yet.
  std::string off = CreateEndpoint(R"({"url":"https://127.0.0.2:9/off/in","event_types":["*"]})");
  ASSERT_EQ(co_->Post(Endpoints() + "/" + off + "/disable", "").status, 200);
  std::string e3 = Publish(HiredEvent("emp_3"));
  auto held = List(*co_, Deliveries() + "?endpoint_id=" + off);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(Str(held[0], "status"), "held");
  EXPECT_EQ(Str(held[0], "event_id"), e3);
  EXPECT_EQ(held[0].at("attempts").to_number<int>(), 0);
  EXPECT_TRUE(held[0].at("last_attempt_at").is_null());
  auto none = co_->Get(Deliveries() + "/" + Str(held[0], "id") + "/attempts");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.Json().at("data").as_array().empty()) << none.body;
  EXPECT_TRUE(none.Json().at("next_cursor").is_null());
  EXPECT_EQ(List(*co_, Deliveries() + "?status=held").size(), 1u);
}

TEST_F(ManagementTest, RetryRequeuesTheDelivery) {
  CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["*"]})");
  std::string ev = Publish(HiredEvent());
  auto ds = List(*co_, Deliveries() + "?event_id=" + ev);
  ASSERT_EQ(ds.size(), 1u);
  std::string id = Str(ds[0], "id");
  auto r = co_->Post(Deliveries() + "/" + id + "/retry", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Str(r.Json(), "id"), id);
  EXPECT_EQ(Str(r.Json(), "status"), "pending");
  auto next = ParseRfc3339Ms(Str(r.Json(), "next_attempt_at"));
  ASSERT_TRUE(next) << r.body;
  EXPECT_LE(*next, NowMs() + 5000);
  EXPECT_EQ(Str(co_->Get(Deliveries() + "/" + id).Json(), "status"), "pending");
  // Retrying a held delivery releases it for an attempt now.
  std::string held_ep = CreateEndpoint(R"({"url":"https://127.0.0.2:9/held/in","event_types":["*"]})");
  ASSERT_EQ(co_->Post(Endpoints() + "/" + held_ep + "/disable", "").status, 200);
  Publish(HiredEvent("emp_2"));
  auto held = List(*co_, Deliveries() + "?status=held");
  ASSERT_EQ(held.size(), 1u);
  auto rh = co_->Post(Deliveries() + "/" + Str(held[0], "id") + "/retry", "");
  ASSERT_EQ(rh.status, 202) << rh.body;
  EXPECT_EQ(Str(rh.Json(), "status"), "pending");
}

TEST_F(ManagementTest, RecoverNeedsSinceAndRequeuesFailedOnes) {
  std::string id = CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["*"]})");
  Publish(HiredEvent());
  const std::string path = Endpoints() + "/" + id + "/recover";
  auto r = co_->Post(path, R"({"since":"2026-01-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"requeued":0})"));
  auto r2 = co_->Post(path, R"({"since":"2026-01-01T00:00:00.000Z"})");
  EXPECT_EQ(r2.status, 200) << r2.body;

  auto p = ExpectProblem(co_->Post(path, "{}"), 422);
  ASSERT_TRUE(p.contains("errors"));
  EXPECT_EQ(p.at("errors").as_array()[0].at("pointer").as_string(), "/since");
  auto p2 = ExpectProblem(co_->Post(path, R"({"since":"last week"})"), 422);
  ASSERT_TRUE(p2.contains("errors"));
  EXPECT_EQ(p2.at("errors").as_array()[0].at("pointer").as_string(), "/since");
  ExpectProblem(co_->Post(path, R"({"since":1764151200})"), 422);
  // The pending delivery was not touched.
  EXPECT_EQ(List(*co_, Deliveries() + "?status=pending").size(), 1u);
}

TEST_F(ManagementTest, TestEventGoesToThatEndpointOnly) {
  // Subscribed to something else: the test event goes anyway, and only there.
  std::string id = CreateEndpoint(R"({"url":"https://127.0.0.2:9/it/hooks","event_types":["time_off.approved"]})");
  std::string other = CreateEndpoint(R"({"url":"https://127.0.0.2:9/erp/in","event_types":["*"]})");
  auto r = co_->Post(Endpoints() + "/" + id + "/test", "");
  ASSERT_EQ(r.status, 202) << r.body;
  auto out = r.Json();
  std::string ev = Str(out, "event_id"), dlv = Str(out, "delivery_id");
  EXPECT_TRUE(ev.starts_with("evt_")) << r.body;
  EXPECT_TRUE(dlv.starts_with("dlv_")) << r.body;

  auto d = co_->Get(Deliveries() + "/" + dlv);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(Str(d.Json(), "endpoint_id"), id);
  EXPECT_EQ(Str(d.Json(), "event_id"), ev);
  EXPECT_EQ(Str(d.Json(), "status"), "pending");
  auto all = List(*co_, Deliveries() + "?event_id=" + ev);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(List(*co_, Deliveries() + "?endpoint_id=" + other).size(), 0u);

  auto e = co_->Get(Events() + "/" + ev);
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(Str(e.Json(), "type"), "webhook.test");
  auto payload = json::parse(Str(e.Json(), "payload"));
  EXPECT_EQ(Str(payload, "type"), "webhook.test");
  EXPECT_EQ(Str(payload, "id"), ev);
  EXPECT_EQ(Str(payload, "company_id"), company_);
  EXPECT_FALSE(Str(payload.at("data"), "message").empty());

  // A disabled endpoint's test is held, like any other delivery to it.
  ASSERT_EQ(co_->Post(Endpoints() + "/" + id + "/disable", "").status, 200);
  auto r2 = co_->Post(Endpoints() + "/" + id + "/test", "");
  ASSERT_EQ(r2.status, 202) << r2.body;
  EXPECT_EQ(Str(co_->Get(Deliveries() + "/" + Str(r2.Json(), "delivery_id")).Json(), "status"), "held");
}

}  // namespace
}  // namespace hookd::testing
