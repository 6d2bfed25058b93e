#include "store/postgres/cluster_notice.h"

#include <charconv>

#include "core/crypto.h"

namespace hookd::pg {

namespace {

std::string Head(Notice::Kind kind, std::string_view node) {
  std::string s(1, static_cast<char>(kind));
  s += ' ';
  s += node;
  return s;
}

// The next space-separated word of `rest` (advanced past it); "" at the end.
std::string_view Word(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const size_t n = std::min(rest.find(' '), rest.size());
  std::string_view w = rest.substr(0, n);
  rest.remove_prefix(n);
  return w;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

// "<company id>:<event id>:<due ms>:<subject base64>:<payload base64>" (after the '@').
std::shared_ptr<const NoticeEvent> ParseEventWord(std::string_view w) {
  std::vector<std::string_view> parts = Split(w, ':');
  if (parts.size() != 5) return nullptr;
  auto company = CompanyId::Parse(parts[0]);
  auto id = EventId::Parse(parts[1]);
  int64_t due = -1;
  auto [p, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), due);
  if (!company || !id || ec != std::errc() || p != parts[2].data() + parts[2].size() || due < 0 ||
      !Base64Shaped(parts[3]) || !Base64Shaped(parts[4]))  // decoded only by the node that needs it
    return nullptr;
  return std::make_shared<const NoticeEvent>(
      NoticeEvent{std::move(*company), std::move(*id), due, std::string(parts[3]), std::string(parts[4])});
}

}  // namespace

std::shared_ptr<const NoticeEvent> NoticeEvent::Carry(CompanyId company, EventId id, int64_t due_ms,
                                                      std::string_view subject, std::string_view payload) {
  auto b64 = [](size_t n) { return (n + 2) / 3 * 4; };
  const size_t word = 6 + company.str().size() + id.str().size() + std::to_string(due_ms).size() +
                      b64(subject.size()) + b64(payload.size());  // " @" and three ':' — as formatted
  if (word > kMaxInlineEventBytes) return nullptr;
  return std::make_shared<const NoticeEvent>(
      NoticeEvent{std::move(company), std::move(id), due_ms, Base64Encode(subject), Base64Encode(payload)});
}

std::optional<std::string> NoticeEvent::Subject() const { return Base64Decode(subject64); }
std::optional<std::string> NoticeEvent::Payload() const { return Base64Decode(payload64); }

std::vector<std::string> FormatDeliveryNotices(Notice::Kind kind, std::string_view node,
                                               const std::vector<NoticeDelivery>& deliveries) {
  std::vector<std::string> out;
  const std::string head = Head(kind, node);
  std::string cur = head;
  const NoticeEvent* cur_event = nullptr;  // the event of `cur`'s last @ word
  const NoticeEvent* word_of = nullptr;    // the event `event_word` was made for
  std::string event_word;                  // "" when too long to send
  for (const auto& d : deliveries) {
    const NoticeEvent* ev = kind == Notice::Kind::kReady ? d.event.get() : nullptr;
    if (ev && ev != word_of) {
      word_of = ev;
      event_word = " @" + ev->company.str() + ":" + ev->id.str() + ":" + std::to_string(ev->due_ms) + ":" +
                   ev->subject64 + ":" + ev->payload64;
      if (event_word.size() > kMaxInlineEventBytes) event_word.clear();
    }
    if (ev && event_word.empty()) ev = nullptr;  // by id alone
    std::string item = " " + std::to_string(d.shard) + ":" + d.id.str();
    if (ev) item += ":" + d.endpoint.str();
    const bool needs_event = ev && ev != cur_event;
    const size_t adding = item.size() + (needs_event ? event_word.size() : 0);
    if (cur.size() + adding > kMaxNoticeBytes && cur.size() > head.size()) {
      out.push_back(std::move(cur));
      cur = head;
      cur_event = nullptr;
    }
    if (ev && ev != cur_event) {
      cur += event_word;
      cur_event = ev;
    }
    cur += item;
  }
  if (cur.size() > head.size()) out.push_back(std::move(cur));
  return out;
}

std::string FormatEndpointNotice(Notice::Kind kind, std::string_view node, const CompanyId& company,
                                 const EndpointId& endpoint) {
  return Head(kind, node) + " " + company.str() + " " + endpoint.str();
}

std::string FormatNotice(Notice::Kind kind, std::string_view node) { return Head(kind, node); }

std::optional<Notice> ParseNotice(std::string_view payload) { return ParseNotice(payload, {}, nullptr); }

std::optional<Notice> ParseNotice(std::string_view payload, std::string_view self,
                                  const std::function<bool(int shard)>& wanted) {
  if (payload.size() < 3 || payload[1] != ' ') return std::nullopt;
  Notice n;
  switch (payload[0]) {
    case 'd': n.kind = Notice::Kind::kReady; break;
    case 'r': n.kind = Notice::Kind::kRetry; break;
    case 'x': n.kind = Notice::Kind::kCanceled; break;
    case 'e': n.kind = Notice::Kind::kEndpoint; break;
    case 'q': n.kind = Notice::Kind::kRequeued; break;
    case 't': n.kind = Notice::Kind::kTokens; break;
    case 'c': n.kind = Notice::Kind::kEventTypes; break;
    case 'p': n.kind = Notice::Kind::kReplayStarted; break;
    case 'y': n.kind = Notice::Kind::kReplayCanceled; break;
    default: return std::nullopt;
  }
  std::string_view rest = payload.substr(2);
  n.node = std::string(Word(rest));
  if (n.node.empty()) return std::nullopt;
  switch (n.kind) {
    case Notice::Kind::kReady:
    case Notice::Kind::kRetry:
    case Notice::Kind::kCanceled: {
      const bool filtered = wanted && n.kind != Notice::Kind::kCanceled && n.node != self;
      bool passed_over = false;
      std::shared_ptr<const NoticeEvent> event;  // of the last @ word
      std::string_view event_word;               // the last @ word, while not decoded yet
      for (std::string_view w = Word(rest); !w.empty(); w = Word(rest)) {
        if (w.front() == '@') {
          if (n.kind != Notice::Kind::kReady) return std::nullopt;
          event = nullptr;
          event_word = w.substr(1);
          if (!filtered && !(event = ParseEventWord(event_word))) return std::nullopt;
          continue;
        }
        const size_t colon = w.find(':');
        int shard = -1;
        auto [p, ec] = std::from_chars(w.data(), w.data() + std::min(colon, w.size()), shard);
        if (ec != std::errc() || colon == std::string_view::npos || p != w.data() + colon || shard < 0)
          return std::nullopt;
        if (filtered && !wanted(shard)) {  // another node's: not read further
          passed_over = true;
          continue;
        }
        std::vector<std::string_view> parts = Split(w, ':');
        if (parts.size() != 2 && parts.size() != 3) return std::nullopt;
        if (parts.size() == 3 && !event && !event_word.empty() && !(event = ParseEventWord(event_word)))
          return std::nullopt;
        auto id = DeliveryId::Parse(parts[1]);
        if (!id) return std::nullopt;
        NoticeDelivery d{shard, std::move(*id), {}, nullptr};
        if (parts.size() == 3) {  // one of the current event's
          auto endpoint = EndpointId::Parse(parts[2]);
          if (!event || !endpoint) return std::nullopt;
          d.endpoint = std::move(*endpoint);
          d.event = event;
        }
        n.deliveries.push_back(std::move(d));
      }
      if (n.deliveries.empty() && !passed_over) return std::nullopt;
      break;
    }
    case Notice::Kind::kEndpoint:
    case Notice::Kind::kRequeued:
    case Notice::Kind::kReplayStarted:
    case Notice::Kind::kReplayCanceled: {
      auto company = CompanyId::Parse(Word(rest));
      auto endpoint = EndpointId::Parse(Word(rest));
      if (!company || !endpoint) return std::nullopt;
      n.company = std::move(*company);
      n.endpoint = std::move(*endpoint);
      break;
    }
    case Notice::Kind::kTokens:
    case Notice::Kind::kEventTypes:
      break;
  }
  if (!Word(rest).empty()) return std::nullopt;
  return n;
}

}  // namespace hookd::pg
