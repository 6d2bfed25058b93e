// Replay of a time range (issue 14 item 2) end to end: the real hookd, a real receiver, and
// what arrives there. POST …/endpoints/{eid}/replay sends every matching event of the window
// again — succeeded ones included — with its original webhook-id and a valid signature, at the
// endpoint's rate limit, without holding up its live traffic; progress, cancel, restart (kill
// -9) and every refusal are checked through the API. Run on SQLite and (ctest's "postgres:"
// copies) on PostgreSQL.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/signing.h"
#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

class ReplayTest : public HookdTest {
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
    if (r.status != 201) return {};
    auto v = r.Json();
    return {std::string(v.at("id").as_string()), std::string(v.at("secret").as_string())};
  }
  void Patch(const std::string& ep, const json::object& body) {
    auto r = co_->Request("PATCH", Base() + "/endpoints/" + ep, json::serialize(body));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // Publishes `events` in batches of 500; returns their ids and created_at, in order.
  std::vector<std::pair<std::string, std::string>> Publish(const std::vector<json::value>& events) {
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < events.size(); i += 500) {
      json::array batch;
      for (size_t j = i; j < std::min(events.size(), i + 500); ++j) batch.push_back(events[j]);
      auto r = co_->Post(Base() + "/events/batch", json::value(batch));
      EXPECT_EQ(r.status, 202) << r.body;
      if (r.status != 202) return out;
      const json::value accepted = r.Json();
      for (const auto& e : accepted.as_array())
        out.emplace_back(std::string(e.at("id").as_string()), std::string(e.at("created_at").as_string()));
    }
    return out;
  }
  std::vector<json::value> Hires(int n, const std::string& prefix) {
    std::vector<json::value> v;
    for (int i = 0; i < n; ++i) v.push_back(HiredEvent(prefix + std::to_string(i)));
    return v;
  }
  HttpResult StartReplay(const std::string& ep, const json::value& body) {
    return co_->Post(Base() + "/endpoints/" + ep + "/replay", body);
  }
  // Starts a replay (202 expected); returns its object.
  json::object Replay(const std::string& ep, const std::string& since, const std::string& until,
                      std::optional<json::array> types = std::nullopt) {
    json::object body{{"since", since}, {"until", until}};
    if (types) body["event_types"] = *types;
    auto r = StartReplay(ep, body);
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return {};
    auto o = r.Json().as_object();
    EXPECT_EQ(r.headers["location"], Base() + "/replays/" + std::string(o.at("id").as_string()));
    return o;
  }
  json::object GetReplay(const std::string& rid) {
    auto r = co_->Get(Base() + "/replays/" + rid);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.Json().as_object() : json::object();
  }
  // Polls until the replay's status is `status`.
  json::object WaitReplay(const std::string& rid, const std::string& status, std::chrono::seconds timeout = 60s) {
    const auto until = SteadyClock::now() + timeout;
    json::object last;
    while (SteadyClock::now() < until) {
      last = GetReplay(rid);
      if (last.contains("status") && last.at("status").as_string() == status) return last;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "replay " << rid << " never became " << status << "; last: " << json::serialize(last);
    return last;
  }
  // Polls until every delivery of endpoint `ep` is finished (none pending).
  void WaitIdle(const std::string& ep, std::chrono::seconds timeout = 60s) {
    const auto until = SteadyClock::now() + timeout;
    while (SteadyClock::now() < until) {
      auto r = co_->Get(Base() + "/deliveries?limit=1&status=pending&endpoint_id=" + ep);
      if (r.status == 200 && r.Json().at("data").as_array().empty()) return;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "deliveries of " << ep << " still pending";
  }
  static int64_t Num(const json::object& o, const char* k) { return o.at(k).to_number<int64_t>(); }
  static std::string Str(const json::object& o, const char* k) { return std::string(o.at(k).as_string()); }
  // Checks the Standard Webhooks signature of a request received.
  static bool Signed(const ReceivedRequest& req, const std::string& secret) {
    auto h = req.headers;
    const int64_t ts = std::stoll(h["webhook-timestamp"]);
    return VerifyStandard(secret, {h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]}, req.body,
                          ts * 1000)
        .has_value();
  }
  std::string Later(const std::string& t, int64_t ms) { return FormatTime(*ParseTime(t) + ms); }
};

