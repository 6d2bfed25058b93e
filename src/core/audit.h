#pragma once
// The audit log (issue 13 item 3): one row per change made through the API — who made it (the
// token's id and kind, never the token), what (an action, its target, the names of the fields
// it changed, a few non-secret parameters; never a secret's value), when and from which
// address. The store writes a row in the same transaction as the change it records (store.h:
// every mutating method takes an optional AuditEntry), so a change without its row cannot be.
//
// Adding an action (a new mutating route): one line in HOOKD_AUDIT_ACTIONS, the row passed to
// the store by the route's handler (api/audit.h), and "x-audit-action" on the route in
// api/openapi.json — tests/unit/audit_actions_test.cc fails until all three agree.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace hookd {

// X(enumerator, "name as stored and shown"). Names are "<target kind>.<past participle>" and
// never change once released: stored rows, API filters and auditors' scripts hold them.
#define HOOKD_AUDIT_ACTIONS(X)                               \
  X(kCompanyCreated, "company.created")                      \
  X(kCompanyUpdated, "company.updated")                      \
  X(kTokenCreated, "token.created")                          \
  X(kTokenRevoked, "token.revoked")                          \
  X(kEventTypeCreated, "event_type.created")                 \
  X(kEndpointCreated, "endpoint.created")                    \
  X(kEndpointUpdated, "endpoint.updated")                    \
  X(kEndpointDeleted, "endpoint.deleted")                    \
  X(kEndpointEnabled, "endpoint.enabled")                    \
  X(kEndpointDisabled, "endpoint.disabled")                  \
  X(kEndpointSecretRevealed, "endpoint.secret_revealed")     \
  X(kEndpointSecretRotated, "endpoint.secret_rotated")       \
  X(kEndpointTestSent, "endpoint.test_sent")                 \
  X(kEndpointRecovered, "endpoint.recovered")                \
  X(kDeliveryRetried, "delivery.retried")                    \
  X(kHookCreated, "hook.created")                            \
  X(kHookDeleted, "hook.deleted")                            \
  X(kErasureCreated, "erasure.created")                      \
  X(kReplayCreated, "replay.created")                        \
  X(kReplayCanceled, "replay.canceled")

enum class AuditAction {
#define HOOKD_AUDIT_ENUMERATOR(e, name) e,
  HOOKD_AUDIT_ACTIONS(HOOKD_AUDIT_ENUMERATOR)
#undef HOOKD_AUDIT_ENUMERATOR
};

std::string_view ToString(AuditAction a);
std::optional<AuditAction> ParseAuditAction(std::string_view name);
// Every action, in the order of HOOKD_AUDIT_ACTIONS.
std::span<const AuditAction> AllAuditActions();

// Who acted: the operator token or a company token.
enum class ActorKind { kOperator, kCompany };
std::string_view ToString(ActorKind k);
std::optional<ActorKind> ParseActorKind(std::string_view s);

struct AuditTag { static constexpr std::string_view kPrefix = "aud_"; };
using AuditId = Id<AuditTag>;

// One row of the audit log. Rows are append-only: written once with their change, deleted
// only by retention (--audit-retention), never updated.
struct AuditEntry {
  AuditId id;                           // time-sortable: the listing's order and cursor
  int64_t created_at_ms = 0;
  // The company whose data changed; nullopt for changes that belong to no company (a custom
  // event type). The operator-wide listing shows every row, a company's listing its own.
  std::optional<CompanyId> company_id;
  // ToString(AuditAction) when written by this version; read back as stored (a newer
  // version's action is listed, not dropped).
  std::string action;
  // What the action changed: "ep_…", "tok_…", "co_…", "dlv_…", or a custom event type's name.
  std::string target_id;
  ActorKind actor_kind = ActorKind::kCompany;
  TokenId actor_token_id;
  std::string client_address;  // the HTTP client's IP address as hookd's socket saw it
  // Names of the fields the change set or changed (["url", "headers"]): never their values,
  // which may hold credentials (a header, a URL's query string).
  std::vector<std::string> changes;
  // A JSON object of non-secret parameters of the action ({"grace_seconds":86400},
  // {"since":"…"}); "{}" when none. Never a secret, a token or an event's data.
  std::string details = "{}";
};

// The audit row of `action` on `target`, stamped now with a new id; the caller fills in the
// actor, address, changes and details.
AuditEntry NewAuditEntry(AuditAction action, std::string target_id, std::optional<CompanyId> company,
                         int64_t now_ms);

}  // namespace hookd
