#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/embedded.h"
#include "core/json_util.h"
#include "store/encryption.h"
#include "store/erasure_rows.h"
#include "store/list_sql.h"
#include "store/sealed_fields.h"
#include "store/sqlite/sqlite_audit.h"

namespace hookd {
namespace json = boost::json;
using sqlite::Db;
using sqlite::Stmt;

namespace {

constexpr int64_t kIdempotencyWindowMs = 24 * 3600 * 1000;

#define TRY(expr)                                            \
  do {                                                       \
    if (auto _r = (expr); !_r) return std::unexpected(_r.error()); \
  } while (0)

#define PREPARE(var, db, sql)                                \
  auto var##_r = (db).Prepare(sql);                          \
  if (!var##_r) return std::unexpected(var##_r.error());     \
  Stmt& var = **var##_r

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

Company ReadCompany(const Stmt& s) {
  return Company{CompanyId::FromTrusted(s.Text(0)), s.Text(1), s.Int(2), s.OptInt(3)};
}

ApiToken ReadToken(const Stmt& s) {
  ApiToken t;
  t.id = TokenId::FromTrusted(s.Text(0));
  if (!s.IsNull(1)) t.company_id = CompanyId::FromTrusted(s.Text(1));
  t.hash = s.Text(2);
  t.scopes = ParseScopes(s.TextView(3));
  t.description = s.Text(4);
  t.created_at_ms = s.Int(5);
  t.revoked_at_ms = s.OptInt(6);
  return t;
}

constexpr const char* kEndpointCols =
    "id, company_id, config, status, disabled_reason, kind, secret, previous_secret, "
    "previous_secret_expires, created_at, updated_at, consecutive_failures, failing_since, version";

Endpoint ReadEndpoint(const Stmt& s) {
  Endpoint ep;
  ep.id = EndpointId::FromTrusted(s.Text(0));
  ep.company_id = CompanyId::FromTrusted(s.Text(1));
  auto cfg = ParseJson(s.TextView(2));
  if (cfg && cfg->is_object()) EndpointConfigFromJson(cfg->get_object(), ep);
  ep.status = s.TextView(3) == "enabled" ? EndpointStatus::kEnabled : EndpointStatus::kDisabled;
  ep.disabled_reason = ParseDisabledReason(s.TextView(4)).value_or(DisabledReason::kNone);
  ep.kind = ParseEndpointKind(s.TextView(5)).value_or(EndpointKind::kEndpoint);
  ep.secret = s.Text(6);
  ep.previous_secret = s.Text(7);
  ep.previous_secret_expires_at_ms = s.Int(8);
  ep.created_at_ms = s.Int(9);
  ep.updated_at_ms = s.Int(10);
  ep.consecutive_failures = static_cast<int>(s.Int(11));
  ep.failing_since_ms = s.Int(12);
  ep.version = s.Int(13);
  return ep;
}

constexpr const char* kEventCols = "id, company_id, type, subject, occurred_at, created_at, payload, erased_at";

Event ReadEvent(const Stmt& s) {
  Event e;
  e.id = EventId::FromTrusted(s.Text(0));
  e.company_id = CompanyId::FromTrusted(s.Text(1));
  e.type = s.Text(2);
  e.subject = s.Text(3);
  e.occurred_at_ms = s.OptInt(4);
  e.created_at_ms = s.Int(5);
  e.payload = s.Text(6);
  e.erased = !s.IsNull(7);
  return e;
}

constexpr const char* kDeliveryCols =
    "id, company_id, event_id, endpoint_id, status, attempts, next_attempt_at, "
    "last_attempt_at, created_at, canceled_reason, replay_id";

Delivery ReadDelivery(const Stmt& s) {
  Delivery d;
  d.id = DeliveryId::FromTrusted(s.Text(0));
  d.company_id = CompanyId::FromTrusted(s.Text(1));
  d.event_id = EventId::FromTrusted(s.Text(2));
  d.endpoint_id = EndpointId::FromTrusted(s.Text(3));
  d.status = ParseDeliveryStatus(s.TextView(4)).value_or(DeliveryStatus::kPending);
  d.attempts = static_cast<int>(s.Int(5));
  d.next_attempt_at_ms = s.OptInt(6);
  d.last_attempt_at_ms = s.OptInt(7);
  d.created_at_ms = s.Int(8);
  if (!s.IsNull(9)) d.canceled_reason = s.Text(9);
  if (!s.IsNull(10)) d.replay_id = ReplayId::FromTrusted(s.Text(10));
  return d;
}

Result<void> BindEndpoint(Stmt& s, const Endpoint& ep) {
  s.Bind(1, ep.id.str())
      .Bind(2, ep.company_id.str())
      .Bind(3, ToJson(EndpointConfigToJson(ep)))
      .Bind(4, ToString(ep.status))
      .Bind(5, ToString(ep.disabled_reason))
      .Bind(6, ToString(ep.kind))
      .Bind(7, ep.secret)
      .Bind(8, ep.previous_secret)
      .Bind(9, ep.previous_secret_expires_at_ms)
      .Bind(10, ep.created_at_ms)
      .Bind(11, ep.updated_at_ms)
      .Bind(12, ep.consecutive_failures)
      .Bind(13, ep.failing_since_ms);
  return {};
}

Error NotFound(std::string_view what) { return Error{ErrorCode::kNotFound, std::string(what) + " not found", {}}; }

// Steps `s` once: the row as `read` maps it, or kNotFound("<what> not found").
template <class T, class F>
Result<T> One(Stmt& s, std::string_view what, F read) {
  auto r = s.Step();
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::unexpected(NotFound(what));
  auto v = read(s);
  s.Reset();
  return v;  // a T, or a Result<T> from a reader that can fail (sealed::Opening)
}

// Every row, as `read` maps it.
template <class T, class F>
Result<std::vector<T>> All(Stmt& s, F read) {
  std::vector<T> out;
  while (true) {
    auto r = s.Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return out;
    auto v = read(s);
    if constexpr (std::is_same_v<decltype(v), T>) {
      out.push_back(std::move(v));
    } else {  // a reader that can fail (sealed::Opening)
      if (!v) return std::unexpected(v.error());
      out.push_back(std::move(*v));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------- lifecycle

namespace {

// An exclusive lock on "<db_file>.lock" (flock: released when the process dies, whatever way),
// with this process's pid in it for the message another one gets. -1 and an error when held.
Result<int> LockDatabase(const std::string& db_file) {
  const std::string lock_path = db_file + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return MakeError(ErrorCode::kUnavailable, "cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (err != EWOULDBLOCK)
      return MakeError(ErrorCode::kUnavailable, "cannot lock " + lock_path + ": " + std::strerror(err));
    return MakeError(ErrorCode::kUnavailable,
                     db_file + " is in use by another hookd" + (holder.empty() ? "" : " (pid " + holder + ")") +
                         ": stop it first (two processes on one SQLite file would send every delivery twice)");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return fd;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, bool exclusive,
                                                       std::shared_ptr<const FieldCipher> cipher) {
  auto db = Db::Open(path);
  if (!db) return std::unexpected(db.error());
  int lock_fd = -1;
  if (exclusive) {
    const char* db_file = sqlite3_db_filename((*db)->raw(), "main");
    auto locked = LockDatabase(db_file && *db_file ? std::string(db_file) : path);
    if (!locked) return std::unexpected(locked.error());
    lock_fd = *locked;
  }
  auto cp = Db::Open(path);
  if (!cp) {
    if (lock_fd >= 0) ::close(lock_fd);
    return std::unexpected(cp.error());
  }
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(path, std::move(*db)));
  store->lock_fd_ = lock_fd;
  if (cipher) store->cipher_ = std::move(cipher);
  store->checkpoint_db_ = std::move(*cp);
  store->checkpointer_ = std::thread([s = store.get()] {
    NameThisThread("hookd-checkpoint");
    s->CheckpointLoop();
  });
  return store;
}

SqliteStore::SqliteStore(std::string path, std::unique_ptr<Db> writer)
    : path_(std::move(path)), writer_db_(std::move(writer)) {
  (void)writer_db_->ExecScript("PRAGMA journal_size_limit = 67108864;");
  // Commits write the WAL without syncing it; the syncer thread syncs it and only then
  // finishes the group's jobs (SyncLoop): the same durability as synchronous=FULL, without
  // the writer waiting on the disk between two groups.
  (void)writer_db_->ExecScript("PRAGMA synchronous = NORMAL;");
  // What a write frees inside a page (a deleted or rewritten row) is zeroed: an erased payload
  // leaves no copy in the page it was in. FAST does not zero pages going to the freelist (that
  // would cost writes); EraseBatch turns it ON for its own statements.
  (void)writer_db_->ExecScript("PRAGMA secure_delete = FAST;");
  // The files as SQLite names them (absolute; a "file:" URI or a relative path resolved).
  if (const char* db_file = sqlite3_db_filename(writer_db_->raw(), "main"); db_file && *db_file) {
    wal_path_ = sqlite3_filename_wal(db_file);
    db_dir_ = std::filesystem::path(db_file).parent_path().string();
  }
  // Replaces SQLite's auto-checkpoint (which would run inside the writer's commits).
  sqlite3_wal_hook(
      writer_db_->raw(),
      [](void* self, sqlite3*, const char*, int pages) -> int {
        auto* store = static_cast<SqliteStore*>(self);
        bool wake = false;
        {
          std::lock_guard lock(store->mu_);
          store->wal_pages_ = pages;
          wake = pages >= kCheckpointPages;
        }
        if (wake) store->checkpoint_cv_.notify_one();
        return SQLITE_OK;
      },
      this);
  writer_ = std::thread([this] {
    NameThisThread("hookd-writer");
    WriterLoop();
  });
  syncer_ = std::thread([this] {
    NameThisThread("hookd-sync");
    SyncLoop();
  });
}

SqliteStore::~SqliteStore() {
  Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // the lock goes with it
}

void SqliteStore::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  cv_.notify_all();
  checkpoint_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard lock(sync_mu_);
    sync_closing_ = true;  // after the writer: it hands over its last groups first
  }
  sync_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  if (checkpointer_.joinable()) checkpointer_.join();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

void SqliteStore::Instrument(metrics::Registry& registry) {
  m_commits_ = &registry.AddCounter("hookd_store_commits_total",
                                    "Group commits: transactions written by the store's single writer.").Get();
  m_writes_ = &registry.AddCounter("hookd_store_writes_total",
                                   "Writes (an ingest request, a batch of delivery outcomes, an API change) "
                                   "in committed groups; divided by hookd_store_commits_total, the mean group size.").Get();
  m_syncs_ = &registry.AddCounter("hookd_store_syncs_total",
                                  "fdatasyncs of the WAL; each makes every group committed before it durable.").Get();
  m_sync_seconds_ = &registry.AddHistogram("hookd_store_sync_seconds",
                                           "How long each fdatasync of the WAL took (every 202 waits for one).",
                                           {}, metrics::kSyncBuckets).Get();
}

template <class T>
Result<T> SqliteStore::Write(std::move_only_function<Result<T>(Db&)> fn, const AuditEntry* audit) {
  if (audit) {
    // The change, then its audit row, in one job: one transaction, undone together.
    fn = [fn = std::move(fn), row = *audit](Db& db) mutable -> Result<T> {
      auto r = fn(db);
      if (r) TRY(sqlite::InsertAudit(db, row));
      return r;
    };
  }
  auto state = std::make_shared<std::optional<Result<T>>>();
  std::promise<Result<T>> promise;
  auto fut = promise.get_future();
  Enqueue(Job{
      [fn = std::move(fn), state](Db& db) mutable {
        *state = fn(db);
        return state->value().has_value();
      },
      [state, promise = std::move(promise)](const Error* e) mutable {
        if (e) promise.set_value(std::unexpected(*e));
        else promise.set_value(std::move(**state));
      }});
  return fut.get();
}

template <class T>
Result<T> SqliteStore::Read(const std::function<Result<T>(Db&)>& fn) {
  std::unique_ptr<Db> db;
  {
    std::lock_guard lock(readers_mu_);
    if (!readers_.empty()) {
      db = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (!db) {
    auto opened = Db::Open(path_, /*read_only=*/true);
    if (!opened) return std::unexpected(opened.error());
    db = std::move(*opened);
  }
  // Reads run in an implicit transaction per statement; multi-statement reads see WAL
  // snapshots per statement, which is fine for listings.
  Result<T> r = fn(*db);
  db->ResetAll();
  std::lock_guard lock(readers_mu_);
  if (readers_.size() < 16) readers_.push_back(std::move(db));
  return r;
}

Result<void> SqliteStore::Migrate() {
  return Write<void>([](Db& db) -> Result<void> {
    // DDL is not counted by sqlite3_total_changes: a failed migration undoes itself (see Job).
    TRY(db.ExecScript("SAVEPOINT migrate"));
    auto run = [&]() -> Result<void> {
      TRY(
          db.ExecScript("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, "
                        "applied_at INTEGER NOT NULL)"));
      std::vector<EmbeddedFile> files;
      for (const auto& f : migration_files())
        if (f.path.starts_with("sqlite/migrations/")) files.push_back(f);
      std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.path < b.path; });
      for (const auto& f : files) {
        std::string version(f.path.substr(f.path.rfind('/') + 1));
        PREPARE(q, db, "SELECT 1 FROM schema_migrations WHERE version = ?");
        q.Bind(1, version);
        auto has = q.Step();
        if (!has) return std::unexpected(has.error());
        q.Reset();
        if (*has) continue;
        std::string sql(f.data);
        TRY(db.ExecScript(sql.c_str()));
        PREPARE(ins, db, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)");
        ins.Bind(1, version).Bind(2, NowMs());
        TRY(ins.Exec());
        spdlog::info("store: applied migration {}", version);
      }
      return {};
    };
    auto r = run();
    if (!r) (void)db.ExecScript("ROLLBACK TO migrate");
    (void)db.ExecScript("RELEASE migrate");
    return r;
  });
}

Result<void> SqliteStore::Ping() {
  if (sync_failed_.load(std::memory_order_relaxed))
    return MakeError(ErrorCode::kUnavailable, "the database's disk failed to sync; restart hookd");
  if (writes_failing_.load(std::memory_order_relaxed)) {
    // Writes failed and none has succeeded since: try one (at most once a second, however
    // often readiness is asked). Its success clears the state; until then, not ready.
    std::lock_guard lock(probe_mu_);
    const int64_t now = MonotonicMs();
    if (last_probe_ms_ == 0 || now - last_probe_ms_ >= 1000) {
      last_probe_ms_ = now;
      auto probe = Write<void>([](Db& db) -> Result<void> {
        // 64 KiB written to the WAL and taken back in the same transaction: about what a
        // batch of events needs. A smaller write could fit where real ones do not.
        PREPARE(ins, db, "INSERT INTO readiness_probe(data) VALUES (zeroblob(65536))");
        TRY(ins.Exec());
        PREPARE(del, db, "DELETE FROM readiness_probe");
        return del.Exec();
      });
      last_probe_error_.reset();
      if (!probe) last_probe_error_ = probe.error();
    }
    if (last_probe_error_)
      return MakeError(ErrorCode::kUnavailable, "writes to the database fail: " + last_probe_error_->message);
    if (writes_failing_.load(std::memory_order_relaxed))
      return MakeError(ErrorCode::kUnavailable, "writes to the database failed recently");
  }
  return Read<void>([](Db& db) -> Result<void> {
    PREPARE(q, db, "SELECT count(*) FROM schema_migrations");
    auto r = q.Step();
    if (!r) return std::unexpected(r.error());
    return {};
  });
}

// ---------------------------------------------------------------- companies

Result<void> SqliteStore::InsertCompany(const Company& c, const AuditEntry* audit) {
  return Write<void>([c](Db& db) -> Result<void> {
    PREPARE(s, db, "INSERT INTO companies(id, name, created_at, retention_ms) VALUES (?, ?, ?, ?)");
    s.Bind(1, c.id.str()).Bind(2, c.name).Bind(3, c.created_at_ms).Bind(4, c.retention_ms);
    return s.Exec();
  }, audit);
}

Result<Company> SqliteStore::GetCompany(const CompanyId& id) {
  return Read<Company>([&](Db& db) -> Result<Company> {
    PREPARE(s, db, "SELECT id, name, created_at, retention_ms FROM companies WHERE id = ?");
    s.Bind(1, id.str());
    return One<Company>(s, "company", ReadCompany);
  });
}

Result<Page<Company>> SqliteStore::ListCompanies(const PageRequest& page) {
  return Read<Page<Company>>([&](Db& db) -> Result<Page<Company>> {
    PREPARE(s, db,
            "SELECT id, name, created_at, retention_ms FROM companies WHERE (?1 = '' OR id < ?1) "
            "ORDER BY id DESC LIMIT ?2");
    int limit = ClampLimit(page.limit);
    s.Bind(1, page.cursor).Bind(2, limit + 1);
    auto out = All<Company>(s, ReadCompany);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Company& c) { return c.id.str(); });
  });
}

Result<Company> SqliteStore::SetCompanyRetention(const CompanyId& id, std::optional<int64_t> retention_ms,
                                                 const AuditEntry* audit) {
  return Write<Company>([id, retention_ms](Db& db) -> Result<Company> {
    PREPARE(u, db, "UPDATE companies SET retention_ms = ? WHERE id = ?");
    u.Bind(1, retention_ms).Bind(2, id.str());
    TRY(u.Exec());
    if (db.Changes() == 0) return MakeError(ErrorCode::kNotFound, "company not found");
    PREPARE(s, db, "SELECT id, name, created_at, retention_ms FROM companies WHERE id = ?");
    s.Bind(1, id.str());
    return One<Company>(s, "company", ReadCompany);
  }, audit);
}

Result<std::vector<Company>> SqliteStore::CompaniesWithOwnRetention() {
  return Read<std::vector<Company>>([&](Db& db) -> Result<std::vector<Company>> {
    PREPARE(s, db, "SELECT id, name, created_at, retention_ms FROM companies WHERE retention_ms IS NOT NULL ORDER BY id");
    return All<Company>(s, ReadCompany);
  });
}

// ---------------------------------------------------------------- tokens

Result<void> SqliteStore::InsertToken(const ApiToken& t, const AuditEntry* audit) {
  return Write<void>([t](Db& db) -> Result<void> {
    PREPARE(s, db,
            "INSERT INTO tokens(id, company_id, hash, scopes, description, created_at, revoked_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.Bind(1, t.id.str());
    if (t.company_id) s.Bind(2, t.company_id->str());
    else s.Bind(2, std::nullopt);
    s.Bind(3, t.hash).Bind(4, ScopesToString(t.scopes)).Bind(5, t.description)
        .Bind(6, t.created_at_ms).Bind(7, t.revoked_at_ms);
    return s.Exec();
  }, audit);
}

Result<ApiToken> SqliteStore::FindTokenByHash(std::string_view hash) {
  return Read<ApiToken>([&](Db& db) -> Result<ApiToken> {
    PREPARE(s, db,
            "SELECT id, company_id, hash, scopes, description, created_at, revoked_at "
            "FROM tokens WHERE hash = ?");
    s.Bind(1, hash);
    return One<ApiToken>(s, "token", ReadToken);
  });
}

Result<void> SqliteStore::RevokeToken(const CompanyId& company, const TokenId& id, const AuditEntry* audit) {
  return Write<void>([company, id](Db& db) -> Result<void> {
    PREPARE(s, db,
            "UPDATE tokens SET revoked_at = ? WHERE id = ? AND company_id = ? AND revoked_at IS NULL");
    s.Bind(1, NowMs()).Bind(2, id.str()).Bind(3, company.str());
    TRY(s.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("token"));
    return {};
  }, audit);
}

Result<bool> SqliteStore::HasOperatorToken() {
  return Read<bool>([](Db& db) -> Result<bool> {
    PREPARE(s, db, "SELECT 1 FROM tokens WHERE company_id IS NULL AND revoked_at IS NULL LIMIT 1");
    auto r = s.Step();
    if (!r) return std::unexpected(r.error());
    bool has = *r;
    s.Reset();
    return has;
  });
}

Result<int64_t> SqliteStore::RevokeOperatorTokens(const std::optional<std::string>& keep, int64_t now_ms) {
  return Write<int64_t>([keep, now_ms](Db& db) -> Result<int64_t> {
    PREPARE(s, db,
            "UPDATE tokens SET revoked_at = ?1 WHERE company_id IS NULL AND revoked_at IS NULL "
            "AND (?2 IS NULL OR hash <> ?2)");
    s.Bind(1, now_ms).Bind(2, keep);
    TRY(s.Exec());
    return static_cast<int64_t>(db.Changes());
  });
}

Result<ApiToken> SqliteStore::RevokeAnyToken(const TokenId& id, int64_t now_ms) {
  return Write<ApiToken>([id, now_ms](Db& db) -> Result<ApiToken> {
    PREPARE(u, db, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
    u.Bind(1, now_ms).Bind(2, id.str());
    TRY(u.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("token"));
    PREPARE(s, db,
            "SELECT id, company_id, hash, scopes, description, created_at, revoked_at FROM tokens WHERE id = ?");
    s.Bind(1, id.str());
    return One<ApiToken>(s, "token", ReadToken);
  });
}

Result<std::vector<ApiToken>> SqliteStore::AllTokens() {
  return Read<std::vector<ApiToken>>([](Db& db) -> Result<std::vector<ApiToken>> {
    PREPARE(s, db,
            "SELECT id, company_id, hash, scopes, description, created_at, revoked_at FROM tokens ORDER BY id");
    return All<ApiToken>(s, ReadToken);
  });
}

// ---------------------------------------------------------------- event types

Result<void> SqliteStore::InsertEventType(const EventTypeDef& def, const AuditEntry* audit) {
  return Write<void>([def](Db& db) -> Result<void> {
    PREPARE(s, db,
            "INSERT INTO event_types(name, description, schema, example, subject_pointer, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)");
    s.Bind(1, def.name).Bind(2, def.description).Bind(3, ToJson(def.schema))
        .Bind(4, ToJson(def.example)).Bind(5, def.subject_pointer).Bind(6, def.created_at_ms);
    return s.Exec();
  }, audit);
}

Result<std::vector<EventTypeDef>> SqliteStore::ListEventTypes() {
  return Read<std::vector<EventTypeDef>>([](Db& db) -> Result<std::vector<EventTypeDef>> {
    PREPARE(s, db,
            "SELECT name, description, schema, example, subject_pointer, created_at "
            "FROM event_types ORDER BY name");
    std::vector<EventTypeDef> out;
    while (true) {
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      EventTypeDef d;
      d.name = s.Text(0);
      d.description = s.Text(1);
      // As deep as the API took them (ParseJson's limits, not Boost's default depth of 32).
      auto schema = ParseJson(s.TextView(2));
      auto example = ParseJson(s.TextView(3));
      if (schema) d.schema = std::move(*schema);
      if (example) d.example = std::move(*example);
      d.subject_pointer = s.Text(4);
      d.created_at_ms = s.Int(5);
      d.builtin = false;
      out.push_back(std::move(d));
    }
    return out;
  });
}

// ---------------------------------------------------------------- endpoints

Result<void> SqliteStore::InsertEndpoint(const Endpoint& plain, const AuditEntry* audit) {
  Endpoint ep = plain;
  sealed::Seal(*cipher_, ep);
  return Write<void>([ep = std::move(ep)](Db& db) -> Result<void> {
    PREPARE(s, db,
            "INSERT INTO endpoints(id, company_id, config, status, disabled_reason, kind, secret, "
            "previous_secret, previous_secret_expires, created_at, updated_at, "
            "consecutive_failures, failing_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    TRY(BindEndpoint(s, ep));
    return s.Exec();
  }, audit);
}

namespace {

// After a conditional endpoint UPDATE changed nothing: kNotFound when the row is not there,
// kConflict when it is, at another version.
Error MissingOrStale(Db& db, const CompanyId& company, const EndpointId& id) {
  auto q = db.Prepare("SELECT version FROM endpoints WHERE id = ? AND company_id = ?");
  if (!q) return q.error();
  (*q)->Bind(1, id.str()).Bind(2, company.str());
  auto found = (*q)->Step();
  if (!found) return found.error();
  const bool exists = *found;
  (*q)->Reset();
  if (!exists) return NotFound("endpoint");
  return Error{ErrorCode::kConflict, "the endpoint was changed meanwhile", {}};
}

}  // namespace

Result<int64_t> SqliteStore::UpdateEndpointConfig(const Endpoint& ep, int64_t if_version, const AuditEntry* audit) {
  return Write<int64_t>([ep, if_version](Db& db) -> Result<int64_t> {
    PREPARE(s, db,
            "UPDATE endpoints SET config = ?3, updated_at = ?4, version = version + 1 "
            "WHERE id = ?1 AND company_id = ?2 AND version = ?5");
    s.Bind(1, ep.id.str()).Bind(2, ep.company_id.str()).Bind(3, ToJson(EndpointConfigToJson(ep)))
        .Bind(4, ep.updated_at_ms).Bind(5, if_version);
    TRY(s.Exec());
    if (db.Changes() == 0) return std::unexpected(MissingOrStale(db, ep.company_id, ep.id));
    return if_version + 1;
  }, audit);
}

Result<Endpoint> SqliteStore::RotateEndpointSecret(const CompanyId& company, const EndpointId& id,
                                                   const std::string& new_secret, int64_t grace_ms,
                                                   int64_t now_ms, const AuditEntry* audit) {
  return Write<Endpoint>([this, company, id, new_secret = cipher_->SealText(new_secret, sealed::SecretAad(id.str())),
                          grace_ms, now_ms](Db& db) -> Result<Endpoint> {
    PREPARE(u, db,
            "UPDATE endpoints SET previous_secret = CASE WHEN ?3 > 0 THEN secret ELSE '' END, "
            "previous_secret_expires = CASE WHEN ?3 > 0 THEN ?4 + ?3 ELSE 0 END, secret = ?5, "
            "updated_at = ?4, version = version + 1 WHERE id = ?1 AND company_id = ?2");
    u.Bind(1, id.str()).Bind(2, company.str()).Bind(3, grace_ms).Bind(4, now_ms).Bind(5, new_secret);
    TRY(u.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("endpoint"));
    static const std::string sql =
        std::string("SELECT ") + kEndpointCols + " FROM endpoints WHERE id = ? AND company_id = ?";
    PREPARE(q, db, sql.c_str());
    q.Bind(1, id.str()).Bind(2, company.str());
    return One<Endpoint>(q, "endpoint", sealed::Opening(*cipher_, ReadEndpoint));
  }, audit);
}

Result<void> SqliteStore::DeleteEndpoint(const CompanyId& company, const EndpointId& id, const AuditEntry* audit) {
  return Write<void>([company, id](Db& db) -> Result<void> {
    PREPARE(s, db, "DELETE FROM endpoints WHERE id = ? AND company_id = ?");
    s.Bind(1, id.str()).Bind(2, company.str());
    TRY(s.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("endpoint"));
    // Pending and held deliveries of a deleted endpoint are dropped (SPEC §4); finished ones
    // stay as history.
    PREPARE(d, db,
            "DELETE FROM deliveries WHERE endpoint_id = ? AND status IN ('pending', 'held')");
    d.Bind(1, id.str());
    return d.Exec();
  }, audit);
}

Result<Endpoint> SqliteStore::GetEndpoint(const CompanyId& company, const EndpointId& id) {
  return Read<Endpoint>([&](Db& db) -> Result<Endpoint> {
    static const std::string sql =
        std::string("SELECT ") + kEndpointCols + " FROM endpoints WHERE id = ? AND company_id = ?";
    PREPARE(s, db, sql.c_str());
    s.Bind(1, id.str()).Bind(2, company.str());
    return One<Endpoint>(s, "endpoint", sealed::Opening(*cipher_, ReadEndpoint));
  });
}

Result<Page<Endpoint>> SqliteStore::ListEndpoints(const CompanyId& company, const PageRequest& page) {
  return Read<Page<Endpoint>>([&](Db& db) -> Result<Page<Endpoint>> {
    static const std::string sql = std::string("SELECT ") + kEndpointCols +
                                   " FROM endpoints WHERE company_id = ?1 AND (?2 = '' OR id < ?2) "
                                   "ORDER BY id DESC LIMIT ?3";
    PREPARE(s, db, sql.c_str());
    int limit = ClampLimit(page.limit);
    s.Bind(1, company.str()).Bind(2, page.cursor).Bind(3, limit + 1);
    auto out = All<Endpoint>(s, sealed::Opening(*cipher_, ReadEndpoint));
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Endpoint& e) { return e.id.str(); });
  });
}

Result<std::vector<Endpoint>> SqliteStore::AllEndpoints(const std::optional<CompanyId>& company) {
  return Read<std::vector<Endpoint>>([&](Db& db) -> Result<std::vector<Endpoint>> {
    static const std::string sql = std::string("SELECT ") + kEndpointCols +
                                   " FROM endpoints WHERE (?1 = '' OR company_id = ?1) ORDER BY id";
    PREPARE(s, db, sql.c_str());
    s.Bind(1, company ? company->str() : std::string());
    return All<Endpoint>(s, sealed::Opening(*cipher_, ReadEndpoint));
  });
}

Result<int64_t> SqliteStore::EnableEndpoint(const CompanyId& company, const EndpointId& id,
                                            bool release_held, int64_t now_ms, const AuditEntry* audit) {
  return Write<int64_t>([=](Db& db) -> Result<int64_t> {
    PREPARE(s, db,
            "UPDATE endpoints SET status = 'enabled', disabled_reason = '', updated_at = ? "
            "WHERE id = ? AND company_id = ?");
    s.Bind(1, now_ms).Bind(2, id.str()).Bind(3, company.str());
    TRY(s.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("endpoint"));
    if (!release_held) return int64_t{0};
    PREPARE(d, db,
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ? "
            "WHERE endpoint_id = ? AND status = 'held'");
    d.Bind(1, now_ms).Bind(2, id.str());
    TRY(d.Exec());
    return db.Changes();
  }, audit);
}

Result<int64_t> SqliteStore::RecoverDeliveries(const CompanyId& company, const EndpointId& id,
                                               int64_t since_ms, int64_t now_ms, const AuditEntry* audit) {
  return Write<int64_t>([=](Db& db) -> Result<int64_t> {
    PREPARE(e, db, "SELECT 1 FROM endpoints WHERE id = ? AND company_id = ?");
    e.Bind(1, id.str()).Bind(2, company.str());
    auto found = e.Step();
    if (!found) return std::unexpected(found.error());
    e.Reset();
    if (!*found) return std::unexpected(NotFound("endpoint"));
    PREPARE(d, db,
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ? "
            "WHERE endpoint_id = ? AND status = 'failed' AND created_at >= ?");
    d.Bind(1, now_ms).Bind(2, id.str()).Bind(3, since_ms);
    TRY(d.Exec());
    return db.Changes();
  }, audit);
}

// ---------------------------------------------------------------- events

Result<IngestResult> EventStore::IngestSync(IngestRequest req) {
  std::promise<Result<IngestResult>> p;
  auto fut = p.get_future();
  Ingest(std::move(req), [&p](Result<IngestResult> r) { p.set_value(std::move(r)); });
  return fut.get();
}

void SqliteStore::Ingest(IngestRequest req, IngestCallback done) {
  for (NewEvent& ne : req.events) sealed::Seal(*cipher_, ne.event);  // here, not on the writer thread
  auto state = std::make_shared<std::optional<Result<IngestResult>>>();
  Enqueue(Job{
      [req = std::move(req), state](Db& db) mutable -> bool {
        auto run = [&]() -> Result<IngestResult> {
          const int64_t now = NowMs();
          if (req.idempotency_key) {
            PREPARE(q, db,
                    "SELECT request_hash, response, created_at FROM idempotency_keys "
                    "WHERE company_id = ? AND key = ?");
            q.Bind(1, req.company.str()).Bind(2, *req.idempotency_key);
            auto r = q.Step();
            if (!r) return std::unexpected(r.error());
            if (*r && q.Int(2) > now - kIdempotencyWindowMs) {
              bool same = q.TextView(0) == req.request_hash;
              IngestResult res{true, q.Text(1)};
              q.Reset();
              if (!same)
                return std::unexpected(Error{ErrorCode::kConflict,
                                             "this Idempotency-Key was already used with a different request body",
                                             {}});
              return res;
            }
            q.Reset();
          }
          PREPARE(ev, db,
                  "INSERT INTO events(id, company_id, type, subject, occurred_at, created_at, payload) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)");
          PREPARE(dl, db,
                  "INSERT INTO deliveries(id, company_id, event_id, endpoint_id, status, attempts, "
                  "next_attempt_at, last_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?)");
          for (const NewEvent& ne : req.events) {
            const Event& e = ne.event;
            ev.Reset();
            ev.Bind(1, e.id.str()).Bind(2, e.company_id.str()).Bind(3, e.type).Bind(4, e.subject)
                .Bind(5, e.occurred_at_ms).Bind(6, e.created_at_ms).BindBlob(7, e.payload);
            TRY(ev.Exec());
            for (const Delivery& d : ne.deliveries) {
              dl.Reset();
              dl.Bind(1, d.id.str()).Bind(2, d.company_id.str()).Bind(3, d.event_id.str())
                  .Bind(4, d.endpoint_id.str()).Bind(5, ToString(d.status))
                  .Bind(6, d.next_attempt_at_ms).Bind(7, d.created_at_ms);
              TRY(dl.Exec());
            }
          }
          if (req.idempotency_key) {
            PREPARE(ik, db,
                    "INSERT OR REPLACE INTO idempotency_keys(company_id, key, request_hash, response, created_at, "
                    "subjects) VALUES (?, ?, ?, ?, ?, ?)");
            ik.Bind(1, req.company.str()).Bind(2, *req.idempotency_key).Bind(3, req.request_hash)
                .Bind(4, req.response_body).Bind(5, now).Bind(6, erasure_rows::IdempotencySubjects(req));
            TRY(ik.Exec());
          }
          if (req.audit) TRY(sqlite::InsertAudit(db, *req.audit));
          return IngestResult{false, {}};
        };
        *state = run();
        return state->value().has_value();
      },
      [state, done = std::move(done)](const Error* e) mutable {
        if (e) done(std::unexpected(*e));
        else done(std::move(**state));
      }});
}

Result<Event> SqliteStore::GetEvent(const CompanyId& company, const EventId& id) {
  return Read<Event>([&](Db& db) -> Result<Event> {
    static const std::string sql =
        std::string("SELECT ") + kEventCols + " FROM events WHERE id = ? AND company_id = ?";
    PREPARE(s, db, sql.c_str());
    s.Bind(1, id.str()).Bind(2, company.str());
    return One<Event>(s, "event", sealed::Opening(*cipher_, ReadEvent));
  });
}

Result<Page<Event>> SqliteStore::ListEvents(const CompanyId& company, const EventQuery& q,
                                            const PageRequest& page) {
  return Read<Page<Event>>([&](Db& db) -> Result<Page<Event>> {
    PREPARE(s, db, store_sql::EventList(store_sql::Dialect::kSqlite, kEventCols, q));
    int limit = ClampLimit(page.limit);
    s.Bind(1, company.str()).Bind(2, page.cursor).Bind(3, q.type).Bind(4, q.subject)
        .Bind(5, q.after_ms).Bind(6, q.before_ms);
    if (q.delivery_endpoint_id) s.Bind(7, q.delivery_endpoint_id->str());
    else s.Bind(7, std::nullopt);
    if (q.delivery_status) s.Bind(8, ToString(*q.delivery_status));
    else s.Bind(8, std::nullopt);
    s.Bind(9, limit + 1);
    auto out = All<Event>(s, sealed::Opening(*cipher_, ReadEvent));
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Event& e) { return e.id.str(); });
  });
}

// ---------------------------------------------------------------- deliveries

Result<Delivery> SqliteStore::GetDelivery(const CompanyId& company, const DeliveryId& id) {
  return Read<Delivery>([&](Db& db) -> Result<Delivery> {
    static const std::string sql =
        std::string("SELECT ") + kDeliveryCols + " FROM deliveries WHERE id = ? AND company_id = ?";
    PREPARE(s, db, sql.c_str());
    s.Bind(1, id.str()).Bind(2, company.str());
    return One<Delivery>(s, "delivery", ReadDelivery);
  });
}

Result<Page<Delivery>> SqliteStore::ListDeliveries(const CompanyId& company, const DeliveryQuery& q,
                                                   const PageRequest& page) {
  return Read<Page<Delivery>>([&](Db& db) -> Result<Page<Delivery>> {
    PREPARE(s, db, store_sql::DeliveryList(store_sql::Dialect::kSqlite, kDeliveryCols, q));
    int limit = ClampLimit(page.limit);
    s.Bind(1, company.str()).Bind(2, page.cursor);
    if (q.endpoint_id) s.Bind(3, q.endpoint_id->str());
    else s.Bind(3, std::nullopt);
    if (q.event_id) s.Bind(4, q.event_id->str());
    else s.Bind(4, std::nullopt);
    if (q.status) s.Bind(5, ToString(*q.status));
    else s.Bind(5, std::nullopt);
    s.Bind(6, q.after_ms).Bind(7, q.before_ms).Bind(8, q.event_type).Bind(9, q.subject);
    s.Bind(10, limit + 1);
    auto out = All<Delivery>(s, ReadDelivery);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Delivery& d) { return d.id.str(); });
  });
}

Result<Page<Attempt>> SqliteStore::ListAttempts(const CompanyId& company, const DeliveryId& id,
                                                const PageRequest& page) {
  return Read<Page<Attempt>>([&](Db& db) -> Result<Page<Attempt>> {
    PREPARE(s, db,
            "SELECT id, delivery_id, number, started_at, duration_ms, status_code, error, "
            "response_headers, response_body, error_detail, request_headers FROM attempts "
            "WHERE delivery_id = ?1 AND company_id = ?2 "
            "AND (?3 = '' OR id < ?3) ORDER BY id DESC LIMIT ?4");
    int limit = ClampLimit(page.limit);
    s.Bind(1, id.str()).Bind(2, company.str()).Bind(3, page.cursor).Bind(4, limit + 1);
    std::vector<Attempt> out;
    while (true) {
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      Attempt a;
      a.id = AttemptId::FromTrusted(s.Text(0));
      a.delivery_id = DeliveryId::FromTrusted(s.Text(1));
      a.number = static_cast<int>(s.Int(2));
      a.started_at_ms = s.Int(3);
      a.duration_ms = s.Int(4);
      if (!s.IsNull(5)) a.status_code = static_cast<int>(s.Int(5));
      if (!s.IsNull(6)) a.error = s.Text(6);
      a.response_headers = s.Text(7);
      a.response_body = s.Text(8);
      a.error_detail = s.Text(9);
      a.request_headers = s.Text(10);
      TRY(sealed::Open(*cipher_, a));
      out.push_back(std::move(a));
    }
    return MakePage(std::move(out), limit, [](const Attempt& a) { return a.id.str(); });
  });
}

Result<std::vector<OrderingBlocker>> SqliteStore::OrderingBlockers(const CompanyId& company,
                                                                  const std::vector<DeliveryId>& ids) {
  using Out = std::vector<OrderingBlocker>;
  return Read<Out>([&](Db& db) -> Result<Out> {
    // The subject's events (events_subject), their deliveries to the same endpoint
    // (deliveries_event): one employee's history, not the endpoint's. CROSS JOIN fixes that
    // order and the unary `+` keeps `b` off deliveries_endpoint, which the planner picks without
    // statistics — a walk through the endpoint's whole history.
    PREPARE(s, db,
            "SELECT e.subject, b.id, b.attempts, b.next_attempt_at, count(*) OVER () "
            "FROM deliveries d CROSS JOIN events e CROSS JOIN events be CROSS JOIN deliveries b "
            "WHERE d.id = ?1 AND d.company_id = ?2 AND d.status = 'pending' AND e.id = d.event_id "
            "AND e.subject <> '' AND be.company_id = e.company_id AND be.subject = e.subject "
            "AND b.event_id = be.id AND +b.endpoint_id = d.endpoint_id AND +b.id < d.id AND b.status = 'pending' "
            "ORDER BY b.id LIMIT 1");
    Out out;
    for (const DeliveryId& id : ids) {
      s.Reset();
      s.Bind(1, id.str()).Bind(2, company.str());
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) continue;
      out.push_back(OrderingBlocker{id, s.Text(0), DeliveryId::FromTrusted(s.Text(1)), static_cast<int>(s.Int(2)),
                                    s.OptInt(3), s.Int(4)});
    }
    s.Reset();
    return out;
  });
}

