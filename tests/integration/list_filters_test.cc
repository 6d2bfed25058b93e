// The listing filters of issues 14 and 15 through the real binary: events by subject, type,
// time and delivery outcome for one endpoint (reconciliation); deliveries by endpoint and
// status together with event type, subject and time; pagination under filters; every bad
// value a 422 problem naming its parameter; another company's endpoint matches nothing.
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

class ListFiltersTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    // One retry, soon: the failing endpoint's deliveries end `failed` within a second.
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "200ms"};
  }
  std::string Base() { return "/v1/companies/" + company_; }

  std::string CreateEndpoint(const std::string& url, json::array types) {
    json::object body{{"url", url}, {"event_types", std::move(types)}};
    auto r = co_->Post(Base() + "/endpoints", json::value(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.Json().at("id").as_string()) : "";
  }
  json::value Publish(const std::string& type, json::object data) {
    auto r = co_->Post(Base() + "/events", json::value{{"type", type}, {"data", std::move(data)}});
    EXPECT_EQ(r.status, 202) << r.body;
    return r.Json();
  }
  // The ids of one page of `path`, which must answer 200.
  std::vector<std::string> Ids(const std::string& path, std::string* next = nullptr) {
    auto r = co_->Get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::vector<std::string> out;
    if (r.status != 200) return out;
    json::value v = r.Json();
    for (const auto& item : v.at("data").as_array()) out.emplace_back(item.at("id").as_string());
    if (next) *next = v.at("next_cursor").is_string() ? std::string(v.at("next_cursor").as_string()) : "";
    return out;
  }
  // Every id of `path`, following next_cursor with pages of `limit`.
  std::vector<std::string> AllIds(const std::string& path, int limit) {
    std::vector<std::string> out;
    std::string cursor;
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    for (int pages = 0; pages < 50; ++pages) {
      std::string next;
      auto page = Ids(path + sep + "limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor), &next);
      EXPECT_LE(page.size(), static_cast<size_t>(limit));
      out.insert(out.end(), page.begin(), page.end());
      if (next.empty()) return out;
      cursor = next;
    }
    ADD_FAILURE() << "too many pages";
    return out;
  }
  // A 422 problem whose errors name `pointer`.
  void Expect422(const std::string& path, const std::string& pointer, const std::string& detail_has = "") {
    auto r = co_->Get(path);
    ASSERT_EQ(r.status, 422) << path << ": " << r.body;
    json::object p = ExpectProblem(r, 422);
    bool found = false;
    if (auto* errs = p.if_contains("errors"))
      for (const auto& e : errs->as_array())
        found = found || e.at("pointer").as_string() == pointer;
    EXPECT_TRUE(found) << path << ": no error at " << pointer << ": " << r.body;
    if (!detail_has.empty()) {
      EXPECT_NE(std::string(p.at("detail").as_string()).find(detail_has), std::string::npos) << r.body;
    }
  }
  static json::object Hired(const std::string& emp) {
    json::value v = HiredEvent(emp);
    return v.at("data").as_object();
  }
  static json::object ClockIn(const std::string& emp) {
    return {{"entry", {{"id", "te_" + emp}, {"employee_id", emp}, {"at", "2026-11-26T08:00:00Z"}}}};
  }
};

TEST_F(ListFiltersTest, ReceiversFindWhatTheyMissedAndAdminsNarrowDeliveries) {
  Receiver rx;
  rx.Set("/down", Behaviour{.status = 500, .body = "down"});
  const std::string ok = CreateEndpoint(rx.Url("/ok"), {"employee.*", "time_entry.*"});
  const std::string down = CreateEndpoint(rx.Url("/down"), {"employee.*"});
  // Another company's endpoint: its id filters nothing in, here.
  const std::string other_co = CreateCompany("Globex");
  auto other = ClientWith(CreateToken(other_co, {"manage", "publish"}));
  auto oep = other->Post("/v1/companies/" + other_co + "/endpoints",
                         R"({"url":"http://127.0.0.1:9/x","event_types":["*"]})");
  ASSERT_EQ(oep.status, 201) << oep.body;
  const std::string other_ep(oep.Json().at("id").as_string());
  ASSERT_EQ(other->Post("/v1/companies/" + other_co + "/events", HiredEvent("emp_1001")).status, 202);

  const json::value h1 = Publish("employee.hired", Hired("emp_1001"));
  std::this_thread::sleep_for(20ms);  // distinct created_at for the time range below
  const json::value h2 = Publish("employee.hired", Hired("emp_1002"));
  std::this_thread::sleep_for(20ms);
  const json::value c1 = Publish("time_entry.clocked_in", ClockIn("emp_1001"));
  const std::string e_h1(h1.at("id").as_string()), e_h2(h2.at("id").as_string()), e_c1(c1.at("id").as_string());

  // Wait until the down endpoint's two deliveries failed for good and the rest succeeded.
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until &&
         (Ids(Base() + "/deliveries?endpoint_id=" + down + "&status=failed").size() < 2 ||
          Ids(Base() + "/deliveries?endpoint_id=" + ok + "&status=succeeded").size() < 3))
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(Ids(Base() + "/deliveries?endpoint_id=" + down + "&status=failed").size(), 2u);

  using V = std::vector<std::string>;
  // Events: by employee, type, delivery outcome for one endpoint, and together.
  EXPECT_EQ(Ids(Base() + "/events?subject=emp_1001"), (V{e_c1, e_h1}));
  EXPECT_EQ(Ids(Base() + "/events?type=employee.hired"), (V{e_h2, e_h1}));
  EXPECT_EQ(Ids(Base() + "/events?endpoint_id=" + down + "&delivery_status=failed"), (V{e_h2, e_h1}));
  EXPECT_EQ(Ids(Base() + "/events?endpoint_id=" + down + "&delivery_status=failed&subject=emp_1002"), (V{e_h2}));
  EXPECT_TRUE(Ids(Base() + "/events?endpoint_id=" + down + "&delivery_status=succeeded").empty());
  EXPECT_EQ(Ids(Base() + "/events?endpoint_id=" + ok + "&delivery_status=succeeded&type=time_entry.clocked_in"),
            (V{e_c1}));
  EXPECT_EQ(Ids(Base() + "/events?endpoint_id=" + ok), (V{e_c1, e_h2, e_h1}));
  EXPECT_EQ(Ids(Base() + "/events?delivery_status=failed"), (V{e_h2, e_h1}));
  // Time: exclusive bounds, RFC 3339 with an offset, its "+" escaped or not.
  const std::string t_h1(h1.at("created_at").as_string()), t_c1(c1.at("created_at").as_string());
  EXPECT_EQ(Ids(Base() + "/events?after=" + t_h1 + "&before=" + t_c1), (V{e_h2}));
  EXPECT_EQ(Ids(Base() + "/events?after=2000-01-01T01:00:00+01:00&subject=emp_1002"), (V{e_h2}));
  EXPECT_EQ(Ids(Base() + "/events?after=2000-01-01T01:00:00%2B01:00&subject=emp_1002"), (V{e_h2}));
  EXPECT_TRUE(Ids(Base() + "/events?before=2000-01-01T00:00:00.000Z").empty());
  // Another company's endpoint matches nothing (as deliveries?endpoint_id= always did).
  EXPECT_TRUE(Ids(Base() + "/events?endpoint_id=" + other_ep).empty());
  EXPECT_TRUE(Ids(Base() + "/deliveries?endpoint_id=" + other_ep).empty());
  EXPECT_EQ(Ids(Base() + "/events?subject=emp_1001").size(), 2u);  // not Globex's emp_1001

  // Pagination under filters: every match once, in order, whatever the page size.
  EXPECT_EQ(AllIds(Base() + "/events?endpoint_id=" + down + "&delivery_status=failed", 1), (V{e_h2, e_h1}));
  EXPECT_EQ(AllIds(Base() + "/events?subject=emp_1001", 1), (V{e_c1, e_h1}));
  const V emp1001_deliveries = Ids(Base() + "/deliveries?subject=emp_1001");
  EXPECT_EQ(emp1001_deliveries.size(), 3u);  // hired → ok, down; clocked in → ok
  EXPECT_EQ(AllIds(Base() + "/deliveries?subject=emp_1001", 2), emp1001_deliveries);
  EXPECT_EQ(AllIds(Base() + "/deliveries?subject=emp_1001", 1), emp1001_deliveries);

  // Deliveries: endpoint and status together, with event type, subject and time.
  EXPECT_EQ(Ids(Base() + "/deliveries?endpoint_id=" + down + "&status=failed&event_type=employee.hired").size(), 2u);
  EXPECT_EQ(Ids(Base() + "/deliveries?endpoint_id=" + down + "&status=failed&subject=emp_1002").size(), 1u);
  EXPECT_EQ(Ids(Base() + "/deliveries?endpoint_id=" + ok + "&event_type=time_entry.clocked_in").size(), 1u);
  EXPECT_TRUE(Ids(Base() + "/deliveries?endpoint_id=" + down + "&event_type=time_entry.clocked_in").empty());
  EXPECT_EQ(Ids(Base() + "/deliveries?after=" + t_h1 + "&before=" + t_c1).size(), 2u);  // h2 → ok, down
  EXPECT_EQ(Ids(Base() + "/deliveries?after=" + t_h1 + "&status=failed").size(), 1u);
  {
    auto r = co_->Get(Base() + "/deliveries?endpoint_id=" + down + "&status=failed&subject=emp_1002");
    json::value d = r.Json().at("data").as_array().at(0);
    EXPECT_EQ(d.at("event_id").as_string(), e_h2);
    EXPECT_EQ(d.at("endpoint_id").as_string(), down);
    EXPECT_EQ(d.at("status").as_string(), "failed");
  }
}

TEST_F(ListFiltersTest, EveryBadFilterIsA422NamingItsParameter) {
  const std::string ev = Base() + "/events?";
  Expect422(ev + "type=employee.hird", "/query/type");
  Expect422(ev + "subject=", "/query/subject");
  Expect422(ev + "subject=" + std::string(256, 'x'), "/query/subject");
  Expect422(ev + "after=yesterday", "/query/after");
  Expect422(ev + "after=1764151200", "/query/after");
  Expect422(ev + "before=2026-13-01T00:00:00Z", "/query/before");
  Expect422(ev + "before=2026-11-26T10:00:00", "/query/before");  // no offset: which zone?
  Expect422(ev + "after=2026-11-26T10:00:00Z&before=2026-11-26T10:00:00Z", "/query/before");
  Expect422(ev + "endpoint_id=evt_01JD8Z6Q4W9X2B7C5N3M1K0PRS", "/query/endpoint_id");
  Expect422(ev + "endpoint_id=ep_nope", "/query/endpoint_id");
  Expect422(ev + "delivery_status=lost", "/query/delivery_status");
  Expect422(ev + "delivery_status=FAILED", "/query/delivery_status");
  Expect422(ev + "delivery_stauts=failed", "/query/delivery_stauts");  // a typo lists nothing
  Expect422(ev + "event_type=employee.hired", "/query/event_type");    // that is deliveries' name
  Expect422(ev + "limit=0", "/query/limit");

  const std::string dl = Base() + "/deliveries?";
  Expect422(dl + "event_type=nope.nope", "/query/event_type");
  Expect422(dl + "status=done", "/query/status");
  Expect422(dl + "endpoint_id=abc", "/query/endpoint_id");
  // The panel's old trap: a type typed where an event id goes says where it belongs.
  Expect422(dl + "event_id=employee.hired", "/query/event_id", "event_type");
  Expect422(dl + "event_id=evt_x", "/query/event_id");
  Expect422(dl + "subject=", "/query/subject");
  Expect422(dl + "after=2026-02-30T00:00:00Z", "/query/after");
  Expect422(dl + "before=soon", "/query/before");
  Expect422(dl + "after=2026-11-27T00:00:00Z&before=2026-11-26T00:00:00Z", "/query/before");
  Expect422(dl + "type=employee.hired", "/query/type");  // deliveries' is event_type
  // A bad cursor stays a 400; authorization comes before the filters: an unknown company is 404.
  EXPECT_EQ(co_->Get(dl + "cursor=nope").status, 400);
  EXPECT_EQ(co_->Get("/v1/companies/co_01JD8Z6Q4W9X2B7C5N3M1K0PRS/events?subject=emp_1").status, 404);
}

}  // namespace
}  // namespace hookd::testing
