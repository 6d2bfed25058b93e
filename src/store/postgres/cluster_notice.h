#pragma once
// What nodes sharing a PostgreSQL database tell each other: the payloads of
// `NOTIFY hookd` (channel kNoticeChannel). Every write another node must hear about sends its
// notice inside its own transaction (pg_notify is transactional: delivered only if the
// transaction commits, to every listener, in commit order) — so a notice never precedes its
// rows and is never lost to a crash between the commit and the announcement.
//
//   d <node> <word> …                  deliveries pending and due now (accepted), each word:
//        <shard>:<delivery id>                   one to read from the store, or
//        @<company id>:<event id>:<due ms>:<subject>:<payload>
//                                          (subject, payload: base64; the payload as stored,
//                                          so sealed under encryption at rest) — the event of
//                                          the words that follow, up to the next @ word:
//        <shard>:<delivery id>:<endpoint id>     one of that event's, sent without a read
//                                          (an ingest's, when the event word fits in
//                                          kMaxInlineEventBytes: the owner of the endpoint needs
//                                          no read-back of what another node accepted)
//   r <node> <shard>:<delivery id> …   the same, put back by a retry request
//   x <node> <shard>:<delivery id> …   deliveries canceled (their events erased): drop them
//   e <node> <company id> <endpoint id> an endpoint was created, changed, enabled, disabled, deleted
//   q <node> <company id> <endpoint id> failed deliveries of an endpoint re-queued (recover)
//   p <node> <company id> <endpoint id> a replay of the endpoint started (core/replay.h)
//   x <node> <company id> <endpoint id> the endpoint's running replay was canceled
//   t <node>                             a token was revoked
//   c <node>                             a custom event type was added
//
// A payload is at most kMaxNoticeBytes (PostgreSQL's limit is 8000): long lists of deliveries
// are split over several notices.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace hookd::pg {

inline constexpr const char* kNoticeChannel = "hookd";
inline constexpr size_t kMaxNoticeBytes = 7900;

// An event as a delivery notice carries it, so that the node that sends it needs no read.
// Subject and payload stay in base64 as the notice has them: every node parses every notice,
// and only the endpoint's owner decodes them.
struct NoticeEvent {
  CompanyId company;
  EventId id;
  int64_t due_ms = 0;     // the deliveries' next_attempt_at
  std::string subject64;
  std::string payload64;  // the payload as the events row holds it (sealed under encryption at rest)

  // The event to carry, or null when its @ word would pass kMaxInlineEventBytes (its deliveries
  // are then listed by id): the size is known before anything is encoded.
  static std::shared_ptr<const NoticeEvent> Carry(CompanyId company, EventId id, int64_t due_ms,
                                                  std::string_view subject, std::string_view payload);
  std::optional<std::string> Subject() const;  // nullopt: not base64
  std::optional<std::string> Payload() const;
};
inline constexpr size_t kMaxInlineEventBytes = 3000;  // an @ word longer than this is not sent

struct NoticeDelivery {
  int shard = 0;
  DeliveryId id;
  EndpointId endpoint;                       // with `event`
  std::shared_ptr<const NoticeEvent> event;  // null: the delivery is read from the store
};

struct Notice {
  enum class Kind : char {
    kReady = 'd',
    kRetry = 'r',
    kCanceled = 'x',
    kEndpoint = 'e',
    kRequeued = 'q',
    kTokens = 't',
    kEventTypes = 'c',
    kReplayStarted = 'p',
    kReplayCanceled = 'y',
  };
  Kind kind = Kind::kReady;
  std::string node;
  std::vector<NoticeDelivery> deliveries;  // kReady, kRetry, kCanceled
  CompanyId company;                       // kEndpoint, kRequeued, kReplayStarted, kReplayCanceled
  EndpointId endpoint;
};

// `kind` is kReady, kRetry or kCanceled; one payload per kMaxNoticeBytes. A delivery's event
// (kReady only) is written when its @ word is at most kMaxInlineEventBytes long, once for a run
// of deliveries that share it (again at the start of each payload); otherwise the delivery is
// listed by id alone.
std::vector<std::string> FormatDeliveryNotices(Notice::Kind kind, std::string_view node,
                                               const std::vector<NoticeDelivery>& deliveries);
std::string FormatEndpointNotice(Notice::Kind kind, std::string_view node, const CompanyId& company,
                                 const EndpointId& endpoint);
std::string FormatNotice(Notice::Kind kind, std::string_view node);  // kTokens, kEventTypes

// nullopt for anything malformed (a notice from another program on the same channel).
std::optional<Notice> ParseNotice(std::string_view payload);

// The same, for a node that needs only the deliveries of some shards: in a kReady or kRetry
// notice from another node than `self`, the words of deliveries whose shard `wanted` refuses
// are passed over unread, and an event word is decoded only when a wanted delivery of it
// follows (every node hears every notice; with N nodes, it wants about 1/N of them). The
// notice may then hold no deliveries. A notice from `self` is read whole: its node drops every
// delivery it kept in memory once the notice is read (PgCluster).
std::optional<Notice> ParseNotice(std::string_view payload, std::string_view self,
                                  const std::function<bool(int shard)>& wanted);

}  // namespace hookd::pg
