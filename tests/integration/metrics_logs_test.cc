// Observability end to end: GET /metrics counts exactly what happened, and the JSON logs
// (--log-format json, at debug level with the access log) are one valid JSON object per
// line and never contain a token or a signing secret.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

// ---- a strict-enough parser of the Prometheus text format 0.0.4

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct Scrape {
  std::map<std::string, std::string> types;  // family -> counter|gauge|histogram|…
  std::set<std::string> helps;
  std::vector<Sample> samples;

  const Sample* Find(const std::string& name, const Labels& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return &s;
    return nullptr;
  }
  // The sample's value; 0 when absent (a counter not created yet).
  double Get(const std::string& name, const Labels& labels = {}) const {
    const Sample* s = Find(name, labels);
    return s ? s->value : 0;
  }
  size_t Count(const std::string& name) const {
    size_t n = 0;
    for (const auto& s : samples) n += s.name == name;
    return n;
  }
};

double ParseValue(const std::string& v) {
  if (v == "+Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  size_t used = 0;
  double d = std::stod(v, &used);
  EXPECT_EQ(used, v.size()) << "bad sample value " << v;
  return d;
}

// The family a sample belongs to (histogram samples carry a suffix).
std::string FamilyOf(const Scrape& s, const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (!name.ends_with(suffix)) continue;
    std::string base = name.substr(0, name.size() - std::strlen(suffix));
    auto it = s.types.find(base);
    if (it != s.types.end() && it->second == "histogram") return base;
  }
  return name;
}

Scrape ParseExposition(const std::string& text) {
  Scrape s;
  EXPECT_TRUE(text.empty() || text.back() == '\n') << "exposition must end with a newline";
  std::istringstream in(text);
  const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      std::string name = rest.substr(0, sp);
      EXPECT_TRUE(std::regex_match(name, name_re)) << line;
      if (line[2] == 'H') {
        EXPECT_TRUE(s.helps.insert(name).second) << "HELP twice: " << line;
      } else {
        std::string type = sp == std::string::npos ? "" : rest.substr(sp + 1);
        EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram" || type == "summary" ||
                    type == "untyped")
            << line;
        EXPECT_TRUE(s.types.emplace(name, type).second) << "TYPE twice: " << line;
      }
      continue;
    }
    if (line.starts_with("#")) continue;
    Sample sm;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sm.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(sm.name, name_re)) << line;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ADD_FAILURE() << "bad labels: " << line;
          return s;
        }
        std::string key = line.substr(i, eq - i), value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            char e = line[++j];
            value += e == 'n' ? '\n' : e;
            EXPECT_TRUE(e == 'n' || e == '\\' || e == '"') << "bad escape in " << line;
          } else {
            value += line[j];
          }
        }
        EXPECT_TRUE(sm.labels.emplace(key, value).second) << "label twice: " << line;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      ADD_FAILURE() << "no value: " << line;
      continue;
    }
    std::string value = line.substr(i + 1);
    if (size_t sp = value.find(' '); sp != std::string::npos) value.resize(sp);  // timestamp
    sm.value = ParseValue(value);
    const std::string family = FamilyOf(s, sm.name);
    EXPECT_TRUE(s.types.contains(family)) << "sample before its # TYPE: " << line;
    EXPECT_TRUE(s.helps.contains(family)) << "sample without # HELP: " << line;
    s.samples.push_back(std::move(sm));
  }
  // Histograms: buckets cumulative, +Inf == _count.
  for (const auto& [family, type] : s.types) {
    if (type != "histogram") continue;
    std::map<Labels, std::vector<std::pair<double, double>>> series;  // labels w/o le -> (le, n)
    for (const auto& sm : s.samples) {
      if (sm.name != family + "_bucket") continue;
      Labels l = sm.labels;
      EXPECT_TRUE(l.contains("le")) << family;
      double le = ParseValue(l["le"]);
      l.erase("le");
      series[l].emplace_back(le, sm.value);
    }
    for (const auto& [labels, buckets] : series) {
      for (size_t k = 1; k < buckets.size(); ++k) {
        EXPECT_LT(buckets[k - 1].first, buckets[k].first) << family;
        EXPECT_LE(buckets[k - 1].second, buckets[k].second) << family << ": buckets must be cumulative";
      }
      if (buckets.empty()) continue;
      EXPECT_TRUE(std::isinf(buckets.back().first)) << family << " has no +Inf bucket";
      EXPECT_EQ(buckets.back().second, s.Get(family + "_count", labels)) << family;
      EXPECT_NE(s.Find(family + "_sum", labels), nullptr) << family;
    }
  }
  return s;
}

