// Tenant isolation: company B's tokens never see or change company A's resources. Every
// A resource addressed with B's token answers 404 (never 403, never A's data), and A's
// data is unchanged afterwards; B's listings never show A's items.
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

std::string Str(const json::value& v, std::string_view key) {
  auto* p = v.as_object().if_contains(key);
  if (!p || !p->is_string()) {
    ADD_FAILURE() << "no string '" << key << "' in " << json::serialize(v);
    return "";
  }
  return std::string(p->as_string());
}

class TenancyTest : public HookdTest {
 protected:
  void SetUp() override {
    HookdTest::SetUp();
    // Company A is the fixture's company; B is a second tenant.
    a_ = company_;
    b_ = CreateCompany("Beta Retail GmbH");
    b_token_ = CreateToken(b_, {"manage", "publish"});
    b_co_ = ClientWith(b_token_);
    b_pub_ = ClientWith(CreateToken(b_, {"publish"}));
    b_man_ = ClientWith(CreateToken(b_, {"manage"}));

    // A: an endpoint (disabled later in some tests), an event and its delivery, a token.
    auto ep = co_->Post(Base(a_) + "/endpoints",
                        R"({"url":"https://127.0.0.2:9/alpha-secret-erp/hooks","description":"alpha payroll feed",
                            "event_types":["employee.*"],"headers":{"x-alpha-key":"alpha-key-123"}})");
    ASSERT_EQ(ep.status, 201) << ep.body;
    a_ep_ = Str(ep.Json(), "id");
    a_secret_ = Str(ep.Json(), "secret");
    auto ev = co_->Post(Base(a_) + "/events", HiredEvent("emp_alpha_77"));
    ASSERT_EQ(ev.status, 202) << ev.body;
    a_ev_ = Str(ev.Json(), "id");
    auto ds = co_->Get(Base(a_) + "/deliveries?event_id=" + a_ev_);
    ASSERT_EQ(ds.status, 200) << ds.body;
    const json::value dsv = ds.Json();
    ASSERT_EQ(dsv.at("data").as_array().size(), 1u) << ds.body;
    a_dlv_ = Str(dsv.at("data").as_array()[0], "id");
    auto tok = op_->Post(Base(a_) + "/tokens", R"({"scopes":["manage"],"description":"alpha extra"})");
    ASSERT_EQ(tok.status, 201) << tok.body;
    a_tok_id_ = Str(tok.Json(), "id");
    a_tok_ = Str(tok.Json(), "token");

    // B has resources of its own too.
    auto bep = b_co_->Post(Base(b_) + "/endpoints", R"({"url":"https://127.0.0.2:9/beta/in","event_types":["*"]})");
    ASSERT_EQ(bep.status, 201) << bep.body;
    b_ep_ = Str(bep.Json(), "id");
    auto bev = b_co_->Post(Base(b_) + "/events", HiredEvent("emp_beta_1"));
    ASSERT_EQ(bev.status, 202) << bev.body;
    b_ev_ = Str(bev.Json(), "id");
  }

  static std::string Base(const std::string& company) { return "/v1/companies/" + company; }

