// Zapier REST Hooks (SPEC §6) end to end: a local stand-in for Zapier that follows Zapier's
// documented REST Hook contract — subscribe with {"target_url","event"} and keep the `id`
// of the 201; fetch samples (a JSON array, newest first, each with an `id`); catch the
// payloads POSTed to its target URL; unsubscribe with DELETE …/{id} — against the real
// hookd, plus the 410 → delete-the-hook rule and the error cases.
#include <set>

#include "core/signing.h"
#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

bool HasPointer(const json::object& problem, const std::string& pointer) {
  auto* errs = problem.if_contains("errors");
  if (!errs || !errs->is_array()) return false;
  for (const auto& e : errs->as_array())
    if (e.is_object() && e.as_object().contains("pointer") && e.at("pointer").as_string() == pointer)
      return true;
  return false;
}

// A 422 problem with an entry at `pointer` in errors[].
void ExpectRefusedAt(const HttpResult& r, const std::string& pointer) {
  json::object p = ExpectProblem(r, 422);
  EXPECT_TRUE(HasPointer(p, pointer)) << "expected an error at '" << pointer << "': " << r.body;
}

// What Zapier does with a REST Hook trigger, over real HTTP: its "catch" URLs are paths of
// a local Receiver.
class FakeZapier {
 public:
  FakeZapier(std::unique_ptr<HttpClient> api, Receiver& catcher) : api_(std::move(api)), catcher_(catcher) {}

  // Zap turned on: POST /v1/hooks; Zapier needs a 201 whose body has an `id`.
  struct Subscription {
    std::string id;
    std::string secret;
    json::object body;
  };
  Subscription Subscribe(const std::string& event, const std::string& catch_path) {
    auto r = api_->Post("/v1/hooks", json::object{{"target_url", catcher_.Url(catch_path)}, {"event", event}});
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    json::object o = r.Json().as_object();
    EXPECT_TRUE(o.contains("id") && o.at("id").is_string()) << r.body;
    return {std::string(o.at("id").as_string()), std::string(o.at("secret").as_string()), o};
  }

  // Zap turned off: DELETE /v1/hooks/{id} with the id kept from the subscribe.
  long Unsubscribe(const std::string& id) { return api_->Request("DELETE", "/v1/hooks/" + id).status; }

  // The sample step: a JSON array of objects, each with an `id` Zapier dedupes on.
  json::array Samples(const std::string& event) {
    auto r = api_->Get("/v1/hooks/samples?event=" + event);
    EXPECT_EQ(r.status, 200) << r.body;
    json::value v = r.Json();
    if (!v.is_array()) {
      ADD_FAILURE() << "samples must be a JSON array: " << r.body;
      return {};
    }
    std::set<std::string> ids;
    for (const auto& s : v.as_array()) {
      EXPECT_TRUE(s.is_object() && s.as_object().contains("id")) << r.body;
      if (s.is_object() && s.as_object().contains("id")) {
        EXPECT_TRUE(ids.insert(std::string(s.at("id").as_string())).second) << "duplicate id: " << r.body;
      }
    }
    return v.as_array();
  }

  std::vector<ReceivedRequest> Caught(const std::string& catch_path) const { return catcher_.Requests(catch_path); }

 private:
  std::unique_ptr<HttpClient> api_;
  Receiver& catcher_;
};

class RestHooksTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "300ms,300ms,300ms",
            "--request-timeout", "2s"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  std::string Publish(const json::value& ev) {
    auto r = co_->Post(Base() + "/events", ev);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? std::string(r.Json().at("id").as_string()) : "";
  }
  // The company's endpoints (rest hooks included), by id.
  std::map<std::string, json::object> Endpoints() {
    std::map<std::string, json::object> out;
    auto r = co_->Get(Base() + "/endpoints?limit=500");
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value page = r.Json();
    for (const auto& e : page.at("data").as_array())
      out[std::string(e.at("id").as_string())] = e.as_object();
    return out;
  }
  static json::value TimeOff(const std::string& employee) {
    return json::parse(R"({"type":"time_off.requested","data":{"request":{"id":"tor_1","employee_id":")" + employee +
                       R"(","type":"vacation","start_date":"2026-12-21","end_date":"2026-12-31"}}})");
  }
  // Polls `pred` for up to `timeout`.
  template <class Pred>
  static bool Eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      std::this_thread::sleep_for(50ms);
    }
    return pred();
  }
};

