// The notices nodes on one PostgreSQL database send each other (store/postgres/cluster_notice.h).
#include "store/postgres/cluster_notice.h"

#include <gtest/gtest.h>

namespace hookd::pg {
namespace {

TEST(ClusterNotice, DeliveriesRoundTripAndLongListsAreSplitUnderTheLimit) {
  std::vector<NoticeDelivery> ds;
  for (int i = 0; i < 1000; ++i) ds.push_back({i % 256, DeliveryId::New()});
  auto notices = FormatDeliveryNotices(Notice::Kind::kReady, "01JNODE", ds);
  ASSERT_GT(notices.size(), 1u);
  size_t k = 0;
  for (const auto& n : notices) {
    EXPECT_LE(n.size(), kMaxNoticeBytes);
    auto parsed = ParseNotice(n);
    ASSERT_TRUE(parsed) << n;
    EXPECT_EQ(parsed->kind, Notice::Kind::kReady);
    EXPECT_EQ(parsed->node, "01JNODE");
    for (const auto& d : parsed->deliveries) {
      ASSERT_LT(k, ds.size());
      EXPECT_EQ(d.shard, ds[k].shard);
      EXPECT_EQ(d.id, ds[k].id);
      ++k;
    }
  }
  EXPECT_EQ(k, ds.size());
  EXPECT_TRUE(FormatDeliveryNotices(Notice::Kind::kRetry, "n", {}).empty());
}

TEST(ClusterNotice, EndpointTokenAndTypeNoticesRoundTrip) {
  const CompanyId c = CompanyId::New();
  const EndpointId e = EndpointId::New();
  auto parsed = ParseNotice(FormatEndpointNotice(Notice::Kind::kRequeued, "n1", c, e));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, Notice::Kind::kRequeued);
  EXPECT_EQ(parsed->company, c);
  EXPECT_EQ(parsed->endpoint, e);
  auto t = ParseNotice(FormatNotice(Notice::Kind::kTokens, "n2"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, Notice::Kind::kTokens);
  EXPECT_EQ(t->node, "n2");
}

TEST(ClusterNotice, ReplayNoticesRoundTrip) {
  const CompanyId c = CompanyId::New();
  const EndpointId e = EndpointId::New();
  for (auto kind : {Notice::Kind::kReplayStarted, Notice::Kind::kReplayCanceled}) {
    auto parsed = ParseNotice(FormatEndpointNotice(kind, "n1", c, e));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_EQ(parsed->node, "n1");
    EXPECT_EQ(parsed->company, c);
    EXPECT_EQ(parsed->endpoint, e);
  }
  EXPECT_FALSE(ParseNotice("p n1 " + c.str()));
  EXPECT_FALSE(ParseNotice("y n1 " + e.str() + " " + c.str()));
}

TEST(ClusterNotice, AnythingElseOnTheChannelIsIgnored) {
  const std::string ok_id = DeliveryId::New().str();
  for (std::string bad : std::vector<std::string>{"", "d", "d ", "x n1", "d n1", "d n1 12", "d n1 -1:" + ok_id, "d n1 1:evt_x",
                          "d n1 a:" + ok_id, "e n1 cmp_bad ep_bad", "t n1 extra", "hello world"})
    EXPECT_FALSE(ParseNotice(bad)) << bad;
}

}  // namespace
}  // namespace hookd::pg

namespace hookd::pg {
namespace {

// Issue 13: deliveries canceled by an erasure reach every node (each drops what it holds).
TEST(ClusterNotice, CanceledDeliveriesRoundTrip) {
  const DeliveryId id = DeliveryId::New();
  auto notices = FormatDeliveryNotices(Notice::Kind::kCanceled, "01JNODE", {{17, id}});
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].substr(0, 2), "x ");
  auto parsed = ParseNotice(notices[0]);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, Notice::Kind::kCanceled);
  ASSERT_EQ(parsed->deliveries.size(), 1u);
  EXPECT_EQ(parsed->deliveries[0].shard, 17);
  EXPECT_EQ(parsed->deliveries[0].id, id);
  EXPECT_FALSE(ParseNotice("x 01JNODE"));  // no deliveries
}

}  // namespace
}  // namespace hookd::pg
