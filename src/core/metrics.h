#pragma once
// Prometheus metrics: a small registry of counters, gauges and histograms, rendered as the
// text exposition format 0.0.4 for GET /metrics; and `Metrics`, the set hookd exports.
//
// Why hand-written: Debian 12 does package a client (prometheus-cpp 1.0.1), but its
// Family::Add builds a std::map of labels and takes the family's mutex on every lookup, it
// has no callback gauges, and its -dev package pulls in civetweb and the push/pull
// libraries. What hookd needs is ~300 lines: atomics for values, a mutex only when a new
// label set is first created, and a per-thread cache so that a labelled lookup on the hot
// paths (ingest, dispatch) takes no lock and allocates nothing.
//
// Thread-safety: everything here may be used from any thread. Values are relaxed atomics
// (a scrape may see one counter a little ahead of another; each value is exact). A child
// (one label set of a family) lives as long as its Registry: references returned by
// Family::With() stay valid until then and may be cached.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/retry_policy.h"

namespace hookd {
namespace metrics {

// What GET /metrics answers with.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Request/attempt latency buckets in seconds (the +Inf bucket is implicit).
inline constexpr double kLatencyBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

// Buckets of a durable commit's wait for the disk (an fdatasync, a WAL flush), in seconds.
inline constexpr double kSyncBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

// Delivery lag buckets in seconds: from a millisecond on loopback to minutes behind a backlog.
inline constexpr double kLagBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,      2.5,   5,    10,   30,    60,  300};

// Monotonic count.
class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A value that goes up and down (integral: depths, counts of things).
class Gauge {
 public:
  void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void Add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  int64_t Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Counts observations into buckets `le` (inclusive upper bounds), plus their sum.
class Histogram {
 public:
  // `bounds`: strictly increasing and finite (std::invalid_argument otherwise).
  explicit Histogram(std::span<const double> bounds);

  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Cumulative counts; `count` always equals the +Inf bucket, even while others observe.
  Snapshot Read() const;
  const std::vector<double>& Bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

struct FamilyOptions {
  // Label sets beyond this many share one child whose every label is "_overflow", so that
  // a bug or an attack cannot grow the registry without bound.
  size_t max_series = 10000;
  // Gauges only: children whose value is 0 are not rendered (e.g. "only endpoints that are
  // failing right now").
  bool omit_zero = false;
};

enum class Type { kCounter, kGauge, kHistogram };

// Name, help and label names of one metric family, and its rendering.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& Name() const { return name_; }
  // Appends # HELP, # TYPE and every sample.
  virtual void Render(std::string& out) const = 0;

 protected:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels,
             FamilyOptions opts);
  void RenderHeader(std::string& out) const;
  // `name{l1="v1",…,extra}` (no braces when there is nothing to put in them).
  void RenderSeries(std::string& out, std::string_view suffix, const std::vector<std::string>& values,
                    std::string_view extra_label = {}) const;

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> labels_;
  const FamilyOptions opts_;
  const uint64_t id_;  // unique per process: the key of the per-thread lookup caches
};

// One metric with labels: a child T per distinct tuple of label values.
template <class T>
class Family final : public FamilyBase {
 public:
  // The child for these label values (as many as there are label names, in that order),
  // created on first use. Lock-free and allocation-free once this thread has seen the
  // tuple; the first time, a mutex guards the creation.
  T& With(std::span<const std::string_view> values);
  T& With(std::initializer_list<std::string_view> values) {
    return With(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // The only child of a family without labels.
  T& Get() { return *unlabelled_; }

  void Render(std::string& out) const override;

 private:
  friend class Registry;
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         FamilyOptions opts, std::function<std::unique_ptr<T>()> make);
  // Finds or makes the child under mu_; `cacheable` is false for the overflow child.
  T& Create(std::span<const std::string_view> values, bool& cacheable);

  const std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;  // GUARDED_BY(mu_)
  T* unlabelled_ = nullptr;
};

// Defined and instantiated in metrics.cc for these three kinds only.
template <>
void Family<Counter>::Render(std::string& out) const;
template <>
void Family<Gauge>::Render(std::string& out) const;
template <>
void Family<Histogram>::Render(std::string& out) const;
extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// A gauge computed when scraped (e.g. read from another component's atomics).
class CallbackGauge final : public FamilyBase {
 public:
  void Render(std::string& out) const override;

