// JSON Schema (draft 7) validation on valijson 1.0.
//
// valijson does the schema walking ($ref, allOf/anyOf/oneOf, properties, items, ...). Five
// keywords are taken over by our own constraints, because valijson 1.0's versions of them
// do not fit a hot path that sees untrusted data:
//   multipleOf  must be a number > 0 (Compile refuses others); checked without valijson's
//            integer path, which divides by the divisor as given (0: SIGFPE) and casts any
//            double instance to int64 (undefined past 2^63); exact for integers, within
//            rounding for fractions, and a quotient past the double range is no multiple.
//   type     readable messages ("must be a string (got number)"); 1.0 counts as an integer.
//   enum     the message lists the allowed values.
//   format   strict RFC 3339 date / date-time / time (leap years, offsets, leap seconds)
//            without building a std::regex per check, plus a simple email check. Unknown
//            formats are annotations (ignored), as the spec allows.
//   pattern  compiled once, at Compile(), on RE2 (core/regex.h): linear time, bounded memory.
// The schema is rewritten before valijson parses it: those keywords are renamed to private
// keywords ("$hookd:type", ...) that valijson hands to our ConstraintBuilders. Every $ref is
// pointed at a prepared copy of its target ("#/$hookd:refs/<n>"), so that a $ref into a
// place the rewrite would not otherwise visit (an unknown keyword such as "x-defs") cannot
// bring a raw keyword to valijson.
//
// valijson 1.0 runs std::regex (backtracking, recursive per character: a long string
// overflows the stack) for `pattern`, `patternProperties` and its own `format` checks. No
// input may reach that engine: the visitor's methods that use it are specialised below for
// the one adapter hookd validates with, and run RE2 (patternProperties, from the table
// Compile() built) or our format checks instead. The same specialisation bounds every
// validation: at most kMaxValidationDepth nested subschemas and kMaxValidationSteps
// subschema evaluations per instance (a schema whose anyOf/$ref chains multiply is refused
// at validation time instead of running for ever), and strings longer than
// kMaxPatternSubject / property names longer than kMaxPatternPropertyName are not matched.
//
// Compile() also refuses schemas that would crash or never finish in valijson: non-local
// $ref (no fetching), unresolvable $ref, and cycles that do not consume the instance
// ({"$ref": "#"}, allOf: [{"$ref": "#"}]), all of which overflow valijson's stack.

// Without this valijson calls abort() on a bad schema instead of throwing. Only this file
// includes valijson, so the setting cannot disagree between translation units.
#define VALIJSON_USE_EXCEPTIONS 1

#include "core/schema_validator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <boost/json.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/json_util.h"
#include "core/regex.h"

namespace hookd {
namespace {

constexpr size_t kMaxPatternSubject = 16 * 1024;   // longer strings are not matched
constexpr size_t kMaxPatternPropertyName = 1024;   // longer names are not matched
constexpr int kMaxValidationDepth = 256;           // nested subschema evaluations
constexpr uint64_t kMaxValidationSteps = 1000000;  // subschema evaluations per instance
constexpr RegexLimits kSchemaRegexLimits{1024, 5000, 1024 * 1024};

using RegexTable = std::unordered_map<std::string, Regex>;

// The validation running on this thread (SchemaValidator::Validate sets it).
struct ValidationRun {
  const RegexTable* regexes = nullptr;
  uint64_t steps = 0;
  int depth = 0;
};
thread_local ValidationRun* current_run = nullptr;

// Thrown out of valijson when a validation exceeds its bounds; Validate() reports it.
struct ValidationLimit : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const Regex* FindRegex(std::string_view pattern) {
  if (current_run == nullptr || current_run->regexes == nullptr) return nullptr;
  auto it = current_run->regexes->find(std::string(pattern));
  return it == current_run->regexes->end() ? nullptr : &it->second;
}

// "abc…" for messages about very long strings.
std::string Abbreviated(std::string_view s) {
  constexpr size_t kShown = 40;
  return s.size() <= kShown ? std::string(s) : std::string(s.substr(0, kShown)) + "...";
}

bool IsFullDate(std::string_view s);
bool IsDateTime(std::string_view s);
bool IsFullTime(std::string_view s);
bool IsEmail(std::string_view s);

}  // namespace
}  // namespace hookd

