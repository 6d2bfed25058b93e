// The delivery engine end to end: real hookd, real receivers on loopback, checking what
// arrives (signatures included), retries, ordering, isolation, limits and crash safety.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "core/signing.h"
#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

class DeliveryTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "300ms,300ms,300ms",
            "--request-timeout", "2s"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  // Creates an endpoint; returns {id, secret}.
  std::pair<std::string, std::string> CreateEndpoint(json::object body) {
    if (!body.contains("event_types")) body["event_types"] = json::array{"*"};
    auto r = co_->Post(Base() + "/endpoints", json::value(body));
    EXPECT_EQ(r.status, 201) << r.body;
    auto v = r.Json();
    return {std::string(v.at("id").as_string()), std::string(v.at("secret").as_string())};
  }
  std::string Publish(const json::value& ev) {
    auto r = co_->Post(Base() + "/events", ev);
    EXPECT_EQ(r.status, 202) << r.body;
    return r.status == 202 ? std::string(r.Json().at("id").as_string()) : "";
  }
  json::array Deliveries(const std::string& query) {
    return co_->Get(Base() + "/deliveries?" + query).Json().at("data").as_array();
  }
  // Polls until the delivery of `event` reaches `status`.
  json::object WaitDelivery(const std::string& event, const std::string& status,
                            std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    json::object last;
    while (std::chrono::steady_clock::now() < until) {
      auto ds = Deliveries("event_id=" + event);
      if (!ds.empty()) {
        last = ds[0].as_object();
        if (last.at("status").as_string() == status) return last;
      }
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "delivery of " << event << " never became " << status << "; last: " << json::serialize(last);
    return last;
  }
  // Polls until the delivery of `event` (to `endpoint`, when given) has at least one attempt;
  // returns its attempts (empty after `timeout`).
  json::array WaitAttempts(const std::string& event, const std::string& endpoint = "",
                           std::chrono::milliseconds timeout = 10s) {
    const std::string query = (endpoint.empty() ? "" : "endpoint_id=" + endpoint + "&") + "event_id=" + event;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      auto ds = Deliveries(query);
      if (!ds.empty()) {
        auto atts = co_->Get(Base() + "/deliveries/" + std::string(ds[0].at("id").as_string()) + "/attempts")
                        .Json().at("data").as_array();
        if (!atts.empty()) return atts;
      }
      std::this_thread::sleep_for(50ms);
    }
    return {};
  }
  // The first (oldest) attempt of that delivery, once there is one; empty after `timeout`.
  // (The attempts API lists the newest first.)
  json::object FirstAttempt(const std::string& event, const std::string& endpoint = "",
                            std::chrono::milliseconds timeout = 10s) {
    auto atts = WaitAttempts(event, endpoint, timeout);
    return atts.empty() ? json::object() : atts.back().as_object();
  }
  static json::value TimeOff(const std::string& employee, const std::string& request_id) {
    return json::parse(R"({"type":"time_off.requested","data":{"request":{"id":")" + request_id +
                       R"(","employee_id":")" + employee +
                       R"(","type":"vacation","start_date":"2026-12-21","end_date":"2026-12-31","days":8}}})");
  }
};

TEST_F(DeliveryTest, DeliversSignedPayloadOnce) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  auto req = rx.Requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.headers["content-type"], "application/json");
  EXPECT_TRUE(req.headers["user-agent"].starts_with("hookd/")) << req.headers["user-agent"];
  EXPECT_EQ(req.headers["webhook-id"], evid);
  int64_t ts = std::stoll(req.headers["webhook-timestamp"]);
  EXPECT_NEAR(static_cast<double>(ts), static_cast<double>(time(nullptr)), 5);
  auto ok = VerifyStandard(secret, {req.headers["webhook-id"], req.headers["webhook-timestamp"],
                                    req.headers["webhook-signature"]},
                           req.body, ts * 1000);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  auto body = json::parse(req.body);
  EXPECT_EQ(body.at("id").as_string(), evid);
  EXPECT_EQ(body.at("type").as_string(), "employee.hired");
  EXPECT_EQ(body.at("company_id").as_string(), company_);
  EXPECT_EQ(body.at("data").at("employee").at("email").as_string(), "lucia.garcia@acme.example");
  // The body is exactly the stored payload.
  EXPECT_EQ(co_->Get(Base() + "/events/" + evid).Json().at("payload").as_string(), req.body);

  auto d = WaitDelivery(evid, "succeeded");
  EXPECT_EQ(d.at("attempts").to_number<int>(), 1);
  auto atts = co_->Get(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/attempts").Json();
  ASSERT_EQ(atts.at("data").as_array().size(), 1u);
  auto a = atts.at("data").as_array()[0];
  EXPECT_EQ(a.at("status_code").to_number<int>(), 200);
  EXPECT_TRUE(a.at("error").is_null());
  EXPECT_TRUE(a.at("error_detail").is_null());
  EXPECT_EQ(a.at("response_body").as_string(), "ok");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rx.Count(), 1u);
}

TEST_F(DeliveryTest, RetriesUntilTheReceiverTakesItWithTheSameIdAndBody) {
  Receiver rx;
  rx.SetFn("/hook", [](int n, const ReceivedRequest&) {
    return n < 2 ? Behaviour{.status = 503, .body = "busy"} : Behaviour{};
  });
  CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(3, 10s));
  auto reqs = rx.Requests();
  EXPECT_EQ(reqs[0].headers["webhook-id"], evid);
  EXPECT_EQ(reqs[1].headers["webhook-id"], evid);
  EXPECT_EQ(reqs[2].headers["webhook-id"], evid);
  EXPECT_EQ(reqs[0].body, reqs[2].body);
  // Spaced by the schedule (300 ms ±20 %).
  EXPECT_GE(reqs[1].at - reqs[0].at, 200ms);
  auto d = WaitDelivery(evid, "succeeded");
  EXPECT_EQ(d.at("attempts").to_number<int>(), 3);
  auto atts = co_->Get(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/attempts")
                  .Json().at("data").as_array();
  ASSERT_EQ(atts.size(), 3u);
  EXPECT_EQ(atts[0].at("number").to_number<int>(), 3);  // newest first
  EXPECT_EQ(atts[0].at("status_code").to_number<int>(), 200);
  EXPECT_EQ(atts[2].at("status_code").to_number<int>(), 503);
  EXPECT_EQ(atts[2].at("error").as_string(), "http");
  EXPECT_EQ(atts[2].at("response_body").as_string(), "busy");
}

TEST_F(DeliveryTest, ExhaustedRetriesFailTheDelivery) {
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  auto d = WaitDelivery(evid, "failed");
  EXPECT_EQ(d.at("attempts").to_number<int>(), 4);  // 1 + 3 retries
  EXPECT_EQ(rx.Count(), 4u);
}

TEST_F(DeliveryTest, GoneDisablesTheEndpointAndHoldsLaterDeliveries) {
  Receiver rx;
  rx.Set("/hook", {.status = 410});
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  WaitDelivery(evid, "failed");
  auto e = co_->Get(Base() + "/endpoints/" + ep).Json();
  EXPECT_EQ(e.at("status").as_string(), "disabled");
  EXPECT_EQ(e.at("disabled_reason").as_string(), "gone");
  std::string later = Publish(HiredEvent("emp_2"));
  WaitDelivery(later, "held", 2s);
  // Enabling releases it.
  rx.Set("/hook", {.status = 200});
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/enable", "").status, 200);
  WaitDelivery(later, "succeeded");
}

