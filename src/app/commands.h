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

}  // namespace hookd
