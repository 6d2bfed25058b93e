#include "core/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <iterator>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace hookd {
namespace metrics {

namespace {

std::atomic<uint64_t> next_family_id{1};

bool IsNameChar(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(std::string_view s, bool colon_ok) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (!IsNameChar(s[i], i == 0, colon_ok)) return false;
  return true;
}

void AppendEscapedHelp(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void AppendEscapedLabel(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  AppendEscapedLabel(out, v);
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// ------------------------------------------------------------------ Histogram

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds.begin(), bounds.end()) {
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
  }
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  // `le` is inclusive: the first bound >= v.
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(total);
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ------------------------------------------------------------------ families

FamilyBase::FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> labels,
                       FamilyOptions opts)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      opts_(opts),
      id_(next_family_id.fetch_add(1, std::memory_order_relaxed)) {
  for (const auto& l : labels_) {
    if (!ValidName(l, false) || l.starts_with("__") || (type_ == Type::kHistogram && l == "le"))
      throw std::invalid_argument("bad label name '" + l + "' for metric " + name_);
  }
  if (opts_.max_series == 0) throw std::invalid_argument("max_series must be at least 1");
}

void FamilyBase::RenderHeader(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  AppendEscapedHelp(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += type_ == Type::kCounter ? " counter\n" : type_ == Type::kGauge ? " gauge\n" : " histogram\n";
}

void FamilyBase::RenderSeries(std::string& out, std::string_view suffix, const std::vector<std::string>& values,
                              std::string_view extra_label) const {
  out += name_;
  out += suffix;
  if (labels_.empty() && extra_label.empty()) return;
  out += '{';
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out += ',';
    out += labels_[i];
    out += "=\"";
    AppendEscapedLabel(out, values[i]);
    out += '"';
  }
  if (!extra_label.empty()) {
    if (!labels_.empty()) out += ',';
    out += extra_label;  // already escaped (le="…")
  }
  out += '}';
}

template <class T>
Family<T>::Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
                  FamilyOptions opts, std::function<std::unique_ptr<T>()> make)
    : FamilyBase(std::move(name), std::move(help), type, std::move(labels), opts), make_(std::move(make)) {
  if (labels_.empty()) {
    // Rendered (at 0) from the start, like every unlabelled metric should be.
    auto [it, _] = children_.emplace(std::vector<std::string>{}, make_());
    unlabelled_ = it->second.get();
  }
}

template <class T>
T& Family<T>::Create(std::span<const std::string_view> values, bool& cacheable) {
  std::vector<std::string> key(values.begin(), values.end());
  std::lock_guard lock(mu_);
  cacheable = true;
  if (auto it = children_.find(key); it != children_.end()) return *it->second;
  if (children_.size() >= opts_.max_series) {
    // Not cached per thread either, so the caches stay as bounded as the registry.
    cacheable = false;
    key.assign(labels_.size(), "_overflow");
    if (auto it = children_.find(key); it != children_.end()) return *it->second;
  }
  auto [it, _] = children_.emplace(std::move(key), make_());
  return *it->second;
}

template <class T>
T& Family<T>::With(std::span<const std::string_view> values) {
  if (values.size() != labels_.size())
    throw std::invalid_argument(fmt::format("metric {} takes {} label values, got {}", name_,
                                            labels_.size(), values.size()));
  if (labels_.empty()) return *unlabelled_;
  // Per-thread: family id -> (label values joined by 0xFF, never valid UTF-8) -> child.
  // Entries of destroyed registries are never looked up again (ids are not reused).
  struct Cache {
    std::string key;
    std::unordered_map<uint64_t, std::unordered_map<std::string, T*>> by_family;
  };
  thread_local Cache cache;
  cache.key.clear();
  for (std::string_view v : values) {
    cache.key.append(v);
    cache.key.push_back('\xff');
  }
  auto& mine = cache.by_family[id_];
  if (auto it = mine.find(cache.key); it != mine.end()) return *it->second;
  bool cacheable = true;
  T& child = Create(values, cacheable);
  if (cacheable) mine.emplace(cache.key, &child);
  return child;
}

template <>
void Family<Counter>::Render(std::string& out) const {
  RenderHeader(out);
  std::lock_guard lock(mu_);
  for (const auto& [values, c] : children_) {
    RenderSeries(out, "", values);
    fmt::format_to(std::back_inserter(out), " {}\n", c->Value());
  }
}

template <>
void Family<Gauge>::Render(std::string& out) const {
  RenderHeader(out);
  std::lock_guard lock(mu_);
  for (const auto& [values, g] : children_) {
    const int64_t v = g->Value();
    if (v == 0 && opts_.omit_zero) continue;
    RenderSeries(out, "", values);
    fmt::format_to(std::back_inserter(out), " {}\n", v);
  }
}

template <>
void Family<Histogram>::Render(std::string& out) const {
  RenderHeader(out);
  std::lock_guard lock(mu_);
  for (const auto& [values, h] : children_) {
    const auto snap = h->Read();
    const auto& bounds = h->Bounds();
    for (size_t i = 0; i <= bounds.size(); ++i) {
      const std::string le =
          "le=\"" + (i < bounds.size() ? FormatValue(bounds[i]) : std::string("+Inf")) + "\"";
      RenderSeries(out, "_bucket", values, le);
      fmt::format_to(std::back_inserter(out), " {}\n", snap.cumulative[i]);
    }
    RenderSeries(out, "_sum", values);
    out += ' ';
    out += FormatValue(snap.sum);
    out += '\n';
    RenderSeries(out, "_count", values);
    fmt::format_to(std::back_inserter(out), " {}\n", snap.count);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CallbackGauge::CallbackGauge(std::string name, std::string help, std::function<double()> fn)
    : FamilyBase(std::move(name), std::move(help), Type::kGauge, {}, {}), fn_(std::move(fn)) {}

void CallbackGauge::Render(std::string& out) const {
  RenderHeader(out);
  out += name_;
  out += ' ';
  out += FormatValue(fn_());
  out += '\n';
}

// ------------------------------------------------------------------ registry

void Registry::Check(const std::string& name) {
  if (!ValidName(name, true)) throw std::invalid_argument("bad metric name '" + name + "'");
  for (const auto& f : families_)
    if (f->Name() == name) throw std::invalid_argument("metric " + name + " is registered twice");
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help, std::vector<std::string> labels,
                                      FamilyOptions opts) {
  std::lock_guard lock(mu_);
  Check(name);
  std::unique_ptr<Family<Counter>> f(new Family<Counter>(std::move(name), std::move(help), Type::kCounter,
                                                         std::move(labels), opts,
                                                         [] { return std::make_unique<Counter>(); }));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help, std::vector<std::string> labels,
                                  FamilyOptions opts) {
  std::lock_guard lock(mu_);
  Check(name);
  std::unique_ptr<Family<Gauge>> f(new Family<Gauge>(std::move(name), std::move(help), Type::kGauge,
                                                     std::move(labels), opts,
                                                     [] { return std::make_unique<Gauge>(); }));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help, std::vector<std::string> labels,
                                          std::span<const double> bounds, FamilyOptions opts) {
  std::lock_guard lock(mu_);
  Check(name);
  Histogram probe(bounds);  // validates the bounds once, here, rather than at first use
  std::vector<double> b(bounds.begin(), bounds.end());
  std::unique_ptr<Family<Histogram>> f(
      new Family<Histogram>(std::move(name), std::move(help), Type::kHistogram, std::move(labels), opts,
                            [b = std::move(b)] { return std::make_unique<Histogram>(b); }));
  auto& ref = *f;
  families_.push_back(std::move(f));
  return ref;
}

void Registry::AddCallbackGauge(std::string name, std::string help, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  Check(name);
  families_.push_back(
      std::unique_ptr<CallbackGauge>(new CallbackGauge(std::move(name), std::move(help), std::move(fn))));
}

std::string Registry::Render() const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);
  for (const auto& f : families_) f->Render(out);
  return out;
}

}  // namespace metrics

