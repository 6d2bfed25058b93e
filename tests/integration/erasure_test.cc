// Erasure per employee (issue 13 item 2) through the real binary: what the API answers, what is
// left of the employee in the SQLite file, and that a large erasure does not hold up another
// company.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// An employee.hired body for `employee` with `email` (and, when `notes` > 0, that many bytes of
// notes holding the email again: a payload long enough for SQLite's overflow pages).
json::value Hired(const std::string& employee, const std::string& email, size_t notes = 0) {
  json::value v = HiredEventBody(employee);
  v.at("data").at("employee").as_object()["email"] = email;
  if (notes > 0) {
    std::string n;
    while (n.size() < notes) n += "contact " + email + "; ";
    v.at("data").as_object()["notes"] = n;
  }
  return v;
}

class ErasureTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "1h", "--request-timeout", "2s"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  std::string CreateEndpoint(const std::string& url) {
    auto r = co_->Post(Base() + "/endpoints", json::object{{"url", url}, {"event_types", json::array{"*"}}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.Json().at("id").as_string()) : "";
  }
  std::string Publish(const json::value& ev, const std::vector<std::string>& headers = {}) {
    auto r = co_->Post(Base() + "/events", ev, headers);
    EXPECT_TRUE(r.status == 202 || r.status == 200) << r.body;
    return r.status / 100 == 2 ? std::string(r.Json().at("id").as_string()) : "";
  }
  json::array Deliveries(const std::string& query) {
    return co_->Get(Base() + "/deliveries?" + query).Json().at("data").as_array();
  }
  bool WaitStatus(const std::string& event, const std::string& status, std::chrono::milliseconds timeout = 10s) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      auto ds = Deliveries("event_id=" + event);
      if (!ds.empty() && std::all_of(ds.begin(), ds.end(), [&](const json::value& d) {
            return d.at("status").as_string() == status;
          }))
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Requests an erasure of `subject` and waits for it to complete; returns it.
  json::object Erase(const std::string& subject, std::chrono::milliseconds timeout = 20s) {
    auto r = co_->Post(Base() + "/erasures", json::object{{"subject", subject}});
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return {};
    const std::string id(r.Json().at("id").as_string());
    EXPECT_EQ(r.headers["location"], Base() + "/erasures/" + id);
    const auto until = Clock::now() + timeout;
    json::object last;
    while (Clock::now() < until) {
      last = co_->Get(Base() + "/erasures/" + id).Json().as_object();
      if (last.at("status").as_string() == "completed") return last;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "erasure " << id << " did not complete: " << json::serialize(last);
    return last;
  }
};

TEST_F(ErasureTest, AnErasureEmptiesTheEmployeesEventsCancelsTheirDeliveriesAndKeepsAHash) {
  Receiver rx;
  // The receiver that took it echoes the employee's email in its answer.
  rx.Set("/ok", Behaviour{.status = 200, .body = "welcome ana.erased@acme.example"});
  rx.Set("/down", Behaviour{.status = 503});
  const std::string ok = CreateEndpoint(rx.Url("/ok"));
  const std::string down = CreateEndpoint(rx.Url("/down"));
  const std::string off = CreateEndpoint(rx.Url("/off"));
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + off + "/disable", "{}").status, 200);

  const std::string ev = Publish(Hired("emp_ana", "ana.erased@acme.example"), {"Idempotency-Key: hire-ana"});
  const std::string kept = Publish(Hired("emp_bea", "bea.kept@acme.example"));
  ASSERT_TRUE(rx.WaitFor(4, 10s));  // both events to /ok and to /down
  {
    // /ok succeeded, /down waits for its retry (in an hour), /off holds it.
    const auto until = Clock::now() + 10s;
    while (Clock::now() < until && Deliveries("event_id=" + ev + "&status=succeeded").empty())
      std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Deliveries("event_id=" + ev + "&status=succeeded").size(), 1u);
  const std::string ok_delivery(Deliveries("event_id=" + ev + "&endpoint_id=" + ok)[0].at("id").as_string());

  json::object e = Erase("emp_ana");
  EXPECT_EQ(e.at("status"), "completed");
  EXPECT_EQ(e.at("subject_hash").as_string().size(), 64u);
  EXPECT_FALSE(e.contains("subject"));
  EXPECT_EQ(e.at("requested_by").at("kind"), "company");
  EXPECT_TRUE(e.at("requested_by").at("token_id").as_string().starts_with("tok_"));
  EXPECT_TRUE(e.at("finished_at").is_string());
  const json::object& counts = e.at("counts").as_object();
  EXPECT_EQ(counts.at("events"), 1);
  EXPECT_EQ(counts.at("deliveries_canceled"), 2);  // /down's pending one, /off's held one
  EXPECT_EQ(counts.at("attempts"), 2);             // /ok's answer and /down's
  EXPECT_EQ(counts.at("idempotency_records"), 1);
  EXPECT_EQ(json::serialize(e).find("emp_ana"), std::string::npos);

  // The event keeps its id, type and times; nothing of the employee.
  json::object got = co_->Get(Base() + "/events/" + ev).Json().as_object();
  EXPECT_EQ(got.at("erased"), true);
  EXPECT_TRUE(got.at("payload").is_null());
  EXPECT_TRUE(got.at("data").is_null());
  EXPECT_TRUE(got.at("subject").is_null());
  EXPECT_EQ(got.at("type"), "employee.hired");
  json::object other = co_->Get(Base() + "/events/" + kept).Json().as_object();
  EXPECT_EQ(other.at("erased"), false);
  EXPECT_NE(other.at("payload").as_string().find("bea.kept@acme.example"), std::string::npos);

  auto canceled = Deliveries("status=canceled");
  ASSERT_EQ(canceled.size(), 2u);
  for (const auto& d : canceled) {
    EXPECT_EQ(d.at("event_id"), ev.c_str());
    EXPECT_EQ(d.at("canceled_reason"), "erased");
    EXPECT_TRUE(d.at("next_attempt_at").is_null());
  }
  EXPECT_TRUE(Deliveries("event_id=" + kept + "&status=canceled").empty());
  auto attempts = co_->Get(Base() + "/deliveries/" + ok_delivery + "/attempts").Json().at("data").as_array();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].at("response_body"), "");
  EXPECT_EQ(attempts[0].at("status_code"), 200);
  const std::string canceled_id(canceled[0].at("id").as_string());
  ExpectProblem(co_->Post(Base() + "/deliveries/" + canceled_id + "/retry", ""), 409);
  // Enabling the endpoint releases held deliveries — not the canceled one.
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + off + "/enable", "{}").status, 200);
  ASSERT_TRUE(rx.WaitFor(1, 10s, "/off"));  // the colleague's, released
  std::this_thread::sleep_for(300ms);
  for (const auto& req : rx.Requests("/off")) EXPECT_NE(req.headers.at("webhook-id"), ev);
  EXPECT_EQ(rx.Count("/off"), 1u);

  // The idempotency record went with it: the same key now makes a new, normal event, which is
  // delivered with its data.
  const size_t before = rx.Count("/ok");
  auto again = co_->Post(Base() + "/events", Hired("emp_ana", "ana.erased@acme.example"), {"Idempotency-Key: hire-ana"});
  ASSERT_EQ(again.status, 202) << again.body;
  const std::string later(again.Json().at("id").as_string());
  EXPECT_NE(later, ev);
  ASSERT_TRUE(rx.WaitFor(before + 1, 10s, "/ok"));
  EXPECT_NE(rx.Requests("/ok").back().body.find("ana.erased@acme.example"), std::string::npos);
  EXPECT_EQ(co_->Get(Base() + "/events/" + later).Json().at("erased"), false);

  // Listed, newest first; another company's token sees none of it.
  auto list = co_->Get(Base() + "/erasures").Json();
  ASSERT_EQ(list.at("data").as_array().size(), 1u);
  EXPECT_EQ(list.at("data").as_array()[0].at("id"), e.at("id"));
  const std::string globex = CreateCompany("Globex");
  auto g = ClientWith(CreateToken(globex, {"manage"}));
  ExpectProblem(g->Get(Base() + "/erasures/" + std::string(e.at("id").as_string())), 404);
  ExpectProblem(g->Get("/v1/companies/" + globex + "/erasures/" + std::string(e.at("id").as_string())), 404);
  EXPECT_TRUE(g->Get("/v1/companies/" + globex + "/erasures").Json().at("data").as_array().empty());
  // The same subject of the same company always hashes the same (a second request can be matched
  // to the first); the operator may ask too.
  auto by_op = op_->Post(Base() + "/erasures", json::object{{"subject", "emp_ana"}});
  ASSERT_EQ(by_op.status, 202) << by_op.body;
  EXPECT_EQ(by_op.Json().at("subject_hash"), e.at("subject_hash"));
  EXPECT_EQ(by_op.Json().at("requested_by").at("kind"), "operator");
}

