// The audit log's store contract (issue 13 items 3 and 5), run against every backend — SQLite
// and PostgreSQL on the private test server, a fresh database per test: every mutating method
// writes the row it is given in its own transaction (both or neither), the listing's scope,
// filters and pages, and retention: nothing but --audit-retention deletes a row.
#include <unistd.h>

#include <sqlite3.h>
#include <libpq-fe.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/audit.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "store/retention.h"
#include "store/store.h"
#include "support/pg_server.h"

namespace hookd {
namespace {

constexpr int64_t kDay = 86400LL * 1000;

struct Backend {
  std::string name;
  std::function<std::string(const std::filesystem::path& dir)> url;
  friend void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }
};

class AuditStoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hookd-audit-store-" + std::to_string(getpid()) + "-" + NewUlid());
    std::filesystem::create_directories(dir_);
    url_ = GetParam().url(dir_);
    auto s = OpenStore(url_);
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->Migrate());
    co_ = NewCompany("Acme");
    other_ = NewCompany("Globex");
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  CompanyId NewCompany(std::string name) {
    Company c{CompanyId::New(), std::move(name), NowMs()};
    EXPECT_TRUE(store_->InsertCompany(c));
    return c.id;
  }

  Endpoint NewEndpoint(const CompanyId& co) {
    Endpoint ep;
    ep.id = EndpointId::New();
    ep.company_id = co;
    ep.url = "https://example.com/hook";
    ep.event_types = {"employee.*"};
    ep.secret = NewSigningSecret();
    ep.created_at_ms = ep.updated_at_ms = NowMs();
    EXPECT_TRUE(store_->InsertEndpoint(ep));
    return ep;
  }

  // One event with a delivery to `ep` in `status`.
  IngestRequest Event(const CompanyId& co, const EndpointId& ep, DeliveryStatus status = DeliveryStatus::kPending) {
    NewEvent ne;
    ne.event.id = EventId::New();
    ne.event.company_id = co;
    ne.event.type = "employee.hired";
    ne.event.created_at_ms = NowMs();
    ne.event.payload = R"({"id":")" + ne.event.id.str() + R"("})";
    Delivery d;
    d.id = DeliveryId::New();
    d.company_id = co;
    d.event_id = ne.event.id;
    d.endpoint_id = ep;
    d.status = status;
    d.next_attempt_at_ms = NowMs();
    d.created_at_ms = NowMs();
    ne.deliveries.push_back(d);
    IngestRequest req;
    req.company = co;
    req.events.push_back(std::move(ne));
    req.request_hash = "h";
    req.response_body = "{}";
    return req;
  }

  // A row as the API would write it.
  AuditEntry Row(AuditAction action, std::string target, std::optional<CompanyId> co,
                 std::vector<std::string> changes = {}) {
    AuditEntry e = NewAuditEntry(action, std::move(target), std::move(co), NowMs());
    e.actor_kind = ActorKind::kCompany;
    e.actor_token_id = TokenId::New();
    e.client_address = "192.0.2.7";
    e.changes = std::move(changes);
    return e;
  }

  // A row created `age_ms` ago (its id of that time too); `tail` keeps ids of one age apart.
  AuditEntry OldRow(int64_t age_ms, char tail, std::optional<CompanyId> co) {
    const int64_t at = NowMs() - age_ms;
    AuditEntry e = Row(AuditAction::kEndpointUpdated, "ep_old", std::move(co));
    e.id = AuditId::FromTrusted("aud_" + UlidLowerBound(at).substr(0, 10) + std::string(16, tail));
    e.created_at_ms = at;
    return e;
  }

  std::vector<AuditEntry> All(AuditQuery q = {}) {
    auto page = store_->ListAuditLog(q, {500, ""});
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->items : std::vector<AuditEntry>{};
  }
  std::vector<std::string> Ids(AuditQuery q = {}) {
    std::vector<std::string> out;
    for (const auto& e : All(std::move(q))) out.push_back(e.id.str());
    return out;
  }

  // Runs `sql` on the database behind the store's back; its error, or "" when it worked.
  std::string RawExec(const std::string& sql) {
    if (url_.starts_with("sqlite:")) {
      sqlite3* db = nullptr;
      if (sqlite3_open(url_.substr(7).c_str(), &db) != SQLITE_OK) return "cannot open";
      char* err = nullptr;
      const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      std::string why = rc == SQLITE_OK ? "" : (err ? err : "error");
      sqlite3_free(err);
      sqlite3_close(db);
      return why;
    }
    PGconn* c = PQconnectdb(url_.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      PQfinish(c);
      return "cannot connect";
    }
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string why = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "" : PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    return why;
  }

  std::filesystem::path dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
  CompanyId co_, other_;
};

