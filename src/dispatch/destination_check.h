#pragma once
// The SSRF guard at save time: an endpoint URL whose host is (or resolves to) a refused
// address is rejected when the endpoint is saved. The same policy is enforced again when
// each connection is opened (http_client.cc), which catches DNS rebinding.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/ssrf_guard.h"

namespace hookd {

// The part of the check that needs no DNS: nullopt when `url`'s host is a DNS name or an
// allowed address literal; else why it is refused. Pure; for the request thread.
std::optional<std::string> CheckDestinationLiteral(const DestinationPolicy& policy, std::string_view url);

// nullopt when `url` may be saved; else why not. Host names are resolved (blocking
// getaddrinfo, up to the resolver's own timeouts); a name that does not resolve is accepted
// here — it is checked again at connect time. For tools and tests; the API uses
// DestinationChecker, which never blocks a request thread.
std::optional<std::string> CheckDestinationUrl(const DestinationPolicy& policy, std::string_view url);

// Resolves endpoint hosts for the save-time check on threads of its own, so that a slow or
// never-answering DNS server (an attacker can make a name resolve slowly) cannot hold the API's
// request threads: at most `threads` lookups run at once, each given up after `timeout_ms`
// (the name is then accepted, as one that does not resolve), at most `max_queued` wait, and
// one company may have at most `max_per_company` checks queued or running.
//
// Thread-safe. The destructor finishes queued checks' callbacks with kBusy and joins.
class DestinationChecker {
 public:
  enum class Verdict {
    kAllowed,
    kRefused,  // `why` says why
    kBusy,     // too many checks waiting (in all, or of this company): try again later
  };
  using Done = std::move_only_function<void(Verdict verdict, std::string why)>;

  struct Options {
    int threads = 2;
    size_t max_queued = 256;
    int max_per_company = 8;
    int64_t timeout_ms = 5000;
    // Tests: replaces the lookup (why `host` is refused, or nullopt). Default: getaddrinfo_a
    // given up after timeout_ms, every address checked against the policy.
    std::function<std::optional<std::string>(const std::string& host)> resolve;
  };

  // `policy` must outlive the checker.
  DestinationChecker(const DestinationPolicy& policy, Options options);
  ~DestinationChecker();
  DestinationChecker(const DestinationChecker&) = delete;
  DestinationChecker& operator=(const DestinationChecker&) = delete;

  // Finishes queued checks' callbacks with kBusy, waits for the running ones, joins. Called
  // before what their callbacks use goes away (serve's stop order); the destructor calls it.
  void Stop();

  // Checks `url` for company `company` and calls `done` exactly once: at once on this thread
  // when no lookup is needed (an address literal) or the queue is full, else on a checker
  // thread. `done` may block (it saves the endpoint).
  void Check(std::string company, std::string url, Done done);

 private:
  struct Job {
    std::string company;
    std::string host;
    Done done;
  };
  void Run();
  // nullopt when every address of `host` is allowed (or it does not resolve in time).
  std::optional<std::string> Resolve(const std::string& host) const;

  const DestinationPolicy& policy_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;                             // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> per_company_;  // GUARDED_BY(mu_): queued or running
  bool stopping_ = false;                             // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace hookd
