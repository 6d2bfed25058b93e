// Every bad request gets a clear application/problem+json answer — right status, a
// pointer to each bad field — and changes nothing: afterwards the listings show no new
// company, endpoint, event or delivery, and no usable token was issued.
#include <string>
#include <vector>

#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

// Well-formed ids (prefix + 26 Crockford base32 characters) that were never issued.
constexpr const char* kNoSuchUlid = "01JD8Z6Q4W9X2B7C5N3M1K0PRS";

bool HasPointer(const json::object& problem, const std::string& pointer) {
  auto* errs = problem.if_contains("errors");
  if (!errs || !errs->is_array()) return false;
  for (const auto& e : errs->as_array()) {
    if (!e.is_object()) continue;
    auto* p = e.as_object().if_contains("pointer");
    auto* m = e.as_object().if_contains("message");
    if (p && p->is_string() && p->as_string() == pointer && m && m->is_string() && !m->as_string().empty())
      return true;
  }
  return false;
}

std::vector<std::string> Pointers(const json::object& problem) {
  std::vector<std::string> out;
  if (auto* errs = problem.if_contains("errors"); errs && errs->is_array())
    for (const auto& e : errs->as_array())
      if (e.is_object() && e.as_object().contains("pointer") && e.at("pointer").is_string())
        out.emplace_back(e.at("pointer").as_string());
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// A problem answer with `status` whose errors[] has an entry at `pointer`.
json::object ExpectProblemAt(const HttpResult& r, long status, const std::string& pointer) {
  if (r.status != status) {
    ADD_FAILURE() << "expected " << status << " with an error at '" << pointer << "', got " << r.status << ": "
                  << r.body;
    return {};
  }
  json::object p = ExpectProblem(r, status);
  EXPECT_TRUE(HasPointer(p, pointer)) << "expected an error at '" << pointer << "', got pointers ["
                                      << Join(Pointers(p)) << "]: " << r.body;
  if (auto* d = p.if_contains("detail"); d && d->is_string()) {
    EXPECT_FALSE(d->as_string().empty());
  }
  return p;
}

class ApiErrorsTest : public HookdTest {
 protected:
  void SetUp() override {
    HookdTest::SetUp();
    // A catch-all endpoint: an event that slipped through would also create a delivery.
    endpoint_ = CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/erp/hooks","event_types":["*"]})"));
  }

  std::string Co() const { return "/v1/companies/" + company_; }
  std::string Events() const { return Co() + "/events"; }
  std::string Endpoints() const { return Co() + "/endpoints"; }
  std::string Deliveries() const { return Co() + "/deliveries"; }

  std::string CreateEndpoint(const json::value& body) {
    auto r = co_->Post(Endpoints(), body);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return "";
    return std::string(r.Json().at("id").as_string());
  }

  size_t Count(HttpClient& c, const std::string& path) {
    auto r = c.Get(path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=500");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) return static_cast<size_t>(-1);
    return r.Json().at("data").as_array().size();
  }

  struct Snapshot {
    size_t companies, endpoints, events, deliveries;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot Snap() {
    return {Count(*op_, "/v1/companies"), Count(*co_, Endpoints()), Count(*co_, Events()),
            Count(*co_, Deliveries())};
  }
  void ExpectUnchanged(const Snapshot& before, const std::string& what) {
    Snapshot now = Snap();
    EXPECT_EQ(now.companies, before.companies) << what << ": a company was created";
    EXPECT_EQ(now.endpoints, before.endpoints) << what << ": an endpoint was created";
    EXPECT_EQ(now.events, before.events) << what << ": an event was stored";
    EXPECT_EQ(now.deliveries, before.deliveries) << what << ": a delivery was created";
  }

  // POST an endpoint body that must be refused with 422 at `pointer`; nothing is created.
  void ExpectEndpointRefused(const std::string& body, const std::string& pointer) {
    SCOPED_TRACE(body);
    Snapshot before = Snap();
    ExpectProblemAt(co_->Post(Endpoints(), body), 422, pointer);
    ExpectUnchanged(before, body);
  }

  // POST an event body that must be refused with 422 at `pointer`; nothing is stored.
  void ExpectEventRefused(const std::string& body, const std::string& pointer) {
    SCOPED_TRACE(body);
    Snapshot before = Snap();
    ExpectProblemAt(co_->Post(Events(), body), 422, pointer);
    ExpectUnchanged(before, body);
  }

  static std::string Hired(const std::string& employee_fields) {
    return R"({"type":"employee.hired","data":{"employee":{)" + employee_fields + "}}}";
  }

  std::string endpoint_;
};

// ---------------------------------------------------------------- malformed JSON → 400

TEST_F(ApiErrorsTest, MalformedJsonIs400EverywhereAndWritesNothing) {
  const std::vector<std::string> bodies = {R"({"type":"employee.hired",)", "not json", R"({"a":1}})", "{'a':1}", ""};
  for (const auto& body : bodies) {
    SCOPED_TRACE("body: [" + body + "]");
    Snapshot before = Snap();
    ExpectProblem(co_->Post(Events(), body), 400);
    ExpectProblem(co_->Post(Events() + "/batch", body), 400);
    ExpectProblem(co_->Post(Endpoints(), body), 400);
    ExpectProblem(co_->Request("PATCH", Endpoints() + "/" + endpoint_, body), 400);
    ExpectProblem(op_->Post("/v1/companies", body), 400);
    auto tok = op_->Post(Co() + "/tokens", body);
    ExpectProblem(tok, 400);
    EXPECT_EQ(tok.body.find("hkd_"), std::string::npos) << "a token was issued: " << tok.body;
    ExpectProblem(op_->Post("/v1/event-types", body), 400);
    ExpectUnchanged(before, body);
  }
  // The endpoint PATCHed with garbage is as it was.
  auto ep = co_->Get(Endpoints() + "/" + endpoint_);
  ASSERT_EQ(ep.status, 200);
  EXPECT_EQ(ep.Json().at("url").as_string(), "https://127.0.0.2:9/erp/hooks");
}

// ---------------------------------------------------------------- event validation → 422

TEST_F(ApiErrorsTest, UnknownEventTypeIs422AtType) {
  ExpectEventRefused(R"({"type":"employee.promoted","data":{"employee":{"id":"e1"}}})", "/type");
  ExpectEventRefused(R"({"type":"payroll.closed","data":{}})", "/type");
  ExpectEventRefused(R"({"data":{"employee":{"id":"e1"}}})", "/type");        // missing
  ExpectEventRefused(R"({"type":42,"data":{}})", "/type");                     // not a string
  ExpectEventRefused(R"({"type":"","data":{}})", "/type");
  // webhook.test is sent by POST …/endpoints/{id}/test only (README).
  ExpectEventRefused(R"({"type":"webhook.test","data":{"message":"hi"}})", "/type");
  auto p = ExpectProblem(co_->Post(Events(), R"({"type":"employee.promoted","data":{}})"), 422);
  EXPECT_NE(p.at("detail").as_string().find("employee.promoted"), json::string::npos) << json::serialize(p);
}

TEST_F(ApiErrorsTest, SchemaViolationsPointAtEachBadField) {
  const std::string ok_rest = R"("first_name":"Ana","last_name":"Ruiz","start_date":"2026-12-01")";
  // A malformed email.
  ExpectEventRefused(Hired(R"("id":"e1","email":"not-an-email",)" + ok_rest), "/data/employee/email");
  // Missing required fields: the validator reports each missing one at its own pointer.
  {
    Snapshot before = Snap();
    auto r = co_->Post(Events(), Hired(R"("id":"e1","first_name":"Ana","last_name":"Ruiz")"));
    auto p = ExpectProblemAt(r, 422, "/data/employee/email");
    EXPECT_TRUE(HasPointer(p, "/data/employee/start_date")) << r.body;
    EXPECT_FALSE(HasPointer(p, "/data/employee/first_name")) << r.body;
    ExpectUnchanged(before, "missing required");
  }
  ExpectEventRefused(Hired(R"("id":"e1","email":"a@b.example","last_name":"Ruiz","start_date":"2026-12-01")"),
                     "/data/employee/first_name");
  ExpectEventRefused(R"({"type":"employee.hired","data":{}})", "/data/employee");
  // A date that is not YYYY-MM-DD, and an impossible one.
  ExpectEventRefused(Hired(R"("id":"e1","email":"a@b.example","first_name":"Ana","last_name":"Ruiz","start_date":"01/12/2026")"),
                     "/data/employee/start_date");
  ExpectEventRefused(Hired(R"("id":"e1","email":"a@b.example","first_name":"Ana","last_name":"Ruiz","start_date":"2026-13-45")"),
                     "/data/employee/start_date");
  // Wrong JSON types inside data.
  ExpectEventRefused(Hired(R"("id":1001,"email":"a@b.example",)" + ok_rest), "/data/employee/id");
  ExpectEventRefused(R"({"type":"employee.hired","data":{"employee":"emp_1"}})", "/data/employee");
  // Several bad fields: one entry per field.
  {
    auto r = co_->Post(Events(), Hired(R"("id":"e1","email":"x","first_name":7,"last_name":"Ruiz","start_date":"tomorrow")"));
    auto p = ExpectProblemAt(r, 422, "/data/employee/email");
    EXPECT_TRUE(HasPointer(p, "/data/employee/first_name")) << r.body;
    EXPECT_TRUE(HasPointer(p, "/data/employee/start_date")) << r.body;
  }
  // Other families: an enum and a nested required field.
  ExpectEventRefused(
      R"({"type":"time_off.requested","data":{"request":{"id":"tor_1","employee_id":"emp_1","type":"holiday","start_date":"2026-08-03","end_date":"2026-08-14"}}})",
      "/data/request/type");
  ExpectEventRefused(
      R"({"type":"contract.created","data":{"contract":{"id":"c1","employee_id":"emp_1","type":"permanent","start_date":"2026-01-12","salary":{"amount":42000}}}})",
      "/data/contract/salary/currency");
  EXPECT_EQ(Count(*co_, Events()), 0u);
}

TEST_F(ApiErrorsTest, WrongEnvelopeTypesAre422AtTheirField) {
  ExpectEventRefused(R"({"type":"employee.hired","data":"emp_1"})", "/data");
  ExpectEventRefused(R"({"type":"employee.hired","data":[1,2]})", "/data");
  ExpectEventRefused(R"({"type":"employee.hired"})", "/data");
  json::value ev = HiredEvent();
  ev.as_object()["subject"] = 1001;
  ExpectEventRefused(json::serialize(ev), "/subject");
  ev = HiredEvent();
  ev.as_object()["subject"] = "";
  ExpectEventRefused(json::serialize(ev), "/subject");
  ev = HiredEvent();
  ev.as_object()["subject"] = std::string(256, 's');
  ExpectEventRefused(json::serialize(ev), "/subject");
  ev = HiredEvent();
  ev.as_object()["occurred_at"] = "yesterday";
  ExpectEventRefused(json::serialize(ev), "/occurred_at");
  ev = HiredEvent();
  ev.as_object()["occurred_at"] = "2026-11-26";
  ExpectEventRefused(json::serialize(ev), "/occurred_at");
  ev = HiredEvent();
  ev.as_object()["occurred_at"] = 1764151200;
  ExpectEventRefused(json::serialize(ev), "/occurred_at");
  // Unknown envelope fields are refused (README: catches typos).
  ev = HiredEvent();
  ev.as_object()["ocurred_at"] = "2026-11-26T10:00:00.000Z";
  ExpectEventRefused(json::serialize(ev), "/ocurred_at");
  // Not an object at all.
  ExpectEventRefused("[]", "");
  ExpectEventRefused(R"("employee.hired")", "");
  // All three wrong at once: one entry each.
  auto r = co_->Post(Events(), R"({"type":"employee.hired","data":"x","subject":5,"occurred_at":"nope"})");
  auto p = ExpectProblemAt(r, 422, "/data");
  EXPECT_TRUE(HasPointer(p, "/subject")) << r.body;
  EXPECT_TRUE(HasPointer(p, "/occurred_at")) << r.body;
  EXPECT_EQ(Count(*co_, Events()), 0u);
}

// ---------------------------------------------------------------- batches

TEST_F(ApiErrorsTest, BatchLimitsAndAllOrNothing) {
  const std::string batch = Events() + "/batch";
  Snapshot before = Snap();
  json::array big;
  for (int i = 0; i < 501; ++i) big.push_back(HiredEvent("emp_" + std::to_string(i)));
  ExpectProblem(co_->Post(batch, json::value(big)), 413);
  ExpectUnchanged(before, "501 events");

  ExpectProblem(co_->Post(batch, "[]"), 422);
  ExpectUnchanged(before, "empty batch");

  // Not an array.
  ExpectProblem(co_->Post(batch, json::serialize(HiredEvent())), 422);
  ExpectUnchanged(before, "object batch");

  // One bad item among good ones: 422 with the item's index in the pointer, nothing stored.
  json::array mixed;
  for (int i = 0; i < 5; ++i) mixed.push_back(HiredEvent("emp_" + std::to_string(i)));
  mixed[3].as_object()["data"].as_object()["employee"].as_object()["email"] = "nope";
  auto r = co_->Post(batch, json::value(mixed));
  auto p = ExpectProblemAt(r, 422, "/3/data/employee/email");
  EXPECT_EQ(Pointers(p).size(), 1u) << r.body;
  ExpectUnchanged(before, "batch with a bad email");

  // Bad envelope and unknown type in different items: each reported with its index.
  json::array two = mixed;
  two[3] = HiredEvent("emp_3");
  two[0].as_object()["type"] = "employee.promoted";
  two[4] = "not an event";
  r = co_->Post(batch, json::value(two));
  p = ExpectProblemAt(r, 422, "/0/type");
  EXPECT_TRUE(HasPointer(p, "/4")) << r.body;
  ExpectUnchanged(before, "batch with a bad type");

  // Exactly 500 is fine.
  json::array full;
  for (int i = 0; i < 500; ++i) full.push_back(HiredEvent("emp_" + std::to_string(i)));
  auto ok = co_->Post(batch, json::value(full));
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(Count(*co_, Events()), 500u);
}

// ---------------------------------------------------------------- endpoint validation

TEST_F(ApiErrorsTest, BadEndpointUrlsAre422AtUrl) {
  const std::string tail = R"(","event_types":["*"]})";
  auto body = [&](const std::string& url) { return R"({"url":")" + url + tail; };
  ExpectEndpointRefused(body("ftp://files.example.com/in"), "/url");
  ExpectEndpointRefused(body("/hooks/relative"), "/url");
  ExpectEndpointRefused(body("erp.example.com/hooks"), "/url");
  ExpectEndpointRefused(body("mailto:it@example.com"), "/url");
  ExpectEndpointRefused(body("https://"), "/url");
  ExpectEndpointRefused(body(""), "/url");
  // http:// needs --allow-http, which this server was not started with.
  ExpectEndpointRefused(body("http://127.0.0.2:9/erp/hooks"), "/url");
  // Credentials in the URL and fragments are refused (README).
  ExpectEndpointRefused(body("https://user:pass@erp.example.com/hooks"), "/url");
  ExpectEndpointRefused(body("https://user@erp.example.com/hooks"), "/url");
  ExpectEndpointRefused(body("https://127.0.0.2:9/erp/hooks#frag"), "/url");
  // At most 2048 characters.
  const std::string prefix = "https://127.0.0.2:9/erp/";
  ExpectEndpointRefused(body(prefix + std::string(2049 - prefix.size(), 'a')), "/url");
  EXPECT_NE(CreateEndpoint(json::parse(body(prefix + std::string(2048 - prefix.size(), 'a')))), "");
  // Not a string, and missing.
  ExpectEndpointRefused(R"({"url":42,"event_types":["*"]})", "/url");
  ExpectEndpointRefused(R"({"event_types":["*"]})", "/url");
  // PATCH refuses the same and keeps the old URL.
  ExpectProblemAt(co_->Request("PATCH", Endpoints() + "/" + endpoint_, R"({"url":"ftp://x.example.com"})"), 422, "/url");
  EXPECT_EQ(co_->Get(Endpoints() + "/" + endpoint_).Json().at("url").as_string(), "https://127.0.0.2:9/erp/hooks");
}

// SPEC §5.9: destinations on loopback/private/link-local addresses are refused when the
// endpoint is saved (the harness does not pass --allow-private-destinations).
TEST_F(ApiErrorsTest, PrivateDestinationsAreRefusedOnSave) {
  for (const std::string url : {"https://127.0.0.1/hooks", "https://10.1.2.3/hooks", "https://169.254.169.254/latest",
                                "https://[::1]/hooks", "https://192.168.1.10:8443/hooks"}) {
    ExpectEndpointRefused(R"({"url":")" + url + R"(","event_types":["*"]})", "/url");
  }
}

TEST_F(ApiErrorsTest, BadEventTypeSelectorsAre422PerEntry) {
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["employee.promoted"]})", "/event_types/0");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["employee.*","bogus.*"]})", "/event_types/1");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["*","employee.hired.*"]})", "/event_types/1");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":[".*"]})", "/event_types/0");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["employee.hired",7]})", "/event_types/1");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":[]})", "/event_types");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":"employee.*"})", "/event_types");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h"})", "/event_types");
  // Two bad entries: both reported.
  auto r = co_->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["nope.x","employee.hired","bogus.*"]})");
  auto p = ExpectProblemAt(r, 422, "/event_types/0");
  EXPECT_TRUE(HasPointer(p, "/event_types/2")) << r.body;
  EXPECT_FALSE(HasPointer(p, "/event_types/1")) << r.body;
}