TEST_F(RestHooksTest, ZapierSubscribesSamplesReceivesAndUnsubscribes) {
  Receiver rx;
  FakeZapier zapier(ClientWith(company_token_), rx);

  // Before any event: one sample built from the catalog example, in the §3 shape.
  json::array first = zapier.Samples("employee.hired");
  ASSERT_EQ(first.size(), 1u) << json::serialize(first);
  const auto& ex = first[0].as_object();
  EXPECT_TRUE(std::string_view(ex.at("id").as_string()).starts_with("evt_"));
  EXPECT_EQ(ex.at("type").as_string(), "employee.hired");
  EXPECT_EQ(ex.at("company_id").as_string(), company_);
  EXPECT_TRUE(ex.at("timestamp").is_string());
  EXPECT_EQ(ex.size(), 5u) << json::serialize(ex);  // id, type, timestamp, company_id, data
  EXPECT_EQ(ex.at("data"), co_->Get("/v1/event-types/employee.hired").Json().at("example"));

  // Subscribe: 201 with the id Zapier keeps, a rest_hook endpoint for that one type.
  auto sub = zapier.Subscribe("employee.hired", "/catch/zap-1");
  ASSERT_FALSE(sub.id.empty());
  EXPECT_TRUE(sub.id.starts_with("ep_")) << sub.id;
  EXPECT_EQ(sub.body.at("kind").as_string(), "rest_hook");
  EXPECT_EQ(sub.body.at("event").as_string(), "employee.hired");
  EXPECT_EQ(sub.body.at("target_url").as_string(), rx.Url("/catch/zap-1"));
  EXPECT_EQ(sub.body.at("url").as_string(), rx.Url("/catch/zap-1"));
  EXPECT_EQ(sub.body.at("event_types"), json::value(json::array{"employee.hired"}));
  EXPECT_TRUE(sub.secret.starts_with("whsec_"));
  // Listed with the company's endpoints.
  auto eps = Endpoints();
  ASSERT_TRUE(eps.contains(sub.id));
  EXPECT_EQ(eps[sub.id].at("kind").as_string(), "rest_hook");
  EXPECT_EQ(eps[sub.id].at("status").as_string(), "enabled");
  EXPECT_FALSE(eps[sub.id].contains("secret"));

  // Four hires and a time-off request: the hook gets the hires, each signed like any delivery.
  std::vector<std::string> hired;
  for (int i = 1; i <= 4; ++i) {
    hired.push_back(Publish(HiredEvent("emp_" + std::to_string(i))));
    if (i == 2) Publish(TimeOff("emp_9"));
  }
  ASSERT_TRUE(rx.WaitFor(4, 5s, "/catch/zap-1"));
  std::set<std::string> got;
  for (const auto& req : zapier.Caught("/catch/zap-1")) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.headers.at("content-type"), "application/json");
    int64_t ts = std::stoll(req.headers.at("webhook-timestamp"));
    auto ok = VerifyStandard(sub.secret, {req.headers.at("webhook-id"), req.headers.at("webhook-timestamp"),
                                          req.headers.at("webhook-signature")},
                             req.body, ts * 1000);
    EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
    auto body = json::parse(req.body);
    EXPECT_EQ(body.at("type").as_string(), "employee.hired");
    EXPECT_EQ(body.at("id").as_string(), req.headers.at("webhook-id"));
    got.insert(std::string(body.at("id").as_string()));
  }
  EXPECT_EQ(got, std::set<std::string>(hired.begin(), hired.end()));

  // Samples now: the 3 newest real payloads, newest first, exactly as delivered.
  json::array recent = zapier.Samples("employee.hired");
  ASSERT_EQ(recent.size(), 3u) << json::serialize(recent);
  EXPECT_EQ(recent[0].at("id").as_string(), hired[3]);
  EXPECT_EQ(recent[1].at("id").as_string(), hired[2]);
  EXPECT_EQ(recent[2].at("id").as_string(), hired[1]);
  for (const auto& req : zapier.Caught("/catch/zap-1"))
    if (json::parse(req.body).at("id") == recent[0].at("id")) {
      EXPECT_EQ(json::parse(req.body), recent[0]);
    }
  EXPECT_EQ(recent[0].at("data").at("employee").at("id").as_string(), "emp_4");
  // Other types have their own samples.
  json::array timeoff = zapier.Samples("time_off.requested");
  ASSERT_EQ(timeoff.size(), 1u);
  EXPECT_EQ(timeoff[0].at("data").at("request").at("employee_id").as_string(), "emp_9");

  // Unsubscribe: 204, gone from the endpoints, and the next hire is not delivered.
  EXPECT_EQ(zapier.Unsubscribe(sub.id), 204);
  EXPECT_FALSE(Endpoints().contains(sub.id));
  Publish(HiredEvent("emp_5"));
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(rx.Count("/catch/zap-1"), 4u);
  // A second unsubscribe finds nothing.
  EXPECT_EQ(zapier.Unsubscribe(sub.id), 404);
}

