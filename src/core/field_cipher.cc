#include "core/field_cipher.h"

#include <cstring>

#include <openssl/evp.h>

#include "core/crypto.h"

namespace hookd {
namespace {

constexpr std::string_view kSealedMagic = "\xffHKE\x01";
constexpr std::string_view kEscapedMagic = "\xffHKP";
constexpr std::string_view kBinaryPrefix = "\xffHK";  // what plain bytes must not begin with
constexpr std::string_view kSealedText = "hke1:";
constexpr std::string_view kEscapedText = "hkp1:";
constexpr size_t kIdLen = 8, kNonceLen = 12, kTagLen = 16, kKeyLen = 32;
constexpr size_t kHeaderLen = kSealedMagic.size() + kIdLen + kNonceLen;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Fetched once: EVP_aes_256_gcm() would look the implementation up on every Init.
const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Unexpected<Error> Corrupt(std::string_view aad, std::string_view why) {
  return MakeError(ErrorCode::kInternal,
                   "encrypted value of " + std::string(aad) + " does not open: " + std::string(why));
}

}  // namespace

Result<std::shared_ptr<const FieldCipher>> FieldCipher::FromKeyText(std::string_view text) {
  auto cipher = std::make_shared<FieldCipher>();
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    // A line may hold several keys separated by commas (an environment variable has no lines).
    size_t p = 0;
    while (p <= line.size()) {
      size_t q = line.find(',', p);
      if (q == std::string_view::npos) q = line.size();
      std::string_view item = line.substr(p, q - p);
      p = q + 1;
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t' || item.front() == '\r')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t' || item.back() == '\r')) item.remove_suffix(1);
      if (item.empty() || item.front() == '#') {
        if (!item.empty()) break;  // a comment ends the line
        continue;
      }
      auto raw = Base64Decode(item);
      if (!raw || raw->size() != kKeyLen) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "encryption key on line " + std::to_string(line_no) +
                             " is not the base64 of 32 bytes (make one with: hookd key generate)");
      }
      Key key{HmacSha256(*raw, "hookd key id").substr(0, kIdLen), std::move(*raw)};
      if (cipher->Find(key.id) != nullptr) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "encryption key on line " + std::to_string(line_no) + " is listed twice");
      }
      cipher->keys_.push_back(std::move(key));
    }
    if (end == text.size()) break;
  }
  if (cipher->keys_.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no encryption key found (one base64 key per line)");
  }
  return std::shared_ptr<const FieldCipher>(std::move(cipher));
}

std::string FieldCipher::NewKeyLine() { return Base64Encode(RandomBytes(kKeyLen)); }

std::string FieldCipher::primary_id() const { return keys_.empty() ? "" : HexEncode(keys_.front().id); }

std::vector<std::string> FieldCipher::key_ids() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(HexEncode(k.id));
  return out;
}

bool FieldCipher::HasKey(std::string_view hex_id) const {
  for (const auto& k : keys_) {
    if (HexEncode(k.id) == hex_id) return true;
  }
  return false;
}

const FieldCipher::Key* FieldCipher::Find(std::string_view raw_id) const {
  for (const auto& k : keys_) {
    if (k.id == raw_id) return &k;
  }
  return nullptr;
}

std::string FieldCipher::Seal(std::string_view plain, std::string_view aad) const {
  const Key& key = keys_.front();
  std::string out;
  out.resize(kHeaderLen + plain.size() + kTagLen);
  std::memcpy(out.data(), kSealedMagic.data(), kSealedMagic.size());
  std::memcpy(out.data() + kSealedMagic.size(), key.id.data(), kIdLen);
  // A random 96-bit nonce per value: with at most ~2^32 values per key the chance of a
  // repeat stays negligible (NIST SP 800-38D §8.3); `hookd rekey` moves data to a new key.
  std::string nonce = RandomBytes(kNonceLen);
  std::memcpy(out.data() + kSealedMagic.size() + kIdLen, nonce.data(), kNonceLen);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), Gcm(), U(key.bytes), U(nonce), nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), U(out) + kHeaderLen, &len, U(plain), static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), U(out) + kHeaderLen + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLen, U(out) + kHeaderLen + plain.size()) == 1;
  if (!ok) {
    std::fputs("hookd: AES-256-GCM encryption failed\n", stderr);
    std::abort();  // never store a value we could not seal
  }
  return out;
}

