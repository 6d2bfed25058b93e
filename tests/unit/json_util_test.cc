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
