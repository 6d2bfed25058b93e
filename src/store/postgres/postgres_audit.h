#pragma once
// The audit log's SQL on PostgreSQL (table audit_log, migration 0006), for PostgresStore: the
// row written inside a change's own transaction, the listing and the purge. Each takes the
// connection the caller runs on (the writer's for writes).

#include <cstdint>

#include "store/postgres/pg_conn.h"
#include "store/store.h"

namespace hookd::pg {

Result<void> InsertAudit(Conn& db, const AuditEntry& e);
Result<Page<AuditEntry>> ListAudit(Conn& db, const AuditQuery& q, const PageRequest& page);
// At most `limit` rows created before `cutoff_ms`, oldest first; returns how many.
Result<int64_t> PurgeAudit(Conn& db, int64_t cutoff_ms, int limit);

}  // namespace hookd::pg
