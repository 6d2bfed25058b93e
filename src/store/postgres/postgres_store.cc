#include "store/postgres/postgres_store.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <thread>
#include <unordered_map>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/embedded.h"
#include "core/json_util.h"
#include "core/shard_ownership.h"
#include "store/postgres/cluster_notice.h"
#include "store/encryption.h"
#include "store/erasure_rows.h"
#include "store/list_sql.h"
#include "store/postgres/postgres_audit.h"
#include "store/sealed_fields.h"

namespace hookd {
namespace json = boost::json;
using pg::Conn;
using pg::Params;
using pg::Rows;

namespace {

constexpr int64_t kIdempotencyWindowMs = 24 * 3600 * 1000;

#define TRY(expr)                                                  \
  do {                                                             \
    if (auto _r = (expr); !_r) return std::unexpected(_r.error()); \
  } while (0)

// Runs a statement: `var` is its Rows, or the function returns the error.
#define EXEC(var, db, sql, params)                       \
  auto var##_r = (db).Exec(sql, params);                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  Rows& var = *var##_r

int ClampLimit(int limit) { return std::clamp(limit, 1, 500); }

template <class T>
Page<T> MakePage(std::vector<T> items, int limit, auto id_of) {
  Page<T> page;
  if (static_cast<int>(items.size()) > limit) {
    items.resize(limit);
    page.next_cursor = id_of(items.back());
  }
  page.items = std::move(items);
  return page;
}

unsigned ParseScopes(std::string_view s) {
  unsigned out = 0;
  if (s.find("manage") != std::string_view::npos) out |= kScopeManage;
  if (s.find("publish") != std::string_view::npos) out |= kScopePublish;
  return out;
}

Company ReadCompany(const Rows& r, int i) {
  return Company{CompanyId::FromTrusted(r.Text(i, 0)), r.Text(i, 1), r.Int(i, 2), r.OptInt(i, 3)};
}

constexpr const char* kTokenCols = "id, company_id, hash, scopes, description, created_at, revoked_at";

ApiToken ReadToken(const Rows& r, int i) {
  ApiToken t;
  t.id = TokenId::FromTrusted(r.Text(i, 0));
  if (!r.IsNull(i, 1)) t.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  t.hash = r.Text(i, 2);
  t.scopes = ParseScopes(r.TextView(i, 3));
  t.description = r.Text(i, 4);
  t.created_at_ms = r.Int(i, 5);
  t.revoked_at_ms = r.OptInt(i, 6);
  return t;
}

#define ENDPOINT_COLS                                                                          \
  "id, company_id, config, status, disabled_reason, kind, secret, previous_secret, "          \
  "previous_secret_expires, created_at, updated_at, consecutive_failures, failing_since, version"

Endpoint ReadEndpoint(const Rows& r, int i) {
  Endpoint ep;
  ep.id = EndpointId::FromTrusted(r.Text(i, 0));
  ep.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  auto cfg = ParseJson(r.TextView(i, 2));
  if (cfg && cfg->is_object()) EndpointConfigFromJson(cfg->get_object(), ep);
  ep.status = r.TextView(i, 3) == "enabled" ? EndpointStatus::kEnabled : EndpointStatus::kDisabled;
  ep.disabled_reason = ParseDisabledReason(r.TextView(i, 4)).value_or(DisabledReason::kNone);
  ep.kind = ParseEndpointKind(r.TextView(i, 5)).value_or(EndpointKind::kEndpoint);
  ep.secret = r.Text(i, 6);
  ep.previous_secret = r.Text(i, 7);
  ep.previous_secret_expires_at_ms = r.Int(i, 8);
  ep.created_at_ms = r.Int(i, 9);
  ep.updated_at_ms = r.Int(i, 10);
  ep.consecutive_failures = static_cast<int>(r.Int(i, 11));
  ep.failing_since_ms = r.Int(i, 12);
  ep.version = r.Int(i, 13);
  return ep;
}

#define EVENT_COLS "id, company_id, type, subject, occurred_at, created_at, payload, erased_at"

Event ReadEvent(const Rows& r, int i) {
  Event e;
  e.id = EventId::FromTrusted(r.Text(i, 0));
  e.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  e.type = r.Text(i, 2);
  e.subject = r.Text(i, 3);
  e.occurred_at_ms = r.OptInt(i, 4);
  e.created_at_ms = r.Int(i, 5);
  e.payload = r.Bytes(i, 6);
  e.erased = !r.IsNull(i, 7);
  return e;
}

#define DELIVERY_COLS                                                                    \
  "id, company_id, event_id, endpoint_id, status, attempts, next_attempt_at, "          \
  "last_attempt_at, created_at, canceled_reason, replay_id"

Delivery ReadDelivery(const Rows& r, int i) {
  Delivery d;
  d.id = DeliveryId::FromTrusted(r.Text(i, 0));
  d.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  d.event_id = EventId::FromTrusted(r.Text(i, 2));
  d.endpoint_id = EndpointId::FromTrusted(r.Text(i, 3));
  d.status = ParseDeliveryStatus(r.TextView(i, 4)).value_or(DeliveryStatus::kPending);
  d.attempts = static_cast<int>(r.Int(i, 5));
  d.next_attempt_at_ms = r.OptInt(i, 6);
  d.last_attempt_at_ms = r.OptInt(i, 7);
  d.created_at_ms = r.Int(i, 8);
  if (!r.IsNull(i, 9)) d.canceled_reason = r.Text(i, 9);
  if (!r.IsNull(i, 10)) d.replay_id = ReplayId::FromTrusted(r.Text(i, 10));
  return d;
}

Error NotFound(std::string_view what) {
  return Error{ErrorCode::kNotFound, std::string(what) + " not found", {}};
}

// The first row as `read` maps it, or kNotFound("<what> not found").
template <class T, class F>
Result<T> One(Result<Rows> rows, std::string_view what, F read) {
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::unexpected(NotFound(what));
  return read(*rows, 0);
}

template <class T, class F>
Result<std::vector<T>> All(Result<Rows> rows, F read) {
  if (!rows) return std::unexpected(rows.error());
  std::vector<T> out;
  out.reserve(rows->size());
  for (int i = 0; i < rows->size(); ++i) {
    auto v = read(*rows, i);
    if constexpr (std::is_same_v<decltype(v), T>) {
      out.push_back(std::move(v));
    } else {  // a reader that can fail (sealed::Opening)
      if (!v) return std::unexpected(v.error());
      out.push_back(std::move(*v));
    }
  }
  return out;
}

// Sends `payload` on the nodes' channel, inside the caller's transaction (delivered if it
// commits).
Result<void> Notify(Conn& db, const std::string& payload) {
  return db.Send("SELECT pg_notify($1::text, $2::text)", Params().Text(pg::kNoticeChannel).Text(payload));
}

Result<void> NotifyEndpoint(Conn& db, pg::Notice::Kind kind, const std::string& node, const CompanyId& company,
                            const EndpointId& id) {
  return Notify(db, pg::FormatEndpointNotice(kind, node, company, id));
}

// A pending delivery from "d.id, d.company_id, d.event_id, d.endpoint_id, e.subject, d.attempts,
// d.next_attempt_at, d.replay_id IS NOT NULL" (payload not loaded).
PendingDelivery ReadPending(const Rows& r, int i) {
  PendingDelivery p;
  p.id = DeliveryId::FromTrusted(r.Text(i, 0));
  p.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  p.event_id = EventId::FromTrusted(r.Text(i, 2));
  p.endpoint_id = EndpointId::FromTrusted(r.Text(i, 3));
  p.subject = r.Text(i, 4);
  p.attempts = static_cast<int>(r.Int(i, 5));
  p.next_attempt_at_ms = r.OptInt(i, 6).value_or(0);
  p.replay = r.TextView(i, 7) == "t";
  return p;
}

// `ids` as one text[] parameter.
template <class Id>
std::string TextArray(const std::vector<Id>& ids) {
  return pg::ArrayLiteral(ids, [](const Id& id) -> const std::string& { return id.str(); });
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- lifecycle

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                           std::shared_ptr<const FieldCipher> cipher) {
  auto writer = Conn::Open(url, "hookd writer");
  if (!writer) return std::unexpected(writer.error());
  auto store = std::unique_ptr<PostgresStore>(new PostgresStore(url, std::move(*writer)));
  if (cipher) store->cipher_ = std::move(cipher);
  return store;
}

PostgresStore::PostgresStore(std::string url, std::unique_ptr<Conn> writer)
    : url_(std::move(url)),
      node_id_(EventId::New().str().substr(4)),
      address_(HostName() + " pid " + std::to_string(::getpid())),
      writer_db_(std::move(writer)) {
  writer_ = std::thread([this] {
    NameThisThread("hookd-writer");
    WriterLoop();
  });
}

PostgresStore::~PostgresStore() { Close(); }

void PostgresStore::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void PostgresStore::Instrument(metrics::Registry& registry) {
  m_commits_ = &registry.AddCounter("hookd_store_commits_total",
                                    "Group commits: transactions written by the store's single writer.").Get();
  m_writes_ = &registry.AddCounter("hookd_store_writes_total",
                                   "Writes (an ingest request, a batch of delivery outcomes, an API change) "
                                   "in committed groups; divided by hookd_store_commits_total, the mean group size.").Get();
  m_syncs_ = &registry.AddCounter("hookd_store_syncs_total",
                                  "Group commits that waited for the server's WAL flush (synchronous_commit on): "
                                  "all but those of delivery outcomes alone, which a server crash may lose (the "
                                  "deliveries are then sent again).").Get();
  m_sync_seconds_ = &registry.AddHistogram("hookd_store_sync_seconds",
                                           "How long the COMMIT of each of those took — with the statements "
                                           "pipelined before it in the same round trip (a group of ingests: all "
                                           "of them) — including the WAL flush every 202 waits for (and, with "
                                           "several nodes, the wait for the others' commits: PostgreSQL commits "
                                           "transactions that NOTIFY one at a time).",
                                           {}, metrics::kSyncBuckets).Get();
  m_fenced_ = &registry.AddCounter("hookd_fenced_outcomes_total",
                                   "Delivery outcomes refused because this node's lease on their shard had moved "
                                   "on to another node (fencing): the new owner sends those deliveries again.").Get();
}

template <class T>
Result<T> PostgresStore::Write(std::move_only_function<Result<T>(Conn&)> fn, const AuditEntry* audit) {
  if (audit) {
    // The change, then its audit row, in one job: one transaction, undone together.
    fn = [fn = std::move(fn), row = *audit](Conn& db) mutable -> Result<T> {
      auto r = fn(db);
      if (r) TRY(pg::InsertAudit(db, row));
      return r;
    };
  }
  auto state = std::make_shared<std::optional<Result<T>>>();
  std::promise<Result<T>> promise;
  auto fut = promise.get_future();
  Enqueue(Job{[fn = std::move(fn), state](Conn& db) mutable {
                *state = fn(db);
                return state->value().has_value();
              },
              [state, promise = std::move(promise)](const Error* e) mutable {
                if (e) promise.set_value(std::unexpected(*e));
                else promise.set_value(std::move(**state));
              },
              std::nullopt});
  return fut.get();
}

template <class T>
Result<T> PostgresStore::Read(const std::function<Result<T>(Conn&)>& fn) {
  for (int round = 0;; ++round) {
    std::unique_ptr<Conn> db;
    {
      std::lock_guard lock(readers_mu_);
      while (!readers_.empty() && !db) {
        db = std::move(readers_.back());
        readers_.pop_back();
        if (!db->Alive()) db.reset();  // closed by a server restart
      }
    }
    if (!db) {
      auto opened = Conn::Open(url_, "hookd reader");
      if (!opened) return std::unexpected(opened.error());
      db = std::move(*opened);
    }
    Result<T> r = fn(*db);
    if (db->Broken()) {
      // Reads change nothing: one more try on a fresh connection.
      if (round == 0) continue;
      return r;
    }
    if (db->InTransaction()) (void)db->ExecScript("ROLLBACK");
    std::lock_guard lock(readers_mu_);
    if (readers_.size() < 8) readers_.push_back(std::move(db));
    return r;
  }
}

Result<void> PostgresStore::Migrate() {
  return Write<void>([](Conn& db) -> Result<void> {
    // Nodes starting at once migrate one after the other (CREATE TABLE IF NOT EXISTS itself
    // is not safe against a concurrent one). DDL is transactional: a failed migration leaves
    // nothing (its group is undone, see Job).
    TRY(db.Exec("SELECT pg_advisory_xact_lock($1::bigint)", Params().Int(kMigrateLockKey)));
    TRY(db.ExecScript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version text COLLATE \"C\" PRIMARY KEY, "
        "applied_at bigint NOT NULL)"));
    std::vector<EmbeddedFile> files;
    for (const auto& f : migration_files())
      if (f.path.starts_with("postgres/migrations/")) files.push_back(f);
    std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path < b.path; });
    for (const auto& f : files) {
      std::string version(f.path.substr(f.path.rfind('/') + 1));
      EXEC(has, db, "SELECT 1 FROM schema_migrations WHERE version = $1::text", Params().Text(version));
      if (!has.empty()) continue;
      std::string sql(f.data);
      TRY(db.ExecScript(sql.c_str()));
      TRY(db.Exec("INSERT INTO schema_migrations(version, applied_at) VALUES ($1::text, $2::bigint)",
                  Params().Text(version).Int(NowMs())));
      spdlog::info("store: applied migration {}", version);
    }
    return {};
  });
}