// Issue 11: a PATCH read the endpoint, changed it and wrote every column back, so a 410 that
// landed in between was undone (a gone endpoint came back enabled). Both are now separate
// writes: whatever the interleaving, the endpoint ends gone and the PATCH's fields applied.
TEST_F(DeliveryTest, AGoneAnswerAndAPatchAtTheSameMomentBothStick) {
  Receiver rx;
  std::atomic<int> patch_now{-1};
  rx.SetFn("/gone", [&](int n, const ReceivedRequest&) {
    patch_now = n;  // the test PATCHes as the 410 is on its way
    return Behaviour{.status = 410, .delay_ms = (n % 3)};
  });
  constexpr int kRounds = 30;
  for (int i = 0; i < kRounds; ++i) {
    auto [ep, secret] = CreateEndpoint({{"url", rx.Url("/gone")}});
    (void)secret;
    patch_now = -1;
    std::string evid = Publish(HiredEvent("emp_" + std::to_string(i)));
    while (patch_now.load() < 0) std::this_thread::yield();
    const std::string description = "edited in round " + std::to_string(i);
    for (int k = 0; k < 3; ++k) {
      auto r = co_->Request("PATCH", Base() + "/endpoints/" + ep,
                            json::serialize(json::object{{"description", description}, {"max_concurrency", 5 + k}}));
      ASSERT_EQ(r.status, 200) << r.body;
    }
    WaitDelivery(evid, "failed");
    auto e = co_->Get(Base() + "/endpoints/" + ep).Json();
    EXPECT_EQ(e.at("status").as_string(), "disabled") << "round " << i << ": " << json::serialize(e);
    EXPECT_EQ(e.at("disabled_reason"), json::value("gone")) << "round " << i;
    EXPECT_EQ(e.at("description").as_string(), description) << "round " << i;
    EXPECT_EQ(e.at("max_concurrency").to_number<int>(), 7) << "round " << i;
  }
}

TEST_F(DeliveryTest, RetryAfterIsHonoured) {
  Receiver rx;
  rx.SetFn("/hook", [](int n, const ReceivedRequest&) {
    return n == 0 ? Behaviour{.status = 429, .headers = {{"Retry-After", "2"}}} : Behaviour{};
  });
  CreateEndpoint({{"url", rx.Url()}});
  Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(2, 8s));
  auto reqs = rx.Requests();
  EXPECT_GE(reqs[1].at - reqs[0].at, 1900ms);  // not the 300 ms schedule
}

TEST_F(DeliveryTest, SubjectOrderingHoldsLaterEventsOfOneEmployeeWhileOthersFlow) {
  Receiver rx;
  // The first event of employee A fails twice; everything else succeeds.
  std::atomic<int> a_failures{0};
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"ordering", "subject"}, {"max_concurrency", 4}});
  rx.SetFn("/hook", [&](int, const ReceivedRequest& req) {
    auto body = json::parse(req.body);
    if (body.at("data").at("request").at("id").as_string() == "A1" && a_failures.fetch_add(1) < 2)
      return Behaviour{.status = 500};
    return Behaviour{};
  });
  std::string a1 = Publish(TimeOff("emp_A", "A1"));
  std::string a2 = Publish(TimeOff("emp_A", "A2"));
  std::string b1 = Publish(TimeOff("emp_B", "B1"));
  std::string a3 = Publish(TimeOff("emp_A", "A3"));
  ASSERT_TRUE(rx.WaitFor(6, 10s));  // A1 ×3, A2, A3, B1
  std::vector<std::string> order;
  for (const auto& r : rx.Requests()) order.push_back(std::string(json::parse(r.body).at("data").at("request").at("id").as_string()));
  std::vector<std::string> a_order;
  for (auto& o : order)
    if (o[0] == 'A') a_order.push_back(o);
  EXPECT_EQ(a_order, (std::vector<std::string>{"A1", "A1", "A1", "A2", "A3"}));
  // B1 did not wait for A1's retries.
  auto b_pos = std::find(order.begin(), order.end(), "B1") - order.begin();
  EXPECT_LT(b_pos, 3) << "B1 arrived at position " << b_pos;
}

TEST_F(DeliveryTest, BadReceiversDoNotHoldUpAHealthyOne) {
  Receiver rx;
  rx.Set("/hang", {.hang = true});
  rx.Set("/reset", {.reset = true});
  rx.Set("/slow", {.delay_ms = 5000});
  std::map<std::string, std::string> bad;
  for (const char* p : {"/hang", "/reset", "/slow"})
    bad[p] = CreateEndpoint({{"url", rx.Url(p)}, {"event_types", json::array{"employee.*"}}, {"timeout_ms", 2000}}).first;
  CreateEndpoint({{"url", rx.Url("/ok")}, {"event_types", json::array{"employee.*"}}});
  // Keep publishing for longer than the bad endpoints' timeouts, so they use them up fully
  // while the healthy endpoint's deliveries keep arriving within a second each.
  std::vector<std::chrono::milliseconds> latencies;
  std::vector<std::string> events;
  for (int i = 0; i < 35; ++i) {
    auto sent = std::chrono::steady_clock::now();
    events.push_back(Publish(HiredEvent("emp_" + std::to_string(i))));
    ASSERT_TRUE(rx.WaitFor(i + 1, 1s, "/ok")) << "healthy delivery " << i << " took over 1 s";
    latencies.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(rx.Requests("/ok").back().at - sent));
    std::this_thread::sleep_for(100ms);
  }
  std::sort(latencies.begin(), latencies.end());
  EXPECT_LT(latencies.back(), 1000ms);
  // The bad ones did get their requests and spent their full timeouts.
  auto hang = FirstAttempt(events[0], bad["/hang"]);
  ASSERT_FALSE(hang.empty());
  EXPECT_EQ(hang.at("error").as_string(), "timeout");
  EXPECT_GE(hang.at("duration_ms").to_number<int>(), 1900);
  auto slow = FirstAttempt(events[0], bad["/slow"]);
  ASSERT_FALSE(slow.empty());
  EXPECT_EQ(slow.at("error").as_string(), "timeout");
  auto reset = FirstAttempt(events[0], bad["/reset"]);
  ASSERT_FALSE(reset.empty());
  EXPECT_EQ(reset.at("error").as_string(), "connect");
  EXPECT_EQ(reset.at("response_body").as_string(), "");
  EXPECT_NE(reset.at("error_detail").as_string(), "");
}

TEST_F(DeliveryTest, FailingEndpointIsDisabledAfterTheGracePeriod) {
  hookd_->Kill(SIGTERM);
  hookd_->SetExtraArgs({"--allow-http", "--allow-private-destinations", "--retry-schedule",
                        "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
                        "--disable-after", "1s"});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  WaitDelivery(evid, "held", 10s);
  auto e = co_->Get(Base() + "/endpoints/" + ep).Json();
  EXPECT_EQ(e.at("status").as_string(), "disabled");
  EXPECT_EQ(e.at("disabled_reason").as_string(), "failing");
  EXPECT_GE(rx.Count(), 10u);
  // While disabled, new deliveries are held; enable releases them.
  std::string later = Publish(HiredEvent("emp_2"));
  WaitDelivery(later, "held", 2s);
  rx.Set("/hook", {.status = 204});
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/enable", "").status, 200);
  WaitDelivery(evid, "succeeded");
  WaitDelivery(later, "succeeded");
}

