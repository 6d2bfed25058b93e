// What a replay request may ask and what a replay sends (core/replay.h): pure rules, no store.
#include "core/replay.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/event_catalog.h"

namespace hookd {
namespace {
namespace json = boost::json;

constexpr int64_t kDay = 86400 * 1000LL;

class ReplayPlanTest : public ::testing::Test {
 protected:
  EventCatalog catalog;
  Endpoint ep;
  const int64_t now = *ParseTime("2026-12-01T12:00:00Z");

  ReplayPlanTest() {
    ep.id = EndpointId::New();
    ep.company_id = CompanyId::New();
    ep.event_types = {"employee.*", "contract.updated"};
  }
  Result<Replay> Plan(std::string_view body, int64_t retention_ms = 30 * kDay) {
    return PlanReplay(json::parse(body), ep, ReplayRules{&catalog, now, retention_ms});
  }
  // The pointers of the field errors of a refused request.
  std::vector<std::string> Pointers(std::string_view body, int64_t retention_ms = 30 * kDay) {
    auto r = Plan(body, retention_ms);
    EXPECT_FALSE(r) << body;
    std::vector<std::string> out;
    if (r) return out;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    for (const auto& f : r.error().fields) out.push_back(f.pointer);
    return out;
  }
};

TEST_F(ReplayPlanTest, AValidRequestSelectsTheEndpointsTypesNarrowedByTheAskedOnes) {
  ep.filter = json::parse(R"({"data.contract.salary.amount": {"$gt": 100000}})");
  auto r = Plan(R"({"since":"2026-11-30T00:00:00Z","until":"2026-12-01T00:00:00.000Z",
                    "event_types":["employee.hired","contract.*","employee.hired"]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->id.str().starts_with("rpl_"));
  EXPECT_EQ(r->company_id, ep.company_id);
  EXPECT_EQ(r->endpoint_id, ep.id);
  EXPECT_EQ(r->status, ReplayStatus::kRunning);
  EXPECT_EQ(r->since_ms, *ParseTime("2026-11-30T00:00:00Z"));
  EXPECT_EQ(r->until_ms, *ParseTime("2026-12-01T00:00:00Z"));
  EXPECT_EQ(r->event_types, (std::vector<std::string>{"employee.hired", "contract.*"}));
  // contract.created is in the asked family but not the endpoint's: left out.
  EXPECT_EQ(r->selection.types, (std::vector<std::string>{"contract.updated", "employee.hired"}));
  EXPECT_EQ(r->selection.filter, ep.filter);  // as it is now
  EXPECT_EQ(r->created_at_ms, now);
}

TEST_F(ReplayPlanTest, WithoutEventTypesEveryTypeOfTheEndpointButNeverTheTestEvent) {
  ep.event_types = {"*"};
  auto r = Plan(R"({"since":"2026-11-30T00:00:00Z","until":"2026-12-01T00:00:00Z","event_types":null})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->event_types);
  EXPECT_EQ(r->selection.types.size(), catalog.List().size() - 1);
  EXPECT_EQ(std::count(r->selection.types.begin(), r->selection.types.end(), "webhook.test"), 0);
  EXPECT_TRUE(std::is_sorted(r->selection.types.begin(), r->selection.types.end()));
  EXPECT_TRUE(r->selection.filter.is_null());
}

TEST_F(ReplayPlanTest, AnUntilInTheFutureIsNow) {
  auto r = Plan(R"({"since":"2026-12-01T11:00:00Z","until":"2027-01-01T00:00:00Z"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->until_ms, now);
}

TEST_F(ReplayPlanTest, EveryBadFieldIsNamed) {
  EXPECT_EQ(Pointers("[]"), std::vector<std::string>{""});
  EXPECT_EQ(Pointers("{}"), (std::vector<std::string>{"/since", "/until"}));
  EXPECT_EQ(Pointers(R"({"since":"yesterday","until":1764000000})"), (std::vector<std::string>{"/since", "/until"}));
  EXPECT_EQ(Pointers(R"({"since":"2026-11-30T00:00:00Z","until":"2026-12-01T00:00:00Z","from":"x"})"),
            std::vector<std::string>{"/from"});
  // Not after since; since in the future; longer than 90 days; older than the retention.
  EXPECT_EQ(Pointers(R"({"since":"2026-11-30T00:00:00Z","until":"2026-11-30T00:00:00Z"})"),
            std::vector<std::string>{"/until"});
  EXPECT_EQ(Pointers(R"({"since":"2026-12-02T00:00:00Z","until":"2026-12-03T00:00:00Z"})"),
            std::vector<std::string>{"/since"});
  EXPECT_EQ(Pointers(R"({"since":"2026-08-01T00:00:00Z","until":"2026-11-01T00:00:00Z"})", 0),
            std::vector<std::string>{"/until"});
  EXPECT_EQ(Pointers(R"({"since":"2026-10-01T00:00:00Z","until":"2026-11-01T00:00:00Z"})"),
            std::vector<std::string>{"/since"});
  EXPECT_TRUE(Plan(R"({"since":"2026-09-02T12:00:00Z","until":"2026-12-01T12:00:00Z"})", 0));  // 90 days: fine
  EXPECT_TRUE(Plan(R"({"since":"2026-10-01T00:00:00Z","until":"2026-11-01T00:00:00Z"})", 90 * kDay));
  // event_types: empty, not an array, not strings, unknown, or not the endpoint's.
  const std::string window = R"("since":"2026-11-30T00:00:00Z","until":"2026-12-01T00:00:00Z")";
  EXPECT_EQ(Pointers("{" + window + R"(,"event_types":[]})"), std::vector<std::string>{"/event_types"});
  EXPECT_EQ(Pointers("{" + window + R"(,"event_types":"employee.hired"})"), std::vector<std::string>{"/event_types"});
  EXPECT_EQ(Pointers("{" + window + R"(,"event_types":["employee.hired",7,"employee.fired","time_off.*","nope.*"]})"),
            (std::vector<std::string>{"/event_types/1", "/event_types/2", "/event_types/3", "/event_types/4"}));
  auto r = Plan("{" + window + R"(,"event_types":["time_off.approved"]})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not subscribed"), std::string::npos) << r.error().message;
}

TEST_F(ReplayPlanTest, TheMatcherTakesTheSelectedTypesThatPassTheFilter) {
  ReplaySelection s;
  s.types = {"contract.updated", "employee.hired"};
  s.filter = json::parse(R"({"data.amount": {"$gt": 100}})");
  auto m = ReplayMatcher::Make(s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->HasFilter());
  auto event = [](std::string type, std::string payload) {
    Event e;
    e.type = std::move(type);
    e.payload = std::move(payload);
    return e;
  };
  EXPECT_TRUE(m->Matches(event("employee.hired", R"({"type":"employee.hired","data":{"amount":101}})")));
  EXPECT_FALSE(m->Matches(event("employee.hired", R"({"type":"employee.hired","data":{"amount":100}})")));
  EXPECT_FALSE(m->Matches(event("employee.left", R"({"type":"employee.left","data":{"amount":101}})")));
  EXPECT_FALSE(m->Matches(event("employee.hired", "not json")));
  s.filter = nullptr;
  auto all = ReplayMatcher::Make(s);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->Matches(event("contract.updated", "")));
  s.filter = json::parse(R"({"data.x": {"$nope": 1}})");
  EXPECT_FALSE(ReplayMatcher::Make(s));
  // Stored and read back as it was.
  s.filter = json::parse(R"({"type":"contract.updated"})");
  const ReplaySelection back = ReplaySelectionFromJson(ReplaySelectionToJson(s));
  EXPECT_EQ(back.types, s.types);
  EXPECT_EQ(back.filter, s.filter);
}

}  // namespace
}  // namespace hookd
