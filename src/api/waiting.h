#pragma once
// The `waiting` member of the API's delivery objects (core/delivery_wait.h): why each
// unfinished delivery waits, from the store (ordering, due time, the endpoint's status) and, for
// the deliveries this node dispatches, the dispatcher's live state (in flight, concurrency,
// rate limit). One store read per endpoint of the page, one for the ordering of the page's
// pending deliveries and one question to the dispatchers — none for a page of finished ones.

#include <vector>

#include <boost/json/value.hpp>

#include "api/context.h"

namespace hookd::api {

// One value per delivery, in order: null for a finished one, else DeliveryWaitToJson. Store
// errors throw (ApiError), as the listing's own would.
std::vector<boost::json::value> WaitingOf(ApiContext& ctx, const CompanyId& company, const std::vector<Delivery>& ds);

}  // namespace hookd::api