// ------------------------------------------------------------------ what is sent

// The window, the types asked for and the endpoint's filter decide; succeeded deliveries are
// sent again; each once, with the original webhook-id and body, signed with the endpoint's
// secret; a delivery made by the replay carries its id; the progress adds up.
TEST_F(ReplayTest, EveryMatchingEventOfTheWindowIsSentOnceMoreWithItsWebhookIdAndBody) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()},
                                      {"event_types", json::array{"employee.*", "time_off.requested"}},
                                      {"filter", json::parse(R"({"data.employee.id": {"$neq": "emp_skip"}})")}});
  const auto before = Publish(Hires(3, "emp_before_"));
  std::this_thread::sleep_for(20ms);
  std::vector<json::value> window = Hires(5, "emp_in_");
  window.push_back(HiredEvent("emp_skip"));  // filtered out: never delivered, never replayed
  window.push_back(json::parse(
      R"({"type":"employee.left","data":{"employee":{"id":"emp_in_left","first_name":"A","last_name":"B",)"
      R"("email":"a.b@acme.example"},"reason":"deactivated","effective_date":"2026-12-01"}})"));
  const auto in = Publish(window);
  std::this_thread::sleep_for(20ms);
  const auto after = Publish(Hires(2, "emp_after_"));
  ASSERT_EQ(in.size(), 7u);
  ASSERT_TRUE(rx.WaitFor(3 + 5 + 1 + 2, 10s));
  WaitIdle(ep);
  const size_t originals = rx.Count();
  ASSERT_EQ(originals, 11u);

  // [first of the window, first after it): only employee.hired asked for.
  json::object r = Replay(ep, in.front().second, after.front().second, json::array{"employee.hired"});
  ASSERT_FALSE(r.empty());
  const std::string rid = Str(r, "id");
  EXPECT_TRUE(rid.starts_with("rpl_"));
  EXPECT_EQ(Str(r, "endpoint_id"), ep);
  EXPECT_EQ(Str(r, "status"), "running");
  EXPECT_EQ(Num(r, "total"), 5);
  EXPECT_EQ(r.at("event_types"), (json::array{"employee.hired"}));
  EXPECT_EQ(Str(r, "since"), in.front().second);
  EXPECT_TRUE(r.at("finished_at").is_null());

  json::object done = WaitReplay(rid, "completed");
  EXPECT_EQ(Num(done, "total"), 5);
  EXPECT_EQ(Num(done, "created"), 5);
  EXPECT_EQ(Num(done, "delivered"), 5);
  EXPECT_EQ(Num(done, "failed"), 0);
  EXPECT_EQ(Num(done, "pending"), 0);
  EXPECT_EQ(Num(done, "canceled"), 0);
  EXPECT_FALSE(done.at("finished_at").is_null());
  std::this_thread::sleep_for(300ms);
  const auto all = rx.Requests();
  ASSERT_EQ(all.size(), originals + 5);
  std::map<std::string, std::string> original_body;
  for (size_t i = 0; i < originals; ++i) original_body[all[i].headers.at("webhook-id")] = all[i].body;
  std::set<std::string> replayed;
  for (size_t i = originals; i < all.size(); ++i) {
    const std::string id = all[i].headers.at("webhook-id");
    EXPECT_TRUE(replayed.insert(id).second) << id << " replayed twice";
    EXPECT_EQ(all[i].body, original_body[id]) << "not the original body";
    EXPECT_TRUE(Signed(all[i], secret)) << id;
  }
  std::set<std::string> want;
  for (size_t i = 0; i < 5; ++i) want.insert(in[i].first);
  EXPECT_EQ(replayed, want);

  // Each replayed event has its original delivery (succeeded) and the replay's.
  auto ds = co_->Get(Base() + "/deliveries?event_id=" + in[0].first).Json().at("data").as_array();
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].at("replay_id"), json::value(rid));  // newest first
  EXPECT_EQ(ds[0].at("status"), "succeeded");
  EXPECT_TRUE(ds[1].at("replay_id").is_null());

  // The endpoint's replays, newest first; without event_types, the employee.left one too.
  json::object second = Replay(ep, in.front().second, after.front().second);
  EXPECT_EQ(Num(second, "total"), 6);
  EXPECT_TRUE(second.at("event_types").is_null());
  WaitReplay(Str(second, "id"), "completed");
  auto list = co_->Get(Base() + "/endpoints/" + ep + "/replays?limit=1");
  ASSERT_EQ(list.status, 200) << list.body;
  auto page = list.Json().as_object();
  ASSERT_EQ(page.at("data").as_array().size(), 1u);
  EXPECT_EQ(page.at("data").as_array()[0].at("id"), second.at("id"));
  EXPECT_EQ(page.at("data").as_array()[0].at("delivered"), 6);
  ASSERT_TRUE(page.at("next_cursor").is_string());
  auto rest = co_->Get(Base() + "/endpoints/" + ep + "/replays?cursor=" + std::string(page.at("next_cursor").as_string()));
  ASSERT_EQ(rest.Json().at("data").as_array().size(), 1u);
  EXPECT_EQ(rest.Json().at("data").as_array()[0].at("id"), json::value(rid));
}