TEST_P(AuditStoreContract, EveryChangeWritesTheRowItIsGiven) {
  std::vector<std::string> expected;  // oldest first
  auto row = [&](AuditAction a, std::string target, std::optional<CompanyId> co = std::nullopt) {
    AuditEntry e = Row(a, std::move(target), co ? co : std::optional<CompanyId>(co_));
    expected.push_back(e.id.str());
    return e;
  };

  Company c{CompanyId::New(), "Initech", NowMs()};
  AuditEntry e = row(AuditAction::kCompanyCreated, c.id.str(), c.id);
  ASSERT_TRUE(store_->InsertCompany(c, &e));
  e = row(AuditAction::kCompanyUpdated, c.id.str(), c.id);
  ASSERT_TRUE(store_->SetCompanyRetention(c.id, 7 * kDay, &e));
  ApiToken t{TokenId::New(), co_, HashToken("tok"), kScopeManage, "", NowMs(), std::nullopt};
  e = row(AuditAction::kTokenCreated, t.id.str());
  ASSERT_TRUE(store_->InsertToken(t, &e));
  e = row(AuditAction::kTokenRevoked, t.id.str());
  ASSERT_TRUE(store_->RevokeToken(co_, t.id, &e));
  EventTypeDef def;
  def.name = "payroll.closed";
  def.schema = boost::json::parse(R"({"type":"object"})");
  def.example = boost::json::object();
  def.created_at_ms = NowMs();
  e = Row(AuditAction::kEventTypeCreated, def.name, std::nullopt);  // of no company
  expected.push_back(e.id.str());
  ASSERT_TRUE(store_->InsertEventType(def, &e));

  Endpoint ep;
  ep.id = EndpointId::New();
  ep.company_id = co_;
  ep.url = "https://example.com/a";
  ep.event_types = {"*"};
  ep.secret = NewSigningSecret();
  ep.created_at_ms = ep.updated_at_ms = NowMs();
  e = row(AuditAction::kEndpointCreated, ep.id.str());
  ASSERT_TRUE(store_->InsertEndpoint(ep, &e));
  ep.url = "https://example.com/b";
  e = row(AuditAction::kEndpointUpdated, ep.id.str());
  ASSERT_TRUE(store_->UpdateEndpointConfig(ep, 1, &e));
  e = row(AuditAction::kEndpointSecretRotated, ep.id.str());
  ASSERT_TRUE(store_->RotateEndpointSecret(co_, ep.id, NewSigningSecret(), 0, NowMs(), &e));
  e = row(AuditAction::kEndpointDisabled, ep.id.str());
  ASSERT_TRUE(store_->DisableEndpoint(co_, ep.id, DisabledReason::kManual, NowMs(), &e));
  e = row(AuditAction::kEndpointEnabled, ep.id.str());
  ASSERT_TRUE(store_->EnableEndpoint(co_, ep.id, true, NowMs(), &e));
  IngestRequest failed = Event(co_, ep.id, DeliveryStatus::kFailed);
  const DeliveryId did = failed.events[0].deliveries[0].id;
  ASSERT_TRUE(store_->IngestSync(std::move(failed)));
  e = row(AuditAction::kEndpointRecovered, ep.id.str());
  ASSERT_EQ(store_->RecoverDeliveries(co_, ep.id, 0, NowMs(), &e), 1);
  e = row(AuditAction::kDeliveryRetried, did.str());
  ASSERT_TRUE(store_->RequeueDelivery(co_, did, NowMs(), &e));
  IngestRequest test = Event(co_, ep.id);
  test.audit = row(AuditAction::kEndpointTestSent, ep.id.str());
  const EventId test_event = test.events[0].event.id;
  auto ingested = store_->IngestSync(std::move(test));
  ASSERT_TRUE(ingested) << ingested.error().message;
  ASSERT_TRUE(store_->GetEvent(co_, test_event));
  ASSERT_TRUE(store_->AppendAudit(row(AuditAction::kEndpointSecretRevealed, ep.id.str())));
  e = row(AuditAction::kEndpointDeleted, ep.id.str());
  ASSERT_TRUE(store_->DeleteEndpoint(co_, ep.id, &e));

  std::vector<std::string> newest_first(expected.rbegin(), expected.rend());
  EXPECT_EQ(Ids(), newest_first);
  // The target's history, and the changes made without a row, wrote none (the fixture's).
  EXPECT_EQ(All({.target_id = ep.id.str()}).size(), 9u);
}