TEST_F(RestHooksTest, GoneDeletesTheHookButOnlyDisablesAPlainEndpoint) {
  Receiver rx;
  rx.Set("/catch/gone", {.status = 410, .body = "zap turned off"});
  rx.Set("/plain/gone", {.status = 410});
  FakeZapier zapier(ClientWith(company_token_), rx);
  auto live = zapier.Subscribe("employee.hired", "/catch/live");
  auto gone = zapier.Subscribe("employee.hired", "/catch/gone");
  ASSERT_FALSE(live.id.empty());
  ASSERT_FALSE(gone.id.empty());
  auto plain = co_->Post(Base() + "/endpoints",
                         json::object{{"url", rx.Url("/plain/gone")}, {"event_types", json::array{"employee.*"}}});
  ASSERT_EQ(plain.status, 201) << plain.body;
  const std::string plain_id(plain.Json().at("id").as_string());

  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/catch/gone"));
  // hookd deletes the hook whose target answered 410…
  EXPECT_TRUE(Eventually([&] { return !Endpoints().contains(gone.id); }))
      << "the hook that got 410 is still listed";
  EXPECT_EQ(zapier.Unsubscribe(gone.id), 404);
  // …keeps the failed delivery as history…
  const json::value dpage = co_->Get(Base() + "/deliveries?endpoint_id=" + gone.id).Json();
  const auto& ds = dpage.at("data").as_array();
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].at("status").as_string(), "failed");
  EXPECT_EQ(ds[0].at("event_id").as_string(), evid);
  // …and a plain endpoint that got 410 is disabled as gone, not deleted.
  EXPECT_TRUE(Eventually([&] {
    auto eps = Endpoints();
    return eps.contains(plain_id) && eps[plain_id].at("status").as_string() == "disabled";
  }));
  auto eps = Endpoints();
  ASSERT_TRUE(eps.contains(plain_id));
  EXPECT_EQ(eps[plain_id].at("disabled_reason").as_string(), "gone");
  EXPECT_EQ(eps[plain_id].at("kind").as_string(), "endpoint");
  // The other hook is untouched and keeps receiving; the deleted one gets nothing more.
  ASSERT_TRUE(eps.contains(live.id));
  EXPECT_EQ(eps[live.id].at("status").as_string(), "enabled");
  Publish(HiredEvent("emp_2"));
  ASSERT_TRUE(rx.WaitFor(2, 5s, "/catch/live"));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rx.Count("/catch/gone"), 1u);
}

// Regression: when the dispatcher deletes a hook on 410, the API's fan-out index follows at
// once, so the next event creates no delivery for it (none counted, none left pending).
TEST_F(RestHooksTest, NoDeliveryIsCreatedForAHookDeletedByGone) {
  Receiver rx;
  rx.Set("/catch/gone", {.status = 410});
  FakeZapier zapier(ClientWith(company_token_), rx);
  auto gone = zapier.Subscribe("employee.hired", "/catch/gone");
  ASSERT_FALSE(gone.id.empty());
  Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/catch/gone"));
  ASSERT_TRUE(Eventually([&] { return !Endpoints().contains(gone.id); }));
  auto r = co_->Post(Base() + "/events", HiredEvent("emp_2"));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json().at("deliveries").to_number<int>(), 0) << r.body;
  const json::value page = co_->Get(Base() + "/deliveries?endpoint_id=" + gone.id + "&status=pending").Json();
  EXPECT_TRUE(page.at("data").as_array().empty()) << json::serialize(page);
}

