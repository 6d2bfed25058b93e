// The audit log's coverage (issue 13 items 3 and 5): every mutating route of the router — and
// every read that reveals a secret — names the action it records in openapi.json
// ("x-audit-action"), or says why it records none ("x-audit-exempt"); every action is
// recorded by some route. And, in process against a real SQLite store: a change whose audit
// row cannot be written is not made, and a secret whose reveal cannot be recorded is not shown.
// The integration test (tests/integration/audit_log_test.cc) performs every one of these routes
// through the real binary and checks its row.
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "api/audit.h"
#include "api/auth.h"
#include "api/context.h"
#include "api/router.h"
#include "core/audit.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/embedded.h"
#include "core/endpoint_index.h"
#include "core/event_catalog.h"
#include "core/json_util.h"
#include "store/store.h"

namespace hookd {
namespace {

namespace json = boost::json;

const std::set<std::string> kMutating = {"post", "put", "patch", "delete"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json::object Document() {
  for (const auto& f : api_files())
    if (f.path == "openapi.json") return json::parse(f.data).as_object();
  ADD_FAILURE() << "openapi.json is not embedded";
  return {};
}

const json::object* Operation(const json::object& doc, const std::string& method, const std::string& path) {
  auto* item = doc.at("paths").as_object().if_contains(path);
  if (!item) return nullptr;
  auto* op = item->as_object().if_contains(method);
  return op ? &op->as_object() : nullptr;
}

class AuditActions : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hookd-audit-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    auto s = OpenStore("sqlite:" + DbFile());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    auth_ = std::make_unique<api::Authenticator>(*store_);
    ctx_ = std::make_unique<api::ApiContext>(api::ApiContext{*store_, catalog_, index_, *auth_, changes_});
    api::AddAllRoutes(router_, *ctx_);
    doc_ = Document();
  }
  void TearDown() override {
    ctx_.reset();
    auth_.reset();
    if (store_) store_->Close();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string DbFile() const { return (dir_ / "hookd.db").string(); }

  // A company with a manage token; returns (company, token).
  std::pair<CompanyId, std::string> NewCompany() {
    Company c{CompanyId::New(), "Acme", NowMs()};
    EXPECT_TRUE(store_->InsertCompany(c));
    std::string token = NewApiToken();
    EXPECT_TRUE(store_->InsertToken(ApiToken{TokenId::New(), c.id, HashToken(token), kScopeManage, "", NowMs(), {}}));
    return {c.id, token};
  }

  api::HttpResponse Send(std::string method, std::string path, const std::string& token, std::string body = "") {
    api::HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.headers.emplace_back("authorization", "Bearer " + token);
    req.body = std::move(body);
    req.remote_address = "192.0.2.10";
    std::optional<api::HttpResponse> got;
    router_.Handle(std::move(req), [&got](api::HttpResponse r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value()) << "no answer";
    return got.value_or(api::HttpResponse{});
  }

  // Drops the audit log's table behind the store's back: every audit row written from now on
  // fails (as a full disk or a broken schema would).
  void BreakAuditLog() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbFile().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, "DROP TABLE audit_log", nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  EventCatalog catalog_;
  EndpointIndex index_;
  LocalChangeFeed changes_;
  std::unique_ptr<api::Authenticator> auth_;
  std::unique_ptr<api::ApiContext> ctx_;
  api::Router router_;
  json::object doc_;
};

TEST(AuditAction, NamesRoundTripAndAreWellFormed) {
  std::set<std::string> names;
  const std::regex form("[a-z_]+\\.[a-z_]+");
  ASSERT_FALSE(AllAuditActions().empty());
  for (AuditAction a : AllAuditActions()) {
    const std::string name(ToString(a));
    EXPECT_TRUE(std::regex_match(name, form)) << name;
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
    EXPECT_EQ(ParseAuditAction(name), a) << name;
  }
  EXPECT_EQ(ParseAuditAction("endpoint.exploded"), std::nullopt);
  EXPECT_EQ(ParseAuditAction(""), std::nullopt);
  EXPECT_EQ(ParseActorKind("operator"), ActorKind::kOperator);
  EXPECT_EQ(ParseActorKind(ToString(ActorKind::kCompany)), ActorKind::kCompany);
  EXPECT_EQ(ParseActorKind("root"), std::nullopt);
}

TEST(AuditAction, ChangedFieldsAreTheNamesOfWhatDiffers) {
  const json::object before = json::parse(R"({"url":"https://a","headers":{"k":"1"},"timeout_ms":100,"gone":1})").as_object();
  const json::object after = json::parse(R"({"url":"https://a","headers":{"k":"2"},"timeout_ms":200,"new":null})").as_object();
  EXPECT_EQ(api::ChangedFields(before, after), (std::vector<std::string>{"gone", "headers", "new", "timeout_ms"}));
  EXPECT_TRUE(api::ChangedFields(after, after).empty());
  EXPECT_EQ(api::FieldNames(after), (std::vector<std::string>{"headers", "new", "timeout_ms", "url"}));
}

TEST(AuditAction, RowsAreShownWithEveryFieldAndNoOther) {
  AuditEntry e = NewAuditEntry(AuditAction::kEndpointUpdated, "ep_x", CompanyId::New(), 1764151200000);
  e.actor_kind = ActorKind::kOperator;
  e.actor_token_id = TokenId::New();
  e.client_address = "203.0.113.7";
  e.changes = {"headers", "url"};
  e.details = R"({"grace_seconds":60})";
  json::object o = api::AuditJson(e);
  EXPECT_EQ(api::FieldNames(o), (std::vector<std::string>{"action", "actor", "changes", "client_address", "company_id",
                                                          "created_at", "details", "id", "target_id"}));
  EXPECT_EQ(o.at("action"), "endpoint.updated");
  EXPECT_EQ(o.at("created_at"), "2025-11-26T10:00:00.000Z");
  EXPECT_EQ(o.at("actor"), (json::object{{"kind", "operator"}, {"token_id", e.actor_token_id.str()}}));
  EXPECT_EQ(o.at("details"), (json::object{{"grace_seconds", 60}}));
  e.company_id.reset();
  EXPECT_TRUE(api::AuditJson(e).at("company_id").is_null());
}

// The coverage check of item 5: a mutating route added without an audit action fails here.
TEST_F(AuditActions, EveryMutatingRouteNamesItsActionOrWhyItHasNone) {
  int mutating = 0;
  for (const auto& [m, pattern] : router_.Routes()) {
    const std::string method = Lower(m);
    const json::object* op = Operation(doc_, method, pattern);
    const std::string where = m + " " + pattern;
    ASSERT_NE(op, nullptr) << where << " is not in openapi.json";
    const json::value* action = op->if_contains("x-audit-action");
    const json::value* exempt = op->if_contains("x-audit-exempt");
    if (!kMutating.contains(method)) {
      // Reads record nothing — except those that show a secret.
      if (pattern.ends_with("/secret"))
        EXPECT_TRUE(action) << where << " reveals a secret: it must record an x-audit-action";
      else
        EXPECT_FALSE(action) << where << " is a read: it records no audit row";
      EXPECT_FALSE(exempt) << where;
      continue;
    }
    ++mutating;
    EXPECT_TRUE((action != nullptr) != (exempt != nullptr))
        << where << " changes something: openapi.json must name its \"x-audit-action\" (and the handler pass the "
        << "row to the store), or say in \"x-audit-exempt\" why it records none";
    if (action) {
      ASSERT_TRUE(action->is_string()) << where;
      EXPECT_TRUE(ParseAuditAction(action->get_string())) << where << ": unknown action " << action->get_string();
    }
    if (exempt) EXPECT_TRUE(exempt->is_string() && exempt->get_string().size() >= 40) << where << ": say why";
  }
  EXPECT_GE(mutating, 18);  // 16 audited, 2 exempt (publishing)
}

TEST_F(AuditActions, EveryActionIsRecordedByExactlyOneRoute) {
  std::map<std::string, std::string> by_action;
  for (const auto& [path, item] : doc_.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      if (!op.is_object()) continue;
      if (auto* a = op.as_object().if_contains("x-audit-action")) {
        const std::string where = std::string(method) + " " + std::string(path);
        auto [it, fresh] = by_action.emplace(std::string(a->as_string()), where);
        EXPECT_TRUE(fresh) << a->as_string() << " is recorded by " << it->second << " and " << where;
      }
    }
  }
  for (AuditAction a : AllAuditActions())
    EXPECT_TRUE(by_action.contains(std::string(ToString(a)))) << ToString(a) << " is recorded by no route";
  EXPECT_EQ(by_action.size(), AllAuditActions().size());
  // The document's enum of actions is the list.
  const auto& doc_enum = doc_.at("components").at("schemas").at("AuditAction").at("enum").as_array();
  std::set<std::string> documented;
  for (const auto& v : doc_enum) documented.insert(std::string(v.as_string()));
  std::set<std::string> known;
  for (AuditAction a : AllAuditActions()) known.insert(std::string(ToString(a)));
  EXPECT_EQ(documented, known);
}

// "Audit rows are written in the same transaction as the change they record": with the audit
// log unwritable, the change is not made either.
TEST_F(AuditActions, AChangeWhoseRowCannotBeWrittenIsNotMade) {
  auto [cid, token] = NewCompany();
  const std::string base = "/v1/companies/" + cid.str() + "/endpoints";
  auto created = Send("POST", base, token, R"({"url":"https://192.0.2.1/hook","event_types":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string eid(json::parse(created.body).at("id").as_string());
  auto rows = store_->ListAuditLog({.company = cid}, {});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->items.size(), 1u);
  EXPECT_EQ(rows->items[0].action, "endpoint.created");
  EXPECT_EQ(rows->items[0].client_address, "192.0.2.10");

  BreakAuditLog();
  auto again = Send("POST", base, token, R"({"url":"https://192.0.2.1/other","event_types":["*"]})");
  EXPECT_GE(again.status, 500) << again.body;
  auto patched = Send("PATCH", base + "/" + eid, token, R"({"description":"changed"})");
  EXPECT_GE(patched.status, 500) << patched.body;
  auto deleted = Send("DELETE", base + "/" + eid, token);
  EXPECT_GE(deleted.status, 500) << deleted.body;
  // Nothing of the three happened.
  auto all = store_->AllEndpoints(cid);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id.str(), eid);
  EXPECT_EQ((*all)[0].description, "");
  EXPECT_EQ((*all)[0].version, 1);
}

TEST_F(AuditActions, ASecretWhoseRevealCannotBeRecordedIsNotShown) {
  auto [cid, token] = NewCompany();
  const std::string base = "/v1/companies/" + cid.str() + "/endpoints";
  auto created = Send("POST", base, token, R"({"url":"https://192.0.2.1/hook","event_types":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const json::value ep = json::parse(created.body);
  const std::string eid(ep.at("id").as_string());
  const std::string secret(ep.at("secret").as_string());
  auto shown = Send("GET", base + "/" + eid + "/secret", token);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_NE(shown.body.find(secret), std::string::npos);
  auto rows = store_->ListAuditLog({.company = cid, .action = "endpoint.secret_revealed"}, {});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->items.size(), 1u);
  EXPECT_EQ(rows->items[0].target_id, eid);
  EXPECT_EQ(rows->items[0].changes, std::vector<std::string>{});

  BreakAuditLog();
  auto hidden = Send("GET", base + "/" + eid + "/secret", token);
  EXPECT_GE(hidden.status, 500);
  EXPECT_EQ(hidden.body.find(secret), std::string::npos) << hidden.body;
  EXPECT_EQ(hidden.body.find("whsec_"), std::string::npos) << hidden.body;
}

}  // namespace
}  // namespace hookd
