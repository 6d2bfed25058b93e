#pragma once
// RFC 9457 problem+json errors. Handlers throw ApiError (the only exceptions in hookd:
// at the handler boundary); the router turns them into application/problem+json.

#include <exception>
#include <string>
#include <vector>

#include "api/http.h"
#include "core/error.h"

namespace hookd::api {

struct ApiError : std::exception {
  ApiError(int status, std::string detail, std::vector<FieldError> errors = {})
      : status(status), detail(std::move(detail)), errors(std::move(errors)) {}
  const char* what() const noexcept override { return detail.c_str(); }

  int status;
  std::string detail;
  std::vector<FieldError> errors;
};

// HTTP status for an error code: kInvalidArgument 422, kNotFound 404, kAlreadyExists and
// kConflict 409, kUnauthenticated 401, kPermissionDenied 403, kPayloadTooLarge 413,
// kUnavailable 503, kInternal 500.
int StatusFor(ErrorCode code);
// Throws ApiError built from `e` (with `pointer_prefix` put before each field pointer).
[[noreturn]] void Throw(const Error& e, std::string_view pointer_prefix = "");

// Unwraps a Result or throws its error as an ApiError.
template <class T>
T Unwrap(Result<T> r) {
  if (!r) Throw(r.error());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

HttpResponse Problem(int status, std::string_view detail, const std::vector<FieldError>& errors = {});
HttpResponse Problem(const ApiError& e);

}  // namespace hookd::api
