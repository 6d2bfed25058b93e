#include "core/json_util.h"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <fmt/format.h>

#include <optional>
#include <vector>

namespace hookd {

namespace {

namespace json = boost::json;

// A JSON number as a decimal value: sign, significant digits without leading or trailing
// zeros, and the exponent E of 0.DIGITS x 10^E. Zero has no digits.
struct Decimal {
  bool negative = false;
  std::string digits;
  long exponent = 0;
  bool operator==(const Decimal&) const = default;
};

Decimal ToDecimal(std::string_view text) {
  Decimal d;
  size_t i = 0;
  if (i < text.size() && text[i] == '-') d.negative = true, ++i;
  long point = -1;  // digits before the decimal point
  std::string all;
  for (; i < text.size() && text[i] != 'e' && text[i] != 'E'; ++i) {
    if (text[i] == '.') point = static_cast<long>(all.size());
    else all += text[i];
  }
  if (point < 0) point = static_cast<long>(all.size());
  long exp10 = 0;
  if (i < text.size()) {  // exponent
    ++i;
    bool neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    for (; i < text.size(); ++i) exp10 = std::min<long>(exp10 * 10 + (text[i] - '0'), 100000000);
    if (neg) exp10 = -exp10;
  }
  size_t lead = all.find_first_not_of('0');
  if (lead == std::string::npos) return Decimal{false, "", 0};  // zero, whatever its sign
  size_t last = all.find_last_not_of('0');
  d.digits = all.substr(lead, last - lead + 1);
  d.exponent = point - static_cast<long>(lead) + exp10;
  return d;
}

// True when `text` (a JSON number) has at most 15 significant digits and a decimal exponent
// well inside the normal range: such a decimal always survives a round trip through a double
// (DBL_DIG), so the costly exact comparison can be skipped — the usual case by far.
bool SurelyExact(std::string_view text) {
  int digits = 0, pending_zeros = 0;
  bool leading = true;
  long exponent = 0, position = 0;  // position: digits before the point, for the magnitude
  bool after_point = false;
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      after_point = true;
      continue;
    }
    if (c == 'e' || c == 'E') break;
    if (!after_point) ++position;
    if (c == '0') {
      if (!leading) ++pending_zeros;  // significant only if a non-zero digit follows
      continue;
    }
    leading = false;
    digits += pending_zeros + 1;
    pending_zeros = 0;
  }
  if (digits > 15) return false;
  if (i < text.size()) {  // exponent
    ++i;
    bool neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    for (; i < text.size(); ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > 1000) return false;
    }
    if (neg) exponent = -exponent;
  }
  const long magnitude = exponent + position;
  return magnitude > -290 && magnitude < 290;
}

