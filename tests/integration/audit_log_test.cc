// The audit log through the real binary (issue 13 items 3 and 5): every route that the served
// OpenAPI document marks with "x-audit-action" is performed, and its row is checked — who (the
// token's id and kind), what (action, target, the names of the changed fields, the non-secret
// details), when, from which address — with no token, secret, header or URL value anywhere in
// the log. Then the listings: scope (a company's, the operator's), filters, pages, every error;
// a change that fails writes no row; and --audit-retention's validation.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

std::string Str(const json::value& v, std::string_view key) {
  auto* p = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (!p || !p->is_string()) {
    ADD_FAILURE() << "no string '" << key << "' in " << json::serialize(v);
    return "";
  }
  return std::string(p->as_string());
}

// What one performed request must have left in the log.
struct Expected {
  std::string action;
  std::string target;
  std::optional<std::string> company;  // nullopt: company_id null
  std::string actor_kind;              // operator | company
  std::string actor_token;
  std::vector<std::string> changes;
  json::object details;
};

class AuditLogTest : public HookdTest {
 protected:
  void SetUp() override {
    HookdTest::SetUp();
    start_ms_ = NowMs() - 1000;
    op_token_id_ = Str(op_->Get("/v1/me").Json(), "token_id");
    co_token_id_ = Str(co_->Get("/v1/me").Json(), "token_id");
  }

  std::string Co() const { return "/v1/companies/" + company_; }