TEST_P(AuditStoreContract, RowsComeBackWithEveryField) {
  AuditEntry e = Row(AuditAction::kEndpointUpdated, "ep_x", co_, {"headers", "url", "événement"});
  e.actor_kind = ActorKind::kOperator;
  e.client_address = "2001:db8::1";
  e.details = R"({"grace_seconds":60,"note":"ünïcode"})";
  ASSERT_TRUE(store_->AppendAudit(e));
  AuditEntry none = Row(AuditAction::kEventTypeCreated, "payroll.closed", std::nullopt);
  none.client_address = "";
  ASSERT_TRUE(store_->AppendAudit(none));
  auto rows = All();
  ASSERT_EQ(rows.size(), 2u);
  const AuditEntry& got = rows[1];
  EXPECT_EQ(got.id, e.id);
  EXPECT_EQ(got.created_at_ms, e.created_at_ms);
  EXPECT_EQ(got.company_id, co_);
  EXPECT_EQ(got.action, "endpoint.updated");
  EXPECT_EQ(got.target_id, "ep_x");
  EXPECT_EQ(got.actor_kind, ActorKind::kOperator);
  EXPECT_EQ(got.actor_token_id, e.actor_token_id);
  EXPECT_EQ(got.client_address, "2001:db8::1");
  EXPECT_EQ(got.changes, e.changes);
  EXPECT_EQ(boost::json::parse(got.details), boost::json::parse(e.details));
  EXPECT_EQ(rows[0].company_id, std::nullopt);
  EXPECT_TRUE(rows[0].changes.empty());
  EXPECT_EQ(rows[0].details, "{}");
  EXPECT_EQ(rows[0].actor_kind, ActorKind::kCompany);
  // Ids are unique: the same row twice is refused.
  EXPECT_FALSE(store_->AppendAudit(e));
}

TEST_P(AuditStoreContract, AFailedChangeWritesNoRow) {
  Endpoint ep = NewEndpoint(co_);
  ApiToken t{TokenId::New(), co_, HashToken("tok"), kScopeManage, "", NowMs(), std::nullopt};
  ASSERT_TRUE(store_->InsertToken(t));
  const auto row = [&](AuditAction a) { return Row(a, "x", co_); };
  AuditEntry e = row(AuditAction::kTokenRevoked);
  EXPECT_EQ(store_->RevokeToken(other_, t.id, &e).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->RevokeToken(co_, TokenId::New(), &e).error().code, ErrorCode::kNotFound);
  e = row(AuditAction::kEndpointUpdated);
  EXPECT_EQ(store_->UpdateEndpointConfig(ep, 7, &e).error().code, ErrorCode::kConflict);
  e = row(AuditAction::kEndpointDeleted);
  EXPECT_EQ(store_->DeleteEndpoint(other_, ep.id, &e).error().code, ErrorCode::kNotFound);
  e = row(AuditAction::kEndpointEnabled);
  EXPECT_EQ(store_->EnableEndpoint(other_, ep.id, true, NowMs(), &e).error().code, ErrorCode::kNotFound);
  e = row(AuditAction::kEndpointDisabled);
  EXPECT_EQ(store_->DisableEndpoint(other_, ep.id, DisabledReason::kManual, NowMs(), &e).error().code,
            ErrorCode::kNotFound);
  e = row(AuditAction::kEndpointRecovered);
  EXPECT_EQ(store_->RecoverDeliveries(other_, ep.id, 0, NowMs(), &e).error().code, ErrorCode::kNotFound);
  e = row(AuditAction::kEndpointSecretRotated);
  EXPECT_EQ(store_->RotateEndpointSecret(other_, ep.id, NewSigningSecret(), 0, NowMs(), &e).error().code,
            ErrorCode::kNotFound);
  e = row(AuditAction::kDeliveryRetried);
  EXPECT_EQ(store_->RequeueDelivery(co_, DeliveryId::New(), NowMs(), &e).error().code, ErrorCode::kNotFound);
  e = row(AuditAction::kCompanyUpdated);
  EXPECT_EQ(store_->SetCompanyRetention(CompanyId::New(), kDay, &e).error().code, ErrorCode::kNotFound);
  EventTypeDef def;
  def.name = "payroll.closed";
  def.created_at_ms = NowMs();
  ASSERT_TRUE(store_->InsertEventType(def));
  e = row(AuditAction::kEventTypeCreated);
  EXPECT_EQ(store_->InsertEventType(def, &e).error().code, ErrorCode::kAlreadyExists);
  // An ingest answered from its idempotency record writes nothing, its row neither.
  IngestRequest first = Event(co_, ep.id);
  first.idempotency_key = "k1";
  ASSERT_TRUE(store_->IngestSync(first));
  IngestRequest again = Event(co_, ep.id);
  again.idempotency_key = "k1";
  again.audit = row(AuditAction::kEndpointTestSent);
  auto replayed = store_->IngestSync(std::move(again));
  ASSERT_TRUE(replayed);
  EXPECT_TRUE(replayed->replayed);
  EXPECT_TRUE(All().empty());
}

