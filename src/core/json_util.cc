#include "core/json_util.h"

#include <boost/json.hpp>

namespace hookd {

Result<boost::json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 64;
  boost::json::value v = boost::json::parse(text, ec, {}, opt);
  if (ec) return MakeError(ErrorCode::kInvalidArgument, "malformed JSON: " + ec.message());
  return v;
}

std::string ToJson(const boost::json::value& v) { return boost::json::serialize(v); }

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

const boost::json::value* ResolvePointer(const boost::json::value& root, std::string_view pointer) {
  if (pointer.empty()) return &root;
  boost::system::error_code ec;
  const boost::json::value* v = root.find_pointer(pointer, ec);
  return ec ? nullptr : v;
}

std::string_view JsonKindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return "number";
    case boost::json::kind::string: return "string";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
  }
  return "value";
}

}  // namespace hookd