TEST_F(ApiErrorsTest, ReservedCustomHeadersAre422) {
  const std::string head = R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"headers":)";
  ExpectEndpointRefused(head + R"({"webhook-signature":"v1,forged"}})", "/headers/webhook-signature");
  ExpectEndpointRefused(head + R"({"content-type":"text/plain"}})", "/headers/content-type");
  ExpectEndpointRefused(head + R"({"webhook-id":"x"}})", "/headers/webhook-id");
  ExpectEndpointRefused(head + R"({"user-agent":"x"}})", "/headers/user-agent");
  ExpectEndpointRefused(head + R"({"x-hub-signature-256":"sha256=00"}})", "/headers/x-hub-signature-256");
  ExpectEndpointRefused(head + R"({"Content-Type":"text/plain"}})", "/headers/Content-Type");
  ExpectEndpointRefused(head + R"({"bad header":"x"}})", "/headers/bad header");
  ExpectEndpointRefused(head + R"({"x-api-key":5}})", "/headers/x-api-key");
  ExpectEndpointRefused(head + R"({"x-api-key":"a\r\nInjected: 1"}})", "/headers/x-api-key");
  // Any control character, not only line breaks (issue 10): NUL, ESC, DEL; a tab is fine.
  ExpectEndpointRefused(head + R"({"x-api-key":"a\u0000b"}})", "/headers/x-api-key");
  ExpectEndpointRefused(head + R"({"x-api-key":"a\u001bb"}})", "/headers/x-api-key");
  ExpectEndpointRefused(head + R"({"x-api-key":"a\u007fb"}})", "/headers/x-api-key");
  // A fine custom header next to a reserved one does not save the endpoint.
  ExpectEndpointRefused(head + R"({"x-api-key":"k","webhook-signature":"v1,x"}})", "/headers/webhook-signature");
}

