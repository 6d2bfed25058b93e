#pragma once
// hookd subcommands. Each returns the process exit code.

#include <string>

#include "app/config.h"

namespace hookd {

// `hookd serve`: API + (later) dispatcher until SIGINT/SIGTERM.
int RunServe(ServeConfig& cfg);
// `hookd migrate`: create/upgrade the schema and exit.
int RunMigrate(const std::string& db);
// `hookd token create`: issue a company token offline (prints it once).
int RunTokenCreate(const std::string& db, const std::string& company, const std::string& scopes,
                   const std::string& description);
// `hookd token revoke --id tok_…` (any token) or `--operator` (every operator token: the
// next `hookd serve` generates a new one, or takes --admin-token). A running server stops
// accepting a revoked token within its token cache's lifetime (5 s).
int RunTokenRevoke(const std::string& db, const std::string& id, bool all_operator);
// `hookd token list`: every token (id, company or "operator", scopes, state, description).
int RunTokenList(const std::string& db);

// `hookd rekey`: re-encrypts every sealed value not under the first key of the key file (or
// stored plain) with that key, in batches of `batch` rows per transaction; may run beside a
// server using the same key file. Then forgets the other keys (they may leave the file).
int RunRekey(const std::string& db, const std::string& key_file, int batch);
// `hookd key generate`: prints a new encryption key line (base64 of 32 random bytes).
int RunKeyGenerate();

}  // namespace hookd