Result<std::vector<AttemptStatsBucket>> SqliteStore::EndpointAttemptStats(
    const CompanyId& company, const EndpointId& id, int64_t since_ms, int64_t until_ms,
    int64_t bucket_ms) {
  if (bucket_ms <= 0)
    return std::unexpected(Error{ErrorCode::kInvalidArgument, "bucket must be positive", {}});
  using Buckets = std::vector<AttemptStatsBucket>;
  return Read<Buckets>([&](Db& db) -> Result<Buckets> {
    PREPARE(e, db, "SELECT 1 FROM endpoints WHERE id = ? AND company_id = ?");
    e.Bind(1, id.str()).Bind(2, company.str());
    auto found = e.Step();
    if (!found) return std::unexpected(found.error());
    e.Reset();
    if (!*found) return std::unexpected(NotFound("endpoint"));
    // A delivery's last_attempt_at is the end of its latest attempt, so deliveries whose
    // last attempt ended before the window cannot have attempts in it.
    PREPARE(s, db,
            "SELECT (a.started_at - ?3) / ?5 AS b, COUNT(*), SUM(a.error IS NULL), "
            "SUM(a.duration_ms), MAX(a.duration_ms) "
            "FROM deliveries d JOIN attempts a ON a.delivery_id = d.id "
            "WHERE d.endpoint_id = ?1 AND d.company_id = ?2 AND d.last_attempt_at >= ?3 "
            "AND a.started_at >= ?3 AND a.started_at < ?4 GROUP BY b ORDER BY b");
    s.Bind(1, id.str()).Bind(2, company.str()).Bind(3, since_ms).Bind(4, until_ms).Bind(5, bucket_ms);
    std::vector<AttemptStatsBucket> out;
    while (true) {
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      out.push_back(AttemptStatsBucket{since_ms + s.Int(0) * bucket_ms, s.Int(1), s.Int(2),
                                       s.Int(3), s.Int(4)});
    }
    return out;
  });
}