namespace valijson {

using HookdVisitor = ValidationVisitor<adapters::BoostJsonAdapter>;

// Every subschema evaluation passes here: depth and step bounds.
template <>
bool HookdVisitor::validateSchema(const Subschema& subschema) {
  hookd::ValidationRun* run = hookd::current_run;
  if (run != nullptr) {
    if (++run->steps > hookd::kMaxValidationSteps)
      throw hookd::ValidationLimit("the schema needs too many steps to check this value");
    if (run->depth >= hookd::kMaxValidationDepth)
      throw hookd::ValidationLimit("the schema nests too deeply to check this value");
  }
  struct DepthGuard {
    hookd::ValidationRun* run;
    explicit DepthGuard(hookd::ValidationRun* r) : run(r) {
      if (run) ++run->depth;
    }
    ~DepthGuard() {
      if (run) --run->depth;
    }
  } guard(run);
  if (subschema.getAlwaysInvalid()) return false;
  Subschema::ApplyFunction fn(std::bind(validationCallback, std::placeholders::_1, std::ref(*this)));
  return m_results == nullptr ? subschema.applyStrict(fn) : subschema.apply(fn);
}

// A raw `pattern` never reaches valijson (Compile() renames every one it can reach); should
// one, it runs on RE2 like ours, or fails closed.
template <>
bool HookdVisitor::visit(const PatternConstraint& constraint) {
  if (!m_target.isString()) return true;
  const std::string pattern = constraint.getPattern<std::string::allocator_type>();
  const std::string s = m_target.asString();
  const hookd::Regex* re = hookd::FindRegex(pattern);
  if (re != nullptr && s.size() <= hookd::kMaxPatternSubject && re->Search(s)) return true;
  if (m_results) m_results->pushError(m_context, "must match the pattern " + pattern);
  return false;
}

// A raw `format` never reaches valijson either; our checks, not valijson's std::regex ones.
template <>
bool HookdVisitor::visit(const FormatConstraint& constraint) {
  if (!m_target.isString()) return true;
  const std::string& format = constraint.getFormat();
  const std::string s = m_target.asString();
  bool ok = true;
  if (format == "date") ok = hookd::IsFullDate(s);
  else if (format == "date-time") ok = hookd::IsDateTime(s);
  else if (format == "time") ok = hookd::IsFullTime(s);
  else if (format == "email") ok = hookd::IsEmail(s);
  if (!ok && m_results) m_results->pushError(m_context, "must be a valid " + format);
  return ok;
}

// valijson's own, with patternProperties matched by RE2 (the table Compile() built) instead of
// a std::regex built per call.
template <>
bool HookdVisitor::visit(const PropertiesConstraint& constraint) {
  if (!m_target.isObject()) return true;
  bool validated = true;
  std::set<std::string> matched;
  const adapters::BoostJsonAdapter::Object object = m_target.asObject();
  constraint.applyToProperties(ValidatePropertySubschemas(object, m_context, true, m_results != nullptr, true,
                                                          m_strictTypes, m_results, &matched, &validated,
                                                          m_regexesCache));
  if (!validated && !m_results) return false;

  bool has_patterns = false;
  constraint.applyToPatternProperties([&](const auto&, const Subschema*) {
    has_patterns = true;
    return false;
  });
  if (has_patterns) {
    for (const adapters::BoostJsonAdapter::ObjectMember m : object) {
      if (m.first.size() <= hookd::kMaxPatternPropertyName) continue;
      if (m_results)
        m_results->pushError(m_context, "property name \"" + hookd::Abbreviated(m.first) + "\" is longer than " +
                                            std::to_string(hookd::kMaxPatternPropertyName) +
                                            " characters, too long to check against 'patternProperties'");
      validated = false;
      if (!m_results) return false;
      matched.insert(m.first);  // reported once, not again as an additional property
    }
  }
  constraint.applyToPatternProperties([&](const auto& pattern_text, const Subschema* subschema) {
    const std::string pattern(pattern_text.c_str());
    const hookd::Regex* re = hookd::FindRegex(pattern);
    for (const adapters::BoostJsonAdapter::ObjectMember m : object) {
      if (m.first.size() > hookd::kMaxPatternPropertyName) continue;
      if (re == nullptr || !re->Search(m.first)) continue;
      matched.insert(m.first);
      std::vector<std::string> context = m_context;
      context.push_back("[" + m.first + "]");
      HookdVisitor child(m.second, context, m_strictTypes, m_results, m_regexesCache);
      if (child.validateSchema(*subschema)) continue;
      if (m_results)
        m_results->pushError(m_context, "Failed to validate against schema associated with pattern '" + pattern + "'.");
      validated = false;
      return false;  // as valijson: the first failing pattern ends the pattern checks
    }
    return true;
  });

  const Subschema* additional = constraint.getAdditionalPropertiesSubschema();
  if (!additional) {
    if (matched.size() != m_target.getObjectSize()) {
      if (m_results) {
        for (const adapters::BoostJsonAdapter::ObjectMember m : object) {
          if (matched.count(m.first)) continue;
          m_results->pushError(m_context, "Object contains a property that could not be validated using "
                                          "'properties' or 'additionalProperties' constraints: '" + m.first + "'.");
          break;
        }
      }
      return false;
    }
    return validated;
  }
  for (const adapters::BoostJsonAdapter::ObjectMember m : object) {
    if (matched.count(m.first)) continue;
    std::vector<std::string> context = m_context;
    context.push_back("[" + m.first + "]");
    HookdVisitor child(m.second, context, m_strictTypes, m_results, m_regexesCache);
    if (!child.validateSchema(*additional)) {
      if (m_results) m_results->pushError(m_context, "Failed to validate against additional properties schema");
      validated = false;
    }
  }
  return validated;
}

}  // namespace valijson

namespace hookd {

namespace json = boost::json;
namespace vj = valijson;

namespace {

constexpr std::string_view kTypeKeyword = "$hookd:type";
constexpr std::string_view kEnumKeyword = "$hookd:enum";
constexpr std::string_view kFormatKeyword = "$hookd:format";
constexpr std::string_view kPatternKeyword = "$hookd:pattern";
constexpr std::string_view kMultipleOfKeyword = "$hookd:multipleOf";
constexpr std::string_view kRefsKeyword = "$hookd:refs";

constexpr int kMaxSchemaDepth = 100;
constexpr size_t kMaxSchemaNodes = 20000;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Thrown while preparing a schema; becomes kInvalidArgument.
struct SchemaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------
// Strict RFC 3339 checks.

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) return 29;
  return kDays[month - 1];
}