TEST_F(ApiErrorsTest, BadFiltersAre422UnderFilter) {
  auto refused = [&](const std::string& filter) -> std::vector<std::string> {
    SCOPED_TRACE(filter);
    Snapshot before = Snap();
    auto r = co_->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"filter":)" + filter + "}");
    auto p = ExpectProblem(r, 422);
    auto ptrs = Pointers(p);
    EXPECT_FALSE(ptrs.empty()) << r.body;
    for (const auto& ptr : ptrs) EXPECT_TRUE(ptr == "/filter" || ptr.starts_with("/filter/")) << r.body;
    ExpectUnchanged(before, filter);
    return ptrs;
  };
  auto ptrs = refused(R"({"data.x":{"$foo":1}})");
  ASSERT_FALSE(ptrs.empty());
  EXPECT_TRUE(ptrs[0].starts_with("/filter/data.x")) << Join(ptrs);
  refused(R"({"data.x":{"$in":5}})");
  refused(R"({"data.x":{"$regex":"(unclosed"}})");
  refused(R"({"data.x":{"$exists":"yes"}})");
  refused(R"({"$or":{"a":1}})");
  refused(R"("data.x == 1")");
  refused("[1,2]");
}

TEST_F(ApiErrorsTest, OutOfRangeSettingsAre422) {
  const std::string head = R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],)";
  ExpectEndpointRefused(head + R"("max_concurrency":0})", "/max_concurrency");
  ExpectEndpointRefused(head + R"("max_concurrency":1001})", "/max_concurrency");
  ExpectEndpointRefused(head + R"("max_concurrency":-1})", "/max_concurrency");
  ExpectEndpointRefused(head + R"("max_concurrency":"10"})", "/max_concurrency");
  ExpectEndpointRefused(head + R"("max_concurrency":2.5})", "/max_concurrency");
  ExpectEndpointRefused(head + R"("timeout_ms":99})", "/timeout_ms");
  ExpectEndpointRefused(head + R"("timeout_ms":60001})", "/timeout_ms");
  ExpectEndpointRefused(head + R"("timeout_ms":null})", "/timeout_ms");
  ExpectEndpointRefused(head + R"("rate_limit_per_second":0})", "/rate_limit_per_second");
  ExpectEndpointRefused(head + R"("signature_scheme":"hmac"})", "/signature_scheme");
  ExpectEndpointRefused(head + R"("ordering":"fifo"})", "/ordering");
  ExpectEndpointRefused(head + R"("description":5})", "/description");
  // PATCH: refused and nothing changes.
  auto before = co_->Get(Endpoints() + "/" + endpoint_).Json();
  ExpectProblemAt(co_->Request("PATCH", Endpoints() + "/" + endpoint_, R"({"max_concurrency":0,"description":"x"})"),
                  422, "/max_concurrency");
  ExpectProblemAt(co_->Request("PATCH", Endpoints() + "/" + endpoint_, R"({"timeout_ms":60001})"), 422, "/timeout_ms");
  EXPECT_EQ(co_->Get(Endpoints() + "/" + endpoint_).Json(), before);
}