// The endpoint object tells how it is doing (SPEC §5.6), so that a dashboard need not guess
// from the success rate: the failures in a row, since when, and when hookd would disable it.
TEST_F(DeliveryTest, EndpointHealthShowsTheFailureStreakAndWhenItWouldBeDisabled) {
  hookd_->Kill(SIGTERM);
  hookd_->SetExtraArgs({"--allow-http", "--allow-private-destinations", "--retry-schedule", "100ms,100ms",
                        "--disable-after", "2h"});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  auto health = [&] { return co_->Get(Base() + "/endpoints/" + ep).Json().at("health").as_object(); };
  json::object h = health();
  EXPECT_EQ(h.at("consecutive_failures").to_number<int>(), 0);
  EXPECT_TRUE(h.at("failing_since").is_null());
  EXPECT_TRUE(h.at("auto_disable_at").is_null());
  EXPECT_EQ(h.at("auto_disable_min_failures").to_number<int>(), 10);

  const int64_t before = NowMs();
  std::string evid = Publish(HiredEvent());
  WaitDelivery(evid, "failed");
  // The outcomes reach the store in batches: wait for the third failure to be counted.
  auto until = std::chrono::steady_clock::now() + 5s;
  while ((h = health()).at("consecutive_failures").to_number<int>() < 3 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.at("consecutive_failures").to_number<int>(), 3) << json::serialize(h);
  ASSERT_TRUE(h.at("failing_since").is_string()) << json::serialize(h);
  auto since = ParseTime(h.at("failing_since").as_string());
  ASSERT_TRUE(since);
  EXPECT_GE(*since, before - 1000);
  EXPECT_LE(*since, NowMs());
  ASSERT_TRUE(h.at("auto_disable_at").is_string()) << json::serialize(h);
  EXPECT_EQ(ParseTime(h.at("auto_disable_at").as_string()), *since + 2 * 3600 * 1000);
  // The list says the same.
  auto list = co_->Get(Base() + "/endpoints").Json().at("data").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("health").at("consecutive_failures").to_number<int>(), 3);

  // Disabled: no longer "would be disabled", still failing.
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/disable", "").status, 200);
  h = health();
  EXPECT_EQ(h.at("consecutive_failures").to_number<int>(), 3);
  EXPECT_TRUE(h.at("auto_disable_at").is_null());

  // One success ends the streak.
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/enable", "").status, 200);
  rx.Set("/hook", {.status = 204});
  std::string ok = Publish(HiredEvent("emp_2"));
  WaitDelivery(ok, "succeeded");
  until = std::chrono::steady_clock::now() + 5s;
  while ((h = health()).at("consecutive_failures").to_number<int>() != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(h.at("consecutive_failures").to_number<int>(), 0) << json::serialize(h);
  EXPECT_TRUE(h.at("failing_since").is_null());
  EXPECT_TRUE(h.at("auto_disable_at").is_null());
}

// `recover` makes the dispatcher read the endpoint's pending deliveries back from the store;
// one that is in memory waiting for its retry must stay on its schedule (it used to be sent
// again at once, spending its retries early: the backlog benchmark ended 6,912 deliveries
// `failed` after a recovery read them back).
TEST_F(DeliveryTest, ReadingPendingDeliveriesBackKeepsWaitingRetriesOnSchedule) {
  hookd_->Kill(SIGTERM);
  hookd_->SetExtraArgs({"--allow-http", "--allow-private-destinations", "--retry-schedule", "1h"});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  // A: two attempts (the second one asked for), failed.
  std::string a = Publish(HiredEvent("emp_a"));
  ASSERT_EQ(WaitAttempts(a).size(), 1u);
  const std::string a_id(Deliveries("event_id=" + a)[0].at("id").as_string());
  ASSERT_EQ(co_->Post(Base() + "/deliveries/" + a_id + "/retry", "").status, 202);
  WaitDelivery(a, "failed");
  // B: one attempt; its retry is due in an hour.
  std::string b = Publish(HiredEvent("emp_b"));
  ASSERT_EQ(WaitAttempts(b).size(), 1u);
  ASSERT_EQ(rx.Count(), 3u);
  // Recover puts A back to pending; the dispatcher reads the endpoint's pending rows: A and B.
  auto r = co_->Post(Base() + "/endpoints/" + ep + "/recover", json::value{{"since", "2020-01-01T00:00:00Z"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json().at("requeued").to_number<int>(), 1);
  ASSERT_TRUE(rx.WaitFor(4, 5s));  // A, sent again at once
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(rx.Count(), 4u);
  auto d = Deliveries("event_id=" + b);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].at("status").as_string(), "pending");
  EXPECT_EQ(d[0].at("attempts").to_number<int>(), 1);
  // A retry request does send B at once, an hour early.
  rx.Set("/hook", {.status = 204});
  ASSERT_EQ(co_->Post(Base() + "/deliveries/" + std::string(d[0].at("id").as_string()) + "/retry", "").status, 202);
  WaitDelivery(b, "succeeded", 5s);
  EXPECT_EQ(rx.Count(), 5u);
}

// Editing an endpoint while its deliveries flow sends none of them twice (the dispatcher used
// to read the endpoint's pending rows back on every change, and rows whose outcome was still
// being written came back as pending).
TEST_F(DeliveryTest, EditingAnEndpointUnderLoadSendsNothingTwice) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"max_concurrency", 8}});
  constexpr int kBatches = 6, kPer = 100;
  std::thread editor([&, ep = ep] {
    auto client = ClientWith(company_token_);
    for (int i = 0; i < 40; ++i) {
      client->Request("PATCH", Base() + "/endpoints/" + ep,
                      json::serialize(json::object{{"description", "edit " + std::to_string(i)}}));
      std::this_thread::sleep_for(10ms);
    }
  });
  for (int b = 0; b < kBatches; ++b) {
    json::array batch;
    for (int i = 0; i < kPer; ++i) batch.push_back(HiredEvent("emp_" + std::to_string(b * kPer + i)));
    EXPECT_EQ(co_->Post(Base() + "/events/batch", json::value(batch)).status, 202);
  }
  editor.join();
  ASSERT_TRUE(rx.WaitFor(kBatches * kPer, 20s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rx.Count(), static_cast<size_t>(kBatches * kPer));
}

