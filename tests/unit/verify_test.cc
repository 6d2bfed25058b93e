// `hookd verify` without the process: input detection and parsing (raw HTTP, JSON,
// --header flags), flag validation, and the valid/invalid decision with its messages.
#include "cli/verify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/signing.h"

namespace hookd {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The published Standard Webhooks test vector.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr std::string_view kBody = R"({"test": 2432232314})";
constexpr std::string_view kSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr std::string_view kValidLine =
    "valid: signed by the given secret (webhook-id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp "
    "2021-02-25T15:02:10Z)";

std::string Raw(std::string_view eol, std::string_view body = kBody,
                std::string_view signature = kSignature) {
  std::string s;
  for (std::string_view line :
       {std::string_view("POST /hook HTTP/1.1"), std::string_view("Host: receiver.example"),
        std::string_view("Content-Type: application/json"),
        std::string_view("Webhook-Id: msg_p5jXN8AQM9LWM0D4loKWxJek"),
        std::string_view("WEBHOOK-TIMESTAMP: 1614265330")}) {
    s += line;
    s += eol;
  }
  s += "webhook-signature: ";
  s += signature;
  s += eol;
  s += eol;
  s += body;
  return s;
}

VerifyOptions Opts(int64_t now_s = kTimestamp, std::string_view secret = kSecret,
                   VerifyScheme scheme = VerifyScheme::kAuto) {
  return VerifyOptions{std::string(secret), scheme, kDefaultToleranceMs, now_s * 1000};
}

CapturedRequest Parsed(std::string_view input) {
  Result<CapturedRequest> r = ParseCapturedRequest(input);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? *r : CapturedRequest{};
}

std::string ParseError(std::string_view input) {
  Result<CapturedRequest> r = ParseCapturedRequest(input);
  EXPECT_FALSE(r.has_value()) << "parsed: " << input;
  return r ? "" : r.error().message;
}

// The failure message for `req`; fails the test if it verified.
std::string Invalid(const CapturedRequest& req, const VerifyOptions& o) {
  Result<std::string> r = VerifyCaptured(req, o);
  EXPECT_FALSE(r.has_value()) << *r;
  if (r) return "";
  EXPECT_THAT(r.error().message, Not(HasSubstr(o.secret)));  // never echo the secret
  return r.error().message;
}

// --- input forms ----------------------------------------------------------------------

TEST(VerifyCaptureParseTest, RawHttpWithCrlf) {
  CapturedRequest req = Parsed(Raw("\r\n"));
  EXPECT_EQ(req.form, "raw HTTP request");
  EXPECT_EQ(req.body, kBody);
  EXPECT_THAT(req.headers["webhook-id"], ElementsAre(kMsgId));  // names lower-cased
  EXPECT_THAT(req.headers["webhook-timestamp"], ElementsAre("1614265330"));
  EXPECT_THAT(req.headers["webhook-signature"], ElementsAre(kSignature));
  EXPECT_THAT(req.headers["host"], ElementsAre("receiver.example"));
  EXPECT_FALSE(req.headers.contains("post /hook http/1.1"));
}

TEST(VerifyCaptureParseTest, RawHttpWithLfAndNoRequestLine) {
  std::string raw = Raw("\n");
  raw.erase(0, raw.find('\n') + 1);  // drop the request line
  CapturedRequest req = Parsed(raw);
  EXPECT_EQ(req.body, kBody);
  EXPECT_THAT(req.headers["webhook-id"], ElementsAre(kMsgId));
}

TEST(VerifyCaptureParseTest, RawHttpBodyKeepsItsBytes) {
  // CRLF inside the body and a body ending in a newline stay as they are.
  CapturedRequest req = Parsed("webhook-id: a\r\n\r\n{\r\n \"x\": 1\r\n}\n");
  EXPECT_EQ(req.body, "{\r\n \"x\": 1\r\n}\n");
  // Leading blank lines and whitespace around values are not part of the request.
  req = Parsed("\r\n\nwebhook-id:\t a b \r\n\r\nbody");
  EXPECT_THAT(req.headers["webhook-id"], ElementsAre("a b"));
  EXPECT_EQ(req.body, "body");
}

TEST(VerifyCaptureParseTest, RawHttpContentLengthBoundsTheBody) {
  CapturedRequest req = Parsed("content-length: 4\n\nbody\n\n");  // an editor's extra lines
  EXPECT_EQ(req.body, "body");
  EXPECT_THAT(
      ParseError("Content-Length: 10\r\n\r\nbody"),
      AllOf(HasSubstr("4 bytes"), HasSubstr("content-length says 10"), HasSubstr("cut short")));
  EXPECT_THAT(ParseError("content-length: x\n\nbody"), HasSubstr("not a number"));
}

TEST(VerifyCaptureParseTest, RawHttpRepeatedAndFoldedHeaders) {
  CapturedRequest req = Parsed(
      "webhook-signature: v1,AAA=\r\nWebhook-Signature: v1,BBB=\r\nx-long: one\r\n  two\r\n\r\n");
  EXPECT_THAT(req.headers["webhook-signature"], ElementsAre("v1,AAA=", "v1,BBB="));
  EXPECT_THAT(req.headers["x-long"], ElementsAre("one two"));
  EXPECT_EQ(req.body, "");
}

TEST(VerifyCaptureParseTest, RawHttpErrorsSayWhatIsWrong) {
  EXPECT_THAT(ParseError(""), HasSubstr("empty"));
  EXPECT_THAT(ParseError(" \r\n\n"), HasSubstr("empty"));
  EXPECT_THAT(ParseError("hello world\n\nbody"),
              AllOf(HasSubstr("line 1"), HasSubstr("request line")));
  EXPECT_THAT(ParseError("webhook-id: a\nnot a header\n\nbody"),
              AllOf(HasSubstr("line 2"), HasSubstr("not a header")));
  EXPECT_THAT(ParseError("webhook-id: a\r\nwebhook-timestamp: 1"), HasSubstr("no empty line"));
  EXPECT_THAT(ParseError("transfer-encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n"),
              HasSubstr("chunked"));
}

TEST(VerifyCaptureParseTest, JsonForm) {
  CapturedRequest req = Parsed(R"(
    {"method": "POST",
     "headers": {"Webhook-Id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": 1614265330,
                 "webhook-signature": ["v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="]},
     "body": "{\"test\": 2432232314}"})");
  EXPECT_EQ(req.form, "JSON");
  EXPECT_EQ(req.body, kBody);
  EXPECT_THAT(req.headers["webhook-id"], ElementsAre(kMsgId));
  EXPECT_THAT(req.headers["webhook-timestamp"], ElementsAre("1614265330"));
  EXPECT_THAT(req.headers["webhook-signature"], ElementsAre(kSignature));
}

TEST(VerifyCaptureParseTest, JsonFormWithHarHeaders) {
  CapturedRequest req = Parsed(
      R"({"headers": [{"name": "Webhook-Id", "value": "a"}, {"name": "webhook-id", "value": "a"}],
          "body": ""})");
  EXPECT_THAT(req.headers["webhook-id"], ElementsAre("a", "a"));
  EXPECT_EQ(req.body, "");
}