Result<Delivery> SqliteStore::RequeueDelivery(const CompanyId& company, const DeliveryId& id,
                                              int64_t now_ms, const AuditEntry* audit) {
  auto r = Write<void>([=](Db& db) -> Result<void> {
    PREPARE(s, db,
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ? AND company_id = ? "
            "AND status <> 'canceled'");
    s.Bind(1, now_ms).Bind(2, id.str()).Bind(3, company.str());
    TRY(s.Exec());
    if (db.Changes() > 0) return {};
    PREPARE(q, db, "SELECT 1 FROM deliveries WHERE id = ? AND company_id = ?");
    q.Bind(1, id.str()).Bind(2, company.str());
    auto found = q.Step();
    if (!found) return std::unexpected(found.error());
    q.Reset();
    if (!*found) return std::unexpected(NotFound("delivery"));
    return MakeError(ErrorCode::kConflict, "the delivery was canceled (its event was erased): there is nothing to send");
  }, audit);
  if (!r) return std::unexpected(r.error());
  return GetDelivery(company, id);
}

// ---------------------------------------------------------------- dispatch

Result<DispatchStore::PendingPage> SqliteStore::LoadPending(const EndpointId& endpoint, const std::string& after,
                                                           int scan_limit) {
  return Read<PendingPage>([&](Db& db) -> Result<PendingPage> {
    PendingPage page;
    // The window: the endpoint's next `scan_limit` deliveries, read off the index alone
    // (deliveries_endpoint holds (endpoint_id, id); status needs the row).
    PREPARE(w, db,
            "SELECT id FROM deliveries WHERE endpoint_id = ?1 AND id > ?2 ORDER BY id LIMIT 1 OFFSET ?3");
    w.Bind(1, endpoint.str()).Bind(2, after).Bind(3, std::max(1, scan_limit) - 1);
    auto last = w.Step();
    if (!last) return std::unexpected(last.error());
    if (*last) page.next_after = w.Text(0);
    // Its pending ones; without a window end, the rest of the endpoint (under scan_limit rows):
    // "dlv_~" sorts after every delivery id, so the index range is bounded either way.
    PREPARE(s, db,
            "SELECT d.id, d.company_id, d.event_id, d.endpoint_id, e.subject, "
            "d.attempts, d.next_attempt_at, d.replay_id IS NOT NULL FROM deliveries d "
            "JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = ?2 "
            "AND d.id > ?1 AND d.id <= ?3 AND d.status = 'pending' ORDER BY d.id");
    s.Bind(1, after).Bind(2, endpoint.str()).Bind(3, page.next_after.empty() ? "dlv_~" : page.next_after);
    auto rows = All<PendingDelivery>(s, [](Stmt& row) {
      PendingDelivery p;
      p.id = DeliveryId::FromTrusted(row.Text(0));
      p.company_id = CompanyId::FromTrusted(row.Text(1));
      p.event_id = EventId::FromTrusted(row.Text(2));
      p.endpoint_id = EndpointId::FromTrusted(row.Text(3));
      p.subject = row.Text(4);
      p.attempts = static_cast<int>(row.Int(5));
      p.next_attempt_at_ms = row.OptInt(6).value_or(0);
      p.replay = row.Int(7) != 0;
      return p;
    });
    if (!rows) return std::unexpected(rows.error());
    page.deliveries = std::move(*rows);
    return page;
  });
}

