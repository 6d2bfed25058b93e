#pragma once
// Encryption at rest of the personal data hookd stores (issue 13): event payloads, the
// receivers' captured answers (headers and body) and endpoint signing secrets, sealed with
// AES-256-GCM (OpenSSL) under keys an operator gives in --encryption-key-file.
//
// Stored forms. A binary column (payload, response body) holds either
//   - the plain bytes (no key configured, or a row written before one was),
//   - "\xffHKE" 0x01 | key id (8 bytes) | nonce (12) | ciphertext | GCM tag (16): sealed, or
//   - "\xffHKP" + the plain bytes: plain bytes that happen to begin with "\xffHK" (a receiver
//     could answer anything), escaped so that they can never be taken for a sealed value.
// A text column (secret, response headers) holds the same, text-safe: plain, "hke1:" +
// base64(sealed binary), or "hkp1:" + plain for plain text beginning with "hke1:"/"hkp1:".
// The empty string is stored as itself (an unset previous secret stays '' in SQL).
//
// Every sealed value is bound to the row and column it belongs to through the GCM additional
// data (`aad`, e.g. "events.payload:evt_…"): a value copied into another row (another
// company's) does not open. The key id is the first 8 bytes of HMAC-SHA256(key, "hookd key
// id"), shown as 16 hex digits: it names a key without revealing it.
//
// Thread-safe (immutable after construction).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace hookd {

class FieldCipher {
 public:
  // No key: values are stored plain (escaped as above) and sealed values do not open.
  FieldCipher() = default;

  // Keys from a key file's text: one base64-encoded 32-byte key per line; blank lines and
  // lines starting with '#' are skipped; commas also separate keys (for HOOKD_ENCRYPTION_KEY).
  // The first key seals; the others only open. kInvalidArgument naming the bad line.
  static Result<std::shared_ptr<const FieldCipher>> FromKeyText(std::string_view text);

  // A new key line (base64 of 32 random bytes), for `hookd key generate` and scripts/run.sh.
  static std::string NewKeyLine();

  bool enabled() const { return !keys_.empty(); }
  // Hex id of the sealing key; "" without keys.
  std::string primary_id() const;
  // Hex ids of every configured key, the sealing one first.
  std::vector<std::string> key_ids() const;
  bool HasKey(std::string_view hex_id) const;

  // Binary columns.
  std::string SealBytes(std::string_view plain, std::string_view aad) const;
  Result<std::string> OpenBytes(std::string_view stored, std::string_view aad) const;
  // Text columns.
  std::string SealText(std::string_view plain, std::string_view aad) const;
  Result<std::string> OpenText(std::string_view stored, std::string_view aad) const;

  // Hex id of the key a stored value (either form) is sealed under; "" when it is plain.
  static std::string KeyIdOf(std::string_view stored);
  // True when `stored` is already as this cipher would write it now: sealed under the
  // sealing key, or plain when there is none. `hookd rekey` rewrites the others.
  bool IsCurrent(std::string_view stored) const;

 private:
  struct Key {
    std::string id;     // 8 raw bytes
    std::string bytes;  // 32 raw bytes
  };
  const Key* Find(std::string_view raw_id) const;
  std::string Seal(std::string_view plain, std::string_view aad) const;  // binary, sealed
  Result<std::string> OpenSealed(std::string_view sealed, std::string_view aad) const;

  std::vector<Key> keys_;
};

}  // namespace hookd
