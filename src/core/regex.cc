#include "core/regex.h"

#include <re2/re2.h>

#include <algorithm>

#include <fmt/format.h>

namespace hookd {

namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Why RE2 refused `pattern`, in the words a pattern's author understands.
std::string Reason(const re2::RE2& re) {
  const std::string& arg = re.error_arg();
  switch (re.error_code()) {
    case re2::RE2::ErrorBadPerlOp:
      if (arg.starts_with("(?=") || arg.starts_with("(?!") || arg.starts_with("(?<=") ||
          arg.starts_with("(?<!"))
        return "lookahead and lookbehind ((?=...), (?!...), (?<=...), (?<!...)) are not supported";
      break;
    case re2::RE2::ErrorBadEscape:
      if (arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9')
        return "back-references (\\1...) are not supported";
      if (arg == "\\k") return "back-references (\\k<name>) are not supported";
      break;
    case re2::RE2::ErrorPatternTooLarge:
      return "pattern is too complex (its compiled form is over the size limit)";
    case re2::RE2::ErrorRepeatSize:
      return "a repetition count is too large (at most 1000, and nested counts multiply)";
    default:
      break;
  }
  return re.error();
}

}  // namespace

std::string TranslateEcmaScriptPattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      // \uXXXX: RE2 spells a code point \x{XXXX}.
      if (p[i + 1] == 'u' && i + 5 < p.size() && IsHex(p[i + 2]) && IsHex(p[i + 3]) &&
          IsHex(p[i + 4]) && IsHex(p[i + 5])) {
        out += "\\x{";
        out.append(p.substr(i + 2, 4));
        out += '}';
        i += 5;
        continue;
      }
      out += c;
      out += p[i + 1];
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      if (p.substr(i, 3) == "[^]") {  // any character, line breaks included
        out += "(?s:.)";
        i += 2;
        continue;
      }
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is literal in RE2; copy it so it does not close.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == '(' && p.substr(i, 3) == "(?<" && i + 3 < p.size() && p[i + 3] != '=' &&
        p[i + 3] != '!') {
      out += "(?P<";  // named group
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

Result<Regex> Regex::Compile(std::string_view pattern, const RegexLimits& limits) {
  if (pattern.size() > limits.max_pattern_length)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("pattern is longer than {} characters", limits.max_pattern_length));
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_max_mem(limits.max_memory);
  const std::string translated = TranslateEcmaScriptPattern(pattern);
  auto re = std::make_shared<const re2::RE2>(translated, options);
  if (!re->ok()) return MakeError(ErrorCode::kInvalidArgument, Reason(*re));
  const int size = std::max(re->ProgramSize(), re->ReverseProgramSize());
  if (size > limits.max_program_size)
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("pattern is too complex: its compiled size is {}, over the limit of {} "
                                 "(large repetition counts such as a{{500}} cost the most)",
                                 size, limits.max_program_size));
  return Regex(std::string(pattern), std::move(re), size);
}

bool Regex::Search(std::string_view subject) const {
  return re2::RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *re_);
}

}  // namespace hookd
