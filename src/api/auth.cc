#include "api/auth.h"

#include "core/crypto.h"
#include "store/store.h"

namespace hookd::api {

Result<Principal> Authenticator::Authenticate(std::string_view header) {
  if (header.empty())
    return MakeError(ErrorCode::kUnauthenticated, "missing Authorization: Bearer <token> header");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    return MakeError(ErrorCode::kUnauthenticated, "the Authorization header must be 'Bearer <token>'");
  std::string_view token = header.substr(kBearer.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > 256)
    return MakeError(ErrorCode::kUnauthenticated, "invalid token");

  const std::string hash = HashToken(token);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) {
      if (it->second.principal) return *it->second.principal;
      return MakeError(ErrorCode::kUnauthenticated, "invalid or revoked token");
    }
  }
  auto found = store_.FindTokenByHash(hash);
  std::optional<Principal> principal;
  if (found) {
    if (!found->revoked_at_ms) principal = Principal{found->id, found->company_id, found->scopes};
  } else if (found.error().code != ErrorCode::kNotFound) {
    return std::unexpected(found.error());
  }
  {
    std::lock_guard lock(mu_);
    if (cache_.size() > 100000) cache_.clear();  // bound memory against random-token floods
    cache_[hash] = Cached{principal, now + kCacheTtl};
  }
  if (!principal) return MakeError(ErrorCode::kUnauthenticated, "invalid or revoked token");
  return *principal;
}

void Authenticator::Invalidate() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

}  // namespace hookd::api
