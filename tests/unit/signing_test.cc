#include "core/signing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/crypto.h"

namespace hookd {
namespace {

// The published Standard Webhooks test vector.
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTimestamp = 1614265330;
constexpr std::string_view kTimestampText = "1614265330";
constexpr std::string_view kBody = R"({"test": 2432232314})";
constexpr std::string_view kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr int64_t kNowMs = kTimestamp * 1000;

std::string SecretOfBytes(size_t n) { return "whsec_" + Base64Encode(std::string(n, 'k')); }

// --- secrets ---------------------------------------------------------------------------

// RFC 4231 test cases 1, 2 and 6 (a key longer than SHA-256's 64-byte block is hashed first).
TEST(HmacSha256Test, MatchesRfc4231) {
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(HmacSha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Exactly one block: used as it is, not hashed.
  EXPECT_EQ(HexEncode(HmacSha256(std::string(64, 'k'), "m")),
            "3b7a8d453e76edb519238a515105a57508d0f169f480ebeee120a9e7803289fa");
}

// Exactly base64's 65 characters, in whole quads: every other byte value is refused.
TEST(Base64Test, OnlyTheAlphabetInWholeQuadsDecodes) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  EXPECT_TRUE(Base64Shaped(alphabet));
  EXPECT_EQ(Base64Encode(*Base64Decode(alphabet)), alphabet);
  EXPECT_TRUE(Base64Shaped("") && Base64Shaped("ab==") && Base64Decode("ab=="));
  EXPECT_FALSE(Base64Shaped("abc") || Base64Decode("abc"));  // not a whole quad
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    if (alphabet.find(c) != std::string::npos || c == '=') continue;
    const std::string s = std::string("ab") + c + "=";
    EXPECT_FALSE(Base64Shaped(s)) << b;
    EXPECT_FALSE(Base64Decode(s)) << b;
  }
}

TEST(DecodeSigningSecretTest, DecodesPublishedSecret) {
  Result<std::string> key = DecodeSigningSecret(kSecret);
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(*key, *Base64Decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
}

TEST(DecodeSigningSecretTest, AcceptsBoundsOfKeyLength) {
  EXPECT_TRUE(DecodeSigningSecret(SecretOfBytes(24)).has_value());
  EXPECT_TRUE(DecodeSigningSecret(SecretOfBytes(32)).has_value());
  EXPECT_TRUE(DecodeSigningSecret(SecretOfBytes(64)).has_value());
}

TEST(DecodeSigningSecretTest, RefusesKeyTooShortOrTooLong) {
  Result<std::string> short_key = DecodeSigningSecret(SecretOfBytes(23));
  ASSERT_FALSE(short_key.has_value());
  EXPECT_EQ(short_key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_key.error().message, "signing secret must decode to 24-64 bytes, not 23");

  Result<std::string> long_key = DecodeSigningSecret(SecretOfBytes(65));
  ASSERT_FALSE(long_key.has_value());
  EXPECT_EQ(long_key.error().message, "signing secret must decode to 24-64 bytes, not 65");
}

TEST(DecodeSigningSecretTest, RefusesMissingPrefix) {
  Result<std::string> r = DecodeSigningSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("whsec_"), std::string::npos);
  EXPECT_FALSE(DecodeSigningSecret("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());
  EXPECT_FALSE(DecodeSigningSecret("").has_value());
}

TEST(DecodeSigningSecretTest, RefusesBadBase64WithoutEchoingSecret) {
  Result<std::string> r = DecodeSigningSecret("whsec_not*base64*at*all*but*long*enough!!");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("base64"), std::string::npos);
  EXPECT_EQ(r.error().message.find("not*base64"), std::string::npos);
  EXPECT_FALSE(DecodeSigningSecret("whsec_").has_value());
}

// --- signing ---------------------------------------------------------------------------

TEST(SignStandardTest, MatchesPublishedVector) {
  EXPECT_EQ(SignStandard(kSecret, kMsgId, kTimestamp, kBody), kExpected);
}

TEST(SignStandardTest, EveryInputChangesTheSignature) {
  EXPECT_NE(SignStandard(kSecret, "msg_other", kTimestamp, kBody), kExpected);
  EXPECT_NE(SignStandard(kSecret, kMsgId, kTimestamp + 1, kBody), kExpected);
  EXPECT_NE(SignStandard(kSecret, kMsgId, kTimestamp, R"({"test": 2432232315})"), kExpected);
  EXPECT_NE(SignStandard(SecretOfBytes(24), kMsgId, kTimestamp, kBody), kExpected);
}

TEST(SignStandardTest, MalformedSecretGivesEmptySignature) {
  EXPECT_EQ(SignStandard("nope", kMsgId, kTimestamp, kBody), "");
  EXPECT_EQ(SignStandard(SecretOfBytes(10), kMsgId, kTimestamp, kBody), "");
}

TEST(SignStandardTest, ShapeIsV1CommaBase64Of32Bytes) {
  std::string sig = SignStandard(SecretOfBytes(32), "evt_1", 1764151200, "{}");
  ASSERT_TRUE(sig.starts_with("v1,"));
  std::optional<std::string> raw = Base64Decode(sig.substr(3));
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 32u);
}

TEST(StandardSignatureHeaderTest, SingleSecretIsJustTheSignature) {
  std::vector<std::string> secrets{std::string(kSecret)};
  EXPECT_EQ(StandardSignatureHeader(secrets, kMsgId, kTimestamp, kBody), kExpected);
}

TEST(StandardSignatureHeaderTest, RotationListsEverySecretInOrder) {
  const std::string other = SecretOfBytes(32);
  std::vector<std::string> secrets{other, std::string(kSecret)};
  const std::string header = StandardSignatureHeader(secrets, kMsgId, kTimestamp, kBody);
  EXPECT_EQ(header, SignStandard(other, kMsgId, kTimestamp, kBody) + " " + std::string(kExpected));
}

TEST(StandardSignatureHeaderTest, SkipsMalformedSecrets) {
  std::vector<std::string> secrets{"garbage", std::string(kSecret), ""};
  EXPECT_EQ(StandardSignatureHeader(secrets, kMsgId, kTimestamp, kBody), kExpected);
  std::vector<std::string> none{"garbage"};
  EXPECT_EQ(StandardSignatureHeader(none, kMsgId, kTimestamp, kBody), "");
  EXPECT_EQ(StandardSignatureHeader({}, kMsgId, kTimestamp, kBody), "");
}

TEST(SignGithubTest, MatchesGithubDocumentedExample) {
  EXPECT_EQ(SignGithub("It's a Secret to Everybody", "Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(SignGithubTest, KeyIsTheWholeSecretIncludingPrefix) {
  // Not the decoded key: the "whsec_..." text itself.
  const std::string whole = SignGithub(kSecret, kBody);
  EXPECT_EQ(whole, "sha256=" + HexEncode(HmacSha256(kSecret, kBody)));
  EXPECT_NE(whole, "sha256=" + HexEncode(HmacSha256(*DecodeSigningSecret(kSecret), kBody)));
}

// --- VerifyStandard --------------------------------------------------------------------

StandardWebhookHeaders Headers(std::string_view signature) {
  return StandardWebhookHeaders{kMsgId, kTimestampText, signature};
}

TEST(VerifyStandardTest, AcceptsPublishedVector) {
  Result<void> r = VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs);
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST(VerifyStandardTest, RefusesTamperedBody) {
  Result<void> r = VerifyStandard(kSecret, Headers(kExpected), R"({"test": 2432232315})", kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message, "no matching signature in webhook-signature header");
}

TEST(VerifyStandardTest, RefusesTamperedTimestamp) {
  StandardWebhookHeaders h{kMsgId, "1614265331", kExpected};
  Result<void> r = VerifyStandard(kSecret, h, kBody, kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "no matching signature in webhook-signature header");
}

TEST(VerifyStandardTest, RefusesTamperedId) {
  StandardWebhookHeaders h{"msg_p5jXN8AQM9LWM0D4loKWxJeK", kTimestampText, kExpected};
  EXPECT_FALSE(VerifyStandard(kSecret, h, kBody, kNowMs).has_value());
}

TEST(VerifyStandardTest, RefusesWrongSecret) {
  Result<void> r = VerifyStandard(SecretOfBytes(32), Headers(kExpected), kBody, kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
}

TEST(VerifyStandardTest, MalformedSecretIsInvalidArgument) {
  Result<void> r = VerifyStandard("whsec_short", Headers(kExpected), kBody, kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(VerifyStandardTest, RotationListVerifiesWithEitherSecret) {
  const std::string old_secret = SecretOfBytes(32);
  const std::string new_secret = "whsec_" + Base64Encode(std::string(48, 'n'));
  std::vector<std::string> secrets{new_secret, old_secret};
  const std::string header = StandardSignatureHeader(secrets, kMsgId, kTimestamp, kBody);
  ASSERT_NE(header.find(' '), std::string::npos);
  EXPECT_TRUE(VerifyStandard(old_secret, Headers(header), kBody, kNowMs).has_value());
  EXPECT_TRUE(VerifyStandard(new_secret, Headers(header), kBody, kNowMs).has_value());
  EXPECT_FALSE(VerifyStandard(kSecret, Headers(header), kBody, kNowMs).has_value());
}

TEST(VerifyStandardTest, IgnoresOtherVersionsAndExtraSpaces) {
  const std::string header = "v1a,AAAA  v2,BBBB " + std::string(kExpected) + " ";
  EXPECT_TRUE(VerifyStandard(kSecret, Headers(header), kBody, kNowMs).has_value());
}

TEST(VerifyStandardTest, SignatureWithoutV1EntryIsReported) {
  // The right digest under another version label is not accepted.
  const std::string header = "v1a," + std::string(kExpected.substr(3));
  Result<void> r = VerifyStandard(kSecret, Headers(header), kBody, kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "webhook-signature header has no \"v1,\" signature");
}

TEST(VerifyStandardTest, BareBase64WithoutPrefixDoesNotMatch) {
  Result<void> r = VerifyStandard(kSecret, Headers(kExpected.substr(3)), kBody, kNowMs);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "webhook-signature header has no \"v1,\" signature");
}

TEST(VerifyStandardTest, MissingHeadersAreNamed) {
  Result<void> no_id = VerifyStandard(kSecret, {"", kTimestampText, kExpected}, kBody, kNowMs);
  ASSERT_FALSE(no_id.has_value());
  EXPECT_EQ(no_id.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(no_id.error().message, "missing webhook-id header");

  Result<void> no_ts = VerifyStandard(kSecret, {kMsgId, "", kExpected}, kBody, kNowMs);
  ASSERT_FALSE(no_ts.has_value());
  EXPECT_EQ(no_ts.error().message, "missing webhook-timestamp header");

  Result<void> no_sig = VerifyStandard(kSecret, {kMsgId, kTimestampText, ""}, kBody, kNowMs);
  ASSERT_FALSE(no_sig.has_value());
  EXPECT_EQ(no_sig.error().message, "missing webhook-signature header");
}

TEST(VerifyStandardTest, BadTimestampIsReported) {
  for (std::string_view ts :
       {"abc", "1614265330.5", " 1614265330", "+1614265330", "16142653301614265330", "-"}) {
    Result<void> r = VerifyStandard(kSecret, {kMsgId, ts, kExpected}, kBody, kNowMs);
    ASSERT_FALSE(r.has_value()) << ts;
    EXPECT_EQ(r.error().message, "invalid webhook-timestamp header: expected integer unix seconds")
        << ts;
  }
}

TEST(VerifyStandardTest, TimestampToleranceIsFiveMinutesEitherWay) {
  // Exactly at the edge: accepted.
  EXPECT_TRUE(VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs + 300'000).has_value());
  EXPECT_TRUE(VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs - 300'000).has_value());

  Result<void> old = VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs + 301'000);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(old.error().message,
            "webhook-timestamp is too old (301 s before now, tolerance 300 s)");

  Result<void> young = VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs - 301'000);
  ASSERT_FALSE(young.has_value());
  EXPECT_EQ(young.error().message,
            "webhook-timestamp is too new (301 s after now, tolerance 300 s)");
}

TEST(VerifyStandardTest, CustomTolerance) {
  EXPECT_FALSE(
      VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs + 61'000, 60'000).has_value());
  EXPECT_TRUE(VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs + 3'600'000, 3'600'000)
                  .has_value());
}

TEST(VerifyStandardTest, TimestampCheckedBeforeSignature) {
  // A replayed message with a valid signature but stale timestamp says "too old".
  Result<void> r = VerifyStandard(kSecret, Headers(kExpected), kBody, kNowMs + 86'400'000);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().message.starts_with("webhook-timestamp is too old")) << r.error().message;
}

// --- VerifyGithub ----------------------------------------------------------------------

constexpr std::string_view kGhSecret = "It's a Secret to Everybody";
constexpr std::string_view kGhSig =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST(VerifyGithubTest, AcceptsDocumentedExample) {
  Result<void> r = VerifyGithub(kGhSecret, kGhSig, "Hello, World!");
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST(VerifyGithubTest, AcceptsUpperCaseHex) {
  EXPECT_TRUE(
      VerifyGithub(kGhSecret,
                   "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
                   "Hello, World!")
          .has_value());
}

TEST(VerifyGithubTest, RefusesTamperedBodyOrSecret) {
  Result<void> body = VerifyGithub(kGhSecret, kGhSig, "Hello, World?");
  ASSERT_FALSE(body.has_value());
  EXPECT_EQ(body.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(body.error().message, "x-hub-signature-256 does not match");
  EXPECT_FALSE(VerifyGithub("It's a secret to everybody", kGhSig, "Hello, World!").has_value());
}

TEST(VerifyGithubTest, RefusesMissingOrMalformedHeader) {
  Result<void> missing = VerifyGithub(kGhSecret, "", "Hello, World!");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message, "missing x-hub-signature-256 header");

  for (std::string_view bad :
       {"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "sha256=757107ea",
        "sha256="}) {
    Result<void> r = VerifyGithub(kGhSecret, bad, "Hello, World!");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().message, "x-hub-signature-256 header must be \"sha256=<64 hex digits>\"");
  }
}

}  // namespace
}  // namespace hookd