Result<void> PostgresStore::Ping() {
  if (writes_failing_.load(std::memory_order_relaxed)) {
    // Writes failed and none has succeeded since: try one (at most once a second, however
    // often readiness is asked). Its success clears the state; until then, not ready.
    std::lock_guard lock(probe_mu_);
    const int64_t now = MonotonicMs();
    if (last_probe_ms_ == 0 || now - last_probe_ms_ >= 1000) {
      last_probe_ms_ = now;
      auto probe = Write<void>([](Conn& db) -> Result<void> {
        TRY(db.Exec("INSERT INTO readiness_probe(data) VALUES (decode(repeat('00', 65536), 'hex'))"));
        TRY(db.Exec("DELETE FROM readiness_probe"));
        return {};
      });
      last_probe_error_.reset();
      if (!probe) last_probe_error_ = probe.error();
    }
    if (last_probe_error_)
      return MakeError(ErrorCode::kUnavailable, "writes to the database fail: " + last_probe_error_->message);
    if (writes_failing_.load(std::memory_order_relaxed))
      return MakeError(ErrorCode::kUnavailable, "writes to the database failed recently");
  }
  return Read<void>([](Conn& db) -> Result<void> {
    TRY(db.Exec("SELECT count(*) FROM schema_migrations"));
    return {};
  });
}

// ---------------------------------------------------------------- companies

Result<void> PostgresStore::InsertCompany(const Company& c, const AuditEntry* audit) {
  return Write<void>([c](Conn& db) -> Result<void> {
    TRY(db.Exec("INSERT INTO companies(id, name, created_at, retention_ms) VALUES ($1::text, $2::text, $3::bigint, "
                "$4::bigint)",
                Params().Text(c.id.str()).Text(c.name).Int(c.created_at_ms).Opt(c.retention_ms)));
    return {};
  }, audit);
}

Result<Company> PostgresStore::GetCompany(const CompanyId& id) {
  return Read<Company>([&](Conn& db) -> Result<Company> {
    return One<Company>(db.Exec("SELECT id, name, created_at, retention_ms FROM companies WHERE id = $1::text",
                                Params().Text(id.str())),
                        "company", ReadCompany);
  });
}

Result<Page<Company>> PostgresStore::ListCompanies(const PageRequest& page) {
  return Read<Page<Company>>([&](Conn& db) -> Result<Page<Company>> {
    const int limit = ClampLimit(page.limit);
    auto out = All<Company>(db.Exec("SELECT id, name, created_at, retention_ms FROM companies "
                                    "WHERE ($1::text = '' OR id < $1::text) ORDER BY id DESC LIMIT $2::bigint",
                                    Params().Text(page.cursor).Int(limit + 1)),
                            ReadCompany);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Company& c) { return c.id.str(); });
  });
}

Result<Company> PostgresStore::SetCompanyRetention(const CompanyId& id, std::optional<int64_t> retention_ms,
                                                   const AuditEntry* audit) {
  return Write<Company>([id, retention_ms](Conn& db) -> Result<Company> {
    return One<Company>(db.Exec("UPDATE companies SET retention_ms = $2::bigint WHERE id = $1::text "
                                "RETURNING id, name, created_at, retention_ms",
                                Params().Text(id.str()).Opt(retention_ms)),
                        "company", ReadCompany);
  }, audit);
}

Result<std::vector<Company>> PostgresStore::CompaniesWithOwnRetention() {
  return Read<std::vector<Company>>([](Conn& db) -> Result<std::vector<Company>> {
    return All<Company>(db.Exec("SELECT id, name, created_at, retention_ms FROM companies "
                                "WHERE retention_ms IS NOT NULL ORDER BY id"),
                        ReadCompany);
  });
}

// ---------------------------------------------------------------- tokens

Result<void> PostgresStore::InsertToken(const ApiToken& t, const AuditEntry* audit) {
  return Write<void>([t](Conn& db) -> Result<void> {
    Params p;
    p.Text(t.id.str());
    if (t.company_id) p.Text(t.company_id->str());
    else p.Null();
    p.Text(t.hash).Text(ScopesToString(t.scopes)).Text(t.description).Int(t.created_at_ms).Opt(t.revoked_at_ms);
    TRY(db.Exec("INSERT INTO tokens(id, company_id, hash, scopes, description, created_at, revoked_at) "
                "VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::bigint)",
                p));
    return {};
  }, audit);
}

Result<ApiToken> PostgresStore::FindTokenByHash(std::string_view hash) {
  return Read<ApiToken>([&](Conn& db) -> Result<ApiToken> {
    static const std::string sql = std::string("SELECT ") + kTokenCols + " FROM tokens WHERE hash = $1::text";
    return One<ApiToken>(db.Exec(sql.c_str(), Params().Text(hash)), "token", ReadToken);
  });
}

Result<void> PostgresStore::RevokeToken(const CompanyId& company, const TokenId& id, const AuditEntry* audit) {
  return Write<void>([company, id, node = node_id_](Conn& db) -> Result<void> {
    EXEC(u, db,
         "UPDATE tokens SET revoked_at = $1::bigint WHERE id = $2::text AND company_id = $3::text "
         "AND revoked_at IS NULL",
         Params().Int(NowMs()).Text(id.str()).Text(company.str()));
    if (u.Affected() == 0) return std::unexpected(NotFound("token"));
    TRY(Notify(db, pg::FormatNotice(pg::Notice::Kind::kTokens, node)));
    return {};
  }, audit);
}

Result<bool> PostgresStore::HasOperatorToken() {
  return Read<bool>([](Conn& db) -> Result<bool> {
    EXEC(r, db, "SELECT 1 FROM tokens WHERE company_id IS NULL AND revoked_at IS NULL LIMIT 1", Params());
    return !r.empty();
  });
}

Result<int64_t> PostgresStore::RevokeOperatorTokens(const std::optional<std::string>& keep, int64_t now_ms) {
  return Write<int64_t>([keep, now_ms, node = node_id_](Conn& db) -> Result<int64_t> {
    EXEC(u, db,
         "UPDATE tokens SET revoked_at = $1::bigint WHERE company_id IS NULL AND revoked_at IS NULL "
         "AND ($2::text IS NULL OR hash <> $2::text)",
         Params().Int(now_ms).Opt(keep));
    if (u.Affected() > 0) TRY(Notify(db, pg::FormatNotice(pg::Notice::Kind::kTokens, node)));
    return u.Affected();
  });
}

Result<ApiToken> PostgresStore::RevokeAnyToken(const TokenId& id, int64_t now_ms) {
  return Write<ApiToken>([id, now_ms, node = node_id_](Conn& db) -> Result<ApiToken> {
    static const std::string sql = std::string("UPDATE tokens SET revoked_at = $1::bigint WHERE id = $2::text "
                                               "AND revoked_at IS NULL RETURNING ") + kTokenCols;
    auto t = One<ApiToken>(db.Exec(sql.c_str(), Params().Int(now_ms).Text(id.str())), "token", ReadToken);
    if (t) TRY(Notify(db, pg::FormatNotice(pg::Notice::Kind::kTokens, node)));
    return t;
  });
}

Result<std::vector<ApiToken>> PostgresStore::AllTokens() {
  return Read<std::vector<ApiToken>>([](Conn& db) -> Result<std::vector<ApiToken>> {
    static const std::string sql = std::string("SELECT ") + kTokenCols + " FROM tokens ORDER BY id";
    return All<ApiToken>(db.Exec(sql.c_str()), ReadToken);
  });
}

// ---------------------------------------------------------------- event types

Result<void> PostgresStore::InsertEventType(const EventTypeDef& def, const AuditEntry* audit) {
  return Write<void>([def, node = node_id_](Conn& db) -> Result<void> {
    TRY(db.Exec("INSERT INTO event_types(name, description, schema, example, subject_pointer, created_at) "
                "VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint)",
                Params().Text(def.name).Text(def.description).Text(ToJson(def.schema)).Text(ToJson(def.example))
                    .Text(def.subject_pointer).Int(def.created_at_ms)));
    TRY(Notify(db, pg::FormatNotice(pg::Notice::Kind::kEventTypes, node)));
    return {};
  }, audit);
}

Result<std::vector<EventTypeDef>> PostgresStore::ListEventTypes() {
  return Read<std::vector<EventTypeDef>>([](Conn& db) -> Result<std::vector<EventTypeDef>> {
    return All<EventTypeDef>(
        db.Exec("SELECT name, description, schema, example, subject_pointer, created_at "
                "FROM event_types ORDER BY name"),
        [](const Rows& r, int i) {
          EventTypeDef d;
          d.name = r.Text(i, 0);
          d.description = r.Text(i, 1);
          // As deep as the API took them (ParseJson's limits, not Boost's default depth of 32).
          auto schema = ParseJson(r.TextView(i, 2));
          auto example = ParseJson(r.TextView(i, 3));
          if (schema) d.schema = std::move(*schema);
          if (example) d.example = std::move(*example);
          d.subject_pointer = r.Text(i, 4);
          d.created_at_ms = r.Int(i, 5);
          d.builtin = false;
          return d;
        });
  });
}

// ---------------------------------------------------------------- endpoints

Result<void> PostgresStore::InsertEndpoint(const Endpoint& plain, const AuditEntry* audit) {
  Endpoint ep = plain;
  sealed::Seal(*cipher_, ep);
  return Write<void>([ep = std::move(ep), node = node_id_](Conn& db) -> Result<void> {
    TRY(db.Exec("INSERT INTO endpoints(id, company_id, config, status, disabled_reason, kind, secret, "
                "previous_secret, previous_secret_expires, created_at, updated_at, "
                "consecutive_failures, failing_since) VALUES ($1::text, $2::text, $3::text, $4::text, "
                "$5::text, $6::text, $7::text, $8::text, $9::bigint, $10::bigint, $11::bigint, $12::integer, "
                "$13::bigint)",
                Params()
                    .Text(ep.id.str())
                    .Text(ep.company_id.str())
                    .Text(ToJson(EndpointConfigToJson(ep)))
                    .Text(ToString(ep.status))
                    .Text(ToString(ep.disabled_reason))
                    .Text(ToString(ep.kind))
                    .Text(ep.secret)
                    .Text(ep.previous_secret)
                    .Int(ep.previous_secret_expires_at_ms)
                    .Int(ep.created_at_ms)
                    .Int(ep.updated_at_ms)
                    .Int(ep.consecutive_failures)
                    .Int(ep.failing_since_ms)));
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, ep.company_id, ep.id));
    return {};
  }, audit);
}

namespace {

// After a conditional endpoint UPDATE changed nothing: kNotFound when the row is not there,
// kConflict when it is, at another version.
Error MissingOrStale(Conn& db, const CompanyId& company, const EndpointId& id) {
  auto q = db.Exec("SELECT version FROM endpoints WHERE id = $1::text AND company_id = $2::text",
                   Params().Text(id.str()).Text(company.str()));
  if (!q) return q.error();
  if (q->empty()) return NotFound("endpoint");
  return Error{ErrorCode::kConflict, "the endpoint was changed meanwhile", {}};
}

}  // namespace

Result<int64_t> PostgresStore::UpdateEndpointConfig(const Endpoint& ep, int64_t if_version, const AuditEntry* audit) {
  return Write<int64_t>([ep, if_version, node = node_id_](Conn& db) -> Result<int64_t> {
    EXEC(u, db,
         "UPDATE endpoints SET config = $3::text, updated_at = $4::bigint, version = version + 1 "
         "WHERE id = $1::text AND company_id = $2::text AND version = $5::bigint",
         Params().Text(ep.id.str()).Text(ep.company_id.str()).Text(ToJson(EndpointConfigToJson(ep)))
             .Int(ep.updated_at_ms).Int(if_version));
    if (u.Affected() == 0) return std::unexpected(MissingOrStale(db, ep.company_id, ep.id));
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, ep.company_id, ep.id));
    return if_version + 1;
  }, audit);
}