TEST_F(ApiErrorsTest, UnknownEndpointFieldsAre422) {
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"secret":"whsec_mine"})", "/secret");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"evnt_types":["*"]})", "/evnt_types");
  ExpectEndpointRefused(R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"status":"disabled"})", "/status");
  ExpectEndpointRefused("[]", "");
  auto before = co_->Get(Endpoints() + "/" + endpoint_).Json();
  ExpectProblemAt(co_->Request("PATCH", Endpoints() + "/" + endpoint_, R"({"id":"ep_x","description":"x"})"), 422, "/id");
  EXPECT_EQ(co_->Get(Endpoints() + "/" + endpoint_).Json(), before);
}

// ---------------------------------------------------------------- authentication and scopes

TEST_F(ApiErrorsTest, MissingInvalidOrMalformedTokenIs401WithChallenge) {
  Snapshot before = Snap();
  auto expect401 = [&](HttpClient& c, const std::vector<std::string>& headers, const std::string& what) {
    SCOPED_TRACE(what);
    const std::vector<std::pair<std::string, std::string>> calls = {
        {"POST", Events()},   {"POST", Events() + "/batch"}, {"GET", Endpoints()},
        {"POST", Endpoints()}, {"GET", "/v1/event-types"},     {"POST", "/v1/companies"},
        {"GET", "/v1/companies"}, {"GET", Deliveries()}};
    for (const auto& [method, path] : calls) {
      SCOPED_TRACE(method + " " + path);
      std::string body = method == "POST" ? (path.ends_with("/batch")    ? "[" + json::serialize(HiredEvent()) + "]"
                                             : path.ends_with("/events") ? json::serialize(HiredEvent())
                                             : path == "/v1/companies"   ? R"({"name":"Evil"})"
                                                                         : R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"]})")
                                          : "";
      auto r = c.Request(method, path, body, headers);
      ExpectProblem(r, 401);
      EXPECT_TRUE(r.headers.contains("www-authenticate")) << r.body;
      if (r.headers.contains("www-authenticate")) {
        EXPECT_TRUE(r.headers.at("www-authenticate").starts_with("Bearer")) << r.headers.at("www-authenticate");
      }
    }
  };
  HttpClient none(hookd_->BaseUrl());
  expect401(none, {}, "no Authorization header");
  expect401(none, {"Authorization: Basic dXNlcjpwYXNz"}, "Basic auth");
  expect401(none, {"Authorization: Bearer"}, "Bearer without token");
  expect401(none, {"Authorization: " + company_token_}, "token without Bearer");
  expect401(none, {"Authorization: Bearer " + std::string(300, 'a')}, "oversized token");
  HttpClient wrong(hookd_->BaseUrl());
  wrong.SetToken("hkd_" + std::string(43, 'Z'));
  expect401(wrong, {}, "unknown token");
  HttpClient almost(hookd_->BaseUrl());
  almost.SetToken(company_token_.substr(0, company_token_.size() - 1));
  expect401(almost, {}, "truncated token");
  ExpectUnchanged(before, "401s");
}

