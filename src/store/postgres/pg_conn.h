#pragma once
// Thin RAII wrappers over libpq, with a prepared-statement cache per connection (the
// PostgreSQL sibling of sqlite/sqlite_db.h). A Conn is used by one thread at a time.
//
// Parameters are always bound, never spliced into SQL: text format, except bytea values
// (Params::Bytes), which go in binary so that they arrive byte-exact. Results come in text
// format; Rows::Bytes decodes a bytea column.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>

#include "core/error.h"

namespace hookd::pg {

// The values bound to $1, $2, … in order.
class Params {
 public:
  Params& Text(std::string_view v);
  Params& Int(int64_t v);
  Params& Null();
  Params& Bytes(std::string_view v);  // a bytea, sent in binary
  template <class T>
  Params& Opt(const std::optional<T>& v) {
    if (!v) return Null();
    if constexpr (std::is_integral_v<T>) return Int(static_cast<int64_t>(*v));
    else return Text(*v);
  }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid while it lives and is not changed.
  std::vector<const char*> Pointers() const;
  const int* Lengths() const { return lengths_.data(); }
  const int* Formats() const { return formats_.data(); }

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A query's result: owns the PGresult.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  Rows(Rows&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Rows& operator=(Rows&& o) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows() { if (r_) PQclear(r_); }

  int size() const { return PQntuples(r_); }
  bool empty() const { return size() == 0; }
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t Affected() const;

  bool IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string_view TextView(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col))};
  }
  std::string Text(int row, int col) const { return std::string(TextView(row, col)); }
  int64_t Int(int row, int col) const;
  std::optional<int64_t> OptInt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return Int(row, col);
  }
  // A bytea column (hex output, which Conn::Open sets), decoded.
  std::string Bytes(int row, int col) const;
  PGresult* raw() const { return r_; }

 private:
  PGresult* r_;
};

class Conn {
 public:
  // Connects to `url` (a postgres:// or postgresql:// URI, or a libpq conninfo string), with
  // hookd's defaults before the URL's own settings (which win): connect_timeout=10, TCP
  // keepalives, application_name. Then sets synchronous_commit=on, bytea_output=hex and
  // plan_cache_mode=force_custom_plan.
  // kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<Conn>> Open(const std::string& url, const std::string& application_name = "hookd");
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs `sql` (one statement with $n placeholders), prepared once per connection: the
  // cache key is the pointer, so `sql` must outlive the Conn (a literal, or a static string).
  Result<Rows> Exec(const char* sql, const Params& params = {});
  // Runs one or more statements without parameters (simple query protocol). Statements
  // queued by Send go first; their error, if any, is returned (the script still runs: a
  // ROLLBACK must).
  Result<void> ExecScript(const char* sql);
  // COMMIT; an error when the server rolled the transaction back instead (it had failed).
  // Statements queued by Send go with it, in the same round trip. Then, only if it committed,
  // `after` (outside that transaction; in the same round trip when pipelining): their first
  // error goes to `after_error`, the commit stands.
  struct Statement {
    const char* sql;  // as for Exec; with no params, run as it is (BEGIN, COMMIT, SET LOCAL)
    Params params;
  };
  Result<void> Commit(std::span<const Statement> after = {}, std::optional<Error>* after_error = nullptr);
  // Runs `statements` one after the other (queued, when pipelining, like Send); at the first
  // error, rolls back a transaction they opened and returns it.
  Result<void> Run(std::span<const Statement> statements);

  // Pipelining (libpq's pipeline mode), for statements whose results the caller does not
  // need: while it is on, Send queues `sql` (as Exec would run it) without waiting for the
  // server, and the queue goes out with the next Exec, ExecScript or Commit — or Sync — in
  // one round trip: a group commit's BEGIN, INSERTs, pg_notify and COMMIT cost one wait, not
  // five. An error of a queued statement is the error of the call that sent the queue (the
  // statements after it were skipped, and the transaction is aborted: TransactionFailed()).
  // Off (the default), Send is Exec.
  void SetPipelining(bool on) { pipelining_ = on; }
  Result<void> Send(const char* sql, const Params& params = {});
  // Send, for a statement whose rows are wanted but not before the queue goes out: `on_rows`
  // gets them when they are read (at once when not pipelining), only if the statement ran —
  // not if it failed or was skipped. Whether its transaction then commits is the caller's
  // to check.
  using OnRows = std::function<void(const Rows&)>;
  Result<void> Send(const char* sql, const Params& params, OnRows on_rows);
  // Sends the queue, if any, and waits for its results: the first error.
  Result<void> Sync();
  bool Queued() const { return !queued_.empty(); }