TEST(VerifyCaptureParseTest, JsonFormErrors) {
  EXPECT_THAT(ParseError(R"({"headers": {}, "body": )"), HasSubstr("not valid JSON"));
  // Just a body: point at --header.
  EXPECT_THAT(ParseError(R"({"test": 2432232314})"),
              AllOf(HasSubstr("no \"headers\""), HasSubstr("--header")));
  EXPECT_THAT(ParseError(R"({"headers": {}})"), HasSubstr("no \"body\""));
  EXPECT_THAT(ParseError(R"({"headers": {}, "body": {"test": 1}})"),
              AllOf(HasSubstr("\"body\" is a JSON object"), HasSubstr("exact bytes")));
  EXPECT_THAT(ParseError(R"({"headers": {"webhook-id": true}, "body": ""})"),
              HasSubstr("\"webhook-id\" is a JSON boolean"));
  EXPECT_THAT(ParseError(R"({"headers": [["webhook-id", "a"]], "body": ""})"),
              HasSubstr("{\"name\""));
}

TEST(VerifyCaptureParseTest, HeaderFlags) {
  const std::vector<std::string> flags = {"Webhook-Id: msg_1", "webhook-timestamp:1614265330",
                                          "webhook-signature:  v1,AAA= v1,BBB= "};
  Result<HeaderMap> h = ParseHeaderFlags(flags);
  ASSERT_TRUE(h.has_value()) << h.error().message;
  EXPECT_THAT((*h)["webhook-id"], ElementsAre("msg_1"));
  EXPECT_THAT((*h)["webhook-timestamp"], ElementsAre("1614265330"));
  EXPECT_THAT((*h)["webhook-signature"], ElementsAre("v1,AAA= v1,BBB="));

  for (std::string bad : {"webhook-id msg_1", ": x", "web hook: x"}) {
    const std::vector<std::string> one = {bad};
    Result<HeaderMap> r = ParseHeaderFlags(one);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("is not \"name: value\""));
  }
}

