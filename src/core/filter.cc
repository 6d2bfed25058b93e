#include "core/filter.h"

#include "core/regex.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd {

namespace json = boost::json;

namespace {

enum class Op { kEq, kNeq, kGt, kGte, kLt, kLte, kIn, kNin, kExists, kRegex };

struct OpName {
  std::string_view name;
  Op op;
};
constexpr std::array<OpName, 10> kFieldOps = {{{"$eq", Op::kEq},
                                               {"$neq", Op::kNeq},
                                               {"$gt", Op::kGt},
                                               {"$gte", Op::kGte},
                                               {"$lt", Op::kLt},
                                               {"$lte", Op::kLte},
                                               {"$in", Op::kIn},
                                               {"$nin", Op::kNin},
                                               {"$exists", Op::kExists},
                                               {"$regex", Op::kRegex}}};

constexpr std::array<std::string_view, 5> kRootFields = {"id", "type", "timestamp", "company_id",
                                                         "data"};

constexpr size_t kMaxReportedErrors = 20;

struct Segment {
  std::string key;
  std::optional<size_t> index;  // set when key is a canonical decimal (array index)
};

}  // namespace

struct Filter::Node {
  enum class Kind { kAll, kAny, kCompare };
  Kind kind = Kind::kAll;
  std::vector<Node> children;  // kAll / kAny

  // kCompare
  std::vector<Segment> path;
  Op op = Op::kEq;
  json::value operand;                      // $eq $neq $gt $gte $lt $lte
  std::vector<json::value> values;          // $in $nin
  bool exists = true;                       // $exists
  std::optional<Regex> regex;               // $regex
};