Result<Endpoint> PostgresStore::RotateEndpointSecret(const CompanyId& company, const EndpointId& id,
                                                     const std::string& new_secret, int64_t grace_ms,
                                                     int64_t now_ms, const AuditEntry* audit) {
  return Write<Endpoint>([this, company, id, new_secret = cipher_->SealText(new_secret, sealed::SecretAad(id.str())),
                          grace_ms, now_ms, node = node_id_](Conn& db) -> Result<Endpoint> {
    auto ep = One<Endpoint>(
        db.Exec("UPDATE endpoints SET previous_secret = CASE WHEN $3::bigint > 0 THEN secret ELSE '' END, "
                "previous_secret_expires = CASE WHEN $3::bigint > 0 THEN $4::bigint + $3::bigint ELSE 0 END, "
                "secret = $5::text, updated_at = $4::bigint, version = version + 1 "
                "WHERE id = $1::text AND company_id = $2::text RETURNING " ENDPOINT_COLS,
                Params().Text(id.str()).Text(company.str()).Int(grace_ms).Int(now_ms).Text(new_secret)),
        "endpoint", sealed::Opening(*cipher_, ReadEndpoint));
    if (ep) TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, company, id));
    return ep;
  }, audit);
}

Result<void> PostgresStore::DeleteEndpoint(const CompanyId& company, const EndpointId& id, const AuditEntry* audit) {
  return Write<void>([company, id, node = node_id_](Conn& db) -> Result<void> {
    EXEC(d, db, "DELETE FROM endpoints WHERE id = $1::text AND company_id = $2::text",
         Params().Text(id.str()).Text(company.str()));
    if (d.Affected() == 0) return std::unexpected(NotFound("endpoint"));
    // Pending and held deliveries of a deleted endpoint are dropped (SPEC §4); finished ones
    // stay as history.
    TRY(db.Exec("DELETE FROM deliveries WHERE endpoint_id = $1::text AND status IN ('pending', 'held')",
                Params().Text(id.str())));
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, company, id));
    return {};
  }, audit);
}

Result<Endpoint> PostgresStore::GetEndpoint(const CompanyId& company, const EndpointId& id) {
  return Read<Endpoint>([&](Conn& db) -> Result<Endpoint> {
    return One<Endpoint>(db.Exec("SELECT " ENDPOINT_COLS " FROM endpoints WHERE id = $1::text AND company_id = $2::text",
                                 Params().Text(id.str()).Text(company.str())),
                         "endpoint", sealed::Opening(*cipher_, ReadEndpoint));
  });
}

Result<Page<Endpoint>> PostgresStore::ListEndpoints(const CompanyId& company, const PageRequest& page) {
  return Read<Page<Endpoint>>([&](Conn& db) -> Result<Page<Endpoint>> {
    const int limit = ClampLimit(page.limit);
    auto out = All<Endpoint>(
        db.Exec("SELECT " ENDPOINT_COLS " FROM endpoints WHERE company_id = $1::text "
                "AND ($2::text = '' OR id < $2::text) ORDER BY id DESC LIMIT $3::bigint",
                Params().Text(company.str()).Text(page.cursor).Int(limit + 1)),
        sealed::Opening(*cipher_, ReadEndpoint));
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Endpoint& e) { return e.id.str(); });
  });
}

Result<std::vector<Endpoint>> PostgresStore::AllEndpoints(const std::optional<CompanyId>& company) {
  return Read<std::vector<Endpoint>>([&](Conn& db) -> Result<std::vector<Endpoint>> {
    return All<Endpoint>(db.Exec("SELECT " ENDPOINT_COLS " FROM endpoints "
                                 "WHERE ($1::text = '' OR company_id = $1::text) ORDER BY id",
                                 Params().Text(company ? company->str() : std::string())),
                         sealed::Opening(*cipher_, ReadEndpoint));
  });
}

Result<int64_t> PostgresStore::EnableEndpoint(const CompanyId& company, const EndpointId& id,
                                              bool release_held, int64_t now_ms, const AuditEntry* audit) {
  return Write<int64_t>([=, node = node_id_](Conn& db) -> Result<int64_t> {
    EXEC(u, db,
         "UPDATE endpoints SET status = 'enabled', disabled_reason = '', updated_at = $1::bigint "
         "WHERE id = $2::text AND company_id = $3::text",
         Params().Int(now_ms).Text(id.str()).Text(company.str()));
    if (u.Affected() == 0) return std::unexpected(NotFound("endpoint"));
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, company, id));
    if (!release_held) return int64_t{0};
    EXEC(d, db,
         "UPDATE deliveries SET status = 'pending', next_attempt_at = $1::bigint "
         "WHERE endpoint_id = $2::text AND status = 'held'",
         Params().Int(now_ms).Text(id.str()));
    return d.Affected();
  }, audit);
}

Result<int64_t> PostgresStore::RecoverDeliveries(const CompanyId& company, const EndpointId& id,
                                                 int64_t since_ms, int64_t now_ms, const AuditEntry* audit) {
  return Write<int64_t>([=, node = node_id_](Conn& db) -> Result<int64_t> {
    EXEC(e, db, "SELECT 1 FROM endpoints WHERE id = $1::text AND company_id = $2::text",
         Params().Text(id.str()).Text(company.str()));
    if (e.empty()) return std::unexpected(NotFound("endpoint"));
    EXEC(d, db,
         "UPDATE deliveries SET status = 'pending', next_attempt_at = $1::bigint "
         "WHERE endpoint_id = $2::text AND status = 'failed' AND created_at >= $3::bigint",
         Params().Int(now_ms).Text(id.str()).Int(since_ms));
    if (d.Affected() > 0) TRY(NotifyEndpoint(db, pg::Notice::Kind::kRequeued, node, company, id));
    return d.Affected();
  }, audit);
}

// ---------------------------------------------------------------- events

namespace {

// The rows of `reqs`' events and deliveries, in one multi-row statement per table (through
// unnest) whatever their number — a fan-out of 100 events to 50 endpoints was 5,100 round trips,
// and a group of 64 single POSTs 192 — and the notices that wake the nodes owning the
// endpoints' shards (they hear of them with the commit).
// An ingest's rows, and per event what its notice carries (null, or an empty list: by id).
struct IngestRows {
  const IngestRequest* req;
  const std::vector<std::shared_ptr<const pg::NoticeEvent>>* carried;
};

// The notices go to `notices`, for the writer to send once the group committed.
Result<void> InsertIngested(Conn& db, std::span<const IngestRows> ingests, const std::string& node,
                            std::vector<std::string>& notices) {
  std::vector<pg::NoticeDelivery> ready;
  std::vector<std::optional<std::string>> e_id, e_company, e_type, e_subject, e_occurred, e_created;
  std::vector<std::string_view> e_payload;
  std::vector<std::optional<std::string>> d_id, d_company, d_event, d_endpoint, d_status, d_next, d_created;
  for (const auto& [req, carried_events] : ingests) {
    for (size_t k = 0; k < req->events.size(); ++k) {
      const NewEvent& ne = req->events[k];
      const Event& e = ne.event;
      const pg::NoticeEvent* carried = carried_events->empty() ? nullptr : (*carried_events)[k].get();
      e_id.emplace_back(e.id.str());
      e_company.emplace_back(e.company_id.str());
      e_type.emplace_back(e.type);
      e_subject.emplace_back(e.subject);
      e_occurred.emplace_back(e.occurred_at_ms ? std::optional(std::to_string(*e.occurred_at_ms)) : std::nullopt);
      e_created.emplace_back(std::to_string(e.created_at_ms));
      e_payload.emplace_back(e.payload);
      for (const Delivery& d : ne.deliveries) {
        d_id.emplace_back(d.id.str());
        d_company.emplace_back(d.company_id.str());
        d_event.emplace_back(d.event_id.str());
        d_endpoint.emplace_back(d.endpoint_id.str());
        d_status.emplace_back(std::string(ToString(d.status)));
        d_next.emplace_back(d.next_attempt_at_ms ? std::optional(std::to_string(*d.next_attempt_at_ms)) : std::nullopt);
        d_created.emplace_back(std::to_string(d.created_at_ms));
        if (d.status != DeliveryStatus::kPending) continue;
        const bool as_carried = carried && carried->due_ms == d.next_attempt_at_ms.value_or(0);
        ready.push_back({LeaseShardOf(d.endpoint_id), d.id, d.endpoint_id,
                         as_carried ? (*carried_events)[k] : nullptr});
      }
    }
  }
  if (e_id.size() == 1) {  // one POST written alone: no arrays to build on either side
    const Event& e = ingests.front().req->events.front().event;
    TRY(db.Send("INSERT INTO events(id, company_id, type, subject, occurred_at, created_at, payload) "
                "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::bigint, $7::bytea)",
                Params().Text(e.id.str()).Text(e.company_id.str()).Text(e.type).Text(e.subject)
                    .Opt(e.occurred_at_ms).Int(e.created_at_ms).Bytes(e.payload)));
  } else if (!e_id.empty()) {
    TRY(db.Send("INSERT INTO events(id, company_id, type, subject, occurred_at, created_at, payload) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], "
                "$6::bigint[], $7::bytea[])",
                Params().Text(pg::NullableArrayLiteral(e_id)).Text(pg::NullableArrayLiteral(e_company))
                    .Text(pg::NullableArrayLiteral(e_type)).Text(pg::NullableArrayLiteral(e_subject))
                    .Text(pg::NullableArrayLiteral(e_occurred)).Text(pg::NullableArrayLiteral(e_created))
                    .Text(pg::ByteaArrayLiteral(e_payload))));
  }
  if (!d_id.empty()) {
    TRY(db.Send("INSERT INTO deliveries(id, company_id, event_id, endpoint_id, status, attempts, "
                "next_attempt_at, last_attempt_at, created_at) SELECT u.id, u.company_id, u.event_id, "
                "u.endpoint_id, u.status, 0, u.next_at, NULL, u.created_at FROM unnest($1::text[], "
                "$2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) "
                "AS u(id, company_id, event_id, endpoint_id, status, next_at, created_at)",
                Params().Text(pg::NullableArrayLiteral(d_id)).Text(pg::NullableArrayLiteral(d_company))
                    .Text(pg::NullableArrayLiteral(d_event)).Text(pg::NullableArrayLiteral(d_endpoint))
                    .Text(pg::NullableArrayLiteral(d_status)).Text(pg::NullableArrayLiteral(d_next))
                    .Text(pg::NullableArrayLiteral(d_created))));
  }
  for (auto& notice : pg::FormatDeliveryNotices(pg::Notice::Kind::kReady, node, ready))
    notices.push_back(std::move(notice));
  return {};
}

}  // namespace

bool PostgresStore::IngestWork::Mergeable() const { return !req.idempotency_key && !req.audit; }

bool PostgresStore::ApplyMerged(Conn& db, std::span<Job> jobs, std::vector<std::string>& notices) {
  std::vector<IngestRows> ingests;
  std::vector<const DeliveryUpdate*> updates;
  std::vector<const EndpointHealth*> health;
  for (const Job& job : jobs) {
    if (job.ingest) {
      job.ingest->notices.clear();  // theirs go to `notices`
      ingests.push_back({&job.ingest->req, &job.ingest->carried});
    }
    if (job.outcomes) {
      for (const DeliveryUpdate& u : job.outcomes->updates) updates.push_back(&u);
      for (const EndpointHealth& h : job.outcomes->health) health.push_back(&h);
    }
  }
  Result<void> written;
  if (!ingests.empty()) written = InsertIngested(db, ingests, node_id_, notices);
  if (written && (!updates.empty() || !health.empty())) written = WriteOutcomes(db, updates, health);
  for (Job& job : jobs) {
    if (job.ingest) {
      if (written) job.ingest->result = IngestResult{false, {}};
      else job.ingest->result = std::unexpected(written.error());
    }
    if (job.outcomes) job.outcomes->result = written;
  }
  return written.has_value();
}

void PostgresStore::KeepAcceptedDeliveries(bool keep) {
  std::lock_guard lock(accepted_mu_);
  keep_accepted_ = keep;
  if (!keep) accepted_.clear();
}

std::optional<PendingDelivery> PostgresStore::TakeAccepted(const DeliveryId& id) {
  std::lock_guard lock(accepted_mu_);
  auto it = accepted_.find(id.str());
  if (it == accepted_.end()) return std::nullopt;
  PendingDelivery p = std::move(it->second);
  accepted_.erase(it);
  return p;
}

std::shared_ptr<const std::string> PostgresStore::OpenCarriedPayload(const pg::NoticeEvent& e) const {
  auto stored = e.Payload();
  if (!stored) return nullptr;  // not base64 (not a notice of ours): read back
  auto payload = cipher_->OpenBytes(*stored, sealed::PayloadAad(e.id.str()));
  if (!payload) {
    if (auto v = carried_open_log_.Check("open", MonotonicMs()))
      spdlog::warn("cluster: cannot open the payload a notice carried for event {} ({}); reading it back{}",
                   e.id.str(), payload.error().message, v.Suffix());
    return nullptr;
  }
  return std::make_shared<const std::string>(std::move(*payload));
}