// ------------------------------------------------------------------ hookd's metrics

namespace {
constexpr std::string_view kOutcomeNames[] = {"succeeded", "failed", "retried", "held"};
constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
}  // namespace

static_assert(static_cast<size_t>(AttemptError::kHttp) == 5, "Metrics::kAttemptErrors counts AttemptError");

Metrics::Metrics()
    : build_info_(registry.AddGauge("hookd_build_info", "Always 1; the labels say which hookd this is.",
                                    {"version"})),
      events_accepted_(registry.AddCounter(
          "hookd_events_accepted_total",
          "Events accepted and made durable, by event type (idempotent replays are not counted).", {"type"})),
      deliveries_family_(registry.AddCounter(
          "hookd_deliveries_total",
          "Delivery attempts by what they led to: succeeded and failed are final (failed: out of "
          "attempts, 410 Gone, or endpoint deleted), retried means another attempt is scheduled, held "
          "means the endpoint was disabled meanwhile.",
          {"outcome"})),
      attempt_duration_family_(registry.AddHistogram(
          "hookd_attempt_duration_seconds",
          "Duration of delivery attempts, by outcome: succeeded, or the error class (http, timeout, "
          "connect, dns, tls, blocked).",
          {"outcome"}, metrics::kLatencyBuckets)),
      delivery_lag_family_(registry.AddHistogram(
          "hookd_delivery_lag_seconds",
          "How late delivery attempts were sent: from when each was due (a first attempt: when its "
          "event was accepted) to when it went out, by attempt: first, retry or replay. It grows with "
          "a backlog, a receiver's max_concurrency or rate limit, or a busy node.",
          {"attempt"}, metrics::kLagBuckets)),
      endpoints_failing_(registry.AddGauge(
          "hookd_endpoints_failing",
          "Endpoints whose last attempt failed (one failure or more in a row). Which ones is each "
          "company's own business: GET /v1/companies/{cid}/endpoints/{eid}/stats, not /metrics.")),
      http_requests_(registry.AddCounter("hookd_http_requests_total", "API requests answered, by method and status.",
                                         {"method", "status"}, {.max_series = 1000})),
      http_in_flight_(registry.AddGauge("hookd_http_requests_in_flight", "API requests being handled now.")) {
  for (size_t i = 0; i < std::size(kOutcomeNames); ++i) deliveries_[i] = &deliveries_family_.With({kOutcomeNames[i]});
  for (size_t i = 0; i < kAttemptErrors; ++i)
    attempt_duration_[i] = &attempt_duration_family_.With({AttemptErrorName(static_cast<AttemptError>(i))});
  attempt_duration_[kAttemptErrors] = &attempt_duration_family_.With({"succeeded"});
  delivery_lag_[static_cast<size_t>(Attempt::kFirst)] = &delivery_lag_family_.With({"first"});
  delivery_lag_[static_cast<size_t>(Attempt::kRetry)] = &delivery_lag_family_.With({"retry"});
  delivery_lag_[static_cast<size_t>(Attempt::kReplay)] = &delivery_lag_family_.With({"replay"});
  build_info_.With({HOOKD_VERSION}).Set(1);
  registry.AddGauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
      .Get()
      .Set(static_cast<int64_t>(std::time(nullptr)));
}

metrics::Counter& Metrics::HttpRequests(std::string_view method, int status) {
  std::string_view m = "other";
  for (std::string_view k : kMethods)
    if (k == method) m = k;
  char buf[12];
  auto res = std::to_chars(buf, buf + sizeof buf, status);
  return http_requests_.With({m, std::string_view(buf, static_cast<size_t>(res.ptr - buf))});
}

}  // namespace hookd
