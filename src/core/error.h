#pragma once
// Errors as values. Every fallible function on the data path returns Result<T>;
// exceptions are used only at the HTTP handler boundary (see api/problem.h).

#include <string>
#include <utility>
#include <vector>

#include "core/expected_compat.h"

namespace hookd {

enum class ErrorCode {
  kInvalidArgument,   // the caller sent something wrong; retrying the same input cannot help
  kNotFound,          // no such resource (or it belongs to another company)
  kAlreadyExists,     // a unique name or key is taken
  kConflict,          // the request contradicts stored state (e.g. idempotency key reused)
  kUnauthenticated,   // no or unknown credential
  kPermissionDenied,  // credential lacks the scope
  kPayloadTooLarge,   // body or batch over a limit
  kUnavailable,       // transient (busy store, I/O); retrying with backoff may help
  kInternal,          // a bug or corrupted state
};

// One bad field of a request: `pointer` is an RFC 6901 JSON pointer into the request body.
struct FieldError {
  std::string pointer;
  std::string message;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> fields;  // set for validation errors

  // True when retrying the same operation later may succeed.
  bool Retryable() const { return code == ErrorCode::kUnavailable; }
};

template <class T>
using Result = Expected<T, Error>;

inline Unexpected<Error> MakeError(ErrorCode code, std::string message,
                                        std::vector<FieldError> fields = {}) {
  return Unexpected(Error{code, std::move(message), std::move(fields)});
}

inline Unexpected<Error> InvalidField(std::string pointer, std::string message) {
  std::string summary = message;
  return MakeError(ErrorCode::kInvalidArgument, std::move(summary),
                   {FieldError{std::move(pointer), std::move(message)}});
}

}  // namespace hookd
