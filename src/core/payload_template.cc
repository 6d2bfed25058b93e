#include "core/payload_template.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/json_util.h"

namespace hookd {
namespace json = boost::json;

namespace {

bool PathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// The path inside "{{ … }}" (spaces around it allowed); "" with `why` set when malformed.
std::string_view ParsePath(std::string_view inner, std::string& why) {
  while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
  while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
  if (inner.empty()) {
    why = "an empty variable {{}}";
    return {};
  }
  if (std::string_view("#/^>!&{=").find(inner.front()) != std::string_view::npos) {
    why = fmt::format("'{{{{{}' : only variables like {{{{data.employee.id}}}} are supported (no sections, "
                      "partials, comments or unescaped output)",
                      inner.front());
    return {};
  }
  bool segment_empty = true;
  for (char c : inner) {
    if (c == '.') {
      if (segment_empty) break;
      segment_empty = true;
    } else if (PathChar(c)) {
      segment_empty = false;
    } else {
      why = fmt::format("'{}' is not a path like data.employee.id (letters, digits, _ and - between dots)", inner);
      return {};
    }
  }
  if (segment_empty) {
    why = fmt::format("'{}' is not a path like data.employee.id (an empty part)", inner);
    return {};
  }
  return inner;
}

// Calls `on_var(path)` for each variable of `s`, `on_text(text)` for the text between them.
// False with `why` on a malformed string.
template <class OnText, class OnVar>
bool Scan(std::string_view s, std::string& why, OnText on_text, OnVar on_var) {
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t open = s.find("{{", pos);
    if (open == std::string_view::npos) {
      on_text(s.substr(pos));
      break;
    }
    on_text(s.substr(pos, open - pos));
    const size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) {
      why = "an unclosed {{";
      return false;
    }
    std::string_view path = ParsePath(s.substr(open + 2, close - open - 2), why);
    if (path.empty()) return false;
    on_var(path);
    pos = close + 2;
  }
  return true;
}

void Check(const json::value& v, const std::string& pointer, size_t depth, size_t& vars,
           std::vector<FieldError>& errs) {
  if (depth > kMaxTemplateDepth) {
    errs.push_back({pointer, fmt::format("nested more than {} levels deep", kMaxTemplateDepth)});
    return;
  }
  if (v.is_string()) {
    std::string why;
    if (!Scan(v.get_string(), why, [](std::string_view) {}, [&](std::string_view) { ++vars; }))
      errs.push_back({pointer, why});
  } else if (v.is_object()) {
    for (const auto& [k, child] : v.get_object())
      Check(child, pointer + "/" + EscapePointerToken(k), depth + 1, vars, errs);
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    for (size_t i = 0; i < a.size(); ++i) Check(a[i], fmt::format("{}/{}", pointer, i), depth + 1, vars, errs);
  }
}

const json::value* Lookup(const json::value& root, std::string_view path) {
  const json::value* at = &root;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (at->is_object()) {
      at = at->get_object().if_contains(key);
    } else if (at->is_array()) {  // data.items.0.name
      size_t i = 0;
      bool digits = !key.empty() && key.size() < 10;
      for (char c : key) digits = digits && c >= '0' && c <= '9', i = i * 10 + static_cast<size_t>(c - '0');
      at = digits && i < at->get_array().size() ? &at->get_array()[i] : nullptr;
    } else {
      at = nullptr;
    }
    if (!at) return nullptr;
  }
  return at;
}

void AppendValue(std::string& out, const json::value* v) {
  if (!v || v->is_null()) return;
  if (v->is_string()) out.append(v->get_string());
  else out.append(json::serialize(*v));
}

void Fill(json::value& v, const json::value& event) {
  if (v.is_string()) {
    const std::string_view s = v.get_string();
    if (s.find("{{") == std::string_view::npos) return;
    std::string out, why;
    Scan(s, why, [&](std::string_view text) { out.append(text); },
         [&](std::string_view path) { AppendValue(out, Lookup(event, path)); });
    v = json::string(out);
  } else if (v.is_object()) {
    for (auto& [_, child] : v.get_object()) Fill(child, event);
  } else if (v.is_array()) {
    for (auto& child : v.get_array()) Fill(child, event);
  }
}

}  // namespace

Result<PayloadTemplate> PayloadTemplate::Compile(const json::value& doc) {
  if (json::serialize(doc).size() > kMaxTemplateBytes)
    return InvalidField("", fmt::format("the template must be at most {} bytes of JSON", kMaxTemplateBytes));
  std::vector<FieldError> errs;
  size_t vars = 0;
  Check(doc, "", 0, vars, errs);
  if (vars > kMaxTemplateVariables)
    errs.push_back({"", fmt::format("at most {} variables", kMaxTemplateVariables)});
  if (!errs.empty()) {
    std::string summary = errs.front().message;
    return MakeError(ErrorCode::kInvalidArgument, std::move(summary), std::move(errs));
  }
  PayloadTemplate t;
  t.doc_ = doc;
  t.variables_ = vars;
  return t;
}

std::string PayloadTemplate::Render(const json::value& event) const {
  json::value out = doc_;
  Fill(out, event);
  return ToJson(out);
}

}  // namespace hookd