// full-date = YYYY-MM-DD at s[0..10).
bool IsFullDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &m) || !Digits(s, 8, 2, &d)) return false;
  return m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m);
}

// full-time = HH:MM:SS[.frac](Z|+HH:MM|-HH:MM). A leap second (:60) only at 23:59 UTC.
bool IsFullTime(std::string_view s) {
  int h, mi, sec;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  if (!Digits(s, 0, 2, &h) || !Digits(s, 3, 2, &mi) || !Digits(s, 6, 2, &sec)) return false;
  if (h > 23 || mi > 59 || sec > 60) return false;
  size_t pos = 8;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  int offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return false;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (s.size() != pos + 6 || s[pos + 3] != ':') return false;
    if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, pos + 4, 2, &om)) return false;
    if (oh > 23 || om > 59) return false;
    offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return false;
  }
  if (sec == 60) {
    int utc = ((h * 60 + mi - offset_minutes) % 1440 + 1440) % 1440;
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool IsDateTime(std::string_view s) {
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) return false;
  return IsFullDate(s.substr(0, 10)) && IsFullTime(s.substr(11));
}

// Deliberately simple: local@domain.tld, no whitespace, one '@'.
bool IsEmail(std::string_view s) {
  size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') return false;
  }
  std::string_view domain = s.substr(at + 1);
  size_t dot = domain.rfind('.');
  return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size() &&
         domain.front() != '.';
}

enum class Format { kDate, kDateTime, kTime, kEmail };

std::optional<Format> FormatFromName(std::string_view name) {
  if (name == "date") return Format::kDate;
  if (name == "date-time") return Format::kDateTime;
  if (name == "time") return Format::kTime;
  if (name == "email") return Format::kEmail;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Our constraints. Each is immutable after construction; clones share their data.

using vj::adapters::Adapter;
using vj::constraints::Constraint;
using vj::constraints::PolyConstraint;

void Report(vj::ValidationResults* results, const std::vector<std::string>& context,
            std::string message) {
  if (results) results->pushError(context, message);
}

enum TypeBit : unsigned {
  kNullBit = 1,
  kBooleanBit = 2,
  kObjectBit = 4,
  kArrayBit = 8,
  kNumberBit = 16,
  kStringBit = 32,
  kIntegerBit = 64,
};

// In the order messages list them: "must be a string or null".
constexpr std::pair<std::string_view, unsigned> kTypeNames[] = {
    {"string", kStringBit}, {"integer", kIntegerBit}, {"number", kNumberBit},
    {"boolean", kBooleanBit}, {"object", kObjectBit}, {"array", kArrayBit},
    {"null", kNullBit},
};

std::string_view WithArticle(unsigned bit) {
  switch (bit) {
    case kNullBit: return "null";
    case kBooleanBit: return "a boolean";
    case kObjectBit: return "an object";
    case kArrayBit: return "an array";
    case kNumberBit: return "a number";
    case kStringBit: return "a string";
    case kIntegerBit: return "an integer";
  }
  return "a value";
}

class TypeConstraint final : public PolyConstraint {
 public:
  explicit TypeConstraint(unsigned mask) : mask_(mask) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                vj::ValidationResults* results) const override {
    unsigned actual;
    std::string_view got;
    if (target.isString()) {
      actual = kStringBit, got = "string";
    } else if (target.isObject()) {
      actual = kObjectBit, got = "object";
    } else if (target.isArray()) {
      actual = kArrayBit, got = "array";
    } else if (target.isBool()) {
      actual = kBooleanBit, got = "boolean";
    } else if (target.isNull()) {
      actual = kNullBit, got = "null";
    } else if (target.isDouble()) {
      double d = target.getDouble();
      bool integral = std::isfinite(d) && std::trunc(d) == d;
      actual = kNumberBit | (integral ? kIntegerBit : 0u), got = "number";
    } else {  // int64 or uint64
      actual = kNumberBit | kIntegerBit, got = "integer";
    }
    if (mask_ & actual) return true;
    if (results) {
      std::string msg = "must be ";
      bool first = true;
      for (const auto& [name, bit] : kTypeNames) {
        if (!(mask_ & bit)) continue;
        if (!first) msg += " or ";
        msg += WithArticle(bit);
        first = false;
      }
      msg += " (got ";
      msg += got;
      msg += ')';
      Report(results, context, std::move(msg));
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* p) const override { return new (p) TypeConstraint(*this); }
  size_t sizeOf() const override { return sizeof(*this); }

  unsigned mask_;
};

class FormatConstraint final : public PolyConstraint {
 public:
  explicit FormatConstraint(Format format) : format_(format) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                vj::ValidationResults* results) const override {
    if (!target.isString()) return true;  // formats only constrain strings
    const std::string s = target.getString();
    switch (format_) {
      case Format::kDate:
        if (IsFullDate(s)) return true;
        Report(results, context, "must be a valid date (YYYY-MM-DD)");
        return false;
      case Format::kDateTime:
        if (IsDateTime(s)) return true;
        Report(results, context,
               "must be a valid RFC 3339 date-time (e.g. 2026-11-26T10:00:00Z)");
        return false;
      case Format::kTime:
        if (IsFullTime(s)) return true;
        Report(results, context, "must be a valid RFC 3339 time (e.g. 10:00:00Z)");
        return false;
      case Format::kEmail:
        if (IsEmail(s)) return true;
        Report(results, context, "must be a valid email address");
        return false;
    }
    return true;
  }

 private:
  Constraint* cloneInto(void* p) const override { return new (p) FormatConstraint(*this); }
  size_t sizeOf() const override { return sizeof(*this); }

  Format format_;
};

