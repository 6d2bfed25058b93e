#include "api/problem.h"
#include "core/json_util.h"

#include <boost/json.hpp>

namespace hookd::api {
namespace json = boost::json;

namespace {

std::string_view TitleFor(int status) {
  switch (status) {
    case 400: return "Malformed request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 412: return "Precondition failed";
    case 413: return "Payload too large";
    case 415: return "Unsupported media type";
    case 422: return "Validation failed";
    case 429: return "Too many requests";
    case 503: return "Service unavailable";
    default: return status >= 500 ? "Internal error" : "Request failed";
  }
}

std::string_view TypeFor(int status) {
  switch (status) {
    case 400: return "https://hookd.dev/problems/malformed-request";
    case 401: return "https://hookd.dev/problems/unauthorized";
    case 403: return "https://hookd.dev/problems/forbidden";
    case 404: return "https://hookd.dev/problems/not-found";
    case 405: return "https://hookd.dev/problems/method-not-allowed";
    case 409: return "https://hookd.dev/problems/conflict";
    case 412: return "https://hookd.dev/problems/precondition-failed";
    case 413: return "https://hookd.dev/problems/payload-too-large";
    case 415: return "https://hookd.dev/problems/unsupported-media-type";
    case 422: return "https://hookd.dev/problems/validation";
    case 503: return "https://hookd.dev/problems/unavailable";
    default: return "about:blank";
  }
}

}  // namespace

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

void Throw(const Error& e, std::string_view prefix) {
  std::vector<FieldError> fields;
  fields.reserve(e.fields.size());
  for (const auto& f : e.fields) fields.push_back({std::string(prefix) + f.pointer, f.message});
  // Internal details (SQL text) are not for clients.
  std::string detail = e.code == ErrorCode::kInternal ? "internal error" : e.message;
  throw ApiError(StatusFor(e.code), std::move(detail), std::move(fields));
}

HttpResponse Problem(int status, std::string_view detail, const std::vector<FieldError>& errors) {
  json::object o;
  o["type"] = TypeFor(status);
  o["title"] = TitleFor(status);
  o["status"] = status;
  o["detail"] = detail;
  if (!errors.empty()) {
    json::array arr;
    for (const auto& e : errors) arr.push_back(json::object{{"pointer", e.pointer}, {"message", e.message}});
    o["errors"] = std::move(arr);
  }
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = ToJson(o);
  if (status == 401) r.headers.emplace_back("www-authenticate", "Bearer realm=\"hookd\"");
  return r;
}

HttpResponse Problem(const ApiError& e) { return Problem(e.status, e.detail, e.errors); }

}  // namespace hookd::api
