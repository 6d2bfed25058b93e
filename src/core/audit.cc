#include "core/audit.h"

#include <array>
#include <utility>

namespace hookd {

namespace {

struct ActionName {
  AuditAction action;
  std::string_view name;
};

constexpr ActionName kActions[] = {
#define HOOKD_AUDIT_ENTRY(e, name) {AuditAction::e, name},
    HOOKD_AUDIT_ACTIONS(HOOKD_AUDIT_ENTRY)
#undef HOOKD_AUDIT_ENTRY
};

constexpr auto kAllActions = [] {
  std::array<AuditAction, std::size(kActions)> out{};
  for (size_t i = 0; i < std::size(kActions); ++i) out[i] = kActions[i].action;
  return out;
}();

}  // namespace

std::string_view ToString(AuditAction a) { return kActions[static_cast<size_t>(a)].name; }

std::optional<AuditAction> ParseAuditAction(std::string_view name) {
  for (const auto& [action, n] : kActions)
    if (n == name) return action;
  return std::nullopt;
}

std::span<const AuditAction> AllAuditActions() { return kAllActions; }

std::string_view ToString(ActorKind k) { return k == ActorKind::kOperator ? "operator" : "company"; }

std::optional<ActorKind> ParseActorKind(std::string_view s) {
  if (s == "operator") return ActorKind::kOperator;
  if (s == "company") return ActorKind::kCompany;
  return std::nullopt;
}

AuditEntry NewAuditEntry(AuditAction action, std::string target_id, std::optional<CompanyId> company,
                         int64_t now_ms) {
  AuditEntry e;
  e.id = AuditId::New();
  e.created_at_ms = now_ms;
  e.company_id = std::move(company);
  e.action = std::string(ToString(action));
  e.target_id = std::move(target_id);
  return e;
}

}  // namespace hookd