// "A change without its audit row is impossible": a row that cannot be written (here: its id is
// taken) undoes the change it came with.
TEST_P(AuditStoreContract, ARowThatCannotBeWrittenUndoesItsChange) {
  const AuditEntry taken = Row(AuditAction::kEndpointUpdated, "x", co_);
  ASSERT_TRUE(store_->AppendAudit(taken));
  Endpoint ep = NewEndpoint(co_);
  ApiToken t{TokenId::New(), co_, HashToken("tok"), kScopeManage, "", NowMs(), std::nullopt};
  ASSERT_TRUE(store_->InsertToken(t));

  Company c{CompanyId::New(), "Initech", NowMs()};
  EXPECT_FALSE(store_->InsertCompany(c, &taken));
  EXPECT_EQ(store_->GetCompany(c.id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->SetCompanyRetention(co_, kDay, &taken));
  EXPECT_EQ(store_->GetCompany(co_)->retention_ms, std::nullopt);
  ApiToken t2{TokenId::New(), co_, HashToken("tok2"), kScopeManage, "", NowMs(), std::nullopt};
  EXPECT_FALSE(store_->InsertToken(t2, &taken));
  EXPECT_EQ(store_->FindTokenByHash(HashToken("tok2")).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(store_->RevokeToken(co_, t.id, &taken));
  EXPECT_FALSE(store_->FindTokenByHash(HashToken("tok"))->revoked_at_ms);
  EventTypeDef def;
  def.name = "payroll.closed";
  def.created_at_ms = NowMs();
  EXPECT_FALSE(store_->InsertEventType(def, &taken));
  EXPECT_TRUE(store_->ListEventTypes()->empty());

  Endpoint ep2 = ep;
  ep2.id = EndpointId::New();
  EXPECT_FALSE(store_->InsertEndpoint(ep2, &taken));
  EXPECT_EQ(store_->GetEndpoint(co_, ep2.id).error().code, ErrorCode::kNotFound);
  Endpoint changed = ep;
  changed.url = "https://example.com/changed";
  EXPECT_FALSE(store_->UpdateEndpointConfig(changed, 1, &taken));
  EXPECT_FALSE(store_->RotateEndpointSecret(co_, ep.id, NewSigningSecret(), 0, NowMs(), &taken));
  EXPECT_FALSE(store_->DisableEndpoint(co_, ep.id, DisabledReason::kManual, NowMs(), &taken));
  auto still = store_->GetEndpoint(co_, ep.id);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->url, ep.url);
  EXPECT_EQ(still->secret, ep.secret);
  EXPECT_EQ(still->version, 1);
  EXPECT_TRUE(still->Enabled());

  IngestRequest failed = Event(co_, ep.id, DeliveryStatus::kFailed);
  const DeliveryId did = failed.events[0].deliveries[0].id;
  ASSERT_TRUE(store_->IngestSync(std::move(failed)));
  EXPECT_FALSE(store_->RecoverDeliveries(co_, ep.id, 0, NowMs(), &taken));
  EXPECT_FALSE(store_->RequeueDelivery(co_, did, NowMs(), &taken));
  EXPECT_EQ(store_->GetDelivery(co_, did)->status, DeliveryStatus::kFailed);
  IngestRequest test = Event(co_, ep.id);
  test.audit = taken;
  const EventId test_event = test.events[0].event.id;
  EXPECT_FALSE(store_->IngestSync(std::move(test)));
  EXPECT_EQ(store_->GetEvent(co_, test_event).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(store_->DisableEndpoint(co_, ep.id, DisabledReason::kManual, NowMs()));
  EXPECT_FALSE(store_->EnableEndpoint(co_, ep.id, true, NowMs(), &taken));
  EXPECT_FALSE(store_->GetEndpoint(co_, ep.id)->Enabled());
  EXPECT_FALSE(store_->DeleteEndpoint(co_, ep.id, &taken));
  EXPECT_TRUE(store_->GetEndpoint(co_, ep.id));

  EXPECT_EQ(Ids(), std::vector<std::string>{taken.id.str()});
  // The store still writes afterwards (nothing was left half-done in its transaction).
  AuditEntry fresh = Row(AuditAction::kEndpointDeleted, ep.id.str(), co_);
  ASSERT_TRUE(store_->DeleteEndpoint(co_, ep.id, &fresh));
  EXPECT_EQ(Ids().size(), 2u);
}

TEST_P(AuditStoreContract, ListingsAreScopedFilteredAndPaged) {
  // co_: created (ep_a), updated (ep_a), updated (ep_b); other_: updated (ep_a); none: a type.
  const int64_t t0 = NowMs() - 10'000;
  std::vector<AuditEntry> rows = {
      Row(AuditAction::kEndpointCreated, "ep_a", co_), Row(AuditAction::kEndpointUpdated, "ep_a", co_),
      Row(AuditAction::kEndpointUpdated, "ep_b", co_), Row(AuditAction::kEndpointUpdated, "ep_a", other_),
      Row(AuditAction::kEventTypeCreated, "payroll.closed", std::nullopt)};
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].created_at_ms = t0 + static_cast<int64_t>(i) * 1000;
    ASSERT_TRUE(store_->AppendAudit(rows[i]));
  }
  auto ids = [&](std::initializer_list<size_t> which) {
    std::vector<std::string> out;
    for (size_t i : which) out.push_back(rows[i].id.str());
    return out;
  };
  EXPECT_EQ(Ids(), ids({4, 3, 2, 1, 0}));  // the operator's: everything, newest first
  EXPECT_EQ(Ids({.company = co_}), ids({2, 1, 0}));
  EXPECT_EQ(Ids({.company = other_}), ids({3}));
  EXPECT_TRUE(Ids({.company = CompanyId::New()}).empty());
  EXPECT_EQ(Ids({.action = "endpoint.updated"}), ids({3, 2, 1}));
  EXPECT_EQ(Ids({.company = co_, .action = "endpoint.updated"}), ids({2, 1}));
  EXPECT_EQ(Ids({.target_id = "ep_a"}), ids({3, 1, 0}));
  EXPECT_EQ(Ids({.company = co_, .target_id = "ep_a"}), ids({1, 0}));
  EXPECT_EQ(Ids({.company = co_, .action = "endpoint.created", .target_id = "ep_a"}), ids({0}));
  EXPECT_TRUE(Ids({.company = co_, .action = "endpoint.created", .target_id = "ep_b"}).empty());
  EXPECT_EQ(Ids({.target_id = "payroll.closed"}), ids({4}));
  // Times: strictly after / before.
  EXPECT_EQ(Ids({.after_ms = t0 + 1000}), ids({4, 3, 2}));
  EXPECT_EQ(Ids({.before_ms = t0 + 1000}), ids({0}));
  EXPECT_EQ(Ids({.company = co_, .after_ms = t0, .before_ms = t0 + 2000}), ids({1}));
  EXPECT_EQ(Ids({.target_id = "ep_a", .after_ms = t0}), ids({3, 1}));

  // Pages of 2: every row once, newest first, and the cursor keeps the filters.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->ListAuditLog({}, {2, cursor});
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_LE(page->items.size(), 2u);
    for (const auto& e : page->items) seen.push_back(e.id.str());
    cursor = page->next_cursor.value_or("");
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, ids({4, 3, 2, 1, 0}));
  auto first = store_->ListAuditLog({.company = co_}, {2, ""});
  ASSERT_TRUE(first && first->next_cursor);
  auto second = store_->ListAuditLog({.company = co_}, {2, *first->next_cursor});
  ASSERT_TRUE(second);
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, rows[0].id);
  EXPECT_FALSE(second->next_cursor);
}

