#include "store/encryption.h"

#include <algorithm>

#include "core/clock.h"
#include "store/sealed_fields.h"

namespace hookd::sealed {

const TableColumns& ColumnsOf(SealedTable t) {
  static const TableColumns kEvents{"events", {{"payload", false, &PayloadAad}}};
  static const TableColumns kAttempts{"attempts",
                                      {{"response_headers", true, &HeadersAad}, {"response_body", false, &BodyAad}}};
  static const TableColumns kEndpoints{"endpoints",
                                       {{"secret", true, &SecretAad}, {"previous_secret", true, &SecretAad}}};
  switch (t) {
    case SealedTable::kEvents: return kEvents;
    case SealedTable::kAttempts: return kAttempts;
    case SealedTable::kEndpoints: return kEndpoints;
  }
  return kEvents;
}

Result<std::optional<std::vector<std::string>>> Reseal(const FieldCipher& cipher, SealedTable t,
                                                       std::string_view row_id,
                                                       const std::vector<std::string>& values) {
  const auto& cols = ColumnsOf(t).columns;
  bool current = true;
  for (const auto& v : values) current = current && cipher.IsCurrent(v);
  if (current) return std::optional<std::vector<std::string>>();
  std::vector<std::string> out;
  out.reserve(values.size());
  for (size_t i = 0; i < cols.size() && i < values.size(); ++i) {
    const std::string aad = cols[i].aad(row_id);
    auto plain = cols[i].text ? cipher.OpenText(values[i], aad) : cipher.OpenBytes(values[i], aad);
    if (!plain) return std::unexpected(plain.error());
    out.push_back(cols[i].text ? cipher.SealText(*plain, aad) : cipher.SealBytes(*plain, aad));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<void> CheckKeys(EncryptionStore& store, const FieldCipher& cipher, int64_t now_ms) {
  auto ids = store.EncryptionKeyIds();
  if (!ids) return std::unexpected(ids.error());
  std::vector<std::string> missing;
  for (const auto& id : *ids) {
    if (!cipher.HasKey(id)) missing.push_back(id);
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& id : missing) list += (list.empty() ? "" : ", ") + id;
    if (!cipher.enabled()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "this database holds data encrypted with key " + list +
                           ", and no key is configured: start hookd with --encryption-key-file "
                           "(or HOOKD_ENCRYPTION_KEY) holding that key");
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "this database holds data encrypted with key " + list +
                         ", which the configured keys (" + [&] {
                           std::string have;
                           for (const auto& id : cipher.key_ids()) have += (have.empty() ? "" : ", ") + id;
                           return have;
                         }() +
                         ") do not include: add that key to --encryption-key-file (after the first line, "
                         "which encrypts), then run `hookd rekey` to move the data to the first key");
  }
  if (cipher.enabled()) {
    if (auto r = store.RecordEncryptionKey(cipher.primary_id(), now_ms); !r) return std::unexpected(r.error());
  }
  return {};
}

Result<RekeyTotals> Rekey(EncryptionStore& store, const FieldCipher& cipher, int batch,
                          const std::function<void(const char* table, const RekeyTotals&)>& progress) {
  if (!cipher.enabled()) {
    return MakeError(ErrorCode::kInvalidArgument, "hookd rekey needs the keys: --encryption-key-file or HOOKD_ENCRYPTION_KEY");
  }
  if (auto r = CheckKeys(store, cipher, NowMs()); !r) return std::unexpected(r.error());
  RekeyTotals totals;
  for (SealedTable t : {SealedTable::kEndpoints, SealedTable::kEvents, SealedTable::kAttempts}) {
    std::string after;
    do {
      auto b = store.RekeyBatch(t, after, std::max(1, batch));
      if (!b) return std::unexpected(b.error());
      totals.scanned += b->scanned;
      totals.resealed += b->resealed;
      after = b->next_after;
      if (progress) progress(ColumnsOf(t).table, totals);
    } while (!after.empty());
  }
  // Every row is now sealed under the first key (or was written under it meanwhile).
  auto ids = store.EncryptionKeyIds();
  if (!ids) return std::unexpected(ids.error());
  for (const auto& id : *ids) {
    if (id == cipher.primary_id()) continue;
    if (auto r = store.ForgetEncryptionKey(id); !r) return std::unexpected(r.error());
    totals.forgotten.push_back(id);
  }
  return totals;
}

}  // namespace hookd::sealed
