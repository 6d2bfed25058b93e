// Event ingestion end to end: fan-out, idempotency, batches, and what the store keeps.
#include "harness.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;

class IngestTest : public HookdTest {
 protected:
  std::string CreateEndpoint(const json::value& body) {
    auto r = co_->Post("/v1/companies/" + company_ + "/endpoints", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(r.Json().at("id").as_string());
  }
  std::string Events() { return "/v1/companies/" + company_ + "/events"; }
};

TEST_F(IngestTest, AcceptedEventFansOutToMatchingEnabledEndpoints) {
  std::string all = CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/erp/hooks","event_types":["*"]})"));
  std::string fam = CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/it/h","event_types":["employee.*"]})"));
  std::string other = CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/x/h","event_types":["time_off.approved"]})"));

  auto r = co_->Post(Events(), HiredEvent());
  ASSERT_EQ(r.status, 202) << r.body;
  auto ev = r.Json().as_object();
  EXPECT_EQ(ev.at("type").as_string(), "employee.hired");
  EXPECT_EQ(ev.at("deliveries").to_number<int>(), 2);
  std::string evid(ev.at("id").as_string());
  EXPECT_TRUE(evid.starts_with("evt_"));

  auto d = co_->Get("/v1/companies/" + company_ + "/deliveries?event_id=" + evid);
  ASSERT_EQ(d.status, 200) << d.body;
  auto data = d.Json().at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  std::set<std::string> eps;
  for (auto& x : data) {
    EXPECT_EQ(x.at("status").as_string(), "pending");
    eps.insert(std::string(x.at("endpoint_id").as_string()));
  }
  EXPECT_EQ(eps, (std::set<std::string>{all, fam}));

  // The stored event carries the exact payload receivers will get.
  auto g = co_->Get(Events() + "/" + evid);
  ASSERT_EQ(g.status, 200);
  auto payload = json::parse(g.Json().at("payload").as_string());
  EXPECT_EQ(payload.at("id").as_string(), evid);
  EXPECT_EQ(payload.at("company_id").as_string(), company_);
  EXPECT_EQ(payload.at("data").at("employee").at("id").as_string(), "emp_1001");
  EXPECT_EQ(g.Json().at("subject").as_string(), "emp_1001");
}

// The server's own HTTP/1.1 framing, as clients send it: the body in the header's packet
// or after it in pieces, chunked, two requests pipelined in one packet, Expect: 100-continue.
TEST_F(IngestTest, RequestsAreReadHoweverTheyAreFramed) {
  const std::string body = json::serialize(HiredEvent());
  const std::string head = "POST " + Events() + " HTTP/1.1\r\nHost: hookd\r\nAuthorization: Bearer " +
                           company_token_ + "\r\nContent-Type: application/json\r\n";
  const std::string sized = head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const int port = hookd_->Port();
  auto accepted = [](const std::vector<RawAnswer>& a, size_t i) {
    return a.size() > i && a[i].status_line == "HTTP/1.1 202 Accepted" &&
           a[i].body.find("\"evt_") != std::string::npos;
  };

  auto whole = RawExchange(port, {{0, sized + body}}, 1);
  EXPECT_TRUE(accepted(whole, 0)) << (whole.empty() ? "no answer" : whole[0].status_line);

  auto pieces = RawExchange(port, {{0, sized}, {150, body.substr(0, 10)}, {150, body.substr(10)}}, 1);
  EXPECT_TRUE(accepted(pieces, 0)) << (pieces.empty() ? "no answer" : pieces[0].status_line);

  char hex[2][16];
  std::snprintf(hex[0], sizeof hex[0], "%x", 10u);
  std::snprintf(hex[1], sizeof hex[1], "%zx", body.size() - 10);
  const std::string chunked = head + "Transfer-Encoding: chunked\r\n\r\n" + hex[0] + "\r\n" +
                              body.substr(0, 10) + "\r\n" + hex[1] + "\r\n" + body.substr(10) + "\r\n0\r\n\r\n";
  auto chunks = RawExchange(port, {{0, chunked}}, 1);
  EXPECT_TRUE(accepted(chunks, 0)) << (chunks.empty() ? "no answer" : chunks[0].status_line);

  auto pipelined = RawExchange(port, {{0, sized + body + sized + body}}, 2);
  ASSERT_EQ(pipelined.size(), 2u);
  EXPECT_TRUE(accepted(pipelined, 0) && accepted(pipelined, 1));
  EXPECT_NE(pipelined[0].body, pipelined[1].body);  // two events, two ids

  const std::string expect = head + "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  auto continued = RawExchange(port, {{0, expect}, {300, body}}, 2);
  ASSERT_EQ(continued.size(), 2u);
  EXPECT_EQ(continued[0].status_line, "HTTP/1.1 100 Continue");
  EXPECT_TRUE(accepted(continued, 1));

  auto list = co_->Get(Events() + "?limit=100");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Json().at("data").as_array().size(), 6u);
}