TEST_F(ErasureTest, BadRequestsAreRefused) {
  const std::string path = Base() + "/erasures";
  for (const char* body : {R"({})", R"({"subject":""})", R"({"subject":42})", R"({"subject":null})",
                           R"({"subject":["emp_1"]})", R"(["emp_1"])", R"({"subject":"emp_1","extra":1})"}) {
    auto p = ExpectProblem(co_->Post(path, body), 422);
    EXPECT_FALSE(p.at("errors").as_array().empty()) << body;
  }
  ExpectProblem(co_->Post(path, json::object{{"subject", std::string(256, 'e')}}), 422);
  EXPECT_EQ(co_->Post(path, json::object{{"subject", std::string(255, 'e')}}).status, 202);
  ExpectProblem(co_->Post(path, "{not json"), 400);
  // Scope and tenancy.
  ExpectProblem(ClientWith(CreateToken(company_, {"publish"}))->Post(path, R"({"subject":"emp_1"})"), 403);
  ExpectProblem(ClientWith("hkd_nope")->Post(path, R"({"subject":"emp_1"})"), 401);
  const std::string globex = CreateCompany("Globex");
  ExpectProblem(ClientWith(CreateToken(globex, {"manage"}))->Post(path, R"({"subject":"emp_1"})"), 404);
  ExpectProblem(co_->Get(path + "/era_01JDQ5Y8Z7K3M2N4P6R8S0T2V4"), 404);
  ExpectProblem(co_->Get(path + "/not-an-id"), 404);
  ExpectProblem(co_->Get(path + "?cursor=dlv_01JDQ5Y8Z7K3M2N4P6R8S0T2V4"), 400);
  ExpectProblem(co_->Get(path + "?limit=0"), 422);
  ExpectProblem(co_->Get(path + "?subject=emp_1"), 422);
  ExpectProblem(co_->Get(Base() + "/deliveries?status=cancelled"), 422);
}

