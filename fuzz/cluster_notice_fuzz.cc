// What arrives on the `hookd` LISTEN channel (store/postgres/cluster_notice.h): any session
// on the database may NOTIFY it, so a node must take whatever comes without crashing. A notice
// that parses must format back to itself (a delivery list into one payload when it fits),
// events carried with their deliveries included; read by a node that wants some shards only,
// it must give exactly those shards' deliveries.

#include "fuzz/fuzz_util.h"
#include "store/postgres/cluster_notice.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hookd::pg::Notice;
  const std::string_view payload = hookd::fuzz::AsView(data, size);
  const auto n = hookd::pg::ParseNotice(payload);
  // Read as a node that holds the odd shards: never crashes; of a notice that parses whole,
  // it keeps exactly the odd shards' deliveries (of another node's ready or retry notice).
  const auto odd = hookd::pg::ParseNotice(payload, "fuzz-self", [](int shard) { return shard % 2 == 1; });
  if (!n) return 0;
  HOOKD_FUZZ_CHECK(odd.has_value(), "a notice that parses whole does not parse filtered");
  if ((n->kind == Notice::Kind::kReady || n->kind == Notice::Kind::kRetry) && n->node != "fuzz-self") {
    size_t k = 0;
    for (const auto& d : n->deliveries) {
      if (d.shard % 2 == 0) continue;
      HOOKD_FUZZ_CHECK(k < odd->deliveries.size() && odd->deliveries[k].id == d.id &&
                           (odd->deliveries[k].event != nullptr) == (d.event != nullptr),
                       "the filtered parse lost or changed a wanted delivery");
      ++k;
    }
    HOOKD_FUZZ_CHECK(k == odd->deliveries.size(), "the filtered parse kept an unwanted delivery");
  } else {
    HOOKD_FUZZ_CHECK(odd->deliveries.size() == n->deliveries.size(), "a whole notice was filtered");
  }
  HOOKD_FUZZ_CHECK(!n->node.empty(), "a notice without a node");
  std::string again;
  switch (n->kind) {
    case Notice::Kind::kReady:
    case Notice::Kind::kRetry:
    case Notice::Kind::kCanceled: {
      HOOKD_FUZZ_CHECK(!n->deliveries.empty(), "a delivery notice without deliveries");
      for (const auto& d : n->deliveries) HOOKD_FUZZ_CHECK(d.shard >= 0, "a negative shard");
      const auto out = hookd::pg::FormatDeliveryNotices(n->kind, n->node, n->deliveries);
      HOOKD_FUZZ_CHECK(!out.empty(), "deliveries formatted to nothing");
      for (const auto& o : out) HOOKD_FUZZ_CHECK(hookd::pg::ParseNotice(o), "a formatted notice does not parse");
      if (out.size() == 1) again = out[0];
      break;
    }
    case Notice::Kind::kEndpoint:
    case Notice::Kind::kRequeued:
    case Notice::Kind::kReplayStarted:
    case Notice::Kind::kReplayCanceled:
      again = hookd::pg::FormatEndpointNotice(n->kind, n->node, n->company, n->endpoint);
      break;
    case Notice::Kind::kTokens:
    case Notice::Kind::kEventTypes:
      again = hookd::pg::FormatNotice(n->kind, n->node);
      break;
  }
  if (!again.empty()) {
    const auto back = hookd::pg::ParseNotice(again);
    HOOKD_FUZZ_CHECK(back && back->kind == n->kind && back->node == n->node &&
                         back->deliveries.size() == n->deliveries.size(),
                     "format(parse(x)) does not parse back to the same notice");
    for (size_t i = 0; i < n->deliveries.size(); ++i) {
      const auto& a = n->deliveries[i];
      const auto& b = back->deliveries[i];
      HOOKD_FUZZ_CHECK(a.id == b.id && a.shard == b.shard, "a delivery changed in format(parse(x))");
      if (!a.event || !b.event) continue;  // an event too long to carry again is listed by id
      (void)a.event->Subject();  // decoding what parsed must not crash either
      (void)a.event->Payload();
      HOOKD_FUZZ_CHECK(a.endpoint == b.endpoint && a.event->id == b.event->id &&
                           a.event->company == b.event->company && a.event->due_ms == b.event->due_ms &&
                           a.event->subject64 == b.event->subject64 && a.event->payload64 == b.event->payload64,
                       "a carried event changed in format(parse(x))");
    }
  }
  return 0;
}
