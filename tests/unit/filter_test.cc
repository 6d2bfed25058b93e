#include "core/filter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace hookd {
namespace {

namespace json = boost::json;

json::value J(std::string_view text) { return json::parse(text); }

Filter MustCompile(std::string_view spec) {
  Result<Filter> f = Filter::Compile(J(spec));
  EXPECT_TRUE(f.has_value()) << spec << ": " << (f ? "" : f.error().message);
  return f ? *f : Filter();
}

// The single FieldError of a filter that must fail to compile.
FieldError CompileError(std::string_view spec) {
  Result<Filter> f = Filter::Compile(J(spec));
  EXPECT_FALSE(f.has_value()) << spec;
  if (f) return {};
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument) << spec;
  EXPECT_EQ(f.error().fields.size(), 1u) << spec;
  if (f.error().fields.empty()) return {};
  EXPECT_EQ(f.error().message, "invalid filter: " + f.error().fields[0].message);
  return f.error().fields[0];
}

// --- realistic payloads (SPEC §3 bodies) ------------------------------------------------

json::value ContractUpdated(std::string_view amount_json,
                            std::string_view type = "contract.updated") {
  return J(fmt::format(R"({{
    "id": "evt_01JD8X3K5Q8W2N6T4R7Y9B1C3D", "type": "{}",
    "timestamp": "2026-11-26T10:00:00.000Z", "company_id": "co_01JD8X0000000000000000000A",
    "data": {{
      "contract": {{"id": "ctr_884", "employee_id": "emp_1042", "type": "permanent",
                    "start_date": "2024-01-01", "end_date": null, "hours_per_week": 40,
                    "salary": {{"amount": {}, "currency": "EUR", "period": "year"}}}},
      "changes": [{{"field": "salary.amount", "from": 95000, "to": {}}}]
    }}}})",
                       type, amount_json, amount_json));
}

json::value TimeOffRequested(std::string_view days_json, std::string_view type = "vacation",
                             std::string_view start = "2026-12-21") {
  std::string days = days_json.empty() ? "" : fmt::format(R"("days": {},)", days_json);
  return J(fmt::format(R"({{
    "id": "evt_01JD8X3K5Q8W2N6T4R7Y9B1C3E", "type": "time_off.requested",
    "timestamp": "2026-11-26T10:00:00.000Z", "company_id": "co_01JD8X0000000000000000000A",
    "data": {{"request": {{"id": "tor_12", "employee_id": "emp_1042", "type": "{}",
                          "start_date": "{}", "end_date": "2027-01-08", {}
                          "comment": "family trip"}}}}}})",
                       type, start, days));
}

json::value ClockedIn(std::string_view source_json) {
  std::string source = source_json.empty() ? "" : fmt::format(R"("source": {},)", source_json);
  return J(fmt::format(R"({{
    "id": "evt_01JD8X3K5Q8W2N6T4R7Y9B1C3F", "type": "time_entry.clocked_in",
    "timestamp": "2026-11-26T07:58:12.000Z", "company_id": "co_01JD8X0000000000000000000A",
    "data": {{"entry": {{"id": "te_9", "employee_id": "emp_1042", "at": "2026-11-26T07:58:12Z",
                        {} "location": {{"lat": 41.39, "lon": 2.17}}}}}}}})",
                       source));
}

json::value Hired(std::string_view email, bool with_manager) {
  return J(fmt::format(R"({{
    "id": "evt_01JD8X3K5Q8W2N6T4R7Y9B1C3G", "type": "employee.hired",
    "timestamp": "2026-11-26T10:00:00.000Z", "company_id": "co_01JD8X0000000000000000000A",
    "data": {{"employee": {{"id": "emp_2001", "first_name": "Ana", "last_name": "García",
                           "email": "{}", "start_date": "2027-01-04" {}}}}}}})",
                       email, with_manager ? R"(, "manager_id": "emp_7")" : ""));
}

// --- compliance cases -------------------------------------------------------------------