// SQLite only (it reads the file): without an encryption key, every byte of the erased
// employee's email leaves the database file — payloads long enough for overflow pages, the
// receivers' echoes, the WAL — while a colleague's stays (so the check does read the file).
class ErasureFileTest : public ErasureTest {
 protected:
  std::string DbUrl() override { return ""; }
};

std::string FileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST_F(ErasureFileTest, NoByteOfTheErasedEmailRemainsInTheDatabaseFile) {
  Receiver rx;
  // Echoes what it got: the attempts' response bodies hold the email too.
  rx.SetFn("/echo", [](int, const ReceivedRequest& req) { return Behaviour{.status = 200, .body = req.body}; });
  CreateEndpoint(rx.Url("/echo"));
  const std::string gone = "gone.employee@acme.example", kept = "kept.colleague@acme.example";
  std::vector<std::string> events;
  events.push_back(Publish(Hired("emp_gone", gone), {"Idempotency-Key: gone-1"}));
  events.push_back(Publish(Hired("emp_gone", gone, 12000)));  // overflow pages
  json::array batch;
  for (int i = 0; i < 20; ++i) batch.push_back(Hired("emp_gone", gone, i % 5 == 0 ? 6000 : 0));
  batch.push_back(Hired("emp_kept", kept));
  auto b = co_->Post(Base() + "/events/batch", json::value(batch), {"Idempotency-Key: batch-1"});
  ASSERT_EQ(b.status, 202) << b.body;
  const json::value accepted = b.Json();
  for (const auto& e : accepted.as_array()) events.push_back(std::string(e.at("id").as_string()));
  ASSERT_TRUE(rx.WaitFor(events.size(), 20s)) << rx.Count() << " of " << events.size();
  for (const auto& e : events)
    ASSERT_TRUE(WaitStatus(e, "succeeded")) << json::serialize(Deliveries("event_id=" + e));

  json::object done = Erase("emp_gone");
  EXPECT_EQ(done.at("counts").at("events"), 22);
  EXPECT_EQ(done.at("counts").at("attempts"), 22);
  EXPECT_EQ(done.at("counts").at("idempotency_records"), 2);
  hookd_->Kill(SIGTERM);

  // As hookd left it: the erasure zeroed what it freed and truncated the WAL.
  std::string bytes = FileBytes(hookd_->DbPath()) + FileBytes(hookd_->DbPath() + "-wal");
  EXPECT_EQ(bytes.find(gone), std::string::npos) << "the erased email is still in the file as hookd left it";
  EXPECT_EQ(bytes.find("emp_gone"), std::string::npos) << "the erased subject is still in the file";
  EXPECT_NE(bytes.find(kept), std::string::npos) << "the check does not read the file";

  // And after a checkpoint and a VACUUM, as an operator would run them.
  const std::string cmd = "sqlite3 '" + hookd_->DbPath() + "' 'PRAGMA wal_checkpoint(TRUNCATE); VACUUM;' 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  bytes = FileBytes(hookd_->DbPath()) + FileBytes(hookd_->DbPath() + "-wal");
  EXPECT_EQ(bytes.find(gone), std::string::npos);
  EXPECT_NE(bytes.find(kept), std::string::npos);
}