Result<std::vector<std::pair<EventId, std::string>>> SqliteStore::LoadPayloads(
    const std::vector<EventId>& ids) {
  using Out = std::vector<std::pair<EventId, std::string>>;
  return Read<Out>([&](Db& db) -> Result<Out> {
    PREPARE(s, db, "SELECT payload FROM events WHERE id = ? AND erased_at IS NULL");
    Out out;
    for (const auto& id : ids) {
      s.Reset();
      s.Bind(1, id.str());
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) continue;
      auto payload = cipher_->OpenBytes(s.TextView(0), sealed::PayloadAad(id.str()));
      if (!payload) return std::unexpected(payload.error());
      out.emplace_back(id, std::move(*payload));
    }
    return out;
  });
}

void SqliteStore::ApplyDispatchUpdates(std::vector<DeliveryUpdate> updates,
                                       std::vector<EndpointHealth> health,
                                       std::move_only_function<void(Result<void>)> done) {
  // Written as jobs of at most kOutcomesPerJob (32) updates. Should a group be run again with
  // a SAVEPOINT per job (a job failed halfway: see Job), every statement inside one opens a
  // statement journal whose release walks the savepoint's whole in-memory sub-journal: the
  // cost of a job grows with the square of its size. When every job ran in a savepoint,
  // unbounded jobs (the dispatcher hands over everything that piled up while the writer was
  // busy) collapsed fan-out from 13,000 to 3,000 deliveries/s in some runs. `done` runs
  // once, after the last job.
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
    std::vector<EndpointHealth> part_health;
    if (k + 1 == n_jobs) part_health = std::move(health);
    auto state = std::make_shared<Result<void>>();
    Enqueue(Job{
        [updates = std::move(part), health = std::move(part_health), state](Db& db) mutable -> bool {
          *state = WriteOutcomes(db, updates, health);
          return state->has_value();
        },
        // Jobs are finished in the order they were queued: the last one reports for all.
        [state, shared](const Error* e) mutable {
          if (!shared->error) {
            if (e) shared->error = *e;
            else if (!*state) shared->error = state->error();
          }
          if (--shared->jobs_left > 0) return;
          if (shared->error) shared->done(std::unexpected(*shared->error));
          else shared->done({});
        },
        /*durable=*/false});
  }
}