TEST_F(ApiErrorsTest, RevokedTokenIs401) {
  auto t = op_->Post(Co() + "/tokens", R"({"scopes":["manage","publish"],"description":"to revoke"})");
  ASSERT_EQ(t.status, 201) << t.body;
  std::string id(t.Json().at("id").as_string());
  auto c = ClientWith(std::string(t.Json().at("token").as_string()));
  ASSERT_EQ(c->Get(Endpoints()).status, 200);
  ASSERT_EQ(op_->Request("DELETE", Co() + "/tokens/" + id).status, 204);
  Snapshot before = Snap();
  auto r = c->Get(Endpoints());
  ExpectProblem(r, 401);
  EXPECT_TRUE(r.headers.contains("www-authenticate"));
  ExpectProblem(c->Post(Events(), HiredEvent()), 401);
  ExpectProblem(c->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"]})"), 401);
  ExpectUnchanged(before, "revoked token");
}

TEST_F(ApiErrorsTest, WrongScopeIs403AndWritesNothing) {
  auto pub = ClientWith(CreateToken(company_, {"publish"}));
  auto man = ClientWith(CreateToken(company_, {"manage"}));
  Snapshot before = Snap();
  // publish-only: no management.
  ExpectProblem(pub->Get(Endpoints()), 403);
  ExpectProblem(pub->Get(Endpoints() + "/" + endpoint_), 403);
  ExpectProblem(pub->Get(Endpoints() + "/" + endpoint_ + "/secret"), 403);
  ExpectProblem(pub->Get(Events()), 403);
  ExpectProblem(pub->Get(Deliveries()), 403);
  ExpectProblem(pub->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"]})"), 403);
  ExpectProblem(pub->Request("DELETE", Endpoints() + "/" + endpoint_), 403);
  ExpectProblem(pub->Post(Endpoints() + "/" + endpoint_ + "/disable", ""), 403);
  // manage-only: no publishing.
  ExpectProblem(man->Post(Events(), HiredEvent()), 403);
  ExpectProblem(man->Post(Events() + "/batch", json::value(json::array{HiredEvent()})), 403);
  ExpectUnchanged(before, "403s");
  auto ep = co_->Get(Endpoints() + "/" + endpoint_);
  ASSERT_EQ(ep.status, 200);
  EXPECT_EQ(ep.Json().at("status").as_string(), "enabled");
  // And the right scope works.
  EXPECT_EQ(pub->Post(Events(), HiredEvent()).status, 202);
  EXPECT_EQ(man->Get(Endpoints()).status, 200);
}