TEST_F(ReplayTest, AWindowWithoutMatchingEventsGivesACompletedReplayAtOnce) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  const std::string now = FormatTime(NowMs());
  json::object r = Replay(ep, Later(now, -3600'000), Later(now, -1800'000));
  EXPECT_EQ(Str(r, "status"), "completed");
  EXPECT_EQ(Num(r, "total"), 0);
  EXPECT_FALSE(r.at("finished_at").is_null());
  // Completed: another may start at once.
  Replay(ep, Later(now, -3600'000), Later(now, -1800'000));
}

// ------------------------------------------------------------------ 10,000 events and live traffic

// 10,000 events are replayed at the endpoint's rate limit (400/s: 25 s) while live events are
// posted every 50 ms. The live ones arrive promptly — each at the next free slot and rate
// token, not behind the replay's queue (which would cost them about half a second) — and every
// replayed event arrives exactly once more, with its original webhook-id and a valid signature.
TEST_F(ReplayTest, TenThousandEventsReplayedWhileLiveEventsArrivePromptly) {
  constexpr int kEvents = 10000;
  constexpr int kRate = 400;
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"max_concurrency", 10}});
  const auto events = Publish(Hires(kEvents, "emp_"));
  ASSERT_EQ(events.size(), static_cast<size_t>(kEvents));
  ASSERT_TRUE(rx.WaitFor(kEvents, 120s)) << rx.Count() << " of the originals arrived";
  WaitIdle(ep);
  const size_t originals = rx.Count();
  ASSERT_EQ(originals, static_cast<size_t>(kEvents));
  Patch(ep, {{"rate_limit_per_second", kRate}});

  const auto replay_started = SteadyClock::now();
  json::object r = Replay(ep, events.front().second, FormatTime(NowMs()));
  ASSERT_EQ(Num(r, "total"), kEvents);
  const std::string rid = Str(r, "id");

  // Live traffic while the replay runs: one event every 50 ms.
  std::mutex mu;
  std::map<std::string, SteadyClock::time_point> live_posted;
  std::atomic<bool> stop{false};
  std::thread live([&] {
    auto client = ClientWith(company_token_);
    for (int i = 0; !stop.load(); ++i) {
      const auto t = SteadyClock::now();
      auto res = client->Post(Base() + "/events", HiredEvent("emp_live_" + std::to_string(i)));
      if (res.status == 202) {
        std::lock_guard lock(mu);
        live_posted[std::string(res.Json().at("id").as_string())] = t;
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  json::object progress_seen;
  int64_t last_created = -1;
  bool progressed = false;
  const auto deadline = SteadyClock::now() + 180s;
  json::object done;
  while (SteadyClock::now() < deadline) {
    done = GetReplay(rid);
    if (done.at("status") == "completed") break;
    const int64_t created = Num(done, "created");
    if (last_created >= 0 && created > last_created && created < kEvents) progressed = true;
    EXPECT_LE(created - Num(done, "delivered") - Num(done, "failed"), 200) << "more pending than the window";
    last_created = created;
    std::this_thread::sleep_for(500ms);
  }
  stop = true;
  live.join();
  const double replay_s = std::chrono::duration<double>(SteadyClock::now() - replay_started).count();
  ASSERT_EQ(done.at("status"), "completed") << json::serialize(done);
  EXPECT_TRUE(progressed) << "progress was never seen between 0 and the total";
  EXPECT_EQ(Num(done, "created"), kEvents);
  EXPECT_EQ(Num(done, "delivered"), kEvents);
  EXPECT_EQ(Num(done, "failed"), 0);
  std::this_thread::sleep_for(500ms);

  // What arrived after the originals: the replay and the live events.
  const auto all = rx.Requests();
  std::map<std::string, int> replayed;
  std::vector<SteadyClock::time_point> replay_arrivals;
  std::map<std::string, SteadyClock::time_point> live_arrived;
  size_t bad_signatures = 0;
  for (size_t i = originals; i < all.size(); ++i) {
    const std::string id = all[i].headers.at("webhook-id");
    if (!Signed(all[i], secret)) ++bad_signatures;
    bool is_live = false;
    {
      std::lock_guard lock(mu);
      is_live = live_posted.contains(id);
    }
    if (is_live) {
      live_arrived.emplace(id, all[i].at);
    } else {
      ++replayed[id];
      replay_arrivals.push_back(all[i].at);
    }
  }
  EXPECT_EQ(bad_signatures, 0u);
  ASSERT_EQ(replayed.size(), static_cast<size_t>(kEvents));
  size_t twice = 0;
  for (const auto& [id, n] : replayed) twice += n != 1;
  EXPECT_EQ(twice, 0u) << "events replayed more than once";
  for (size_t i = 0; i < events.size(); i += 997) EXPECT_EQ(replayed[events[i].first], 1) << events[i].first;

  // The endpoint's rate holds: at most rate + its burst (rate / 10) in any second.
  size_t worst = 0;
  for (size_t i = 0, j = 0; i < replay_arrivals.size(); ++i) {
    while (replay_arrivals[i] - replay_arrivals[j] >= 1s) ++j;
    worst = std::max(worst, i - j + 1);
  }
  EXPECT_LE(worst, static_cast<size_t>(kRate + kRate / 10 + 20));

  // Live latency: from just before the POST to the receiver.
  std::vector<double> latency_ms;
  {
    std::lock_guard lock(mu);
    for (const auto& [id, posted] : live_posted) {
      auto it = live_arrived.find(id);
      if (it == live_arrived.end()) continue;
      latency_ms.push_back(std::chrono::duration<double, std::milli>(it->second - posted).count());
    }
    EXPECT_GE(latency_ms.size() + 3, live_posted.size()) << "live events lost";
  }
  ASSERT_GE(latency_ms.size(), 100u);
  std::sort(latency_ms.begin(), latency_ms.end());
  auto pct = [&](double p) { return latency_ms[static_cast<size_t>(p * static_cast<double>(latency_ms.size() - 1))]; };
  std::cout << "[replay] " << kEvents << " events replayed in " << replay_s << " s (rate limit " << kRate
            << "/s, busiest second " << worst << "); " << latency_ms.size() << " live events during it: p50 "
            << pct(0.5) << " ms, p90 " << pct(0.9) << " ms, p99 " << pct(0.99) << " ms, max " << latency_ms.back()
            << " ms\n";
  // Behind the replay's window (200 at 400/s) a live event would wait ~500 ms.
  EXPECT_LT(pct(0.5), 100.0);
  EXPECT_LT(pct(0.9), 250.0);
}

// ------------------------------------------------------------------ cancel, restart, endpoint changes

TEST_F(ReplayTest, CancelingStopsTheReplayAndCancelsWhatItHadNotSent) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  constexpr int kEvents = 300;  // more than the replay's window (200): it has more to make
  const auto events = Publish(Hires(kEvents, "emp_"));
  ASSERT_TRUE(rx.WaitFor(kEvents, 30s));
  WaitIdle(ep);
  Patch(ep, {{"rate_limit_per_second", 4}});
  json::object r = Replay(ep, events.front().second, FormatTime(NowMs()));
  const std::string rid = Str(r, "id");
  ASSERT_TRUE(rx.WaitFor(kEvents + 2, 10s));
  auto c = co_->Post(Base() + "/replays/" + rid + "/cancel", "");
  ASSERT_EQ(c.status, 200) << c.body;
  auto canceled = c.Json().as_object();
  EXPECT_EQ(Str(canceled, "status"), "canceled");
  EXPECT_FALSE(canceled.at("finished_at").is_null());
  // Nothing more arrives (a request in flight at the cancel may still land).
  std::this_thread::sleep_for(300ms);
  const size_t at_cancel = rx.Count();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(rx.Count(), at_cancel);
  json::object after = GetReplay(rid);
  EXPECT_EQ(Str(after, "status"), "canceled");
  EXPECT_EQ(Num(after, "pending"), 0);
  EXPECT_GT(Num(after, "canceled"), 0);
  EXPECT_EQ(Num(after, "delivered") + Num(after, "failed") + Num(after, "canceled"), Num(after, "created"));
  EXPECT_EQ(static_cast<int64_t>(at_cancel) - kEvents, Num(after, "delivered"));
  EXPECT_LE(Num(after, "created"), 200);  // it made no more than its window, and stopped
  // The canceled deliveries are listed as such.
  auto ds = co_->Get(Base() + "/deliveries?status=canceled&endpoint_id=" + ep).Json().at("data").as_array();
  ASSERT_FALSE(ds.empty());
  EXPECT_EQ(ds[0].at("replay_id"), json::value(rid));
  EXPECT_TRUE(ds[0].at("next_attempt_at").is_null());
  // Canceling again changes nothing; a new replay may start; a completed one cannot be canceled.
  auto again = co_->Post(Base() + "/replays/" + rid + "/cancel", "");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json().at("finished_at"), canceled.at("finished_at"));
  Patch(ep, {{"rate_limit_per_second", nullptr}});
  json::object next = Replay(ep, events.front().second, Later(events.front().second, 1));
  WaitReplay(Str(next, "id"), "completed");
  auto late = co_->Post(Base() + "/replays/" + Str(next, "id") + "/cancel", "");
  ExpectProblem(late, 409);
}

// kill -9 in the middle of a replay: after the restart it goes on from where the store says,
// and sends again at most what was in flight — never more than the window of 200.
TEST_F(ReplayTest, ARunningReplaySurvivesSigkillAndResumesWithoutSendingMoreThanTheWindowTwice) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  const auto events = Publish(Hires(1000, "emp_"));
  ASSERT_TRUE(rx.WaitFor(1000, 60s));
  WaitIdle(ep);
  Patch(ep, {{"rate_limit_per_second", 200}});
  json::object r = Replay(ep, events.front().second, FormatTime(NowMs()));
  const std::string rid = Str(r, "id");
  ASSERT_TRUE(rx.WaitFor(1000 + 300, 30s));
  hookd_->Kill(SIGKILL);
  const size_t before_restart = rx.Count();
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  json::object done = WaitReplay(rid, "completed", 60s);
  EXPECT_EQ(Num(done, "created"), 1000);
  std::this_thread::sleep_for(500ms);
  const auto all = rx.Requests();
  std::map<std::string, int> replayed;
  for (size_t i = 1000; i < all.size(); ++i) {
    ++replayed[all[i].headers.at("webhook-id")];
    EXPECT_TRUE(Signed(all[i], secret));
  }
  EXPECT_EQ(replayed.size(), 1000u);
  size_t twice = 0;
  for (const auto& [id, n] : replayed) {
    EXPECT_LE(n, 2) << id;
    twice += n > 1;
  }
  std::cout << "[replay] killed after " << before_restart - 1000 << " replayed; sent twice after the restart: "
            << twice << "\n";
  EXPECT_LE(twice, 200u);
  // The deliveries the replay made: one per event (a delivery sent twice is still one).
  EXPECT_EQ(Num(done, "delivered") + Num(done, "failed"), 1000);
}