  // A's state as A sees it (the fields that would change if B could touch it).
  struct AState {
    json::value endpoint, secret, event, delivery;
    size_t endpoints, events, deliveries;
  };
  AState SnapA() {
    AState s;
    auto get = [&](const std::string& path) {
      auto r = co_->Get(path);
      EXPECT_EQ(r.status, 200) << path << ": " << r.body;
      return r.status == 200 ? r.Json() : json::value();
    };
    s.endpoint = get(Base(a_) + "/endpoints/" + a_ep_);
    // Its health is hookd's own (the dispatcher's attempts at 127.0.0.2:9 change it whenever
    // they happen), not something B could have touched.
    if (s.endpoint.is_object()) s.endpoint.as_object().erase("health");
    s.secret = get(Base(a_) + "/endpoints/" + a_ep_ + "/secret");
    s.event = get(Base(a_) + "/events/" + a_ev_);
    s.delivery = get(Base(a_) + "/deliveries/" + a_dlv_);
    auto count = [&](const std::string& path) {
      json::value v = get(path + "?limit=500");
      return v.is_object() ? v.at("data").as_array().size() : static_cast<size_t>(-1);
    };
    s.endpoints = count(Base(a_) + "/endpoints");
    s.events = count(Base(a_) + "/events");
    s.deliveries = count(Base(a_) + "/deliveries");
    return s;
  }
  void ExpectAUnchanged(const AState& before) {
    AState now = SnapA();
    EXPECT_EQ(now.endpoint, before.endpoint) << "A's endpoint changed";
    EXPECT_EQ(now.secret, before.secret) << "A's secret changed";
    EXPECT_EQ(now.event, before.event) << "A's event changed";
    // The dispatcher may have attempted the delivery meanwhile; what B could change is
    // its identity and whether it exists.
    EXPECT_EQ(Str(now.delivery, "id"), Str(before.delivery, "id"));
    EXPECT_EQ(Str(now.delivery, "endpoint_id"), a_ep_);
    EXPECT_EQ(now.endpoints, before.endpoints) << "A's endpoints changed";
    EXPECT_EQ(now.events, before.events) << "A's events changed";
    EXPECT_EQ(now.deliveries, before.deliveries) << "A's deliveries changed";
    EXPECT_EQ(co_->Get(Base(a_) + "/endpoints").status, 200) << "A's token stopped working";
    EXPECT_EQ(ClientWith(a_tok_)->Get(Base(a_) + "/endpoints").status, 200) << "A's extra token stopped working";
  }

  // 404 problem without any of A's data (except what the caller itself put in the path).
  void Expect404WithoutAData(const HttpResult& r, const std::string& what, const std::string& path) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.ContentType(), "application/problem+json") << r.body;
    const std::vector<std::string> secrets = {"alpha-secret-erp", "alpha payroll feed", "alpha-key-123", a_secret_,
                                              "emp_alpha_77", "lucia.garcia", "Acme Iberia", a_tok_};
    for (const auto& s : secrets) EXPECT_EQ(r.body.find(s), std::string::npos) << "leaks '" << s << "': " << r.body;
    for (const auto& id : {a_ep_, a_ev_, a_dlv_, a_tok_id_, a_})
      if (path.find(id) == std::string::npos) {
        EXPECT_EQ(r.body.find(id), std::string::npos) << "leaks " << id << ": " << r.body;
      }
  }

  struct Call {
    std::string method, path, body;
  };
  // Every route that addresses one of A's resources, under company `cid`.
  std::vector<Call> CallsOnA(const std::string& cid) const {
    const std::string ep = Base(cid) + "/endpoints/" + a_ep_;
    const std::string dlv = Base(cid) + "/deliveries/" + a_dlv_;
    return {
        {"GET", ep, ""},
        {"PATCH", ep, R"({"url":"https://127.0.0.2:9/evil/steal","event_types":["*"]})"},
        {"GET", ep + "/secret", ""},
        {"POST", ep + "/rotate-secret", R"({"grace_seconds":0})"},
        {"POST", ep + "/test", ""},
        {"POST", ep + "/disable", ""},
        {"POST", ep + "/enable", ""},
        {"POST", ep + "/recover", R"({"since":"2020-01-01T00:00:00Z"})"},
        {"GET", Base(cid) + "/events/" + a_ev_, ""},
        {"GET", dlv, ""},
        {"GET", dlv + "/attempts", ""},
        {"POST", dlv + "/retry", ""},
        {"DELETE", ep, ""},  // last: if it wrongly succeeded, the others still ran on a live endpoint
    };
  }

  std::string a_, b_, b_token_;
  std::unique_ptr<HttpClient> b_co_, b_pub_, b_man_;
  std::string a_ep_, a_secret_, a_ev_, a_dlv_, a_tok_id_, a_tok_;
  std::string b_ep_, b_ev_;
};