Result<void> SqliteStore::WriteOutcomes(Db& db, const std::vector<DeliveryUpdate>& updates,
                                        const std::vector<EndpointHealth>& health) {
  PREPARE(u, db,
          "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
          "last_attempt_at = COALESCE(?, last_attempt_at) WHERE id = ? AND coalesce(canceled_reason, '') <> 'erased'");
  PREPARE(a, db,
          "INSERT INTO attempts(id, delivery_id, company_id, number, started_at, duration_ms, "
          "status_code, error, response_headers, response_body, error_detail, request_headers) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  PREPARE(del, db, "DELETE FROM deliveries WHERE id = ? AND status IN ('pending', 'held')");
  for (const DeliveryUpdate& d : updates) {
    if (d.drop) {
      del.Reset();
      del.Bind(1, d.id.str());
      TRY(del.Exec());
      continue;
    }
    u.Reset();
    u.Bind(1, ToString(d.status)).Bind(2, d.attempts).Bind(3, d.next_attempt_at_ms)
        .Bind(4, d.last_attempt_at_ms).Bind(5, d.id.str());
    TRY(u.Exec());
    // No row updated: the delivery is gone (its endpoint was deleted) or canceled (erased): no
    // attempt either.
    if (d.attempt && sqlite3_changes(db.raw()) > 0) {
      const Attempt& at = *d.attempt;
      a.Reset();
      a.Bind(1, at.id.str()).Bind(2, d.id.str()).Bind(3, d.company_id.str()).Bind(4, at.number)
          .Bind(5, at.started_at_ms).Bind(6, at.duration_ms);
      if (at.status_code) a.Bind(7, *at.status_code);
      else a.Bind(7, std::nullopt);
      a.Bind(8, at.error).Bind(9, at.response_headers).BindBlob(10, at.response_body).Bind(11, at.error_detail)
          .Bind(12, at.request_headers);
      TRY(a.Exec());
    }
  }
  PREPARE(h, db, "UPDATE endpoints SET consecutive_failures = ?, failing_since = ? WHERE id = ?");
  for (const EndpointHealth& e : health) {
    h.Reset();
    h.Bind(1, e.consecutive_failures).Bind(2, e.failing_since_ms).Bind(3, e.id.str());
    TRY(h.Exec());
  }
  return {};
}

Result<int64_t> SqliteStore::PurgeExpired(int64_t cutoff_ms, int limit, const std::optional<CompanyId>& company) {
  // Ids are ULIDs: "prefix + UlidLowerBound(cutoff)" bounds rows created before the cutoff
  // on the primary key — or, for one company, on its (company_id, id) index — without a scan.
  const std::string bound = UlidLowerBound(cutoff_ms);
  return Write<int64_t>([bound, limit, company](Db& db) -> Result<int64_t> {
    int64_t n = 0;
    // ?1: the id bound, ?2: the batch, ?3: the company ("" for all of them).
    struct Step {
      const char* prefix;
      const char* all;
      const char* one;  // the same on one company's (company_id, id) index
    };
    static constexpr Step kSteps[] = {
        // The attempts of the deliveries deleted next (the same rows: one writer, one snapshot).
        {"dlv_",
         "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE id < ?1 "
         "AND status IN ('succeeded', 'failed', 'canceled') LIMIT ?2)",
         "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE company_id = ?3 AND id < ?1 "
         "AND status IN ('succeeded', 'failed', 'canceled') LIMIT ?2)"},
        {"dlv_",
         "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE id < ?1 "
         "AND status IN ('succeeded', 'failed', 'canceled') LIMIT ?2)",
         "DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE company_id = ?3 AND id < ?1 "
         "AND status IN ('succeeded', 'failed', 'canceled') LIMIT ?2)"},
        {"evt_",
         "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.id < ?1 AND NOT EXISTS "
         "(SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?2)",
         "DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.company_id = ?3 AND e.id < ?1 "
         "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?2)"},
        // Replays that ended (created before the cutoff, as their deliveries).
        {"rpl_",
         "DELETE FROM replays WHERE id IN (SELECT id FROM replays WHERE id < ?1 AND status <> 'running' LIMIT ?2)",
         "DELETE FROM replays WHERE id IN (SELECT id FROM replays WHERE company_id = ?3 AND id < ?1 "
         "AND status <> 'running' LIMIT ?2)"},
    };
    for (const Step& step : kSteps) {
      PREPARE(st, db, company ? step.one : step.all);
      st.Bind(1, step.prefix + bound).Bind(2, limit);
      if (company) st.Bind(3, company->str());
      TRY(st.Exec());
      n += db.Changes();
    }
    if (company) return n;  // idempotency keys expire for everyone below
    PREPARE(k, db, "DELETE FROM idempotency_keys WHERE created_at < ?");
    k.Bind(1, NowMs() - kIdempotencyWindowMs);
    TRY(k.Exec());
    n += db.Changes();
    return n;
  });
}

Result<void> SqliteStore::DisableEndpoint(const CompanyId& company, const EndpointId& id,
                                          DisabledReason reason, int64_t now_ms, const AuditEntry* audit) {
  return Write<void>([=](Db& db) -> Result<void> {
    PREPARE(s, db,
            "UPDATE endpoints SET status = 'disabled', disabled_reason = ?, updated_at = ? "
            "WHERE id = ? AND company_id = ?");
    s.Bind(1, ToString(reason)).Bind(2, now_ms).Bind(3, id.str()).Bind(4, company.str());
    TRY(s.Exec());
    if (db.Changes() == 0) return std::unexpected(NotFound("endpoint"));
    PREPARE(d, db,
            "UPDATE deliveries SET status = 'held', next_attempt_at = NULL "
            "WHERE endpoint_id = ? AND status = 'pending'");
    d.Bind(1, id.str());
    return d.Exec();
  }, audit);
}

// ---------------------------------------------------------------- audit log

Result<void> SqliteStore::AppendAudit(const AuditEntry& entry) {
  return Write<void>([entry](Db& db) { return sqlite::InsertAudit(db, entry); });
}

Result<Page<AuditEntry>> SqliteStore::ListAuditLog(const AuditQuery& q, const PageRequest& page) {
  return Read<Page<AuditEntry>>([&](Db& db) { return sqlite::ListAudit(db, q, page); });
}

Result<int64_t> SqliteStore::PurgeAuditLog(int64_t cutoff_ms, int limit) {
  return Write<int64_t>([cutoff_ms, limit](Db& db) { return sqlite::PurgeAudit(db, cutoff_ms, limit); });
}

// ---------------------------------------------------------------- encryption at rest

Result<std::vector<std::string>> SqliteStore::EncryptionKeyIds() {
  return Read<std::vector<std::string>>([&](Db& db) -> Result<std::vector<std::string>> {
    PREPARE(s, db, "SELECT key_id FROM encryption_keys ORDER BY added_at, key_id");
    return All<std::string>(s, [](const Stmt& row) { return row.Text(0); });
  });
}

Result<void> SqliteStore::RecordEncryptionKey(const std::string& key_id, int64_t now_ms) {
  return Write<void>([key_id, now_ms](Db& db) -> Result<void> {
    PREPARE(s, db, "INSERT OR IGNORE INTO encryption_keys(key_id, added_at) VALUES (?, ?)");
    s.Bind(1, key_id).Bind(2, now_ms);
    return s.Exec();
  });
}

Result<void> SqliteStore::ForgetEncryptionKey(const std::string& key_id) {
  return Write<void>([key_id](Db& db) -> Result<void> {
    PREPARE(s, db, "DELETE FROM encryption_keys WHERE key_id = ?");
    s.Bind(1, key_id);
    return s.Exec();
  });
}

namespace {

// The statements of RekeyBatch per table, built once: prepared statements are cached by the
// SQL's address (Db::Prepare).
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
        cols += ", " + name;
        set += (i ? ", " : "") + name + " = ?" + std::to_string(i + 1);
        // CAST: a value compares equal whether it was bound as text or as a blob.
        same += " AND CAST(" + name + " AS BLOB) = CAST(?" + std::to_string(n + i + 1) + " AS BLOB)";
      }
      out[static_cast<size_t>(t)] = {
          "SELECT id" + cols + " FROM " + spec.table + " WHERE id > ?1 ORDER BY id LIMIT ?2",
          std::string("UPDATE ") + spec.table + " SET " + set + " WHERE id = ?" + std::to_string(2 * n + 1) + same};
    }
    return out;
  }();
  return kSql[static_cast<size_t>(table)];
}

}  // namespace