// Retention (issue 13: "never deletes them sooner than --audit-retention"): PurgeExpired leaves
// the audit log alone whatever its cutoff or company; PurgeAuditLog deletes what is older than
// its cutoff only, in batches; Retention applies the audit retention, not the others.
TEST_P(AuditStoreContract, OnlyTheAuditRetentionDeletesRows) {
  const AuditEntry ancient = OldRow(400 * kDay, 'A', co_);
  const AuditEntry old = OldRow(300 * kDay, 'B', co_);
  const AuditEntry month = OldRow(40 * kDay, 'C', other_);
  const AuditEntry fresh = Row(AuditAction::kEndpointCreated, "ep_new", co_);
  // An id of long ago on a row of today (a clock that jumped): kept, both must be old.
  AuditEntry misdated = OldRow(400 * kDay, 'D', co_);
  misdated.created_at_ms = NowMs();
  for (const AuditEntry* e : std::initializer_list<const AuditEntry*>{&ancient, &old, &month, &fresh, &misdated})
    ASSERT_TRUE(store_->AppendAudit(*e));
  ASSERT_TRUE(store_->SetCompanyRetention(co_, 7 * kDay));

  // Events' retention, however short, server-wide or one company's: no audit row goes.
  ASSERT_TRUE(store_->PurgeExpired(NowMs() + kDay, 1000));
  ASSERT_TRUE(store_->PurgeExpired(NowMs() + kDay, 1000, co_));
  EXPECT_EQ(Ids().size(), 5u);

  Retention retention(*store_, 30 * kDay, 60'000, 365 * kDay);
  EXPECT_EQ(retention.RunOnce(), 1);  // the 400-day-old row only
  EXPECT_EQ(Ids(), (std::vector<std::string>{fresh.id.str(), month.id.str(), old.id.str(), misdated.id.str()}));
  EXPECT_EQ(retention.RunOnce(), 0);

  // A shorter audit retention, in batches of `limit`.
  auto n = store_->PurgeAuditLog(NowMs() - 30 * kDay, 1);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store_->PurgeAuditLog(NowMs() - 30 * kDay, 10), 1);
  EXPECT_EQ(store_->PurgeAuditLog(NowMs() - 30 * kDay, 10), 0);
  EXPECT_EQ(Ids(), (std::vector<std::string>{fresh.id.str(), misdated.id.str()}));
}

TEST_P(AuditStoreContract, RowsCannotBeChanged) {
  const AuditEntry e = Row(AuditAction::kEndpointDeleted, "ep_a", co_);
  ASSERT_TRUE(store_->AppendAudit(e));
  const std::string why = RawExec("UPDATE audit_log SET action = 'endpoint.created', target_id = 'ep_b'");
  EXPECT_NE(why.find("audit_log rows cannot be changed"), std::string::npos) << why;
  auto rows = All();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "endpoint.deleted");
  EXPECT_EQ(rows[0].target_id, "ep_a");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditStoreContract,
                         ::testing::Values(Backend{"sqlite",
                                                   [](const std::filesystem::path& dir) {
                                                     return "sqlite:" + (dir / "t.db").string();
                                                   }},
                                           Backend{"postgres",
                                                   [](const std::filesystem::path&) {
                                                     return hookd::testing::NewPostgresDatabaseUrl();
                                                   }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace hookd