// Builds the value like boost::json::parser does, and refuses numbers that would not come
// out as they went in: non-finite ones (1e400) and ones with more precision than a double
// keeps (a 30-digit integer). With `track`, it follows where it is, for the error's pointer.
class CheckedHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  // `buffer`: where the value stack starts, before it needs the heap (as boost::json::parse).
  CheckedHandler(unsigned char* buffer, size_t size) : st(json::storage_ptr(), buffer, size) {}

  json::value_stack st;
  bool track = false;
  std::optional<FieldError> bad;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return Open(false); }
  bool on_object_end(std::size_t n, json::error_code&) {
    st.push_object(n);
    return Close();
  }
  bool on_array_begin(json::error_code&) { return Open(true); }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return Close();
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    if (track) key_ += std::string_view(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    if (track) {
      key_ += std::string_view(s);
      path_.back().key = std::move(key_);
      key_.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return Scalar();
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_ += std::string_view(s);
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    st.push_int64(i);
    return Scalar();
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return Scalar();
  }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    // The number's text: in one piece unless the input was fed in parts.
    std::string_view text(s.data(), s.size());
    if (!number_.empty()) {
      number_ += text;
      text = number_;
    }
    // Boost 1.81's own conversion is not always the nearest double ("4611685e33" came out
    // one ulp off, and was then sent as 4.6116849999999995e+39): std::from_chars is exact.
    if (double precise; std::from_chars(text.data(), text.data() + text.size(), precise).ec == std::errc())
      d = precise;
    if (!std::isfinite(d)) {
      return Refuse(ec, fmt::format("number {} is out of range: it would not be sent as written (a number "
                                    "must fit a 64-bit floating point value)", Short(text)));
    }
    char buf[64];
    const auto exact = [&] {
      if (SurelyExact(text)) return true;
      auto [end, err] = std::to_chars(buf, buf + sizeof buf, d);
      return ToDecimal(std::string_view(buf, static_cast<size_t>(end - buf))) == ToDecimal(text);
    };
    if (!exact()) {
      return Refuse(ec, fmt::format("number {} has more digits than can be kept: it would not be sent as "
                                    "written (at most 17 significant digits; integers up to 2^64 are exact; "
                                    "send longer numbers as strings)", Short(text)));
    }
    number_.clear();
    st.push_double(d);
    return Scalar();
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return Scalar();
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return Scalar();
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool array = false;
    size_t index = 0;
    std::string key;
  };
  std::vector<Frame> path_;
  std::string key_;
  std::string number_;

  bool Open(bool array) {
    if (track) path_.push_back(Frame{array, 0, {}});
    return true;
  }
  bool Close() {
    if (track) path_.pop_back();
    return Scalar();
  }
  bool Scalar() {
    if (track && !path_.empty() && path_.back().array) ++path_.back().index;
    return true;
  }
  static std::string Short(std::string_view n) {
    return n.size() <= 40 ? std::string(n) : std::string(n.substr(0, 40)) + "...";
  }
  bool Refuse(json::error_code& ec, std::string message) {
    std::string pointer;
    for (const Frame& f : path_) pointer += "/" + (f.array ? std::to_string(f.index) : EscapePointerToken(f.key));
    bad = FieldError{std::move(pointer), std::move(message)};
    ec = json::make_error_code(json::error::exception);
    return false;
  }
};

struct CheckedParse {
  json::value value;
  json::error_code ec;
  std::optional<FieldError> bad;
};

CheckedParse Parse(std::string_view text, bool track) {
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
  json::basic_parser<CheckedHandler> p(opt, temp, sizeof temp);
  p.handler().track = track;
  p.handler().st.reset();
  CheckedParse out;
  const size_t n = p.write_some(false, text.data(), text.size(), out.ec);
  if (!out.ec && n < text.size()) out.ec = json::make_error_code(json::error::extra_data);
  out.bad = std::move(p.handler().bad);
  if (!out.ec) out.value = p.handler().st.release();
  return out;
}

}  // namespace

Result<boost::json::value> ParseJson(std::string_view text) {
  CheckedParse r = Parse(text, false);
  if (r.bad) {
    // Rare: parse again, following the path, to say where the number is.
    FieldError where = Parse(text, true).bad.value_or(*r.bad);
    std::string message = where.message;
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), {std::move(where)});
  }
  if (r.ec == json::error::too_deep) {  // well-formed, but over a limit: a validation error (422)
    std::string message = fmt::format("JSON nested more than {} levels deep", kMaxJsonDepth);
    return MakeError(ErrorCode::kInvalidArgument, message, {FieldError{"", message}});
  }
  if (r.ec) return MakeError(ErrorCode::kInvalidArgument, "malformed JSON: " + r.ec.message());
  return std::move(r.value);
}

namespace {

// Boost.JSON 1.81 prints doubles as "4.04468E1"; receivers deserve "40.4468". Numbers are
// written in their shortest round-trip form (std::to_chars), everything else as Boost does.
void Write(const boost::json::value& v, std::string& out);

void WriteObject(const boost::json::object& o, std::string& out) {
  out += '{';
  bool first = true;
  for (const auto& [k, x] : o) {
    if (!first) out += ',';
    first = false;
    out += boost::json::serialize(boost::json::string_view(k));
    out += ':';
    Write(x, out);
  }
  out += '}';
}

void WriteArray(const boost::json::array& a, std::string& out) {
  out += '[';
  bool first = true;
  for (const auto& x : a) {
    if (!first) out += ',';
    first = false;
    Write(x, out);
  }
  out += ']';
}

void Write(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object:
      WriteObject(v.get_object(), out);
      return;
    case boost::json::kind::array:
      WriteArray(v.get_array(), out);
      return;
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

std::string ToJson(const boost::json::object& o) {
  std::string out;
  out.reserve(256);
  WriteObject(o, out);
  return out;
}

std::string ToJson(const boost::json::array& a) {
  std::string out;
  out.reserve(256);
  WriteArray(a, out);
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
