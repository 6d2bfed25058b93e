#pragma once
// The audit log's SQL on SQLite (table audit_log, migration 0007), for SqliteStore: the row
// written inside a change's own transaction, the listing and the purge. Each takes the
// connection the caller runs on (the writer's for writes).

#include <cstdint>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace hookd::sqlite {

Result<void> InsertAudit(Db& db, const AuditEntry& e);
Result<Page<AuditEntry>> ListAudit(Db& db, const AuditQuery& q, const PageRequest& page);
// At most `limit` rows created before `cutoff_ms`, oldest first; returns how many.
Result<int64_t> PurgeAudit(Db& db, int64_t cutoff_ms, int limit);

}  // namespace hookd::sqlite
