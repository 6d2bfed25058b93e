#include "store/postgres/postgres_audit.h"

#include <algorithm>

#include "store/audit_rows.h"
#include "store/list_sql.h"

namespace hookd::pg {

namespace {

constexpr const char* kAuditCols =
    "id, company_id, action, target_id, actor_kind, actor_token_id, client_address, changes, details, created_at";

AuditEntry ReadAudit(const Rows& r, int i) {
  AuditEntry e;
  e.id = AuditId::FromTrusted(r.Text(i, 0));
  if (!r.IsNull(i, 1)) e.company_id = CompanyId::FromTrusted(r.Text(i, 1));
  e.action = r.Text(i, 2);
  e.target_id = r.Text(i, 3);
  e.actor_kind = ParseActorKind(r.TextView(i, 4)).value_or(ActorKind::kCompany);
  e.actor_token_id = TokenId::FromTrusted(r.Text(i, 5));
  e.client_address = r.Text(i, 6);
  e.changes = audit_rows::ChangesFromJson(r.TextView(i, 7));
  e.details = r.Text(i, 8);
  e.created_at_ms = r.Int(i, 9);
  return e;
}

}  // namespace

Result<void> InsertAudit(Conn& db, const AuditEntry& e) {
  Params p;
  p.Text(e.id.str());
  if (e.company_id) p.Text(e.company_id->str());
  else p.Null();
  p.Text(e.action).Text(e.target_id).Text(ToString(e.actor_kind)).Text(e.actor_token_id.str())
      .Text(e.client_address).Text(audit_rows::ChangesToJson(e.changes)).Text(e.details).Int(e.created_at_ms);
  auto r = db.Exec(
      "INSERT INTO audit_log(id, company_id, action, target_id, actor_kind, actor_token_id, client_address, "
      "changes, details, created_at) VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, "
      "$7::text, $8::text, $9::text, $10::bigint)",
      p);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<Page<AuditEntry>> ListAudit(Conn& db, const AuditQuery& q, const PageRequest& page) {
  const int limit = std::clamp(page.limit, 1, 500);
  Params p;
  if (q.company) p.Text(q.company->str());
  else p.Null();
  p.Text(page.cursor).Opt(q.action).Opt(q.target_id).Opt(q.after_ms).Opt(q.before_ms).Int(limit + 1);
  static const char* const kCols = kAuditCols;
  auto r = db.Exec(store_sql::AuditList(store_sql::Dialect::kPostgres, kCols, q), p);
  if (!r) return std::unexpected(r.error());
  std::vector<AuditEntry> rows;
  rows.reserve(r->size());
  for (int i = 0; i < r->size(); ++i) rows.push_back(ReadAudit(*r, i));
  return audit_rows::MakeAuditPage(std::move(rows), limit);
}

Result<int64_t> PurgeAudit(Conn& db, int64_t cutoff_ms, int limit) {
  // The primary key bounds the candidates (ids are ULIDs of their creation time); created_at
  // decides: a row is deleted only when both say it is older than the cutoff.
  auto r = db.Exec(
      "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id < $1::text AND created_at < $2::bigint "
      "ORDER BY id LIMIT $3::bigint)",
      Params().Text(std::string(AuditTag::kPrefix) + UlidLowerBound(cutoff_ms)).Int(cutoff_ms).Int(limit));
  if (!r) return std::unexpected(r.error());
  return r->Affected();
}

}  // namespace hookd::pg
