#include "store/list_sql.h"

#include <array>
#include <string>

#include <fmt/format.h>

namespace hookd::store_sql {
namespace {

// "?3" in SQLite, "$3::text" in PostgreSQL.
std::string P(Dialect d, int n, const char* pg_type) {
  return d == Dialect::kSqlite ? fmt::format("?{}", n) : fmt::format("${}::{}", n, pg_type);
}

// "id, company_id" → "d.id, d.company_id"
std::string Qualify(std::string_view cols, std::string_view alias) {
  std::string out;
  size_t pos = 0;
  while (pos < cols.size()) {
    size_t comma = cols.find(',', pos);
    std::string_view col = cols.substr(pos, comma == std::string_view::npos ? cols.npos : comma - pos);
    while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
    if (!out.empty()) out += ", ";
    out += fmt::format("{}.{}", alias, col);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

// How an events listing filters on deliveries.
enum DeliveryMode { kNoDeliveryFilter = 0, kExists = 1, kInEndpoint = 2 };

std::string BuildEventList(Dialect d, const char* cols, bool type, bool subject, int mode) {
  auto p = [d](int n, const char* t) { return P(d, n, t); };
  std::string w = fmt::format("SELECT {} FROM events WHERE company_id = {} AND ({} = '' OR id < {})",
                              cols, p(1, "text"), p(2, "text"), p(2, "text"));
  // With a subject, its index is the narrower: SQLite's "+" keeps it from picking the type's.
  if (type) w += fmt::format(" AND {}type = {}", subject && d == Dialect::kSqlite ? "+" : "", p(3, "text"));
  else w += fmt::format(" AND {} IS NULL", p(3, "text"));
  if (subject) w += fmt::format(" AND subject = {}", p(4, "text"));
  else w += fmt::format(" AND {} IS NULL", p(4, "text"));
  w += fmt::format(" AND ({0} IS NULL OR created_at > {0}) AND ({1} IS NULL OR created_at < {1})",
                   p(5, "bigint"), p(6, "bigint"));
  const std::string ep = p(7, "text"), st = p(8, "text");
  switch (mode) {
    case kNoDeliveryFilter:
      w += fmt::format(" AND {} IS NULL AND {} IS NULL", ep, st);
      break;
    case kExists:
      // Walks the (narrowest) events index newest first, probing deliveries_event per event:
      // stops once a page is full.
      w += fmt::format(
          " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id"
          " AND ({0} IS NULL OR d.endpoint_id = {0}) AND ({1} IS NULL OR d.status = {1}))",
          ep, st);
      break;
    case kInEndpoint:
      // One endpoint's deliveries (deliveries_endpoint), checked for status — no index holds
      // `status`, so that an outcome rewrites the delivery row alone —, their events looked up.
      w += fmt::format(
          " AND id IN (SELECT d.event_id FROM deliveries d WHERE d.endpoint_id = {0}"
          " AND ({1} IS NULL OR d.status = {1}))",
          ep, st);
      break;
  }
  w += fmt::format(" ORDER BY id DESC LIMIT {}", p(9, "bigint"));
  return w;
}

// Deliveries: how the event's own filters (type, subject) are applied.
enum EventMode { kNoEventFilter = 0, kTypeExists = 1, kSubjectJoin = 2 };

std::string BuildDeliveryList(Dialect d, const char* cols, bool endpoint, bool event, int mode) {
  auto p = [d](int n, const char* t) { return P(d, n, t); };
  const std::string type = p(8, "text"), subject = p(9, "text");
  std::string w = "SELECT " + Qualify(cols, "d");
  if (mode == kSubjectJoin) {
    // One employee's events (events_subject) drive, their deliveries found by deliveries_event,
    // then sorted: SQLite's CROSS JOIN fixes that order (it would rather walk every delivery of
    // the company to avoid the sort).
    w += fmt::format(
        " FROM events e CROSS JOIN deliveries d WHERE d.event_id = e.id AND e.company_id = {0}"
        " AND e.subject = {1} AND ({2} IS NULL OR e.type = {2}) AND",
        p(1, "text"), subject, type);
  } else {
    w += " FROM deliveries d WHERE";
  }
  w += fmt::format(" d.company_id = {} AND ({} = '' OR d.id < {})", p(1, "text"), p(2, "text"), p(2, "text"));
  if (endpoint) w += fmt::format(" AND d.endpoint_id = {}", p(3, "text"));
  else w += fmt::format(" AND {} IS NULL", p(3, "text"));
  if (event) w += fmt::format(" AND d.event_id = {}", p(4, "text"));
  else w += fmt::format(" AND {} IS NULL", p(4, "text"));
  w += fmt::format(" AND ({0} IS NULL OR d.status = {0})", p(5, "text"));
  w += fmt::format(" AND ({0} IS NULL OR d.created_at > {0}) AND ({1} IS NULL OR d.created_at < {1})",
                   p(6, "bigint"), p(7, "bigint"));
  switch (mode) {
    case kNoEventFilter:
      w += fmt::format(" AND {} IS NULL AND {} IS NULL", type, subject);
      break;
    case kTypeExists:
      // A type is rarely selective among deliveries: walk them newest first (by endpoint when
      // one is given), checking each one's event.
      w += fmt::format(" AND EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.type = {})"
                       " AND {} IS NULL",
                       type, subject);
      break;
    case kSubjectJoin:
      break;
  }
  w += fmt::format(" ORDER BY d.id DESC LIMIT {}", p(10, "bigint"));
  return w;
}

std::string BuildAuditList(Dialect d, const char* cols, bool company, bool target) {
  auto p = [d](int n, const char* t) { return P(d, n, t); };
  std::string w = fmt::format("SELECT {} FROM audit_log WHERE ({} = '' OR id < {})", cols, p(2, "text"), p(2, "text"));
  // With a target, its index is the narrower: SQLite's "+" keeps it from picking the company's.
  if (company) w += fmt::format(" AND {}company_id = {}", target && d == Dialect::kSqlite ? "+" : "", p(1, "text"));
  else w += fmt::format(" AND {} IS NULL", p(1, "text"));
  if (target) w += fmt::format(" AND target_id = {}", p(4, "text"));
  else w += fmt::format(" AND {} IS NULL", p(4, "text"));
  w += fmt::format(" AND ({0} IS NULL OR action = {0})", p(3, "text"));
  w += fmt::format(" AND ({0} IS NULL OR created_at > {0}) AND ({1} IS NULL OR created_at < {1})",
                   p(5, "bigint"), p(6, "bigint"));
  w += fmt::format(" ORDER BY id DESC LIMIT {}", p(7, "bigint"));
  return w;
}

template <size_t N, class Build>
const char* Cached(Dialect d, const char* cols, size_t index, Build build) {
  // Built once per dialect, on that dialect's first call (with its backend's `cols`).
  auto make = [&](Dialect dd) {
    std::array<std::string, N> t;
    for (size_t i = 0; i < N; ++i) t[i] = build(dd, cols, i);
    return t;
  };
  if (d == Dialect::kSqlite) {
    static const std::array<std::string, N> sqlite_table = make(Dialect::kSqlite);
    return sqlite_table[index].c_str();
  }
  static const std::array<std::string, N> pg_table = make(Dialect::kPostgres);
  return pg_table[index].c_str();
}

}  // namespace

const char* EventList(Dialect d, const char* cols, const EventQuery& q) {
  const bool type = q.type.has_value(), subject = q.subject.has_value();
  const bool on_deliveries = q.delivery_endpoint_id || q.delivery_status;
  // An endpoint's deliveries drive, unless one employee's few events are fewer.
  const int mode = !on_deliveries ? kNoDeliveryFilter
                   : (q.delivery_endpoint_id && !subject) ? kInEndpoint
                                                          : kExists;
  const size_t index = (type ? 1 : 0) + (subject ? 2 : 0) + 4 * static_cast<size_t>(mode);
  return Cached<12>(d, cols, index, [](Dialect dd, const char* c, size_t i) {
    return BuildEventList(dd, c, i & 1, i & 2, static_cast<int>(i / 4));
  });
}

const char* DeliveryList(Dialect d, const char* cols, const DeliveryQuery& q) {
  const int mode = q.subject ? kSubjectJoin : q.event_type ? kTypeExists : kNoEventFilter;
  const size_t index = (q.endpoint_id ? 1 : 0) + (q.event_id ? 2 : 0) + 4 * static_cast<size_t>(mode);
  return Cached<12>(d, cols, index, [](Dialect dd, const char* c, size_t i) {
    return BuildDeliveryList(dd, c, i & 1, i & 2, static_cast<int>(i / 4));
  });
}

const char* AuditList(Dialect d, const char* cols, const AuditQuery& q) {
  const size_t index = (q.company ? 1 : 0) + (q.target_id ? 2 : 0);
  return Cached<4>(d, cols, index, [](Dialect dd, const char* c, size_t i) {
    return BuildAuditList(dd, c, i & 1, i & 2);
  });
}

}  // namespace hookd::store_sql