TEST(FilterMatchTest, SalaryAboveThresholdOnContractUpdated) {
  Filter f = MustCompile(
      R"({"type": "contract.updated", "data.contract.salary.amount": {"$gt": 100000}})");
  EXPECT_TRUE(f.Matches(ContractUpdated("120000")));
  EXPECT_TRUE(f.Matches(ContractUpdated("100000.5")));
  EXPECT_FALSE(f.Matches(ContractUpdated("100000")));  // $gt is strict
  EXPECT_FALSE(f.Matches(ContractUpdated("95000")));
  EXPECT_FALSE(f.Matches(ContractUpdated("120000", "contract.created")));
  EXPECT_FALSE(f.Matches(ContractUpdated(R"("120000")")));  // a string is not a number
  EXPECT_FALSE(f.Matches(TimeOffRequested("12")));

  Filter gte = MustCompile(R"({"data.contract.salary.amount": {"$gte": 100000}})");
  EXPECT_TRUE(gte.Matches(ContractUpdated("100000")));
  EXPECT_TRUE(gte.Matches(ContractUpdated("100000.0")));
  EXPECT_FALSE(gte.Matches(ContractUpdated("99999.99")));
}

TEST(FilterMatchTest, TimeOffLongerThanTenDays) {
  Filter f = MustCompile(R"({"data.request.days": {"$gt": 10}})");
  EXPECT_TRUE(f.Matches(TimeOffRequested("12")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("10.5")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("10")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("3")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("")));  // days is optional: missing never matches
  EXPECT_FALSE(f.Matches(TimeOffRequested("null")));
}

TEST(FilterMatchTest, ClockInFromUnexpectedSource) {
  Filter f = MustCompile(
      R"({"type": "time_entry.clocked_in", "data.entry.source": {"$nin": ["kiosk", "web"]}})");
  EXPECT_TRUE(f.Matches(ClockedIn(R"("mobile")")));
  EXPECT_TRUE(f.Matches(ClockedIn(R"("api")")));
  EXPECT_FALSE(f.Matches(ClockedIn(R"("kiosk")")));
  EXPECT_FALSE(f.Matches(ClockedIn(R"("web")")));
  EXPECT_TRUE(f.Matches(ClockedIn(R"("Kiosk")")));  // case-sensitive: "Kiosk" is unexpected
  // $nin is "not $in": an entry without a source is unexpected too.
  EXPECT_TRUE(f.Matches(ClockedIn("")));

  Filter in = MustCompile(R"({"data.entry.source": {"$in": ["kiosk", "web"]}})");
  EXPECT_TRUE(in.Matches(ClockedIn(R"("web")")));
  EXPECT_FALSE(in.Matches(ClockedIn(R"("mobile")")));
  EXPECT_FALSE(in.Matches(ClockedIn("")));
}

TEST(FilterMatchTest, OrOfTwoConditions) {
  Filter f = MustCompile(
      R"({"type": "time_off.requested",
          "$or": [{"data.request.days": {"$gt": 10}}, {"data.request.type": "parental"}]})");
  EXPECT_TRUE(f.Matches(TimeOffRequested("12", "vacation")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("5", "parental")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("", "parental")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("5", "sick")));
  EXPECT_FALSE(f.Matches(ClockedIn(R"("kiosk")")));
}

TEST(FilterMatchTest, AndOfOrs) {
  Filter f = MustCompile(
      R"({"$and": [{"$or": [{"type": "time_off.requested"}, {"type": "time_off.approved"}]},
                   {"$or": [{"data.request.type": "sick"},
                            {"data.request.days": {"$gte": 20}}]}]})");
  EXPECT_TRUE(f.Matches(TimeOffRequested("2", "sick")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("20", "vacation")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("19", "vacation")));
}

TEST(FilterMatchTest, ExistsOnOptionalField) {
  Filter has = MustCompile(R"({"data.employee.manager_id": {"$exists": true}})");
  Filter lacks = MustCompile(R"({"data.employee.manager_id": {"$exists": false}})");
  EXPECT_TRUE(has.Matches(Hired("ana@acme-hr.example", true)));
  EXPECT_FALSE(has.Matches(Hired("ana@acme-hr.example", false)));
  EXPECT_FALSE(lacks.Matches(Hired("ana@acme-hr.example", true)));
  EXPECT_TRUE(lacks.Matches(Hired("ana@acme-hr.example", false)));
  // An explicit null exists.
  Filter end_date = MustCompile(R"({"data.contract.end_date": {"$exists": true}})");
  EXPECT_TRUE(end_date.Matches(ContractUpdated("1")));
}

