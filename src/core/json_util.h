#pragma once
// Small Boost.JSON helpers shared by the API and the store.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/error.h"

namespace hookd {

// Parses a request body. kInvalidArgument with the parser's reason when malformed (no
// fields), or with one FieldError (pointer to the number) when a number would not survive
// as written — non-finite (1e400) or with more precision than a double keeps (a 30-digit
// integer): hookd never changes what a publisher sent inside a signed payload.
Result<boost::json::value> ParseJson(std::string_view text);
std::string ToJson(const boost::json::value& v);

// RFC 6901: escapes one reference token ("a/b" -> "a~1b").
std::string EscapePointerToken(std::string_view token);
// The value at `pointer` ("" is the root) or nullptr.
const boost::json::value* ResolvePointer(const boost::json::value& root, std::string_view pointer);

// Name of a JSON value's kind for error messages: "string", "number", "object", ...
std::string_view JsonKindName(const boost::json::value& v);

}  // namespace hookd
