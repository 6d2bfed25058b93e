#include "store/postgres/cluster_notice.h"

#include <charconv>

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

}  // namespace

std::vector<std::string> FormatDeliveryNotices(Notice::Kind kind, std::string_view node,
                                               const std::vector<NoticeDelivery>& deliveries) {
  std::vector<std::string> out;
  const std::string head = Head(kind, node);
  std::string cur = head;
  for (const auto& d : deliveries) {
    std::string item = " " + std::to_string(d.shard) + ":" + d.id.str();
    if (cur.size() + item.size() > kMaxNoticeBytes && cur.size() > head.size()) {
      out.push_back(std::move(cur));
      cur = head;
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

std::optional<Notice> ParseNotice(std::string_view payload) {
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
    case Notice::Kind::kCanceled:
      for (std::string_view w = Word(rest); !w.empty(); w = Word(rest)) {
        const size_t colon = w.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        int shard = -1;
        auto [p, ec] = std::from_chars(w.data(), w.data() + colon, shard);
        if (ec != std::errc() || p != w.data() + colon || shard < 0) return std::nullopt;
        auto id = DeliveryId::Parse(w.substr(colon + 1));
        if (!id) return std::nullopt;
        n.deliveries.push_back({shard, std::move(*id)});
      }
      if (n.deliveries.empty()) return std::nullopt;
      break;
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