void PostgresStore::ForgetAccepted() {
  std::lock_guard lock(accepted_mu_);
  accepted_.clear();
}

void PostgresStore::Ingest(IngestRequest req, IngestCallback done) {
  // Kept for this node's listener before the commit (its notice may be read before the writer
  // has even seen COMMIT return), with the payload as sent, not sealed.
  std::vector<std::string> kept;
  if (keep_accepted_.load(std::memory_order_relaxed)) {  // no lock taken when nobody listens
    std::lock_guard lock(accepted_mu_);
    size_t pending = 0;
    for (const NewEvent& ne : req.events)
      for (const Delivery& d : ne.deliveries) pending += d.status == DeliveryStatus::kPending;
    if (keep_accepted_ && pending > 0 && accepted_.size() + pending <= kMaxAccepted) {
      for (const NewEvent& ne : req.events) {
        std::shared_ptr<const std::string> payload;
        for (const Delivery& d : ne.deliveries) {
          if (d.status != DeliveryStatus::kPending) continue;
          if (!payload) payload = std::make_shared<const std::string>(ne.event.payload);
          kept.push_back(d.id.str());
          accepted_.insert_or_assign(kept.back(),
                                     PendingDelivery{d.id, d.company_id, d.event_id, d.endpoint_id, ne.event.subject, 0,
                                                     d.next_attempt_at_ms.value_or(0), payload});
        }
      }
    }
  }
  for (NewEvent& ne : req.events) sealed::Seal(*cipher_, ne.event);  // here, not on the writer thread
  std::vector<std::shared_ptr<const pg::NoticeEvent>> carried;  // likewise: encoded here
  if (carry_events_.load(std::memory_order_relaxed)) {
    for (const NewEvent& ne : req.events) {
      auto pending = std::find_if(ne.deliveries.begin(), ne.deliveries.end(),
                                  [](const Delivery& d) { return d.status == DeliveryStatus::kPending; });
      carried.push_back(pending == ne.deliveries.end()
                            ? nullptr
                            : pg::NoticeEvent::Carry(ne.event.company_id, ne.event.id,
                                                     pending->next_attempt_at_ms.value_or(0), ne.event.subject,
                                                     ne.event.payload));
    }
  }
  auto work = std::make_shared<IngestWork>(IngestWork{std::move(req), node_id_, std::move(carried), std::nullopt});
  Enqueue(Job{
      [work](Conn& db) mutable -> bool {
        const IngestRequest& req = work->req;
        work->notices.clear();
        auto run = [&]() -> Result<IngestResult> {
          const int64_t now = NowMs();
          if (req.idempotency_key) {
            EXEC(q, db,
                 "SELECT request_hash, response, created_at FROM idempotency_keys "
                 "WHERE company_id = $1::text AND key = $2::text",
                 Params().Text(req.company.str()).Text(*req.idempotency_key));
            if (!q.empty() && q.Int(0, 2) > now - kIdempotencyWindowMs) {
              if (q.TextView(0, 0) != req.request_hash)
                return std::unexpected(Error{ErrorCode::kConflict,
                                             "this Idempotency-Key was already used with a different request body",
                                             {}});
              return IngestResult{true, q.Text(0, 1)};
            }
          }
          const IngestRows one[] = {{&req, &work->carried}};
          TRY(InsertIngested(db, one, work->node, work->notices));
          if (req.idempotency_key) {
            TRY(db.Exec("INSERT INTO idempotency_keys(company_id, key, request_hash, response, created_at, subjects) "
                        "VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text) "
                        "ON CONFLICT (company_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
                        "response = EXCLUDED.response, created_at = EXCLUDED.created_at, subjects = EXCLUDED.subjects",
                        Params().Text(req.company.str()).Text(*req.idempotency_key).Text(req.request_hash)
                            .Text(req.response_body).Int(now).Text(erasure_rows::IdempotencySubjects(req))));
          }
          if (req.audit) TRY(pg::InsertAudit(db, *req.audit));
          return IngestResult{false, {}};
        };
        work->result = run();
        return work->result->has_value();
      },
      [this, work, kept = std::move(kept), done = std::move(done)](const Error* e) mutable {
        if (!kept.empty() && (e || !*work->result || (*work->result)->replayed)) {
          std::lock_guard lock(accepted_mu_);  // not committed (or not by this request): no notice
          for (const std::string& id : kept) accepted_.erase(id);
        }
        if (e) done(std::unexpected(*e));
        else done(std::move(*work->result));
      },
      std::nullopt, work, nullptr});
}

Result<Event> PostgresStore::GetEvent(const CompanyId& company, const EventId& id) {
  return Read<Event>([&](Conn& db) -> Result<Event> {
    return One<Event>(db.Exec("SELECT " EVENT_COLS " FROM events WHERE id = $1::text AND company_id = $2::text",
                              Params().Text(id.str()).Text(company.str())),
                      "event", sealed::Opening(*cipher_, ReadEvent));
  });
}

Result<Page<Event>> PostgresStore::ListEvents(const CompanyId& company, const EventQuery& q,
                                              const PageRequest& page) {
  return Read<Page<Event>>([&](Conn& db) -> Result<Page<Event>> {
    const int limit = ClampLimit(page.limit);
    Params p;
    p.Text(company.str()).Text(page.cursor).Opt(q.type).Opt(q.subject).Opt(q.after_ms).Opt(q.before_ms);
    if (q.delivery_endpoint_id) p.Text(q.delivery_endpoint_id->str());
    else p.Null();
    if (q.delivery_status) p.Text(ToString(*q.delivery_status));
    else p.Null();
    p.Int(limit + 1);
    static const char* const kCols = EVENT_COLS;
    auto out = All<Event>(db.Exec(store_sql::EventList(store_sql::Dialect::kPostgres, kCols, q), p),
                          sealed::Opening(*cipher_, ReadEvent));
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Event& e) { return e.id.str(); });
  });
}

// ---------------------------------------------------------------- deliveries

Result<Delivery> PostgresStore::GetDelivery(const CompanyId& company, const DeliveryId& id) {
  return Read<Delivery>([&](Conn& db) -> Result<Delivery> {
    return One<Delivery>(
        db.Exec("SELECT " DELIVERY_COLS " FROM deliveries WHERE id = $1::text AND company_id = $2::text",
                Params().Text(id.str()).Text(company.str())),
        "delivery", ReadDelivery);
  });
}

Result<Page<Delivery>> PostgresStore::ListDeliveries(const CompanyId& company, const DeliveryQuery& q,
                                                     const PageRequest& page) {
  return Read<Page<Delivery>>([&](Conn& db) -> Result<Page<Delivery>> {
    const int limit = ClampLimit(page.limit);
    Params p;
    p.Text(company.str()).Text(page.cursor);
    if (q.endpoint_id) p.Text(q.endpoint_id->str());
    else p.Null();
    if (q.event_id) p.Text(q.event_id->str());
    else p.Null();
    if (q.status) p.Text(ToString(*q.status));
    else p.Null();
    p.Opt(q.after_ms).Opt(q.before_ms).Opt(q.event_type).Opt(q.subject).Int(limit + 1);
    static const char* const kCols = DELIVERY_COLS;
    auto out = All<Delivery>(db.Exec(store_sql::DeliveryList(store_sql::Dialect::kPostgres, kCols, q), p),
                             ReadDelivery);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Delivery& d) { return d.id.str(); });
  });
}

Result<Page<Attempt>> PostgresStore::ListAttempts(const CompanyId& company, const DeliveryId& id,
                                                  const PageRequest& page) {
  return Read<Page<Attempt>>([&](Conn& db) -> Result<Page<Attempt>> {
    const int limit = ClampLimit(page.limit);
    auto out = All<Attempt>(
        db.Exec("SELECT id, delivery_id, number, started_at, duration_ms, status_code, error, "
                "response_headers, response_body, error_detail, request_headers FROM attempts "
                "WHERE delivery_id = $1::text AND company_id = $2::text AND ($3::text = '' OR id < $3::text) "
                "ORDER BY id DESC LIMIT $4::bigint",
                Params().Text(id.str()).Text(company.str()).Text(page.cursor).Int(limit + 1)),
        sealed::Opening(*cipher_, [](const Rows& r, int i) {
          Attempt a;
          a.id = AttemptId::FromTrusted(r.Text(i, 0));
          a.delivery_id = DeliveryId::FromTrusted(r.Text(i, 1));
          a.number = static_cast<int>(r.Int(i, 2));
          a.started_at_ms = r.Int(i, 3);
          a.duration_ms = r.Int(i, 4);
          if (!r.IsNull(i, 5)) a.status_code = static_cast<int>(r.Int(i, 5));
          if (!r.IsNull(i, 6)) a.error = r.Text(i, 6);
          a.response_headers = r.Text(i, 7);
          a.response_body = r.Bytes(i, 8);
          a.error_detail = r.Text(i, 9);
          a.request_headers = r.Text(i, 10);
          return a;
        }));
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Attempt& a) { return a.id.str(); });
  });
}

Result<std::vector<OrderingBlocker>> PostgresStore::OrderingBlockers(const CompanyId& company,
                                                                    const std::vector<DeliveryId>& ids) {
  using Out = std::vector<OrderingBlocker>;
  return Read<Out>([&](Conn& db) -> Result<Out> {
    Out out;
    if (ids.empty()) return out;
    // One round trip for the page. Per delivery: the subject's events (events_subject), their
    // deliveries to the same endpoint (deliveries_event) — one employee's history.
    EXEC(r, db,
         "SELECT w.id, x.subject, x.bid, x.attempts, x.next_attempt_at, x.ahead "
         "FROM unnest($2::text[]) WITH ORDINALITY AS w(id, n) CROSS JOIN LATERAL ("
         "SELECT e.subject, b.id AS bid, b.attempts, b.next_attempt_at, count(*) OVER () AS ahead "
         "FROM deliveries d JOIN events e ON e.id = d.event_id "
         "JOIN events be ON be.company_id = e.company_id AND be.subject = e.subject "
         "JOIN deliveries b ON b.event_id = be.id AND b.endpoint_id = d.endpoint_id "
         "WHERE d.id = w.id AND d.company_id = $1::text AND d.status = 'pending' AND e.subject <> '' "
         "AND b.id < d.id AND b.status = 'pending' ORDER BY b.id LIMIT 1) x ORDER BY w.n",
         Params().Text(company.str()).Text(TextArray(ids)));
    out.reserve(r.size());
    for (int i = 0; i < r.size(); ++i)
      out.push_back(OrderingBlocker{DeliveryId::FromTrusted(r.Text(i, 0)), r.Text(i, 1),
                                    DeliveryId::FromTrusted(r.Text(i, 2)), static_cast<int>(r.Int(i, 3)),
                                    r.OptInt(i, 4), r.Int(i, 5)});
    return out;
  });
}

Result<std::vector<AttemptStatsBucket>> PostgresStore::EndpointAttemptStats(
    const CompanyId& company, const EndpointId& id, int64_t since_ms, int64_t until_ms, int64_t bucket_ms) {
  if (bucket_ms <= 0) return std::unexpected(Error{ErrorCode::kInvalidArgument, "bucket must be positive", {}});
  using Buckets = std::vector<AttemptStatsBucket>;
  return Read<Buckets>([&](Conn& db) -> Result<Buckets> {
    EXEC(e, db, "SELECT 1 FROM endpoints WHERE id = $1::text AND company_id = $2::text",
         Params().Text(id.str()).Text(company.str()));
    if (e.empty()) return std::unexpected(NotFound("endpoint"));
    // A delivery's last_attempt_at is the end of its latest attempt, so deliveries whose
    // last attempt ended before the window cannot have attempts in it.
    return All<AttemptStatsBucket>(
        db.Exec("SELECT (a.started_at - $3::bigint) / $5::bigint AS b, count(*), "
                "count(*) FILTER (WHERE a.error IS NULL), sum(a.duration_ms)::bigint, max(a.duration_ms) "
                "FROM deliveries d JOIN attempts a ON a.delivery_id = d.id "
                "WHERE d.endpoint_id = $1::text AND d.company_id = $2::text AND d.last_attempt_at >= $3::bigint "
                "AND a.started_at >= $3::bigint AND a.started_at < $4::bigint GROUP BY b ORDER BY b",
                Params().Text(id.str()).Text(company.str()).Int(since_ms).Int(until_ms).Int(bucket_ms)),
        [&](const Rows& r, int i) {
          return AttemptStatsBucket{since_ms + r.Int(i, 0) * bucket_ms, r.Int(i, 1), r.Int(i, 2), r.Int(i, 3),
                                    r.Int(i, 4)};
        });
  });
}

