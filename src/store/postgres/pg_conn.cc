#include "store/postgres/pg_conn.h"

#include <poll.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace hookd::pg {

namespace {
constexpr unsigned kByteaOid = 17;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The first line of a libpq message (they end with a newline, sometimes with details after).
std::string FirstLine(const char* msg) {
  std::string s = msg ? msg : "";
  if (size_t nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}
}  // namespace

ErrorCode CodeForSqlState(std::string_view st) {
  if (st.empty()) return ErrorCode::kUnavailable;  // no answer: the connection failed
  if (st == "23505") return ErrorCode::kAlreadyExists;
  if (st.starts_with("23")) return ErrorCode::kConflict;
  if (st.starts_with("08") ||   // connection exception
      st.starts_with("53") ||   // insufficient resources (disk full, too many connections)
      st.starts_with("57P") ||  // admin/crash shutdown, cannot connect now
      st.starts_with("58") ||   // system error (I/O)
      st == "57014" ||          // query canceled (statement_timeout)
      st == "40001" || st == "40P01" ||  // serialization failure, deadlock
      st == "55P03" ||          // lock not available
      st == "25006")            // read-only transaction (a standby)
    return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

Params& Params::Text(std::string_view v) {
  values_.emplace_back(std::string(v));
  lengths_.push_back(static_cast<int>(v.size()));
  formats_.push_back(0);
  return *this;
}
Params& Params::Int(int64_t v) {
  values_.emplace_back(std::to_string(v));
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}
Params& Params::Null() {
  values_.emplace_back(std::nullopt);
  lengths_.push_back(0);
  formats_.push_back(0);
  return *this;
}
Params& Params::Bytes(std::string_view v) {
  values_.emplace_back(std::string(v));
  lengths_.push_back(static_cast<int>(v.size()));
  formats_.push_back(1);
  return *this;
}
std::vector<const char*> Params::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v ? v->data() : nullptr);
  return out;
}

Rows& Rows::operator=(Rows&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(r_);
  int64_t v = 0;
  if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

int64_t Rows::Int(int row, int col) const {
  std::string_view s = TextView(row, col);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() && !s.empty()) {
    // numeric (e.g. a SUM) with a fraction: the integer part.
    double d = 0;
    std::from_chars(s.data(), s.data() + s.size(), d);
    v = static_cast<int64_t>(d);
  }
  return v;
}

std::string Rows::Bytes(int row, int col) const {
  std::string_view s = TextView(row, col);
  if (PQftype(r_, col) != kByteaOid || !s.starts_with("\\x")) return std::string(s);
  std::string out;
  out.reserve((s.size() - 2) / 2);
  for (size_t i = 2; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<char>(HexValue(s[i]) << 4 | HexValue(s[i + 1])));
  return out;
}

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& url, const std::string& application_name) {
  // hookd's defaults first: with expand_dbname, settings in the URL (the last "dbname")
  // override them.
  const char* keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "1", "10", "5", "3", application_name.c_str(), url.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c) return MakeError(ErrorCode::kUnavailable, "postgres: out of memory connecting");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = "postgres: cannot connect: " + FirstLine(PQerrorMessage(c));
    PQfinish(c);
    return MakeError(ErrorCode::kUnavailable, std::move(msg));
  }
  // Server notices (and the FATAL a closing server sends) go to the log, not to stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char* message) { spdlog::debug("postgres: {}", FirstLine(message)); }, nullptr);
  std::unique_ptr<Conn> conn(new Conn(c));
  // Every commit waits for its WAL flush (whatever the server's default); bytea read as hex.
  // Server-side TCP keepalives: a session whose client machine vanished (with the lock it
  // held) ends within about 25 s rather than the OS default of hours (no effect on Unix sockets).
  // Every run of a prepared statement is planned with its own parameters and the table sizes
  // of the moment (force_custom_plan): a generic plan cached while a new database's tables were
  // tiny stays a sequential scan after they grow (nothing but ANALYZE or DDL replans it) — it
  // made each outcome write cost 317 µs of PostgreSQL's CPU per delivery instead of 14. Planning
  // hookd's short statements costs tens of µs; a wrong cached plan costs a table scan.
  if (auto r = conn->ExecScript("SET synchronous_commit = on; SET bytea_output = hex; "
                                "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
                                "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; "
                                "SET tcp_keepalives_count = 3; SET plan_cache_mode = force_custom_plan");
      !r)
    return std::unexpected(r.error());
  return conn;
}

Conn::~Conn() { PQfinish(c_); }

