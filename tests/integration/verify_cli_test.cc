// `hookd verify` as a receiver's developer runs it: the real binary, real files and pipes,
// exit codes and what lands on stdout/stderr; and the whole flow of capturing a delivery
// from a running hookd and checking it.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/signing.h"
#include "harness.h"
#include "receiver.h"

extern char** environ;

namespace hookd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The published Standard Webhooks test vector.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kRaw =
    "POST /hook HTTP/1.1\r\n"
    "Host: receiver.example\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 20\r\n"
    "Webhook-Id: msg_p5jXN8AQM9LWM0D4loKWxJek\r\n"
    "Webhook-Timestamp: 1614265330\r\n"
    "Webhook-Signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\r\n"
    "\r\n"
    R"({"test": 2432232314})";
constexpr std::string_view kValidLine =
    "valid: signed by the given secret (webhook-id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp "
    "2021-02-25T15:02:10Z)\n";

using CliRun = CliResult;

void Write(const std::filesystem::path& p, std::string_view text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

// Runs `hookd verify <args>` with `stdin_text` on stdin, without any HOOKD_VERIFY_SECRET of
// ours in its environment, plus `env`.
CliRun Verify(const std::vector<std::string>& args, std::string_view stdin_text = "",
              const std::vector<std::string>& env = {}) {
  std::vector<std::string> all = {"verify"};
  all.insert(all.end(), args.begin(), args.end());
  return RunHookdCli(all, stdin_text, env, {"HOOKD_VERIFY_SECRET="});
}

std::string Tampered() {
  std::string raw(kRaw);
  raw.replace(raw.find("2432232314"), 10, "2432232315");
  return raw;
}

TEST(VerifyCliTest, ValidCaptureFromFileExitsZero) {
  TempDir dir;
  Write(dir.path() / "delivery.http", kRaw);
  CliRun r = Verify({"--secret", std::string(kSecret), "--file",
                     (dir.path() / "delivery.http").string(), "--now", "1614265330"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kValidLine);
  EXPECT_EQ(r.err, "");
}

TEST(VerifyCliTest, SecretFromEnvironmentAndJsonOnStdin) {
  const std::string input =
      R"({"headers":{"webhook-id":"msg_p5jXN8AQM9LWM0D4loKWxJek","webhook-timestamp":"1614265330",)"
      R"("webhook-signature":"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},)"
      R"("body":"{\"test\": 2432232314}"})";
  CliRun r =
      Verify({"--now", "1614265400"}, input, {"HOOKD_VERIFY_SECRET=" + std::string(kSecret)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kValidLine);
}

TEST(VerifyCliTest, HeaderFlagsWithBodyOnStdin) {
  CliRun r = Verify(
      {"--secret", std::string(kSecret), "--now", "1614265330", "-H",
       "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek", "--header", "Webhook-Timestamp: 1614265330",
       "--header", "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
      R"({"test": 2432232314})");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kValidLine);
}

TEST(VerifyCliTest, TamperedBodyExitsOneWithTheReason) {
  CliRun r = Verify({"--secret", std::string(kSecret), "--now", "1614265330"}, Tampered());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, AllOf(StartsWith("invalid: no matching signature"), Not(HasSubstr(kSecret))));
}

TEST(VerifyCliTest, StaleCaptureExitsOneSayingHowStale) {
  // No --now: the 2021 vector is years old by the clock.
  CliRun r = Verify({"--secret", std::string(kSecret)}, kRaw);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, AllOf(StartsWith("invalid: webhook-timestamp is too old"),
                           HasSubstr(" s before now"), HasSubstr("--now 1614265330")));
}

TEST(VerifyCliTest, MalformedSecretAndUnreadableInputExitOne) {
  CliRun r = Verify({"--secret", "whsec_not-base64!", "--now", "1614265330"}, kRaw);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, AllOf(HasSubstr("malformed secret"), Not(HasSubstr("not-base64!"))));

  r = Verify({"--secret", std::string(kSecret), "--file", "/nonexistent/delivery.http"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unreadable input: cannot open /nonexistent/delivery.http"));

  r = Verify({"--secret", std::string(kSecret)}, "this is not a request\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unreadable input: line 1"));
}