TEST(FilterMatchTest, RegexOnEmailDomain) {
  Filter f = MustCompile(R"({"data.employee.email": {"$regex": "@acme-hr\\.example$"}})");
  EXPECT_TRUE(f.Matches(Hired("ana.garcia@acme-hr.example", false)));
  EXPECT_FALSE(f.Matches(Hired("ana.garcia@acme-hr.example.evil.com", false)));
  EXPECT_FALSE(f.Matches(Hired("ana.garcia@acme-hrXexample", false)));
  EXPECT_FALSE(f.Matches(Hired("ana.garcia@ACME-HR.EXAMPLE", false)));  // case-sensitive
  EXPECT_FALSE(f.Matches(ContractUpdated("1")));                        // field missing

  // Unanchored search finds the pattern anywhere.
  Filter gmail = MustCompile(R"({"data.employee.email": {"$regex": "gmail"}})");
  EXPECT_TRUE(gmail.Matches(Hired("x.gmail.y@corp.example", false)));
  // Alternation at the top level stays inside the search.
  Filter alt = MustCompile(R"({"data.employee.email": {"$regex": "^ana@|^bob@"}})");
  EXPECT_TRUE(alt.Matches(Hired("bob@x.example", false)));
  EXPECT_FALSE(alt.Matches(Hired("x-ana@x.example", false)));
  // Only strings match.
  Filter digits = MustCompile(R"({"data.contract.salary.amount": {"$regex": "^12"}})");
  EXPECT_FALSE(digits.Matches(ContractUpdated("120000")));
}

TEST(FilterMatchTest, RegexIsLinearTimeAndDoesNotBlowTheStack) {
  // Catastrophic for a backtracking engine, and deep recursion for libstdc++'s default one.
  Filter f = MustCompile(R"({"data.comment": {"$regex": "^(a+)+$"}})");
  json::object data;
  data["comment"] = std::string(kMaxFilterRegexSubject - 1, 'a') + "b";
  json::object payload;
  payload["data"] = std::move(data);
  EXPECT_FALSE(f.Matches(payload));
  payload["data"].as_object()["comment"] = std::string(kMaxFilterRegexSubject, 'a');
  EXPECT_TRUE(f.Matches(payload));
}

TEST(FilterMatchTest, StringsLongerThanTheSubjectCapNeverMatchARegex) {
  Filter f = MustCompile(R"({"data.comment": {"$regex": "urgent"}})");
  json::object payload{{"data", json::object{{"comment", "urgent" + std::string(kMaxFilterRegexSubject - 6, ' ')}}}};
  EXPECT_TRUE(f.Matches(payload));
  payload["data"].as_object()["comment"] = "urgent" + std::string(kMaxFilterRegexSubject - 5, ' ');
  EXPECT_FALSE(f.Matches(payload));
  // Other operators still see the whole string.
  Filter exists = MustCompile(R"({"data.comment": {"$exists": true}})");
  EXPECT_TRUE(exists.Matches(payload));
}

TEST(FilterMatchTest, RegexSyntaxOfEcmaScriptThatRe2SpellsDifferently) {
  json::object payload{{"data", json::object{{"name", "Jos\xc3\xa9"}}}};  // UTF-8 of "José"
  EXPECT_TRUE(MustCompile(R"({"data.name": {"$regex": "^Jos\\u00e9$"}})").Matches(payload));
  EXPECT_TRUE(MustCompile(R"({"data.name": {"$regex": "^(?<first>Jos).$"}})").Matches(payload));
  EXPECT_TRUE(MustCompile(R"({"data.name": {"$regex": "^Jos[^]$"}})").Matches(payload));
  EXPECT_TRUE(MustCompile(R"({"data.name": {"$regex": "(?i)^JOS"}})").Matches(payload));
}

TEST(FilterMatchTest, TypeMismatchIsFalse) {
  json::value p = TimeOffRequested("12");
  EXPECT_FALSE(MustCompile(R"({"data.request.days": {"$gt": "10"}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request.days": {"$lt": "99"}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request.days": "12"})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request.type": {"$gt": 1}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request": {"$gt": 1}})").Matches(p));  // object
  EXPECT_FALSE(MustCompile(R"({"data.request": {"$eq": null}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request.days": true})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.request.days": {"$in": ["12", true]}})").Matches(p));
  // ...and $neq / $nin, being negations, are true.
  EXPECT_TRUE(MustCompile(R"({"data.request.days": {"$neq": "12"}})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.request.days": {"$nin": ["12"]}})").Matches(p));
}

