#pragma once
// JSON Schema validation (draft 7) of event data, on valijson with its Boost.JSON adapter.

#include <memory>
#include <vector>

#include <boost/json/value.hpp>

#include "core/error.h"

namespace hookd {

class SchemaValidator {
 public:
  // Compiles `schema`. kInvalidArgument (with a message naming the problem) when it is not
  // a usable JSON Schema. The result is immutable and safe to share between threads.
  static Result<SchemaValidator> Compile(const boost::json::value& schema);

  // Every violation of `instance`, each with an RFC 6901 pointer relative to the instance
  // root ("" for the root itself, "/employee/email", "/changes/0/field") and a readable
  // message. Empty means valid. Thread-safe; called on the ingest hot path.
  std::vector<FieldError> Validate(const boost::json::value& instance) const;

 private:
  struct Impl;
  explicit SchemaValidator(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace hookd