// `recover` while the endpoint's deliveries flow: the rows read back include deliveries that
// have just been delivered but whose outcome is still being written — not sent again.
TEST_F(DeliveryTest, RecoverUnderLoadSendsNothingTwice) {
  Receiver rx;
  std::atomic<bool> failing{true};
  rx.SetFn("/hook", [&](int, const ReceivedRequest& req) {
    Behaviour b;
    if (failing && req.body.find("emp_fail_") != std::string::npos) b.status = 500;
    return b;
  });
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"max_concurrency", 8}});
  constexpr int kFailed = 8;
  std::vector<std::string> failed;
  for (int i = 0; i < kFailed; ++i) {
    failed.push_back(Publish(HiredEvent("emp_fail_" + std::to_string(i))));
    std::this_thread::sleep_for(5ms);
  }
  std::vector<std::string> since;  // each failed delivery's created_at
  for (const auto& ev : failed) since.emplace_back(WaitDelivery(ev, "failed").at("created_at").as_string());
  failing = false;

  constexpr int kBatches = 6, kPer = 100;
  std::thread publisher([&] {
    auto client = ClientWith(company_token_);
    for (int b = 0; b < kBatches; ++b) {
      json::array batch;
      for (int i = 0; i < kPer; ++i) batch.push_back(HiredEvent("emp_flow_" + std::to_string(b * kPer + i)));
      EXPECT_EQ(client->Post(Base() + "/events/batch", json::value(batch)).status, 202);
    }
  });
  // Newest first: each call re-queues at least one more failed delivery, so each one makes
  // the dispatcher read the endpoint's pending rows back.
  for (int i = kFailed - 1; i >= 0; --i) {
    auto r = co_->Post(Base() + "/endpoints/" + ep + "/recover", json::value{{"since", since[i]}});
    EXPECT_EQ(r.status, 200) << r.body;
    std::this_thread::sleep_for(15ms);
  }
  publisher.join();
  auto flow = [&] {
    size_t n = 0;
    for (const auto& req : rx.Requests("/hook"))
      if (req.body.find("emp_flow_") != std::string::npos) ++n;
    return n;
  };
  for (int i = 0; i < 200 && flow() < static_cast<size_t>(kBatches * kPer); ++i) std::this_thread::sleep_for(50ms);
  for (const auto& ev : failed) WaitDelivery(ev, "succeeded");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(flow(), static_cast<size_t>(kBatches * kPer));
}

TEST_F(DeliveryTest, SigtermLetsInFlightDeliveriesFinish) {
  Receiver rx;
  rx.Set("/hook", {.delay_ms = 1500});
  CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  hookd_->Kill(SIGTERM);  // while the receiver is still answering
  rx.Set("/hook", {});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  auto d = WaitDelivery(evid, "succeeded", 3s);
  EXPECT_EQ(d.at("attempts").to_number<int>(), 1);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rx.Count(), 1u) << "the finished delivery was sent again after the restart";
}

// Six endpoints, so they are spread over several dispatcher threads (--dispatch-threads
// defaults to two per core): recovery after the kill must give each its own deliveries.
TEST_F(DeliveryTest, EveryEventReachesTheReceiverAcrossSigkillUnderLoad) {
  constexpr int kEndpoints = 6;
  std::mutex mu;
  std::set<std::string> accepted_ids;  // "webhook-id endpoint": answered 2xx
  std::map<std::string, int> seen;     // requests per "webhook-id endpoint"
  Receiver rx;                         // after what its callback uses: destroyed first
  for (int k = 0; k < kEndpoints; ++k) {
    rx.SetFn("/hook" + std::to_string(k), [&, k](int, const ReceivedRequest& req) {
      auto id = req.headers.find("webhook-id");
      if (id == req.headers.end()) return Behaviour{.status = 400};
      const std::string key = id->second + " " + std::to_string(k);
      std::lock_guard lock(mu);
      // The first attempt of every third one fails, so retries are pending at the kill.
      if (seen[key]++ == 0 && std::hash<std::string>{}(key) % 3 == 0) return Behaviour{.status = 503};
      accepted_ids.insert(key);
      return Behaviour{.status = 204};
    });
    CreateEndpoint({{"url", rx.Url("/hook" + std::to_string(k))}, {"max_concurrency", 8}});
  }
  std::set<std::string> events;
  for (int b = 0; b < 6; ++b) {
    json::array batch;
    for (int i = 0; i < 50; ++i) batch.push_back(HiredEvent("emp_" + std::to_string(b) + "_" + std::to_string(i)));
    auto r = co_->Post(Base() + "/events/batch", json::value(batch));
    ASSERT_EQ(r.status, 202) << r.body;
    json::value accepted = r.Json();
    for (auto& e : accepted.as_array()) events.insert(std::string(e.at("id").as_string()));
    if (b == 3) {
      // Kill in the middle: deliveries are in flight and retries pending.
      hookd_->Kill(SIGKILL);
      ASSERT_NO_FATAL_FAILURE(hookd_->Start());
      co_ = ClientWith(company_token_);
    }
  }
  auto until = std::chrono::steady_clock::now() + 30s;
  size_t got = 0;
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(mu);
      got = accepted_ids.size();
    }
    if (got >= events.size() * kEndpoints) break;
    std::this_thread::sleep_for(100ms);
  }
  // Outcomes are written a moment after the receiver's answers (on PostgreSQL, a group commit
  // away): wait for the last ones before saying nothing is stuck below.
  for (int i = 0; i < 100 && !Deliveries("status=pending").empty(); ++i) std::this_thread::sleep_for(100ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(accepted_ids.size(), events.size() * kEndpoints);
  for (const auto& e : events)
    for (int k = 0; k < kEndpoints; ++k)
      EXPECT_TRUE(accepted_ids.count(e + " " + std::to_string(k))) << e << " never reached endpoint " << k;
  // Nothing is stuck: every delivery ends succeeded.
  EXPECT_TRUE(Deliveries("status=pending").empty());
}

TEST_F(DeliveryTest, MaxConcurrencyIsEnforced) {
  Receiver rx;
  rx.Set("/hook", {.delay_ms = 300});
  CreateEndpoint({{"url", rx.Url()}, {"max_concurrency", 2}});
  for (int i = 0; i < 8; ++i) Publish(HiredEvent("emp_" + std::to_string(i)));
  ASSERT_TRUE(rx.WaitFor(8, 10s));
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(rx.MaxConcurrent("/hook"), 2);
}

TEST_F(DeliveryTest, RateLimitIsEnforced) {
  Receiver rx;
  CreateEndpoint({{"url", rx.Url()}, {"rate_limit_per_second", 5}});
  json::array batch;
  for (int i = 0; i < 15; ++i) batch.push_back(HiredEvent("emp_" + std::to_string(i)));
  ASSERT_EQ(co_->Post(Base() + "/events/batch", json::value(batch)).status, 202);
  ASSERT_TRUE(rx.WaitFor(15, 10s));
  auto reqs = rx.Requests();
  // Paced at 5 per second: the 15th comes ~2.8 s after the first.
  EXPECT_GE(reqs[14].at - reqs[0].at, 2500ms);
  for (size_t i = 0; i + 6 < reqs.size(); ++i)
    EXPECT_GE(reqs[i + 6].at - reqs[i].at, 900ms) << "more than 6 requests within a second at " << i;
}

TEST_F(DeliveryTest, ConnectionsAreReused) {
  Receiver rx;
  CreateEndpoint({{"url", rx.Url()}});
  for (int i = 0; i < 20; ++i) {
    Publish(HiredEvent("emp_" + std::to_string(i)));
    ASSERT_TRUE(rx.WaitFor(i + 1, 5s));
  }
  EXPECT_LE(rx.Connections(), 2);
}

TEST_F(DeliveryTest, TestEventGoesToThatEndpointOnly) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url("/a")}, {"event_types", json::array{"contract.updated"}}});
  CreateEndpoint({{"url", rx.Url("/b")}});
  auto r = co_->Post(Base() + "/endpoints/" + ep + "/test", "");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/a"));
  auto body = json::parse(rx.Requests("/a")[0].body);
  EXPECT_EQ(body.at("type").as_string(), "webhook.test");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rx.Count("/b"), 0u);
}