TEST_F(ApiErrorsTest, OperatorOnlyRoutesAre403ForCompanyTokens) {
  Snapshot before = Snap();
  auto r = co_->Post("/v1/companies", R"({"name":"Sneaky S.A."})");
  ExpectProblem(r, 403);
  ExpectProblem(co_->Get("/v1/companies"), 403);
  auto t = co_->Post(Co() + "/tokens", R"({"scopes":["manage","publish"]})");
  ExpectProblem(t, 403);
  EXPECT_EQ(t.body.find("hkd_"), std::string::npos) << t.body;
  // Revoking its own token is an operator action too; the token keeps working.
  auto mine = op_->Post(Co() + "/tokens", R"({"scopes":["manage"]})");
  ASSERT_EQ(mine.status, 201);
  auto mine_client = ClientWith(std::string(mine.Json().at("token").as_string()));
  ExpectProblem(co_->Request("DELETE", Co() + "/tokens/" + std::string(mine.Json().at("id").as_string())), 403);
  EXPECT_EQ(mine_client->Get(Endpoints()).status, 200);
  ExpectProblem(co_->Post("/v1/event-types",
                          R"({"name":"payroll.closed","description":"d","schema":{"type":"object"},"example":{}})"),
                403);
  EXPECT_EQ(co_->Get("/v1/event-types/payroll.closed").status, 404);
  ExpectUnchanged(before, "operator-only");
}

// ---------------------------------------------------------------- routing

TEST_F(ApiErrorsTest, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  ExpectProblem(co_->Get("/v1/nope"), 404);
  ExpectProblem(co_->Get("/v2/companies"), 404);
  ExpectProblem(co_->Get(Co() + "/widgets"), 404);
  ExpectProblem(co_->Get(Endpoints() + "/" + endpoint_ + "/frobnicate"), 404);
  ExpectProblem(op_->Post("/v1/companies/" + company_ + "/events/batch/extra", "[]"), 404);

  struct Case {
    std::string method, path;
    std::vector<std::string> allowed;
  };
  const std::vector<Case> cases = {
      {"PUT", Endpoints(), {"GET", "POST"}},
      {"DELETE", "/v1/companies", {"GET", "POST"}},
      {"PUT", Endpoints() + "/" + endpoint_, {"GET", "PATCH", "DELETE"}},
      {"GET", Endpoints() + "/" + endpoint_ + "/rotate-secret", {"POST"}},
      {"DELETE", Events(), {"GET", "POST"}},
      {"POST", "/healthz", {"GET"}},
  };
  Snapshot before = Snap();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    auto r = co_->Request(c.method, c.path, c.method == "GET" ? "" : "{}");
    ExpectProblem(r, 405);
    ASSERT_TRUE(r.headers.contains("allow")) << r.body;
    const std::string& allow = r.headers.at("allow");
    for (const auto& m : c.allowed) EXPECT_NE(allow.find(m), std::string::npos) << "Allow: " << allow;
    EXPECT_EQ(allow.find(c.method), std::string::npos) << "Allow: " << allow;
  }
  ExpectUnchanged(before, "405s");
}

