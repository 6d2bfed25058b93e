#pragma once
// A private PostgreSQL server for the tests that run on the PostgreSQL store.
//
// Started on first use, once per test binary run (tests that never ask cost nothing), by the
// PostgreSQL 15 binaries of Debian's `postgresql` package (scripts/setup.sh --test): a cluster
// in a fresh directory under /tmp, then `postgres` on a Unix socket in that directory only
// (no TCP), with fsync on. Run as the `postgres` OS user when the tests run as root (initdb
// refuses root). initdb runs once per machine (ctest runs each test in a process of its own):
// its cluster is kept as a template, /tmp/hookd-pg-template-*, that each run copies. Stopped
// (immediate shutdown), and its directory removed, when the test program ends (a gtest
// Environment); should the program die first, the server gets SIGINT (PR_SET_PDEATHSIG).
//
// HOOKD_TEST_POSTGRES_URL=postgresql://…/postgres: use that server instead (its user must be
// allowed to CREATE DATABASE). HOOKD_TEST_PG_BINDIR: where initdb and postgres are
// (default /usr/lib/postgresql/15/bin).

#include <functional>
#include <string>

namespace hookd::testing {

// The URL of a new, empty database on the test server (one per call, so that tests are
// independent). Throws std::runtime_error, saying why, when no server can be started — a loud
// failure of the test, never a silent skip.
std::string NewPostgresDatabaseUrl();

// Restarts the test server as an operator would: a fast shutdown (SIGINT: every session is
// disconnected, transactions in progress are rolled back), then a start on the same cluster
// and port; `while_down` runs between the two. Returns once it answers again. Throws when the
// server is external (HOOKD_TEST_POSTGRES_URL) or not started.
void RestartPostgresServer(const std::function<void()>& while_down = {});

}  // namespace hookd::testing