// --- flags ----------------------------------------------------------------------------

TEST(VerifyFlagsTest, Defaults) {
  VerifyFlags f;
  f.secret = std::string(kSecret);
  Result<VerifyOptions> o = ResolveVerifyFlags(f, 1'764'151'200'123);
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->secret, kSecret);
  EXPECT_EQ(o->scheme, VerifyScheme::kAuto);
  EXPECT_EQ(o->tolerance_ms, 5 * 60 * 1000);
  EXPECT_EQ(o->now_ms, 1'764'151'200'123);
}

TEST(VerifyFlagsTest, NowToleranceScheme) {
  VerifyFlags f;
  f.secret = "whsec_x";  // malformed, but that is VerifyCaptured's business, not a usage error
  f.now = "1614265330";
  f.tolerance = "1h";
  f.scheme = "github";
  Result<VerifyOptions> o = ResolveVerifyFlags(f, 0);
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->now_ms, 1614265330000);
  EXPECT_EQ(o->tolerance_ms, 3'600'000);
  EXPECT_EQ(o->scheme, VerifyScheme::kGithub);
  f.now = "2021-02-25T15:02:10Z";
  EXPECT_EQ(ResolveVerifyFlags(f, 0)->now_ms, 1614265330000);
  f.scheme = "standard";
  EXPECT_EQ(ResolveVerifyFlags(f, 0)->scheme, VerifyScheme::kStandard);
}

TEST(VerifyFlagsTest, UsageErrors) {
  auto error = [](VerifyFlags f) {
    Result<VerifyOptions> o = ResolveVerifyFlags(f, 0);
    EXPECT_FALSE(o.has_value());
    return o ? "" : o.error().message;
  };
  VerifyFlags ok;
  ok.secret = std::string(kSecret);
  VerifyFlags f = ok;
  f.secret = "";
  EXPECT_THAT(error(f), AllOf(HasSubstr("--secret"), HasSubstr("HOOKD_VERIFY_SECRET")));
  f = ok;
  f.scheme = "svix";
  EXPECT_THAT(error(f), HasSubstr("--scheme"));
  f = ok;
  f.tolerance = "5 minutes";
  EXPECT_THAT(error(f), HasSubstr("--tolerance"));
  f = ok;
  f.now = "yesterday";
  EXPECT_THAT(error(f), HasSubstr("--now"));
  f = ok;
  f.now = "12.5";
  EXPECT_THAT(error(f), HasSubstr("--now"));
}

// --- the decision: Standard Webhooks ----------------------------------------------------

