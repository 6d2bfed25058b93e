#pragma once
// Turning API input into durable events: validation against the catalog, the §3 payload,
// fan-out to the matching endpoints (from the in-memory index), and the group-committed
// write. Used by events.cc (publish) and endpoints.cc (send test event).

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "api/context.h"

namespace hookd::api {

// Validates one event as published ({type, data, subject?, occurred_at?}) and builds it with
// its deliveries. Field errors have pointers relative to that event object. On success
// `input`'s data has been moved into the event (no copy on the hot path).
Result<NewEvent> PrepareEvent(ApiContext& ctx, const CompanyId& company, boost::json::value& input,
                              int64_t now_ms);

// Builds an event of a known type without validation (internal events like webhook.test);
// `only` restricts the fan-out to one endpoint.
NewEvent BuildEvent(ApiContext& ctx, const CompanyId& company, std::string type,
                    boost::json::value data, std::string subject,
                    std::optional<int64_t> occurred_at_ms, int64_t now_ms,
                    const std::optional<EndpointId>& only = std::nullopt);

// The 202 body of one accepted event: {id, type, created_at, deliveries}.
boost::json::object AcceptedJson(const NewEvent& e);

// Writes `req` durably, tells the dispatcher, then responds `status` with `body`
// (or the original response with 200 on an idempotent replay; problem+json on error).
void CommitAndRespond(ApiContext& ctx, IngestRequest req, int status, std::string body,
                      Responder respond);

}  // namespace hookd::api
