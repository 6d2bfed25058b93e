#include "app/commands.h"

#include <cstdio>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/field_cipher.h"
#include "store/encryption.h"
#include "store/store.h"

namespace hookd {

int RunMigrate(const std::string& db) {
  auto store = OpenStore(db, {.exclusive = true});
  if (!store) {
    fmt::print(stderr, "hookd migrate: {}\n", store.error().message);
    return 1;
  }
  if (auto r = (*store)->Migrate(); !r) {
    fmt::print(stderr, "hookd migrate: {}\n", r.error().message);
    return 1;
  }
  fmt::print("schema of {} is up to date\n", RedactStoreUrl(db));
  return 0;
}

int RunTokenCreate(const std::string& db, const std::string& company, const std::string& scopes_csv,
                   const std::string& description) {
  auto cid = CompanyId::Parse(company);
  if (!cid) {
    fmt::print(stderr, "hookd token create: --company must be a company id (co_…)\n");
    return 2;
  }
  unsigned scopes = 0;
  size_t start = 0;
  while (start <= scopes_csv.size()) {
    size_t comma = scopes_csv.find(',', start);
    std::string s = scopes_csv.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (s == "manage") scopes |= kScopeManage;
    else if (s == "publish") scopes |= kScopePublish;
    else {
      fmt::print(stderr, "hookd token create: unknown scope '{}' (use manage and/or publish)\n", s);
      return 2;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto store = OpenStore(db);
  if (!store) {
    fmt::print(stderr, "hookd token create: {}\n", store.error().message);
    return 1;
  }
  if (auto r = (*store)->Migrate(); !r) {
    fmt::print(stderr, "hookd token create: {}\n", r.error().message);
    return 1;
  }
  if (auto c = (*store)->GetCompany(*cid); !c) {
    fmt::print(stderr, "hookd token create: {}\n", c.error().message);
    return 1;
  }
  std::string token = NewApiToken();
  ApiToken t{TokenId::New(), *cid, HashToken(token), scopes, description, NowMs(), std::nullopt};
  if (auto r = (*store)->InsertToken(t); !r) {
    fmt::print(stderr, "hookd token create: {}\n", r.error().message);
    return 1;
  }
  fmt::print("{}\n", token);
  fmt::print(stderr, "token {} for {} with scopes {} (shown once; store it now)\n", t.id.str(),
             cid->str(), ScopesToString(scopes));
  return 0;
}

namespace {

// The store, migrated, for a command-line tool; null after printing why not.
std::unique_ptr<Store> OpenForCli(const std::string& db, std::string_view command) {
  auto store = OpenStore(db);
  if (!store) {
    fmt::print(stderr, "hookd {}: {}\n", command, store.error().message);
    return nullptr;
  }
  if (auto r = (*store)->Migrate(); !r) {
    fmt::print(stderr, "hookd {}: {}\n", command, r.error().message);
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace

int RunTokenRevoke(const std::string& db, const std::string& id, bool all_operator) {
  if (all_operator == !id.empty()) {
    fmt::print(stderr, "hookd token revoke: give either --id tok_… or --operator\n");
    return 2;
  }
  std::optional<TokenId> tid;
  if (!all_operator && !(tid = TokenId::Parse(id))) {
    fmt::print(stderr, "hookd token revoke: --id must be a token id (tok_…)\n");
    return 2;
  }
  auto store = OpenForCli(db, "token revoke");
  if (!store) return 1;
  if (all_operator) {
    auto n = store->RevokeOperatorTokens(std::nullopt, NowMs());
    if (!n) {
      fmt::print(stderr, "hookd token revoke: {}\n", n.error().message);
      return 1;
    }
    fmt::print("revoked {} operator token{}; the next `hookd serve` generates a new one (printed once) "
               "unless given --admin-token\n",
               *n, *n == 1 ? "" : "s");
    return 0;
  }
  auto t = store->RevokeAnyToken(*tid, NowMs());
  if (!t) {
    fmt::print(stderr, "hookd token revoke: {}\n",
               t.error().code == ErrorCode::kNotFound ? "no such token, or already revoked: " + id : t.error().message);
    return 1;
  }
  fmt::print("revoked {} ({})\n", t->id.str(), t->IsOperator() ? "operator" : "company " + t->company_id->str());
  return 0;
}

int RunTokenList(const std::string& db) {
  auto store = OpenForCli(db, "token list");
  if (!store) return 1;
  auto tokens = store->AllTokens();
  if (!tokens) {
    fmt::print(stderr, "hookd token list: {}\n", tokens.error().message);
    return 1;
  }
  fmt::print("{:<30} {:<30} {:<15} {:<26} {}\n", "ID", "COMPANY", "SCOPES", "REVOKED", "DESCRIPTION");
  for (const ApiToken& t : *tokens) {
    fmt::print("{:<30} {:<30} {:<15} {:<26} {}\n", t.id.str(), t.IsOperator() ? "operator" : t.company_id->str(),
               ScopesToString(t.scopes), t.revoked_at_ms ? FormatTime(*t.revoked_at_ms) : "-", t.description);
  }
  return 0;
}

int RunRekey(const std::string& db, const std::string& key_file, int batch) {
  auto cipher = LoadEncryptionKeys(key_file);
  if (!cipher) {
    fmt::print(stderr, "hookd rekey: {}\n", cipher.error().message);
    return 2;
  }
  if (!*cipher) {
    fmt::print(stderr, "hookd rekey: give the keys: --encryption-key-file (or HOOKD_ENCRYPTION_KEY)\n");
    return 2;
  }
  // Not exclusive: it runs beside `hookd serve`, row batches in short transactions.
  auto store = OpenStore(db, {.cipher = *cipher});
  if (!store) {
    fmt::print(stderr, "hookd rekey: {}\n", store.error().message);
    return 1;
  }
  if (auto r = (*store)->Migrate(); !r) {
    fmt::print(stderr, "hookd rekey: {}\n", r.error().message);
    return 1;
  }
  fmt::print("re-encrypting with key {} ({} rows per transaction)\n", (*cipher)->primary_id(), batch);
  std::string last_table;
  auto totals = sealed::Rekey(**store, **cipher, batch, [&](const char* table, const sealed::RekeyTotals& t) {
    if (last_table != table || t.scanned % (100 * static_cast<int64_t>(batch)) < batch) {
      fmt::print("  {}: {} rows looked at, {} re-encrypted so far\n", table, t.scanned, t.resealed);
      std::fflush(stdout);
      last_table = table;
    }
  });
  (*store)->Close();
  if (!totals) {
    fmt::print(stderr, "hookd rekey: {}\n", totals.error().message);
    return 1;
  }
  fmt::print("done: {} rows looked at, {} re-encrypted; everything is sealed under key {}\n", totals->scanned,
             totals->resealed, (*cipher)->primary_id());
  for (const auto& id : totals->forgotten) {
    fmt::print("key {} is no longer used: it may be removed from the key file\n", id);
  }
  return 0;
}

int RunKeyGenerate() {
  fmt::print("{}\n", FieldCipher::NewKeyLine());
  return 0;
}

}  // namespace hookd
