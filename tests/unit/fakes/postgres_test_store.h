#pragma once
// The start of a PostgreSQL-only unit test: a store on a database of the test server
// (support/pg_server.h), migrated, and the same store as a PostgresStore for what only it has.

#include <memory>
#include <string>

#include "store/postgres/postgres_store.h"
#include "store/store.h"

namespace hookd::testing {

struct MigratedPostgres {
  std::unique_ptr<Store> store;
  PostgresStore* pg = nullptr;  // store, as a PostgresStore
};

inline Result<MigratedPostgres> OpenMigratedPostgres(const std::string& url, OpenOptions options = {}) {
  auto opened = OpenStore(url, std::move(options));
  if (!opened) return std::unexpected(opened.error());
  MigratedPostgres out{std::move(*opened), nullptr};
  if (auto m = out.store->Migrate(); !m) return std::unexpected(m.error());
  out.pg = dynamic_cast<PostgresStore*>(out.store.get());
  if (!out.pg) return std::unexpected(Error{ErrorCode::kInternal, url + " did not open a PostgresStore", {}});
  return out;
}

}  // namespace hookd::testing
