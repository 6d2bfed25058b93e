// The notices nodes on one PostgreSQL database send each other (store/postgres/cluster_notice.h).
#include "store/postgres/cluster_notice.h"

#include "core/crypto.h"

#include <gtest/gtest.h>

namespace hookd::pg {
namespace {

// The deliveries of several notices of one kind and node, each under the size limit, in order.
std::vector<NoticeDelivery> ParseAll(const std::vector<std::string>& notices, Notice::Kind kind) {
  std::vector<NoticeDelivery> out;
  for (const auto& n : notices) {
    EXPECT_LE(n.size(), kMaxNoticeBytes);
    auto parsed = ParseNotice(n);
    EXPECT_TRUE(parsed) << n.substr(0, 200);
    if (!parsed) continue;
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_EQ(parsed->node, "01JNODE");
    for (auto& d : parsed->deliveries) out.push_back(std::move(d));
  }
  return out;
}

TEST(ClusterNotice, DeliveriesRoundTripAndLongListsAreSplitUnderTheLimit) {
  std::vector<NoticeDelivery> ds;
  for (int i = 0; i < 1000; ++i) ds.push_back({i % 256, DeliveryId::New()});
  auto notices = FormatDeliveryNotices(Notice::Kind::kReady, "01JNODE", ds);
  ASSERT_GT(notices.size(), 1u);
  auto got = ParseAll(notices, Notice::Kind::kReady);
  ASSERT_EQ(got.size(), ds.size());
  for (size_t k = 0; k < ds.size(); ++k) {
    EXPECT_EQ(got[k].shard, ds[k].shard);
    EXPECT_EQ(got[k].id, ds[k].id);
  }
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

namespace hookd::pg {
namespace {

// An ingest's notice carries its small events whole, so that the node owning the endpoint
// sends the delivery without reading it back; a large one is listed by id alone.
TEST(ClusterNotice, ReadyDeliveriesCarryTheirSmallEventsWholeAcrossSplits) {
  auto event = [](std::string subject, std::string payload) {
    return NoticeEvent::Carry(CompanyId::New(), EventId::New(), 1'700'000'000'123, subject, payload);
  };
  // Subjects and payloads with what a word may not hold: spaces, colons, '@', bytes that are
  // not text (a sealed payload).
  auto small = event("emp 42:@x", std::string("{\"a\": \"b c\"}\0\xff", 14));
  auto big = std::make_shared<const NoticeEvent>(  // as if from a node that carries more
      NoticeEvent{CompanyId::New(), EventId::New(), 0, "ZW1wLTc=", std::string(kMaxInlineEventBytes, 'x')});
  ASSERT_TRUE(small);
  EXPECT_FALSE(event("emp-7", std::string(kMaxInlineEventBytes, 'x')));  // not carried at all
  std::vector<NoticeDelivery> ds;
  for (int i = 0; i < 300; ++i) ds.push_back({i % 256, DeliveryId::New(), EndpointId::New(), i % 3 == 2 ? big : small});
  ds.push_back({5, DeliveryId::New(), {}, nullptr});  // read from the store
  auto notices = FormatDeliveryNotices(Notice::Kind::kReady, "01JNODE", ds);
  ASSERT_GT(notices.size(), 1u);
  auto got = ParseAll(notices, Notice::Kind::kReady);
  ASSERT_EQ(got.size(), ds.size());
  for (size_t k = 0; k < ds.size(); ++k) {
    const NoticeDelivery& d = got[k];
    const NoticeDelivery& want = ds[k];
    EXPECT_EQ(d.shard, want.shard);
    EXPECT_EQ(d.id, want.id);
    if (want.event == small) {
      ASSERT_TRUE(d.event) << k;
      EXPECT_EQ(d.endpoint, want.endpoint);
      EXPECT_EQ(d.event->company, small->company);
      EXPECT_EQ(d.event->id, small->id);
      EXPECT_EQ(d.event->due_ms, small->due_ms);
      EXPECT_EQ(d.event->Subject(), "emp 42:@x");
      EXPECT_EQ(d.event->Payload(), std::string("{\"a\": \"b c\"}\0\xff", 14));
    } else {
      EXPECT_FALSE(d.event) << k;  // too large to carry, or never carried
    }
  }
  // Only ready notices carry events.
  for (const auto& n : FormatDeliveryNotices(Notice::Kind::kRetry, "n", {ds[0]})) {
    EXPECT_EQ(n.find('@'), std::string::npos) << n;
    EXPECT_FALSE(ParseNotice(n)->deliveries[0].event);
  }
}

// NoticeEvent::Carry knows the @ word's size before encoding: carried up to the limit, exactly.
TEST(ClusterNotice, AnEventIsCarriedUpToTheWordLimitExactly) {
  const CompanyId c = CompanyId::New();
  const EventId e = EventId::New();
  std::shared_ptr<const NoticeEvent> largest;
  for (size_t n = 0; n < kMaxInlineEventBytes; n += 3) {  // payloads of whole base64 quads
    auto ev = NoticeEvent::Carry(c, e, 1'700'000'000'123, "emp_1", std::string(n, 'x'));
    if (!ev) break;
    largest = std::move(ev);
  }
  ASSERT_TRUE(largest);
  auto notices = FormatDeliveryNotices(Notice::Kind::kReady, "01JNODE",
                                       {{1, DeliveryId::New(), EndpointId::New(), largest}});
  ASSERT_EQ(notices.size(), 1u);
  const size_t at = notices[0].find(" @");
  ASSERT_NE(at, std::string::npos);  // carried
  const size_t word = notices[0].find(' ', at + 1) - at;
  EXPECT_LE(word, kMaxInlineEventBytes);
  EXPECT_GT(word + 4, kMaxInlineEventBytes);  // one more quad would not fit: Carry said so
  ASSERT_TRUE(ParseNotice(notices[0])->deliveries[0].event);
}

TEST(ClusterNotice, MalformedCarriedEventsAreIgnored) {
  const std::string c = CompanyId::New().str(), e = EventId::New().str(), d = DeliveryId::New().str(),
                    ep = EndpointId::New().str();
  const std::string ev = "@" + c + ":" + e + ":12:" + Base64Encode("s") + ":" + Base64Encode("{}");
  ASSERT_TRUE(ParseNotice("d n1 " + ev + " 3:" + d + ":" + ep));
  for (std::string bad : std::vector<std::string>{
           "d n1 3:" + d + ":" + ep,                                        // no event before it
           "d n1 " + ev,                                                    // an event, no delivery
           "r n1 " + ev + " 3:" + d + ":" + ep,                             // a retry carries none
           "d n1 @" + c + ":" + e + ":12:" + Base64Encode("s") + " 3:" + d + ":" + ep,  // 4 fields
           "d n1 @" + c + ":" + e + ":-1:" + Base64Encode("s") + ":e30= 3:" + d + ":" + ep,
           "d n1 @" + c + ":" + e + ":12:!!:e30= 3:" + d + ":" + ep,       // not base64
           "d n1 @" + e + ":" + c + ":12:cw==:e30= 3:" + d + ":" + ep,     // ids swapped
           "d n1 " + ev + " 3:" + d + ":" + c,                              // not an endpoint id
           "d n1 " + ev + " 3:" + d + ":" + ep + ":x"})
    EXPECT_FALSE(ParseNotice(bad)) << bad;
}

// A node reads only the deliveries of its own shards from another node's notices, and decodes
// an event only for them; its own notices it reads whole (it drops what it kept in memory).
TEST(ClusterNotice, ANodeReadsOnlyTheDeliveriesOfItsShardsFromAnotherNodesNotice) {
  auto ev = [](const char* subject) {
    return NoticeEvent::Carry(CompanyId::New(), EventId::New(), 1'700'000'000'123, subject, "{}");
  };
  auto a = ev("emp_a"), b = ev("emp_b");
  const std::vector<NoticeDelivery> ds = {{1, DeliveryId::New(), EndpointId::New(), a},
                                          {2, DeliveryId::New(), EndpointId::New(), a},
                                          {3, DeliveryId::New(), EndpointId::New(), b},
                                          {2, DeliveryId::New(), {}, nullptr}};
  const auto notices = FormatDeliveryNotices(Notice::Kind::kReady, "01JOTHER", ds);
  ASSERT_EQ(notices.size(), 1u);
  auto shard_two = [](int shard) { return shard == 2; };
  auto got = ParseNotice(notices[0], "01JME", shard_two);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->deliveries.size(), 2u);
  EXPECT_EQ(got->deliveries[0].id, ds[1].id);
  ASSERT_TRUE(got->deliveries[0].event);  // event a, decoded for it
  EXPECT_EQ(got->deliveries[0].event->Subject(), "emp_a");
  EXPECT_EQ(got->deliveries[0].endpoint, ds[1].endpoint);
  EXPECT_EQ(got->deliveries[1].id, ds[3].id);
  EXPECT_FALSE(got->deliveries[1].event);
  // None of this node's: a notice with nothing in it, not a malformed one.
  auto none = ParseNotice(notices[0], "01JME", [](int) { return false; });
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->deliveries.empty());
  // Its own notice, and cancellations: whole, whatever the shards.
  EXPECT_EQ(ParseNotice(notices[0], "01JOTHER", shard_two)->deliveries.size(), 4u);
  const auto canceled = FormatDeliveryNotices(Notice::Kind::kCanceled, "01JOTHER", ds);
  EXPECT_EQ(ParseNotice(canceled[0], "01JME", shard_two)->deliveries.size(), 4u);
  // A malformed event word is found when a wanted delivery needs it, not otherwise.
  const std::string d = DeliveryId::New().str(), ep = EndpointId::New().str();
  const std::string bad = "d 01JOTHER @" + CompanyId::New().str() + ":" + EventId::New().str() + ":12:!!:e30= ";
  EXPECT_FALSE(ParseNotice(bad + "2:" + d + ":" + ep, "01JME", shard_two));
  EXPECT_TRUE(ParseNotice(bad + "5:" + d + ":" + ep, "01JME", shard_two));
  // A delivery word must still start with a shard.
  EXPECT_FALSE(ParseNotice("d 01JOTHER x:" + d, "01JME", shard_two));
  EXPECT_FALSE(ParseNotice("d 01JOTHER 5" + d, "01JME", shard_two));
}

}  // namespace
}  // namespace hookd::pg