Result<Delivery> PostgresStore::RequeueDelivery(const CompanyId& company, const DeliveryId& id, int64_t now_ms,
                                                const AuditEntry* audit) {
  return Write<Delivery>([=, node = node_id_](Conn& db) -> Result<Delivery> {
    auto d = One<Delivery>(
        db.Exec("UPDATE deliveries SET status = 'pending', next_attempt_at = $1::bigint "
                "WHERE id = $2::text AND company_id = $3::text AND status <> 'canceled' RETURNING " DELIVERY_COLS,
                Params().Int(now_ms).Text(id.str()).Text(company.str())),
        "delivery", ReadDelivery);
    if (!d && d.error().code == ErrorCode::kNotFound) {
      EXEC(q, db, "SELECT 1 FROM deliveries WHERE id = $1::text AND company_id = $2::text",
           Params().Text(id.str()).Text(company.str()));
      if (!q.empty())
        return MakeError(ErrorCode::kConflict, "the delivery was canceled (its event was erased): there is nothing to send");
    }
    if (!d) return d;
    for (const auto& notice : pg::FormatDeliveryNotices(pg::Notice::Kind::kRetry, node,
                                                        {{LeaseShardOf(d->endpoint_id), d->id}}))
      TRY(Notify(db, notice));
    return d;
  }, audit);
}

// ---------------------------------------------------------------- dispatch

Result<DispatchStore::PendingPage> PostgresStore::LoadPending(const EndpointId& endpoint, const std::string& after,
                                                             int scan_limit) {
  return Read<PendingPage>([&](Conn& db) -> Result<PendingPage> {
    PendingPage page;
    // The window: the endpoint's next `scan_limit` deliveries, off deliveries_endpoint.
    EXEC(w, db,
         "SELECT id FROM deliveries WHERE endpoint_id = $1::text AND id > $2::text ORDER BY id "
         "LIMIT 1 OFFSET $3::bigint",
         Params().Text(endpoint.str()).Text(after).Int(std::max(1, scan_limit) - 1));
    if (!w.empty()) page.next_after = w.Text(0, 0);
    // Its pending ones; without a window end, the rest of the endpoint (under scan_limit
    // rows): "dlv_~" sorts after every delivery id (byte order: the columns are COLLATE "C").
    auto rows = All<PendingDelivery>(
        db.Exec("SELECT d.id, d.company_id, d.event_id, d.endpoint_id, e.subject, d.attempts, d.next_attempt_at, "
                "d.replay_id IS NOT NULL FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = $2::text "
                "AND d.id > $1::text AND d.id <= $3::text AND d.status = 'pending' ORDER BY d.id",
                Params().Text(after).Text(endpoint.str()).Text(page.next_after.empty() ? "dlv_~" : page.next_after)),
        ReadPending);
    if (!rows) return std::unexpected(rows.error());
    page.deliveries = std::move(*rows);
    return page;
  });
}

Result<std::vector<std::pair<EventId, std::string>>> PostgresStore::LoadPayloads(const std::vector<EventId>& ids) {
  using Out = std::vector<std::pair<EventId, std::string>>;
  return Read<Out>([&](Conn& db) -> Result<Out> {
    Out out;
    if (ids.empty()) return out;
    out.reserve(ids.size());
    // One round trip: the ids as one bound text[].
    EXEC(r, db, "SELECT id, payload FROM events WHERE id = ANY($1::text[]) AND erased_at IS NULL", Params().Text(TextArray(ids)));
    for (int i = 0; i < r.size(); ++i) {
      auto id = EventId::FromTrusted(r.Text(i, 0));
      auto payload = cipher_->OpenBytes(r.Bytes(i, 1), sealed::PayloadAad(id.str()));
      if (!payload) return std::unexpected(payload.error());
      out.emplace_back(std::move(id), std::move(*payload));
    }
    return out;
  });
}

Result<std::vector<PendingDelivery>> PostgresStore::LoadReadyDeliveries(const std::vector<DeliveryId>& ids) {
  using Out = std::vector<PendingDelivery>;
  return Read<Out>([&](Conn& db) -> Result<Out> {
    Out out;
    if (ids.empty()) return out;
    EXEC(r, db,
         "SELECT d.id, d.company_id, d.event_id, d.endpoint_id, e.subject, d.attempts, d.next_attempt_at, "
         "d.replay_id IS NOT NULL, e.payload "
         "FROM unnest($1::text[]) WITH ORDINALITY AS w(id, n) JOIN deliveries d ON d.id = w.id "
         "JOIN events e ON e.id = d.event_id WHERE d.status = 'pending' ORDER BY w.n",
         Params().Text(TextArray(ids)));
    out.reserve(r.size());
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(ReadPending(r, i));
      auto payload = cipher_->OpenBytes(r.Bytes(i, 8), sealed::PayloadAad(out.back().event_id.str()));
      if (!payload) return std::unexpected(payload.error());
      out.back().payload = std::make_shared<const std::string>(std::move(*payload));
    }
    return out;
  });
}

void PostgresStore::ApplyDispatchUpdates(std::vector<DeliveryUpdate> updates, std::vector<EndpointHealth> health,
                                         std::move_only_function<void(Result<void>)> done) {
  // Jobs of at most kOutcomesPerJob updates (as SqliteStore: should a group be run again with a
  // savepoint per job, a failing job undoes only its own part). `done` runs once, after the
  // last job.
  struct Shared {
    size_t jobs_left = 0;
    std::optional<Error> error;
    std::move_only_function<void(Result<void>)> done;
  };
  const size_t n_jobs = std::max<size_t>(1, (updates.size() + kOutcomesPerJob - 1) / kOutcomesPerJob);
  auto shared = std::make_shared<Shared>();
  shared->jobs_left = n_jobs;
  shared->done = std::move(done);
  for (size_t k = 0; k < n_jobs; ++k) {
    std::vector<DeliveryUpdate> part;
    const size_t begin = k * kOutcomesPerJob, end = std::min(updates.size(), begin + kOutcomesPerJob);
    part.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      part.push_back(std::move(updates[i]));
      if (part.back().attempt) sealed::Seal(*cipher_, *part.back().attempt);  // not on the writer thread
    }
    auto work = std::make_shared<OutcomeWork>();
    work->updates = std::move(part);
    if (k + 1 == n_jobs) work->health = std::move(health);
    Enqueue(Job{[this, work](Conn& db) mutable -> bool {
                  std::vector<const DeliveryUpdate*> updates;
                  std::vector<const EndpointHealth*> health;
                  for (const DeliveryUpdate& u : work->updates) updates.push_back(&u);
                  for (const EndpointHealth& h : work->health) health.push_back(&h);
                  work->result = WriteOutcomes(db, updates, health);
                  return work->result.has_value();
                },
                // Jobs are finished in the order they were queued: the last one reports for all.
                [work, shared](const Error* e) mutable {
                  if (!shared->error) {
                    if (e) shared->error = *e;
                    else if (!work->result) shared->error = work->result.error();
                  }
                  if (--shared->jobs_left > 0) return;
                  if (shared->error) shared->done(std::unexpected(*shared->error));
                  else shared->done({});
                },
                std::nullopt, nullptr, work, /*durable=*/false});
  }
}

Result<void> PostgresStore::WriteOutcomes(Conn& db, const std::vector<const DeliveryUpdate*>& updates,
                                          const std::vector<const EndpointHealth*>& health) {
  // One multi-row statement per kind for the whole batch (through unnest), each sent without
  // waiting for its answer (Conn::Send): they go out with COMMIT, so a group's outcomes cost
  // the writer no round trip of their own. (The whole batch as one statement of data-modifying
  // CTEs, the lock on the leases included, cost PostgreSQL twice the time: bench/README.md.)
  //
  // Fencing: the leases these outcomes were decided under, still this node's at the same
  // epoch? Each statement writes only the rows whose (shard, epoch) is in shard_leases under
  // this node's name; a refused outcome is left to the shard's new owner, which reads the
  // delivery from the store. The first statement locks those leases FOR KEY SHARE: another
  // node takes a shard only through SELECT … FOR UPDATE SKIP LOCKED (pg_cluster.cc), which
  // cannot lock them until this transaction ends — so an outcome written here never lands
  // after the next owner read the shard's rows, and the statements after it see the leases
  // it saw. KEY SHARE and not SHARE: the renewal's UPDATE (of expires_at, not a key) does not
  // wait for it, so a busy writer never delays a renewal and the two cannot deadlock (found by
  // bench/cluster.sh: with FOR SHARE, a renewal locking rows in table order and outcome
  // batches locking them in shard order deadlocked). Its answer counts the refused outcomes
  // once the group commits (CountFenced).
  static constexpr const char* kHeldSql =
      "SELECT shard, epoch FROM shard_leases WHERE owner = $1::text AND shard = ANY($2::int[]) "
      "ORDER BY shard FOR KEY SHARE";
  // $1: this node; u.shard, u.epoch: the lease an outcome was decided under (epoch 0: none).
#define HOOKD_FENCE(u) \
  "(" u ".epoch = 0 OR (" u ".shard, " u ".epoch) IN (SELECT shard, epoch FROM shard_leases WHERE owner = $1::text))"
  static constexpr const char* kDropSql =
      "DELETE FROM deliveries AS d USING unnest($2::text[], $3::integer[], $4::bigint[]) AS u(id, shard, epoch) "
      "WHERE d.id = u.id AND d.status IN ('pending', 'held') AND " HOOKD_FENCE("u");
  // Not a delivery that is gone (its endpoint was deleted) or canceled by an erasure; with
  // attempts, theirs are written for the deliveries it changed, in the same statement.
#define HOOKD_UPDATE                                                                                              \
  "UPDATE deliveries AS d SET status = u.status, attempts = u.attempts, next_attempt_at = u.next_at, "            \
  "last_attempt_at = COALESCE(u.last_at, d.last_attempt_at) FROM unnest($2::text[], $3::text[], "                 \
  "$4::integer[], $5::bigint[], $6::bigint[], $7::integer[], $8::bigint[]) "                                      \
  "AS u(id, status, attempts, next_at, last_at, shard, epoch) WHERE d.id = u.id AND "                            \
  "coalesce(d.canceled_reason, '') <> 'erased' AND " HOOKD_FENCE("u")
  static constexpr const char* kUpdateSql = HOOKD_UPDATE;
  static constexpr const char* kUpdateWithAttemptsSql =
      "WITH updated AS (" HOOKD_UPDATE " RETURNING d.id) "
      "INSERT INTO attempts(id, delivery_id, company_id, number, started_at, duration_ms, status_code, "
      "error, response_headers, response_body, error_detail, request_headers) SELECT a.id, a.delivery_id, "
      "a.company_id, a.number, a.started_at, a.duration_ms, a.status_code, a.error, a.response_headers, "
      "a.response_body, a.error_detail, a.request_headers FROM unnest($9::text[], $10::text[], $11::text[], "
      "$12::integer[], $13::bigint[], $14::bigint[], $15::integer[], $16::text[], $17::text[], $18::bytea[], "
      "$19::text[], $20::text[], $21::integer[], $22::bigint[]) AS a(id, delivery_id, company_id, number, "
      "started_at, duration_ms, status_code, error, response_headers, response_body, error_detail, "
      "request_headers, shard, epoch) WHERE a.delivery_id IN (SELECT id FROM updated) AND " HOOKD_FENCE("a");
#undef HOOKD_UPDATE
#undef HOOKD_FENCE
  // One row per delivery (an UPDATE … FROM takes one of several matching rows, not the
  // last): its last update — a batch may hold two of one delivery, an attempt and its retry —
  // or, if its endpoint is gone, the drop alone. Every attempt is kept. A delivery's updates
  // carry non-decreasing epochs of one shard, so fencing its last one refuses the earlier too.
  std::vector<const DeliveryUpdate*> last;
  std::unordered_map<std::string_view, size_t> last_of;
  std::vector<const DeliveryUpdate*> with_attempt;
  std::vector<std::pair<int, int64_t>> leases;  // each fenced update's (shard, epoch): to count the refused
  for (const DeliveryUpdate* u : updates) {
    const DeliveryUpdate& d = *u;
    if (d.lease_epoch != 0) leases.emplace_back(d.lease_shard, d.lease_epoch);
    auto [it, fresh] = last_of.try_emplace(d.id.str(), last.size());
    if (fresh) last.push_back(&d);
    else if (!last[it->second]->drop) last[it->second] = &d;
    if (d.attempt) with_attempt.push_back(&d);
  }
  if (!leases.empty()) {
    std::vector<int> shards;
    for (const auto& lease : leases) shards.push_back(lease.first);
    std::sort(shards.begin(), shards.end());
    shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
    TRY(db.Send(kHeldSql,
                Params().Text(node_id_).Text(pg::ArrayLiteral(shards, [](int s) { return std::to_string(s); })),
                [this, leases = std::move(leases)](const pg::Rows& held) {
                  std::vector<std::pair<int, int64_t>> h;
                  for (int i = 0; i < held.size(); ++i) h.emplace_back(static_cast<int>(held.Int(i, 0)), held.Int(i, 1));
                  std::sort(h.begin(), h.end());
                  for (const auto& lease : leases)
                    if (!std::binary_search(h.begin(), h.end(), lease)) ++fenced_in_group_;
                }));
  }
  std::vector<std::optional<std::string>> g_id, g_shard, g_epoch;  // dropped
  std::vector<std::optional<std::string>> ids, status, attempts, next, last_at, shard, epoch;
  for (const DeliveryUpdate* d : last) {
    if (d->drop) {
      g_id.emplace_back(d->id.str());
      g_shard.emplace_back(std::to_string(d->lease_shard));
      g_epoch.emplace_back(std::to_string(d->lease_epoch));
      continue;
    }
    ids.emplace_back(d->id.str());
    status.emplace_back(std::string(ToString(d->status)));
    attempts.emplace_back(std::to_string(d->attempts));
    next.emplace_back(d->next_attempt_at_ms ? std::optional(std::to_string(*d->next_attempt_at_ms)) : std::nullopt);
    last_at.emplace_back(d->last_attempt_at_ms ? std::optional(std::to_string(*d->last_attempt_at_ms)) : std::nullopt);
    shard.emplace_back(std::to_string(d->lease_shard));
    epoch.emplace_back(std::to_string(d->lease_epoch));
  }
  if (!g_id.empty()) {
    TRY(db.Send(kDropSql, Params().Text(node_id_).Text(pg::NullableArrayLiteral(g_id))
                              .Text(pg::NullableArrayLiteral(g_shard)).Text(pg::NullableArrayLiteral(g_epoch))));
  }
  if (ids.empty()) return WriteHealth(db, health);
  std::vector<std::optional<std::string>> a_id, a_delivery, a_company, a_number, a_started, a_duration, a_code,
      a_error, a_headers, a_detail, a_sent, a_shard, a_epoch;
  std::vector<std::string_view> a_body;
  for (const DeliveryUpdate* d : with_attempt) {
    if (last[last_of.at(d->id.str())]->drop) continue;  // dropped: no attempt either
    const Attempt& at = *d->attempt;
    a_id.emplace_back(at.id.str());
    a_delivery.emplace_back(d->id.str());
    a_company.emplace_back(d->company_id.str());
    a_number.emplace_back(std::to_string(at.number));
    a_started.emplace_back(std::to_string(at.started_at_ms));
    a_duration.emplace_back(std::to_string(at.duration_ms));
    a_code.emplace_back(at.status_code ? std::optional(std::to_string(*at.status_code)) : std::nullopt);
    a_error.emplace_back(at.error);
    a_headers.emplace_back(at.response_headers);
    a_body.emplace_back(at.response_body);
    a_detail.emplace_back(at.error_detail);
    a_sent.emplace_back(at.request_headers);
    a_shard.emplace_back(std::to_string(d->lease_shard));
    a_epoch.emplace_back(std::to_string(d->lease_epoch));
  }
  Params p;
  p.Text(node_id_).Text(pg::NullableArrayLiteral(ids)).Text(pg::NullableArrayLiteral(status))
      .Text(pg::NullableArrayLiteral(attempts)).Text(pg::NullableArrayLiteral(next))
      .Text(pg::NullableArrayLiteral(last_at)).Text(pg::NullableArrayLiteral(shard))
      .Text(pg::NullableArrayLiteral(epoch));
  if (a_id.empty()) {
    TRY(db.Send(kUpdateSql, p));
  } else {
    p.Text(pg::NullableArrayLiteral(a_id)).Text(pg::NullableArrayLiteral(a_delivery))
        .Text(pg::NullableArrayLiteral(a_company)).Text(pg::NullableArrayLiteral(a_number))
        .Text(pg::NullableArrayLiteral(a_started)).Text(pg::NullableArrayLiteral(a_duration))
        .Text(pg::NullableArrayLiteral(a_code)).Text(pg::NullableArrayLiteral(a_error))
        .Text(pg::NullableArrayLiteral(a_headers)).Text(pg::ByteaArrayLiteral(a_body))
        .Text(pg::NullableArrayLiteral(a_detail)).Text(pg::NullableArrayLiteral(a_sent))
        .Text(pg::NullableArrayLiteral(a_shard)).Text(pg::NullableArrayLiteral(a_epoch));
    TRY(db.Send(kUpdateWithAttemptsSql, p));
  }
  return WriteHealth(db, health);
}