  // Rows changed by every INSERT/UPDATE/DELETE run through Exec so far (SQLite's
  // total_changes): the writer sees whether a failed job had written.
  int64_t total_changes() const { return total_changes_; }
  // The server connection is gone (or was never made): drop this Conn and open another.
  bool Broken() const { return PQstatus(c_) != CONNECTION_OK; }
  // Inside a transaction block (PQTRANS_INTRANS or PQTRANS_INERROR).
  bool InTransaction() const;
  // Inside a transaction that an error aborted: nothing more runs until a ROLLBACK.
  bool TransactionFailed() const { return PQtransactionStatus(c_) == PQTRANS_INERROR; }
  // Without blocking, reads what the server sent and tells whether the connection still
  // stands (a server restart closes it).
  bool Alive();
  PGconn* raw() const { return c_; }

 private:
  explicit Conn(PGconn* c) : c_(c) {}
  Error ResultError(PGresult* r, std::string_view what) const;
  // The statement name of `sql`, prepared if it was not (a round trip, or queued when
  // `queue`); nullptr with `error` set when that failed.
  const std::string* Prepared(const char* sql, bool queue, std::optional<Error>& error);
  // Queues `sql`: prepared with `params`, or, without, as it is (BEGIN, COMMIT, SET LOCAL).
  Result<void> Queue(const char* sql, const Params* params, OnRows on_rows = {});
  // Sync(), keeping the result of the queued statement `keep` (an index into queued_, when
  // `kept` is given) in `kept`; `failed` gets the index of the first that failed.
  Result<void> SyncQueue(std::optional<Rows>* kept = nullptr, size_t keep = 0, size_t* failed = nullptr);
  void CountChanges(const Rows& rows);

  PGconn* c_;
  std::unordered_map<const char*, std::string> prepared_;  // sql -> statement name
  int statements_ = 0;                                     // names given so far
  int64_t total_changes_ = 0;
  bool pipelining_ = false;
  struct QueuedStatement {
    const char* sql;
    bool prepare;  // the PREPARE of `sql`, not its run
    OnRows on_rows;  // Send's, if any
  };
  std::vector<QueuedStatement> queued_;  // sent in pipeline mode, results not yet read
};

// {"a","b"}: a PostgreSQL array literal of `items`, each element `text(item)` quoted ('"' and
// '\\' escaped), to bind as one text[] or int[] parameter — one statement for many rows.
template <class Items, class Text>
std::string ArrayLiteral(const Items& items, Text text) {
  std::string array = "{";
  for (const auto& item : items) {
    if (array.size() > 1) array += ',';
    array += '"';
    for (char ch : std::string(text(item))) {
      if (ch == '"' || ch == '\\') array += '\\';
      array += ch;
    }
    array += '"';
  }
  return array + "}";
}

// An array literal whose elements may be NULL (nullopt), each other one quoted as in
// ArrayLiteral: the column of one multi-row statement (`unnest($1::bigint[], …)`).
std::string NullableArrayLiteral(const std::vector<std::optional<std::string>>& items);
// A bytea[] literal: each element in hex input form ("\\x…"), byte-exact whatever it holds.
std::string ByteaArrayLiteral(const std::vector<std::string_view>& items);

// Maps a failed result to an Error: SQLSTATE 23505 (unique_violation) -> kAlreadyExists,
// other integrity violations -> kConflict, lost connections / shutdowns / lack of resources /
// serialization failures / timeouts -> kUnavailable, the rest -> kInternal.
ErrorCode CodeForSqlState(std::string_view sqlstate);

}  // namespace hookd::pg