TEST_F(RestHooksTest, SubscribeAcceptsZapierExtrasAndAManageOnlyToken) {
  Receiver rx;
  auto manage = ClientWith(CreateToken(company_, {"manage"}));
  // Zapier's legacy duplicate subscription_url and other fields are ignored.
  auto r = manage->Post("/v1/hooks", json::object{{"target_url", rx.Url("/catch/x")},
                                                  {"subscription_url", rx.Url("/catch/x")},
                                                  {"event", "contract.updated"},
                                                  {"zap_id", 12345}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json().at("event_types"), json::value(json::array{"contract.updated"}));
  // Several hooks on one event are fine (one per Zap).
  EXPECT_EQ(manage->Post("/v1/hooks", json::object{{"target_url", rx.Url("/catch/x")}, {"event", "contract.updated"}}).status,
            201);
}

TEST_F(RestHooksTest, RefusesBadSubscriptions) {
  Receiver rx;
  auto before = Endpoints().size();
  auto post = [&](const std::string& body) { return co_->Post("/v1/hooks", body); };
  const std::string ok_url = rx.Url("/catch/x");
  // target_url: validated like an endpoint url.
  ExpectRefusedAt(post(R"({"event":"employee.hired"})"), "/target_url");
  ExpectRefusedAt(post(R"({"target_url":"not a url","event":"employee.hired"})"), "/target_url");
  ExpectRefusedAt(post(R"({"target_url":"ftp://127.0.0.1/x","event":"employee.hired"})"), "/target_url");
  ExpectRefusedAt(post(R"({"target_url":"http://user:pw@127.0.0.1/x","event":"employee.hired"})"), "/target_url");
  ExpectRefusedAt(post(R"({"target_url":42,"event":"employee.hired"})"), "/target_url");
  ExpectRefusedAt(post(R"({"target_url":"http://127.0.0.1/)" + std::string(2100, 'a') + R"(","event":"employee.hired"})"),
                  "/target_url");
  // event: one known type.
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"("})"), "/event");
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"(","event":"employee.promoted"})"), "/event");
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"(","event":"employee.*"})"), "/event");
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"(","event":"*"})"), "/event");
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"(","event":"webhook.test"})"), "/event");
  ExpectRefusedAt(post(R"({"target_url":")" + ok_url + R"(","event":["employee.hired"]})"), "/event");
  // Both wrong: both reported.
  auto both = ExpectProblem(post(R"({"target_url":"nope","event":"nope.nope"})"), 422);
  EXPECT_TRUE(HasPointer(both, "/target_url") && HasPointer(both, "/event")) << json::serialize(both);
  ExpectRefusedAt(post(R"(["employee.hired"])"), "");
  ExpectProblem(post(R"({"target_url":)"), 400);
  EXPECT_EQ(Endpoints().size(), before);
}

TEST_F(RestHooksTest, NeedsACompanyTokenWithManage) {
  Receiver rx;
  FakeZapier zapier(ClientWith(company_token_), rx);
  auto sub = zapier.Subscribe("employee.hired", "/catch/x");
  ASSERT_FALSE(sub.id.empty());
  const std::string body = json::serialize(json::object{{"target_url", rx.Url("/catch/y")}, {"event", "employee.hired"}});

  // The operator token has no company: 403 that says so.
  auto op = ExpectProblem(op_->Post("/v1/hooks", body), 403);
  EXPECT_NE(std::string(op.at("detail").as_string()).find("company token"), std::string::npos) << json::serialize(op);
  ExpectProblem(op_->Request("DELETE", "/v1/hooks/" + sub.id), 403);
  ExpectProblem(op_->Get("/v1/hooks/samples?event=employee.hired"), 403);
  // A publish-only token lacks manage.
  auto pub = ClientWith(CreateToken(company_, {"publish"}));
  ExpectProblem(pub->Post("/v1/hooks", body), 403);
  ExpectProblem(pub->Request("DELETE", "/v1/hooks/" + sub.id), 403);
  ExpectProblem(pub->Get("/v1/hooks/samples?event=employee.hired"), 403);
  // No token.
  auto anon = std::make_unique<HttpClient>(hookd_->BaseUrl());
  ExpectProblem(anon->Post("/v1/hooks", body), 401);
  ExpectProblem(anon->Request("DELETE", "/v1/hooks/" + sub.id), 401);
  ExpectProblem(anon->Get("/v1/hooks/samples?event=employee.hired"), 401);
  // Still there.
  EXPECT_TRUE(Endpoints().contains(sub.id));
}

