// The metrics registry's text rendering (Prometheus exposition 0.0.4), hookd's own metric
// set, and the JSON log format (one valid JSON object per line, whatever the message).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "app/config.h"
#include "core/metrics.h"

namespace hookd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The lines of `text` that start with `prefix`.
std::vector<std::string> Lines(const std::string& text, const std::string& prefix = "") {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) out.push_back(line);
  return out;
}

TEST(MetricsRegistry, CounterWithHelpTypeAndEscapedLabels) {
  metrics::Registry reg;
  auto& f = reg.AddCounter("hookd_things_total", "Things.\nSecond line with a \\ backslash.", {"kind", "where"});
  f.With({"plain", "here"}).Inc(3);
  f.With({R"(quo"te)", "back\\slash\nnewline"}).Inc();
  f.With({"plain", "here"}).Inc();  // the same child again
  EXPECT_EQ(reg.Render(),
            "# HELP hookd_things_total Things.\\nSecond line with a \\\\ backslash.\n"
            "# TYPE hookd_things_total counter\n"
            "hookd_things_total{kind=\"plain\",where=\"here\"} 4\n"
            "hookd_things_total{kind=\"quo\\\"te\",where=\"back\\\\slash\\nnewline\"} 1\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndFormatsNumbers) {
  EXPECT_EQ(metrics::EscapeLabelValue(R"(a"b\c)" "\n" "é"), R"(a\"b\\c\né)");
  EXPECT_EQ(metrics::EscapeLabelValue(""), "");
  EXPECT_EQ(metrics::FormatValue(0), "0");
  EXPECT_EQ(metrics::FormatValue(2.5), "2.5");
  EXPECT_EQ(metrics::FormatValue(0.005), "0.005");
  EXPECT_EQ(metrics::FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(metrics::FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(metrics::FormatValue(std::nan("")), "NaN");
}

TEST(MetricsRegistry, UnlabelledMetricsRenderFromTheStart) {
  metrics::Registry reg;
  reg.AddCounter("a_total", "A.");
  auto& g = reg.AddGauge("b", "B.");
  reg.AddCallbackGauge("c", "C.", [] { return 1.5; });
  g.Get().Set(-7);
  EXPECT_EQ(reg.Render(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
            "# HELP b B.\n# TYPE b gauge\nb -7\n"
            "# HELP c C.\n# TYPE c gauge\nc 1.5\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  metrics::Registry reg;
  const double bounds[] = {0.1, 0.5, 1};
  auto& f = reg.AddHistogram("lat_seconds", "Latency.", {"outcome"}, bounds);
  auto& h = f.With({"ok"});
  for (double v : {0.05, 0.1 /* le is inclusive */, 0.3, 0.7, 0.7, 3.0}) h.Observe(v);
  EXPECT_EQ(reg.Render(),
            "# HELP lat_seconds Latency.\n# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{outcome=\"ok\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{outcome=\"ok\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{outcome=\"ok\",le=\"1\"} 5\n"
            "lat_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 6\n"
            "lat_seconds_sum{outcome=\"ok\"} 4.85\n"
            "lat_seconds_count{outcome=\"ok\"} 6\n");
  auto snap = h.Read();
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{2, 3, 5, 6}));
  EXPECT_EQ(snap.count, 6u);
}

TEST(MetricsRegistry, HistogramWithoutLabelsAndTheDefaultBuckets) {
  metrics::Registry reg;
  auto& h = reg.AddHistogram("d_seconds", "D.", {}, metrics::kLatencyBuckets).Get();
  h.Observe(0.002);
  h.Observe(42);
  const std::string text = reg.Render();
  auto buckets = Lines(text, "d_seconds_bucket");
  ASSERT_EQ(buckets.size(), std::size(metrics::kLatencyBuckets) + 1);
  EXPECT_EQ(buckets.front(), "d_seconds_bucket{le=\"0.005\"} 1");
  EXPECT_EQ(buckets[buckets.size() - 2], "d_seconds_bucket{le=\"10\"} 1");
  EXPECT_EQ(buckets.back(), "d_seconds_bucket{le=\"+Inf\"} 2");
  EXPECT_THAT(text, HasSubstr("\nd_seconds_sum 42.002\nd_seconds_count 2\n"));
}

TEST(MetricsRegistry, OmitZeroGaugesHideIdleSeries) {
  metrics::Registry reg;
  auto& f = reg.AddGauge("fails", "F.", {"endpoint_id"}, {.omit_zero = true});
  f.With({"ep_a"}).Set(3);
  f.With({"ep_b"}).Set(1);
  f.With({"ep_b"}).Set(0);
  EXPECT_EQ(reg.Render(), "# HELP fails F.\n# TYPE fails gauge\nfails{endpoint_id=\"ep_a\"} 3\n");
}

TEST(MetricsRegistry, SeriesBeyondTheLimitShareAnOverflowChild) {
  metrics::Registry reg;
  auto& f = reg.AddCounter("x_total", "X.", {"k"}, {.max_series = 2});
  f.With({"a"}).Inc();
  f.With({"b"}).Inc();
  f.With({"c"}).Inc();
  f.With({"d"}).Inc(2);
  f.With({"a"}).Inc();
  EXPECT_EQ(reg.Render(),
            "# HELP x_total X.\n# TYPE x_total counter\n"
            "x_total{k=\"_overflow\"} 3\nx_total{k=\"a\"} 2\nx_total{k=\"b\"} 1\n");
}

TEST(MetricsRegistry, RefusesBadNamesDuplicatesAndWrongLabelCounts) {
  metrics::Registry reg;
  EXPECT_THROW(reg.AddCounter("1abc", "x"), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("a-b", "x"), std::invalid_argument);
  EXPECT_THROW(reg.AddCounter("ok_total", "x", {"bad-label"}), std::invalid_argument);
  const double b[] = {1, 2};
  EXPECT_THROW(reg.AddHistogram("h", "x", {"le"}, b), std::invalid_argument);
  const double unsorted[] = {2, 1};
  EXPECT_THROW(reg.AddHistogram("h2", "x", {}, unsorted), std::invalid_argument);
  auto& f = reg.AddCounter("ok_total", "x", {"a"});
  EXPECT_THROW(reg.AddGauge("ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(f.With({"a", "b"}), std::invalid_argument);
}

TEST(MetricsRegistry, ConcurrentIncrementsFromManyThreadsAreExact) {
  metrics::Registry reg;
  auto& f = reg.AddCounter("c_total", "C.", {"type"});
  const double b[] = {1};
  auto& h = reg.AddHistogram("h_seconds", "H.", {}, b).Get();
  constexpr int kThreads = 4, kPer = 20000;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        f.With({i % 2 ? "employee.hired" : "employee.updated"}).Inc();
        if (i % 100 == t) f.With({"t" + std::to_string(t)}).Inc();  // creation races too
        h.Observe(0.5);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(f.With({"employee.hired"}).Value(), uint64_t{kThreads * kPer / 2});
  EXPECT_EQ(f.With({"employee.updated"}).Value(), uint64_t{kThreads * kPer / 2});
  EXPECT_EQ(f.With({"t0"}).Value(), uint64_t{kPer / 100});
  EXPECT_EQ(h.Read().count, uint64_t{kThreads * kPer});
  EXPECT_DOUBLE_EQ(h.Read().sum, 0.5 * kThreads * kPer);
}

TEST(MetricsHookd, ExportsItsFamiliesWithHelpAndType) {
  Metrics m;
  m.EventsAccepted("employee.hired").Inc(2);
  m.Deliveries(Metrics::Outcome::kRetried).Inc();
  m.AttemptDuration(std::nullopt).Observe(0.02);
  m.AttemptDuration(AttemptError::kTimeout).Observe(15);
  m.EndpointsFailing().Add(2);
  m.HttpRequests("POST", 202).Inc();
  m.HttpRequests("BREW", 405).Inc();
  const std::string text = m.registry.Render();
  EXPECT_TRUE(text.starts_with("# HELP hookd_build_info ")) << text;
  for (const char* family : {"hookd_build_info", "hookd_events_accepted_total", "hookd_deliveries_total",
                             "hookd_attempt_duration_seconds", "hookd_endpoints_failing",
                             "hookd_http_requests_total", "hookd_http_requests_in_flight"}) {
    EXPECT_THAT("\n" + text, HasSubstr(std::string("\n# HELP ") + family + " ")) << family;
    EXPECT_THAT(text, HasSubstr(std::string("\n# TYPE ") + family + " ")) << family;
  }
  EXPECT_THAT(text, HasSubstr("hookd_build_info{version=\"" HOOKD_VERSION "\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hookd_events_accepted_total{type=\"employee.hired\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("hookd_deliveries_total{outcome=\"retried\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hookd_deliveries_total{outcome=\"succeeded\"} 0\n"));  // pre-created
  EXPECT_THAT(text, HasSubstr("hookd_attempt_duration_seconds_bucket{outcome=\"succeeded\",le=\"0.025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hookd_attempt_duration_seconds_bucket{outcome=\"timeout\",le=\"10\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("hookd_attempt_duration_seconds_count{outcome=\"timeout\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hookd_attempt_duration_seconds_count{outcome=\"dns\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("hookd_endpoints_failing 2\n"));
  EXPECT_THAT(text, HasSubstr("hookd_http_requests_total{method=\"POST\",status=\"202\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hookd_http_requests_total{method=\"other\",status=\"405\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("BREW")));
  // Every line is a comment or `name{labels} value`.
  for (const auto& line : Lines(text)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(line.starts_with("hookd_") || line.starts_with("process_")) << line;
    EXPECT_NE(line.rfind(' '), std::string::npos) << line;
  }
}

// ---- logs: SetupLogging("json") writes one JSON object per line, whatever the message.

class MetricsJsonLogs : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    path_ = std::filesystem::temp_directory_path() / ("hookd-log-" + std::to_string(getpid()) + ".txt");
    std::fflush(stderr);
    saved_fd_ = dup(2);
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    dup2(fd, 2);
    close(fd);
  }
  void TearDown() override {
    RestoreStderr();
    spdlog::drop("hookd");
    spdlog::set_default_logger(previous_);
    std::filesystem::remove(path_);
  }
  void RestoreStderr() {
    if (saved_fd_ < 0) return;
    spdlog::default_logger()->flush();
    std::fflush(stderr);
    dup2(saved_fd_, 2);
    close(saved_fd_);
    saved_fd_ = -1;
  }
  std::string Captured() {
    RestoreStderr();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::shared_ptr<spdlog::logger> previous_;
  std::filesystem::path path_;
  int saved_fd_ = -1;
};

TEST_F(MetricsJsonLogs, EveryLineIsAJsonObjectWithTheMessageIntact) {
  SetupLogging("json");
  const std::vector<std::pair<std::string, std::string>> cases = {
      // {what is logged, what "msg" must read back as}
      {"plain message", "plain message"},
      {R"(quotes " and \ backslash and {"json":"inside"})", R"(quotes " and \ backslash and {"json":"inside"})"},
      {"new\nline, tab\t, cr\r, bell\a, del\x7f", "new\nline, tab\t, cr\r, bell\a, del\x7f"},
      {"utf-8: Lucía García ✓ 😀", "utf-8: Lucía García ✓ 😀"},
      {"bad utf-8: \xff \xc3( \xed\xa0\x80 \xf0\x9f end\xe2\x82", "bad utf-8: \xEF\xBF\xBD \xEF\xBF\xBD( "
                                                                "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
                                                                "\xEF\xBF\xBD\xEF\xBF\xBD end\xEF\xBF\xBD\xEF\xBF\xBD"},
      {std::string("nul \0 inside", 12), std::string("nul \0 inside", 12)},
  };
  for (const auto& [logged, _] : cases) spdlog::warn("{}", logged);
  const auto lines = Lines(Captured());
  ASSERT_EQ(lines.size(), cases.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    boost::system::error_code ec;
    auto v = boost::json::parse(lines[i], ec);
    ASSERT_FALSE(ec) << "line " << i << " is not JSON (" << ec.message() << "): " << lines[i];
    ASSERT_TRUE(v.is_object()) << lines[i];
    const auto& o = v.as_object();
    ASSERT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg")) << lines[i];
    EXPECT_EQ(o.at("level"), "warning");
    EXPECT_EQ(std::string_view(o.at("msg").as_string()), cases[i].second) << lines[i];
    std::string time(o.at("time").as_string());
    EXPECT_EQ(time.size(), 24u) << time;  // 2026-11-26T10:00:00.000Z
    EXPECT_TRUE(time.ends_with("Z")) << time;
  }
}

TEST_F(MetricsJsonLogs, TextFormatKeepsOneLinePerMessage) {
  SetupLogging("text");
  spdlog::info("two\nlines");
  const auto lines = Lines(Captured());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].ends_with(" info two\\nlines")) << lines[0];
}

}  // namespace
}  // namespace hookd