TEST_F(DeliveryTest, RotatedSecretSignsWithBothDuringGrace) {
  Receiver rx;
  auto [ep, old_secret] = CreateEndpoint({{"url", rx.Url()}});
  auto rot = co_->Post(Base() + "/endpoints/" + ep + "/rotate-secret", R"({"grace_seconds":3600})");
  ASSERT_EQ(rot.status, 200) << rot.body;
  std::string new_secret(rot.Json().at("secret").as_string());
  Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  auto req = rx.Requests()[0];
  std::string sig = req.headers["webhook-signature"];
  EXPECT_NE(sig.find(' '), std::string::npos) << sig;
  StandardWebhookHeaders h{req.headers["webhook-id"], req.headers["webhook-timestamp"], sig};
  int64_t now = std::stoll(req.headers["webhook-timestamp"]) * 1000;
  EXPECT_TRUE(VerifyStandard(old_secret, h, req.body, now));
  EXPECT_TRUE(VerifyStandard(new_secret, h, req.body, now));
  // Without grace only the new one signs.
  auto rot2 = co_->Post(Base() + "/endpoints/" + ep + "/rotate-secret", R"({"grace_seconds":0})");
  std::string newest(rot2.Json().at("secret").as_string());
  Publish(HiredEvent("emp_2"));
  ASSERT_TRUE(rx.WaitFor(2, 5s));
  auto req2 = rx.Requests()[1];
  StandardWebhookHeaders h2{req2.headers["webhook-id"], req2.headers["webhook-timestamp"], req2.headers["webhook-signature"]};
  int64_t now2 = std::stoll(req2.headers["webhook-timestamp"]) * 1000;
  EXPECT_TRUE(VerifyStandard(newest, h2, req2.body, now2));
  EXPECT_FALSE(VerifyStandard(new_secret, h2, req2.body, now2));
  EXPECT_EQ(req2.headers["webhook-signature"].find(' '), std::string::npos);
}

TEST_F(DeliveryTest, GithubSchemeSignsTheBody) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"signature_scheme", "github"}});
  Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  auto req = rx.Requests()[0];
  EXPECT_EQ(req.headers["x-hub-signature-256"], SignGithub(secret, req.body));
  EXPECT_EQ(req.headers.count("webhook-signature"), 0u);
}

TEST_F(DeliveryTest, CustomHeadersAreSent) {
  Receiver rx;
  CreateEndpoint({{"url", rx.Url()}, {"headers", json::object{{"X-Api-Key", "k-123"}}}});
  Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  EXPECT_EQ(rx.Requests()[0].headers["x-api-key"], "k-123");
}