bool Conn::InTransaction() const {
  const auto s = PQtransactionStatus(c_);
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

bool Conn::Alive() {
  // An idle connection has nothing to read, unless the server is closing it: then a FATAL
  // message (read as a notice), then the end of the stream, which marks the connection bad.
  for (int i = 0; i < 4 && PQstatus(c_) == CONNECTION_OK; ++i) {
    pollfd p{PQsocket(c_), POLLIN, 0};
    if (p.fd < 0 || ::poll(&p, 1, 0) <= 0) break;  // nothing to read: alive
    if (PQconsumeInput(c_) == 0) return false;
    while (PGnotify* n = PQnotifies(c_)) PQfreemem(n);
  }
  return PQstatus(c_) == CONNECTION_OK;
}

Error Conn::ResultError(PGresult* r, std::string_view what) const {
  const char* st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* msg = r ? PQresultErrorMessage(r) : nullptr;
  std::string text = FirstLine(msg && *msg ? msg : PQerrorMessage(c_));
  ErrorCode code = CodeForSqlState(st ? st : "");
  if (PQstatus(c_) != CONNECTION_OK) code = ErrorCode::kUnavailable;
  return Error{code, fmt::format("postgres: {}: {}", what, text), {}};
}

const std::string* Conn::Prepared(const char* sql, bool queue, std::optional<Error>& error) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return &it->second;
  std::string name = "hookd_" + std::to_string(++statements_);
  if (queue) {
    if (PQsendPrepare(c_, name.c_str(), sql, 0, nullptr) == 0) {
      error = ResultError(nullptr, std::string("prepare: ") + sql);
      return nullptr;
    }
    queued_.push_back({sql, /*prepare=*/true, {}});  // forgotten again if it fails
  } else {
    Rows prep(PQprepare(c_, name.c_str(), sql, 0, nullptr));
    if (PQresultStatus(prep.raw()) != PGRES_COMMAND_OK) {
      error = ResultError(prep.raw(), std::string("prepare: ") + sql);
      return nullptr;
    }
  }
  return &prepared_.emplace(sql, std::move(name)).first->second;
}