TEST_F(ReplayTest, ADisabledEndpointsReplayWaitsAndADeletedEndpointsIsCanceled) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}});
  const auto events = Publish(Hires(20, "emp_"));
  ASSERT_TRUE(rx.WaitFor(20, 10s));
  WaitIdle(ep);
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/disable", "{}").status, 200);
  json::object r = Replay(ep, events.front().second, FormatTime(NowMs()));
  const std::string rid = Str(r, "id");
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(rx.Count(), 20u);
  EXPECT_EQ(Str(GetReplay(rid), "status"), "running");
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/enable", "{}").status, 200);
  WaitReplay(rid, "completed");
  EXPECT_TRUE(rx.WaitFor(40, 5s));

  // Deleted while a slow replay runs: canceled; still readable by id.
  Patch(ep, {{"rate_limit_per_second", 2}});
  json::object slow = Replay(ep, events.front().second, FormatTime(NowMs()));
  ASSERT_EQ(co_->Request("DELETE", Base() + "/endpoints/" + ep).status, 204);
  json::object gone = WaitReplay(Str(slow, "id"), "canceled", 10s);
  EXPECT_EQ(Num(gone, "pending"), 0);
  ExpectProblem(co_->Get(Base() + "/endpoints/" + ep + "/replays"), 404);
}

