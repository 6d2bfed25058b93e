#include "app/commands.h"

#include <cstdio>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "store/store.h"

namespace hookd {

int RunMigrate(const std::string& db) {
  auto store = OpenStore(db);
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

}  // namespace hookd