TEST(FilterMatchTest, IsoDatesCompareLexicographically) {
  Filter f =
      MustCompile(R"({"data.request.start_date": {"$gte": "2026-12-01", "$lt": "2027-01-01"}})");
  EXPECT_TRUE(f.Matches(TimeOffRequested("1", "vacation", "2026-12-21")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("1", "vacation", "2026-12-01")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("1", "vacation", "2026-11-30")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("1", "vacation", "2027-01-01")));
  Filter ts = MustCompile(R"({"timestamp": {"$lt": "2026-11-26T10:00:00.001Z"}})");
  EXPECT_TRUE(ts.Matches(TimeOffRequested("1")));
}

TEST(FilterMatchTest, BareValueIsEq) {
  json::value p = ContractUpdated("120000");
  EXPECT_TRUE(MustCompile(R"({"data.contract.type": "permanent"})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.contract.type": {"$eq": "permanent"}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.contract.type": "temporary"})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.contract.hours_per_week": 40.0})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.contract.end_date": null})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.contract.missing": null})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.contract.type": {"$neq": "temporary"}})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.contract.missing": {"$neq": "x"}})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"company_id": "co_01JD8X0000000000000000000A"})").Matches(p));
}

TEST(FilterMatchTest, ArrayIndexSegments) {
  json::value p = ContractUpdated("120000");
  EXPECT_TRUE(MustCompile(R"({"data.changes.0.field": "salary.amount"})").Matches(p));
  EXPECT_TRUE(MustCompile(R"({"data.changes.0.to": {"$gt": 100000}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.changes.1.field": {"$exists": true}})").Matches(p));
  EXPECT_FALSE(MustCompile(R"({"data.changes.00.field": {"$exists": true}})").Matches(p));
  // No implicit "any element".
  EXPECT_FALSE(MustCompile(R"({"data.changes.field": "salary.amount"})").Matches(p));
  // A numeric segment is still an object key on objects.
  json::value obj = J(R"({"data": {"by_year": {"2026": 3}}})");
  EXPECT_TRUE(MustCompile(R"({"data.by_year.2026": 3})").Matches(obj));
}

TEST(FilterMatchTest, NumbersCompareExactlyAcrossRepresentations) {
  auto payload = [](std::string_view n) { return J(fmt::format(R"({{"data": {{"n": {}}}}})", n)); };
  auto m = [&](std::string_view spec, std::string_view n) {
    return MustCompile(spec).Matches(payload(n));
  };
  EXPECT_TRUE(m(R"({"data.n": 18446744073709551615})", "18446744073709551615"));  // uint64
  EXPECT_TRUE(m(R"({"data.n": {"$gt": 9223372036854775807}})", "18446744073709551615"));
  EXPECT_TRUE(m(R"({"data.n": {"$lt": 0}})", "-1"));
  EXPECT_FALSE(m(R"({"data.n": {"$gt": -1}})", "-2"));
  EXPECT_TRUE(m(R"({"data.n": {"$gt": -1}})", "18446744073709551615"));
  // 2^53 + 1 is not equal to the double 2^53 (9007199254740992.0).
  EXPECT_FALSE(m(R"({"data.n": 9007199254740992.0})", "9007199254740993"));
  EXPECT_TRUE(m(R"({"data.n": {"$gt": 9007199254740992.0}})", "9007199254740993"));
  EXPECT_TRUE(m(R"({"data.n": 9007199254740992.0})", "9007199254740992"));
  EXPECT_TRUE(m(R"({"data.n": {"$lt": 1e300}})", "18446744073709551615"));
  EXPECT_TRUE(m(R"({"data.n": {"$gt": -1e300}})", "-9223372036854775808"));
  EXPECT_TRUE(m(R"({"data.n": {"$gt": 2.5}})", "3"));
  EXPECT_FALSE(m(R"({"data.n": {"$gt": 2.5}})", "2"));
  EXPECT_TRUE(m(R"({"data.n": {"$lt": -2.5}})", "-3"));
  EXPECT_FALSE(m(R"({"data.n": {"$lt": -2.5}})", "-2"));
  EXPECT_TRUE(m(R"({"data.n": {"$lte": 3}})", "2.999"));
  EXPECT_TRUE(m(R"({"data.n": {"$in": [1, 2.0, 3]}})", "2"));
  EXPECT_TRUE(m(R"({"data.n": 0})", "-0.0"));
}