 private:
  friend class Registry;
  CallbackGauge(std::string name, std::string help, std::function<double()> fn);
  std::function<double()> fn_;
};

// Owns families; renders them in registration order. Registering is meant for start-up
// (it takes a mutex, as does Render); a bad or duplicate name throws std::invalid_argument.
class Registry {
 public:
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels = {},
                              FamilyOptions opts = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels = {},
                          FamilyOptions opts = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                  std::span<const double> bounds, FamilyOptions opts = {});
  // `fn` is called from the scraping thread, so it must be thread-safe and must outlive
  // the last Render().
  void AddCallbackGauge(std::string name, std::string help, std::function<double()> fn);

  // The text exposition format 0.0.4.
  std::string Render() const;

 private:
  void Check(const std::string& name);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;  // GUARDED_BY(mu_)
};

// Formatting used by Render, exposed for tests.
std::string EscapeLabelValue(std::string_view v);  // \\, \" and \n
std::string FormatValue(double v);                 // shortest round-trip; NaN, +Inf, -Inf

}  // namespace metrics

// Everything hookd exports on GET /metrics. Built once in `hookd serve` and shared by
// pointer (ApiContext, DispatcherOptions); each user may hold a null pointer (tests).
class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // What happened to a delivery after one attempt.
  enum class Outcome { kSucceeded, kFailed, kRetried, kHeld };

  // hookd_events_accepted_total{type}: events made durable (idempotent replays not counted).
  metrics::Counter& EventsAccepted(std::string_view type) { return events_accepted_.With({type}); }
  // hookd_deliveries_total{outcome}.
  metrics::Counter& Deliveries(Outcome o) { return *deliveries_[static_cast<size_t>(o)]; }
  // hookd_attempt_duration_seconds{outcome}: "succeeded" or the attempt's error class.
  metrics::Histogram& AttemptDuration(std::optional<AttemptError> error) {
    return *attempt_duration_[error ? static_cast<size_t>(*error) : kAttemptErrors];
  }
  // What kind of attempt a delivery lag is about.
  enum class Attempt { kFirst, kRetry, kReplay };
  // hookd_delivery_lag_seconds{attempt}: from when an attempt was due (a first attempt: when
  // its event was accepted) to when it was sent.
  metrics::Histogram& DeliveryLag(Attempt a) { return *delivery_lag_[static_cast<size_t>(a)]; }
  // hookd_endpoints_failing: endpoints whose last attempt failed. No per-endpoint (or
  // per-company) series: /metrics may be read without a token, and which endpoint of which
  // company fails is that company's business.
  metrics::Gauge& EndpointsFailing() { return endpoints_failing_.Get(); }
  // hookd_http_requests_total{method,status} of the API; `method` is folded to the known
  // verbs (else "other").
  metrics::Counter& HttpRequests(std::string_view method, int status);
  // hookd_http_requests_in_flight.
  metrics::Gauge& HttpInFlight() { return http_in_flight_.Get(); }

  metrics::Registry registry;

 private:
  static constexpr size_t kAttemptErrors = 6;  // AttemptError values; "succeeded" comes after

  metrics::Family<metrics::Gauge>& build_info_;  // first, so that it renders first
  metrics::Family<metrics::Counter>& events_accepted_;
  metrics::Family<metrics::Counter>& deliveries_family_;
  metrics::Family<metrics::Histogram>& attempt_duration_family_;
  metrics::Family<metrics::Histogram>& delivery_lag_family_;
  metrics::Family<metrics::Gauge>& endpoints_failing_;
  metrics::Family<metrics::Counter>& http_requests_;
  metrics::Family<metrics::Gauge>& http_in_flight_;
  metrics::Counter* deliveries_[4];
  metrics::Histogram* attempt_duration_[kAttemptErrors + 1];
  metrics::Histogram* delivery_lag_[3];
};

}  // namespace hookd
