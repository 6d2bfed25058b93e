// Encryption at rest: AES-256-GCM sealing of stored fields (core/field_cipher.h).
#include "core/field_cipher.h"

#include <gtest/gtest.h>

#include "core/crypto.h"

namespace hookd {
namespace {

std::shared_ptr<const FieldCipher> Keys(const std::string& text) {
  auto c = FieldCipher::FromKeyText(text);
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : nullptr;
}

TEST(FieldCipher, SealedBytesAndTextOpenToThePlainValueAndHideIt) {
  const std::string k1 = FieldCipher::NewKeyLine();
  auto c = Keys(k1 + "\n");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->enabled());
  EXPECT_EQ(c->primary_id().size(), 16u);
  const std::string plain = std::string(R"({"email":"ana.garcia@example.com","salary":52000})") + std::string("\0\xff", 2);
  std::string sealed = c->SealBytes(plain, "events.payload:evt_1");
  EXPECT_EQ(sealed.find("ana.garcia"), std::string::npos);
  EXPECT_EQ(sealed.size(), plain.size() + 5 + 8 + 12 + 16);
  EXPECT_EQ(FieldCipher::KeyIdOf(sealed), c->primary_id());
  EXPECT_TRUE(c->IsCurrent(sealed));
  auto opened = c->OpenBytes(sealed, "events.payload:evt_1");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plain);
  // Two seals of one value differ (a fresh nonce each time).
  EXPECT_NE(c->SealBytes(plain, "events.payload:evt_1"), sealed);

  std::string text = c->SealText("whsec_c2VjcmV0", "endpoints.secret:ep_1");
  EXPECT_TRUE(text.starts_with("hke1:"));
  EXPECT_EQ(text.find("whsec_"), std::string::npos);
  for (char ch : text) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "text form must be printable ASCII";
  EXPECT_EQ(FieldCipher::KeyIdOf(text), c->primary_id());
  auto t = c->OpenText(text, "endpoints.secret:ep_1");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, "whsec_c2VjcmV0");
  // The empty value stays empty (an unset previous secret).
  EXPECT_EQ(c->SealText("", "x"), "");
  EXPECT_EQ(c->SealBytes("", "x"), "");
}

TEST(FieldCipher, AValueMovedToAnotherRowOrChangedDoesNotOpen) {
  auto c = Keys(FieldCipher::NewKeyLine());
  std::string sealed = c->SealBytes("salary 52000", "events.payload:evt_A");
  auto moved = c->OpenBytes(sealed, "events.payload:evt_B");
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, ErrorCode::kInternal);
  EXPECT_NE(moved.error().message.find("evt_B"), std::string::npos) << moved.error().message;
  for (size_t i : {size_t{14}, size_t{30}, sealed.size() - 1}) {
    std::string flipped = sealed;
    flipped[i] ^= 1;
    EXPECT_FALSE(c->OpenBytes(flipped, "events.payload:evt_A")) << "byte " << i;
  }
  EXPECT_FALSE(c->OpenBytes(sealed.substr(0, 20), "events.payload:evt_A"));  // truncated
  EXPECT_FALSE(c->OpenText("hke1:!!!not base64", "x"));
}

TEST(FieldCipher, OtherKeysOpenOnlyTheirOwnValuesAndRekeyingIsVisible) {
  const std::string a = FieldCipher::NewKeyLine(), b = FieldCipher::NewKeyLine();
  auto old_only = Keys(a);
  auto rotated = Keys("# new key first\n" + b + "\n" + a + "\n");
  auto new_only = Keys(b);
  ASSERT_EQ(rotated->key_ids().size(), 2u);
  EXPECT_EQ(rotated->primary_id(), new_only->primary_id());
  EXPECT_TRUE(rotated->HasKey(old_only->primary_id()));

  std::string under_a = old_only->SealBytes("x", "r");
  auto opened = rotated->OpenBytes(under_a, "r");
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, "x");
  EXPECT_FALSE(rotated->IsCurrent(under_a));  // rekey rewrites it
  EXPECT_TRUE(rotated->IsCurrent(rotated->SealBytes("x", "r")));
  EXPECT_FALSE(rotated->IsCurrent("plain, written before encryption"));

  auto refused = new_only->OpenBytes(under_a, "r");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find(old_only->primary_id()), std::string::npos) << refused.error().message;
  // Without any key, a sealed value is an error, never the sealed bytes as if they were plain.
  FieldCipher none;
  EXPECT_FALSE(none.OpenBytes(under_a, "r"));
  EXPECT_FALSE(none.OpenText(old_only->SealText("x", "r"), "r"));
  EXPECT_TRUE(none.IsCurrent("plain"));
  EXPECT_FALSE(none.IsCurrent(under_a));
}

// Without a key, values are stored as they are — except those that could be taken for a
// sealed value (a receiver may answer anything): they are escaped and come back unchanged.
TEST(FieldCipher, PlainValuesThatLookSealedComeBackUnchanged) {
  FieldCipher none;
  auto keyed = Keys(FieldCipher::NewKeyLine());
  for (std::string v : {std::string("{\"a\":1}"), std::string("\xffHKE\x01 forged", 12), std::string("\xffHKP x", 6),
                        std::string("\xffHK", 3)}) {
    std::string stored = none.SealBytes(v, "r");
    auto back = none.OpenBytes(stored, "r");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, v);
    auto with_key = keyed->OpenBytes(stored, "r");  // a plain row read once a key is configured
    ASSERT_TRUE(with_key);
    EXPECT_EQ(*with_key, v);
  }
  for (std::string v : {"hke1:forged", "hkp1:x", "content-type: x", "whsec_abc"}) {
    std::string stored = none.SealText(v, "r");
    auto back = none.OpenText(stored, "r");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, v);
  }
}

TEST(FieldCipher, KeyTextIsValidatedLineByLine) {
  const std::string k = FieldCipher::NewKeyLine();
  EXPECT_TRUE(FieldCipher::FromKeyText("\n  " + k + "  \r\n\n# comment\n"));
  auto two = FieldCipher::FromKeyText(k + "," + FieldCipher::NewKeyLine());  // HOOKD_ENCRYPTION_KEY form
  ASSERT_TRUE(two);
  EXPECT_EQ((*two)->key_ids().size(), 2u);
  auto empty = FieldCipher::FromKeyText("# nothing\n\n");
  ASSERT_FALSE(empty);
  auto short_key = FieldCipher::FromKeyText(k + "\n" + Base64Encode("sixteen bytes!!!") + "\n");
  ASSERT_FALSE(short_key);
  EXPECT_NE(short_key.error().message.find("line 2"), std::string::npos) << short_key.error().message;
  EXPECT_FALSE(FieldCipher::FromKeyText("not base64 at all"));
  auto twice = FieldCipher::FromKeyText(k + "\n" + k);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("twice"), std::string::npos);
  // The key itself never appears in an error.
  EXPECT_EQ(short_key.error().message.find(k), std::string::npos);
}

}  // namespace
}  // namespace hookd