TEST_F(IngestTest, DisabledEndpointGetsHeldDeliveries) {
  std::string ep = CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/erp/hooks","event_types":["*"]})"));
  ASSERT_EQ(co_->Post("/v1/companies/" + company_ + "/endpoints/" + ep + "/disable", "").status, 200);
  auto r = co_->Post(Events(), HiredEvent());
  ASSERT_EQ(r.status, 202) << r.body;
  auto d = co_->Get("/v1/companies/" + company_ + "/deliveries?status=held");
  ASSERT_EQ(d.Json().at("data").as_array().size(), 1u) << d.body;
  auto en = co_->Post("/v1/companies/" + company_ + "/endpoints/" + ep + "/enable", "");
  ASSERT_EQ(en.status, 200) << en.body;
  EXPECT_EQ(en.Json().at("released").to_number<int>(), 1);
  auto p = co_->Get("/v1/companies/" + company_ + "/deliveries?status=pending");
  EXPECT_EQ(p.Json().at("data").as_array().size(), 1u) << p.body;
}

TEST_F(IngestTest, IdempotencyKeyReplaysAndRejectsOtherBodies) {
  CreateEndpoint(json::parse(R"({"url":"https://127.0.0.2:9/erp/hooks","event_types":["*"]})"));
  auto first = co_->Post(Events(), HiredEvent(), {"Idempotency-Key: hire-42"});
  ASSERT_EQ(first.status, 202) << first.body;
  auto again = co_->Post(Events(), HiredEvent(), {"Idempotency-Key: hire-42"});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json(), first.Json());
  auto conflict = co_->Post(Events(), HiredEvent("emp_9"), {"Idempotency-Key: hire-42"});
  ExpectProblem(conflict, 409);
  // Only one event and one delivery exist.
  EXPECT_EQ(co_->Get(Events()).Json().at("data").as_array().size(), 1u);
  EXPECT_EQ(co_->Get("/v1/companies/" + company_ + "/deliveries").Json().at("data").as_array().size(), 1u);
}

TEST_F(IngestTest, BatchIsAllOrNothing) {
  json::array batch;
  for (int i = 0; i < 3; ++i) batch.push_back(HiredEvent("emp_" + std::to_string(i)));
  auto bad = batch;
  bad[1].as_object()["data"].as_object()["employee"].as_object()["email"] = "not-an-email";
  auto r = co_->Post(Events() + "/batch", json::value(bad));
  auto p = ExpectProblem(r, 422);
  ASSERT_TRUE(p.contains("errors")) << r.body;
  EXPECT_EQ(p.at("errors").as_array()[0].at("pointer").as_string(), "/1/data/employee/email") << r.body;
  EXPECT_EQ(co_->Get(Events()).Json().at("data").as_array().size(), 0u);

  auto ok = co_->Post(Events() + "/batch", json::value(batch));
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(ok.Json().as_array().size(), 3u);
  EXPECT_EQ(co_->Get(Events()).Json().at("data").as_array().size(), 3u);
}

TEST_F(IngestTest, ListingsPaginateWithCursor) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(co_->Post(Events(), HiredEvent("emp_" + std::to_string(i))).status, 202);
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto r = co_->Get(Events() + "?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = r.Json();
    for (auto& e : v.at("data").as_array()) seen.insert(std::string(e.at("id").as_string()));
    cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
}

}  // namespace
}  // namespace hookd::testing
