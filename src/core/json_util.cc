#include "core/json_util.h"

#include <charconv>
#include <cmath>

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

namespace {

// Boost.JSON 1.81 prints doubles as "4.04468E1"; receivers deserve "40.4468". Numbers are
// written in their shortest round-trip form (std::to_chars), everything else as Boost does.
void Write(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(k));
        out += ':';
        Write(x, out);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out += ',';
        first = false;
        Write(x, out);
      }
      out += ']';
      return;
    }
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {  // not representable in JSON
        out += "null";
        return;
      }
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      std::string_view text(buf, end - buf);
      out += text;
      if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";  // stays a float
      return;
    }
    default:
      out += boost::json::serialize(v);
      return;
  }
}

}  // namespace

std::string ToJson(const boost::json::value& v) {
  std::string out;
  out.reserve(256);
  Write(v, out);
  return out;
}

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