// Issue 13: an erasure of 100,000 events must not stall another company's ingest or delivery.
// Company A's employee has 100,000 events (their deliveries held: A's endpoint is disabled);
// company B posts at a steady rate to a real receiver, before and while A's erasure runs. The
// latencies are printed; the bounds are generous (a 2-core machine shared with other builds).
class ErasureLoadTest : public ErasureTest {
 protected:
  std::string DbUrl() override { return ""; }
};

struct Latencies {
  std::vector<double> ingest_ms, delivery_ms;
  static double P(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
  }
};

TEST_F(ErasureLoadTest, AHundredThousandEventErasureDoesNotStallAnotherCompany) {
  constexpr int kEvents = 100'000, kBatch = 500;
  Receiver rx;
  const std::string a_ep = CreateEndpoint(rx.Url("/a"));
  ASSERT_EQ(co_->Post(Base() + "/endpoints/" + a_ep + "/disable", "{}").status, 200);
  {
    json::array batch;
    for (int i = 0; i < kBatch; ++i) batch.push_back(Hired("emp_big", "big.employee@acme.example"));
    const std::string body = json::serialize(batch);
    const auto t0 = Clock::now();
    for (int i = 0; i < kEvents / kBatch; ++i) {
      auto r = co_->Post(Base() + "/events/batch", body);
      ASSERT_EQ(r.status, 202) << r.body;
    }
    std::printf("[ ingest ] %d events of one employee in %.1f s\n", kEvents,
                std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const std::string b_company = CreateCompany("Beta");
  const std::string b_token = CreateToken(b_company, {"manage", "publish"});
  auto b = ClientWith(b_token);
  ASSERT_EQ(b->Post("/v1/companies/" + b_company + "/endpoints",
                    json::object{{"url", rx.Url("/b")}, {"event_types", json::array{"*"}}})
                .status,
            201);

  // B's publisher: one event every 20 ms (50/s); each POST's round trip, and when it was sent.
  std::mutex mu;
  std::map<std::string, Clock::time_point> sent_at;  // event id -> POST start
  std::vector<std::pair<Clock::time_point, double>> ingest;  // (start, ms)
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    HttpClient c(hookd_->BaseUrl());
    c.SetToken(b_token);
    const std::string body = json::serialize(Hired("emp_b", "b.employee@beta.example"));
    auto next = Clock::now();
    while (!stop) {
      const auto t = Clock::now();
      auto r = c.Post("/v1/companies/" + b_company + "/events", body);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      if (r.status == 202) {
        std::lock_guard lock(mu);
        sent_at[std::string(r.Json().at("id").as_string())] = t;
        ingest.emplace_back(t, ms);
      }
      next += 20ms;
      std::this_thread::sleep_until(next);
    }
  });
  auto window = [&](Clock::time_point from, Clock::time_point to) {
    Latencies l;
    std::lock_guard lock(mu);
    for (const auto& [t, ms] : ingest)
      if (t >= from && t < to) l.ingest_ms.push_back(ms);
    for (const auto& req : rx.Requests("/b")) {
      auto it = sent_at.find(req.headers.count("webhook-id") ? req.headers.at("webhook-id") : "");
      if (it != sent_at.end() && it->second >= from && it->second < to)
        l.delivery_ms.push_back(std::chrono::duration<double, std::milli>(req.at - it->second).count());
    }
    return l;
  };

  const auto before_from = Clock::now();
  std::this_thread::sleep_for(5s);
  const auto erase_from = Clock::now();
  auto r = co_->Post(Base() + "/erasures", json::object{{"subject", "emp_big"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id(r.Json().at("id").as_string());
  json::object e;
  const auto until = Clock::now() + 240s;
  while (Clock::now() < until) {
    e = co_->Get(Base() + "/erasures/" + id).Json().as_object();
    if (e.at("status").as_string() == "completed") break;
    std::this_thread::sleep_for(100ms);
  }
  const auto erase_to = Clock::now();
  std::this_thread::sleep_for(1s);  // the last deliveries of the window arrive
  stop = true;
  publisher.join();

  ASSERT_EQ(e.at("status"), "completed") << json::serialize(e);
  EXPECT_EQ(e.at("counts").at("events"), kEvents);
  EXPECT_EQ(e.at("counts").at("deliveries_canceled"), kEvents);
  const double erase_s = std::chrono::duration<double>(erase_to - erase_from).count();
  Latencies before = window(before_from, erase_from), during = window(erase_from, erase_to);
  std::printf("[ erasure ] %d events erased in %.1f s (%.0f events/s)\n", kEvents, erase_s, kEvents / erase_s);
  for (auto [name, l] : {std::pair{"before", &before}, std::pair{"during", &during}})
    std::printf("[ company B %s ] %zu events: ingest p50 %.1f ms p99 %.1f ms max %.1f ms; delivery p50 %.1f ms "
                "p99 %.1f ms (%zu delivered)\n",
                name, l->ingest_ms.size(), Latencies::P(l->ingest_ms, 0.5), Latencies::P(l->ingest_ms, 0.99),
                Latencies::P(l->ingest_ms, 1.0), Latencies::P(l->delivery_ms, 0.5), Latencies::P(l->delivery_ms, 0.99),
                l->delivery_ms.size());
  ASSERT_GT(during.ingest_ms.size(), 20u);
  EXPECT_LT(Latencies::P(during.ingest_ms, 0.99), 1000.0) << "B's ingest stalled during the erasure";
  EXPECT_LT(Latencies::P(during.delivery_ms, 0.99), 2000.0) << "B's deliveries stalled during the erasure";
  EXPECT_GE(during.delivery_ms.size() + 5, during.ingest_ms.size()) << "B's events were not delivered";
  EXPECT_EQ(rx.Count("/a"), 0u);
}

}  // namespace
}  // namespace hookd::testing
