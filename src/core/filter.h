#pragma once
// Endpoint filters (SPEC §5.8): a small MongoDB-like query language matched against the
// payload a receiver would get (the §3 body: {"id","type","timestamp","company_id",
// "data":{...}}). Non-matching events create no delivery for that endpoint.
//
//   {"type": "contract.updated", "data.contract.salary.amount": {"$gt": 100000}}
//   {"$or": [{"data.request.days": {"$gt": 10}}, {"data.request.type": "parental"}]}
//
// Grammar. A filter is a JSON object; its entries are ANDed.
//   "<path>": <scalar>                      same as {"$eq": <scalar>}
//   "<path>": {"$op": operand, ...}         several operators are ANDed
//   "$and" / "$or": [<filter>, ...]         a non-empty array of filter objects
// Paths are dot-separated keys from the payload root, whose first key must be one of
// id, type, timestamp, company_id, data. A segment that is a decimal number also indexes
// arrays ("data.changes.0.field"). There is no implicit "any element of an array".
//
// Operators and their meaning (v = the value at the path, "missing" = path not found):
//   $eq, $neq   operand: string, number, boolean or null. Numbers compare by value across
//               int/uint/double (10 == 10.0); other types compare only with the same type.
//               $neq is exactly "not $eq": true when missing or of another type.
//   $gt $gte $lt $lte   operand: number or string. Numbers numerically, strings
//               lexicographically by bytes (so ISO dates "2026-11-26" order correctly).
//               False when missing or when v and the operand are not both numbers or
//               both strings.
//   $in, $nin   operand: array (at most 1000) of scalars; $in is "$eq one of them",
//               $nin is "not $in" (true when missing).
//   $exists     operand: true or false.
//   $regex      operand: a regular expression (ECMAScript syntax, at most 256 characters),
//               unanchored search (use ^ and $), case-sensitive ((?i) turns that off).
//               Matches strings of at most 4 KiB only: a longer string never matches.
//               Runs on RE2 (core/regex.h): linear time in the string, bounded memory; no
//               back-references or lookaround. Each expression's compiled size is at most
//               500 (about a{480}; large counted repetitions cost the most) and a filter's
//               expressions together at most 2,000, so the work of matching an event is
//               bounded whatever the input (with the per-company budget of endpoint_index.h).
// Limits: at most 8 levels of nested filter objects (the top one is level 1, each
// $and/$or element one deeper) and at most 50 conditions (operator applications) in all.
//
// Compile errors are kInvalidArgument with one FieldError per problem whose pointer is an
// RFC 6901 pointer into the filter JSON ("" is the filter itself,
// "/data.contract.salary.amount/$gt", "/$or/1/type"); the API prefixes "/filter".
//
// A Filter is immutable and cheap to copy (shared state); Matches is thread-safe.

#include <boost/json/value.hpp>
#include <memory>

#include "core/error.h"

namespace hookd {

inline constexpr int kMaxFilterDepth = 8;
inline constexpr int kMaxFilterConditions = 50;
inline constexpr size_t kMaxFilterRegexLength = 256;
inline constexpr int kMaxFilterRegexProgram = 500;        // one $regex (RE2 program size)
inline constexpr int kMaxFilterRegexProgramTotal = 2000;  // all of one filter's $regex
inline constexpr size_t kMaxFilterRegexSubject = 4 * 1024;  // longer strings never match
inline constexpr size_t kMaxFilterInValues = 1000;
inline constexpr size_t kMaxFilterPathLength = 256;

class Filter {
 public:
  // The empty filter ({}): matches every payload.
  Filter();

  static Result<Filter> Compile(const boost::json::value& spec);

  // True when `payload` (the §3 body) satisfies the filter. Never throws.
  bool Matches(const boost::json::value& payload) const;

  // The spec this filter was compiled from, unchanged (what the API returns and stores).
  const boost::json::value& ToJson() const { return spec_; }

  // What its $regex conditions cost together (sum of RE2 program sizes) and how many there
  // are: per-company budgets add these up over endpoints (EndpointIndex).
  int RegexProgramSize() const { return regex_program_size_; }
  int RegexCount() const { return regex_count_; }

  struct Node;  // compiled expression tree (filter.cc)

 private:
  Filter(std::shared_ptr<const Node> root, boost::json::value spec, int regex_program_size,
         int regex_count)
      : root_(std::move(root)),
        spec_(std::move(spec)),
        regex_program_size_(regex_program_size),
        regex_count_(regex_count) {}
  std::shared_ptr<const Node> root_;  // null for the empty filter
  boost::json::value spec_;
  int regex_program_size_ = 0;
  int regex_count_ = 0;
};

}  // namespace hookd