TEST_F(DeliveryTest, RecoverAndRetryRequeueFailedDeliveries) {
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  auto d = WaitDelivery(evid, "failed");
  rx.Set("/hook", {.status = 200});
  auto rec = co_->Post(Base() + "/endpoints/" + ep + "/recover", R"({"since":"2020-01-01T00:00:00Z"})");
  ASSERT_EQ(rec.status, 200) << rec.body;
  EXPECT_EQ(rec.Json().at("requeued").to_number<int>(), 1);
  WaitDelivery(evid, "succeeded");
  size_t before = rx.Count();
  // Retry attempts at once, whatever the state.
  auto rt = co_->Post(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/retry", "");
  ASSERT_EQ(rt.status, 202) << rt.body;
  ASSERT_TRUE(rx.WaitFor(before + 1, 5s));
}

TEST_F(DeliveryTest, FilterSelectsComplianceAlerts) {
  Receiver rx;
  CreateEndpoint({{"url", rx.Url()},
                  {"event_types", json::array{"time_off.requested"}},
                  {"filter", json::parse(R"({"data.request.days":{"$gt":10}})")}});
  auto short_leave = TimeOff("emp_1", "R1");
  auto long_leave = TimeOff("emp_2", "R2");
  long_leave.as_object()["data"].as_object()["request"].as_object()["days"] = 15;
  auto r1 = co_->Post(Base() + "/events", short_leave);
  EXPECT_EQ(r1.Json().at("deliveries").to_number<int>(), 0);
  auto r2 = co_->Post(Base() + "/events", long_leave);
  EXPECT_EQ(r2.Json().at("deliveries").to_number<int>(), 1);
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  EXPECT_EQ(json::parse(rx.Requests()[0].body).at("data").at("request").at("id").as_string(), "R2");
}

// A Slack-style alert: the endpoint's template is what arrives, filled in, signed; the
// template is shown by the API, checked when saved (422 with a pointer into it), and removed
// with null.
TEST_F(DeliveryTest, ATemplateShapesTheBodyTheReceiverGets) {
  Receiver rx;
  const json::value tmpl = json::parse(
      R"j({"text": ":warning: {{data.request.employee_id}} asked for {{data.request.days}} days off ({{data.request.id}})"})j");
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"event_types", json::array{"time_off.requested"}},
                                      {"template", tmpl}});
  EXPECT_EQ(co_->Get(Base() + "/endpoints/" + ep).Json().at("template"), tmpl);
  auto leave = TimeOff("emp_2", "R\\\"2");  // a quote in a value stays inside its string
  Publish(leave);
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  auto req = rx.Requests()[0];
  EXPECT_EQ(req.body, R"j({"text":":warning: emp_2 asked for 8 days off (R\"2)"})j");
  EXPECT_TRUE(VerifyStandard(secret, {req.headers["webhook-id"], req.headers["webhook-timestamp"],
                                      req.headers["webhook-signature"]},
                             req.body, NowMs())
                  .has_value());

  auto bad = co_->Request("PATCH", Base() + "/endpoints/" + ep, R"({"template":{"blocks":[{"text":"{{#data}}"}]}})");
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_NE(bad.body.find("/template/blocks/0/text"), std::string::npos) << bad.body;
  EXPECT_EQ(co_->Request("PATCH", Base() + "/endpoints/" + ep, R"({"template":"{{type}}"})").status, 422);

  auto cleared = co_->Request("PATCH", Base() + "/endpoints/" + ep, R"({"template":null})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_TRUE(cleared.Json().at("template").is_null());
  std::string evid = Publish(TimeOff("emp_3", "R3"));
  ASSERT_TRUE(rx.WaitFor(2, 5s));
  EXPECT_EQ(json::parse(rx.Requests()[1].body).at("id").as_string(), evid);  // the event itself again
}

TEST_F(DeliveryTest, PendingRetriesSurviveSigkill) {
  Receiver rx;
  rx.Set("/hook", {.status = 500});
  CreateEndpoint({{"url", rx.Url()}});
  std::set<std::string> events;
  for (int i = 0; i < 30; ++i) events.insert(Publish(HiredEvent("emp_" + std::to_string(i))));
  ASSERT_TRUE(rx.WaitFor(30, 10s));
  hookd_->Kill(SIGKILL);
  rx.Set("/hook", {.status = 200});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  auto until = std::chrono::steady_clock::now() + 15s;
  std::set<std::string> delivered;
  while (std::chrono::steady_clock::now() < until && delivered.size() < events.size()) {
    delivered.clear();
    for (const auto& r : rx.Requests())
      if (r.headers.count("webhook-id") && r.path == "/hook") {
        // Only 2xx answers count as delivered: they came after the switch to 200.
      }
    for (const auto& e : events) {
      auto ds = Deliveries("event_id=" + e);
      if (!ds.empty() && ds[0].at("status").as_string() == "succeeded") delivered.insert(e);
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(delivered.size(), events.size());
}

// A restart on a long history: start-up recovery reads each endpoint's deliveries a bounded
// page at a time between deliveries, so a new event goes out at once; a pending delivery
// behind 400,000 finished ones is still found; and a subject-ordered endpoint's new event
// waits for the older pending one of its subject.
class RecoveryTest : public DeliveryTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    auto args = DeliveryTest::ExtraArgs();
    args.insert(args.end(), {"--dispatch-threads", "1"});  // every endpoint on one dispatcher
    return args;
  }
};

TEST_F(RecoveryTest, NewDeliveriesDoNotWaitForRecoveryOfALongHistory) {
  Receiver rx;
  rx.Set("/history", {.status = 500});
  rx.Set("/ordered", {.status = 500});
  const json::array time_off{"time_off.requested"};
  auto history = CreateEndpoint({{"url", rx.Url("/history")}, {"event_types", time_off}}).first;
  CreateEndpoint({{"url", rx.Url("/ordered")}, {"event_types", time_off}, {"ordering", "subject"}});
  CreateEndpoint({{"url", rx.Url("/fresh")}, {"event_types", json::array{"employee.hired"}}});
  Publish(TimeOff("emp_A", "R1"));  // fails once at both: pending, its retry 300 ms away
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/history"));
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/ordered"));
  hookd_->Kill(SIGKILL);
  // 400,000 finished deliveries of the history endpoint, all older (smaller ids) than R1's.
  const std::string sql =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400000) "
      "INSERT INTO deliveries(id, company_id, event_id, endpoint_id, status, attempts, next_attempt_at, "
      "last_attempt_at, created_at) SELECT 'dlv_00' || printf('%024d', i), '" + company_ + "', "
      "'evt_00000000000000000000000000', '" + history + "', 'succeeded', 1, NULL, 0, 0 FROM n;";
  ASSERT_EQ(std::system(("sqlite3 " + hookd_->DbPath() + " \"" + sql + "\"").c_str()), 0);
  rx.Set("/history", {});
  rx.Set("/ordered", {});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  const auto sent = std::chrono::steady_clock::now();
  Publish(HiredEvent());
  Publish(TimeOff("emp_A", "R2"));
  ASSERT_TRUE(rx.WaitFor(1, 5s, "/fresh"));
  EXPECT_LT(rx.Requests("/fresh")[0].at - sent, 300ms) << "the new delivery waited for the recovery";
  // R1 found behind the history and sent again; R2 (not ordered there) whenever.
  ASSERT_TRUE(rx.WaitFor(3, 15s, "/history"));
  // The ordered endpoint: R1 (recovered) before R2 (new), though R2 was published first thing.
  ASSERT_TRUE(rx.WaitFor(3, 15s, "/ordered"));
  std::vector<std::string> order;
  for (const auto& r : rx.Requests("/ordered"))
    order.push_back(std::string(json::parse(r.body).at("data").at("request").at("id").as_string()));
  EXPECT_EQ(order, (std::vector<std::string>{"R1", "R1", "R2"}));
}

TEST_F(DeliveryTest, SsrfGuardBlocksPrivateDestinationsAtSaveAndConnectTime) {
  Receiver rx;
  // Saved while private destinations are allowed...
  auto [ep, secret] = CreateEndpoint({{"url", "http://localhost:" + std::to_string(rx.Port()) + "/hook"}});
  // ...then hookd restarts without the allowance: localhost now resolves to a refused address.
  hookd_->Kill(SIGTERM);
  hookd_->SetExtraArgs({"--allow-http", "--retry-schedule", "300ms", "--request-timeout", "2s"});
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  std::string evid = Publish(HiredEvent());
  auto d = WaitDelivery(evid, "failed");
  auto atts = co_->Get(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/attempts")
                  .Json().at("data").as_array();
  ASSERT_FALSE(atts.empty());
  EXPECT_EQ(atts[0].at("error").as_string(), "blocked");
  // hookd's reason is its own field, never the receiver's words (issue 10).
  EXPECT_NE(std::string(atts[0].at("error_detail").as_string()).find("destination refused"), std::string::npos)
      << json::serialize(atts[0]);
  EXPECT_EQ(atts[0].at("response_body").as_string(), "");
  EXPECT_TRUE(atts[0].at("status_code").is_null());
  EXPECT_EQ(rx.Count(), 0u);
  // And at save time.
  for (std::string url : {"http://127.0.0.1:9/x", "http://169.254.169.254/latest/meta-data",
                          "http://10.1.2.3/x", "http://[::1]/x", "http://localhost/x", "http://2130706433/x"}) {
    auto r = co_->Post(Base() + "/endpoints", json::value{{"url", url}, {"event_types", json::array{"*"}}});
    auto p = ExpectProblem(r, 422);
    EXPECT_EQ(p.at("errors").as_array()[0].at("pointer").as_string(), "/url") << url;
  }
}

}  // namespace
}  // namespace hookd::testing

namespace hookd::testing {
namespace {

// TLS certificates are verified: a receiver with a self-signed certificate is refused and
// the attempt says why (error class "tls"). The server is `openssl s_server`.
TEST_F(DeliveryTest, UntrustedTlsCertificateIsRefused) {
  TempDir dir;
  const std::string key = (dir.path() / "key.pem").string(), cert = (dir.path() / "cert.pem").string();
  const std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                          " -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0) << "openssl could not make a certificate";
  int port = 0;
  {
    Receiver probe;  // borrow a free port number
    port = probe.Port();
  }
  pid_t server = fork();
  if (server == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::string accept = "127.0.0.1:" + std::to_string(port);
    execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", cert.c_str(), "-key",
           key.c_str(), "-www", "-quiet", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(500ms);
  CreateEndpoint({{"url", "https://127.0.0.1:" + std::to_string(port) + "/hook"}});
  std::string evid = Publish(HiredEvent());
  json::array atts = WaitAttempts(evid);
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  ASSERT_FALSE(atts.empty()) << "no attempt was recorded";
  EXPECT_EQ(atts.back().at("error").as_string(), "tls") << json::serialize(atts.back());
  EXPECT_TRUE(atts.back().at("status_code").is_null());
}

// The two engines for http:// receivers — the built-in HTTP/1.1 path (default) and libcurl
// (`--plain-http curl`) — must read every shape of answer alike and record the same attempt.
class HttpEngineTest : public DeliveryTest, public ::testing::WithParamInterface<const char*> {
 protected:
  std::vector<std::string> ExtraArgs() override {
    auto args = DeliveryTest::ExtraArgs();
    args.insert(args.end(), {"--plain-http", GetParam()});
    return args;
  }
  // The attempts of the delivery of `event`, once it is `status`.
  json::array AttemptsOf(const std::string& event, const std::string& status) {
    auto d = WaitDelivery(event, status);
    if (!d.contains("id")) return {};
    return co_->Get(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/attempts")
        .Json().at("data").as_array();
  }
};

TEST_P(HttpEngineTest, SendsSignedRequestsOnOneKeptAliveConnection) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url("/hook?tenant=acme&x=1")}, {"headers", {{"x-tenant", "acme"}}}});
  for (int i = 0; i < 5; ++i) {
    std::string evid = Publish(HiredEvent("emp_" + std::to_string(i)));
    ASSERT_TRUE(rx.WaitFor(i + 1, 5s));
    auto req = rx.Requests().back();
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.path, "/hook?tenant=acme&x=1");
    EXPECT_EQ(req.headers["host"], "127.0.0.1:" + std::to_string(rx.Port()));
    EXPECT_EQ(req.headers["content-length"], std::to_string(req.body.size()));
    EXPECT_EQ(req.headers["x-tenant"], "acme");
    EXPECT_EQ(req.headers["webhook-id"], evid);
    int64_t ts = std::stoll(req.headers["webhook-timestamp"]);
    EXPECT_TRUE(VerifyStandard(secret, {evid, req.headers["webhook-timestamp"], req.headers["webhook-signature"]},
                               req.body, ts * 1000));
    EXPECT_EQ(AttemptsOf(evid, "succeeded").size(), 1u);
  }
  EXPECT_EQ(rx.Connections(), 1);
}