TEST(FilterMatchTest, SeveralOperatorsOnOneFieldAreAnded) {
  Filter f = MustCompile(R"({"data.request.days": {"$gte": 5, "$lte": 10}})");
  EXPECT_TRUE(f.Matches(TimeOffRequested("5")));
  EXPECT_TRUE(f.Matches(TimeOffRequested("10")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("4")));
  EXPECT_FALSE(f.Matches(TimeOffRequested("11")));
}

TEST(FilterMatchTest, EmptyFilterMatchesEverything) {
  EXPECT_TRUE(MustCompile("{}").Matches(ClockedIn(R"("web")")));
  EXPECT_TRUE(Filter().Matches(ClockedIn(R"("web")")));
  EXPECT_TRUE(Filter().Matches(json::value(nullptr)));
  EXPECT_EQ(Filter().ToJson(), J("{}"));
}

TEST(FilterMatchTest, NonObjectPayloadNeverMatchesAField) {
  Filter f = MustCompile(R"({"type": "x"})");
  EXPECT_FALSE(f.Matches(json::value(nullptr)));
  EXPECT_FALSE(f.Matches(J("[1,2]")));
  EXPECT_FALSE(f.Matches(J(R"("type")")));
}

TEST(FilterTest, ToJsonKeepsTheSpec) {
  const json::value spec =
      J(R"({"type": "contract.updated", "data.contract.salary.amount": {"$gt": 100000}})");
  Result<Filter> f = Filter::Compile(spec);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->ToJson(), spec);
  Filter copy = *f;  // cheap copy, same behaviour
  EXPECT_TRUE(copy.Matches(ContractUpdated("120000")));
  EXPECT_EQ(copy.ToJson(), spec);
}

TEST(FilterTest, MatchesIsThreadSafe) {
  Filter f = MustCompile(
      R"({"$or": [{"data.employee.email": {"$regex": "@acme-hr\\.example$"}},
                  {"data.request.days": {"$gt": 10}}]})");
  const json::value yes = Hired("a@acme-hr.example", false);
  const json::value no = Hired("a@other.example", false);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (!f.Matches(yes) || f.Matches(no)) ++wrong;
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

// --- compile errors ---------------------------------------------------------------------

TEST(FilterCompileTest, FilterMustBeAnObject) {
  for (std::string_view spec : {"[]", "null", "\"type\"", "42"}) {
    FieldError e = CompileError(spec);
    EXPECT_EQ(e.pointer, "") << spec;
    EXPECT_EQ(e.message, "a filter must be a JSON object") << spec;
  }
}

TEST(FilterCompileTest, UnknownOperator) {
  FieldError e = CompileError(R"({"data.contract.salary.amount": {"$gtx": 1}})");
  EXPECT_EQ(e.pointer, "/data.contract.salary.amount/$gtx");
  EXPECT_EQ(e.message,
            "unknown operator $gtx (expected one of $eq, $neq, $gt, $gte, $lt, $lte, $in, $nin, "
            "$exists, $regex)");
  FieldError ne = CompileError(R"({"data.x": {"$ne": 1}})");
  EXPECT_EQ(ne.pointer, "/data.x/$ne");
}

TEST(FilterCompileTest, UnknownOrMisplacedTopLevelOperator) {
  FieldError e = CompileError(R"({"$not": {"type": "x"}})");
  EXPECT_EQ(e.pointer, "/$not");
  EXPECT_EQ(e.message, "unknown operator $not (expected a field path, $and or $or)");

  FieldError gt = CompileError(R"({"$gt": 10})");
  EXPECT_EQ(gt.pointer, "/$gt");
  EXPECT_EQ(gt.message,
            R"($gt must be applied to a field, e.g. {"data.request.days": {"$gt": ...}})");
}

TEST(FilterCompileTest, LogicalOperatorUnderAField) {
  FieldError e = CompileError(R"({"data.x": {"$or": [{"type": "a"}]}})");
  EXPECT_EQ(e.pointer, "/data.x/$or");
  EXPECT_EQ(e.message, "$or is not allowed under a field; put it at the top of a filter object");
}