// ---------------------------------------------------------------- query parameters

TEST_F(ApiErrorsTest, BadListParametersAre422) {
  for (const std::string& list : {Events(), Endpoints(), Deliveries(), std::string("/v1/companies")}) {
    HttpClient& c = list == "/v1/companies" ? *op_ : *co_;
    for (const std::string bad : {"0", "501", "abc", "-1", "", "10x", "1.5"}) {
      SCOPED_TRACE(list + "?limit=" + bad);
      ExpectProblemAt(c.Get(list + "?limit=" + bad), 422, "/query/limit");
    }
    EXPECT_EQ(c.Get(list + "?limit=1").status, 200);
    EXPECT_EQ(c.Get(list + "?limit=500").status, 200);
  }
  ExpectProblemAt(co_->Get(Deliveries() + "?status=done"), 422, "/query/status");
  ExpectProblemAt(co_->Get(Deliveries() + "?status="), 422, "/query/status");
  ExpectProblemAt(co_->Get(Deliveries() + "?status=PENDING"), 422, "/query/status");
  ExpectProblemAt(co_->Get(Deliveries() + "?endpoint_id=nope"), 422, "/query/endpoint_id");
  ExpectProblemAt(co_->Get(Deliveries() + "?event_id=" + endpoint_), 422, "/query/event_id");
  ExpectProblemAt(co_->Get(Events() + "?type=employee.promoted"), 422, "/query/type");
  ExpectProblemAt(co_->Get(Events() + "?after=yesterday"), 422, "/query/after");
  ExpectProblemAt(co_->Get(Events() + "?before=2026-13-01T00:00:00Z"), 422, "/query/before");
  for (const std::string ok : {"pending", "succeeded", "failed", "held"})
    EXPECT_EQ(co_->Get(Deliveries() + "?status=" + ok).status, 200) << ok;
}

// ---------------------------------------------------------------- unknown ids

TEST_F(ApiErrorsTest, UnknownAndMalformedIdsAre404) {
  // A real event and delivery, so the routes are known to work with real ids.
  auto ev = co_->Post(Events(), HiredEvent());
  ASSERT_EQ(ev.status, 202) << ev.body;
  Snapshot before = Snap();
  const std::string ulid = kNoSuchUlid;
  const std::vector<std::string> ep_ids = {"ep_" + ulid, "ep_nope", "nope", "evt_" + ulid, "ep_" + ulid.substr(1),
                                           "ep_" + std::string(26, 'u'), "ep_" + ulid + "0"};
  for (const auto& id : ep_ids) {
    SCOPED_TRACE(id);
    const std::string e = Endpoints() + "/" + id;
    ExpectProblem(co_->Get(e), 404);
    ExpectProblem(co_->Request("PATCH", e, R"({"description":"x"})"), 404);
    ExpectProblem(co_->Request("DELETE", e), 404);
    ExpectProblem(co_->Get(e + "/secret"), 404);
    ExpectProblem(co_->Post(e + "/rotate-secret", ""), 404);
    ExpectProblem(co_->Post(e + "/test", ""), 404);
    ExpectProblem(co_->Post(e + "/enable", ""), 404);
    ExpectProblem(co_->Post(e + "/disable", ""), 404);
    ExpectProblem(co_->Post(e + "/recover", R"({"since":"2026-01-01T00:00:00Z"})"), 404);
  }
  for (const std::string& id : std::vector<std::string>{"evt_" + ulid, "evt_123", "ep_" + ulid}) {
    SCOPED_TRACE(id);
    ExpectProblem(co_->Get(Events() + "/" + id), 404);
  }
  for (const std::string& id : std::vector<std::string>{"dlv_" + ulid, "dlv_x", "evt_" + ulid}) {
    SCOPED_TRACE(id);
    ExpectProblem(co_->Get(Deliveries() + "/" + id), 404);
    ExpectProblem(co_->Get(Deliveries() + "/" + id + "/attempts"), 404);
    ExpectProblem(co_->Post(Deliveries() + "/" + id + "/retry", ""), 404);
  }
  for (const std::string& id : std::vector<std::string>{"tok_" + ulid, "tok_1"}) {
    SCOPED_TRACE(id);
    ExpectProblem(op_->Request("DELETE", Co() + "/tokens/" + id), 404);
  }
  // Unknown and malformed companies, even for the operator.
  for (const std::string& cid : std::vector<std::string>{"co_" + ulid, "co_nope", "acme"}) {
    SCOPED_TRACE(cid);
    ExpectProblem(op_->Get("/v1/companies/" + cid), 404);
    ExpectProblem(op_->Get("/v1/companies/" + cid + "/endpoints"), 404);
    ExpectProblem(op_->Post("/v1/companies/" + cid + "/events", HiredEvent()), 404);
    ExpectProblem(op_->Post("/v1/companies/" + cid + "/endpoints",
                            R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"]})"),
                  404);
    auto t = op_->Post("/v1/companies/" + cid + "/tokens", R"({"scopes":["manage"]})");
    ExpectProblem(t, 404);
    EXPECT_EQ(t.body.find("hkd_"), std::string::npos) << t.body;
  }
  ExpectUnchanged(before, "404s");
  ExpectProblem(co_->Get("/v1/event-types/employee.promoted"), 404);
}