Result<void> PostgresStore::WriteHealth(Conn& db, const std::vector<const EndpointHealth*>& health) {
  if (!health.empty()) {
    // One row per endpoint (an UPDATE … FROM takes one of several matching rows, not the last).
    std::vector<const EndpointHealth*> last;
    std::unordered_map<std::string, size_t> last_of;
    for (const EndpointHealth* e : health) {
      auto [it, fresh] = last_of.try_emplace(e->id.str(), last.size());
      if (fresh) last.push_back(e);
      else last[it->second] = e;
    }
    std::vector<std::optional<std::string>> ids, failures, since;
    for (const EndpointHealth* e : last) {
      ids.emplace_back(e->id.str());
      failures.emplace_back(std::to_string(e->consecutive_failures));
      since.emplace_back(std::to_string(e->failing_since_ms));
    }
    TRY(db.Send("UPDATE endpoints AS e SET consecutive_failures = h.failures, failing_since = h.since "
                "FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS h(id, failures, since) WHERE e.id = h.id",
                Params().Text(pg::NullableArrayLiteral(ids)).Text(pg::NullableArrayLiteral(failures))
                    .Text(pg::NullableArrayLiteral(since))));
  }
  return {};
}

Result<int64_t> PostgresStore::PurgeExpired(int64_t cutoff_ms, int limit, const std::optional<CompanyId>& company) {
  // Ids are ULIDs: "prefix + UlidLowerBound(cutoff)" bounds rows created before the cutoff
  // on the primary key — or, for one company, on its (company_id, id) index — without a scan.
  const std::string bound = UlidLowerBound(cutoff_ms);
  return Write<int64_t>([bound, limit, company](Conn& db) -> Result<int64_t> {
    int64_t n = 0;
    // $1: the id bound, $2: the batch, $3 (one company's, on its (company_id, id) index): the
    // company. The deliveries deleted, then their attempts (one statement: the same rows).
    static constexpr const char* kDeliveries[] = {
        "WITH gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE id < $1::text "
        "AND status IN ('succeeded', 'failed', 'canceled') ORDER BY id LIMIT $2::bigint) RETURNING id), "
        "attempts_gone AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1) "
        "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM attempts_gone)",
        "WITH gone AS (DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE company_id = $3::text "
        "AND id < $1::text AND status IN ('succeeded', 'failed', 'canceled') ORDER BY id LIMIT $2::bigint) RETURNING id), "
        "attempts_gone AS (DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1) "
        "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM attempts_gone)"};
    static constexpr const char* kEvents[] = {
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.id < $1::text AND NOT EXISTS "
        "(SELECT 1 FROM deliveries d WHERE d.event_id = e.id) ORDER BY e.id LIMIT $2::bigint)",
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.company_id = $3::text AND e.id < $1::text "
        "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) ORDER BY e.id LIMIT $2::bigint)"};
    const int one = company ? 1 : 0;
    auto params = [&](const char* prefix) {
      Params p;
      p.Text(prefix + bound).Int(limit);
      if (company) p.Text(company->str());
      return p;
    };
    EXEC(d, db, kDeliveries[one], params("dlv_"));
    n += d.Int(0, 0) + d.Int(0, 1);
    EXEC(e, db, kEvents[one], params("evt_"));
    n += e.Affected();
    // Replays that ended (created before the cutoff, as their deliveries).
    static constexpr const char* kReplays[] = {
        "DELETE FROM replays WHERE id IN (SELECT id FROM replays WHERE id < $1::text AND status <> 'running' "
        "ORDER BY id LIMIT $2::bigint)",
        "DELETE FROM replays WHERE id IN (SELECT id FROM replays WHERE company_id = $3::text AND id < $1::text "
        "AND status <> 'running' ORDER BY id LIMIT $2::bigint)"};
    EXEC(rp, db, kReplays[one], params("rpl_"));
    n += rp.Affected();
    if (company) return n;  // idempotency keys expire for everyone below
    EXEC(k, db, "DELETE FROM idempotency_keys WHERE created_at < $1::bigint",
         Params().Int(NowMs() - kIdempotencyWindowMs));
    n += k.Affected();
    return n;
  });
}

Result<void> PostgresStore::DisableEndpoint(const CompanyId& company, const EndpointId& id, DisabledReason reason,
                                            int64_t now_ms, const AuditEntry* audit) {
  return Write<void>([=, node = node_id_](Conn& db) -> Result<void> {
    EXEC(u, db,
         "UPDATE endpoints SET status = 'disabled', disabled_reason = $1::text, updated_at = $2::bigint "
         "WHERE id = $3::text AND company_id = $4::text",
         Params().Text(ToString(reason)).Int(now_ms).Text(id.str()).Text(company.str()));
    if (u.Affected() == 0) return std::unexpected(NotFound("endpoint"));
    TRY(db.Exec("UPDATE deliveries SET status = 'held', next_attempt_at = NULL "
                "WHERE endpoint_id = $1::text AND status = 'pending'",
                Params().Text(id.str())));
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kEndpoint, node, company, id));
    return {};
  }, audit);
}

// ---------------------------------------------------------------- audit log

Result<void> PostgresStore::AppendAudit(const AuditEntry& entry) {
  return Write<void>([entry](Conn& db) { return pg::InsertAudit(db, entry); });
}

Result<Page<AuditEntry>> PostgresStore::ListAuditLog(const AuditQuery& q, const PageRequest& page) {
  return Read<Page<AuditEntry>>([&](Conn& db) { return pg::ListAudit(db, q, page); });
}

Result<int64_t> PostgresStore::PurgeAuditLog(int64_t cutoff_ms, int limit) {
  return Write<int64_t>([cutoff_ms, limit](Conn& db) { return pg::PurgeAudit(db, cutoff_ms, limit); });
}

// ---------------------------------------------------------------- encryption at rest

Result<std::vector<std::string>> PostgresStore::EncryptionKeyIds() {
  return Read<std::vector<std::string>>([&](Conn& db) -> Result<std::vector<std::string>> {
    return All<std::string>(db.Exec("SELECT key_id FROM encryption_keys ORDER BY added_at, key_id"),
                            [](const Rows& r, int i) { return r.Text(i, 0); });
  });
}

Result<void> PostgresStore::RecordEncryptionKey(const std::string& key_id, int64_t now_ms) {
  return Write<void>([key_id, now_ms](Conn& db) -> Result<void> {
    TRY(db.Exec("INSERT INTO encryption_keys(key_id, added_at) VALUES ($1::text, $2::bigint) ON CONFLICT DO NOTHING",
                Params().Text(key_id).Int(now_ms)));
    return {};
  });
}

Result<void> PostgresStore::ForgetEncryptionKey(const std::string& key_id) {
  return Write<void>([key_id](Conn& db) -> Result<void> {
    TRY(db.Exec("DELETE FROM encryption_keys WHERE key_id = $1::text", Params().Text(key_id)));
    return {};
  });
}

namespace {

// The statements of RekeyBatch per table, built once: prepared statements are cached by the
// SQL's address (Conn::Exec).
struct RekeySql {
  std::string select, update;
};

const RekeySql& RekeySqlOf(SealedTable table) {
  static const std::array<RekeySql, 3> kSql = [] {
    std::array<RekeySql, 3> out;
    for (SealedTable t : {SealedTable::kEvents, SealedTable::kAttempts, SealedTable::kEndpoints}) {
      const sealed::TableColumns& spec = sealed::ColumnsOf(t);
      const int n = static_cast<int>(spec.columns.size());
      std::string cols, set, same;
      for (int i = 0; i < n; ++i) {
        const std::string name = spec.columns[i].name;
        const char* type = spec.columns[i].text ? "::text" : "::bytea";
        cols += ", " + name;
        set += (i ? ", " : "") + name + " = $" + std::to_string(i + 1) + type;
        same += " AND " + name + " = $" + std::to_string(n + i + 1) + type;
      }
      out[static_cast<size_t>(t)] = {
          "SELECT id" + cols + " FROM " + spec.table + " WHERE id > $1::text ORDER BY id LIMIT $2::bigint FOR UPDATE",
          std::string("UPDATE ") + spec.table + " SET " + set + " WHERE id = $" + std::to_string(2 * n + 1) +
              "::text" + same};
    }
    return out;
  }();
  return kSql[static_cast<size_t>(table)];
}

}  // namespace