namespace {

using Node = Filter::Node;

// --- evaluation ------------------------------------------------------------------------

bool IsNumber(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }
bool IsScalar(const json::value& v) {
  return v.is_string() || IsNumber(v) || v.is_bool() || v.is_null();
}

__int128 AsInt128(const json::value& v) {
  return v.is_int64() ? __int128{v.get_int64()} : __int128{v.get_uint64()};
}

// Exact three-way comparison of an integer with a double; nullopt when d is NaN.
std::optional<int> CompareIntDouble(__int128 i, double d) {
  if (std::isnan(d)) return std::nullopt;
  constexpr double kTwo127 = 1.7014118346046923e38;  // 2^127, exact
  if (d >= kTwo127) return -1;
  if (d < -kTwo127) return 1;
  const double t = std::trunc(d);  // exact, and fits __int128 after the checks above
  const __int128 ti = static_cast<__int128>(t);
  if (i != ti) return i < ti ? -1 : 1;
  const double frac = d - t;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

// -1/0/1 between two JSON numbers of any representation; nullopt for NaN.
std::optional<int> CompareNumbers(const json::value& a, const json::value& b) {
  if (!a.is_double() && !b.is_double()) {
    const __int128 x = AsInt128(a), y = AsInt128(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_double()) {
    std::optional<int> c = CompareIntDouble(AsInt128(b), a.get_double());
    if (!c) return std::nullopt;
    return -*c;
  }
  return CompareIntDouble(AsInt128(a), b.get_double());
}

// Ordering between a payload value and an operand: numbers with numbers, strings with
// strings; nullopt otherwise.
std::optional<int> Order(const json::value& v, const json::value& operand) {
  if (IsNumber(v) && IsNumber(operand)) return CompareNumbers(v, operand);
  if (v.is_string() && operand.is_string()) {
    const int c = std::string_view(v.get_string()).compare(std::string_view(operand.get_string()));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

bool Equal(const json::value& v, const json::value& operand) {
  if (IsNumber(v) && IsNumber(operand)) return CompareNumbers(v, operand) == 0;
  if (v.is_string() && operand.is_string()) return v.get_string() == operand.get_string();
  if (v.is_bool() && operand.is_bool()) return v.get_bool() == operand.get_bool();
  if (v.is_null() && operand.is_null()) return true;
  return false;
}

const json::value* Resolve(const json::value& root, const std::vector<Segment>& path) {
  const json::value* cur = &root;
  for (const Segment& seg : path) {
    if (const json::object* obj = cur->if_object()) {
      cur = obj->if_contains(seg.key);
      if (cur == nullptr) return nullptr;
    } else if (const json::array* arr = cur->if_array()) {
      if (!seg.index || *seg.index >= arr->size()) return nullptr;
      cur = &(*arr)[*seg.index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

bool In(const json::value& v, const std::vector<json::value>& values) {
  for (const json::value& candidate : values)
    if (Equal(v, candidate)) return true;
  return false;
}

bool Evaluate(const Node& node, const json::value& payload) {
  switch (node.kind) {
    case Node::Kind::kAll:
      for (const Node& child : node.children)
        if (!Evaluate(child, payload)) return false;
      return true;
    case Node::Kind::kAny:
      for (const Node& child : node.children)
        if (Evaluate(child, payload)) return true;
      return false;
    case Node::Kind::kCompare:
      break;
  }
  const json::value* v = Resolve(payload, node.path);
  switch (node.op) {
    case Op::kExists:
      return (v != nullptr) == node.exists;
    case Op::kEq:
      return v != nullptr && Equal(*v, node.operand);
    case Op::kNeq:
      return !(v != nullptr && Equal(*v, node.operand));
    case Op::kIn:
      return v != nullptr && In(*v, node.values);
    case Op::kNin:
      return !(v != nullptr && In(*v, node.values));
    case Op::kGt:
    case Op::kGte:
    case Op::kLt:
    case Op::kLte: {
      if (v == nullptr) return false;
      std::optional<int> c = Order(*v, node.operand);
      if (!c) return false;
      if (node.op == Op::kGt) return *c > 0;
      if (node.op == Op::kGte) return *c >= 0;
      if (node.op == Op::kLt) return *c < 0;
      return *c <= 0;
    }
    case Op::kRegex: {
      if (v == nullptr || !v->is_string()) return false;
      const std::string_view s = v->get_string();
      return s.size() <= kMaxFilterRegexSubject && node.regex->Search(s);
    }
  }
  return false;
}

// --- compilation -----------------------------------------------------------------------

std::string EscapePointerToken(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

std::string Child(const std::string& pointer, std::string_view key) {
  return pointer + "/" + EscapePointerToken(key);
}
std::string Child(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::optional<size_t> CanonicalIndex(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  return v;
}

std::string JsonText(const json::value& v) { return json::serialize(v); }

class Compiler {
 public:
  std::vector<FieldError> errors;

  // A filter object at `pointer`, `depth` levels deep (the top is 1).
  Node CompileObject(const json::value& spec, const std::string& pointer, int depth) {
    Node node;
    node.kind = Node::Kind::kAll;
    if (depth > kMaxFilterDepth) {
      Fail(pointer, fmt::format("filter nesting is deeper than {} levels", kMaxFilterDepth));
      return node;
    }
    const json::object* obj = spec.if_object();
    if (obj == nullptr) {
      Fail(pointer, "a filter must be a JSON object");
      return node;
    }
    for (const auto& entry : *obj) {
      const std::string_view key = entry.key();
      const std::string kp = Child(pointer, key);
      if (key == "$and" || key == "$or") {
        const json::array* arr = entry.value().if_array();
        if (arr == nullptr || arr->empty()) {
          Fail(kp, fmt::format("{} needs a non-empty array of filter objects", key));
          continue;
        }
        Node group;
        group.kind = key == "$and" ? Node::Kind::kAll : Node::Kind::kAny;
        for (size_t i = 0; i < arr->size(); ++i)
          group.children.push_back(CompileObject((*arr)[i], Child(kp, i), depth + 1));
        node.children.push_back(std::move(group));
      } else if (key.starts_with('$')) {
        if (FindOp(key))
          Fail(kp, fmt::format("{} must be applied to a field, e.g. {{\"data.request.days\": "
                               "{{\"{}\": ...}}}}",
                               key, key));
        else
          Fail(kp, fmt::format("unknown operator {} (expected a field path, $and or $or)", key));
      } else {
        std::optional<std::vector<Segment>> path = CompilePath(key, kp);
        if (path) CompileField(*path, key, entry.value(), kp, node);
      }
    }
    return node;
  }

 private:
  int conditions_ = 0;
  bool reported_too_many_ = false;

  void Fail(std::string pointer, std::string message) {
    if (errors.size() < kMaxReportedErrors)
      errors.push_back(FieldError{std::move(pointer), std::move(message)});
  }

  static std::optional<Op> FindOp(std::string_view name) {
    for (const OpName& o : kFieldOps)
      if (o.name == name) return o.op;
    return std::nullopt;
  }

  std::optional<std::vector<Segment>> CompilePath(std::string_view key, const std::string& kp) {
    if (key.size() > kMaxFilterPathLength) {
      Fail(kp, fmt::format("field path is longer than {} characters", kMaxFilterPathLength));
      return std::nullopt;
    }
    std::vector<Segment> path;
    std::string_view rest = key;
    while (true) {
      const size_t dot = rest.find('.');
      std::string_view seg = rest.substr(0, dot);
      if (seg.empty()) {
        Fail(kp, fmt::format("field path \"{}\" has an empty segment", key));
        return std::nullopt;
      }
      path.push_back(Segment{std::string(seg), CanonicalIndex(seg)});
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    if (std::find(kRootFields.begin(), kRootFields.end(), path.front().key) == kRootFields.end()) {
      Fail(kp, fmt::format("unknown field \"{}\": paths start at the payload root (id, type, "
                           "timestamp, company_id or data); did you mean \"data.{}\"?",
                           path.front().key, key));
      return std::nullopt;
    }
    return path;
  }

  // The value of a "<path>" entry: a bare scalar or an operator object.
  void CompileField(const std::vector<Segment>& path, std::string_view key,
                    const json::value& value, const std::string& kp, Node& parent) {
    if (const json::object* ops = value.if_object()) {
      if (ops->empty()) {
        Fail(kp, "empty object: give a value or an operator such as {\"$eq\": ...}");
        return;
      }
      size_t dollar = 0;
      for (const auto& e : *ops) dollar += e.key().starts_with('$') ? 1 : 0;
      if (dollar == 0) {
        Fail(kp, fmt::format("a nested object is not a value to compare; use a dot path such "
                             "as \"{}.{}\"",
                             key, ops->begin()->key()));
        return;
      }
      if (dollar != ops->size()) {
        Fail(kp, "cannot mix operators ($...) and field names in one object");
        return;
      }
      for (const auto& e : *ops)
        CompileOperator(path, e.key(), e.value(), Child(kp, e.key()), parent);
      return;
    }
    if (value.is_array()) {
      Fail(kp, "a list is not a value to compare; use {\"$in\": [...]}");
      return;
    }
    AddCompare(path, Op::kEq, kp, parent).operand = value;
  }

  Node& AddCompare(const std::vector<Segment>& path, Op op, const std::string& pointer,
                   Node& parent) {
    if (++conditions_ > kMaxFilterConditions && !reported_too_many_) {
      reported_too_many_ = true;
      Fail("", fmt::format("filter has more than {} conditions (at {})", kMaxFilterConditions,
                           pointer));
    }
    Node leaf;
    leaf.kind = Node::Kind::kCompare;
    leaf.path = path;
    leaf.op = op;
    parent.children.push_back(std::move(leaf));
    return parent.children.back();
  }

  void CompileOperator(const std::vector<Segment>& path, std::string_view name,
                       const json::value& operand, const std::string& op_pointer, Node& parent) {
    std::optional<Op> op = FindOp(name);
    if (!op) {
      if (name == "$and" || name == "$or")
        Fail(op_pointer, fmt::format("{} is not allowed under a field; put it at the top of a "
                                     "filter object",
                                     name));
      else
        Fail(op_pointer, fmt::format("unknown operator {} (expected one of $eq, $neq, $gt, $gte, "
                                     "$lt, $lte, $in, $nin, $exists, $regex)",
                                     name));
      return;
    }
    switch (*op) {
      case Op::kEq:
      case Op::kNeq:
        if (!IsScalar(operand)) {
          Fail(op_pointer, fmt::format("{} takes a string, number, boolean or null", name));
          return;
        }
        AddCompare(path, *op, op_pointer, parent).operand = operand;
        return;
      case Op::kGt:
      case Op::kGte:
      case Op::kLt:
      case Op::kLte:
        if (!IsNumber(operand) && !operand.is_string()) {
          Fail(op_pointer,
               fmt::format("{} takes a number or a string, not {}", name, JsonText(operand)));
          return;
        }
        AddCompare(path, *op, op_pointer, parent).operand = operand;
        return;
      case Op::kIn:
      case Op::kNin: {
        const json::array* arr = operand.if_array();
        if (arr == nullptr) {
          Fail(op_pointer, fmt::format("{} needs an array of values", name));
          return;
        }
        if (arr->size() > kMaxFilterInValues) {
          Fail(op_pointer, fmt::format("{} takes at most {} values", name, kMaxFilterInValues));
          return;
        }
        bool ok = true;
        for (size_t i = 0; i < arr->size(); ++i) {
          if (!IsScalar((*arr)[i])) {
            Fail(Child(op_pointer, i),
                 fmt::format("{} values must be strings, numbers, booleans or null", name));
            ok = false;
          }
        }
        if (!ok) return;
        AddCompare(path, *op, op_pointer, parent).values.assign(arr->begin(), arr->end());
        return;
      }
      case Op::kExists:
        if (!operand.is_bool()) {
          Fail(op_pointer, "$exists takes true or false");
          return;
        }
        AddCompare(path, *op, op_pointer, parent).exists = operand.get_bool();
        return;
      case Op::kRegex: {
        if (!operand.is_string()) {
          Fail(op_pointer, "$regex takes a string (an ECMAScript regular expression)");
          return;
        }
        const std::string_view pattern = operand.get_string();
        auto re = Regex::Compile(pattern, {kMaxFilterRegexLength, kMaxFilterRegexProgram, 1024 * 1024});
        if (!re) {
          Fail(op_pointer, fmt::format("invalid $regex: {}", re.error().message));
          return;
        }
        regex_program_size += re->ProgramSize();
        ++regex_count;
        if (regex_program_size > kMaxFilterRegexProgramTotal && !reported_too_complex_) {
          reported_too_complex_ = true;
          Fail(op_pointer, fmt::format("the filter's regular expressions are too complex together "
                                       "(compiled size over {}); use fewer or simpler ones",
                                       kMaxFilterRegexProgramTotal));
        }
        AddCompare(path, *op, op_pointer, parent).regex = std::move(*re);
        return;
      }
    }
  }

 public:
  int regex_program_size = 0;
  int regex_count = 0;

 private:
  bool reported_too_complex_ = false;
};

}  // namespace

Filter::Filter() : spec_(json::object()) {}

Result<Filter> Filter::Compile(const json::value& spec) {
  Compiler compiler;
  Node root = compiler.CompileObject(spec, "", 1);
  if (!compiler.errors.empty()) {
    std::string message = "invalid filter: " + compiler.errors.front().message;
    if (compiler.errors.size() > 1)
      message += fmt::format(" (and {} more)", compiler.errors.size() - 1);
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(compiler.errors));
  }
  return Filter(std::make_shared<const Node>(std::move(root)), spec, compiler.regex_program_size,
                compiler.regex_count);
}

bool Filter::Matches(const json::value& payload) const {
  if (root_ == nullptr) return true;
  return Evaluate(*root_, payload);
}

}  // namespace hookd