Result<std::string> FieldCipher::OpenSealed(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kHeaderLen + kTagLen) return Corrupt(aad, "truncated");
  std::string_view id = sealed.substr(kSealedMagic.size(), kIdLen);
  const Key* key = Find(id);
  if (key == nullptr) {
    return MakeError(ErrorCode::kInternal, "encrypted value of " + std::string(aad) + " is sealed under key " +
                                               HexEncode(id) + ", which is not configured (--encryption-key-file)");
  }
  std::string_view nonce = sealed.substr(kSealedMagic.size() + kIdLen, kNonceLen);
  std::string_view body = sealed.substr(kHeaderLen, sealed.size() - kHeaderLen - kTagLen);
  std::string tag(sealed.substr(sealed.size() - kTagLen));
  std::string out(body.size(), '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex2(ctx.get(), Gcm(), U(key->bytes), U(nonce), nullptr) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), U(out), &len, U(body), static_cast<int>(body.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLen, U(tag)) == 1;
  if (!ok) return Corrupt(aad, "decryption failed");
  if (EVP_DecryptFinal_ex(ctx.get(), U(out) + len, &len) != 1) {
    return Corrupt(aad, "authentication failed (the value was changed, or belongs to another row)");
  }
  return out;
}

std::string FieldCipher::SealBytes(std::string_view plain, std::string_view aad) const {
  if (plain.empty()) return {};
  if (!keys_.empty()) return Seal(plain, aad);
  if (StartsWith(plain, kBinaryPrefix)) return std::string(kEscapedMagic).append(plain);
  return std::string(plain);
}

Result<std::string> FieldCipher::OpenBytes(std::string_view stored, std::string_view aad) const {
  if (StartsWith(stored, kSealedMagic)) return OpenSealed(stored, aad);
  if (StartsWith(stored, kEscapedMagic)) return std::string(stored.substr(kEscapedMagic.size()));
  return std::string(stored);
}

std::string FieldCipher::SealText(std::string_view plain, std::string_view aad) const {
  if (plain.empty()) return {};
  if (!keys_.empty()) return std::string(kSealedText).append(Base64Encode(Seal(plain, aad)));
  if (StartsWith(plain, kSealedText) || StartsWith(plain, kEscapedText)) {
    return std::string(kEscapedText).append(plain);
  }
  return std::string(plain);
}

Result<std::string> FieldCipher::OpenText(std::string_view stored, std::string_view aad) const {
  if (StartsWith(stored, kSealedText)) {
    auto raw = Base64Decode(stored.substr(kSealedText.size()));
    if (!raw || !StartsWith(*raw, kSealedMagic)) return Corrupt(aad, "malformed");
    return OpenSealed(*raw, aad);
  }
  if (StartsWith(stored, kEscapedText)) return std::string(stored.substr(kEscapedText.size()));
  return std::string(stored);
}

std::string FieldCipher::KeyIdOf(std::string_view stored) {
  if (StartsWith(stored, kSealedMagic) && stored.size() >= kSealedMagic.size() + kIdLen) {
    return HexEncode(stored.substr(kSealedMagic.size(), kIdLen));
  }
  if (StartsWith(stored, kSealedText)) {
    // The id sits in the first 13 bytes of the binary form: 20 base64 characters hold 15.
    auto head = Base64Decode(stored.substr(kSealedText.size(), 20));
    if (head && StartsWith(*head, kSealedMagic) && head->size() >= kSealedMagic.size() + kIdLen) {
      return HexEncode(head->substr(kSealedMagic.size(), kIdLen));
    }
  }
  return {};
}

bool FieldCipher::IsCurrent(std::string_view stored) const {
  if (stored.empty()) return true;
  std::string id = KeyIdOf(stored);
  if (keys_.empty()) return id.empty();
  return id == primary_id();
}

}  // namespace hookd
