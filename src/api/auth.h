#pragma once
// Bearer-token authentication with a short-lived in-memory cache, so the hot path does not
// read the store per request. Tokens are looked up by their SHA-256 (core/crypto.h).

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "core/ids.h"
#include "core/model.h"

namespace hookd {
class TokenStore;
}

namespace hookd::api {

struct Principal {
  TokenId token_id;
  std::optional<CompanyId> company;  // nullopt: the operator
  unsigned scopes = 0;               // bit set of Scope; the operator has all

  bool IsOperator() const { return !company.has_value(); }
  bool Has(unsigned scope) const { return IsOperator() || (scopes & scope) == scope; }
};

class Authenticator {
 public:
  // A revoked token keeps working on *other* hookd nodes for at most this long.
  static constexpr std::chrono::seconds kCacheTtl{5};

  explicit Authenticator(TokenStore& store) : store_(store) {}

  // From an Authorization header ("Bearer <token>"). kUnauthenticated when missing,
  // malformed, unknown or revoked; kUnavailable when the store cannot be read.
  Result<Principal> Authenticate(std::string_view authorization_header);
  // Drops cached tokens (after a revocation on this node).
  void Invalidate();

 private:
  struct Cached {
    std::optional<Principal> principal;  // nullopt: known bad
    std::chrono::steady_clock::time_point expires;
  };
  TokenStore& store_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // GUARDED_BY(mu_), by token hash
};

}  // namespace hookd::api
