// The start-up order of `hookd serve` comes from declared dependencies (app/lifecycle.h).

#include "app/lifecycle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hookd {
namespace {

struct Recorder {
  std::vector<std::string> events;
  Lifecycle::Component Make(std::string name, std::vector<std::string> after, bool fail = false) {
    return {name, std::move(after),
            [this, name, fail]() -> Result<void> {
              events.push_back("start " + name);
              if (fail) return MakeError(ErrorCode::kUnavailable, "port 8080 is taken");
              return {};
            },
            [this, name] { events.push_back("stop " + name); }};
  }
};

TEST(LifecycleTest, StartsDependenciesFirstWhateverTheOrderTheyWereAddedIn) {
  Recorder rec;
  Lifecycle l;
  l.Add(rec.Make("api", {"dispatcher", "store"}));
  l.Add(rec.Make("dispatcher", {"store"}));
  l.Add(rec.Make("retention", {"store"}));
  l.Add(rec.Make("store", {}));
  ASSERT_TRUE(l.StartAll());
  EXPECT_EQ(l.Started(), (std::vector<std::string>{"store", "dispatcher", "api", "retention"}));
  l.StopAll();
  EXPECT_EQ(rec.events, (std::vector<std::string>{"start store", "start dispatcher", "start api",
                                                  "start retention", "stop retention", "stop api",
                                                  "stop dispatcher", "stop store"}));
  l.StopAll();  // idempotent
  EXPECT_EQ(rec.events.size(), 8u);
}

TEST(LifecycleTest, ACycleOrAnUnknownDependencyIsRefusedBeforeAnythingStarts) {
  Recorder rec;
  Lifecycle cycle;
  cycle.Add(rec.Make("store", {}));
  cycle.Add(rec.Make("a", {"b"}));
  cycle.Add(rec.Make("b", {"a"}));
  auto r = cycle.StartAll();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("a -> b -> a"), std::string::npos) << r.error().message;

  Lifecycle unknown;
  unknown.Add(rec.Make("api", {"dispatcher"}));
  r = unknown.StartAll();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'api' needs 'dispatcher'"), std::string::npos) << r.error().message;
  EXPECT_TRUE(rec.events.empty());
}

TEST(LifecycleTest, AFailedStartStopsWhatStartedInReverseAndNamesTheComponent) {
  Recorder rec;
  {
    Lifecycle l;
    l.Add(rec.Make("store", {}));
    l.Add(rec.Make("dispatcher", {"store"}));
    l.Add(rec.Make("api", {"dispatcher"}, /*fail=*/true));
    auto r = l.StartAll();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "api: port 8080 is taken");
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  }
  EXPECT_EQ(rec.events, (std::vector<std::string>{"start store", "start dispatcher", "start api",
                                                  "stop dispatcher", "stop store"}));
}

TEST(LifecycleTest, TheDestructorStopsWhatIsRunning) {
  Recorder rec;
  {
    Lifecycle l;
    l.Add(rec.Make("store", {}));
    l.Add(rec.Make("api", {"store"}));
    ASSERT_TRUE(l.StartAll());
  }
  EXPECT_EQ(rec.events.back(), "stop store");
  EXPECT_EQ(rec.events.size(), 4u);
}

}  // namespace
}  // namespace hookd
