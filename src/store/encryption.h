#pragma once
// Encryption at rest, the parts both store backends share: which columns of which table are
// sealed (for `hookd rekey`), the start-up key check, and the rekey loop. The sealing itself
// is core/field_cipher.h; where each store seals and opens, store/sealed_fields.h.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/field_cipher.h"
#include "store/store.h"

namespace hookd::sealed {

struct Column {
  const char* name;
  bool text;                                     // text column (SealText) or bytes (SealBytes)
  std::string (*aad)(std::string_view row_id);   // sealed_fields.h
};

struct TableColumns {
  const char* table;
  std::vector<Column> columns;
};

// The sealed columns of `t`, keyed by its text primary key `id`.
const TableColumns& ColumnsOf(SealedTable t);

// `values` (one per column of `t`, as stored) re-sealed as `cipher` writes now; nullopt when
// they already are. kInternal when one does not open.
Result<std::optional<std::vector<std::string>>> Reseal(const FieldCipher& cipher, SealedTable t,
                                                       std::string_view row_id,
                                                       const std::vector<std::string>& values);

// At start (serve, rekey): refuses a database holding data sealed under a key `cipher` lacks —
// or any sealed data when no key is configured — with a message naming the key ids and the
// fix; then records `cipher`'s sealing key. kFailedPrecondition-like: kInvalidArgument.
Result<void> CheckKeys(EncryptionStore& store, const FieldCipher& cipher, int64_t now_ms);

struct RekeyTotals {
  int64_t scanned = 0;
  int64_t resealed = 0;
  std::vector<std::string> forgotten;  // key ids no row is sealed under any more
};

// Re-seals every row of every sealed table under the first key, `batch` rows per
// transaction, then forgets the other recorded keys. `progress(table, totals)` after each
// batch. A server may run meanwhile: it writes with the same first key.
Result<RekeyTotals> Rekey(EncryptionStore& store, const FieldCipher& cipher, int batch,
                          const std::function<void(const char* table, const RekeyTotals&)>& progress);

}  // namespace hookd::sealed
