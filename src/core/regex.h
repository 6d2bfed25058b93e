#pragma once
// The only regular expressions hookd runs on input it does not control (JSON Schema
// `pattern` / `patternProperties`, filter `$regex`): RE2, whose matching time is linear in
// the subject and whose memory is bounded per expression, so that no pattern and no input
// can stall a thread, overflow a stack or exhaust memory. Backtracking engines (std::regex)
// are not used anywhere on input.
//
// Syntax: patterns are written as ECMAScript (what JSON Schema and filters document) and
// run on RE2, which shares the common syntax. Compile() translates the ECMAScript-only
// forms RE2 spells differently (\uXXXX, (?<name>…), [^]) and refuses, with a message naming
// the construct, what a linear-time engine cannot run: back-references (\1, \k<name>) and
// lookaround ((?=, (?!, (?<=, (?<!). Subjects are UTF-8; `.` and classes match code points.
//
// A Regex is immutable and cheap to copy (shared state); Search() is thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace re2 {
class RE2;
}

namespace hookd {

struct RegexLimits {
  size_t max_pattern_length = 1024;  // characters of the pattern as written
  // RE2's compiled program size (instructions): what one matched byte costs at worst.
  int max_program_size = 2000;
  // Memory RE2 may use for the compiled program and its DFA caches, per expression. Below
  // about 1 MiB, patterns with counted repetitions outgrow the DFA's cache and RE2 falls back
  // to its NFA, ~100 times slower (measured: [a-z]{150}[0-9]{150} on 16 KiB, 14 ms at
  // 256 KiB, 0.14 ms at 1 MiB).
  int64_t max_memory = 1024 * 1024;
};

class Regex {
 public:
  // kInvalidArgument with a readable reason ("lookahead (?=…) is not supported",
  // "pattern is too complex: …") when the pattern cannot be run within `limits`.
  static Result<Regex> Compile(std::string_view pattern, const RegexLimits& limits = {});

  // True when the pattern matches somewhere in `subject` (unanchored, as ECMAScript's
  // RegExp.test and JSON Schema's `pattern`). Time is linear in subject.size().
  bool Search(std::string_view subject) const;

  // The pattern as written (before translation).
  const std::string& Pattern() const { return pattern_; }
  // RE2's program size, for budgets over many expressions.
  int ProgramSize() const { return program_size_; }

 private:
  Regex(std::string pattern, std::shared_ptr<const re2::RE2> re, int program_size)
      : pattern_(std::move(pattern)), re_(std::move(re)), program_size_(program_size) {}
  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;
  int program_size_ = 0;
};

// ECMAScript pattern syntax rewritten for RE2 (exposed for tests). Unsupported constructs
// are left as written, for RE2 to refuse.
std::string TranslateEcmaScriptPattern(std::string_view pattern);

}  // namespace hookd