TEST_P(HttpEngineTest, ReadsEveryShapeOfAnswer) {
  Receiver rx;
  rx.Set("/chunked", {.raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Trace: abc\r\n\r\n"
                             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"});
  rx.Set("/interim", {.raw = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                             "HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated"});
  rx.Set("/until-close", {.raw = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the end",
                          .close_after = true});
  rx.Set("/big", {.raw = "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + std::string(10000, 'x')});
  rx.Set("/repeated", {.raw = "HTTP/1.1 202 Accepted\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"});
  rx.Set("/no-content", {.raw = "HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n"});
  struct Case {
    std::string path;
    int status;
    std::string body;
    std::string header, value;  // one expected response header
  };
  std::vector<Case> cases = {
      {"/chunked", 200, "hello world", "x-trace", "abc"},
      {"/interim", 201, "created", "content-length", "7"},
      {"/until-close", 200, "read until the end", "content-type", "text/plain"},
      {"/big", 200, std::string(4096, 'x'), "content-length", "10000"},
      {"/repeated", 202, "", "x-a", "2"},
      {"/no-content", 204, "", "x-empty", "yes"},
  };
  for (const auto& c : cases) {
    CreateEndpoint({{"url", rx.Url(c.path)}, {"event_types", json::array{"employee.hired"}}});
  }
  // Twice: the second round goes over the connections the first one left open (if any).
  for (int round = 0; round < 2; ++round) {
    std::string evid = Publish(HiredEvent("emp_" + std::to_string(round)));
    for (const auto& c : cases) ASSERT_TRUE(rx.WaitFor(static_cast<size_t>(round + 1), 5s, c.path)) << c.path;
    std::map<std::string, json::object> by_path;  // the last attempt per endpoint URL path
    auto until = std::chrono::steady_clock::now() + 10s;
    while (by_path.size() < cases.size() && std::chrono::steady_clock::now() < until) {
      by_path.clear();
      for (auto& d : Deliveries("event_id=" + evid)) {
        if (d.at("status").as_string() != "succeeded") continue;
        auto ep = co_->Get(Base() + "/endpoints/" + std::string(d.at("endpoint_id").as_string())).Json();
        std::string url(ep.at("url").as_string());
        auto atts = co_->Get(Base() + "/deliveries/" + std::string(d.at("id").as_string()) + "/attempts")
                        .Json().at("data").as_array();
        if (!atts.empty()) by_path[url.substr(url.rfind('/'))] = atts.back().as_object();
      }
      if (by_path.size() < cases.size()) std::this_thread::sleep_for(100ms);
    }
    for (const auto& c : cases) {
      SCOPED_TRACE(c.path + " round " + std::to_string(round));
      ASSERT_TRUE(by_path.contains(c.path)) << "no succeeded delivery";
      const auto& a = by_path[c.path];
      EXPECT_EQ(a.at("status_code").to_number<int>(), c.status);
      EXPECT_TRUE(a.at("error").is_null());
      EXPECT_EQ(a.at("response_body").as_string(), c.body);
      const auto& h = a.at("response_headers").as_object();
      ASSERT_TRUE(h.contains(c.header)) << json::serialize(h);
      EXPECT_EQ(h.at(c.header).as_string(), c.value);
      if (c.path == "/interim") {
        EXPECT_FALSE(h.contains("link")) << "headers of an interim answer kept";
      }
    }
  }
}

TEST_P(HttpEngineTest, AConnectionTheReceiverClosesIsNotReusedAndNothingIsLostOrDoubled) {
  Receiver rx;
  rx.Set("/hook", {.close_after = true});  // a keep-alive answer, then the receiver hangs up
  CreateEndpoint({{"url", rx.Url()}});
  std::vector<std::string> events;
  for (int i = 0; i < 8; ++i) {
    events.push_back(Publish(HiredEvent("emp_" + std::to_string(i))));
    ASSERT_TRUE(rx.WaitFor(static_cast<size_t>(i + 1), 5s));
    if (i % 2) std::this_thread::sleep_for(50ms);  // some requests right after the close, some later
  }
  for (const auto& e : events) EXPECT_EQ(AttemptsOf(e, "succeeded").size(), 1u) << e;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.Count(), events.size());
}

// A receiver that drops a kept-alive connection just as the next request arrives (its idle
// timeout): the request goes out again on a fresh connection — one attempt, delivered.
TEST_P(HttpEngineTest, ARequestOnAConnectionDroppedUnderItIsSentAgainOnAFreshOne) {
  // Two receivers (connections are pooled per host and port, so one each keeps the count
  // exact): one closes (FIN), the other resets (RST) a reused connection.
  std::map<std::string, std::unique_ptr<Receiver>> rx;
  for (const char* how : {"close", "reset"}) {
    rx[how] = std::make_unique<Receiver>();
    rx[how]->Set("/hook", {.on_reuse = how});
    CreateEndpoint({{"url", rx[how]->Url()}});
  }
  std::vector<std::string> events;
  for (int i = 0; i < 4; ++i) {
    events.push_back(Publish(HiredEvent("emp_" + std::to_string(i))));
    for (auto& [how, r] : rx) {
      // The first request opens a connection; each later one is dropped once, then answered
      // on a fresh connection.
      ASSERT_TRUE(r->WaitFor(static_cast<size_t>(i == 0 ? 1 : 2 * i + 1), 5s))
          << how << " event " << i << ": " << r->Count() << " requests, connections " << r->Connections();
    }
    auto until = std::chrono::steady_clock::now() + 5s;
    size_t ok = 0;
    while (ok < 2 && std::chrono::steady_clock::now() < until) {
      ok = 0;
      for (auto& d : Deliveries("event_id=" + events.back())) {
        if (d.at("status").as_string() == "succeeded") {
          ++ok;
          EXPECT_EQ(d.at("attempts").to_number<int>(), 1) << json::serialize(d);
        }
      }
      if (ok < 2) std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(ok, 2u) << "event " << i;
  }
}

// With a proxy in the environment (`http_proxy`), http:// deliveries go through it whatever
// `--plain-http` says: libcurl speaks to proxies, the built-in path steps aside.
// Issue 10: libcurl took http_proxy/ALL_PROXY from the environment, and the SSRF guard then
// checked the proxy's socket instead of the destination.
TEST_P(HttpEngineTest, TheEnvironmentsProxyIsIgnored) {
  Receiver proxy;  // answers 200 to anything: it stands in for a proxy
  Receiver rx;
  hookd_->Kill(SIGKILL);
  const std::string url = "http://127.0.0.1:" + std::to_string(proxy.Port());
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) setenv(name, url.c_str(), 1);
  hookd_->Start();  // the child inherits them
  for (const char* name : {"http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"}) unsetenv(name);
  co_ = ClientWith(company_token_);
  CreateEndpoint({{"url", rx.Url("/hook")}});
  std::string evid = Publish(HiredEvent());
  WaitDelivery(evid, "succeeded");
  EXPECT_EQ(rx.Count(), 1u);
  EXPECT_EQ(proxy.Count(), 0u);
}

TEST_P(HttpEngineTest, AConfiguredProxyIsUsed) {
  Receiver proxy;
  hookd_->Kill(SIGKILL);
  auto args = ExtraArgs();
  args.insert(args.end(), {"--proxy", "http://127.0.0.1:" + std::to_string(proxy.Port())});
  hookd_->SetExtraArgs(args);
  hookd_->Start();
  co_ = ClientWith(company_token_);
  CreateEndpoint({{"url", "http://127.0.0.1:9/hook"}});  // nothing listens there
  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(proxy.WaitFor(1, 5s));
  auto req = proxy.Requests()[0];
  EXPECT_EQ(req.path, "http://127.0.0.1:9/hook");  // the absolute form a proxy gets
  EXPECT_EQ(req.headers["webhook-id"], evid);
  WaitDelivery(evid, "succeeded");
}

// Through a proxy the destination is still checked (before the request; the proxy's own
// address is the operator's choice). An endpoint saved while private destinations were
// allowed is refused once they are not — what DNS rebinding would look like.
TEST_P(HttpEngineTest, AProxyKeepsTheDestinationCheck) {
  Receiver proxy;
  CreateEndpoint({{"url", "http://localhost:9/admin"}});
  CreateEndpoint({{"url", "http://LOCALHOST.:8080/admin"}});  // the issue's: the proxy resolved it
  hookd_->Kill(SIGKILL);
  hookd_->SetExtraArgs({"--allow-http", "--retry-schedule", "300ms", "--request-timeout", "2s", "--proxy",
                        "http://127.0.0.1:" + std::to_string(proxy.Port()), "--plain-http", GetParam()});
  hookd_->Start();
  co_ = ClientWith(company_token_);
  std::string evid = Publish(HiredEvent());
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) {
    auto list = co_->Get(Base() + "/deliveries?event_id=" + evid + "&status=failed").Json().at("data").as_array();
    if (list.size() == 2) break;
  }
  const json::array deliveries = co_->Get(Base() + "/deliveries?event_id=" + evid).Json().at("data").as_array();
  ASSERT_EQ(deliveries.size(), 2u);
  for (const auto& delivery : deliveries) {
    ASSERT_EQ(delivery.at("status").as_string(), "failed") << json::serialize(delivery);
    auto atts = co_->Get(Base() + "/deliveries/" + std::string(delivery.at("id").as_string()) + "/attempts")
                    .Json().at("data").as_array();
    ASSERT_EQ(atts.size(), 2u);
    for (const auto& a : atts) {
      // "localhost" resolves to loopback: blocked; "LOCALHOST." does not resolve here: a
      // DNS error. Neither reaches the proxy.
      const std::string error(a.at("error").as_string());
      EXPECT_TRUE(error == "blocked" || error == "dns") << json::serialize(a);
      if (error == "blocked") {
        EXPECT_NE(std::string(a.at("error_detail").as_string()).find("(loopback)"), std::string::npos)
            << json::serialize(a);
      }
    }
  }
  EXPECT_EQ(proxy.Count(), 0u);
}

TEST_P(HttpEngineTest, AnAnswerThatIsNotHttpIsAConnectError) {
  Receiver rx;
  rx.Set("/hook", {.raw = "SSH-2.0-OpenSSH_9.2\r\n\r\n", .close_after = true});
  CreateEndpoint({{"url", rx.Url()}});
  std::string evid = Publish(HiredEvent());
  ASSERT_TRUE(rx.WaitFor(1, 5s));
  auto first = FirstAttempt(evid);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.at("error").as_string(), "connect") << json::serialize(first);
  EXPECT_TRUE(first.at("status_code").is_null());
}

TEST_P(HttpEngineTest, HangingAndResettingReceiversEndInTimeoutAndConnect) {
  Receiver rx;
  rx.Set("/hang", {.hang = true});
  rx.Set("/reset", {.reset = true});
  rx.Set("/headers-then-hang", {.raw = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"});
  std::map<std::string, std::string> eps;
  for (const char* p : {"/hang", "/reset", "/headers-then-hang"})
    eps[p] = CreateEndpoint({{"url", rx.Url(p)}, {"timeout_ms", 1000}}).first;
  std::string evid = Publish(HiredEvent());
  auto hang = FirstAttempt(evid, eps["/hang"]);
  ASSERT_FALSE(hang.empty());
  EXPECT_EQ(hang.at("error").as_string(), "timeout");
  EXPECT_GE(hang.at("duration_ms").to_number<int>(), 950);
  EXPECT_LT(hang.at("duration_ms").to_number<int>(), 1900);
  auto partial = FirstAttempt(evid, eps["/headers-then-hang"]);
  ASSERT_FALSE(partial.empty());
  EXPECT_EQ(partial.at("error").as_string(), "timeout");
  EXPECT_EQ(partial.at("status_code").to_number<int>(), 200);
  auto reset = FirstAttempt(evid, eps["/reset"]);
  ASSERT_FALSE(reset.empty());
  EXPECT_EQ(reset.at("error").as_string(), "connect");
}

INSTANTIATE_TEST_SUITE_P(Engines, HttpEngineTest, ::testing::Values("builtin", "curl"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace hookd::testing

namespace hookd::testing {
namespace {

// Every delivery in flight holds a socket: `hookd serve` raises its soft open-file limit to
// the hard one (a 1024 soft limit would cap a 50-endpoint fan-out long before its limits).
TEST(ServeLimitsTest, OpenFileLimitIsRaisedToTheHardLimit) {
  rlimit ours{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &ours), 0);
  if (ours.rlim_max <= 256) GTEST_SKIP() << "hard limit too low to lower the soft one";
  rlimit low = ours;
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  TempDir dir;
  HookdProcess hookd(dir.path());
  hookd.Start();  // inherits the soft limit of 256
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &ours), 0);

  std::ifstream limits("/proc/" + std::to_string(hookd.Pid()) + "/limits");
  std::string line, soft, hard;
  while (std::getline(limits, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    fields >> soft >> hard;
  }
  ASSERT_FALSE(soft.empty()) << "no 'Max open files' line";
  const std::string want = ours.rlim_max == RLIM_INFINITY || ours.rlim_max > 1048576
                               ? "1048576"
                               : std::to_string(ours.rlim_max);
  EXPECT_EQ(soft, want) << "hard limit " << hard;
  hookd.Kill(SIGTERM);
}

}  // namespace
}  // namespace hookd::testing
