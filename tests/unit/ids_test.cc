#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace hookd {
namespace {

TEST(UlidTest, PackAndUnpackRoundTrip) {
  for (std::string u : {std::string("00000000000000000000000000"), std::string("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"),
                        std::string("01ARZ3NDEKTSV4RRFFQ69G5FAV")}) {
    EXPECT_EQ(UnpackUlid(PackUlid(u)), u);
  }
  std::set<std::pair<uint64_t, uint64_t>> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUlid();
    PackedUlid p = PackUlid(u);
    EXPECT_EQ(UnpackUlid(p), u);
    EXPECT_TRUE(seen.insert({p.hi, p.lo}).second) << "two ULIDs packed alike: " << u;
  }
  // 26 characters of 5 bits = 130 bits; the top two are zero for a valid ULID.
  EXPECT_EQ(PackUlid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ").hi, ~uint64_t{0});
  EXPECT_EQ(PackUlid("00000000000000000000000001").lo, 1u);
}

TEST(UlidTest, OnlyCrockfordUppercaseIsAUlid) {
  EXPECT_TRUE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_FALSE(IsUlid("01arz3ndektsv4rrffq69g5fav"));  // lower case is not what hookd makes
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAI"));  // I, L, O, U are not in the alphabet
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAU"));
  EXPECT_FALSE(IsUlid("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  // over 2^128
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FA"));   // 25 characters
  EXPECT_EQ(UlidTimeMs("01ARZ3NDEKTSV4RRFFQ69G5FAV"), 1469922850259);  // the first 10 characters
}

}  // namespace
}  // namespace hookd