// One raw HTTP/1.1 request (for targets curl would normalise); returns the status code.
int RawRequest(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<size_t>(n));
  close(fd);
  if (!response.starts_with("HTTP/1.1 ") || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

class MetricsLogsTest : public HookdTest {
 protected:
  void SetUp() override {
    // The child inherits it: debug level, so the access log is in the file too.
    setenv("HOOKD_LOG_LEVEL", "debug", 1);
    HookdTest::SetUp();
    unsetenv("HOOKD_LOG_LEVEL");
  }
  std::vector<std::string> ExtraArgs() override {
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "300ms,300ms",
            "--request-timeout", "2s", "--log-format", "json"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  std::pair<std::string, std::string> CreateEndpoint(json::object body) {
    auto r = co_->Post(Base() + "/endpoints", json::value(body));
    EXPECT_EQ(r.status, 201) << r.body;
    auto v = r.Json();
    return {std::string(v.at("id").as_string()), std::string(v.at("secret").as_string())};
  }
  Scrape ScrapeMetrics() {
    HttpClient anonymous(hookd_->BaseUrl());  // no token
    auto r = anonymous.Get("/metrics");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(r.ContentType().starts_with("text/plain; version=0.0.4")) << r.ContentType();
    return ParseExposition(r.body);
  }
  // Scrapes until `done` holds (or 10 s).
  Scrape ScrapeUntil(const std::function<bool(const Scrape&)>& done) {
    auto until = std::chrono::steady_clock::now() + 10s;
    Scrape s = ScrapeMetrics();
    while (!done(s) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
      s = ScrapeMetrics();
    }
    EXPECT_TRUE(done(s)) << "metrics never reached the expected state";
    return s;
  }
  static json::value TimeOff() {
    return json::parse(R"({"type":"time_off.requested","data":{"request":{"id":"tor_1","employee_id":"emp_1",)"
                       R"("type":"vacation","start_date":"2026-12-21","end_date":"2026-12-31","days":8}}})");
  }
};

TEST_F(MetricsLogsTest, MetricsCountExactlyWhatHappened) {
  Receiver rx;
  rx.Set("/fail", {.status = 500, .body = "nope"});
  auto [ok_ep, ok_secret] = CreateEndpoint({{"url", rx.Url("/ok")}, {"event_types", json::array{"employee.hired"}}});
  auto [bad_ep, bad_secret] =
      CreateEndpoint({{"url", rx.Url("/fail")}, {"event_types", json::array{"time_off.requested"}}});

  const Scrape before = ScrapeMetrics();
  for (const char* family : {"hookd_build_info", "hookd_events_accepted_total", "hookd_deliveries_total",
                             "hookd_attempt_duration_seconds", "hookd_delivery_lag_seconds", "hookd_endpoints_failing",
                             "hookd_queue_depth", "hookd_in_flight_requests", "hookd_http_requests_total",
                             "hookd_http_requests_in_flight", "hookd_store_commits_total",
                             "hookd_store_writes_total", "hookd_store_syncs_total", "hookd_store_sync_seconds"})
    EXPECT_TRUE(before.types.contains(family)) << family << " is not exported";
  EXPECT_EQ(before.types.at("hookd_attempt_duration_seconds"), "histogram");
  EXPECT_EQ(before.types.at("hookd_delivery_lag_seconds"), "histogram");
  EXPECT_EQ(before.types.at("hookd_deliveries_total"), "counter");
  EXPECT_EQ(before.Count("hookd_build_info"), 1u);
  EXPECT_EQ(before.samples.front().name, "hookd_build_info");
  EXPECT_EQ(before.samples.front().value, 1);
  EXPECT_TRUE(before.samples.front().labels.contains("version"));

  // 5 employee.hired events: 3 single (one with an Idempotency-Key, then replayed) and a
  // batch of 2. The replay answers 200 and must not count.
  const std::string key = "Idempotency-Key: metrics-test-1";
  EXPECT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_1"), {key}).status, 202);
  EXPECT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_1"), {key}).status, 200);
  EXPECT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_2")).status, 202);
  EXPECT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_3")).status, 202);
  EXPECT_EQ(co_->Post(Base() + "/events/batch", json::array{HiredEvent("emp_4"), HiredEvent("emp_5")}).status, 202);
  ASSERT_TRUE(rx.WaitFor(5, 10s, "/ok"));
  const Labels succeeded{{"outcome", "succeeded"}};
  ScrapeUntil([&](const Scrape& s) {
    return s.Get("hookd_deliveries_total", succeeded) - before.Get("hookd_deliveries_total", succeeded) >= 5;
  });

  // One time_off.requested event to an endpoint answering 500: 1 attempt + 2 retries, failed.
  EXPECT_EQ(co_->Post(Base() + "/events", TimeOff()).status, 202);
  const Labels failed{{"outcome", "failed"}};
  // (The outcome is counted a moment before the delivery leaves the dispatcher's memory.)
  const Scrape after = ScrapeUntil([&](const Scrape& s) {
    return s.Get("hookd_deliveries_total", failed) - before.Get("hookd_deliveries_total", failed) >= 1 &&
           s.Get("hookd_queue_depth") == 0;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(rx.Count("/fail"), 3u);
  EXPECT_EQ(rx.Count("/ok"), 5u);

  auto delta = [&](const std::string& name, const Labels& labels) {
    return after.Get(name, labels) - before.Get(name, labels);
  };
  EXPECT_EQ(delta("hookd_events_accepted_total", {{"type", "employee.hired"}}), 5);
  EXPECT_EQ(delta("hookd_events_accepted_total", {{"type", "time_off.requested"}}), 1);
  EXPECT_EQ(delta("hookd_deliveries_total", succeeded), 5);
  EXPECT_EQ(delta("hookd_deliveries_total", failed), 1);
  EXPECT_EQ(delta("hookd_deliveries_total", {{"outcome", "retried"}}), 2);
  EXPECT_EQ(delta("hookd_deliveries_total", {{"outcome", "held"}}), 0);
  // Every attempt's lag: 6 first attempts, 2 retries, each sent within 10 s of its time.
  EXPECT_EQ(delta("hookd_delivery_lag_seconds_count", {{"attempt", "first"}}), 6);
  EXPECT_EQ(delta("hookd_delivery_lag_seconds_bucket", {{"attempt", "first"}, {"le", "10"}}), 6);
  EXPECT_EQ(delta("hookd_delivery_lag_seconds_count", {{"attempt", "retry"}}), 2);
  EXPECT_EQ(delta("hookd_delivery_lag_seconds_bucket", {{"attempt", "retry"}, {"le", "10"}}), 2);
  EXPECT_EQ(delta("hookd_delivery_lag_seconds_count", {{"attempt", "replay"}}), 0);
  EXPECT_EQ(delta("hookd_attempt_duration_seconds_count", succeeded), 5);
  EXPECT_EQ(delta("hookd_attempt_duration_seconds_bucket", {{"outcome", "succeeded"}, {"le", "+Inf"}}), 5);
  EXPECT_EQ(delta("hookd_attempt_duration_seconds_count", {{"outcome", "http"}}), 3);
  for (const char* other : {"timeout", "connect", "dns", "tls", "blocked"})
    EXPECT_EQ(delta("hookd_attempt_duration_seconds_count", {{"outcome", other}}), 0) << other;
  // Loopback answers in well under 2.5 s, all of them.
  EXPECT_EQ(delta("hookd_attempt_duration_seconds_bucket", {{"outcome", "succeeded"}, {"le", "2.5"}}), 5);
  // (Attempt durations have 1 ms resolution: on loopback the sum may well be 0.)
  EXPECT_GE(delta("hookd_attempt_duration_seconds_sum", succeeded), 0);
  EXPECT_LE(delta("hookd_attempt_duration_seconds_sum", succeeded), 5 * 2.5);

  // One endpoint is failing; which one is not on /metrics (read without a token): no
  // endpoint or company id appears anywhere in it (issue 10).
  EXPECT_EQ(after.Get("hookd_endpoints_failing"), 1);
  HttpClient anyone(hookd_->BaseUrl());
  const std::string text = anyone.Get("/metrics").body;
  for (const std::string& id : {bad_ep, ok_ep, company_})
    EXPECT_EQ(text.find(id), std::string::npos) << id << " is on /metrics";

  // Everything finished: nothing held in memory or in flight; the scrape itself is the one
  // API request in flight.
  EXPECT_EQ(after.Get("hookd_queue_depth"), 0);
  EXPECT_EQ(after.Get("hookd_in_flight_requests"), 0);
  EXPECT_EQ(after.Get("hookd_http_requests_in_flight"), 1);
  EXPECT_EQ(delta("hookd_http_requests_total", {{"method", "POST"}, {"status", "202"}}), 5);
  EXPECT_EQ(delta("hookd_http_requests_total", {{"method", "POST"}, {"status", "200"}}), 1);
  // The store: the 6 ingest writes (the replay too: it is read in the writer) and the outcomes
  // were committed, in at most as many group commits, each 202 after an fsync.
  EXPECT_GE(delta("hookd_store_writes_total", {}), 6);
  EXPECT_GE(delta("hookd_store_commits_total", {}), 1);
  EXPECT_LE(delta("hookd_store_commits_total", {}), delta("hookd_store_writes_total", {}));
  EXPECT_GE(delta("hookd_store_syncs_total", {}), 1);
  EXPECT_EQ(delta("hookd_store_sync_seconds_count", {}), delta("hookd_store_syncs_total", {}));

  // Recovery clears the series: the endpoint answers 200 again.
  rx.Set("/fail", {});
  EXPECT_EQ(co_->Post(Base() + "/events", TimeOff()).status, 202);
  const Scrape healed = ScrapeUntil([&](const Scrape& s) {
    return s.Get("hookd_deliveries_total", succeeded) - before.Get("hookd_deliveries_total", succeeded) >= 6;
  });
  EXPECT_EQ(healed.Get("hookd_endpoints_failing"), 0);

  // HEAD works too, and no token is needed for either.
  HttpClient anonymous(hookd_->BaseUrl());
  EXPECT_EQ(anonymous.Request("HEAD", "/metrics").status, 200);
}

TEST_F(MetricsLogsTest, JsonLogsAreOneObjectPerLineAndNeverContainSecrets) {
  Receiver rx;
  std::vector<std::string> secrets = {hookd_->AdminToken(), company_token_};

  // A second company token (publish only), used, then revoked.
  auto tr = op_->Post(Base() + "/tokens", json::object{{"scopes", json::array{"publish"}}, {"description", "ci"}});
  ASSERT_EQ(tr.status, 201) << tr.body;
  const std::string publish_token(tr.Json().at("token").as_string());
  const std::string publish_token_id(tr.Json().at("id").as_string());
  secrets.push_back(publish_token);

  // An endpoint (its secret shown at creation and on GET …/secret), then rotated.
  auto [ep, secret] = CreateEndpoint({{"url", rx.Url()}, {"event_types", json::array{"*"}}});
  secrets.push_back(secret);
  EXPECT_EQ(co_->Get(Base() + "/endpoints/" + ep + "/secret").Json().at("secret").as_string(), secret);
  auto rot = co_->Post(Base() + "/endpoints/" + ep + "/rotate-secret", json::object{{"grace_seconds", 60}});
  ASSERT_EQ(rot.status, 200) << rot.body;
  const std::string rotated(rot.Json().at("secret").as_string());
  secrets.push_back(rotated);
  // A github-scheme endpoint too (its secret goes into X-Hub-Signature-256).
  auto [gh_ep, gh_secret] =
      CreateEndpoint({{"url", rx.Url("/gh")}, {"event_types", json::array{"employee.*"}}, {"signature_scheme", "github"}});
  secrets.push_back(gh_secret);

  // Publishing with both tokens, a test event, deliveries to the receiver.
  EXPECT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_7")).status, 202);
  auto pub = ClientWith(publish_token);
  EXPECT_EQ(pub->Post(Base() + "/events", HiredEvent("emp_8")).status, 202);
  EXPECT_EQ(co_->Post(Base() + "/endpoints/" + ep + "/test", "").status, 202);
  ASSERT_TRUE(rx.WaitFor(5, 10s));  // 3 to /hook, 2 to /gh

  // Bad tokens: a made-up one, a near miss of the operator token, a wrong scheme.
  auto bogus = ClientWith("hkd_bogus_token_that_does_not_exist_0123456789");
  ExpectProblem(bogus->Get("/v1/companies"), 401);
  auto near_miss = ClientWith(hookd_->AdminToken() + "x");
  ExpectProblem(near_miss->Get("/v1/companies"), 401);
  HttpClient basic(hookd_->BaseUrl());
  ExpectProblem(basic.Request("GET", "/v1/companies", "", {"Authorization: Basic " + hookd_->AdminToken()}), 401);
  secrets.push_back("hkd_bogus_token_that_does_not_exist_0123456789");

  // Revoked: the token answers 401 afterwards.
  EXPECT_EQ(op_->Request("DELETE", Base() + "/tokens/" + publish_token_id).status, 204);
  ExpectProblem(pub->Post(Base() + "/events", HiredEvent("emp_9")), 401);

  // A request target full of characters that need escaping in JSON (logged by the access log).
  EXPECT_EQ(RawRequest(hookd_->Port(), "GET /x\"y\\z/\xc3\xa9/\xff?token=hkd_in_query HTTP/1.1\r\n"
                                        "Host: 127.0.0.1\r\nConnection: close\r\n\r\n"),
            404);
  EXPECT_EQ(ScrapeMetrics().Count("hookd_build_info"), 1u);

  // Stop it so that everything is written, then read the whole log.
  hookd_->Kill(SIGTERM);
  const std::string log = hookd_->Output();
  ASSERT_FALSE(log.empty());
  ASSERT_EQ(log.back(), '\n');
  std::istringstream in(log);
  int lines = 0, debug_lines = 0;
  bool access_create = false, access_weird = false, access_401 = false;
  const std::regex time_re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  for (std::string line; std::getline(in, line);) {
    ++lines;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << "log line " << lines << " is not JSON (" << ec.message() << "): " << line;
    ASSERT_TRUE(v.is_object()) << line;
    const auto& o = v.as_object();
    for (const char* field : {"time", "level", "msg"})
      ASSERT_TRUE(o.contains(field) && o.at(field).is_string()) << "no string \"" << field << "\": " << line;
    EXPECT_TRUE(std::regex_match(std::string(o.at("time").as_string()), time_re)) << line;
    const std::string level(o.at("level").as_string());
    EXPECT_TRUE(level == "trace" || level == "debug" || level == "info" || level == "warning" ||
                level == "error" || level == "critical")
        << line;
    debug_lines += level == "debug";
    const std::string msg(o.at("msg").as_string());
    access_create |= msg.starts_with("POST " + Base() + "/endpoints 201 ");
    access_401 |= msg.starts_with("GET /v1/companies 401 ");
    access_weird |= msg.starts_with("GET /x\"y\\z/\xc3\xa9/\xEF\xBF\xBD 404 ");
  }
  EXPECT_GT(lines, 0);
  EXPECT_GT(debug_lines, 0) << "HOOKD_LOG_LEVEL=debug did not take";
  EXPECT_TRUE(access_create) << "no access-log line for the endpoint creation:\n" << log;
  EXPECT_TRUE(access_401) << "no access-log line for the 401s:\n" << log;
  EXPECT_TRUE(access_weird) << "no (correctly escaped) access-log line for the odd target:\n" << log;

  // No token, no secret, not even their prefixes or their random parts.
  for (const auto& s : secrets) {
    EXPECT_EQ(log.find(s), std::string::npos) << "a secret is in the log: " << s;
    const std::string random_part = s.substr(s.find('_') + 1);
    EXPECT_EQ(log.find(random_part), std::string::npos) << "a secret's random part is in the log: " << s;
  }
  EXPECT_EQ(log.find("hkd_"), std::string::npos) << log;
  EXPECT_EQ(log.find("whsec_"), std::string::npos) << log;
  EXPECT_EQ(log.find("Bearer"), std::string::npos) << log;
  EXPECT_EQ(log.find("Basic"), std::string::npos) << log;
}

}  // namespace
}  // namespace hookd::testing
