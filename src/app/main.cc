// hookd: the webhook delivery engine. Subcommands: serve, migrate, token, rekey, key, verify, simulate,
// listen.
#include <CLI/CLI.hpp>

#include "app/commands.h"
#include "app/config.h"
#include "cli/listen.h"
#include "cli/simulate.h"
#include "cli/verify.h"

// Read by jemalloc, the binary's allocator (CMakeLists.txt): freed memory goes back to the OS
// within about a second, from a background thread, instead of the default 10 s — a backlog's
// payloads are freed in bursts, and glibc's malloc kept ~50 MB of them in the heap.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}

int main(int argc, char** argv) {
  CLI::App app{"hookd — self-hosted webhook delivery engine for HR events"};
  app.set_version_flag("--version", HOOKD_VERSION);
  app.require_subcommand(1);

  hookd::ServeConfig serve_cfg;
  CLI::App* serve = app.add_subcommand("serve", "run the API, the admin panel and the dispatcher");
  hookd::AddServeFlags(*serve, serve_cfg);

  std::string db = "sqlite:./hookd.db";
  CLI::App* migrate = app.add_subcommand("migrate", "create or upgrade the schema and exit");
  migrate->add_option("--db", db, "store URL")->envname("HOOKD_DB")->capture_default_str();

  CLI::App* token = app.add_subcommand("token", "manage API tokens");
  token->require_subcommand(1);
  CLI::App* token_create = token->add_subcommand("create", "issue a company token (printed once)");
  std::string company, scopes = "manage,publish", description;
  token_create->add_option("--company", company, "company id (co_…)")->required();
  token_create->add_option("--scopes", scopes, "manage and/or publish, comma-separated")->capture_default_str();
  token_create->add_option("--description", description, "what the token is for");
  token_create->add_option("--db", db, "store URL")->envname("HOOKD_DB")->capture_default_str();
  CLI::App* token_revoke = token->add_subcommand(
      "revoke", "revoke a token (--id), or every operator token (--operator: the next serve makes a new one)");
  std::string token_id;
  bool all_operator = false;
  token_revoke->add_option("--id", token_id, "token id (tok_…; see `hookd token list`)");
  token_revoke->add_flag("--operator", all_operator, "revoke every operator token");
  token_revoke->add_option("--db", db, "store URL")->envname("HOOKD_DB")->capture_default_str();
  CLI::App* token_list = token->add_subcommand("list", "list every token (never the token itself)");
  token_list->add_option("--db", db, "store URL")->envname("HOOKD_DB")->capture_default_str();

  std::string key_file;
  int rekey_batch = 500;
  CLI::App* rekey = app.add_subcommand(
      "rekey", "re-encrypt stored data with the first key of the key file (beside a running server)");
  rekey->add_option("--db", db, "store URL")->envname("HOOKD_DB")->capture_default_str();
  rekey->add_option("--encryption-key-file", key_file, "the key file (the first key encrypts)")
      ->envname("HOOKD_ENCRYPTION_KEY_FILE")->check(CLI::ExistingFile);
  rekey->add_option("--batch", rekey_batch, "rows per transaction")->check(CLI::Range(1, 10000))->capture_default_str();
  CLI::App* key = app.add_subcommand("key", "encryption keys");
  key->require_subcommand(1);
  CLI::App* key_generate = key->add_subcommand("generate", "print a new encryption key (a line for the key file)");

  hookd::VerifyFlags verify_flags;
  CLI::App* verify = app.add_subcommand("verify", "check a captured delivery's signature (receiver side)");
  hookd::AddVerifyFlags(*verify, verify_flags);

  hookd::SimulateFlags simulate_flags;
  CLI::App* simulate =
      app.add_subcommand("simulate", "send realistic HR activity to a running hookd (demos, load)");
  hookd::AddSimulateFlags(*simulate, simulate_flags);

  hookd::ListenFlags listen_flags;
  CLI::App* listen =
      app.add_subcommand("listen", "a receiver on your machine: prints and verifies deliveries (trying hookd)");
  hookd::AddListenFlags(*listen, listen_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // `hookd verify` documents exit 2 for any usage error (1 means "invalid signature").
    if (rc != 0 && verify->parsed()) return hookd::kVerifyExitUsage;
    // `hookd simulate` likewise: 1 means "some events were rejected".
    if (rc != 0 && simulate->parsed()) return hookd::kSimulateExitUsage;
    if (rc != 0 && listen->parsed()) return 2;
    return rc;
  }

  std::string log_format = serve->parsed() ? serve_cfg.log_format : "text";
  hookd::SetupLogging(log_format);
  if (serve->parsed()) return hookd::RunServe(serve_cfg);
  if (migrate->parsed()) return hookd::RunMigrate(db);
  if (token_create->parsed()) return hookd::RunTokenCreate(db, company, scopes, description);
  if (token_revoke->parsed()) return hookd::RunTokenRevoke(db, token_id, all_operator);
  if (token_list->parsed()) return hookd::RunTokenList(db);
  if (rekey->parsed()) return hookd::RunRekey(db, key_file, rekey_batch);
  if (key_generate->parsed()) return hookd::RunKeyGenerate();
  if (verify->parsed()) return hookd::RunVerify(verify_flags);
  if (simulate->parsed()) return hookd::RunSimulate(simulate_flags);
  if (listen->parsed()) return hookd::RunListen(listen_flags);
  return 2;
}