// ------------------------------------------------------------------ refusals

TEST_F(ReplayTest, EveryRefusalIsAProblemWithItsPointer) {
  Receiver rx;
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"event_types", json::array{"employee.*"}}});
  const std::string now = FormatTime(NowMs());
  const std::string hour_ago = Later(now, -3600'000);
  auto expect_422 = [&](const std::string& body, const std::string& pointer) {
    auto r = StartReplay(ep, json::parse(body));
    auto p = ExpectProblem(r, 422);
    bool found = false;
    if (p.contains("errors"))
      for (const auto& e : p.at("errors").as_array()) found = found || e.at("pointer").as_string() == pointer;
    EXPECT_TRUE(found) << body << " -> " << r.body;
  };
  expect_422("{}", "/since");
  expect_422(R"({"since":")" + hour_ago + R"("})", "/until");
  expect_422(R"({"since":"last week","until":")" + now + R"("})", "/since");
  expect_422(R"({"since":")" + hour_ago + R"(","until":")" + hour_ago + R"("})", "/until");
  expect_422(R"({"since":")" + Later(now, 3600'000) + R"(","until":")" + Later(now, 7200'000) + R"("})", "/since");
  expect_422(R"({"since":")" + Later(now, -91LL * 86400'000) + R"(","until":")" + now + R"("})", "/until");
  expect_422(R"({"since":")" + Later(now, -31LL * 86400'000) + R"(","until":")" + Later(now, -30LL * 86400'000) +
                 R"("})",
             "/since");  // before the default retention (30 days)
  expect_422(R"({"since":")" + hour_ago + R"(","until":")" + now + R"(","event_types":[]})", "/event_types");
  expect_422(R"({"since":")" + hour_ago + R"(","until":")" + now + R"(","event_types":["employee.fired"]})",
             "/event_types/0");
  expect_422(R"({"since":")" + hour_ago + R"(","until":")" + now + R"(","event_types":["employee.hired","time_off.approved"]})",
             "/event_types/1");
  expect_422(R"({"since":")" + hour_ago + R"(","until":")" + now + R"(","types":["employee.hired"]})", "/types");
  expect_422("[1]", "");
  ExpectProblem(co_->Post(Base() + "/endpoints/" + ep + "/replay", "{nope"), 400);
  ExpectProblem(co_->Post(Base() + "/endpoints/" + ep + "/replay", R"({"since":"x"})", {"Content-Type: text/plain"}),
                415);

  // Endpoints and replays that are not there, or another company's: 404.
  const json::value ok_body = json::object{{"since", hour_ago}, {"until", now}};
  ExpectProblem(StartReplay("ep_01JD0000000000000000000000", ok_body), 404);
  ExpectProblem(StartReplay("not-an-id", ok_body), 404);
  const std::string other = CreateCompany("Globex");
  auto other_co = ClientWith(CreateToken(other, {"manage", "publish"}));
  auto other_ep = other_co->Post("/v1/companies/" + other + "/endpoints",
                                 json::parse(R"({"url":")" + rx.Url() + R"(","event_types":["*"]})"));
  ASSERT_EQ(other_ep.status, 201) << other_ep.body;
  const std::string foreign = std::string(other_ep.Json().at("id").as_string());
  ExpectProblem(StartReplay(foreign, ok_body), 404);
  ExpectProblem(co_->Get(Base() + "/endpoints/" + foreign + "/replays"), 404);
  ExpectProblem(co_->Post("/v1/companies/" + other + "/endpoints/" + foreign + "/replay", ok_body), 404);
  auto theirs = other_co->Post("/v1/companies/" + other + "/endpoints/" + foreign + "/replay", ok_body);
  ASSERT_EQ(theirs.status, 202) << theirs.body;
  const std::string their_rid = std::string(theirs.Json().at("id").as_string());
  ExpectProblem(co_->Get(Base() + "/replays/" + their_rid), 404);
  ExpectProblem(co_->Post(Base() + "/replays/" + their_rid + "/cancel", ""), 404);
  ExpectProblem(co_->Get(Base() + "/replays/rpl_01JD0000000000000000000000"), 404);
  ExpectProblem(co_->Get(Base() + "/replays/dlv_01JD0000000000000000000000"), 404);

  // Scopes and tokens.
  auto publisher = ClientWith(CreateToken(company_, {"publish"}));
  ExpectProblem(publisher->Post(Base() + "/endpoints/" + ep + "/replay", ok_body), 403);
  ExpectProblem(publisher->Get(Base() + "/endpoints/" + ep + "/replays"), 403);
  HttpClient anonymous(hookd_->BaseUrl());
  ExpectProblem(anonymous.Post(Base() + "/endpoints/" + ep + "/replay", ok_body), 401);
  ExpectProblem(co_->Get(Base() + "/endpoints/" + ep + "/replays?status=running"), 422);
  ExpectProblem(co_->Get(Base() + "/endpoints/" + ep + "/replays?cursor=bogus"), 400);

  // One running replay per endpoint: a second is refused, naming the first.
  Patch(ep, {{"rate_limit_per_second", 1}});
  const auto events = Publish(Hires(5, "emp_"));
  std::this_thread::sleep_for(50ms);
  json::object running = Replay(ep, events.front().second, FormatTime(NowMs()));
  ASSERT_EQ(Str(running, "status"), "running");
  auto second = StartReplay(ep, json::object{{"since", events.front().second}, {"until", FormatTime(NowMs())}});
  auto p = ExpectProblem(second, 409);
  EXPECT_NE(std::string(p.at("detail").as_string()).find(Str(running, "id")), std::string::npos) << second.body;
  // The operator token may do it all.
  auto op_list = op_->Get(Base() + "/endpoints/" + ep + "/replays");
  EXPECT_EQ(op_list.status, 200) << op_list.body;
  ASSERT_EQ(op_->Post(Base() + "/replays/" + Str(running, "id") + "/cancel", "").status, 200);
}

}  // namespace
}  // namespace hookd::testing