TEST(FilterCompileTest, InNeedsAnArrayOfScalars) {
  FieldError e = CompileError(R"({"data.entry.source": {"$in": "kiosk"}})");
  EXPECT_EQ(e.pointer, "/data.entry.source/$in");
  EXPECT_EQ(e.message, "$in needs an array of values");

  FieldError nin = CompileError(R"({"data.entry.source": {"$nin": {"a": 1}}})");
  EXPECT_EQ(nin.pointer, "/data.entry.source/$nin");
  EXPECT_EQ(nin.message, "$nin needs an array of values");

  FieldError elem = CompileError(R"({"data.entry.source": {"$in": ["kiosk", {"a": 1}]}})");
  EXPECT_EQ(elem.pointer, "/data.entry.source/$in/1");
  EXPECT_EQ(elem.message, "$in values must be strings, numbers, booleans or null");
}

TEST(FilterCompileTest, InHasAnUpperBound) {
  json::array values;
  for (size_t i = 0; i <= kMaxFilterInValues; ++i) values.push_back(json::value(i));
  json::object spec;
  spec["data.n"] = json::object{{"$in", values}};
  Result<Filter> f = Filter::Compile(spec);
  ASSERT_FALSE(f.has_value());
  ASSERT_EQ(f.error().fields.size(), 1u);
  EXPECT_EQ(f.error().fields[0].pointer, "/data.n/$in");
  EXPECT_EQ(f.error().fields[0].message, "$in takes at most 1000 values");
  values.pop_back();
  spec["data.n"] = json::object{{"$in", values}};
  EXPECT_TRUE(Filter::Compile(spec).has_value());
}

TEST(FilterCompileTest, BadRegex) {
  FieldError e = CompileError(R"({"data.employee.email": {"$regex": "(@acme"}})");
  EXPECT_EQ(e.pointer, "/data.employee.email/$regex");
  EXPECT_TRUE(e.message.starts_with("invalid $regex: ")) << e.message;

  FieldError escape = CompileError(R"({"data.employee.email": {"$regex": "a)|(b"}})");
  EXPECT_EQ(escape.pointer, "/data.employee.email/$regex");
  EXPECT_TRUE(escape.message.starts_with("invalid $regex: ")) << escape.message;

  FieldError backref = CompileError(R"({"data.employee.email": {"$regex": "(a)\\1"}})");
  EXPECT_EQ(backref.message, "invalid $regex: back-references (\\1...) are not supported");

  FieldError type = CompileError(R"({"data.employee.email": {"$regex": 5}})");
  EXPECT_EQ(type.message, "$regex takes a string (an ECMAScript regular expression)");
}

TEST(FilterCompileTest, RegexLengthBound) {
  json::object ok;
  ok["data.x"] = json::object{{"$regex", std::string(256, 'a')}};
  EXPECT_TRUE(Filter::Compile(ok).has_value());
  json::object too_long;
  too_long["data.x"] = json::object{{"$regex", std::string(257, 'a')}};
  Result<Filter> f = Filter::Compile(too_long);
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().fields.at(0).pointer, "/data.x/$regex");
  EXPECT_EQ(f.error().fields.at(0).message, "invalid $regex: pattern is longer than 256 characters");
}

TEST(FilterCompileTest, RegexThatCannotRunInLinearTimeIsRefusedByName) {
  EXPECT_EQ(CompileError(R"j({"data.x": {"$regex": "a(?=b)"}})j").message,
            "invalid $regex: lookahead and lookbehind ((?=...), (?!...), (?<=...), (?<!...)) are not supported");
  EXPECT_EQ(CompileError(R"({"data.x": {"$regex": "(?<n>a)\\k<n>"}})").message,
            "invalid $regex: back-references (\\k<name>) are not supported");
}