TEST_F(RestHooksTest, DeleteFindsOnlyThisCompanysHooks) {
  Receiver rx;
  FakeZapier zapier(ClientWith(company_token_), rx);
  auto sub = zapier.Subscribe("employee.hired", "/catch/x");
  ASSERT_FALSE(sub.id.empty());
  auto plain = co_->Post(Base() + "/endpoints",
                         json::object{{"url", rx.Url("/plain")}, {"event_types", json::array{"*"}}});
  ASSERT_EQ(plain.status, 201);
  const std::string plain_id(plain.Json().at("id").as_string());

  const std::string other = CreateCompany("Other Co");
  auto other_co = ClientWith(CreateToken(other, {"manage", "publish"}));
  // Another company's hook: 404, never 403, and it survives.
  ExpectProblem(other_co->Request("DELETE", "/v1/hooks/" + sub.id), 404);
  // A plain endpoint is not a hook.
  ExpectProblem(co_->Request("DELETE", "/v1/hooks/" + plain_id), 404);
  // Not an id at all.
  ExpectProblem(co_->Request("DELETE", "/v1/hooks/nope"), 404);
  ExpectProblem(co_->Request("DELETE", "/v1/hooks/ep_01JD0000000000000000000000"), 404);
  auto eps = Endpoints();
  EXPECT_TRUE(eps.contains(sub.id));
  EXPECT_TRUE(eps.contains(plain_id));

  // Samples are per company: the other company has no events, so it gets the example.
  Publish(HiredEvent("emp_77"));
  auto r = other_co->Get("/v1/hooks/samples?event=employee.hired");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json().as_array().size(), 1u);
  EXPECT_EQ(r.Json().as_array()[0].at("company_id").as_string(), other);
  EXPECT_NE(r.Json().as_array()[0].at("data").at("employee").at("id").as_string(), "emp_77");
  EXPECT_EQ(zapier.Unsubscribe(sub.id), 204);
}

TEST_F(RestHooksTest, SamplesNeedAKnownEventType) {
  ExpectRefusedAt(co_->Get("/v1/hooks/samples"), "/query/event");
  ExpectRefusedAt(co_->Get("/v1/hooks/samples?event="), "/query/event");
  ExpectRefusedAt(co_->Get("/v1/hooks/samples?event=employee.promoted"), "/query/event");
  ExpectRefusedAt(co_->Get("/v1/hooks/samples?event=employee.*"), "/query/event");
  ExpectRefusedAt(co_->Get("/v1/hooks/samples?event=webhook.test"), "/query/event");
  // A custom type added by the operator has samples from its own example.
  auto add = op_->Post("/v1/event-types", json::parse(R"({"name":"payroll.closed","description":"Payroll closed",
      "schema":{"type":"object","required":["period"],"properties":{"period":{"type":"string"}}},
      "example":{"period":"2026-11"}})"));
  ASSERT_EQ(add.status, 201) << add.body;
  auto r = co_->Get("/v1/hooks/samples?event=payroll.closed");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().as_array()[0].at("data"), json::parse(R"({"period":"2026-11"})"));
}

// Without --allow-http / --allow-private-destinations, target_url gets the endpoint rules:
// https only, and no loopback or private destinations (SSRF guard at save time).
class RestHooksGuardTest : public HookdTest {};

TEST_F(RestHooksGuardTest, TargetUrlIsCheckedLikeAnEndpointUrl) {
  auto post = [&](const std::string& url) {
    return co_->Post("/v1/hooks", json::object{{"target_url", url}, {"event", "employee.hired"}});
  };
  ExpectRefusedAt(post("http://hooks.example.com/catch"), "/target_url");
  for (const std::string url : {"https://127.0.0.1/catch", "https://10.1.2.3/catch", "https://169.254.169.254/latest",
                                "https://[::1]/catch"})
    ExpectRefusedAt(post(url), "/target_url");
}

}  // namespace
}  // namespace hookd::testing
