#include <charconv>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/json_util.h"

namespace hookd {
namespace {

TEST(JsonUtil, NumbersKeepTheirPlainShortestForm) {
  auto v = boost::json::parse(
      R"({"lat":40.4468,"days":0.5,"n":5,"big":18446744073709551615,"neg":-3,"x":2.0,"tiny":1e-7,"s":"a\"b\u00e9","a":[1.25,true,null]})");
  EXPECT_EQ(ToJson(v),
            R"({"lat":40.4468,"days":0.5,"n":5,"big":18446744073709551615,"neg":-3,"x":2.0,"tiny":1e-07,"s":"a\"bé","a":[1.25,true,null]})");
  // And it parses back to the same value.
  EXPECT_EQ(boost::json::parse(ToJson(v)), v);
}

}  // namespace
}  // namespace hookd

#include "core/clock.h"

namespace hookd {
namespace {

TEST(ClockParse, StrictIntAcceptsOnlyPlainDigits) {
  EXPECT_EQ(ParseStrictInt("1614265330"), 1614265330);
  EXPECT_EQ(ParseStrictInt("-42"), -42);
  EXPECT_EQ(ParseStrictInt("0"), 0);
  for (const char* bad : {"", "-", "+5", " 5", "5 ", "1.5", "0x10", "1234567890123456789"})
    EXPECT_FALSE(ParseStrictInt(bad)) << bad;
}

}  // namespace
}  // namespace hookd

namespace hookd {
namespace {

TEST(ParseJson, BuildsTheSameValueAsBoost) {
  const char* text =
      R"({"lat":40.4468,"days":0.5,"n":5,"big":18446744073709551615,"neg":-3,"x":2.0,"e":1.5e300,)"
      R"("tiny":1e-7,"s":"a\"b\u00e9","a":[1.25,true,null,{"k":[]}],"z":-0.0,"round":1e20,"zeros":0.000})";
  auto v = ParseJson(text);
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(*v, boost::json::parse(text));
}

TEST(ParseJson, MalformedJsonHasNoFieldErrors) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1} x", "nul", "\"\\x\""}) {
    auto v = ParseJson(bad);
    ASSERT_FALSE(v.has_value()) << bad;
    EXPECT_TRUE(v.error().message.starts_with("malformed JSON: ")) << v.error().message;
    EXPECT_TRUE(v.error().fields.empty()) << bad;
  }
}

// Issue 10: 1e400 became null and 30-digit integers lost digits inside a signed payload.
TEST(ParseJson, NumbersThatWouldNotSurviveAreRefusedWithTheirPointer) {
  auto inf = ParseJson(R"({"data":{"salary":{"amount":1e400}}})");
  ASSERT_FALSE(inf.has_value());
  ASSERT_EQ(inf.error().fields.size(), 1u);
  EXPECT_EQ(inf.error().fields[0].pointer, "/data/salary/amount");
  EXPECT_NE(inf.error().fields[0].message.find("1e400 is out of range"), std::string::npos)
      << inf.error().fields[0].message;

  auto big = ParseJson(R"({"a":[1,2,{"b/c":[0,123456789012345678901234567890]}]})");
  ASSERT_FALSE(big.has_value());
  ASSERT_EQ(big.error().fields.size(), 1u);
  EXPECT_EQ(big.error().fields[0].pointer, "/a/2/b~1c/1");
  EXPECT_NE(big.error().fields[0].message.find("more digits than can be kept"), std::string::npos);

  for (const char* lossy : {"-1e400", "0.12345678901234567890", "18446744073709551617", "[1e-400]"}) {
    auto v = ParseJson(lossy);
    ASSERT_FALSE(v.has_value()) << lossy;
    EXPECT_EQ(v.error().fields.size(), 1u) << lossy;
  }
  // Kept exactly (as a value): these pass.
  for (const char* fine : {"1e20", "100000000000000000000", "0.1", "123.4500", "-0", "5e-324",
                           "1.7976931348623157e308", "18446744073709551616", "-9223372036854775808"}) {
    EXPECT_TRUE(ParseJson(fine).has_value()) << fine;
  }
}

}  // namespace
}  // namespace hookd

#include "store/store.h"

namespace hookd {
namespace {

TEST(RedactStoreUrl, PasswordsNeverSurvive) {
  EXPECT_EQ(RedactStoreUrl("postgres://hookd:s3cret@db.internal:5432/hookd"), "postgres://hookd:***@db.internal:5432/hookd");
  EXPECT_EQ(RedactStoreUrl("postgresql://hookd:p@ss:w@rd@db/h?sslmode=require"), "postgresql://hookd:***@db/h?sslmode=require");
  EXPECT_EQ(RedactStoreUrl("postgres://db/h?user=hookd&password=s3cret&sslmode=require"),
            "postgres://db/h?user=hookd&password=***&sslmode=require");
  EXPECT_EQ(RedactStoreUrl("host=db user=hookd password='s3 cret' dbname=h"), "host=db user=hookd password=*** dbname=h");
  EXPECT_EQ(RedactStoreUrl("postgres://hookd@db/h"), "postgres://hookd@db/h");
  EXPECT_EQ(RedactStoreUrl("sqlite:./data/hookd.db"), "sqlite:./data/hookd.db");
}

// Found by fuzz/json_schema_fuzz.cc (ToJson(ParseJson(x)) must parse again): Boost 1.81's
// number conversion is not always the nearest double; "4611685e33" came out one ulp off and
// went to receivers as 4.6116849999999995e+39, which is not what the publisher signed.
TEST(ParseJson, NumbersAreTheNearestDoubleAndGoOutAsWritten) {
  for (std::string_view text : {"4611685e33", "-4611685e33", "9.109383701528e-31", "1.7976931348623157e308",
                                "5e-324", "0.30000000000000004", "123456789e-300"}) {
    auto v = ParseJson(text);
    ASSERT_TRUE(v.has_value()) << text << ": " << v.error().message;
    ASSERT_TRUE(v->is_double()) << text;
    double nearest = 0;
    std::from_chars(text.data(), text.data() + text.size(), nearest);
    EXPECT_EQ(v->get_double(), nearest) << text;
    const std::string out = ToJson(*v);
    auto again = ParseJson(out);
    ASSERT_TRUE(again.has_value()) << text << " -> " << out << ": " << again.error().message;
    EXPECT_EQ(*again, *v) << text << " -> " << out;
  }
  EXPECT_EQ(ToJson(*ParseJson("4611685e33")), "4.611685e+39");
}

// Deep nesting is a limit, not malformed JSON: a 422 naming the limit (with a field at the
// root), and exactly kMaxJsonDepth levels still parse.
TEST(ParseJson, NestingDeeperThanTheLimitIsAValidationError) {
  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(ParseJson(nested(kMaxJsonDepth)).has_value());
  for (int depth : {kMaxJsonDepth + 1, 100000}) {
    auto v = ParseJson(nested(depth));
    ASSERT_FALSE(v.has_value());
    EXPECT_EQ(v.error().message, "JSON nested more than 64 levels deep");
    ASSERT_EQ(v.error().fields.size(), 1u);
    EXPECT_EQ(v.error().fields[0].pointer, "");
  }
}

}  // namespace
}  // namespace hookd
