#include "dispatch/destination_check.h"

#include <netdb.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <cstring>

#include <boost/url/parse.hpp>

#include "core/clock.h"

namespace hookd {

namespace {

// The URL's host as it goes to the resolver, or nullopt when the URL does not parse (the
// URL checks report that). Percent-encoding is decoded, as libcurl does before it connects:
// "http://%31%32%37.0.0.1/" goes to 127.0.0.1.
std::optional<std::string> HostOf(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return std::nullopt;
  return parsed->host();
}

std::optional<std::string> CheckAddresses(const DestinationPolicy& policy, const std::string& host,
                                          const addrinfo* res) {
  for (const addrinfo* a = res; a; a = a->ai_next) {
    if (auto ip = IpAddress::FromSockaddr(a->ai_addr))
      if (auto why = policy.WhyBlocked(*ip)) return "destination is not allowed: " + host + " resolves to " + *why;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CheckDestinationLiteral(const DestinationPolicy& policy, std::string_view url) {
  auto host = HostOf(url);
  if (!host) return std::nullopt;
  if (auto ip = ParseIpLiteral(*host)) {
    if (auto why = policy.WhyBlocked(*ip)) return "destination is not allowed: " + *why;
  }
  return std::nullopt;
}

std::optional<std::string> CheckDestinationUrl(const DestinationPolicy& policy, std::string_view url) {
  auto host = HostOf(url);
  if (!host) return std::nullopt;
  if (ParseIpLiteral(*host)) return CheckDestinationLiteral(policy, url);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host->c_str(), nullptr, &hints, &res) != 0 || !res) return std::nullopt;
  auto blocked = CheckAddresses(policy, *host, res);
  freeaddrinfo(res);
  return blocked;
}

DestinationChecker::DestinationChecker(const DestinationPolicy& policy, Options options)
    : policy_(policy), options_(options) {
  for (int i = 0; i < std::max(1, options_.threads); ++i)
    threads_.emplace_back([this] {
      NameThisThread("hookd-dnscheck");
      Run();
    });
}

DestinationChecker::~DestinationChecker() { Stop(); }

void DestinationChecker::Stop() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (Job& j : left) j.done(Verdict::kBusy, "hookd is stopping");
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void DestinationChecker::Check(std::string company, std::string url, Done done) {
  auto host = HostOf(url);
  if (!host) {
    done(Verdict::kAllowed, "");
    return;
  }
  if (ParseIpLiteral(*host)) {
    if (auto why = CheckDestinationLiteral(policy_, url)) done(Verdict::kRefused, std::move(*why));
    else done(Verdict::kAllowed, "");
    return;
  }
  {
    std::unique_lock lock(mu_);
    int& mine = per_company_[company];
    if (!stopping_ && queue_.size() < options_.max_queued && mine < options_.max_per_company) {
      ++mine;
      queue_.push_back(Job{std::move(company), std::move(*host), std::move(done)});
      cv_.notify_one();
      return;
    }
    if (mine == 0) per_company_.erase(company);
  }
  done(Verdict::kBusy, "too many endpoint URLs are being checked right now; try again in a moment");
}

void DestinationChecker::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    std::optional<std::string> why = options_.resolve ? options_.resolve(job.host) : Resolve(job.host);
    {
      std::lock_guard lock(mu_);
      if (auto it = per_company_.find(job.company); it != per_company_.end() && --it->second <= 0)
        per_company_.erase(it);
    }
    if (why) job.done(Verdict::kRefused, std::move(*why));
    else job.done(Verdict::kAllowed, "");
  }
}

namespace {

// One asynchronous lookup, shared by the checker thread that waits for it and glibc's
// completion callback: whichever lets go last frees it.
struct Lookup {
  std::string name;
  addrinfo hints{};
  gaicb request{};
  std::atomic<int> refs{2};
};

void Release(Lookup* l) {
  if (l->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (l->request.ar_result) freeaddrinfo(l->request.ar_result);
  delete l;
}

void OnLookupDone(sigval v) { Release(static_cast<Lookup*>(v.sival_ptr)); }

}  // namespace

std::optional<std::string> DestinationChecker::Resolve(const std::string& host) const {
  // getaddrinfo_a with a deadline: this thread is never held longer than timeout_ms, whatever
  // the DNS server does; a lookup given up finishes in glibc's thread and frees itself there.
  auto* l = new Lookup;
  l->name = host;
  l->hints.ai_family = AF_UNSPEC;
  l->hints.ai_socktype = SOCK_STREAM;
  l->request.ar_name = l->name.c_str();
  l->request.ar_request = &l->hints;
  sigevent done{};
  done.sigev_notify = SIGEV_THREAD;
  done.sigev_notify_function = OnLookupDone;
  done.sigev_value.sival_ptr = l;
  gaicb* list[] = {&l->request};
  if (getaddrinfo_a(GAI_NOWAIT, list, 1, &done) != 0) {
    Release(l);  // no callback will come
    Release(l);
    return std::nullopt;
  }
  const int64_t deadline = MonotonicMs() + options_.timeout_ms;
  while (gai_error(&l->request) == EAI_INPROGRESS) {
    const int64_t left = deadline - MonotonicMs();
    if (left <= 0) break;
    timespec ts{static_cast<time_t>(left / 1000), static_cast<long>((left % 1000) * 1000000)};
    const gaicb* wait[] = {&l->request};
    gai_suspend(wait, 1, &ts);
  }
  std::optional<std::string> blocked;
  // Too slow: accepted like a name that does not resolve (checked again at connect time).
  if (gai_error(&l->request) == 0 && l->request.ar_result)
    blocked = CheckAddresses(policy_, host, l->request.ar_result);
  Release(l);
  return blocked;
}

}  // namespace hookd