TEST(FilterCompileTest, RegexCompiledSizeIsCappedPerExpressionAndPerFilter) {
  // Issue 10: this passed the old compile-size check and took 9.5 s per publish.
  FieldError nested = CompileError(R"({"data.x": {"$regex": "((a{40}){40}){40}"}})");
  EXPECT_EQ(nested.pointer, "/data.x/$regex");
  EXPECT_TRUE(nested.message.starts_with("invalid $regex: a repetition count is too large")) << nested.message;

  FieldError big = CompileError(R"({"data.x": {"$regex": "[a-z]{900}[0-9]{900}x{400}"}})");
  EXPECT_TRUE(big.message.starts_with("invalid $regex: pattern is too complex")) << big.message;

  // Each under the per-expression cap, together over the filter's.
  const std::string heavy = "[a-z]{150}[0-9]{150}";
  Filter one = MustCompile(json::serialize(json::object{{"data.x", json::object{{"$regex", heavy}}}}));
  ASSERT_GT(one.RegexProgramSize(), kMaxFilterRegexProgramTotal / 10);
  ASSERT_LE(one.RegexProgramSize(), kMaxFilterRegexProgram);
  json::array any;
  for (int i = 0; i * one.RegexProgramSize() <= kMaxFilterRegexProgramTotal; ++i)
    any.push_back(json::object{{"data.x" + std::to_string(i), json::object{{"$regex", heavy}}}});
  Result<Filter> together = Filter::Compile(json::object{{"$or", any}});
  ASSERT_FALSE(together.has_value());
  EXPECT_NE(together.error().fields.at(0).message.find("too complex together"), std::string::npos)
      << together.error().fields.at(0).message;
  EXPECT_EQ(one.RegexCount(), 1);
}

TEST(FilterCompileTest, AndOrNeedNonEmptyArraysOfObjects) {
  FieldError empty = CompileError(R"({"$and": []})");
  EXPECT_EQ(empty.pointer, "/$and");
  EXPECT_EQ(empty.message, "$and needs a non-empty array of filter objects");

  FieldError obj = CompileError(R"({"$or": {"type": "a"}})");
  EXPECT_EQ(obj.pointer, "/$or");
  EXPECT_EQ(obj.message, "$or needs a non-empty array of filter objects");

  FieldError elem = CompileError(R"({"$or": [{"type": "a"}, "type"]})");
  EXPECT_EQ(elem.pointer, "/$or/1");
  EXPECT_EQ(elem.message, "a filter must be a JSON object");
}

json::value Nested(int levels) {
  json::value v = J(R"({"type": "x"})");
  for (int i = 1; i < levels; ++i) v = json::object{{"$and", json::array{v}}};
  return v;
}

TEST(FilterCompileTest, NestingDeeperThanEightLevels) {
  Result<Filter> eight = Filter::Compile(Nested(8));
  ASSERT_TRUE(eight.has_value()) << eight.error().message;
  EXPECT_TRUE(eight->Matches(J(R"({"type": "x"})")));
  EXPECT_FALSE(eight->Matches(J(R"({"type": "y"})")));

  Result<Filter> nine = Filter::Compile(Nested(9));
  ASSERT_FALSE(nine.has_value());
  ASSERT_EQ(nine.error().fields.size(), 1u);
  std::string pointer;
  for (int i = 0; i < 8; ++i) pointer += "/$and/0";
  EXPECT_EQ(nine.error().fields[0].pointer, pointer);
  EXPECT_EQ(nine.error().fields[0].message, "filter nesting is deeper than 8 levels");
}

TEST(FilterCompileTest, MoreThanFiftyConditions) {
  json::object spec;
  for (int i = 0; i < 50; ++i) spec[fmt::format("data.f{}", i)] = i;
  ASSERT_TRUE(Filter::Compile(spec).has_value());
  spec["data.f50"] = 50;
  FieldError e = CompileError(json::serialize(spec));
  EXPECT_EQ(e.pointer, "");
  EXPECT_EQ(e.message, "filter has more than 50 conditions (at /data.f50)");

  // Operators count one by one, across $and/$or.
  json::array many;
  for (int i = 0; i < 26; ++i) many.push_back(J(R"({"data.n": {"$gt": 1, "$lt": 9}})"));
  json::object ors{{"$or", many}};
  FieldError e2 = CompileError(json::serialize(ors));
  EXPECT_EQ(e2.pointer, "");
  EXPECT_EQ(e2.message, "filter has more than 50 conditions (at /$or/25/data.n/$gt)");
}

TEST(FilterCompileTest, ExistsTakesABoolean) {
  FieldError e = CompileError(R"({"data.employee.manager_id": {"$exists": 1}})");
  EXPECT_EQ(e.pointer, "/data.employee.manager_id/$exists");
  EXPECT_EQ(e.message, "$exists takes true or false");
}

