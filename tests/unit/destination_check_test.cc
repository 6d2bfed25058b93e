#include "dispatch/destination_check.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

namespace hookd {
namespace {

using Verdict = DestinationChecker::Verdict;

// A lookup that waits until the test lets it go: a DNS server that does not answer.
class StuckDns {
 public:
  std::optional<std::string> Resolve(const std::string& host) {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    if (host.starts_with("internal")) return "destination is not allowed: " + host + " resolves to 10.0.0.1";
    return std::nullopt;
  }
  void WaitForWaiting(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool released_ = false;
};

struct Outcome {
  std::promise<std::pair<Verdict, std::string>> promise;
  std::future<std::pair<Verdict, std::string>> future = promise.get_future();
  DestinationChecker::Done Callback() {
    return [this](Verdict v, std::string why) { promise.set_value({v, std::move(why)}); };
  }
  bool Ready() { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }
};

DestinationPolicy Policy() { return *DestinationPolicy::Make(false, {}); }

// Issue 10: the save-time lookup ran on the request thread; a DNS server that does not
// answer held it. Check() returns at once; its answer comes from a checker thread.
TEST(DestinationCheckerTest, LookupsNeverRunOnTheCallersThread) {
  const DestinationPolicy policy = Policy();
  StuckDns dns;
  DestinationChecker checker(policy, {.threads = 1, .max_queued = 4, .max_per_company = 2, .timeout_ms = 5000,
                                      .resolve = [&](const std::string& h) { return dns.Resolve(h); }});
  Outcome slow, refused;
  checker.Check("co_a", "https://slow.example/h", slow.Callback());
  checker.Check("co_a", "https://internal.example/h", refused.Callback());
  dns.WaitForWaiting(1);
  EXPECT_FALSE(slow.Ready());  // the caller went on; the lookup is still waiting

  // Address literals need no lookup: answered at once, on this thread, stuck DNS or not.
  Outcome literal_bad, literal_ok;
  checker.Check("co_b", "https://169.254.169.254/latest", literal_bad.Callback());
  checker.Check("co_b", "https://[2001:db8::1]:8443/h", literal_ok.Callback());
  ASSERT_TRUE(literal_bad.Ready());
  EXPECT_EQ(literal_bad.future.get().first, Verdict::kRefused);
  ASSERT_TRUE(literal_ok.Ready());
  EXPECT_EQ(literal_ok.future.get().first, Verdict::kAllowed);

  // One company cannot queue more than its share; the others still can.
  Outcome third;
  checker.Check("co_a", "https://third.example/h", third.Callback());
  ASSERT_TRUE(third.Ready());
  EXPECT_EQ(third.future.get().first, Verdict::kBusy);
  Outcome other;
  checker.Check("co_c", "https://other.example/h", other.Callback());
  EXPECT_FALSE(other.Ready());

  dns.Release();
  EXPECT_EQ(slow.future.get().first, Verdict::kAllowed);
  auto [verdict, why] = refused.future.get();
  EXPECT_EQ(verdict, Verdict::kRefused);
  EXPECT_NE(why.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(other.future.get().first, Verdict::kAllowed);
  // Done: the company's share is free again.
  Outcome again;
  checker.Check("co_a", "https://again.example/h", again.Callback());
  EXPECT_EQ(again.future.get().first, Verdict::kAllowed);
}

TEST(DestinationCheckerTest, AFullQueueAnswersBusyAndStoppingAnswersWhatWaits) {
  const DestinationPolicy policy = Policy();
  StuckDns dns;
  auto checker = std::make_unique<DestinationChecker>(
      policy, DestinationChecker::Options{.threads = 1, .max_queued = 2, .max_per_company = 10, .timeout_ms = 5000,
                                          .resolve = [&](const std::string& h) { return dns.Resolve(h); }});
  Outcome running, q1, q2, over;
  checker->Check("co_a", "https://a.example/h", running.Callback());
  dns.WaitForWaiting(1);
  checker->Check("co_a", "https://b.example/h", q1.Callback());
  checker->Check("co_a", "https://c.example/h", q2.Callback());
  checker->Check("co_a", "https://d.example/h", over.Callback());
  ASSERT_TRUE(over.Ready());
  EXPECT_EQ(over.future.get().first, Verdict::kBusy);
  std::thread stopper([&] { checker->Stop(); });
  EXPECT_EQ(q1.future.get().first, Verdict::kBusy);  // answered while the running one waits
  EXPECT_EQ(q2.future.get().first, Verdict::kBusy);
  dns.Release();
  stopper.join();
  EXPECT_EQ(running.future.get().first, Verdict::kAllowed);
}

// The real lookup: a name from /etc/hosts resolves and is checked.
TEST(DestinationCheckerTest, TheDefaultLookupChecksEveryAddress) {
  const DestinationPolicy policy = Policy();
  DestinationChecker checker(policy, {});
  Outcome local;
  checker.Check("co_a", "https://localhost:8443/h", local.Callback());
  auto [verdict, why] = local.future.get();
  EXPECT_EQ(verdict, Verdict::kRefused);
  EXPECT_NE(why.find("localhost resolves to"), std::string::npos) << why;
}

// Found by fuzz/endpoint_url_fuzz.cc: the save-time check read the host still
// percent-encoded, took "%31%32%37.0.0.1" for a DNS name that does not resolve and let it
// through, while libcurl decodes it and connects to 127.0.0.1.
TEST(DestinationCheckTest, PercentEncodedHostIsDecodedBeforeTheCheck) {
  const DestinationPolicy policy = Policy();
  for (std::string_view url : {"http://%31%32%37.0.0.1/", "http://%31%32%37.1/x", "http://0x7f%2e1/",
                               "https://169.254.169.%32%35%34/latest/meta-data"}) {
    std::optional<std::string> why = CheckDestinationLiteral(policy, url);
    ASSERT_TRUE(why.has_value()) << url;
    EXPECT_NE(why->find("is in"), std::string::npos) << *why;
    std::promise<Verdict> verdict;
    DestinationChecker checker(policy, {});
    checker.Check("co_1", std::string(url), [&](Verdict v, std::string) { verdict.set_value(v); });
    EXPECT_EQ(verdict.get_future().get(), Verdict::kRefused) << url;
  }
  EXPECT_EQ(CheckDestinationLiteral(policy, "https://%65xample.com/"), std::nullopt);
}

}  // namespace
}  // namespace hookd