void Conn::CountChanges(const Rows& rows) {
  // Rows written (RETURNING included); not a SELECT's rows.
  const std::string_view tag = PQcmdStatus(rows.raw());
  if (tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE"))
    total_changes_ += rows.Affected();
}

Result<Rows> Conn::Exec(const char* sql, const Params& params) {
  if (!queued_.empty()) {  // the queue and this statement in one round trip
    std::optional<Rows> rows;
    if (auto q = Queue(sql, &params); !q) return std::unexpected(q.error());
    if (auto s = SyncQueue(&rows, queued_.size() - 1); !s) return std::unexpected(s.error());
    return std::move(*rows);
  }
  std::optional<Error> error;
  const std::string* name = Prepared(sql, /*queue=*/false, error);
  if (!name) return std::unexpected(*error);
  const auto ptrs = params.Pointers();
  Rows rows(PQexecPrepared(c_, name->c_str(), params.size(), ptrs.data(), params.Lengths(), params.Formats(),
                           /*resultFormat=*/0));
  const auto st = PQresultStatus(rows.raw());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    return std::unexpected(ResultError(rows.raw(), sql));
  CountChanges(rows);
  return rows;
}

Result<void> Conn::Send(const char* sql, const Params& params) { return Send(sql, params, OnRows{}); }

Result<void> Conn::Send(const char* sql, const Params& params, OnRows on_rows) {
  if (!pipelining_) {
    auto r = Exec(sql, params);
    if (!r) return std::unexpected(r.error());
    if (on_rows) on_rows(*r);
    return {};
  }
  return Queue(sql, &params, std::move(on_rows));
}

Result<void> Conn::Queue(const char* sql, const Params* params, OnRows on_rows) {
  if (PQpipelineStatus(c_) == PQ_PIPELINE_OFF && PQenterPipelineMode(c_) == 0)
    return std::unexpected(ResultError(nullptr, "pipeline mode"));
  int sent;
  if (params) {
    std::optional<Error> error;
    const std::string* name = Prepared(sql, /*queue=*/true, error);
    if (!name) return std::unexpected(*error);
    const auto ptrs = params->Pointers();
    sent = PQsendQueryPrepared(c_, name->c_str(), params->size(), ptrs.data(), params->Lengths(), params->Formats(),
                               /*resultFormat=*/0);
  } else {
    sent = PQsendQueryParams(c_, sql, 0, nullptr, nullptr, nullptr, nullptr, /*resultFormat=*/0);
  }
  if (sent == 0) return std::unexpected(ResultError(nullptr, sql));
  queued_.push_back({sql, /*prepare=*/false, std::move(on_rows)});
  return {};
}

Result<void> Conn::Sync() { return SyncQueue(); }

Result<void> Conn::SyncQueue(std::optional<Rows>* kept, size_t keep, size_t* failed) {
  if (queued_.empty()) {
    if (PQpipelineStatus(c_) != PQ_PIPELINE_OFF) (void)PQexitPipelineMode(c_);
    return {};
  }
  std::vector<QueuedStatement> queued;
  queued.swap(queued_);
  std::optional<Error> first;
  auto fail = [&](size_t i, Error e) {
    if (first) return;
    first = std::move(e);
    if (failed) *failed = i;
  };
  auto forget_prepares_from = [&](size_t i) {  // not run: prepared again next time
    for (; i < queued.size(); ++i)
      if (queued[i].prepare) prepared_.erase(queued[i].sql);
  };
  if (PQpipelineSync(c_) == 0) {
    forget_prepares_from(0);
    fail(0, ResultError(nullptr, "pipeline sync"));
    return std::unexpected(*first);
  }
  // Each statement's result, then a null; after an error, PGRES_PIPELINE_ABORTED for each
  // of the rest; then the sync's own result. A lost connection ends it early (a null).
  for (size_t i = 0; i < queued.size(); ++i) {
    PGresult* r = PQgetResult(c_);
    if (!r) {
      forget_prepares_from(i);
      fail(i, ResultError(nullptr, queued[i].sql));
      return std::unexpected(*first);  // the connection is gone (Broken()): nothing more to read
    }
    Rows rows(r);
    while (PGresult* extra = PQgetResult(c_)) PQclear(extra);  // up to the null ending this one
    const auto st = PQresultStatus(r);
    const bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (queued[i].prepare) {
      if (!ok) prepared_.erase(queued[i].sql);
      if (st == PGRES_FATAL_ERROR) fail(i, ResultError(r, std::string("prepare: ") + queued[i].sql));
      continue;
    }
    if (ok) {
      CountChanges(rows);
      if (queued[i].on_rows) queued[i].on_rows(rows);
    } else if (st != PGRES_PIPELINE_ABORTED) fail(i, ResultError(r, queued[i].sql));
    if (kept && i == keep && ok) *kept = std::move(rows);
  }
  if (PGresult* s = PQgetResult(c_)) {
    const bool synced = PQresultStatus(s) == PGRES_PIPELINE_SYNC;
    PQclear(s);
    if (synced) (void)PQexitPipelineMode(c_);
    else fail(queued.size(), ResultError(nullptr, "pipeline sync"));
  } else {
    fail(queued.size(), ResultError(nullptr, "pipeline sync"));
  }
  if (first) return std::unexpected(*first);
  return {};
}

Result<void> Conn::ExecScript(const char* sql) {
  auto queued = Sync();
  Rows r(PQexec(c_, sql));
  if (!queued) return queued;
  const auto st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
    return std::unexpected(ResultError(r.raw(), FirstLine(sql)));
  return {};
}

Result<void> Conn::Commit(std::span<const Statement> after, std::optional<Error>* after_error) {
  auto note_after = [&](Error e) {
    if (after_error && !*after_error) *after_error = std::move(e);
  };
  std::optional<Rows> r;
  const bool pipelined = !queued_.empty() || (pipelining_ && !after.empty());
  if (pipelined) {  // all in one round trip
    if (auto q = Queue("COMMIT", nullptr); !q) return q;
    const size_t commit_at = queued_.size() - 1;
    std::optional<Error> queue_error;
    for (const Statement& s : after) {
      if (auto q = Queue(s.sql, s.params.size() ? &s.params : nullptr); !q) {
        queue_error = q.error();
        break;
      }
    }
    size_t failed = 0;
    auto synced = SyncQueue(&r, commit_at, &failed);
    if (!synced && failed <= commit_at) return synced;  // the transaction or its COMMIT failed
    if (!synced) note_after(synced.error());
    if (queue_error) note_after(*queue_error);
    if (!Broken() && InTransaction()) (void)ExecScript("ROLLBACK");  // `after` opened one and failed
    if (!r) return MakeError(ErrorCode::kUnavailable, "postgres: COMMIT: no answer");
  } else {
    r.emplace(PQexec(c_, "COMMIT"));
    if (PQresultStatus(r->raw()) != PGRES_COMMAND_OK) return std::unexpected(ResultError(r->raw(), "COMMIT"));
  }
  if (std::string_view(PQcmdStatus(r->raw())) != "COMMIT")
    return MakeError(ErrorCode::kInternal, "postgres: COMMIT: the transaction had failed and was rolled back");
  if (!pipelined) {  // not sent with it: one by one now
    if (auto done = Run(after); !done) note_after(done.error());
  }
  return {};
}

Result<void> Conn::Run(std::span<const Statement> statements) {
  for (const Statement& s : statements) {
    Result<void> done = s.params.size() ? Send(s.sql, s.params) : ExecScript(s.sql);
    if (!done) {
      if (!Broken() && InTransaction()) (void)ExecScript("ROLLBACK");
      return done;
    }
  }
  return {};
}

std::string NullableArrayLiteral(const std::vector<std::optional<std::string>>& items) {
  std::string array = "{";
  for (const auto& item : items) {
    if (array.size() > 1) array += ',';
    if (!item) {
      array += "NULL";
      continue;
    }
    array += '"';
    for (char ch : *item) {
      if (ch == '"' || ch == '\\') array += '\\';
      array += ch;
    }
    array += '"';
  }
  return array + "}";
}

std::string ByteaArrayLiteral(const std::vector<std::string_view>& items) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string array = "{";
  for (std::string_view item : items) {
    if (array.size() > 1) array += ',';
    array += "\"\\\\x";  // "\\x…": the array parser takes one backslash away, bytea reads \x
    for (unsigned char c : item) {
      array += kHex[c >> 4];
      array += kHex[c & 15];
    }
    array += '"';
  }
  return array + "}";
}

}  // namespace hookd::pg