Result<RekeyBatchResult> SqliteStore::RekeyBatch(SealedTable table, const std::string& after, int limit) {
  return Write<RekeyBatchResult>([this, table, after, limit](Db& db) -> Result<RekeyBatchResult> {
    const sealed::TableColumns& spec = sealed::ColumnsOf(table);
    const int n = static_cast<int>(spec.columns.size());
    const int id_param = 2 * n + 1;
    const RekeySql& sql = RekeySqlOf(table);
    struct Row {
      std::string id;
      std::vector<std::string> values;
    };
    std::vector<Row> rows;
    {
      PREPARE(q, db, sql.select.c_str());
      q.Bind(1, after).Bind(2, limit);
      auto read = All<Row>(q, [n](const Stmt& r) {
        Row row{r.Text(0), {}};
        for (int i = 1; i <= n; ++i) row.values.push_back(r.Text(i));
        return row;
      });
      if (!read) return std::unexpected(read.error());
      rows = std::move(*read);
    }
    RekeyBatchResult out;
    out.scanned = static_cast<int64_t>(rows.size());
    if (static_cast<int>(rows.size()) == limit) out.next_after = rows.back().id;
    PREPARE(u, db, sql.update.c_str());
    for (const Row& row : rows) {
      auto fresh = sealed::Reseal(*cipher_, table, row.id, row.values);
      if (!fresh) return std::unexpected(fresh.error());
      if (!*fresh) continue;
      u.Reset();
      for (int i = 0; i < n; ++i) {
        if (spec.columns[i].text) u.Bind(i + 1, (**fresh)[i]);
        else u.BindBlob(i + 1, (**fresh)[i]);
        u.BindBlob(n + i + 1, row.values[i]);
      }
      u.Bind(id_param, row.id);
      TRY(u.Exec());
      out.resealed += db.Changes();
    }
    return out;
  });
}

// ---------------------------------------------------------------- erasures

namespace {

Erasure ReadErasure(const Stmt& s) {
  Erasure e;
  e.id = ErasureId::FromTrusted(s.Text(0));
  e.company_id = CompanyId::FromTrusted(s.Text(1));
  e.subject_hash = s.Text(2);
  if (!s.IsNull(3)) e.subject = s.Text(3);
  e.event_bound = s.Text(4);
  e.status = s.TextView(5) == "completed" ? ErasureStatus::kCompleted : ErasureStatus::kRunning;
  e.requested_by = TokenId::FromTrusted(s.Text(6));
  e.requested_by_operator = s.TextView(7) == "operator";
  e.requested_at_ms = s.Int(8);
  e.finished_at_ms = s.OptInt(9);
  e.counts = {s.Int(10), s.Int(11), s.Int(12), s.Int(13)};
  return e;
}

const std::string& ErasureSelect(const char* where_order) {
  // One string per distinct tail (prepared statements are cached by the SQL's address).
  static std::mutex mu;
  static std::unordered_map<std::string, std::unique_ptr<std::string>> cache;
  std::lock_guard lock(mu);
  auto& slot = cache[where_order];
  if (!slot) slot = std::make_unique<std::string>(std::string("SELECT ") + erasure_rows::kCols + " FROM erasures " + where_order);
  return *slot;
}

}  // namespace

Result<std::string> SqliteStore::ErasureKey(const std::string& fresh) {
  return Write<std::string>([fresh](Db& db) -> Result<std::string> {
    PREPARE(ins, db, "INSERT OR IGNORE INTO erasure_key(id, key) VALUES (1, ?)");
    ins.BindBlob(1, fresh);
    TRY(ins.Exec());
    PREPARE(q, db, "SELECT key FROM erasure_key WHERE id = 1");
    return One<std::string>(q, "erasure key", [](const Stmt& r) { return r.Text(0); });
  });
}

Result<void> SqliteStore::InsertErasure(const Erasure& e, const AuditEntry* audit) {
  return Write<void>([e](Db& db) -> Result<void> {
    PREPARE(s, db,
            "INSERT INTO erasures(id, company_id, subject_hash, subject, event_bound, status, requested_by, "
            "requested_by_kind, requested_at, finished_at, events, attempts, idempotency_records, "
            "deliveries_canceled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(1, e.id.str()).Bind(2, e.company_id.str()).Bind(3, e.subject_hash);
    if (e.status == ErasureStatus::kRunning) s.Bind(4, e.subject);
    else s.Bind(4, std::nullopt);
    s.Bind(5, e.event_bound).Bind(6, ToString(e.status)).Bind(7, e.requested_by.str())
        .Bind(8, std::string_view(erasure_rows::KindOf(e))).Bind(9, e.requested_at_ms).Bind(10, e.finished_at_ms)
        .Bind(11, e.counts.events).Bind(12, e.counts.attempts).Bind(13, e.counts.idempotency_records)
        .Bind(14, e.counts.deliveries_canceled);
    return s.Exec();
  }, audit);
}

Result<Erasure> SqliteStore::GetErasure(const CompanyId& company, const ErasureId& id) {
  return Read<Erasure>([&](Db& db) -> Result<Erasure> {
    PREPARE(s, db, ErasureSelect("WHERE id = ? AND company_id = ?").c_str());
    s.Bind(1, id.str()).Bind(2, company.str());
    return One<Erasure>(s, "erasure", ReadErasure);
  });
}

Result<Page<Erasure>> SqliteStore::ListErasures(const CompanyId& company, const PageRequest& page) {
  return Read<Page<Erasure>>([&](Db& db) -> Result<Page<Erasure>> {
    PREPARE(s, db, ErasureSelect("WHERE company_id = ?1 AND (?2 = '' OR id < ?2) ORDER BY id DESC LIMIT ?3").c_str());
    const int limit = ClampLimit(page.limit);
    s.Bind(1, company.str()).Bind(2, page.cursor).Bind(3, limit + 1);
    auto out = All<Erasure>(s, ReadErasure);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Erasure& e) { return e.id.str(); });
  });
}