class PatternConstraint final : public PolyConstraint {
 public:
  explicit PatternConstraint(const Regex* regex) : regex_(regex) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                vj::ValidationResults* results) const override {
    if (!target.isString()) return true;
    const std::string s = target.getString();
    if (s.size() > kMaxPatternSubject) {
      Report(results, context,
             "is longer than " + std::to_string(kMaxPatternSubject) +
                 " characters, too long to check against the pattern " +
                 json::serialize(json::string(regex_->Pattern())));
      return false;
    }
    if (regex_->Search(s)) return true;
    Report(results, context, "must match the pattern " + json::serialize(json::string(regex_->Pattern())));
    return false;
  }

 private:
  Constraint* cloneInto(void* p) const override { return new (p) PatternConstraint(*this); }
  size_t sizeOf() const override { return sizeof(*this); }

  const Regex* regex_;  // owned by the SchemaValidator's regex table
};

class MultipleOfConstraint final : public PolyConstraint {
 public:
  // `int_divisor` > 0 when the schema gave an integer, else `double_divisor` (finite, > 0).
  MultipleOfConstraint(int64_t int_divisor, double double_divisor, std::string message)
      : int_divisor_(int_divisor),
        double_divisor_(double_divisor),
        message_(std::make_shared<const std::string>(std::move(message))) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                vj::ValidationResults* results) const override {
    bool ok = true;
    if (target.isInteger() && int_divisor_ > 0) {
      ok = target.getInteger() % int_divisor_ == 0;  // divisor > 0: no overflow
    } else if (target.isInteger() || target.isDouble()) {
      const double x = target.isInteger() ? static_cast<double>(target.getInteger()) : target.getDouble();
      const double d = int_divisor_ > 0 ? static_cast<double>(int_divisor_) : double_divisor_;
      const double q = x / d;
      const double n = std::round(q);  // 0 for |q| < 0.5: a non-zero x is then no multiple
      ok = x == 0 || (std::isfinite(q) && n != 0 && std::fabs(q - n) <= 1e-12 * std::max(1.0, std::fabs(q)));
    }  // other kinds (and integers above 2^63, which the adapter does not read) are not numbers here
    if (!ok) Report(results, context, *message_);
    return ok;
  }

 private:
  Constraint* cloneInto(void* p) const override { return new (p) MultipleOfConstraint(*this); }
  size_t sizeOf() const override { return sizeof(*this); }

  int64_t int_divisor_;
  double double_divisor_;
  std::shared_ptr<const std::string> message_;
};

class EnumConstraint final : public PolyConstraint {
 public:
  struct Data {
    json::array values;
    std::string message;
  };
  explicit EnumConstraint(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

  bool validate(const Adapter& target, const std::vector<std::string>& context,
                vj::ValidationResults* results) const override {
    if (target.isString()) {
      const std::string s = target.getString();
      for (const json::value& v : data_->values) {
        if (v.is_string() && v.get_string() == s) return true;
      }
    } else {
      for (const json::value& v : data_->values) {
        if (!v.is_string() && vj::adapters::BoostJsonAdapter(v).equalTo(target, true)) return true;
      }
    }
    Report(results, context, data_->message);
    return false;
  }

 private:
  Constraint* cloneInto(void* p) const override { return new (p) EnumConstraint(*this); }
  size_t sizeOf() const override { return sizeof(*this); }

  std::shared_ptr<const Data> data_;
};

// ---------------------------------------------------------------------------------------
// Builders: valijson calls make() with the value of our private keyword.

class TypeBuilder final : public vj::ConstraintBuilder {
 public:
  Constraint* make(const Adapter& node) const override {
    unsigned mask = 0;
    auto add = [&mask](const Adapter& name) {
      if (!name.isString()) throw SchemaError("'type' must be a string or an array of strings");
      const std::string s = name.getString();
      for (const auto& [type_name, bit] : kTypeNames) {
        if (s == type_name) {
          mask |= bit;
          return true;
        }
      }
      throw SchemaError("unknown type \"" + s + "\" in 'type'");
    };
    if (node.isArray()) {
      node.applyToArray(add);
    } else {
      add(node);
    }
    if (mask == 0) throw SchemaError("'type' must name at least one type");
    // "number" already accepts integers.
    return new TypeConstraint(mask);
  }
};

class FormatBuilder final : public vj::ConstraintBuilder {
 public:
  Constraint* make(const Adapter& node) const override {
    // Preparer only renames the formats that FormatFromName() knows.
    std::optional<Format> format;
    if (node.isString()) format = FormatFromName(node.getString());
    if (!format) throw SchemaError("unsupported use of a reserved $hookd: keyword");
    return new FormatConstraint(*format);
  }
};

// The keyword holds the pattern, compiled by Prepare() into the table.
class PatternBuilder final : public vj::ConstraintBuilder {
 public:
  explicit PatternBuilder(const RegexTable* regexes) : regexes_(regexes) {}

  Constraint* make(const Adapter& node) const override {
    if (!node.isString()) throw SchemaError("'pattern' must be a string");
    auto it = regexes_->find(node.getString());
    if (it == regexes_->end()) throw SchemaError("unsupported use of a reserved $hookd: keyword");
    return new PatternConstraint(&it->second);
  }

