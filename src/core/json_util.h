#pragma once
// Small Boost.JSON helpers shared by the API and the store.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"

namespace hookd {

// Arrays and objects nest at most this deep (the stack of every recursive walk over a value
// — filters, schemas, serialisation — stays bounded).
inline constexpr int kMaxJsonDepth = 64;

// Parses a request body. kInvalidArgument with the parser's reason when malformed (no
// fields), or with one FieldError (pointer to the number) when a number would not survive
// as written — non-finite (1e400) or with more precision than a double keeps (a 30-digit
// integer): hookd never changes what a publisher sent inside a signed payload — or with one
// FieldError at "" (the root) when nested deeper than kMaxJsonDepth. Stored JSON is read back
// with it too, so what the API took always reads back.
Result<boost::json::value> ParseJson(std::string_view text);
// Serialises with numbers in their shortest round-trip form ("40.4468", not Boost 1.81's
// "4.04468E1"): every JSON hookd writes (payloads, API responses) goes through these.
std::string ToJson(const boost::json::value& v);
std::string ToJson(const boost::json::object& o);
std::string ToJson(const boost::json::array& a);

// RFC 6901: escapes one reference token ("a/b" -> "a~1b").
std::string EscapePointerToken(std::string_view token);
// The value at `pointer` ("" is the root) or nullptr.
const boost::json::value* ResolvePointer(const boost::json::value& root, std::string_view pointer);

// Name of a JSON value's kind for error messages: "string", "number", "object", ...
std::string_view JsonKindName(const boost::json::value& v);

}  // namespace hookd