TEST(VerifyCliTest, UsageErrorsExitTwo) {
  CliRun r = Verify({"--now", "1614265330"}, kRaw);  // no secret anywhere
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, AllOf(HasSubstr("no secret"), HasSubstr("HOOKD_VERIFY_SECRET")));

  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--secret", std::string(kSecret), "--scheme", "svix"},
           {"--secret", std::string(kSecret), "--tolerance", "soon"},
           {"--secret", std::string(kSecret), "--now", "yesterday"},
           {"--secret", std::string(kSecret), "--header", "webhook-id msg_1"},
           {"--secret", std::string(kSecret), "--no-such-flag"}}) {
    r = Verify(args, kRaw);
    EXPECT_EQ(r.exit_code, 2) << args[2] << ": " << r.err;
    EXPECT_NE(r.err, "") << args[2];
  }
}

TEST(VerifyCliTest, HelpExplainsTheInputForms) {
  CliRun r = Verify({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(
      r.out,
      AllOf(HasSubstr("--secret"), HasSubstr("HOOKD_VERIFY_SECRET"), HasSubstr("raw HTTP request"),
            HasSubstr("POST /hook HTTP/1.1"), HasSubstr("A JSON object"), HasSubstr("\"headers\""),
            HasSubstr("--header flags"), HasSubstr("Example:"), HasSubstr("Exit status: 0 valid")));
}

// --- the real flow: capture what a running hookd delivered, then verify it -------------

class VerifyCliDeliveryTest : public HookdTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--allow-http", "--allow-private-destinations", "--request-timeout", "2s"};
  }
  std::string Base() { return "/v1/companies/" + company_; }
  std::string CreateEndpoint(json::object body) {
    body["event_types"] = json::array{"*"};
    auto r = co_->Post(Base() + "/endpoints", json::value(body));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? std::string(r.Json().at("secret").as_string()) : "";
  }
  // Publishes one event and returns the request the receiver got.
  ReceivedRequest Capture(Receiver& rx) {
    auto r = co_->Post(Base() + "/events", HiredEvent());
    EXPECT_EQ(r.status, 202) << r.body;
    EXPECT_TRUE(rx.WaitFor(1, 10s));
    auto reqs = rx.Requests();
    return reqs.empty() ? ReceivedRequest{} : reqs[0];
  }
  // What `nc -l` would have shown.
  static std::string AsRawHttp(const ReceivedRequest& req) {
    std::string s = req.method + " " + req.path + " HTTP/1.1\r\n";
    for (const auto& [name, value] : req.headers) s += name + ": " + value + "\r\n";
    return s + "\r\n" + req.body;
  }
  // What a receiver's log line might hold.
  static std::string AsJson(const ReceivedRequest& req) {
    json::object headers;
    for (const auto& [name, value] : req.headers) headers[name] = value;
    return json::serialize(json::object{{"headers", headers}, {"body", req.body}});
  }
};

TEST_F(VerifyCliDeliveryTest, CapturedStandardDeliveryVerifies) {
  Receiver rx;
  const std::string secret = CreateEndpoint({{"url", rx.Url()}});
  ReceivedRequest req = Capture(rx);
  ASSERT_FALSE(req.body.empty());
  const std::string id = req.headers["webhook-id"];

  const std::string env = "HOOKD_VERIFY_SECRET=" + secret;
  Write(tmp_->path() / "delivery.http", AsRawHttp(req));
  CliRun r = Verify({"--file", (tmp_->path() / "delivery.http").string()}, "", {env});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(StartsWith("valid: signed by the given secret (webhook-id " + id),
                           Not(HasSubstr(secret))));

  r = Verify({}, AsJson(req), {env});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // The same capture against another endpoint's secret, or altered, is refused.
  CliRun other = Verify({"--secret", CreateEndpoint({{"url", rx.Url("/other")}})}, AsRawHttp(req));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, StartsWith("invalid: no matching signature"));
  req.body.replace(req.body.find("lucia"), 5, "mallory");
  req.headers.erase("content-length");
  CliRun tampered = Verify({}, AsRawHttp(req), {env});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_THAT(tampered.err, StartsWith("invalid: no matching signature"));
}

TEST_F(VerifyCliDeliveryTest, CapturedGithubDeliveryVerifies) {
  Receiver rx;
  const std::string secret = CreateEndpoint({{"url", rx.Url()}, {"signature_scheme", "github"}});
  ReceivedRequest req = Capture(rx);
  ASSERT_TRUE(req.headers.contains("x-hub-signature-256"));
  CliRun r = Verify({"--secret", secret}, AsRawHttp(req));  // --scheme auto finds the header
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, AllOf(StartsWith("valid: signed by the given secret (GitHub style"),
                           Not(HasSubstr(secret))));
  r = Verify({"--secret", secret, "--scheme", "standard"}, AsRawHttp(req));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--scheme github"));
}

}  // namespace
}  // namespace hookd::testing
