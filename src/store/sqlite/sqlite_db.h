#pragma once
// Thin RAII wrappers over the SQLite C API, with a prepared-statement cache per connection.
// A Db is used by one thread at a time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "core/error.h"

namespace hookd::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binds by 1-based index. std::nullopt binds NULL.
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, std::nullopt_t);
  template <class T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : Bind(i, std::nullopt);
  }
  Stmt& BindBlob(int i, std::string_view v);

  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> error.
  Result<bool> Step();
  // Step to completion, expecting no rows.
  Result<void> Exec();

  std::string Text(int col) const;
  std::string_view TextView(int col) const;  // valid until the next Step/Reset
  int64_t Int(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  bool IsNull(int col) const;

  void Reset();
  sqlite3_stmt* raw() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

class Db {
 public:
  // Opens (creating if needed) and applies hookd's pragmas: WAL, synchronous=FULL (the
  // store's writer connection then switches to NORMAL and makes each group durable with its own
  // fdatasync of the WAL: SqliteStore), busy_timeout.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, bool read_only = false);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // A cached prepared statement, reset and with bindings cleared. The reference stays
  // valid for the life of the Db. kInternal when the SQL does not compile.
  Result<Stmt*> Prepare(const char* sql);
  // Runs one or more statements without results.
  Result<void> ExecScript(const char* sql);
  // Resets every statement still holding a row (ends implicit read transactions, so the
  // next read sees the latest commit).
  void ResetAll();
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() const { return db_; }

  Error LastError(std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<Stmt>> cache_;
};

// Maps an SQLite result code to an Error (BUSY/IOERR/FULL -> kUnavailable,
// CONSTRAINT -> kAlreadyExists, others kInternal).
Error ToError(int rc, std::string_view what, sqlite3* db);

}  // namespace hookd::sqlite
