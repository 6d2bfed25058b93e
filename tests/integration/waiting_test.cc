// Issue 15 through the real binary: why a delivery waits (`waiting` in the delivery object) and
// the request headers hookd sent on each attempt. Run on SQLite and, as postgres:…, on
// PostgreSQL (tests/CMakeLists.txt).
#include <functional>
#include <map>
#include <set>

#include "core/clock.h"
#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

class WaitingTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    // A failed attempt waits an hour: what waits behind it keeps waiting during the test.
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "1h", "--request-timeout", "5s"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  std::string CreateEndpoint(json::object body) {
    if (!body.contains("event_types")) body["event_types"] = json::array{"*"};
    auto r = co_->Post(Base() + "/endpoints", json::value(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.Json().at("id").as_string()) : "";
  }
  std::string Publish(const json::value& ev) {
    auto r = co_->Post(Base() + "/events", ev);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? std::string(r.Json().at("id").as_string()) : "";
  }
  // The delivery of `event` to `endpoint`, once `pred` holds for it (else the last one seen,
  // and a failure).
  json::object DeliveryOf(const std::string& event, const std::string& endpoint,
                          const std::function<bool(const json::object&)>& pred = {},
                          std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    json::object last;
    while (std::chrono::steady_clock::now() < until) {
      auto ds = co_->Get(Base() + "/deliveries?endpoint_id=" + endpoint + "&event_id=" + event).Json();
      if (!ds.at("data").as_array().empty()) {
        last = ds.at("data").as_array()[0].as_object();
        if (!pred || pred(last)) return last;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "the delivery of " << event << " never got there; last: " << json::serialize(last);
    return last;
  }
  static std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : json::serialize(v); }
  static std::string Reason(const json::object& d) {
    const json::value& w = d.at("waiting");
    return w.is_null() ? "null" : Str(w.at("reason"));
  }
};

// An endpoint that delivers each employee's events in order, whose receiver fails: the later
// deliveries of that employee say they wait behind the first one (its id, the employee, how
// many go first, when it tries again) — in the listing and one by one —, the first one waits
// for its retry, and another employee's is not held up.
TEST_F(WaitingTest, LaterDeliveriesOfAnEmployeeSayTheyWaitBehindTheFirst) {
  Receiver rx;
  rx.Set("/erp", {.status = 500});
  const std::string ep = CreateEndpoint({{"url", rx.Url("/erp")}, {"ordering", "subject"}});
  const std::string first = Publish(HiredEvent("emp_ana"));
  json::object d1 = DeliveryOf(first, ep, [](const json::object& d) { return d.at("attempts").as_int64() == 1; });
  const std::string second = Publish(HiredEvent("emp_ana"));
  const std::string third = Publish(HiredEvent("emp_ana"));
  const std::string other = Publish(HiredEvent("emp_luis"));
  DeliveryOf(other, ep, [](const json::object& d) { return d.at("attempts").as_int64() == 1; });
  // The first one's state as the store has it (its retry time written), then theirs.
  d1 = DeliveryOf(first, ep, [](const json::object& d) {
    return Reason(d) == "retry_backoff" && d.at("waiting").at("next_attempt_at") == d.at("next_attempt_at");
  });
  const std::string d1_id = Str(d1.at("id"));
  EXPECT_EQ(d1.at("waiting").at("next_attempt_at"), d1.at("next_attempt_at"));
  const int64_t retry_in_ms = *ParseTime(Str(d1.at("next_attempt_at"))) - NowMs();
  EXPECT_GT(retry_in_ms, 40 * 60 * 1000) << "1 h ± 20 %";

  auto list = co_->Get(Base() + "/deliveries?endpoint_id=" + ep).Json().at("data").as_array();
  ASSERT_EQ(list.size(), 4u);
  std::map<std::string, json::object> by_event;
  for (auto& d : list) by_event[Str(d.at("event_id"))] = d.as_object();
  int64_t ahead = 0;
  for (const std::string& later : {second, third}) {
    const json::object& d = by_event.at(later);
    EXPECT_EQ(d.at("status").as_string(), "pending");
    EXPECT_EQ(d.at("attempts").as_int64(), 0);
    const json::value& w = d.at("waiting");
    ASSERT_TRUE(w.is_object()) << json::serialize(d);
    EXPECT_EQ(w.at("reason").as_string(), "behind_earlier_delivery");
    EXPECT_EQ(w.at("blocked_by").as_string(), d1_id);
    EXPECT_EQ(w.at("subject").as_string(), "emp_ana");
    EXPECT_EQ(w.at("ahead").as_int64(), ++ahead);
    EXPECT_EQ(w.at("blocked_by_next_attempt_at"), d1.at("next_attempt_at"));
    // One by one, the same.
    auto one = co_->Get(Base() + "/deliveries/" + Str(d.at("id"))).Json().as_object();
    EXPECT_EQ(one.at("waiting"), w);
  }
  EXPECT_EQ(Reason(by_event.at(first)), "retry_backoff");
  EXPECT_EQ(Reason(by_event.at(other)), "retry_backoff");  // another employee: tried at once
  // And the receiver indeed got only the first of each employee.
  std::set<std::string> got;
  for (const auto& r : rx.Requests("/erp")) got.insert(r.headers.at("webhook-id"));
  EXPECT_EQ(got, (std::set<std::string>{first, other}));

  // Once the first is through (a retry now, answered 200), the second goes, then the third.
  rx.Set("/erp", {.status = 200});
  ASSERT_EQ(co_->Post(Base() + "/deliveries/" + d1_id + "/retry", "").status, 202);
  for (const std::string& e : {first, second, third}) {
    auto done = DeliveryOf(e, ep, [](const json::object& d) { return d.at("status").as_string() == "succeeded"; });
    EXPECT_TRUE(done.at("waiting").is_null()) << json::serialize(done);
  }
}

// A disabled endpoint holds its deliveries and says why; enabled again without releasing them,
// they say they are held by themselves; a 410 disables it as gone.
TEST_F(WaitingTest, ADisabledEndpointsDeliveriesAreHeldWithTheReason) {
  Receiver rx;
  const std::string ep = CreateEndpoint({{"url", rx.Url("/payroll")}});
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/disable", "").status, 200);
  const std::string e1 = Publish(HiredEvent("emp_1"));
  auto held = DeliveryOf(e1, ep, [](const json::object& d) { return d.at("status").as_string() == "held"; });
  EXPECT_EQ(held.at("waiting"), (json::object{{"reason", "endpoint_disabled"}, {"disabled_reason", "manual"}}));
  EXPECT_TRUE(held.at("next_attempt_at").is_null());

  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/enable", R"({"release_held":false})").status, 200);
  held = DeliveryOf(e1, ep, [](const json::object& d) { return Reason(d) == "held"; });
  EXPECT_EQ(held.at("waiting"), (json::object{{"reason", "held"}}));
  EXPECT_EQ(rx.Count(), 0u);

  // The receiver says 410: disabled as gone, and the next delivery is held for that reason.
  rx.Set("/payroll", {.status = 410});
  const std::string e2 = Publish(HiredEvent("emp_2"));
  DeliveryOf(e2, ep, [](const json::object& d) { return d.at("status").as_string() == "failed"; });
  const std::string e3 = Publish(HiredEvent("emp_3"));
  held = DeliveryOf(e3, ep, [](const json::object& d) { return d.at("status").as_string() == "held"; });
  EXPECT_EQ(held.at("waiting"), (json::object{{"reason", "endpoint_disabled"}, {"disabled_reason", "gone"}}));
}

// Due deliveries that wait for the endpoint's limits say which, as the dispatcher sees it:
// max_concurrency requests in flight, or the rate limit.
TEST_F(WaitingTest, DueDeliveriesSayWhichLimitTheyWaitFor) {
  Receiver rx;
  rx.Set("/slow", {.delay_ms = 3000});
  const std::string narrow = CreateEndpoint({{"url", rx.Url("/slow")}, {"max_concurrency", 1}});
  for (int i = 0; i < 3; ++i) Publish(HiredEvent("emp_c" + std::to_string(i)));
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/slow"));
  // Until the dispatcher holds all three (on PostgreSQL the later ones may still be on their way
  // to it through the notices: meanwhile they are "due", from the store), well within the first
  // request's 3 s.
  std::multiset<std::string> reasons;
  json::array list;
  for (auto until = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < until;) {
    list = co_->Get(Base() + "/deliveries?endpoint_id=" + narrow).Json().at("data").as_array();
    reasons.clear();
    for (auto& d : list) reasons.insert(Reason(d.as_object()));
    if (reasons.count("concurrency_limit") == 2) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(reasons, (std::multiset<std::string>{"sending", "concurrency_limit", "concurrency_limit"}))
      << json::serialize(list);
  for (auto& d : list) {
    if (Reason(d.as_object()) == "concurrency_limit") {
      EXPECT_EQ(d.at("waiting").at("max_concurrency").as_int64(), 1);
    }
  }

  // One a second: while the first goes, the others wait for the rate limit.
  const std::string paced = CreateEndpoint({{"url", rx.Url("/paced")}, {"rate_limit_per_second", 1}});
  json::array batch;
  for (int i = 0; i < 5; ++i) batch.push_back(HiredEvent("emp_r" + std::to_string(i)));
  ASSERT_EQ(co_->Post(Base() + "/events/batch", json::value(batch)).status, 202);
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/paced"));
  int rate_limited = 0;
  for (auto until = std::chrono::steady_clock::now() + 2s; rate_limited == 0 && std::chrono::steady_clock::now() < until;) {
    list = co_->Get(Base() + "/deliveries?endpoint_id=" + paced + "&status=pending").Json().at("data").as_array();
    for (auto& d : list) {
      if (Reason(d.as_object()) != "rate_limited") continue;
      ++rate_limited;
      EXPECT_EQ(d.at("waiting").at("rate_limit_per_second").as_int64(), 1);
    }
    if (rate_limited == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(rate_limited, 1) << json::serialize(list);
}

// The attempt shows the headers hookd sent, as the receiver saw them — the signature
// included —, the endpoint's custom credentials redacted (in the API and nowhere in its answer).
TEST_F(WaitingTest, AnAttemptShowsTheHeadersTheReceiverSawWithCredentialsRedacted) {
  Receiver rx;
  const std::string ep = CreateEndpoint({{"url", rx.Url("/it")},
                                         {"headers", {{"Authorization", "Bearer top-secret-token"},
                                                      {"X-Api-Key", "k-98765"},
                                                      {"Accept-Language", "es-ES"}}}});
  const std::string evid = Publish(HiredEvent("emp_h"));
  auto d = DeliveryOf(evid, ep, [](const json::object& x) { return x.at("status").as_string() == "succeeded"; });
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/it"));
  const ReceivedRequest got = rx.Requests("/it")[0];
  EXPECT_EQ(got.headers.at("authorization"), "Bearer top-secret-token");  // sent as configured

  auto r = co_->Get(Base() + "/deliveries/" + Str(d.at("id")) + "/attempts");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("top-secret"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("k-98765"), std::string::npos) << r.body;
  const json::value attempts = r.Json();
  const json::object& a = attempts.at("data").as_array().at(0).as_object();
  const json::object& sent = a.at("request_headers").as_object();
  for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent",
                           "content-length", "accept-language"}) {
    ASSERT_TRUE(sent.contains(name)) << name << " missing from " << json::serialize(sent);
    EXPECT_EQ(sent.at(name).as_string(), got.headers.at(name)) << name;
  }
  EXPECT_EQ(sent.at("authorization").as_string(), "[redacted]");
  EXPECT_EQ(sent.at("x-api-key").as_string(), "[redacted]");
  EXPECT_TRUE(sent.at("user-agent").as_string().starts_with("hookd/"));
}

}  // namespace
}  // namespace hookd::testing