TEST_F(TenancyTest, AResourcesThroughBsOwnPathAre404AndUnchanged) {
  AState before = SnapA();
  for (const auto& c : CallsOnA(b_)) {
    auto r = b_co_->Request(c.method, c.path, c.body);
    Expect404WithoutAData(r, "B token: " + c.method + " " + c.path, c.path);
  }
  ExpectAUnchanged(before);
  // A disabled A endpoint stays disabled when B tries to enable it.
  ASSERT_EQ(co_->Post(Base(a_) + "/endpoints/" + a_ep_ + "/disable", "").status, 200);
  Expect404WithoutAData(b_co_->Post(Base(b_) + "/endpoints/" + a_ep_ + "/enable", ""), "enable", a_ep_);
  EXPECT_EQ(Str(co_->Get(Base(a_) + "/endpoints/" + a_ep_).Json(), "status"), "disabled");
  // B's own resources are fine through the same routes (the 404s are not just broken routes).
  EXPECT_EQ(b_co_->Get(Base(b_) + "/endpoints/" + b_ep_).status, 200);
  EXPECT_EQ(b_co_->Get(Base(b_) + "/events/" + b_ev_).status, 200);
}

TEST_F(TenancyTest, BsTokenOnAsCompanyPathIs404NotForbidden) {
  AState before = SnapA();
  std::vector<Call> calls = CallsOnA(a_);
  const std::string base = Base(a_);
  calls.insert(calls.begin(), {
      {"GET", base, ""},
      {"GET", base + "/endpoints", ""},
      {"POST", base + "/endpoints", R"({"url":"https://127.0.0.2:9/evil/in","event_types":["*"]})"},
      {"GET", base + "/events", ""},
      {"POST", base + "/events", json::serialize(HiredEvent("emp_injected"))},
      {"POST", base + "/events/batch", "[" + json::serialize(HiredEvent("emp_injected")) + "]"},
      {"GET", base + "/deliveries", ""},
      {"GET", base + "/deliveries?endpoint_id=" + a_ep_, ""},
  });
  // Whatever B's scopes: the company check comes first, so never 403.
  for (HttpClient* c : {b_co_.get(), b_pub_.get(), b_man_.get()}) {
    for (const auto& call : calls) {
      auto r = c->Request(call.method, call.path, call.body);
      Expect404WithoutAData(r, "B token on A path: " + call.method + " " + call.path, call.path);
    }
  }
  ExpectAUnchanged(before);
  // Malformed bodies and ids under A's path are 404 too, not 400/422 (no probing).
  Expect404WithoutAData(b_co_->Post(base + "/events", "not json"), "malformed event", base);
  Expect404WithoutAData(b_co_->Post(base + "/endpoints", R"({"url":"ftp://x"})"), "bad endpoint", base);
  Expect404WithoutAData(b_co_->Get(base + "/endpoints/ep_nope"), "malformed id", base);
  ExpectAUnchanged(before);
}

TEST_F(TenancyTest, ListingsNeverShowOtherCompanysItems) {
  auto ids = [&](HttpClient& c, const std::string& path) {
    auto r = c.Get(path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=500");
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::set<std::string> out;
    if (r.status != 200) return out;
    const json::value v = r.Json();
    for (auto& x : v.at("data").as_array()) out.insert(Str(x, "id"));
    return out;
  };
  // B sees only B's.
  EXPECT_EQ(ids(*b_co_, Base(b_) + "/endpoints"), std::set<std::string>{b_ep_});
  EXPECT_EQ(ids(*b_co_, Base(b_) + "/events"), std::set<std::string>{b_ev_});
  auto b_dlv = ids(*b_co_, Base(b_) + "/deliveries");
  EXPECT_EQ(b_dlv.size(), 1u);
  EXPECT_FALSE(b_dlv.contains(a_dlv_));
  // Filters naming A's ids find nothing for B.
  EXPECT_TRUE(ids(*b_co_, Base(b_) + "/deliveries?endpoint_id=" + a_ep_).empty());
  EXPECT_TRUE(ids(*b_co_, Base(b_) + "/deliveries?event_id=" + a_ev_).empty());
  EXPECT_TRUE(ids(*b_co_, Base(b_) + "/events?type=employee.hired").size() == 1u);
  // And A sees only A's.
  EXPECT_EQ(ids(*co_, Base(a_) + "/endpoints"), std::set<std::string>{a_ep_});
  EXPECT_EQ(ids(*co_, Base(a_) + "/events"), std::set<std::string>{a_ev_});
  EXPECT_EQ(ids(*co_, Base(a_) + "/deliveries"), std::set<std::string>{a_dlv_});
  // Bodies of B's listings carry nothing of A's.
  for (const char* path : {"/endpoints", "/events", "/deliveries"}) {
    auto r = b_co_->Get(Base(b_) + path + "?limit=500");
    for (const std::string& s : {a_ep_, a_ev_, a_dlv_, a_, std::string("alpha-secret-erp"), std::string("emp_alpha_77")})
      EXPECT_EQ(r.body.find(s), std::string::npos) << path << " leaks " << s;
  }
  // A's event does not fan out to B's catch-all endpoint, nor B's to A's.
  auto r = co_->Post(Base(a_) + "/events", HiredEvent("emp_alpha_78"));
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(r.Json().at("deliveries").to_number<int>(), 1);
  EXPECT_TRUE(ids(*b_co_, Base(b_) + "/deliveries?endpoint_id=" + b_ep_).size() == 1u);
  // Company B's token cannot list companies (operator only) and so cannot discover A.
  auto companies = b_co_->Get("/v1/companies");
  EXPECT_EQ(companies.status, 403);
  EXPECT_EQ(companies.body.find(a_), std::string::npos);
}

TEST_F(TenancyTest, ATestEventAndIdempotencyKeysStayWithinTheCompany) {
  // The same Idempotency-Key in two companies: two independent events.
  auto a1 = co_->Post(Base(a_) + "/events", HiredEvent("emp_a"), {"Idempotency-Key: shared-key"});
  ASSERT_EQ(a1.status, 202) << a1.body;
  auto b1 = b_co_->Post(Base(b_) + "/events", HiredEvent("emp_b"), {"Idempotency-Key: shared-key"});
  ASSERT_EQ(b1.status, 202) << b1.body;
  EXPECT_NE(Str(a1.Json(), "id"), Str(b1.Json(), "id"));
  // B replaying A's exact body with that key is not A's replay either.
  auto b2 = b_co_->Post(Base(b_) + "/events", HiredEvent("emp_a"), {"Idempotency-Key: shared-key"});
  EXPECT_EQ(b2.status, 409) << b2.body;
  EXPECT_EQ(b2.body.find(Str(a1.Json(), "id")), std::string::npos) << b2.body;
}

TEST_F(TenancyTest, OperatorRevokingUnderTheWrongCompanyIs404) {
  auto r = op_->Request("DELETE", Base(b_) + "/tokens/" + a_tok_id_);
  Expect404WithoutAData(r, "revoke A's token under B", Base(b_) + "/tokens/" + a_tok_id_);
  EXPECT_EQ(ClientWith(a_tok_)->Get(Base(a_) + "/endpoints").status, 200) << "A's token was revoked";
  // The operator addressing A's endpoint under B's path: 404 as well.
  Expect404WithoutAData(op_->Get(Base(b_) + "/endpoints/" + a_ep_), "operator, A endpoint under B", a_ep_);
  Expect404WithoutAData(op_->Get(Base(b_) + "/deliveries/" + a_dlv_), "operator, A delivery under B", a_dlv_);
  Expect404WithoutAData(op_->Get(Base(b_) + "/events/" + a_ev_), "operator, A event under B", a_ev_);
  // Under the right company it works.
  EXPECT_EQ(op_->Request("DELETE", Base(a_) + "/tokens/" + a_tok_id_).status, 204);
  EXPECT_EQ(ClientWith(a_tok_)->Get(Base(a_) + "/endpoints").status, 401);
  // B's token cannot revoke A's tokens either way.
  auto t = op_->Post(Base(a_) + "/tokens", R"({"scopes":["publish"]})");
  ASSERT_EQ(t.status, 201);
  std::string tid = Str(t.Json(), "id");
  auto r1 = b_co_->Request("DELETE", Base(a_) + "/tokens/" + tid);
  EXPECT_TRUE(r1.status == 404 || r1.status == 403) << r1.body;
  auto r2 = b_co_->Request("DELETE", Base(b_) + "/tokens/" + tid);
  EXPECT_TRUE(r2.status == 404 || r2.status == 403) << r2.body;
  EXPECT_EQ(ClientWith(Str(t.Json(), "token"))->Post(Base(a_) + "/events", HiredEvent("emp_z")).status, 202);
}

}  // namespace
}  // namespace hookd::testing
