// Encryption at rest through the real binary (issue 13): with --encryption-key-file, no
// payload, receiver answer or signing secret is readable in the SQLite file; a start without
// the right key is refused with the key's id; `hookd rekey` moves everything to a new key
// beside a running server, after which the old key can leave the file.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "core/field_cipher.h"
#include "core/signing.h"
#include "harness.h"
#include "receiver.h"

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// The hex id of the first key of `lines`.
std::string KeyId(const std::string& lines) {
  auto c = FieldCipher::FromKeyText(lines);
  EXPECT_TRUE(c);
  return c ? (*c)->primary_id() : "";
}

class EncryptionTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    key_a_ = NewKey();
    key_file_ = tmp_->path() / "hookd.keys";
    WriteFile(key_file_, key_a_ + "\n");
    return {"--allow-http", "--allow-private-destinations", "--retry-schedule", "200ms,200ms",
            "--encryption-key-file", key_file_.string()};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  // A key line from `hookd key generate`.
  static std::string NewKey() {
    CliResult r = RunHookdCli({"key", "generate"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string line = r.out;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    EXPECT_TRUE(FieldCipher::FromKeyText(line)) << line;
    return line;
  }
  // The database file and its WAL, as bytes.
  std::string DatabaseBytes() {
    return ReadAll(hookd_->DbPath()) + ReadAll(hookd_->DbPath() + "-wal");
  }
  // Every event of the company through the API (payloads opened), following the cursor.
  std::vector<json::object> AllEvents() {
    std::vector<json::object> out;
    std::string cursor;
    do {
      auto r = co_->Get(Base() + "/events?limit=500" + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      auto v = r.Json();
      for (auto& e : v.at("data").as_array()) out.push_back(e.as_object());
      cursor = v.at("next_cursor").is_null() ? "" : std::string(v.at("next_cursor").as_string());
    } while (!cursor.empty());
    return out;
  }

  std::string key_a_;
  std::filesystem::path key_file_;
};

TEST_F(EncryptionTest, NoPayloadAnswerOrSecretIsReadableInTheDatabaseFile) {
  Receiver rx;
  const std::string answer = "no account for lucia.garcia@acme.example yet";
  rx.SetFn("/hook", [&](int n, const ReceivedRequest&) {
    Behaviour b;
    b.status = n == 0 ? 500 : 200;
    b.body = answer;
    b.headers["x-echo-user"] = "lucia.garcia@acme.example";
    return b;
  });
  auto ep = co_->Post(Base() + "/endpoints", json::object{{"url", rx.Url()}, {"event_types", json::array{"*"}}});
  ASSERT_EQ(ep.status, 201) << ep.body;
  const std::string ep_id(ep.Json().at("id").as_string());
  const std::string secret(ep.Json().at("secret").as_string());
  auto ev = co_->Post(Base() + "/events", HiredEvent("emp_4242"));
  ASSERT_EQ(ev.status, 202) << ev.body;
  const std::string ev_id(ev.Json().at("id").as_string());
  ASSERT_TRUE(rx.WaitFor(2, 10s));

  // Receivers get the plain payload, signed with the plain secret.
  auto req = rx.Requests()[1];
  EXPECT_NE(req.body.find("lucia.garcia@acme.example"), std::string::npos);
  auto ok = VerifyStandard(secret, {req.headers["webhook-id"], req.headers["webhook-timestamp"],
                                    req.headers["webhook-signature"]},
                           req.body, std::stoll(req.headers["webhook-timestamp"]) * 1000);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
  // The API shows them plain too.
  EXPECT_EQ(co_->Get(Base() + "/events/" + ev_id).Json().at("payload").as_string(), req.body);
  auto ds = co_->Get(Base() + "/deliveries?event_id=" + ev_id).Json().at("data").as_array();
  ASSERT_EQ(ds.size(), 1u);
  json::array atts;
  for (int i = 0; i < 100 && atts.size() < 2; ++i) {
    atts = co_->Get(Base() + "/deliveries/" + std::string(ds[0].at("id").as_string()) + "/attempts")
               .Json().at("data").as_array();
    if (atts.size() < 2) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(atts.size(), 2u);
  EXPECT_EQ(atts[1].at("response_body").as_string(), answer);
  EXPECT_NE(json::serialize(atts[1].at("response_headers")).find("lucia.garcia@acme.example"), std::string::npos);
  auto revealed = co_->Get(Base() + "/endpoints/" + ep_id + "/secret");
  ASSERT_EQ(revealed.status, 200) << revealed.body;
  EXPECT_NE(revealed.body.find(secret), std::string::npos);

  // On disk: none of it, in the database file or its WAL.
  hookd_->Kill(SIGTERM);
  const std::string bytes = DatabaseBytes();
  ASSERT_GT(bytes.size(), 4096u);
  EXPECT_NE(bytes.find(ep_id), std::string::npos) << "the check reads the right file";
  EXPECT_EQ(bytes.find("lucia.garcia@acme.example"), std::string::npos) << "a payload or answer in plain text";
  EXPECT_EQ(bytes.find("Lucía"), std::string::npos);
  EXPECT_EQ(bytes.find(secret), std::string::npos) << "the signing secret in plain text";
  EXPECT_EQ(bytes.find(secret.substr(6)), std::string::npos) << "the secret's key in plain text";
  EXPECT_EQ(bytes.find(key_a_), std::string::npos) << "the key itself";

  // A start without the key, or with another one, is refused with the key's id — never
  // served as garbage.
  const std::string db = "sqlite:" + hookd_->DbPath();
  CliResult none = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0"}, "", {}, {"HOOKD_ENCRYPTION"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("holds data encrypted with key " + KeyId(key_a_)), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("--encryption-key-file"), std::string::npos) << none.err;
  const auto other = tmp_->path() / "other.keys";
  WriteFile(other, NewKey() + "\n");
  CliResult wrong = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0", "--encryption-key-file", other.string()});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find(KeyId(key_a_)), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find(key_a_), std::string::npos) << "never the key itself";
  // A malformed key file is a usage error naming the line.
  WriteFile(other, "c2hvcnQ=\n");
  CliResult bad = RunHookdCli({"serve", "--db", db, "--listen", "127.0.0.1:0", "--encryption-key-file", other.string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 1 is not the base64 of 32 bytes"), std::string::npos) << bad.err;

  // The right key again: everything is there.
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  EXPECT_EQ(co_->Get(Base() + "/events/" + ev_id).Json().at("payload").as_string(), req.body);
  EXPECT_NE(hookd_->Output().find("sealed with key " + KeyId(key_a_)), std::string::npos) << hookd_->Output();
}

// Without a key hookd runs and says so; HOOKD_ENCRYPTION_KEY holds the keys themselves.
TEST_F(EncryptionTest, WithoutAKeyDataIsPlainAndTheLogSaysSo) {
  hookd_->Kill(SIGTERM);
  TempDir plain_dir;
  HookdProcess plain(plain_dir.path(), {"--allow-http"});
  ASSERT_NO_FATAL_FAILURE(plain.Start());
  EXPECT_NE(plain.Output().find("encryption at rest is off"), std::string::npos) << plain.Output();
  plain.Kill(SIGTERM);
  // The environment variable form, on the first database (sealed under key A).
  CliResult env = RunHookdCli({"rekey", "--db", "sqlite:" + hookd_->DbPath()}, "", {"HOOKD_ENCRYPTION_KEY=" + key_a_});
  EXPECT_EQ(env.exit_code, 0) << env.err;
  EXPECT_NE(env.out.find("everything is sealed under key " + KeyId(key_a_)), std::string::npos) << env.out;
  CliResult no_key = RunHookdCli({"rekey", "--db", "sqlite:" + hookd_->DbPath()}, "", {}, {"HOOKD_ENCRYPTION"});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_NE(no_key.err.find("--encryption-key-file"), std::string::npos) << no_key.err;
}

// Key rotation as an operator does it: the new key first in the file and the old one after it,
// a restart, `hookd rekey` beside the running server while events keep coming, then the old
// key removed. Nothing is lost and every delivery arrives.
TEST_F(EncryptionTest, RekeyBesideARunningServerLetsTheOldKeyGo) {
  Receiver rx;
  auto ep = co_->Post(Base() + "/endpoints", json::object{{"url", rx.Url()}, {"event_types", json::array{"*"}}});
  ASSERT_EQ(ep.status, 201) << ep.body;
  const std::string secret(ep.Json().at("secret").as_string());
  const int before = 300;
  for (int i = 0; i < before; ++i) ASSERT_EQ(co_->Post(Base() + "/events", HiredEvent("emp_a" + std::to_string(i))).status, 202);
  ASSERT_TRUE(rx.WaitFor(before, 20s));

  const std::string key_b = NewKey();
  WriteFile(key_file_, key_b + "\n" + key_a_ + "\n");
  hookd_->Kill(SIGTERM);
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);

  // Events keep coming while rekey runs.
  std::atomic<bool> stop{false};
  std::atomic<int> during{0};
  std::thread publisher([&] {
    auto c = ClientWith(company_token_);
    for (int i = 0; !stop.load(); ++i) {
      if (c->Post(Base() + "/events", HiredEvent("emp_b" + std::to_string(i))).status == 202) ++during;
    }
  });
  while (during.load() < 20) std::this_thread::sleep_for(5ms);
  CliResult rekey = RunHookdCli({"rekey", "--db", "sqlite:" + hookd_->DbPath(), "--encryption-key-file",
                                 key_file_.string(), "--batch", "50"});
  stop = true;
  publisher.join();
  ASSERT_EQ(rekey.exit_code, 0) << rekey.out << rekey.err;
  EXPECT_NE(rekey.out.find("key " + KeyId(key_a_) + " is no longer used"), std::string::npos) << rekey.out;
  EXPECT_EQ(rekey.out.find(key_a_), std::string::npos);
  EXPECT_EQ(rekey.out.find(key_b), std::string::npos);
  const int total = before + during.load();
  ASSERT_TRUE(rx.WaitFor(total, 30s)) << rx.Count() << " of " << total;

  // The old key leaves the file; the server starts and every event opens.
  hookd_->Kill(SIGTERM);
  WriteFile(key_file_, key_b + "\n");
  ASSERT_NO_FATAL_FAILURE(hookd_->Start());
  co_ = ClientWith(company_token_);
  auto events = AllEvents();
  EXPECT_EQ(static_cast<int>(events.size()), total);
  for (const auto& e : events) {
    ASSERT_NE(std::string(e.at("payload").as_string()).find("\"employee.hired\""), std::string::npos);
  }
  // And deliveries still go out signed with the (re-encrypted) secret.
  auto ev = co_->Post(Base() + "/events", HiredEvent("emp_after"));
  ASSERT_EQ(ev.status, 202);
  ASSERT_TRUE(rx.WaitFor(total + 1, 10s));
  auto req = rx.Requests().back();
  auto ok = VerifyStandard(secret, {req.headers["webhook-id"], req.headers["webhook-timestamp"],
                                    req.headers["webhook-signature"]},
                           req.body, std::stoll(req.headers["webhook-timestamp"]) * 1000);
  EXPECT_TRUE(ok) << (ok ? "" : ok.error().message);
}

}  // namespace
}  // namespace hookd::testing