TEST(VerifyCommandTest, PublishedVectorIsValidInEveryForm) {
  EXPECT_EQ(VerifyCaptured(Parsed(Raw("\r\n")), Opts()).value_or("error"), kValidLine);
  EXPECT_EQ(VerifyCaptured(Parsed(Raw("\n")), Opts()).value_or("error"), kValidLine);
  CapturedRequest json = Parsed(
      R"({"headers":{"webhook-id":"msg_p5jXN8AQM9LWM0D4loKWxJek","webhook-timestamp":"1614265330",)"
      R"("webhook-signature":"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},)"
      R"("body":"{\"test\": 2432232314}"})");
  EXPECT_EQ(VerifyCaptured(json, Opts()).value_or("error"), kValidLine);

  const std::vector<std::string> flags = {
      "webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp: 1614265330",
      "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="};
  CapturedRequest from_flags{*ParseHeaderFlags(flags), std::string(kBody), "--header flags"};
  EXPECT_EQ(VerifyCaptured(from_flags, Opts()).value_or("error"), kValidLine);
  // Within the tolerance either way.
  EXPECT_TRUE(VerifyCaptured(from_flags, Opts(kTimestamp + 299)));
  EXPECT_TRUE(VerifyCaptured(from_flags, Opts(kTimestamp - 299)));
  EXPECT_TRUE(VerifyCaptured(from_flags, Opts(kTimestamp, kSecret, VerifyScheme::kStandard)));
}

TEST(VerifyCommandTest, RotationListAndSplitHeaderLines) {
  const std::string other = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_TRUE(
      VerifyCaptured(Parsed(Raw("\r\n", kBody, other + " " + std::string(kSignature))), Opts()));
  std::string raw = Raw("\n");
  raw.insert(raw.find("webhook-signature"), "webhook-signature: " + other + "\n");
  EXPECT_TRUE(VerifyCaptured(Parsed(raw), Opts()));
}

TEST(VerifyCommandTest, TamperedBody) {
  EXPECT_THAT(
      Invalid(Parsed(Raw("\r\n", R"({"test": 2432232315})")), Opts()),
      AllOf(StartsWith("no matching signature"), HasSubstr("20 bytes"), Not(HasSubstr("newline"))));
}

TEST(VerifyCommandTest, WrongSecret) {
  const std::string other = "whsec_" + Base64Encode(std::string(32, 'k'));
  EXPECT_THAT(Invalid(Parsed(Raw("\r\n")), Opts(kTimestamp, other)),
              AllOf(StartsWith("no matching signature"), HasSubstr("current secret")));
}

TEST(VerifyCommandTest, TrailingNewlineIsDiagnosed) {
  // `echo "$BODY" | hookd verify --header ...` adds a newline the sender never signed.
  EXPECT_THAT(Invalid(Parsed(Raw("\n", std::string(kBody) + "\n")), Opts()),
              AllOf(StartsWith("no matching signature"), HasSubstr("without the newline"),
                    HasSubstr("printf")));
}

TEST(VerifyCommandTest, ExpiredTimestampSaysByHowMuchAndThatTheSignatureIsGood) {
  const std::string msg = Invalid(Parsed(Raw("\r\n")), Opts(kTimestamp + 7200));
  EXPECT_THAT(msg, AllOf(StartsWith("webhook-timestamp is too old"), HasSubstr("7200 s"),
                         HasSubstr("2021-02-25T15:02:10Z"), HasSubstr("2h ago"),
                         HasSubstr("signature itself is valid"), HasSubstr("--now 1614265330")));
}

TEST(VerifyCommandTest, FutureTimestamp) {
  EXPECT_THAT(Invalid(Parsed(Raw("\r\n")), Opts(kTimestamp - 3600)),
              AllOf(StartsWith("webhook-timestamp is too new"), HasSubstr("3600 s"),
                    HasSubstr("1h ahead of now")));
}

TEST(VerifyCommandTest, ExpiredAndTamperedReportsBoth) {
  const std::string msg =
      Invalid(Parsed(Raw("\r\n", R"({"test": 1})")), Opts(kTimestamp + 86400 * 3));
  EXPECT_THAT(msg, AllOf(StartsWith("webhook-timestamp is too old"), HasSubstr("3d ago"),
                         HasSubstr("and no matching signature"),
                         Not(HasSubstr("signature itself is valid"))));
}

TEST(VerifyCommandTest, CustomTolerance) {
  VerifyOptions o = Opts(kTimestamp + 7200);
  o.tolerance_ms = 3 * 3'600'000;
  EXPECT_TRUE(VerifyCaptured(Parsed(Raw("\r\n")), o));
}

TEST(VerifyCommandTest, MissingHeadersAreNamed) {
  for (std::string_view name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    CapturedRequest req = Parsed(Raw("\r\n"));
    req.headers.erase(std::string(name));
    EXPECT_EQ(Invalid(req, Opts()), "missing " + std::string(name) + " header");
  }
}