 private:
  const RegexTable* regexes_;
};

// The prepared keyword holds the divisor, an int64 or a double, > 0 (Preparer checked it).
class MultipleOfBuilder final : public vj::ConstraintBuilder {
 public:
  Constraint* make(const Adapter& node) const override {
    if (node.isInteger() && node.getInteger() > 0)
      return new MultipleOfConstraint(node.getInteger(), 0,
                                      "must be a multiple of " + std::to_string(node.getInteger()));
    if (node.isDouble() && node.getDouble() > 0 && std::isfinite(node.getDouble()))
      return new MultipleOfConstraint(0, node.getDouble(),
                                      "must be a multiple of " + ToJson(json::value(node.getDouble())));
    throw SchemaError("unsupported use of a reserved $hookd: keyword");
  }
};

// enum values are kept aside by Prepare() (the keyword holds an index into `values`), so
// that they are compared and printed as the exact JSON the operator wrote.
class EnumBuilder final : public vj::ConstraintBuilder {
 public:
  explicit EnumBuilder(const std::vector<json::array>* values) : values_(values) {}

  Constraint* make(const Adapter& node) const override {
    if (!node.isInteger() || node.getInteger() < 0 ||
        static_cast<size_t>(node.getInteger()) >= values_->size()) {
      throw SchemaError("unsupported use of a reserved $hookd: keyword");
    }
    const json::array& values = (*values_)[static_cast<size_t>(node.getInteger())];
    std::string message = "must be one of ";
    constexpr size_t kMaxListed = 12;
    for (size_t i = 0; i < values.size() && i < kMaxListed; ++i) {
      if (i > 0) message += ", ";
      message += json::serialize(values[i]);
    }
    if (values.size() > kMaxListed) message += ", …";
    if (values.empty()) message = "no value is allowed (empty 'enum')";
    return new EnumConstraint(
        std::make_shared<EnumConstraint::Data>(EnumConstraint::Data{values, std::move(message)}));
  }