Result<RekeyBatchResult> PostgresStore::RekeyBatch(SealedTable table, const std::string& after, int limit) {
  return Write<RekeyBatchResult>([this, table, after, limit](Conn& db) -> Result<RekeyBatchResult> {
    const sealed::TableColumns& spec = sealed::ColumnsOf(table);
    const int n = static_cast<int>(spec.columns.size());
    const RekeySql& sql = RekeySqlOf(table);
    EXEC(rows, db, sql.select.c_str(), Params().Text(after).Int(limit));
    RekeyBatchResult out;
    out.scanned = rows.size();
    if (rows.size() == limit) out.next_after = rows.Text(rows.size() - 1, 0);
    for (int r = 0; r < rows.size(); ++r) {
      const std::string id = rows.Text(r, 0);
      std::vector<std::string> values;
      for (int i = 0; i < n; ++i) values.push_back(spec.columns[i].text ? rows.Text(r, i + 1) : rows.Bytes(r, i + 1));
      auto fresh = sealed::Reseal(*cipher_, table, id, values);
      if (!fresh) return std::unexpected(fresh.error());
      if (!*fresh) continue;
      Params p;
      for (int i = 0; i < n; ++i) spec.columns[i].text ? p.Text((**fresh)[i]) : p.Bytes((**fresh)[i]);
      for (int i = 0; i < n; ++i) spec.columns[i].text ? p.Text(values[i]) : p.Bytes(values[i]);
      p.Text(id);
      EXEC(u, db, sql.update.c_str(), p);
      out.resealed += u.Affected();
    }
    return out;
  });
}

// ---------------------------------------------------------------- erasures

namespace {

Erasure ReadErasure(const Rows& r, int i) {
  Erasure e;
  e.id = ErasureId::FromTrusted(r.Text(i, 0));
  e.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  e.subject_hash = r.Text(i, 2);
  if (!r.IsNull(i, 3)) e.subject = r.Text(i, 3);
  e.event_bound = r.Text(i, 4);
  e.status = r.TextView(i, 5) == "completed" ? ErasureStatus::kCompleted : ErasureStatus::kRunning;
  e.requested_by = TokenId::FromTrusted(r.Text(i, 6));
  e.requested_by_operator = r.TextView(i, 7) == "operator";
  e.requested_at_ms = r.Int(i, 8);
  e.finished_at_ms = r.OptInt(i, 9);
  e.counts = {r.Int(i, 10), r.Int(i, 11), r.Int(i, 12), r.Int(i, 13)};
  return e;
}

}  // namespace

Result<std::string> PostgresStore::ErasureKey(const std::string& fresh) {
  return Write<std::string>([fresh](Conn& db) -> Result<std::string> {
    TRY(db.Exec("INSERT INTO erasure_key(id, key) VALUES (1, $1::bytea) ON CONFLICT (id) DO NOTHING",
                Params().Bytes(fresh)));
    return One<std::string>(db.Exec("SELECT key FROM erasure_key WHERE id = 1", Params()), "erasure key",
                            [](const Rows& r, int i) { return r.Bytes(i, 0); });
  });
}

Result<void> PostgresStore::InsertErasure(const Erasure& e, const AuditEntry* audit) {
  return Write<void>([e](Conn& db) -> Result<void> {
    Params p;
    p.Text(e.id.str()).Text(e.company_id.str()).Text(e.subject_hash);
    if (e.status == ErasureStatus::kRunning) p.Text(e.subject);
    else p.Null();
    p.Text(e.event_bound).Text(ToString(e.status)).Text(e.requested_by.str()).Text(erasure_rows::KindOf(e))
        .Int(e.requested_at_ms).Opt(e.finished_at_ms).Int(e.counts.events).Int(e.counts.attempts)
        .Int(e.counts.idempotency_records).Int(e.counts.deliveries_canceled);
    TRY(db.Exec("INSERT INTO erasures(id, company_id, subject_hash, subject, event_bound, status, requested_by, "
                "requested_by_kind, requested_at, finished_at, events, attempts, idempotency_records, "
                "deliveries_canceled) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, "
                "$8::text, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::bigint, $14::bigint)",
                p));
    return {};
  }, audit);
}

Result<Erasure> PostgresStore::GetErasure(const CompanyId& company, const ErasureId& id) {
  return Read<Erasure>([&](Conn& db) -> Result<Erasure> {
    static const std::string sql =
        std::string("SELECT ") + erasure_rows::kCols + " FROM erasures WHERE id = $1::text AND company_id = $2::text";
    return One<Erasure>(db.Exec(sql.c_str(), Params().Text(id.str()).Text(company.str())), "erasure", ReadErasure);
  });
}

Result<Page<Erasure>> PostgresStore::ListErasures(const CompanyId& company, const PageRequest& page) {
  return Read<Page<Erasure>>([&](Conn& db) -> Result<Page<Erasure>> {
    static const std::string sql = std::string("SELECT ") + erasure_rows::kCols +
                                   " FROM erasures WHERE company_id = $1::text AND ($2::text = '' OR id < $2::text) "
                                   "ORDER BY id DESC LIMIT $3::bigint";
    const int limit = ClampLimit(page.limit);
    auto out = All<Erasure>(db.Exec(sql.c_str(), Params().Text(company.str()).Text(page.cursor).Int(limit + 1)), ReadErasure);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Erasure& e) { return e.id.str(); });
  });
}

Result<std::vector<Erasure>> PostgresStore::RunningErasures() {
  return Read<std::vector<Erasure>>([&](Conn& db) -> Result<std::vector<Erasure>> {
    static const std::string sql =
        std::string("SELECT ") + erasure_rows::kCols + " FROM erasures WHERE status = 'running' ORDER BY id";
    return All<Erasure>(db.Exec(sql.c_str(), Params()), ReadErasure);
  });
}

Result<ErasureBatchResult> PostgresStore::EraseBatch(const ErasureId& id, int limit, int64_t now_ms) {
  return Write<ErasureBatchResult>([id, limit, now_ms, node = node_id_](Conn& db) -> Result<ErasureBatchResult> {
    ErasureBatchResult res;
    // The erasure's row, locked: batches of one erasure (from several nodes) take turns, and
    // each sees what the one before it erased.
    static const std::string sql = std::string("SELECT ") + erasure_rows::kCols + " FROM erasures WHERE id = $1::text FOR UPDATE";
    auto er = One<Erasure>(db.Exec(sql.c_str(), Params().Text(id.str())), "erasure", ReadErasure);
    if (!er) return std::unexpected(er.error());
    res.erasure = std::move(*er);
    Erasure& e = res.erasure;
    if (e.status == ErasureStatus::kCompleted) return res;
    EXEC(q, db,
         "SELECT id FROM events WHERE company_id = $1::text AND subject = $2::text AND id < $3::text "
         "ORDER BY id LIMIT $4::bigint",
         Params().Text(e.company_id.str()).Text(e.subject).Text(e.event_bound).Int(limit));
    std::vector<std::string> events;
    for (int i = 0; i < q.size(); ++i) events.push_back(q.Text(i, 0));
    if (!events.empty()) {
      const std::string ids = pg::ArrayLiteral(events, [](const std::string& s) -> const std::string& { return s; });
      EXEC(c, db,
           "UPDATE deliveries SET status = 'canceled', canceled_reason = 'erased', next_attempt_at = NULL "
           "WHERE event_id = ANY($1::text[]) AND status IN ('pending', 'held') RETURNING id, endpoint_id",
           Params().Text(ids));
      std::vector<pg::NoticeDelivery> notice;
      for (int i = 0; i < c.size(); ++i) {
        res.canceled.emplace_back(DeliveryId::FromTrusted(c.Text(i, 0)), EndpointId::FromTrusted(c.Text(i, 1)));
        notice.push_back({LeaseShardOf(res.canceled.back().second), res.canceled.back().first});
      }
      res.counts.deliveries_canceled = c.size();
      EXEC(a, db,
           "UPDATE attempts SET response_headers = '{}', response_body = ''::bytea "
           "WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1::text[]))",
           Params().Text(ids));
      res.counts.attempts = a.Affected();
      EXEC(u, db, "UPDATE events SET payload = ''::bytea, subject = '', erased_at = $2::bigint WHERE id = ANY($1::text[])",
           Params().Text(ids).Int(now_ms));
      res.counts.events = u.Affected();
      // Every node drops what it holds of them, with the commit.
      for (const auto& n : pg::FormatDeliveryNotices(pg::Notice::Kind::kCanceled, node, notice)) TRY(Notify(db, n));
    }
    const bool last = static_cast<int>(events.size()) < limit;
    if (last) {
      EXEC(k, db,
           "DELETE FROM idempotency_keys WHERE company_id = $1::text AND created_at <= $2::bigint "
           "AND strpos(subjects, $3::text) > 0",
           Params().Text(e.company_id.str()).Int(e.requested_at_ms).Text(erasure_rows::SubjectNeedle(e.subject)));
      res.counts.idempotency_records = k.Affected();
    }
    TRY(db.Exec("UPDATE erasures SET events = events + $2::bigint, attempts = attempts + $3::bigint, "
                "idempotency_records = idempotency_records + $4::bigint, "
                "deliveries_canceled = deliveries_canceled + $5::bigint, "
                "status = CASE WHEN $6::boolean THEN 'completed' ELSE status END, "
                "finished_at = CASE WHEN $6::boolean THEN $7::bigint ELSE finished_at END, "
                "subject = CASE WHEN $6::boolean THEN NULL ELSE subject END WHERE id = $1::text",
                Params().Text(id.str()).Int(res.counts.events).Int(res.counts.attempts)
                    .Int(res.counts.idempotency_records).Int(res.counts.deliveries_canceled)
                    .Text(last ? "true" : "false").Int(now_ms)));
    e.counts += res.counts;
    if (last) {
      e.status = ErasureStatus::kCompleted;
      e.finished_at_ms = now_ms;
      e.subject.clear();
    }
    return res;
  });
}

// ---------------------------------------------------------------- replays

namespace {

#define REPLAY_COLS                                                                                   \
  "id, company_id, endpoint_id, status, since, until, event_types, selection, total, created, cursor, " \
  "scan_done::int, created_at, finished_at"

Replay ReadReplay(const Rows& r, int i) {
  Replay p;
  p.id = ReplayId::FromTrusted(r.Text(i, 0));
  p.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  p.endpoint_id = EndpointId::FromTrusted(r.Text(i, 2));
  p.status = ParseReplayStatus(r.TextView(i, 3)).value_or(ReplayStatus::kRunning);
  p.since_ms = r.Int(i, 4);
  p.until_ms = r.Int(i, 5);
  if (!r.IsNull(i, 6)) {
    p.event_types.emplace();
    if (auto v = ParseJson(r.TextView(i, 6)); v && v->is_array())
      for (const auto& t : v->get_array())
        if (t.is_string()) p.event_types->emplace_back(t.get_string());
  }
  p.selection = ReplaySelectionFromJson(r.TextView(i, 7));
  p.total = r.Int(i, 8);
  p.created = r.Int(i, 9);
  p.cursor = r.Text(i, 10);
  p.scan_done = r.Int(i, 11) != 0;
  p.created_at_ms = r.Int(i, 12);
  p.finished_at_ms = r.OptInt(i, 13);
  return p;
}

std::optional<std::string> EventTypesJson(const std::optional<std::vector<std::string>>& types) {
  if (!types) return std::nullopt;
  json::array a;
  for (const auto& t : *types) a.emplace_back(t);
  return ToJson(a);
}

std::string TypesArray(const std::vector<std::string>& types) {
  return pg::ArrayLiteral(types, [](const std::string& t) -> const std::string& { return t; });
}

// Event ids are ULIDs of the accepting node's clock, as created_at is: a window of created_at
// is sought on the (company_id, id) index between the ids of an hour before and after it (a
// clock that stepped back less than that still finds its events), then checked exactly.
constexpr int64_t kIdClockSlackMs = 3600 * 1000;
std::string EventIdBound(int64_t ms) { return std::string(EventTag::kPrefix) + UlidLowerBound(std::max<int64_t>(0, ms)); }

}  // namespace