TEST(FilterCompileTest, ComparisonOperandTypes) {
  FieldError gt = CompileError(R"({"data.request.days": {"$gt": true}})");
  EXPECT_EQ(gt.pointer, "/data.request.days/$gt");
  EXPECT_EQ(gt.message, "$gt takes a number or a string, not true");
  FieldError lte = CompileError(R"({"data.request.days": {"$lte": null}})");
  EXPECT_EQ(lte.message, "$lte takes a number or a string, not null");

  FieldError eq = CompileError(R"({"data.request.type": {"$eq": ["a"]}})");
  EXPECT_EQ(eq.pointer, "/data.request.type/$eq");
  EXPECT_EQ(eq.message, "$eq takes a string, number, boolean or null");
  FieldError neq = CompileError(R"({"data.request.type": {"$neq": {"$a": 1}}})");
  EXPECT_EQ(neq.message, "$neq takes a string, number, boolean or null");
}

TEST(FilterCompileTest, BareValuesMustBeScalars) {
  FieldError arr = CompileError(R"({"data.entry.source": ["kiosk", "web"]})");
  EXPECT_EQ(arr.pointer, "/data.entry.source");
  EXPECT_EQ(arr.message, R"(a list is not a value to compare; use {"$in": [...]})");

  FieldError nested = CompileError(R"({"data": {"contract": {"type": "permanent"}}})");
  EXPECT_EQ(nested.pointer, "/data");
  EXPECT_EQ(nested.message,
            R"(a nested object is not a value to compare; use a dot path such as "data.contract")");

  FieldError mixed = CompileError(R"({"data.x": {"$gt": 1, "y": 2}})");
  EXPECT_EQ(mixed.pointer, "/data.x");
  EXPECT_EQ(mixed.message, "cannot mix operators ($...) and field names in one object");

  FieldError empty = CompileError(R"({"data.x": {}})");
  EXPECT_EQ(empty.pointer, "/data.x");
  EXPECT_EQ(empty.message, R"(empty object: give a value or an operator such as {"$eq": ...})");
}

TEST(FilterCompileTest, BadPaths) {
  FieldError root = CompileError(R"({"contract.salary.amount": {"$gt": 100000}})");
  EXPECT_EQ(root.pointer, "/contract.salary.amount");
  EXPECT_EQ(root.message,
            "unknown field \"contract\": paths start at the payload root (id, type, timestamp, "
            "company_id or data); did you mean \"data.contract.salary.amount\"?");

  for (std::string_view key : {"data..x", "data.", ".data", ""}) {
    json::object spec;
    spec[key] = 1;
    FieldError e = CompileError(json::serialize(spec));
    EXPECT_EQ(e.pointer, "/" + std::string(key));
    EXPECT_EQ(e.message, fmt::format("field path \"{}\" has an empty segment", key));
  }

  json::object long_path;
  long_path["data." + std::string(300, 'x')] = 1;
  FieldError e = CompileError(json::serialize(long_path));
  EXPECT_EQ(e.message, "field path is longer than 256 characters");
}

TEST(FilterCompileTest, PointersEscapeKeysPerRfc6901) {
  FieldError e = CompileError(R"({"data.a/b~c": {"$foo": 1}})");
  EXPECT_EQ(e.pointer, "/data.a~1b~0c/$foo");
}

TEST(FilterCompileTest, PointersInsideLogicalOperators) {
  FieldError e = CompileError(
      R"({"$or": [{"type": "a"}, {"$and": [{"data.x": 1}, {"data.y": {"$in": 3}}]}]})");
  EXPECT_EQ(e.pointer, "/$or/1/$and/1/data.y/$in");
}

TEST(FilterCompileTest, ReportsEveryProblem) {
  Result<Filter> f = Filter::Compile(
      J(R"({"data.a": {"$gt": true}, "data.b": {"$exists": "yes"}, "nope.c": 1, "data.d": 1})"));
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(f.error().fields.size(), 3u);
  EXPECT_EQ(f.error().fields[0].pointer, "/data.a/$gt");
  EXPECT_EQ(f.error().fields[1].pointer, "/data.b/$exists");
  EXPECT_EQ(f.error().fields[2].pointer, "/nope.c");
  EXPECT_EQ(f.error().message,
            "invalid filter: $gt takes a number or a string, not true (and 2 more)");
}

}  // namespace
}  // namespace hookd