// ---------------------------------------------------------------- Idempotency-Key

TEST_F(ApiErrorsTest, OverlongIdempotencyKeyIs422) {
  Snapshot before = Snap();
  ExpectProblemAt(co_->Post(Events(), HiredEvent(), {"Idempotency-Key: " + std::string(256, 'k')}), 422,
                  "/headers/idempotency-key");
  ExpectProblemAt(co_->Post(Events() + "/batch", json::value(json::array{HiredEvent()}),
                            {"Idempotency-Key: " + std::string(300, 'k')}),
                  422, "/headers/idempotency-key");
  ExpectUnchanged(before, "long idempotency key");
  // 255 characters is fine.
  EXPECT_EQ(co_->Post(Events(), HiredEvent(), {"Idempotency-Key: " + std::string(255, 'k')}).status, 202);
}

// ---------------------------------------------------------------- --max-payload

class ApiErrorsSmallPayloadTest : public ApiErrorsTest {
 protected:
  std::vector<std::string> ExtraArgs() override { return {"--max-payload", "4KiB"}; }

  // A valid employee.hired event of exactly `size` bytes (padding in an extra data field).
  static std::string EventOfSize(size_t size) {
    json::value ev = HiredEvent();
    ev.as_object()["data"].as_object()["notes"] = "";
    std::string base = json::serialize(ev);
    EXPECT_LT(base.size(), size);
    ev.as_object()["data"].as_object()["notes"] = std::string(size - base.size(), 'n');
    std::string out = json::serialize(ev);
    EXPECT_EQ(out.size(), size);
    return out;
  }
};

TEST_F(ApiErrorsSmallPayloadTest, BodyOverMaxPayloadIs413AndJustUnderIsAccepted) {
  Snapshot before = Snap();
  auto r = co_->Post(Events(), EventOfSize(5 * 1024));
  ExpectProblem(r, 413);
  ExpectUnchanged(before, "5 KiB event");
  auto b = co_->Post(Events() + "/batch", "[" + EventOfSize(5 * 1024) + "]");
  ExpectProblem(b, 413);
  auto e = co_->Post(Endpoints(), R"({"url":"https://127.0.0.2:9/a/h","event_types":["*"],"description":")" +
                                      std::string(5000, 'd') + "\"}");
  ExpectProblem(e, 413);
  ExpectUnchanged(before, "oversized bodies");

  // A chunked body has no length to check up front: it is refused while it is read.
  const std::string big = EventOfSize(5 * 1024);
  char size_hex[16];
  std::snprintf(size_hex, sizeof size_hex, "%zx", big.size());
  auto chunked = RawExchange(hookd_->Port(),
                             {{0, "POST " + Events() + " HTTP/1.1\r\nHost: hookd\r\nAuthorization: Bearer " +
                                      company_token_ + "\r\nContent-Type: application/json\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n" + size_hex + "\r\n" + big + "\r\n0\r\n\r\n"}},
                             1);
  ASSERT_EQ(chunked.size(), 1u);
  EXPECT_EQ(chunked[0].status_line, "HTTP/1.1 413 Payload Too Large");
  ExpectUnchanged(before, "a chunked oversized body");

  auto ok = co_->Post(Events(), EventOfSize(4 * 1024 - 10));
  ASSERT_EQ(ok.status, 202) << ok.body;
  auto exact = co_->Post(Events(), EventOfSize(4 * 1024));
  EXPECT_EQ(exact.status, 202) << exact.body;
  EXPECT_EQ(Count(*co_, Events()), 2u);
}

// ---------------------------------------------------------------- --allow-http

class ApiErrorsAllowHttpTest : public ApiErrorsTest {
 protected:
  std::vector<std::string> ExtraArgs() override { return {"--allow-http"}; }
};

TEST_F(ApiErrorsAllowHttpTest, HttpUrlsAreAcceptedOnlyWithAllowHttp) {
  auto id = CreateEndpoint(json::parse(R"({"url":"http://127.0.0.2:9/erp/hooks","event_types":["*"]})"));
  EXPECT_TRUE(id.starts_with("ep_")) << id;
  // Other schemes stay refused.
  ExpectEndpointRefused(R"({"url":"ftp://files.example.com/in","event_types":["*"]})", "/url");
  ExpectEndpointRefused(R"({"url":"ws://erp.example.com/hooks","event_types":["*"]})", "/url");
}

}  // namespace
}  // namespace hookd::testing
