#pragma once
// The SQL of the filtered listings (ListEvents, ListDeliveries), shared by the backends: one
// statement per combination of the filters that choose an index, so that each combination
// seeks the index that serves it (events_subject, events_type, deliveries_endpoint, …) rather
// than one catch-all statement whose "(? IS NULL OR col = ?)" no planner can seek on. Filters
// that only narrow (time ranges, status) stay "(? IS NULL OR …)" in every variant.
//
// Every variant takes the same numbered parameters, bound by the backend (unset → NULL):
//   events:     1 company, 2 cursor ('' from the start), 3 type, 4 subject, 5 after_ms,
//               6 before_ms, 7 delivery endpoint id, 8 delivery status, 9 limit
//   deliveries: 1 company, 2 cursor, 3 endpoint id, 4 event id, 5 status, 6 after_ms,
//               7 before_ms, 8 event type, 9 subject, 10 limit
// The columns are `cols` ("id, company_id, …", as the backend reads them), newest first.
//
// The returned pointer is stable for the life of the process (the backends cache prepared
// statements by it). Thread-safe.

#include "store/store.h"

namespace hookd::store_sql {

enum class Dialect { kSqlite, kPostgres };

// `cols` must be the same string (pointer) on every call from one backend.
const char* EventList(Dialect d, const char* cols, const EventQuery& q);
const char* DeliveryList(Dialect d, const char* cols, const DeliveryQuery& q);
// The audit log (ListAuditLog): 1 company (NULL: every row), 2 cursor, 3 action, 4 target id,
// 5 after_ms, 6 before_ms, 7 limit. A target seeks audit_log_target, a company alone
// audit_log_company, neither the primary key.
const char* AuditList(Dialect d, const char* cols, const AuditQuery& q);

}  // namespace hookd::store_sql