Result<std::vector<Erasure>> SqliteStore::RunningErasures() {
  return Read<std::vector<Erasure>>([&](Db& db) -> Result<std::vector<Erasure>> {
    PREPARE(s, db, ErasureSelect("WHERE status = 'running' ORDER BY id").c_str());
    return All<Erasure>(s, ReadErasure);
  });
}

Result<ErasureBatchResult> SqliteStore::EraseBatch(const ErasureId& id, int limit, int64_t now_ms) {
  bool completed_now = false;
  auto out = Write<ErasureBatchResult>([id, limit, now_ms, &completed_now](Db& db) -> Result<ErasureBatchResult> {
    auto run = [&]() -> Result<ErasureBatchResult> {
      ErasureBatchResult res;
      completed_now = false;
      {
        PREPARE(e, db, ErasureSelect("WHERE id = ?").c_str());
        e.Bind(1, id.str());
        auto er = One<Erasure>(e, "erasure", ReadErasure);
        if (!er) return std::unexpected(er.error());
        res.erasure = std::move(*er);
      }
      Erasure& er = res.erasure;
      if (er.status == ErasureStatus::kCompleted) return res;
      std::vector<std::string> events;
      {
        // events_subject: this subject's events of the company, oldest first. An erased event
        // has no subject any more: the next batch starts where this one ended.
        PREPARE(q, db, "SELECT id FROM events WHERE company_id = ?1 AND subject = ?2 AND id < ?3 ORDER BY id LIMIT ?4");
        q.Bind(1, er.company_id.str()).Bind(2, er.subject).Bind(3, er.event_bound).Bind(4, limit);
        auto ids = All<std::string>(q, [](const Stmt& r) { return r.Text(0); });
        if (!ids) return std::unexpected(ids.error());
        events = std::move(*ids);
      }
      PREPARE(cancel, db,
              "UPDATE deliveries SET status = 'canceled', canceled_reason = 'erased', next_attempt_at = NULL "
              "WHERE event_id = ? AND status IN ('pending', 'held') RETURNING id, endpoint_id");
      PREPARE(att, db,
              "UPDATE attempts SET response_headers = '{}', response_body = X'' "
              "WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)");
      PREPARE(ev, db, "UPDATE events SET payload = X'', subject = '', erased_at = ?2 WHERE id = ?1");
      for (const std::string& event : events) {
        cancel.Reset();
        cancel.Bind(1, event);
        auto canceled = All<std::pair<DeliveryId, EndpointId>>(cancel, [](const Stmt& r) {
          return std::pair{DeliveryId::FromTrusted(r.Text(0)), EndpointId::FromTrusted(r.Text(1))};
        });
        if (!canceled) return std::unexpected(canceled.error());
        res.counts.deliveries_canceled += static_cast<int64_t>(canceled->size());
        for (auto& c : *canceled) res.canceled.push_back(std::move(c));
        att.Reset();
        att.Bind(1, event);
        TRY(att.Exec());
        res.counts.attempts += db.Changes();
        ev.Reset();
        ev.Bind(1, event).Bind(2, now_ms);
        TRY(ev.Exec());
        res.counts.events += db.Changes();
      }
      const bool last = static_cast<int>(events.size()) < limit;
      if (last) {
        PREPARE(k, db, "DELETE FROM idempotency_keys WHERE company_id = ?1 AND created_at <= ?2 AND instr(subjects, ?3) > 0");
        k.Bind(1, er.company_id.str()).Bind(2, er.requested_at_ms).Bind(3, erasure_rows::SubjectNeedle(er.subject));
        TRY(k.Exec());
        res.counts.idempotency_records += db.Changes();
      }
      PREPARE(u, db,
              "UPDATE erasures SET events = events + ?2, attempts = attempts + ?3, "
              "idempotency_records = idempotency_records + ?4, deliveries_canceled = deliveries_canceled + ?5, "
              "status = CASE WHEN ?6 THEN 'completed' ELSE status END, "
              "finished_at = CASE WHEN ?6 THEN ?7 ELSE finished_at END, "
              "subject = CASE WHEN ?6 THEN NULL ELSE subject END WHERE id = ?1");
      u.Bind(1, id.str()).Bind(2, res.counts.events).Bind(3, res.counts.attempts)
          .Bind(4, res.counts.idempotency_records).Bind(5, res.counts.deliveries_canceled)
          .Bind(6, last ? 1 : 0).Bind(7, now_ms);
      TRY(u.Exec());
      er.counts += res.counts;
      if (last) {
        er.status = ErasureStatus::kCompleted;
        er.finished_at_ms = now_ms;
        er.subject.clear();
        completed_now = true;
      }
      return res;
    };
    // Everything this batch frees is zeroed, in pages going to the freelist too (long payloads'
    // overflow pages): the erased bytes do not wait for a VACUUM to leave the file.
    TRY(db.ExecScript("PRAGMA secure_delete = ON"));
    auto r = run();
    (void)db.ExecScript("PRAGMA secure_delete = FAST");
    return r;
  });
  if (out && completed_now) {
    if (auto t = TruncateWal(); !t)
      spdlog::warn("store: erasure {} is complete, but the WAL could not be truncated ({}): the erased bytes "
                   "leave it with the next checkpoint", id.str(), t.error().message);
  }
  return out;
}

