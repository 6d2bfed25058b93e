// Durability: a 202 means the event is on disk. Clients post while hookd is killed with
// SIGKILL; after a restart every event that got a 202 must be there, with its deliveries.
// On both stores: SQLite, and PostgreSQL on a private server (support/pg_server.h).
#include <atomic>
#include <mutex>
#include <thread>

#include <signal.h>

#include "harness.h"
#include "support/pg_server.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

class CrashTest : public HookdTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string DbUrl() override { return GetParam() == "postgres" ? NewPostgresDatabaseUrl() : ""; }
};

TEST_P(CrashTest, EveryAcceptedEventSurvivesSigkill) {
  auto ep = co_->Post("/v1/companies/" + company_ + "/endpoints",
                      json::parse(R"({"url":"https://127.0.0.2:9/erp/hooks","event_types":["employee.*"]})"));
  ASSERT_EQ(ep.status, 201) << ep.body;

  for (int round = 0; round < 3; ++round) {
    std::mutex mu;
    std::vector<std::string> accepted;
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    const std::string base = hookd_->BaseUrl();
    for (int t = 0; t < 6; ++t) {
      clients.emplace_back([&, t] {
        HttpClient c(base);
        c.SetToken(company_token_);
        for (int i = 0; !stop.load(); ++i) {
          auto r = c.Post("/v1/companies/" + company_ + "/events",
                          HiredEvent("emp_" + std::to_string(round) + "_" + std::to_string(t) + "_" + std::to_string(i)));
          if (r.status == 202) {
            std::lock_guard lock(mu);
            accepted.push_back(std::string(r.Json().at("id").as_string()));
            ++answered;
          } else if (r.status == 0) {
            return;  // the server is gone
          }
        }
      });
    }
    // Let load build up, then kill in the middle of it.
    while (answered.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    hookd_->Kill(SIGKILL);
    stop = true;
    for (auto& c : clients) c.join();
    ASSERT_GE(accepted.size(), 200u);

    ASSERT_NO_FATAL_FAILURE(hookd_->Start());
    HttpClient check(hookd_->BaseUrl());
    check.SetToken(company_token_);
    size_t missing = 0;
    for (const auto& id : accepted) {
      auto r = check.Get("/v1/companies/" + company_ + "/events/" + id);
      if (r.status != 200) {
        ++missing;
        ADD_FAILURE() << "event " << id << " got a 202 but is gone after SIGKILL: " << r.status;
        if (missing > 5) break;
        continue;
      }
      auto d = check.Get("/v1/companies/" + company_ + "/deliveries?event_id=" + id);
      EXPECT_EQ(d.Json().at("data").as_array().size(), 1u) << id;
    }
    EXPECT_EQ(missing, 0u) << "round " << round << ": " << accepted.size() << " accepted";
    co_ = ClientWith(company_token_);
    op_ = ClientWith(hookd_->AdminToken());
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, CrashTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hookd::testing
