#pragma once
// An OutboundClient that sends nothing: the requests the dispatcher starts wait here until the
// test answers them (a status, an error, a Retry-After); Poll() hands the answers back at once
// and never blocks. The contract of dispatch/outbound_client.h holds: a request comes back
// exactly once, from a later Poll().

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dispatch/outbound_client.h"

namespace hookd::testing {

class FakeOutboundClient final : public OutboundClient {
 public:
  void Start(OutboundRequest req) override {
    ++started_;
    sent_.push_back(req);
    open_.push_back(std::move(req));
  }
  std::vector<OutboundResult> Poll(int) override { return std::exchange(answered_, {}); }
  void Wakeup() override {}
  size_t InFlight() const override { return open_.size() + answered_.size(); }

  // ---- the test's side
  // Requests started and not answered yet, oldest first.
  const std::vector<OutboundRequest>& Open() const { return open_; }
  // Every request ever started, in order.
  const std::vector<OutboundRequest>& Sent() const { return sent_; }
  size_t Started() const { return started_; }

  struct Answer {
    int status = 200;
    std::optional<AttemptError> error;  // set: no response (status 0)
    std::string retry_after;
  };
  static Answer Status(int status, std::string retry_after = "") {
    Answer a;
    a.status = status;
    a.retry_after = std::move(retry_after);
    if (status < 200 || status > 299) a.error = AttemptError::kHttp;
    return a;
  }
  static Answer Error(AttemptError e) {
    Answer a;
    a.status = 0;
    a.error = e;
    return a;
  }

  // Answers the open requests `pick` selects (all by default); returns how many.
  size_t AnswerAll(const Answer& a, const std::function<bool(const OutboundRequest&)>& pick = {}) {
    size_t n = 0;
    for (auto it = open_.begin(); it != open_.end();) {
      if (pick && !pick(*it)) {
        ++it;
        continue;
      }
      answered_.push_back(Result(*it, a));
      it = open_.erase(it);
      ++n;
    }
    return n;
  }
  // Answers the oldest open request.
  void AnswerOldest(const Answer& a) {
    if (open_.empty()) throw std::logic_error("no open request");
    answered_.push_back(Result(open_.front(), a));
    open_.erase(open_.begin());
  }

  // The value of header `name` ("webhook-id", …) of `req`; "" when absent.
  static std::string Header(const OutboundRequest& req, std::string_view name) {
    for (const auto& h : req.headers) {
      if (h.size() > name.size() + 1 && h.compare(0, name.size(), name) == 0 && h[name.size()] == ':')
        return h.substr(name.size() + 2);
    }
    return "";
  }

 private:
  static OutboundResult Result(const OutboundRequest& req, const Answer& a) {
    OutboundResult r;
    r.tag = req.tag;
    r.status_code = a.error && *a.error != AttemptError::kHttp ? 0 : a.status;
    r.error = a.error;
    r.retry_after = a.retry_after;
    r.response_headers_json = "{}";
    return r;
  }
  std::vector<OutboundRequest> open_;
  std::vector<OutboundResult> answered_;
  std::vector<OutboundRequest> sent_;
  size_t started_ = 0;
};

}  // namespace hookd::testing
