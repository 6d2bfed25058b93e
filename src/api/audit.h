#pragma once
// The audit log in the API (issue 13 item 3). A handler that changes something builds the row
// with AuditFor — after its own authorization and validation, before the write — fills in
// what changed, and hands it to the store method that makes the change (store.h: the `audit`
// parameter), which writes both in one transaction. Reads that reveal a secret append their
// row alone (AppendAudit) before answering. Which route records which action is declared in
// openapi.json ("x-audit-action" on every mutating operation), checked against the routes by
// tests/unit/audit_actions_test.cc and against the binary by tests/integration/audit_log_test.cc.
//
// Listings: GET /v1/companies/{cid}/audit-log (manage scope: that company's rows) and
// GET /v1/audit-log (the operator: every row, ?company_id= to narrow), newest first, filtered by
// ?action=, ?target_id=, ?after=, ?before=.

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "api/context.h"
#include "core/audit.h"

namespace hookd::api {

// The row of `action` on `target` by the caller of `call` — its token's id and kind, never the
// token — from its client address, now, for `company` (nullopt: a change of no company's).
// Throws 401 like Authenticate (handlers call it after authorizing, so it reads the cached
// principal).
AuditEntry AuditFor(ApiContext& ctx, const Call& call, AuditAction action, std::string target,
                    std::optional<CompanyId> company);

// The names of `body`'s members, sorted: the fields a create set.
std::vector<std::string> FieldNames(const boost::json::object& body);
// The names of the members whose values differ between `before` and `after` (present in one
// only included), sorted: the fields an update changed.
std::vector<std::string> ChangedFields(const boost::json::object& before, const boost::json::object& after);

// The API form of a row: {id, created_at, company_id, action, target_id, actor: {kind, token_id},
// client_address, changes, details}.
boost::json::object AuditJson(const AuditEntry& e);

}  // namespace hookd::api