TEST(VerifyCommandTest, MalformedSecretIsInvalidArgument) {
  for (std::string_view secret : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_AAAA"}) {
    Result<std::string> r = VerifyCaptured(Parsed(Raw("\r\n")), Opts(kTimestamp, secret));
    ASSERT_FALSE(r.has_value()) << secret;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(r.error().message, AllOf(StartsWith("malformed secret"), Not(HasSubstr(secret))));
  }
}

TEST(VerifyCommandTest, ConflictingRepeatedIdIsRefused) {
  std::string raw = Raw("\n");
  raw.insert(raw.find("WEBHOOK-TIMESTAMP"), "webhook-id: msg_other\n");
  Result<std::string> r = VerifyCaptured(Parsed(raw), Opts());
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("webhook-id header appears 2 times"));
}

// --- the decision: GitHub style ---------------------------------------------------------

std::string GithubRaw(std::string_view secret, std::string_view signed_body,
                      std::string_view sent_body) {
  return "POST /hook HTTP/1.1\r\nwebhook-id: evt_1\r\nwebhook-timestamp: 1614265330\r\n"
         "X-Hub-Signature-256: " +
         SignGithub(secret, signed_body) + "\r\n\r\n" + std::string(sent_body);
}

TEST(VerifyCommandTest, GithubSchemeIsDetectedAndChecked) {
  CapturedRequest req = Parsed(GithubRaw(kSecret, kBody, kBody));
  for (VerifyScheme scheme : {VerifyScheme::kAuto, VerifyScheme::kGithub}) {
    // No timestamp check in this scheme: a year later it still verifies.
    Result<std::string> r = VerifyCaptured(req, Opts(kTimestamp + 86400 * 365, kSecret, scheme));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_THAT(*r, AllOf(StartsWith("valid: signed by the given secret"),
                          HasSubstr("x-hub-signature-256"), HasSubstr("webhook-id evt_1")));
  }
  // Any string is a GitHub key; the whole "whsec_..." is used, so only the same string matches.
  EXPECT_THAT(Invalid(req, Opts(kTimestamp, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")),
              HasSubstr("x-hub-signature-256 does not match"));
  EXPECT_THAT(Invalid(Parsed(GithubRaw(kSecret, kBody, R"({"test": 0})")), Opts()),
              AllOf(StartsWith("x-hub-signature-256 does not match"), HasSubstr("current secret")));
  EXPECT_THAT(Invalid(Parsed(GithubRaw(kSecret, kBody, std::string(kBody) + "\r\n")), Opts()),
              HasSubstr("without the newline"));
}

TEST(VerifyCommandTest, WrongSchemePointsAtTheOther) {
  EXPECT_THAT(Invalid(Parsed(GithubRaw(kSecret, kBody, kBody)),
                      Opts(kTimestamp, kSecret, VerifyScheme::kStandard)),
              AllOf(StartsWith("missing webhook-signature header"), HasSubstr("--scheme github")));
  EXPECT_THAT(
      Invalid(Parsed(Raw("\r\n")), Opts(kTimestamp, kSecret, VerifyScheme::kGithub)),
      AllOf(StartsWith("missing x-hub-signature-256 header"), HasSubstr("--scheme standard")));
}

// Found by fuzz/verify_fuzz.cc (UBSan): a webhook-timestamp of 18 digits overflowed when the
// capture was checked "as of the moment it claims to have been sent" (seconds * 1000).
TEST(VerifyCommandTest, HugeTimestampIsReportedWithoutOverflow) {
  for (std::string_view ts : {"999999999999999999", "-999999999999999999", "9223372036854776"}) {
    CapturedRequest req = Parsed(Raw("\n"));
    req.headers["webhook-timestamp"] = {std::string(ts)};
    const std::string msg = Invalid(req, Opts());
    EXPECT_THAT(msg, AllOf(StartsWith("webhook-timestamp is too"), HasSubstr(ts),
                           HasSubstr("which is no time"), Not(HasSubstr("signature itself is valid"))))
        << ts;
  }
}

}  // namespace
}  // namespace hookd
