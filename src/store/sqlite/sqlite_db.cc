#include "store/sqlite/sqlite_db.h"

#include <fmt/format.h>

namespace hookd::sqlite {

Error ToError(int rc, std::string_view what, sqlite3* db) {
  std::string msg = fmt::format("sqlite: {}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Error{ErrorCode::kUnavailable, std::move(msg), {}};
    case SQLITE_CONSTRAINT:
      return Error{ErrorCode::kAlreadyExists, std::move(msg), {}};
    default:
      return Error{ErrorCode::kInternal, std::move(msg), {}};
  }
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::nullopt_t) {
  sqlite3_bind_null(s_, i);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(s_);
  Error e = ToError(sqlite3_extended_errcode(db), sqlite3_sql(s_), db);
  sqlite3_reset(s_);
  return std::unexpected(std::move(e));
}

Result<void> Stmt::Exec() {
  while (true) {
    auto r = Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) return {};
  }
}

std::string_view Stmt::TextView(int col) const {
  const void* p = sqlite3_column_blob(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string_view(static_cast<const char*>(p), n) : std::string_view();
}
std::string Stmt::Text(int col) const { return std::string(TextView(col)); }
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
std::optional<int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

void Stmt::Reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, bool read_only) {
  sqlite3* raw = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = ToError(rc, "open " + path, raw);
    sqlite3_close_v2(raw);
    return std::unexpected(std::move(e));
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 10000);
  const char* pragmas = read_only ? "PRAGMA query_only=1;"
                                  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
  if (auto r = db->ExecScript(pragmas); !r) return std::unexpected(r.error());
  // Page cache: 32 MB for the writer; 8 MB per reader (up to 16 of them are pooled, and the
  // OS keeps the file's pages cached anyway).
  if (auto r = db->ExecScript(read_only ? "PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;"
                                        : "PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;");
      !r)
    return std::unexpected(r.error());
  return db;
}

Db::~Db() {
  cache_.clear();
  // Statements are finalized by sqlite3_close_v2 semantics only if we finalize them:
  for (sqlite3_stmt* s = sqlite3_next_stmt(db_, nullptr); s; s = sqlite3_next_stmt(db_, nullptr))
    sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

Result<Stmt*> Db::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(ToError(rc, std::string("prepare: ") + sql, db_));
  auto [pos, _] = cache_.emplace(sql, std::make_unique<Stmt>(s));
  return pos->second.get();
}

Result<void> Db::ExecScript(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Error e = ToError(rc, err ? err : sql, nullptr);
    sqlite3_free(err);
    return std::unexpected(std::move(e));
  }
  return {};
}

void Db::ResetAll() {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db_, nullptr); s; s = sqlite3_next_stmt(db_, s))
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
}

Error Db::LastError(std::string_view what) const {
  return ToError(sqlite3_extended_errcode(db_), what, db_);
}

}  // namespace hookd::sqlite
