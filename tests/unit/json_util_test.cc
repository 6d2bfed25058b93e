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