  // Every row of `path` (a listing), following next_cursor; the raw bodies go to `bodies`.
  json::array AllRows(HttpClient& c, const std::string& path, std::string* bodies = nullptr, int limit = 500) {
    json::array out;
    std::string cursor;
    for (int pages = 0; pages < 50; ++pages) {
      const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
      auto r = c.Get(path + sep + "limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << path << ": " << r.body;
      if (r.status != 200) break;
      if (bodies) *bodies += r.body;
      auto v = r.Json();
      for (auto& row : v.at("data").as_array()) out.push_back(row);
      if (v.at("next_cursor").is_null()) break;
      cursor = std::string(v.at("next_cursor").as_string());
    }
    return out;
  }

  // The ids of the rows of `path`, newest first.
  std::vector<std::string> RowIds(HttpClient& c, const std::string& path, int limit = 500) {
    std::vector<std::string> ids;
    for (const auto& row : AllRows(c, path, nullptr, limit)) ids.push_back(Str(row, "id"));
    return ids;
  }

  int64_t start_ms_ = 0;
  std::string op_token_id_, co_token_id_;
};

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// ---------------------------------------------------------------- every mutating route

TEST_F(AuditLogTest, EveryAuditedRouteOfTheDocumentRecordsItsRow) {
  // The served document: operationId → action, for every operation that records one.
  auto doc = op_->Get("/openapi.json");
  ASSERT_EQ(doc.status, 200);
  const json::value spec = doc.Json();
  std::map<std::string, std::string> action_of;
  for (const auto& [path, item] : spec.at("paths").as_object())
    for (const auto& [method, op] : item.as_object())
      if (op.is_object())
        if (auto* a = op.as_object().if_contains("x-audit-action"))
          action_of[std::string(op.at("operationId").as_string())] = std::string(a->as_string());
  ASSERT_GE(action_of.size(), 17u);

  // What must never be in the log: tokens, secrets, and values of fields that may hold some.
  std::vector<std::string> forbidden = {hookd_->AdminToken(), company_token_, "hkd_", "whsec_",
                                        "url-secret-123", "header-secret-456", "header-secret-789"};
  std::map<std::string, Expected> expected;  // by operationId
  auto expect = [&](const std::string& op_id, Expected e) {
    ASSERT_TRUE(action_of.contains(op_id)) << op_id << " records no action in openapi.json";
    e.action = action_of[op_id];
    expected[op_id] = std::move(e);
  };
  auto as_operator = [&](Expected e) {
    e.actor_kind = "operator";
    e.actor_token = op_token_id_;
    return e;
  };
  auto as_company = [&](Expected e) {
    e.actor_kind = "company";
    e.actor_token = co_token_id_;
    if (!e.company) e.company = company_;
    return e;
  };

  // The operator: a custom type, a company and its retention, a token issued and revoked.
  auto r = op_->Post("/v1/event-types", R"({"name":"payroll.closed","description":"Payroll closed",
      "schema":{"type":"object"},"example":{"month":"2026-11"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  Expected e{.target = "payroll.closed", .changes = {"description", "example", "name", "schema"}};
  expect("createEventType", as_operator(e));  // company_id null: of no company

  r = op_->Post("/v1/companies", R"({"name":"Initech"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string initech = Str(r.Json(), "id");
  expect("createCompany", as_operator({.target = initech, .company = initech, .changes = {"name"}}));
  r = op_->Request("PATCH", "/v1/companies/" + initech, R"({"retention":"7d"})");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("setCompanyRetention", as_operator({.target = initech, .company = initech, .changes = {"retention"},
                                             .details = {{"retention", "7d"}}}));
  r = op_->Post(Co() + "/tokens", R"({"scopes":["manage"],"description":"CI pipeline"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string tid = Str(r.Json(), "id");
  forbidden.push_back(Str(r.Json(), "token"));
  expect("createToken", as_operator({.target = tid, .company = company_, .changes = {"description", "scopes"},
                                     .details = {{"scopes", json::array{"manage"}}}}));
  ASSERT_EQ(op_->Request("DELETE", Co() + "/tokens/" + tid).status, 204);
  expect("revokeToken", as_operator({.target = tid, .company = company_, .changes = {"revoked_at"}}));

  // The company administrator: an endpoint's whole life.
  r = co_->Post(Co() + "/endpoints", R"({"url":"https://127.0.0.2:9/it/hooks?key=url-secret-123",
      "description":"IT provisioning","event_types":["employee.*"],"headers":{"authorization":"Bearer header-secret-456"}})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string eid = Str(r.Json(), "id");
  forbidden.push_back(Str(r.Json(), "secret"));
  expect("createEndpoint", as_company({.target = eid, .changes = {"description", "event_types", "headers", "url"}}));
  const std::string ep = Co() + "/endpoints/" + eid;
  r = co_->Request("PATCH", ep, R"({"description":"IT provisioning v2","headers":{"authorization":"Bearer header-secret-789"},
      "event_types":["employee.*"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("updateEndpoint", as_company({.target = eid, .changes = {"description", "headers"}}));  // not event_types
  r = co_->Get(ep + "/secret");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("getEndpointSecret", as_company({.target = eid}));
  r = co_->Post(ep + "/rotate-secret", R"({"grace_seconds":60})");
  ASSERT_EQ(r.status, 200) << r.body;
  forbidden.push_back(Str(r.Json(), "secret"));
  expect("rotateEndpointSecret", as_company({.target = eid, .changes = {"secret"}, .details = {{"grace_seconds", 60}}}));
  ASSERT_EQ(co_->Post(ep + "/disable", "").status, 200);
  expect("disableEndpoint", as_company({.target = eid, .changes = {"status"}}));
  r = co_->Post(ep + "/enable", R"({"release_held":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("enableEndpoint", as_company({.target = eid, .changes = {"status"}, .details = {{"release_held", false}}}));
  r = co_->Post(ep + "/test", "");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string test_event = Str(r.Json(), "event_id"), test_delivery = Str(r.Json(), "delivery_id");
  expect("sendTestEvent", as_company({.target = eid, .details = {{"event_id", test_event}, {"delivery_id", test_delivery}}}));
  r = co_->Post(ep + "/recover", R"({"since":"2026-01-01T01:00:00+01:00"})");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("recoverEndpoint", as_company({.target = eid, .details = {{"since", "2026-01-01T00:00:00.000Z"}}}));
  r = co_->Post(Co() + "/deliveries/" + test_delivery + "/retry", "");
  ASSERT_EQ(r.status, 202) << r.body;
  expect("retryDelivery", as_company({.target = test_delivery, .changes = {"next_attempt_at", "status"}}));
  r = co_->Post("/v1/hooks", R"({"target_url":"https://127.0.0.2:9/zapier","event":"employee.hired"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string hook = Str(r.Json(), "id");
  forbidden.push_back(Str(r.Json(), "secret"));
  expect("subscribeHook", as_company({.target = hook, .changes = {"event", "target_url"},
                                      .details = {{"event", "employee.hired"}}}));
  ASSERT_EQ(co_->Request("DELETE", "/v1/hooks/" + hook).status, 204);
  expect("unsubscribeHook", as_company({.target = hook}));
  // A replay of the last hour (the event just posted: running), then its cancel.
  ASSERT_EQ(co_->Post(Co() + "/events", HiredEvent("emp_audit_replayed")).status, 202);
  const std::string since = FormatTime(NowMs() - 3600 * 1000), until = FormatTime(NowMs() + 60 * 1000);
  r = co_->Post(ep + "/replay", R"({"since":")" + since + R"(","until":")" + until + R"("})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string replay = Str(r.Json(), "id");
  ASSERT_EQ(Str(r.Json(), "status"), "running") << r.body;
  expect("replayEndpoint", as_company({.target = replay, .changes = {"since", "until"},
                                     .details = {{"endpoint_id", eid}, {"since", Str(r.Json(), "since")},
                                                 {"until", Str(r.Json(), "until")}, {"total", 1}}}));
  r = co_->Post(Co() + "/replays/" + replay + "/cancel", "");
  ASSERT_EQ(r.status, 200) << r.body;
  expect("cancelReplay", as_company({.target = replay, .changes = {"status"}}));
  r = co_->Post(Co() + "/erasures", R"({"subject":"emp_audit_erased_7"})");
  ASSERT_EQ(r.status, 202) << r.body;
  forbidden.push_back("emp_audit_erased_7");  // the erasure is audited by its keyed hash only
  expect("createErasure", as_company({.target = Str(r.Json(), "id"), .changes = {"subject"},
                                     .details = {{"subject_hash", Str(r.Json(), "subject_hash")}}}));
  ASSERT_EQ(co_->Request("DELETE", ep).status, 204);
  expect("deleteEndpoint", as_company({.target = eid}));

  // A route the document marks as audited and this test does not perform fails here: add it.
  for (const auto& [op_id, action] : action_of)
    EXPECT_TRUE(expected.contains(op_id)) << op_id << " (" << action << ") is audited but not performed here";

  std::string bodies;
  const json::array rows = AllRows(*op_, "/v1/audit-log", &bodies, 7);  // several pages
  // One row per change, plus the fixture's company and token: nothing twice, nothing else.
  EXPECT_EQ(rows.size(), expected.size() + 2) << bodies;
  for (const auto& [op_id, want] : expected) {
    std::vector<const json::object*> found;
    for (const auto& row : rows)
      if (Str(row, "action") == want.action && Str(row, "target_id") == want.target) found.push_back(&row.as_object());
    ASSERT_EQ(found.size(), 1u) << op_id << ": want one " << want.action << " row about " << want.target;
    const json::object& got = *found[0];
    const std::string where = op_id + " " + json::serialize(got);
    if (want.company) EXPECT_EQ(Str(got, "company_id"), *want.company) << where;
    else EXPECT_TRUE(got.at("company_id").is_null()) << where;
    EXPECT_EQ(got.at("actor"), (json::object{{"kind", want.actor_kind}, {"token_id", want.actor_token}})) << where;
    EXPECT_EQ(got.at("client_address"), "127.0.0.1") << where;
    EXPECT_EQ(got.at("changes"), Strings(want.changes)) << where;
    EXPECT_EQ(got.at("details"), want.details) << where;
    EXPECT_TRUE(Str(got, "id").starts_with("aud_")) << where;
    const std::string at = Str(got, "created_at");
    EXPECT_EQ(at.size(), 24u) << where;
    EXPECT_GE(at, FormatTime(start_ms_)) << where;
  }
  // Newest first, the last change on top.
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0].at("action"), "endpoint.deleted");

  // The company's own log: its rows — the operator's changes to it included — and no other's.
  std::string co_bodies;
  const json::array mine = AllRows(*co_, Co() + "/audit-log", &co_bodies);
  std::set<std::string> want_ids;
  for (const auto& row : rows)
    if (row.at("company_id").is_string() && Str(row, "company_id") == company_) want_ids.insert(Str(row, "id"));
  std::set<std::string> got_ids;
  for (const auto& row : mine) got_ids.insert(Str(row, "id"));
  EXPECT_EQ(got_ids, want_ids);
  EXPECT_EQ(mine.size(), expected.size() - 3 + 2);  // not the type, Initech's two; the fixture's two
  // Initech's, through the operator-wide filter.
  EXPECT_EQ(AllRows(*op_, "/v1/audit-log?company_id=" + initech).size(), 2u);

  for (const auto& s : forbidden) {
    EXPECT_EQ(bodies.find(s), std::string::npos) << "the operator's audit log holds '" << s << "'";
    EXPECT_EQ(co_bodies.find(s), std::string::npos) << "the company's audit log holds '" << s << "'";
  }
}

// ---------------------------------------------------------------- listings

TEST_F(AuditLogTest, ListingsFilterAndPage) {
  const std::string eps = Co() + "/endpoints";
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = co_->Post(eps, R"({"url":"https://127.0.0.2:9/h)" + std::to_string(i) + R"(","event_types":["*"]})");
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(Str(r.Json(), "id"));
  }
  ASSERT_EQ(co_->Request("PATCH", eps + "/" + ids[0], R"({"description":"a"})").status, 200);
  ASSERT_EQ(co_->Request("PATCH", eps + "/" + ids[0], R"({"description":"b"})").status, 200);
  ASSERT_EQ(co_->Request("PATCH", eps + "/" + ids[1], R"({"timeout_ms":5000})").status, 200);
  const std::string log = Co() + "/audit-log";

  auto actions = [&](const std::string& query) {
    std::vector<std::string> out;
    for (const auto& row : AllRows(*co_, log + query)) out.push_back(Str(row, "action") + " " + Str(row, "target_id"));
    return out;
  };
  EXPECT_EQ(actions("?action=endpoint.updated"),
            (std::vector<std::string>{"endpoint.updated " + ids[1], "endpoint.updated " + ids[0],
                                      "endpoint.updated " + ids[0]}));
  EXPECT_EQ(actions("?target_id=" + ids[0]),
            (std::vector<std::string>{"endpoint.updated " + ids[0], "endpoint.updated " + ids[0],
                                      "endpoint.created " + ids[0]}));
  EXPECT_EQ(actions("?action=endpoint.created&target_id=" + ids[2]),
            (std::vector<std::string>{"endpoint.created " + ids[2]}));
  EXPECT_TRUE(actions("?action=endpoint.deleted").empty());
  // Times, strictly after / before: the expectation computed from the rows' own times (no
  // assumption about how many fall in one millisecond).
  const json::array rows = AllRows(*co_, log);
  ASSERT_EQ(rows.size(), 2u + 3u + 3u);  // the fixture's company and token, three creations, three updates
  const std::string pivot = Str(rows[2], "created_at");  // the first update
  std::vector<std::string> later, earlier;
  for (const auto& row : rows) {
    if (Str(row, "created_at") > pivot) later.push_back(Str(row, "id"));
    if (Str(row, "created_at") < pivot) earlier.push_back(Str(row, "id"));
  }
  EXPECT_GE(earlier.size(), 5u);  // at least the fixture's two and the creations
  EXPECT_EQ(RowIds(*co_, log + "?after=" + pivot), later);
  EXPECT_EQ(RowIds(*co_, log + "?before=" + pivot), earlier);
  EXPECT_EQ(RowIds(*co_, log + "?after=2020-01-01T00:00:00Z&before=2100-01-01T00:00:00Z").size(), rows.size());
  EXPECT_TRUE(RowIds(*co_, log + "?before=2020-01-01T00:00:00Z").empty());
  EXPECT_EQ(actions("?action=endpoint.created&before=2100-01-01T01:00:00%2B01:00").size(), 3u);

  // Pages of 2 with a filter: the cursor keeps it; every row once, newest first.
  const auto all = RowIds(*co_, log + "?action=endpoint.updated", 500);
  const auto paged = RowIds(*co_, log + "?action=endpoint.updated", 2);
  EXPECT_EQ(paged, all);
  EXPECT_EQ(all.size(), 3u);
  EXPECT_TRUE(std::is_sorted(all.rbegin(), all.rend())) << "newest first";
  auto first = co_->Get(log + "?limit=2&action=endpoint.updated");
  ASSERT_EQ(first.status, 200);
  EXPECT_FALSE(first.Json().at("next_cursor").is_null());
  // The operator sees the same through the operator-wide log, narrowed to the company.
  EXPECT_EQ(RowIds(*op_, "/v1/audit-log?action=endpoint.updated&company_id=" + company_), all);
  EXPECT_TRUE(RowIds(*op_, "/v1/audit-log?company_id=co_01M8Y55HK62QR8MAN7ZPEWYTKV").empty());
}

TEST_F(AuditLogTest, ListingErrorsAreProblems) {
  const std::string log = Co() + "/audit-log";
  auto pointer = [](const json::object& p) { return Str(p.at("errors").as_array().at(0), "pointer"); };
  struct Bad {
    std::string query;
    long status;
    std::string pointer;
  };
  const std::vector<Bad> bad = {
      {"?colour=red", 422, "/query/colour"},
      {"?company_id=" + company_, 422, "/query/company_id"},  // the company's log takes no company_id
      {"?action=endpoint.exploded", 422, "/query/action"},
      {"?action=", 422, "/query/action"},
      {"?target_id=", 422, "/query/target_id"},
      {"?target_id=" + std::string(256, 'x'), 422, "/query/target_id"},
      {"?after=yesterday", 422, "/query/after"},
      {"?before=2026-13-01T00:00:00Z", 422, "/query/before"},
      {"?after=2026-01-02T00:00:00Z&before=2026-01-01T00:00:00Z", 422, "/query/before"},
      {"?limit=0", 422, "/query/limit"},
      {"?limit=501", 422, "/query/limit"},
      {"?cursor=evt_01M8Y55HK62QR8MAN7ZPEWYTKV", 400, "/query/cursor"},
      {"?cursor=aud_nope", 400, "/query/cursor"},
  };
  for (const auto& b : bad) {
    auto p = ExpectProblem(co_->Get(log + b.query), b.status);
    EXPECT_EQ(pointer(p), b.pointer) << b.query;
  }
  auto p = ExpectProblem(op_->Get("/v1/audit-log?company_id=acme"), 422);
  EXPECT_EQ(pointer(p), "/query/company_id");
  ExpectProblem(op_->Get("/v1/audit-log?action=token.stolen"), 422);
  ExpectProblem(op_->Get("/v1/audit-log?cursor=co_01M8Y55HK62QR8MAN7ZPEWYTKV"), 400);

  // Who may read which log.
  HttpClient anonymous(hookd_->BaseUrl());
  ExpectProblem(anonymous.Get(log), 401);
  ExpectProblem(anonymous.Get("/v1/audit-log"), 401);
  auto publisher = ClientWith(CreateToken(company_, {"publish"}));
  ExpectProblem(publisher->Get(log), 403);
  ExpectProblem(co_->Get("/v1/audit-log"), 403);  // the operator-wide log is the operator's
  const std::string other = CreateCompany("Globex");
  ExpectProblem(co_->Get("/v1/companies/" + other + "/audit-log"), 404);  // never 403
  ExpectProblem(co_->Get("/v1/companies/co_01M8Y55HK62QR8MAN7ZPEWYTKV/audit-log"), 404);
  ExpectProblem(op_->Get("/v1/companies/co_01M8Y55HK62QR8MAN7ZPEWYTKV/audit-log"), 404);
  ExpectProblem(op_->Get("/v1/companies/acme/audit-log"), 404);
  EXPECT_EQ(op_->Get("/v1/companies/" + other + "/audit-log").status, 200);  // the operator reads any
  EXPECT_EQ(ClientWith(CreateToken(other, {"manage"}))->Get(log).status, 404);
  EXPECT_EQ(co_->Request("POST", log, "{}").status, 405);
}

// A change that does not happen leaves no row — refused for its input, its scope, or its target.
TEST_F(AuditLogTest, AChangeThatFailsWritesNoRow) {
  auto r = co_->Post(Co() + "/endpoints", R"({"url":"https://127.0.0.2:9/h","event_types":["*"]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string ep = Co() + "/endpoints/" + Str(r.Json(), "id");
  const auto before = RowIds(*op_, "/v1/audit-log");

  const std::string other = CreateCompany("Globex");  // (its own row: counted below)
  auto other_co = ClientWith(CreateToken(other, {"manage"}));
  EXPECT_EQ(co_->Request("PATCH", ep, R"({"url":"ftp://nope"})").status, 422);
  EXPECT_EQ(co_->Request("PATCH", ep, R"({"description":"x"})", {"If-Match: \"99\""}).status, 412);
  EXPECT_EQ(co_->Request("DELETE", Co() + "/endpoints/ep_01M8Y55HK62QR8MAN7ZPEWYTKV").status, 404);
  EXPECT_EQ(other_co->Request("DELETE", "/v1/companies/" + other + "/endpoints/" + ep.substr(ep.rfind('/') + 1)).status, 404);
  EXPECT_EQ(other_co->Get(ep + "/secret").status, 404);
  EXPECT_EQ(co_->Post(ep + "/rotate-secret", R"({"grace_seconds":-1})").status, 422);
  EXPECT_EQ(co_->Post(ep + "/recover", R"({})").status, 422);
  EXPECT_EQ(co_->Post(Co() + "/deliveries/dlv_01M8Y55HK62QR8MAN7ZPEWYTKV/retry", "").status, 404);
  EXPECT_EQ(co_->Post(Co() + "/tokens", R"({"scopes":["manage"]})").status, 403);
  EXPECT_EQ(op_->Request("DELETE", Co() + "/tokens/tok_01M8Y55HK62QR8MAN7ZPEWYTKV").status, 404);
  EXPECT_EQ(op_->Post("/v1/companies", R"({"name":""})").status, 422);
  EXPECT_EQ(op_->Request("PATCH", Co(), R"({"retention":"soon"})").status, 422);
  EXPECT_GE(op_->Post("/v1/event-types", R"({"name":"employee.hired","description":"x","schema":{},"example":{}})").status,
            400);  // a built-in type's name
  EXPECT_EQ(co_->Request("DELETE", "/v1/hooks/" + ep.substr(ep.rfind('/') + 1)).status, 404);  // not a hook

  auto after = RowIds(*op_, "/v1/audit-log");
  ASSERT_EQ(after.size(), before.size() + 2);  // Globex and its token, nothing else
  EXPECT_EQ(std::vector<std::string>(after.begin() + 2, after.end()), before);
  auto rows = AllRows(*op_, "/v1/audit-log?limit=2");
  EXPECT_EQ(Str(rows[0], "action"), "token.created");
  EXPECT_EQ(Str(rows[1], "action"), "company.created");
}

// ---------------------------------------------------------------- --audit-retention

TEST(AuditRetentionFlag, IsADurationOfAtLeastOneDay) {
  TempDir dir;
  const std::string db = "sqlite:" + (dir.path() / "hookd.db").string();
  for (const char* bad : {"12h", "soon", "0d"}) {
    CliResult r = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0", "--audit-retention", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--audit-retention"), std::string::npos) << bad << ": " << r.err;
  }
  CliResult env = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0"}, "", {"HOOKD_AUDIT_RETENTION=2h"});
  EXPECT_EQ(env.exit_code, 2) << env.err;
  EXPECT_NE(env.err.find("--audit-retention must be at least 1d"), std::string::npos) << env.err;
  CliResult help = RunHookdCli({"serve", "--help"});
  EXPECT_NE(help.out.find("--audit-retention"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("365d"), std::string::npos) << help.out;
  // A valid one starts.
  HookdProcess hookd(dir.path(), {"--audit-retention", "400d"});
  hookd.Start();
  EXPECT_TRUE(hookd.Running());
  hookd.Kill(15);
}

}  // namespace
}  // namespace hookd::testing
