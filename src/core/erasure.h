#pragma once
// Erasure of one employee's personal data (issue 13, docs/personal-data.md): what an erasure
// request leaves behind once it is done — a keyed hash of the employee id, never the id —, and
// that hash.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ids.h"

namespace hookd {

// What one erasure (or one batch of it) erased.
struct ErasureCounts {
  int64_t events = 0;               // events whose payload and subject were emptied
  int64_t attempts = 0;             // attempts whose response headers and body were emptied
  int64_t idempotency_records = 0;  // idempotency records deleted
  int64_t deliveries_canceled = 0;  // pending and held deliveries made `canceled` (reason "erased")
  ErasureCounts& operator+=(const ErasureCounts& o) {
    events += o.events;
    attempts += o.attempts;
    idempotency_records += o.idempotency_records;
    deliveries_canceled += o.deliveries_canceled;
    return *this;
  }
};

enum class ErasureStatus { kRunning, kCompleted };
std::string_view ToString(ErasureStatus s);

struct Erasure {
  ErasureId id;
  CompanyId company_id;
  // SubjectHash() of the employee id: what stays.
  std::string subject_hash;
  // The employee id itself, kept only while the erasure runs (so that it resumes after a
  // restart); "" once completed.
  std::string subject;
  // Events whose id sorts before this one are erased: those accepted before the request. Later
  // ones are normal events.
  std::string event_bound;
  ErasureStatus status = ErasureStatus::kRunning;
  TokenId requested_by;           // the token that asked (never the token itself)
  bool requested_by_operator = false;
  int64_t requested_at_ms = 0;
  std::optional<int64_t> finished_at_ms;
  ErasureCounts counts;
};

// Hex HMAC-SHA256 under `key` (the database's erasure key, 32 random bytes) of the company id
// and the subject: confirms, to whoever holds the key, that a given employee id of a given
// company was erased; says nothing of an id without the key.
std::string SubjectHash(std::string_view key, const CompanyId& company, std::string_view subject);

}  // namespace hookd