Result<void> PostgresStore::InsertReplay(const Replay& r, const AuditEntry* audit) {
  return Write<void>([r, node = node_id_](Conn& db) -> Result<void> {
    EXEC(e, db, "SELECT 1 FROM endpoints WHERE id = $1::text AND company_id = $2::text",
         Params().Text(r.endpoint_id.str()).Text(r.company_id.str()));
    if (e.empty()) return std::unexpected(NotFound("endpoint"));
    EXEC(q, db, "SELECT id FROM replays WHERE endpoint_id = $1::text AND status = 'running'",
         Params().Text(r.endpoint_id.str()));
    if (!q.empty() && r.status == ReplayStatus::kRunning)
      return MakeError(ErrorCode::kConflict,
                       "replay " + q.Text(0, 0) + " of this endpoint is running: wait for it or cancel it");
    // Two nodes inserting at once: replays_running (unique) refuses the second (kAlreadyExists).
    TRY(db.Exec("INSERT INTO replays(id, company_id, endpoint_id, status, since, until, event_types, selection, "
                "total, created, cursor, scan_done, created_at, finished_at) VALUES ($1::text, $2::text, $3::text, "
                "$4::text, $5::bigint, $6::bigint, $7::text, $8::text, $9::bigint, $10::bigint, $11::text, "
                "$12::int::boolean, $13::bigint, $14::bigint)",
                Params()
                    .Text(r.id.str())
                    .Text(r.company_id.str())
                    .Text(r.endpoint_id.str())
                    .Text(ToString(r.status))
                    .Int(r.since_ms)
                    .Int(r.until_ms)
                    .Opt(EventTypesJson(r.event_types))
                    .Text(ReplaySelectionToJson(r.selection))
                    .Int(r.total)
                    .Int(r.created)
                    .Text(r.cursor)
                    .Int(r.scan_done ? 1 : 0)
                    .Int(r.created_at_ms)
                    .Opt(r.finished_at_ms)));
    // The node that owns the endpoint's shard starts it.
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kReplayStarted, node, r.company_id, r.endpoint_id));
    return {};
  }, audit);
}

Result<Replay> PostgresStore::GetReplay(const CompanyId& company, const ReplayId& id) {
  return Read<Replay>([&](Conn& db) -> Result<Replay> {
    return One<Replay>(db.Exec("SELECT " REPLAY_COLS " FROM replays WHERE id = $1::text AND company_id = $2::text",
                               Params().Text(id.str()).Text(company.str())),
                       "replay", ReadReplay);
  });
}

Result<Page<Replay>> PostgresStore::ListReplays(const CompanyId& company, const EndpointId& endpoint,
                                                const PageRequest& page) {
  return Read<Page<Replay>>([&](Conn& db) -> Result<Page<Replay>> {
    const int limit = ClampLimit(page.limit);
    auto out = All<Replay>(
        db.Exec("SELECT " REPLAY_COLS " FROM replays WHERE endpoint_id = $1::text AND company_id = $2::text "
                "AND ($3::text = '' OR id < $3::text) ORDER BY id DESC LIMIT $4::bigint",
                Params().Text(endpoint.str()).Text(company.str()).Text(page.cursor).Int(limit + 1)),
        ReadReplay);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Replay& r) { return r.id.str(); });
  });
}

Result<ReplayProgress> PostgresStore::GetReplayProgress(const CompanyId& company, const ReplayId& id) {
  return Read<ReplayProgress>([&](Conn& db) -> Result<ReplayProgress> {
    EXEC(e, db, "SELECT 1 FROM replays WHERE id = $1::text AND company_id = $2::text",
         Params().Text(id.str()).Text(company.str()));
    if (e.empty()) return std::unexpected(NotFound("replay"));
    EXEC(c, db, "SELECT status, count(*) FROM deliveries WHERE replay_id = $1::text GROUP BY status",
         Params().Text(id.str()));
    ReplayProgress p;
    for (int i = 0; i < c.size(); ++i) {
      const int64_t n = c.Int(i, 1);
      switch (ParseDeliveryStatus(c.TextView(i, 0)).value_or(DeliveryStatus::kPending)) {
        case DeliveryStatus::kPending:
        case DeliveryStatus::kHeld: p.pending += n; break;
        case DeliveryStatus::kSucceeded: p.succeeded += n; break;
        case DeliveryStatus::kFailed: p.failed += n; break;
        case DeliveryStatus::kCanceled: p.canceled += n; break;
      }
    }
    return p;
  });
}

Result<Replay> PostgresStore::CancelReplay(const CompanyId& company, const ReplayId& id, int64_t now_ms,
                                        const AuditEntry* audit) {
  return Write<Replay>([company, id, now_ms, node = node_id_](Conn& db) -> Result<Replay> {
    auto r = One<Replay>(db.Exec("SELECT " REPLAY_COLS " FROM replays WHERE id = $1::text AND company_id = $2::text "
                                 "FOR UPDATE",
                                 Params().Text(id.str()).Text(company.str())),
                         "replay", ReadReplay);
    if (!r || r->status == ReplayStatus::kCanceled) return r;
    if (r->status == ReplayStatus::kCompleted)
      return MakeError(ErrorCode::kConflict, "replay " + id.str() + " has completed: there is nothing left to cancel");
    TRY(db.Exec("UPDATE replays SET status = 'canceled', finished_at = $1::bigint WHERE id = $2::text",
                Params().Int(now_ms).Text(id.str())));
    TRY(db.Exec("UPDATE deliveries SET status = 'canceled', next_attempt_at = NULL "
                "WHERE replay_id = $1::text AND status IN ('pending', 'held')",
                Params().Text(id.str())));
    // The node that owns the endpoint's shard forgets the ones it holds.
    TRY(NotifyEndpoint(db, pg::Notice::Kind::kReplayCanceled, node, r->company_id, r->endpoint_id));
    r->status = ReplayStatus::kCanceled;
    r->finished_at_ms = now_ms;
    return r;
  }, audit);
}

Result<std::vector<Replay>> PostgresStore::RunningReplays() {
  return Read<std::vector<Replay>>([](Conn& db) -> Result<std::vector<Replay>> {
    return All<Replay>(db.Exec("SELECT " REPLAY_COLS " FROM replays WHERE status = 'running' ORDER BY id"),
                       ReadReplay);
  });
}

Result<int64_t> PostgresStore::CountReplayEvents(const CompanyId& company, int64_t since_ms, int64_t until_ms,
                                                 const std::vector<std::string>& types) {
  return Read<int64_t>([&](Conn& db) -> Result<int64_t> {
    EXEC(c, db,
         "SELECT count(*) FROM events WHERE company_id = $1::text AND id >= $2::text AND id < $3::text "
         "AND created_at >= $4::bigint AND created_at < $5::bigint AND type = ANY($6::text[])",
         Params().Text(company.str()).Text(EventIdBound(since_ms - kIdClockSlackMs))
             .Text(EventIdBound(until_ms + kIdClockSlackMs)).Int(since_ms).Int(until_ms).Text(TypesArray(types)));
    return c.Int(0, 0);
  });
}

Result<std::vector<Event>> PostgresStore::ScanReplayEvents(const CompanyId& company, int64_t since_ms,
                                                           int64_t until_ms, const std::vector<std::string>& types,
                                                           const std::string& after, int limit) {
  auto events = Read<std::vector<Event>>([&](Conn& db) -> Result<std::vector<Event>> {
    return All<Event>(
        db.Exec("SELECT id, company_id, type, subject, occurred_at, created_at FROM events "
                "WHERE company_id = $1::text AND id > greatest($2::text, $7::text) AND id < $3::text "
                "AND created_at >= $4::bigint AND created_at < $5::bigint AND type = ANY($6::text[]) "
                "ORDER BY id LIMIT $8::bigint",
                Params().Text(company.str()).Text(EventIdBound(since_ms - kIdClockSlackMs))
                    .Text(EventIdBound(until_ms + kIdClockSlackMs)).Int(since_ms).Int(until_ms)
                    .Text(TypesArray(types)).Text(after).Int(std::max(1, limit))),
        [](const Rows& r, int i) {
          Event e;
          e.id = EventId::FromTrusted(r.Text(i, 0));
          e.company_id = CompanyId::FromTrusted(r.Text(i, 1));
          e.type = r.Text(i, 2);
          e.subject = r.Text(i, 3);
          e.occurred_at_ms = r.OptInt(i, 4);
          e.created_at_ms = r.Int(i, 5);
          return e;
        });
  });
  if (!events || events->empty()) return events;
  // Payloads the one way the store reads them for sending.
  std::vector<EventId> ids;
  ids.reserve(events->size());
  for (const auto& e : *events) ids.push_back(e.id);
  auto payloads = LoadPayloads(ids);
  if (!payloads) return std::unexpected(payloads.error());
  std::unordered_map<std::string, std::string> by_id;
  for (auto& [id, p] : *payloads) by_id.emplace(id.str(), std::move(p));
  for (auto& e : *events) {
    auto it = by_id.find(e.id.str());
    if (it != by_id.end()) e.payload = std::move(it->second);  // else deleted meanwhile: ""
  }
  return events;
}

Result<void> PostgresStore::AppendReplayDeliveries(const ReplayStep& step) {
  return Write<void>([step, node = node_id_](Conn& db) -> Result<void> {
    EXEC(u, db,
         "UPDATE replays SET cursor = $3::text, created = created + $4::bigint, scan_done = $5::int::boolean "
         "WHERE id = $1::text AND cursor = $2::text AND status = 'running'",
         Params().Text(step.replay.str()).Text(step.from_cursor).Text(step.to_cursor)
             .Int(static_cast<int64_t>(step.deliveries.size())).Int(step.scan_done ? 1 : 0));
    if (u.Affected() == 0)
      return MakeError(ErrorCode::kConflict, "replay " + step.replay.str() + " is not running or has moved on");
    // FOR KEY SHARE: a delete of the endpoint waits for this step, or this step sees it gone.
    EXEC(e, db, "SELECT 1 FROM endpoints WHERE id = $1::text AND company_id = $2::text FOR KEY SHARE",
         Params().Text(step.endpoint.str()).Text(step.company.str()));
    if (e.empty()) return std::unexpected(NotFound("endpoint"));  // undone with the cursor's move
    std::vector<pg::NoticeDelivery> ready;
    ready.reserve(step.deliveries.size());
    for (const Delivery& d : step.deliveries) {
      TRY(db.Exec("INSERT INTO deliveries(id, company_id, event_id, endpoint_id, status, attempts, next_attempt_at, "
                  "last_attempt_at, created_at, replay_id) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, "
                  "0, $6::bigint, NULL, $7::bigint, $8::text)",
                  Params().Text(d.id.str()).Text(d.company_id.str()).Text(d.event_id.str()).Text(d.endpoint_id.str())
                      .Text(ToString(d.status)).Opt(d.next_attempt_at_ms).Int(d.created_at_ms)
                      .Text(step.replay.str())));
      if (d.status == DeliveryStatus::kPending) ready.push_back({LeaseShardOf(d.endpoint_id), d.id});
    }
    // The node that owns the endpoint's shard hears of them with the commit, as of an ingest.
    for (const auto& notice : pg::FormatDeliveryNotices(pg::Notice::Kind::kReady, node, ready))
      TRY(Notify(db, notice));
    return {};
  });
}

Result<ReplayStore::Unfinished> PostgresStore::UnfinishedReplayDeliveries(const ReplayId& id,
                                                                          const std::string& from) {
  return Read<Unfinished>([&](Conn& db) -> Result<Unfinished> {
    EXEC(c, db,
         "SELECT count(*), min(id) FROM deliveries WHERE replay_id = $1::text AND id >= $2::text "
         "AND status IN ('pending', 'held')",
         Params().Text(id.str()).Text(from));
    Unfinished u;
    u.count = c.Int(0, 0);
    if (!c.IsNull(0, 1)) u.first = c.Text(0, 1);
    return u;
  });
}

Result<void> PostgresStore::FinishReplay(const ReplayId& id, ReplayStatus status, int64_t now_ms) {
  return Write<void>([id, status, now_ms](Conn& db) -> Result<void> {
    // FOR KEY SHARE on the endpoint: a delete waits for this write, or this one sees it gone.
    EXEC(q, db, "SELECT endpoint_id, company_id FROM replays WHERE id = $1::text AND status = 'running' FOR UPDATE",
         Params().Text(id.str()));
    if (q.empty()) return MakeError(ErrorCode::kConflict, "replay " + id.str() + " is not running");
    if (status == ReplayStatus::kCompleted) {
      EXEC(e, db, "SELECT 1 FROM endpoints WHERE id = $1::text AND company_id = $2::text FOR KEY SHARE",
           Params().Text(q.Text(0, 0)).Text(q.Text(0, 1)));
      // Its deliveries went with a deleted endpoint: that is no completion.
      if (e.empty()) return std::unexpected(NotFound("endpoint"));
    }
    EXEC(u, db,
         "UPDATE replays SET status = $1::text, finished_at = $2::bigint WHERE id = $3::text AND status = 'running'",
         Params().Text(ToString(status)).Int(now_ms).Text(id.str()));
    if (u.Affected() == 0) return MakeError(ErrorCode::kConflict, "replay " + id.str() + " is not running");
    return {};
  });
}

}  // namespace hookd
