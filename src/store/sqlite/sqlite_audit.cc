#include "store/sqlite/sqlite_audit.h"

#include <algorithm>

#include "store/audit_rows.h"
#include "store/list_sql.h"

namespace hookd::sqlite {

namespace {

constexpr const char* kAuditCols =
    "id, company_id, action, target_id, actor_kind, actor_token_id, client_address, changes, details, created_at";

AuditEntry ReadAudit(const Stmt& s) {
  AuditEntry e;
  e.id = AuditId::FromTrusted(s.Text(0));
  if (!s.IsNull(1)) e.company_id = CompanyId::FromTrusted(s.Text(1));
  e.action = s.Text(2);
  e.target_id = s.Text(3);
  e.actor_kind = ParseActorKind(s.TextView(4)).value_or(ActorKind::kCompany);
  e.actor_token_id = TokenId::FromTrusted(s.Text(5));
  e.client_address = s.Text(6);
  e.changes = audit_rows::ChangesFromJson(s.TextView(7));
  e.details = s.Text(8);
  e.created_at_ms = s.Int(9);
  return e;
}

}  // namespace

Result<void> InsertAudit(Db& db, const AuditEntry& e) {
  auto s = db.Prepare(
      "INSERT INTO audit_log(id, company_id, action, target_id, actor_kind, actor_token_id, client_address, "
      "changes, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!s) return std::unexpected(s.error());
  Stmt& st = **s;
  st.Bind(1, e.id.str());
  if (e.company_id) st.Bind(2, e.company_id->str());
  else st.Bind(2, std::nullopt);
  st.Bind(3, e.action).Bind(4, e.target_id).Bind(5, ToString(e.actor_kind)).Bind(6, e.actor_token_id.str())
      .Bind(7, e.client_address).Bind(8, audit_rows::ChangesToJson(e.changes)).Bind(9, e.details)
      .Bind(10, e.created_at_ms);
  return st.Exec();
}

Result<Page<AuditEntry>> ListAudit(Db& db, const AuditQuery& q, const PageRequest& page) {
  auto s = db.Prepare(store_sql::AuditList(store_sql::Dialect::kSqlite, kAuditCols, q));
  if (!s) return std::unexpected(s.error());
  Stmt& st = **s;
  const int limit = std::clamp(page.limit, 1, 500);
  if (q.company) st.Bind(1, q.company->str());
  else st.Bind(1, std::nullopt);
  st.Bind(2, page.cursor).Bind(3, q.action).Bind(4, q.target_id).Bind(5, q.after_ms).Bind(6, q.before_ms)
      .Bind(7, limit + 1);
  std::vector<AuditEntry> rows;
  while (true) {
    auto r = st.Step();
    if (!r) return std::unexpected(r.error());
    if (!*r) break;
    rows.push_back(ReadAudit(st));
  }
  return audit_rows::MakeAuditPage(std::move(rows), limit);
}

Result<int64_t> PurgeAudit(Db& db, int64_t cutoff_ms, int limit) {
  // The primary key bounds the candidates (ids are ULIDs of their creation time); created_at
  // decides: a row is deleted only when both say it is older than the cutoff.
  auto s = db.Prepare(
      "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id < ?1 AND created_at < ?2 "
      "ORDER BY id LIMIT ?3)");
  if (!s) return std::unexpected(s.error());
  (*s)->Bind(1, std::string(AuditTag::kPrefix) + UlidLowerBound(cutoff_ms)).Bind(2, cutoff_ms).Bind(3, limit);
  if (auto r = (*s)->Exec(); !r) return std::unexpected(r.error());
  return db.Changes();
}

}  // namespace hookd::sqlite
