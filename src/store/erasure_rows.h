#pragma once
// What both store backends share for erasures (ErasureStore, store.h): how an idempotency
// record names the subjects it answered for, and the names of the erasures table's columns.

#include <string>
#include <string_view>

#include "store/store.h"

namespace hookd::erasure_rows {

// idempotency_keys.subjects of a request: the distinct subjects of its events, each between
// newlines ("\nemp_1\nemp_2\n"); "" when none has one.
inline std::string IdempotencySubjects(const IngestRequest& req) {
  std::string out;
  for (const NewEvent& ne : req.events) {
    const std::string& s = ne.event.subject;
    if (s.empty()) continue;
    const std::string needle = "\n" + s + "\n";
    if (out.find(needle) != std::string::npos) continue;
    if (out.empty()) out = "\n";
    out += s + "\n";
  }
  return out;
}

// What idempotency_keys.subjects holds when a record answered for `subject`.
inline std::string SubjectNeedle(std::string_view subject) { return "\n" + std::string(subject) + "\n"; }

inline constexpr const char* kCols =
    "id, company_id, subject_hash, subject, event_bound, status, requested_by, requested_by_kind, "
    "requested_at, finished_at, events, attempts, idempotency_records, deliveries_canceled";

inline const char* KindOf(const Erasure& e) { return e.requested_by_operator ? "operator" : "company"; }

}  // namespace hookd::erasure_rows