Result<void> SqliteStore::TruncateWal() {
  // A connection of its own (the checkpointer's belongs to its thread). PASSIVE first copies
  // what it can without holding anyone up; TRUNCATE then copies the rest — waiting for readers
  // of older frames and holding writers back for that moment only — and empties the WAL file.
  auto db = Db::Open(path_);
  if (!db) return std::unexpected(db.error());
  int log = 0, done = 0;
  (void)sqlite3_wal_checkpoint_v2((*db)->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  for (int i = 0;; ++i) {
    const int rc = sqlite3_wal_checkpoint_v2((*db)->raw(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc == SQLITE_OK) return {};
    if (rc != SQLITE_BUSY || i == 20)
      return MakeError(ErrorCode::kUnavailable, std::string("checkpoint: ") + sqlite3_errmsg((*db)->raw()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// ---------------------------------------------------------------- replays

namespace {

constexpr const char* kReplayCols =
    "id, company_id, endpoint_id, status, since, until, event_types, selection, total, created, cursor, "
    "scan_done, created_at, finished_at";

Replay ReadReplay(const Stmt& s) {
  Replay r;
  r.id = ReplayId::FromTrusted(s.Text(0));
  r.company_id = CompanyId::FromTrusted(s.Text(1));
  r.endpoint_id = EndpointId::FromTrusted(s.Text(2));
  r.status = ParseReplayStatus(s.TextView(3)).value_or(ReplayStatus::kRunning);
  r.since_ms = s.Int(4);
  r.until_ms = s.Int(5);
  if (!s.IsNull(6)) {
    r.event_types.emplace();
    if (auto v = ParseJson(s.TextView(6)); v && v->is_array())
      for (const auto& t : v->get_array())
        if (t.is_string()) r.event_types->emplace_back(t.get_string());
  }
  r.selection = ReplaySelectionFromJson(s.TextView(7));
  r.total = s.Int(8);
  r.created = s.Int(9);
  r.cursor = s.Text(10);
  r.scan_done = s.Int(11) != 0;
  r.created_at_ms = s.Int(12);
  r.finished_at_ms = s.OptInt(13);
  return r;
}

std::optional<std::string> EventTypesJson(const std::optional<std::vector<std::string>>& types) {
  if (!types) return std::nullopt;
  json::array a;
  for (const auto& t : *types) a.emplace_back(t);
  return ToJson(a);
}

std::string TypesJson(const std::vector<std::string>& types) {
  json::array a;
  for (const auto& t : types) a.emplace_back(t);
  return ToJson(a);
}

// Event ids are ULIDs of the accepting node's clock, as created_at is: a window of created_at
// is sought on the (company_id, id) index between the ids of an hour before and after it (a
// clock that stepped back less than that still finds its events), then checked exactly.
constexpr int64_t kIdClockSlackMs = 3600 * 1000;
std::string EventIdBound(int64_t ms) { return std::string(EventTag::kPrefix) + UlidLowerBound(std::max<int64_t>(0, ms)); }

}  // namespace

Result<void> SqliteStore::InsertReplay(const Replay& r, const AuditEntry* audit) {
  return Write<void>([r](Db& db) -> Result<void> {
    PREPARE(e, db, "SELECT 1 FROM endpoints WHERE id = ? AND company_id = ?");
    e.Bind(1, r.endpoint_id.str()).Bind(2, r.company_id.str());
    auto found = e.Step();
    if (!found) return std::unexpected(found.error());
    e.Reset();
    if (!*found) return std::unexpected(NotFound("endpoint"));
    PREPARE(q, db, "SELECT id FROM replays WHERE endpoint_id = ? AND status = 'running'");
    q.Bind(1, r.endpoint_id.str());
    auto running = q.Step();
    if (!running) return std::unexpected(running.error());
    const std::string other = *running ? q.Text(0) : std::string();
    q.Reset();
    if (*running && r.status == ReplayStatus::kRunning) {
      return MakeError(ErrorCode::kConflict, "replay " + other + " of this endpoint is running: wait for it or cancel it");
    }
    PREPARE(s, db,
            "INSERT INTO replays(id, company_id, endpoint_id, status, since, until, event_types, selection, total, "
            "created, cursor, scan_done, created_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.Bind(1, r.id.str()).Bind(2, r.company_id.str()).Bind(3, r.endpoint_id.str()).Bind(4, ToString(r.status))
        .Bind(5, r.since_ms).Bind(6, r.until_ms).Bind(7, EventTypesJson(r.event_types))
        .Bind(8, ReplaySelectionToJson(r.selection)).Bind(9, r.total).Bind(10, r.created).Bind(11, r.cursor)
        .Bind(12, int64_t{r.scan_done ? 1 : 0}).Bind(13, r.created_at_ms).Bind(14, r.finished_at_ms);
    return s.Exec();
  }, audit);
}

Result<Replay> SqliteStore::GetReplay(const CompanyId& company, const ReplayId& id) {
  return Read<Replay>([&](Db& db) -> Result<Replay> {
    static const std::string sql =
        std::string("SELECT ") + kReplayCols + " FROM replays WHERE id = ? AND company_id = ?";
    PREPARE(s, db, sql.c_str());
    s.Bind(1, id.str()).Bind(2, company.str());
    return One<Replay>(s, "replay", ReadReplay);
  });
}

Result<Page<Replay>> SqliteStore::ListReplays(const CompanyId& company, const EndpointId& endpoint,
                                              const PageRequest& page) {
  return Read<Page<Replay>>([&](Db& db) -> Result<Page<Replay>> {
    static const std::string sql = std::string("SELECT ") + kReplayCols +
                                   " FROM replays WHERE endpoint_id = ?1 AND company_id = ?2 "
                                   "AND (?3 = '' OR id < ?3) ORDER BY id DESC LIMIT ?4";
    PREPARE(s, db, sql.c_str());
    const int limit = ClampLimit(page.limit);
    s.Bind(1, endpoint.str()).Bind(2, company.str()).Bind(3, page.cursor).Bind(4, limit + 1);
    auto out = All<Replay>(s, ReadReplay);
    if (!out) return std::unexpected(out.error());
    return MakePage(std::move(*out), limit, [](const Replay& r) { return r.id.str(); });
  });
}

Result<ReplayProgress> SqliteStore::GetReplayProgress(const CompanyId& company, const ReplayId& id) {
  return Read<ReplayProgress>([&](Db& db) -> Result<ReplayProgress> {
    PREPARE(e, db, "SELECT 1 FROM replays WHERE id = ? AND company_id = ?");
    e.Bind(1, id.str()).Bind(2, company.str());
    auto found = e.Step();
    if (!found) return std::unexpected(found.error());
    e.Reset();
    if (!*found) return std::unexpected(NotFound("replay"));
    PREPARE(s, db, "SELECT status, count(*) FROM deliveries WHERE replay_id = ? GROUP BY status");
    s.Bind(1, id.str());
    ReplayProgress p;
    while (true) {
      auto r = s.Step();
      if (!r) return std::unexpected(r.error());
      if (!*r) break;
      const int64_t n = s.Int(1);
      switch (ParseDeliveryStatus(s.TextView(0)).value_or(DeliveryStatus::kPending)) {
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

Result<Replay> SqliteStore::CancelReplay(const CompanyId& company, const ReplayId& id, int64_t now_ms,
                                        const AuditEntry* audit) {
  return Write<Replay>([company, id, now_ms](Db& db) -> Result<Replay> {
    static const std::string sql =
        std::string("SELECT ") + kReplayCols + " FROM replays WHERE id = ? AND company_id = ?";
    PREPARE(q, db, sql.c_str());
    q.Bind(1, id.str()).Bind(2, company.str());
    auto r = One<Replay>(q, "replay", ReadReplay);
    if (!r || r->status == ReplayStatus::kCanceled) return r;
    if (r->status == ReplayStatus::kCompleted)
      return MakeError(ErrorCode::kConflict, "replay " + id.str() + " has completed: there is nothing left to cancel");
    PREPARE(u, db, "UPDATE replays SET status = 'canceled', finished_at = ? WHERE id = ? AND status = 'running'");
    u.Bind(1, now_ms).Bind(2, id.str());
    TRY(u.Exec());
    PREPARE(d, db,
            "UPDATE deliveries SET status = 'canceled', next_attempt_at = NULL "
            "WHERE replay_id = ? AND status IN ('pending', 'held')");
    d.Bind(1, id.str());
    TRY(d.Exec());
    r->status = ReplayStatus::kCanceled;
    r->finished_at_ms = now_ms;
    return r;
  }, audit);
}

Result<std::vector<Replay>> SqliteStore::RunningReplays() {
  return Read<std::vector<Replay>>([](Db& db) -> Result<std::vector<Replay>> {
    static const std::string sql =
        std::string("SELECT ") + kReplayCols + " FROM replays WHERE status = 'running' ORDER BY id";
    PREPARE(s, db, sql.c_str());
    return All<Replay>(s, ReadReplay);
  });
}

Result<int64_t> SqliteStore::CountReplayEvents(const CompanyId& company, int64_t since_ms, int64_t until_ms,
                                               const std::vector<std::string>& types) {
  return Read<int64_t>([&](Db& db) -> Result<int64_t> {
    // "+type": the (company_id, id) index, walked over the window (see kIdClockSlackMs).
    PREPARE(s, db,
            "SELECT count(*) FROM events WHERE company_id = ?1 AND id >= ?2 AND id < ?3 "
            "AND created_at >= ?4 AND created_at < ?5 AND +type IN (SELECT value FROM json_each(?6))");
    s.Bind(1, company.str()).Bind(2, EventIdBound(since_ms - kIdClockSlackMs))
        .Bind(3, EventIdBound(until_ms + kIdClockSlackMs)).Bind(4, since_ms).Bind(5, until_ms)
        .Bind(6, TypesJson(types));
    auto r = s.Step();
    if (!r) return std::unexpected(r.error());
    const int64_t n = *r ? s.Int(0) : 0;
    s.Reset();
    return n;
  });
}

Result<std::vector<Event>> SqliteStore::ScanReplayEvents(const CompanyId& company, int64_t since_ms,
                                                         int64_t until_ms, const std::vector<std::string>& types,
                                                         const std::string& after, int limit) {
  auto events = Read<std::vector<Event>>([&](Db& db) -> Result<std::vector<Event>> {
    PREPARE(s, db,
            "SELECT id, company_id, type, subject, occurred_at, created_at FROM events "
            "WHERE company_id = ?1 AND id > max(?2, ?7) AND id < ?3 AND created_at >= ?4 AND created_at < ?5 "
            "AND +type IN (SELECT value FROM json_each(?6)) ORDER BY id LIMIT ?8");
    s.Bind(1, company.str()).Bind(2, EventIdBound(since_ms - kIdClockSlackMs))
        .Bind(3, EventIdBound(until_ms + kIdClockSlackMs)).Bind(4, since_ms).Bind(5, until_ms)
        .Bind(6, TypesJson(types)).Bind(7, after).Bind(8, std::max(1, limit));
    return All<Event>(s, [](const Stmt& row) {
      Event e;
      e.id = EventId::FromTrusted(row.Text(0));
      e.company_id = CompanyId::FromTrusted(row.Text(1));
      e.type = row.Text(2);
      e.subject = row.Text(3);
      e.occurred_at_ms = row.OptInt(4);
      e.created_at_ms = row.Int(5);
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

Result<void> SqliteStore::AppendReplayDeliveries(const ReplayStep& step) {
  return Write<void>([step](Db& db) -> Result<void> {
    PREPARE(u, db,
            "UPDATE replays SET cursor = ?3, created = created + ?4, scan_done = ?5 "
            "WHERE id = ?1 AND cursor = ?2 AND status = 'running'");
    u.Bind(1, step.replay.str()).Bind(2, step.from_cursor).Bind(3, step.to_cursor)
        .Bind(4, static_cast<int64_t>(step.deliveries.size())).Bind(5, int64_t{step.scan_done ? 1 : 0});
    TRY(u.Exec());
    if (db.Changes() == 0)
      return MakeError(ErrorCode::kConflict, "replay " + step.replay.str() + " is not running or has moved on");
    PREPARE(e, db, "SELECT 1 FROM endpoints WHERE id = ? AND company_id = ?");
    e.Bind(1, step.endpoint.str()).Bind(2, step.company.str());
    auto found = e.Step();
    if (!found) return std::unexpected(found.error());
    e.Reset();
    if (!*found) return std::unexpected(NotFound("endpoint"));  // undone with the cursor's move
    PREPARE(dl, db,
            "INSERT INTO deliveries(id, company_id, event_id, endpoint_id, status, attempts, "
            "next_attempt_at, last_attempt_at, created_at, replay_id) VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?, ?)");
    for (const Delivery& d : step.deliveries) {
      dl.Reset();
      dl.Bind(1, d.id.str()).Bind(2, d.company_id.str()).Bind(3, d.event_id.str()).Bind(4, d.endpoint_id.str())
          .Bind(5, ToString(d.status)).Bind(6, d.next_attempt_at_ms).Bind(7, d.created_at_ms)
          .Bind(8, step.replay.str());
      TRY(dl.Exec());
    }
    return {};
  });
}

Result<ReplayStore::Unfinished> SqliteStore::UnfinishedReplayDeliveries(const ReplayId& id, const std::string& from) {
  return Read<Unfinished>([&](Db& db) -> Result<Unfinished> {
    PREPARE(s, db,
            "SELECT count(*), min(id) FROM deliveries WHERE replay_id = ? AND id >= ? "
            "AND status IN ('pending', 'held')");
    s.Bind(1, id.str()).Bind(2, from);
    auto r = s.Step();
    if (!r) return std::unexpected(r.error());
    Unfinished u;
    if (*r) {
      u.count = s.Int(0);
      if (!s.IsNull(1)) u.first = s.Text(1);
    }
    s.Reset();
    return u;
  });
}

Result<void> SqliteStore::FinishReplay(const ReplayId& id, ReplayStatus status, int64_t now_ms) {
  return Write<void>([id, status, now_ms](Db& db) -> Result<void> {
    PREPARE(q, db,
            "SELECT r.status = 'running', e.id IS NOT NULL FROM replays r "
            "LEFT JOIN endpoints e ON e.id = r.endpoint_id AND e.company_id = r.company_id WHERE r.id = ?");
    q.Bind(1, id.str());
    auto row = q.Step();
    if (!row) return std::unexpected(row.error());
    const bool running = *row && q.Int(0) != 0, endpoint = *row && q.Int(1) != 0;
    q.Reset();
    if (!running) return MakeError(ErrorCode::kConflict, "replay " + id.str() + " is not running");
    // Its deliveries went with a deleted endpoint: that is no completion.
    if (status == ReplayStatus::kCompleted && !endpoint) return std::unexpected(NotFound("endpoint"));
    PREPARE(u, db, "UPDATE replays SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'");
    u.Bind(1, ToString(status)).Bind(2, now_ms).Bind(3, id.str());
    return u.Exec();
  });
}

}  // namespace hookd