 private:
  const std::vector<json::array>* values_;
};

// ---------------------------------------------------------------------------------------
// Schema preparation: rename our keywords, check $ref, detect non-terminating cycles.

std::string DecodeFragment(std::string_view fragment) {
  std::string out;
  for (size_t i = 0; i < fragment.size(); ++i) {
    char c = fragment[i];
    if (c == '%' && i + 2 < fragment.size()) {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(fragment[i + 1]), lo = hex(fragment[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

class Preparer {
 public:
  explicit Preparer(const json::value& root) : root_(root) {}

  json::value Run() {
    json::value out = Schema(root_, "", 0);
    // Every $ref target, prepared like any schema, at "#/$hookd:refs/<n>". The list grows
    // while it is prepared (targets hold $refs of their own); each target is prepared once.
    json::array refs;
    for (size_t i = 0; i < ref_targets_.size(); ++i)
      refs.push_back(Schema(*ref_targets_[i], ref_paths_[i], 0));
    if (!refs.empty()) out.as_object()[kRefsKeyword] = std::move(refs);
    CheckCycles();
    return out;
  }

  std::vector<json::array> TakeEnums() { return std::move(enums_); }
  RegexTable TakeRegexes() { return std::move(regexes_); }

 private:
  // The schema at `node` ("path" is its JSON pointer inside the schema, for messages).
  json::value Schema(const json::value& node, const std::string& path, int depth) {
    if (node.is_bool()) return node;
    if (!node.is_object()) {
      throw SchemaError("schema at \"" + path + "\" must be an object or a boolean, not " +
                        std::string(JsonKindName(node)));
    }
    if (depth > kMaxSchemaDepth) throw SchemaError("schema is nested too deeply");
    if (++nodes_ > kMaxSchemaNodes) throw SchemaError("schema is too large");
    schema_nodes_.push_back(&node);

    const json::object& in = node.get_object();
    json::object out;
    for (const auto& [key, value] : in) {
      std::string sub = path + "/" + EscapePointerToken(key);
      if (StartsWith(key, "$hookd:")) {
        throw SchemaError("keyword \"" + std::string(key) + "\" at \"" + path + "\" is reserved");
      } else if (key == "type") {
        out[kTypeKeyword] = value;
      } else if (key == "format") {
        if (!value.is_string()) throw SchemaError("'format' at \"" + path + "\" must be a string");
        // Unknown formats are annotations only: dropped.
        if (FormatFromName(value.get_string())) out[kFormatKeyword] = value;
      } else if (key == "pattern") {
        if (!value.is_string()) throw SchemaError("'pattern' at \"" + path + "\" must be a string");
        CompilePattern(value.get_string(), sub);
        out[kPatternKeyword] = value;
      } else if (key == "multipleOf") {
        const bool positive = (value.is_int64() && value.get_int64() > 0) || value.is_uint64() ||
                              (value.is_double() && value.get_double() > 0 && std::isfinite(value.get_double()));
        if (!positive)
          throw SchemaError("'multipleOf' at \"" + path + "\" must be a number greater than 0");
        out[kMultipleOfKeyword] = value.is_uint64() ? json::value(static_cast<double>(value.get_uint64())) : value;
      } else if (key == "enum") {
        if (!value.is_array()) throw SchemaError("'enum' at \"" + path + "\" must be an array");
        enums_.push_back(value.get_array());
        out[kEnumKeyword] = static_cast<int64_t>(enums_.size() - 1);
      } else if (key == "$ref") {
        if (!value.is_string()) throw SchemaError("'$ref' at \"" + path + "\" must be a string");
        out[key] = "#/" + std::string(kRefsKeyword) + "/" + std::to_string(RefIndex(value.get_string(), path));
      } else if (key == "properties" || key == "definitions" || key == "$defs") {
        out[key] = SchemaMap(value, sub, depth);
      } else if (key == "patternProperties") {
        if (value.is_object()) {
          for (const auto& [re, unused] : value.get_object()) {
            CompilePattern(re, sub);
          }
        }
        out[key] = SchemaMap(value, sub, depth);
      } else if (key == "dependencies") {
        if (value.is_object()) {
          json::object deps;
          for (const auto& [name, dep] : value.get_object()) {
            deps[name] = dep.is_array() ? dep
                                        : Schema(dep, sub + "/" + EscapePointerToken(name),
                                                 depth + 1);
          }
          out[key] = std::move(deps);
        } else {
          out[key] = value;
        }
      } else if (key == "items" || key == "allOf" || key == "anyOf" || key == "oneOf") {
        if (value.is_array()) {
          json::array items;
          const json::array& arr = value.get_array();
          for (size_t i = 0; i < arr.size(); ++i) {
            items.push_back(Schema(arr[i], sub + "/" + std::to_string(i), depth + 1));
          }
          out[key] = std::move(items);
        } else if (key == "items") {
          out[key] = Schema(value, sub, depth + 1);
        } else {
          throw SchemaError("'" + std::string(key) + "' at \"" + path + "\" must be an array");
        }
      } else if (key == "additionalItems" || key == "additionalProperties" ||
                 key == "contains" || key == "if" || key == "then" || key == "else" ||
                 key == "not" || key == "propertyNames") {
        out[key] = Schema(value, sub, depth + 1);
      } else {
        // Annotations, data (const, default, examples), numbers, required, unknown keywords.
        out[key] = value;
      }
    }
    return out;
  }

  json::value SchemaMap(const json::value& value, const std::string& path, int depth) {
    if (!value.is_object()) return value;  // valijson reports the misuse
    json::object out;
    for (const auto& [name, sub] : value.get_object()) {
      out[name] = Schema(sub, path + "/" + EscapePointerToken(name), depth + 1);
    }
    return out;
  }

  void CompilePattern(std::string_view pattern, const std::string& path) {
    if (regexes_.count(std::string(pattern))) return;
    auto re = Regex::Compile(pattern, kSchemaRegexLimits);
    if (!re) {
      throw SchemaError("invalid regular expression " + json::serialize(json::string(pattern)) +
                        " in \"" + path + "\": " + re.error().message);
    }
    regexes_.emplace(std::string(pattern), std::move(*re));
  }

  // The index in "$hookd:refs" of the prepared copy of `ref`'s target.
  size_t RefIndex(std::string_view ref, const std::string& path) {
    const json::value* target = Target(ref, path);
    auto [it, added] = ref_index_.emplace(target, ref_targets_.size());
    if (added) {
      ref_targets_.push_back(target);
      ref_paths_.push_back(std::string(ref));
    }
    return it->second;
  }

  // The node a local $ref points to; refuses remote and unresolvable references.
  const json::value* Target(std::string_view ref, const std::string& path) {
    if (ref.empty() || ref.front() != '#') {
      throw SchemaError("$ref \"" + std::string(ref) + "\" at \"" + path +
                        "\" is not supported: only local references (\"#/definitions/...\")");
    }
    std::string pointer = DecodeFragment(ref.substr(1));
    const json::value* target = nullptr;
    if (pointer.empty() || pointer.front() == '/') target = ResolvePointer(root_, pointer);
    if (!target) {
      throw SchemaError("$ref \"" + std::string(ref) + "\" at \"" + path +
                        "\" does not resolve to anything in the schema");
    }
    if (!target->is_object() && !target->is_bool()) {
      throw SchemaError("$ref \"" + std::string(ref) + "\" at \"" + path +
                        "\" does not point to a schema");
    }
    return target;
  }

  // Keywords that apply a subschema to the same instance value. A cycle through these
  // (and $ref) never reaches a leaf: valijson would recurse until the stack overflows.
  std::vector<const json::value*> InPlaceChildren(const json::value& node) {
    std::vector<const json::value*> out;
    if (!node.is_object()) return out;
    const json::object& o = node.get_object();
    for (const auto& [key, value] : o) {
      if (key == "$ref" && value.is_string()) {
        out.push_back(Target(value.get_string(), ""));
      } else if ((key == "allOf" || key == "anyOf" || key == "oneOf") && value.is_array()) {
        for (const json::value& v : value.get_array()) out.push_back(&v);
      } else if (key == "not" || key == "if" || key == "then" || key == "else") {
        out.push_back(&value);
      } else if (key == "dependencies" && value.is_object()) {
        for (const auto& [name, dep] : value.get_object()) {
          if (!dep.is_array()) out.push_back(&dep);
        }
      }
    }
    return out;
  }

  void CheckCycles() {
    enum Color { kWhite, kGrey, kBlack };
    std::unordered_map<const json::value*, Color> color;
    struct Frame {
      const json::value* node;
      std::vector<const json::value*> children;
      size_t next = 0;
    };
    for (const json::value* start : schema_nodes_) {
      if (color[start] != kWhite) continue;
      std::vector<Frame> stack;
      color[start] = kGrey;
      stack.push_back({start, InPlaceChildren(*start)});
      while (!stack.empty()) {
        Frame& top = stack.back();
        if (top.next == top.children.size()) {
          color[top.node] = kBlack;
          stack.pop_back();
          continue;
        }
        const json::value* child = top.children[top.next++];
        Color& c = color[child];
        if (c == kGrey) {
          throw SchemaError(
              "schema has a circular $ref that never reaches a value (e.g. {\"$ref\": \"#\"})");
        }
        if (c == kWhite) {
          c = kGrey;
          stack.push_back({child, InPlaceChildren(*child)});
        }
      }
    }
  }

  const json::value& root_;
  std::vector<json::array> enums_;
  RegexTable regexes_;
  std::unordered_map<const json::value*, size_t> ref_index_;
  std::vector<const json::value*> ref_targets_;
  std::vector<std::string> ref_paths_;
  std::vector<const json::value*> schema_nodes_;
  size_t nodes_ = 0;
};

// ---------------------------------------------------------------------------------------
// Turning valijson's results into FieldErrors.

std::string ContextToPointer(const std::vector<std::string>& context) {
  std::string out;
  for (size_t i = 0; i < context.size(); ++i) {
    std::string_view token = context[i];
    if (i == 0 && token == "<root>") continue;
    if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
      token = token.substr(1, token.size() - 2);
    }
    out += '/';
    out += EscapePointerToken(token);
  }
  return out;
}

// "<prefix>NAME<suffix>" -> NAME, if `message` has that shape.
std::optional<std::string_view> Between(std::string_view message, std::string_view prefix,
                                        std::string_view suffix) {
  if (message.size() < prefix.size() + suffix.size() || !StartsWith(message, prefix) ||
      message.substr(message.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  return message.substr(prefix.size(), message.size() - prefix.size() - suffix.size());
}

constexpr std::string_view kPropertyFailed =
    "Failed to validate against schema associated with property name '";
constexpr std::string_view kArrayItemFailed = "Failed to validate item #";

// Messages that valijson adds to a parent when a child failed; they say nothing new when
// the child's own error is reported.
bool IsPropagation(std::string_view m) {
  return StartsWith(m, kPropertyFailed) ||
         StartsWith(m, "Failed to validate against schema associated with pattern") ||
         StartsWith(m, "Failed to validate against additional properties schema") ||
         StartsWith(m, kArrayItemFailed) ||
         StartsWith(m, "Failed to validate against child schema #") ||
         StartsWith(m, "Failed to validate against dependent schema") ||
         StartsWith(m, "Failed to validate against a conditional schema");
}

// "1.500000" -> "1.5", "0.000000" -> "0" (valijson prints limits with std::to_string).
std::string TrimNumber(std::string_view n) {
  std::string out(n);
  if (out.find('.') != std::string::npos) {
    while (!out.empty() && out.back() == '0') out.pop_back();
    if (!out.empty() && out.back() == '.') out.pop_back();
  }
  return out;
}

// valijson's wording for the keywords we leave to it, in the style of our own messages.
std::optional<std::string> Reword(std::string_view m) {
  static constexpr std::pair<std::string_view, std::string_view> kFixed[] = {
      {"Failed to validate against any schemas allowed by anyOf constraint.",
       "must match at least one of the 'anyOf' schemas"},
      {"Failed to validate against any child schemas allowed by oneOf constraint.",
       "must match exactly one of the 'oneOf' schemas (matches none)"},
      {"Failed to validate against exactly one child schema.",
       "must match exactly one of the 'oneOf' schemas (matches several)"},
      {"Target should not validate against schema specified in 'not' constraint.",
       "must not match the 'not' schema"},
      {"Failed to match expected value set by 'const' constraint.",
       "must be equal to the 'const' value"},
      {"Failed to any values against subschema in 'contains' constraint.",
       "must contain at least one item that matches the 'contains' schema"},
      {"Array contains more items than allowed by items constraint.",
       "has more items than the 'items' list allows"},
  };
  for (const auto& [from, to] : kFixed) {
    if (m == from) return std::string(to);
  }
  static constexpr std::array<std::tuple<std::string_view, std::string_view, std::string_view,
                                         std::string_view>, 10>
      kShaped = {{
          {"Expected number greater than or equal to ", "", "must be greater than or equal to ", ""},
          {"Expected number greater than ", "", "must be greater than ", ""},
          {"Expected number less than or equal to ", "", "must be less than or equal to ", ""},
          {"Expected number less than ", "", "must be less than ", ""},
          {"String should be no fewer than ", " characters in length.", "must be at least ",
           " characters long"},
          {"String should be no more than ", " characters in length.", "must be at most ",
           " characters long"},
          {"Array should contain no fewer than ", " elements.", "must have at least ", " items"},
          {"Array should contain no more than ", " elements.", "must have at most ", " items"},
          {"Object should have no fewer than ", " properties.", "must have at least ", " properties"},
          {"Object should have no more than ", " properties.", "must have at most ", " properties"},
      }};
  for (const auto& [prefix, suffix, new_prefix, new_suffix] : kShaped) {
    if (auto n = Between(m, prefix, suffix)) {
      return std::string(new_prefix) + TrimNumber(*n) + std::string(new_suffix);
    }
  }
  return std::nullopt;
}

struct Violation {
  std::string pointer;
  std::string message;
  bool propagation = false;
};

std::vector<FieldError> Simplify(const vj::ValidationResults& results) {
  std::vector<Violation> all;
  all.reserve(results.numErrors());
  for (const auto& e : results) {
    Violation v{ContextToPointer(e.context), e.description, false};
    if (auto name = Between(v.message, "Missing required property '", "'.")) {
      v.pointer += "/" + EscapePointerToken(*name);
      v.message = "required property '" + std::string(*name) + "' is missing";
    } else if (auto extra = Between(v.message,
                                    "Object contains a property that could not be validated "
                                    "using 'properties' or 'additionalProperties' constraints: '",
                                    "'.")) {
      v.pointer += "/" + EscapePointerToken(*extra);
      v.message = "property '" + std::string(*extra) + "' is not allowed";
    } else if (auto dependency = Between(v.message, "Missing dependency '", "'.")) {
      v.pointer += "/" + EscapePointerToken(*dependency);
      v.message = "required property '" + std::string(*dependency) +
                  "' is missing (another property depends on it)";
    } else if (auto reworded = Reword(v.message)) {
      v.message = std::move(*reworded);
    } else {
      v.propagation = IsPropagation(v.message);
    }
    all.push_back(std::move(v));
  }

  // A propagation entry is noise when another entry sits deeper in the instance, or at the
  // same place with a real message.
  std::set<std::string> pointers, real_pointers;
  for (const Violation& v : all) {
    pointers.insert(v.pointer);
    if (!v.propagation) real_pointers.insert(v.pointer);
  }
  auto has_deeper = [&pointers](const std::string& p) {
    std::string prefix = p + "/";
    auto it = pointers.lower_bound(prefix);
    return it != pointers.end() && StartsWith(*it, prefix);
  };

  std::vector<FieldError> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (Violation& v : all) {
    if (v.propagation) {
      if (real_pointers.count(v.pointer) || has_deeper(v.pointer)) continue;
      // The child failed without a message of its own: its schema is `false`.
      if (auto name = Between(v.message, kPropertyFailed, "'.")) {
        v.pointer += "/" + EscapePointerToken(*name);
        v.message = "value is not allowed here";
      } else if (auto index = Between(v.message, kArrayItemFailed, " in array.")) {
        v.pointer += "/" + std::string(*index);
        v.message = "value is not allowed here";
      } else if (StartsWith(v.message, kArrayItemFailed)) {
        v.message = "value is not allowed here";  // already the item's own pointer
      }
    }
    if (seen.emplace(v.pointer, v.message).second) {
      out.push_back({std::move(v.pointer), std::move(v.message)});
    }
  }
  return out;
}

}  // namespace

struct SchemaValidator::Impl {
  json::value prepared;  // the rewritten schema; valijson's Schema does not point into it
  RegexTable regexes;    // every pattern and patternProperties key, compiled
  vj::Schema schema;
};

Result<SchemaValidator> SchemaValidator::Compile(const json::value& schema) {
  if (!schema.is_object() && !schema.is_bool()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a JSON Schema must be a JSON object or a boolean, not " +
                         std::string(JsonKindName(schema)));
  }
  auto impl = std::make_shared<Impl>();
  try {
    Preparer preparer(schema);
    impl->prepared = preparer.Run();
    std::vector<json::array> enums = preparer.TakeEnums();
    impl->regexes = preparer.TakeRegexes();

    vj::SchemaParser parser(vj::SchemaParser::kDraft7);
    parser.addConstraintBuilder(std::string(kTypeKeyword), new TypeBuilder());
    parser.addConstraintBuilder(std::string(kFormatKeyword), new FormatBuilder());
    parser.addConstraintBuilder(std::string(kPatternKeyword), new PatternBuilder(&impl->regexes));
    parser.addConstraintBuilder(std::string(kEnumKeyword), new EnumBuilder(&enums));
    parser.addConstraintBuilder(std::string(kMultipleOfKeyword), new MultipleOfBuilder());
    parser.populateSchema(vj::adapters::BoostJsonAdapter(impl->prepared), impl->schema);
  } catch (const std::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("invalid JSON Schema: ") + e.what());
  }
  return SchemaValidator(std::move(impl));
}

std::vector<FieldError> SchemaValidator::Validate(const json::value& instance) const {
  // One Validator per thread, reused across calls (it owns valijson's regex cache; our
  // patterns are precompiled in PatternConstraint, so that cache stays small).
  thread_local vj::Validator validator(vj::Validator::kStrongTypes);
  const vj::adapters::BoostJsonAdapter target(instance);
  ValidationRun run{&impl_->regexes};
  struct RunScope {
    explicit RunScope(ValidationRun* r) { current_run = r; }
    ~RunScope() { current_run = nullptr; }
  } scope(&run);
  try {
    // Fast path: stops at the first failure and collects nothing.
    if (validator.validate(impl_->schema, target, nullptr)) return {};

    vj::ValidationResults results;
    run = ValidationRun{&impl_->regexes};
    validator.validate(impl_->schema, target, &results);
    std::vector<FieldError> errors = Simplify(results);
    if (errors.empty()) errors.push_back({"", "value does not match the schema"});
    return errors;
  } catch (const ValidationLimit& e) {
    return {{"", std::string("value is too complex to check against its schema: ") + e.what()}};
  } catch (const std::exception& e) {
    return {{"", std::string("value could not be checked against the schema: ") + e.what()}};
  }
}

}  // namespace hookd
