#include "core/schema_validator.h"

#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hookd {
namespace {

namespace json = boost::json;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P2(Violation, pointer, message_part, "") {
  return arg.pointer == pointer && arg.message.find(message_part) != std::string::npos;
}

SchemaValidator MustCompile(std::string_view schema) {
  auto v = SchemaValidator::Compile(json::parse(schema));
  EXPECT_TRUE(v.has_value()) << schema << ": " << (v ? "" : v.error().message);
  return std::move(*v);
}

std::string CompileError(std::string_view schema) {
  auto v = SchemaValidator::Compile(json::parse(schema));
  if (v) return "<compiled>";
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidArgument);
  return v.error().message;
}

std::vector<FieldError> Check(const SchemaValidator& v, std::string_view instance) {
  return v.Validate(json::parse(instance));
}

// The shape of employee.hired, written out here so that these tests do not depend on the
// catalog files.
constexpr std::string_view kEmployeeSchema = R"({
  "type": "object",
  "required": ["employee"],
  "properties": {
    "employee": {
      "type": "object",
      "required": ["id", "first_name", "last_name", "email", "start_date"],
      "properties": {
        "id": {"type": "string", "minLength": 1},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
        "start_date": {"type": "string", "format": "date"},
        "manager_id": {"type": ["string", "null"], "minLength": 1},
        "employment_type": {"type": "string", "enum": ["full_time", "part_time", "intern"]},
        "created_at": {"type": "string", "format": "date-time"}
      }
    },
    "changes": {
      "type": "array",
      "items": {"type": "object", "required": ["field"], "properties": {"field": {"type": "string"}}}
    }
  }
})";

json::object ValidEmployee() {
  return json::parse(R"({"employee": {"id": "emp_1", "first_name": "Lucía",
      "last_name": "Fernández", "email": "lucia@acme.es", "start_date": "2026-01-12",
      "manager_id": null, "employment_type": "full_time",
      "created_at": "2026-01-05T09:30:00.000+01:00"}})")
      .as_object();
}

class EmployeeSchemaTest : public ::testing::Test {
 protected:
  std::vector<FieldError> WithEmployeeField(std::string_view key, json::value value) {
    json::object doc = ValidEmployee();
    doc["employee"].as_object()[key] = std::move(value);
    return validator_.Validate(doc);
  }
  SchemaValidator validator_ = MustCompile(kEmployeeSchema);
};

TEST_F(EmployeeSchemaTest, ValidInstanceHasNoViolations) {
  EXPECT_THAT(validator_.Validate(ValidEmployee()), IsEmpty());
}

TEST_F(EmployeeSchemaTest, UnknownExtraFieldsAreAllowed) {
  json::object doc = ValidEmployee();
  doc["employee"].as_object()["shoe_size"] = 43;
  doc["source"] = "hr-platform";
  EXPECT_THAT(validator_.Validate(doc), IsEmpty());
}

TEST_F(EmployeeSchemaTest, MissingRequiredFieldPointsAtTheField) {
  json::object doc = ValidEmployee();
  doc["employee"].as_object().erase("email");
  EXPECT_THAT(validator_.Validate(doc),
              ElementsAre(Violation("/employee/email", "required property 'email' is missing")));
}

TEST_F(EmployeeSchemaTest, MissingRequiredObjectAtRoot) {
  EXPECT_THAT(Check(validator_, "{}"),
              ElementsAre(Violation("/employee", "required property 'employee' is missing")));
}

TEST_F(EmployeeSchemaTest, WrongTypeNamesExpectedAndActualType) {
  EXPECT_THAT(WithEmployeeField("id", 42),
              ElementsAre(Violation("/employee/id", "must be a string (got integer)")));
  EXPECT_THAT(WithEmployeeField("manager_id", true),
              ElementsAre(Violation("/employee/manager_id", "must be a string or null (got boolean)")));
  EXPECT_THAT(Check(validator_, "[]"), ElementsAre(Violation("", "must be an object (got array)")));
}

TEST_F(EmployeeSchemaTest, ImpossibleDateIsRejected) {
  EXPECT_THAT(WithEmployeeField("start_date", "2026-13-45"),
              ElementsAre(Violation("/employee/start_date", "must be a valid date (YYYY-MM-DD)")));
}

TEST_F(EmployeeSchemaTest, DatesAreCheckedStrictly) {
  for (const char* bad : {"2026-02-29", "2025-04-31", "2026-1-12", "26-01-12", "2026-01-12T00:00:00Z",
                          "2026/01/12", "", "2026-00-10", "2026-01-00", " 2026-01-12"}) {
    EXPECT_THAT(WithEmployeeField("start_date", bad), ElementsAre(Violation("/employee/start_date", "date")))
        << bad;
  }
  for (const char* good : {"2024-02-29", "2000-02-29", "2026-12-31", "2026-01-01"}) {
    EXPECT_THAT(WithEmployeeField("start_date", good), IsEmpty()) << good;
  }
  EXPECT_THAT(WithEmployeeField("start_date", "1900-02-29"),
              ElementsAre(Violation("/employee/start_date", "date")));
}

TEST_F(EmployeeSchemaTest, DateTimesAreCheckedStrictly) {
  for (const char* good : {"2026-11-26T10:00:00Z", "2026-11-26T10:00:00.000Z", "2026-11-26t10:00:00z",
                           "2026-11-26T10:00:00+01:00", "2026-11-26T10:00:00.123456-05:30",
                           "2016-12-31T23:59:60Z", "2017-01-01T00:59:60+01:00"}) {
    EXPECT_THAT(WithEmployeeField("created_at", good), IsEmpty()) << good;
  }
  for (const char* bad : {"2026-11-26T10:00:00", "2026-11-26 10:00:00Z", "2026-11-26T24:00:00Z",
                          "2026-11-26T10:60:00Z", "2026-11-26T10:00:00.Z", "2026-11-26T10:00:00+0100",
                          "2026-11-26T10:00:00+24:00", "2026-02-30T10:00:00Z", "2026-11-26T10:00:60Z",
                          "2026-11-26", "2026-11-26T10:00Z", "2026-11-26T10:00:00Z "}) {
    EXPECT_THAT(WithEmployeeField("created_at", bad),
                ElementsAre(Violation("/employee/created_at", "must be a valid RFC 3339 date-time")))
        << bad;
  }
}

TEST_F(EmployeeSchemaTest, BadEmailFailsThePattern) {
  for (const char* bad : {"lucia", "lucia@acme", "lucia @acme.es", "@acme.es", "lucia@@acme.es"}) {
    EXPECT_THAT(WithEmployeeField("email", bad),
                ElementsAre(Violation("/employee/email", "must match the pattern \"^[^@\\\\s]+@")))
        << bad;
  }
}

TEST_F(EmployeeSchemaTest, HugeStringAgainstPatternDoesNotCrash) {
  // libstdc++'s backtracking regex engine overflows the stack on strings this long.
  std::string longest = "lucia@" + std::string(16 * 1024 - 9, 'a') + ".es";
  ASSERT_EQ(longest.size(), 16u * 1024);
  EXPECT_THAT(WithEmployeeField("email", json::string(longest)), IsEmpty());
  EXPECT_THAT(WithEmployeeField("email", json::string(std::string(16 * 1024, 'a'))),
              ElementsAre(Violation("/employee/email", "must match the pattern")));
  // Longer strings are not matched at all: refused, with the reason.
  std::string huge = "lucia@" + std::string(300000, 'a') + ".es";
  EXPECT_THAT(WithEmployeeField("email", json::string(huge)),
              ElementsAre(Violation("/employee/email",
                                    "is longer than 16384 characters, too long to check against the pattern")));
}

TEST_F(EmployeeSchemaTest, EnumViolationListsAllowedValues) {
  EXPECT_THAT(WithEmployeeField("employment_type", "freelance"),
              ElementsAre(Violation("/employee/employment_type",
                                    R"(must be one of "full_time", "part_time", "intern")")));
  EXPECT_THAT(WithEmployeeField("employment_type", 1),
              ElementsAre(Violation("/employee/employment_type", "must be a string (got integer)"),
                          Violation("/employee/employment_type", "must be one of")));
}

TEST_F(EmployeeSchemaTest, ReportsEveryViolationWithoutParentNoise) {
  json::object doc = ValidEmployee();
  json::object& e = doc["employee"].as_object();
  e["id"] = "";
  e["email"] = "nope";
  e.erase("last_name");
  doc["changes"] = json::parse(R"([{"field": "salary"}, {"from": 1}, {"field": 7}])");
  EXPECT_THAT(validator_.Validate(doc),
              testing::UnorderedElementsAre(
                  Violation("/employee/id", "must be at least 1 characters long"),
                  Violation("/employee/email", "pattern"),
                  Violation("/employee/last_name", "missing"),
                  Violation("/changes/1/field", "required property 'field' is missing"),
                  Violation("/changes/2/field", "must be a string (got integer)")));
}

TEST(SchemaValidatorTest, PointersAreEscapedPerRfc6901) {
  auto v = MustCompile(R"({"properties": {"a/b": {"type": "string"}, "m~n": {"required": ["x/y"]}}})");
  EXPECT_THAT(Check(v, R"({"a/b": 1, "m~n": {}})"),
              testing::UnorderedElementsAre(Violation("/a~1b", "must be a string"),
                                            Violation("/m~0n/x~1y", "missing")));
}

TEST(SchemaValidatorTest, FalseSchemasStillExplainTheFailure) {
  auto root = MustCompile("false");
  EXPECT_THAT(Check(root, "{}"), ElementsAre(Field(&FieldError::pointer, "")));

  auto prop = MustCompile(R"({"properties": {"legacy": false}})");
  EXPECT_THAT(Check(prop, R"({"legacy": 1})"), ElementsAre(Violation("/legacy", "not allowed")));
  EXPECT_THAT(Check(prop, R"({"other": 1})"), IsEmpty());

  auto nested = MustCompile(R"({"properties": {"a": {"properties": {"b": false}}}})");
  EXPECT_THAT(Check(nested, R"({"a": {"b": 1}})"), ElementsAre(Violation("/a/b", "not allowed")));

  auto items = MustCompile(R"({"items": false})");
  EXPECT_THAT(Check(items, R"([1])"), ElementsAre(Violation("/0", "not allowed")));

  EXPECT_THAT(Check(MustCompile("true"), R"({"anything": [1, 2]})"), IsEmpty());
}

TEST(SchemaValidatorTest, AdditionalPropertiesFalseNamesTheExtraProperty) {
  auto v = MustCompile(R"({"additionalProperties": false, "properties": {"a": {}}})");
  EXPECT_THAT(Check(v, R"({"a": 1, "b": 2})"), ElementsAre(Violation("/b", "property 'b' is not allowed")));
}

TEST(SchemaValidatorTest, IntegersFollowDraft7) {
  auto v = MustCompile(R"({"type": "integer", "minimum": 0})");
  EXPECT_THAT(Check(v, "3"), IsEmpty());
  EXPECT_THAT(Check(v, "3.0"), IsEmpty());
  EXPECT_THAT(Check(v, "18446744073709551615"), IsEmpty());
  EXPECT_THAT(Check(v, "3.5"), ElementsAre(Violation("", "must be an integer (got number)")));
  EXPECT_THAT(Check(v, "\"3\""), ElementsAre(Violation("", "must be an integer (got string)")));
  EXPECT_THAT(Check(MustCompile(R"({"type": "number"})"), "3"), IsEmpty());
}

TEST(SchemaValidatorTest, AnyOfKeepsTheBranchesExplanation) {
  auto v = MustCompile(R"({"properties": {"x": {"anyOf": [{"type": "string"}, {"type": "null"}]}}})");
  auto errors = Check(v, R"({"x": 1})");
  ASSERT_FALSE(errors.empty());
  for (const FieldError& e : errors) EXPECT_EQ(e.pointer, "/x") << e.message;
  EXPECT_THAT(errors, testing::Contains(Violation("/x", "anyOf")));
}

TEST(SchemaValidatorTest, RecursiveSchemasWork) {
  auto v = MustCompile(R"({"properties": {"child": {"$ref": "#"}, "n": {"type": "integer"}}})");
  EXPECT_THAT(Check(v, R"({"child": {"child": {"n": 1}}})"), IsEmpty());
  EXPECT_THAT(Check(v, R"({"child": {"child": {"n": "x"}}})"),
              ElementsAre(Violation("/child/child/n", "must be an integer")));
}

TEST(SchemaValidatorTest, DefinitionsAndRefsUseOurKeywords) {
  auto v = MustCompile(R"({"definitions": {"day": {"type": "string", "format": "date"}},
                           "properties": {"from": {"$ref": "#/definitions/day"}}})");
  EXPECT_THAT(Check(v, R"({"from": "2026-01-01"})"), IsEmpty());
  EXPECT_THAT(Check(v, R"({"from": "2026-02-30"})"), ElementsAre(Violation("/from", "valid date")));
}

TEST(SchemaValidatorTest, PropertiesNamedLikeKeywordsAreNotKeywords) {
  auto v = MustCompile(R"({"required": ["type", "format"], "properties": {
      "type": {"type": "string", "enum": ["a"]}, "format": {"type": "integer"},
      "pattern": {"type": "object"}}})");
  EXPECT_THAT(Check(v, R"({"type": "a", "format": 1, "pattern": {}})"), IsEmpty());
  EXPECT_THAT(Check(v, R"({"type": "b", "format": "x"})"),
              testing::UnorderedElementsAre(Violation("/type", "must be one of \"a\""),
                                            Violation("/format", "must be an integer")));
}

TEST(SchemaValidatorTest, UnknownFormatsAreAnnotations) {
  auto v = MustCompile(R"({"type": "string", "format": "hostname"})");
  EXPECT_THAT(Check(v, R"("not a hostname!")"), IsEmpty());
}

TEST(SchemaValidatorTest, FormatsIgnoreNonStrings) {
  auto v = MustCompile(R"({"format": "date"})");
  EXPECT_THAT(Check(v, "5"), IsEmpty());
  EXPECT_THAT(Check(MustCompile(R"({"format": "email"})"), R"("ana@example.com")"), IsEmpty());
  EXPECT_THAT(Check(MustCompile(R"({"format": "email"})"), R"("ana.example.com")"),
              ElementsAre(Violation("", "email")));
  EXPECT_THAT(Check(MustCompile(R"({"format": "time"})"), R"("10:00:00+02:00")"), IsEmpty());
}

TEST(SchemaValidatorTest, UnusableSchemasAreRefused) {
  EXPECT_THAT(CompileError("5"), HasSubstr("object or a boolean"));
  EXPECT_THAT(CompileError(R"("string")"), HasSubstr("object or a boolean"));
  EXPECT_THAT(CompileError("[]"), HasSubstr("object or a boolean"));
  EXPECT_THAT(CompileError("null"), HasSubstr("object or a boolean"));
  EXPECT_THAT(CompileError(R"({"type": "strin"})"), HasSubstr("unknown type \"strin\""));
  EXPECT_THAT(CompileError(R"({"type": 5})"), HasSubstr("'type'"));
  EXPECT_THAT(CompileError(R"({"pattern": "[a-"})"), HasSubstr("invalid regular expression"));
  EXPECT_THAT(CompileError(R"({"pattern": "(a)\\1"})"), HasSubstr("invalid regular expression"));
  EXPECT_THAT(CompileError(R"({"patternProperties": {"(": {}}})"), HasSubstr("invalid regular expression"));
  EXPECT_THAT(CompileError(R"({"enum": "a"})"), HasSubstr("'enum'"));
  EXPECT_THAT(CompileError(R"({"format": 1})"), HasSubstr("'format'"));
  EXPECT_THAT(CompileError(R"({"minLength": -1})"), HasSubstr("minLength"));
  EXPECT_THAT(CompileError(R"({"properties": {"a": 5}})"), HasSubstr("/properties/a"));
  EXPECT_THAT(CompileError(R"({"allOf": {}})"), HasSubstr("allOf"));
  EXPECT_THAT(CompileError(R"({"$ref": "https://example.com/schema.json"})"), HasSubstr("only local"));
  EXPECT_THAT(CompileError(R"({"$ref": "#/definitions/missing"})"), HasSubstr("does not resolve"));
  EXPECT_THAT(CompileError(R"({"$hookd:type": "string"})"), HasSubstr("reserved"));
}

TEST(SchemaValidatorTest, NonTerminatingRefCyclesAreRefused) {
  // Each of these overflows valijson's stack if it gets through.
  EXPECT_THAT(CompileError(R"({"$ref": "#"})"), HasSubstr("circular"));
  EXPECT_THAT(CompileError(R"({"definitions": {"a": {"$ref": "#/definitions/b"},
      "b": {"$ref": "#/definitions/a"}}, "$ref": "#/definitions/a"})"),
              HasSubstr("circular"));
  EXPECT_THAT(CompileError(R"({"definitions": {"a": {"allOf": [{"$ref": "#/definitions/a"}]}},
      "properties": {"x": {"$ref": "#/definitions/a"}}})"),
              HasSubstr("circular"));
  EXPECT_THAT(CompileError(R"({"anyOf": [{"not": {"$ref": "#"}}]})"), HasSubstr("circular"));
}

TEST(SchemaValidatorTest, ValidatorIsSharedAcrossThreads) {
  auto v = MustCompile(kEmployeeSchema);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      json::object good = ValidEmployee();
      json::object bad = ValidEmployee();
      bad["employee"].as_object()["email"] = "x";
      for (int i = 0; i < 500; ++i) {
        if (!v.Validate(good).empty()) ++failures[t];
        if (v.Validate(bad).size() != 1) ++failures[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(failures, testing::Each(0));
}

}  // namespace
}  // namespace hookd

namespace hookd {
namespace {

// Issue 10: a publish could crash the server through valijson's own std::regex, reached by
// patternProperties and by a $ref into a keyword the schema rewrite did not visit.
TEST(HostileInputTest, PatternPropertiesRunOnRe2AndCapNameLength) {
  SchemaValidator v = MustCompile(R"j({"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}},
                                      "additionalProperties": {"type": "string"}})j");
  EXPECT_THAT(Check(v, R"({"aaa": 1, "other": "x"})"), IsEmpty());
  EXPECT_THAT(Check(v, R"({"aaa": "1"})"), ElementsAre(Violation("/aaa", "must be an integer")));
  EXPECT_THAT(Check(v, R"({"other": 1})"), ElementsAre(Violation("/other", "must be a string")));
  // A name at the cap is matched (linear time on a pattern that is exponential when
  // backtracking); a longer one is refused without being matched.
  json::object at_cap{{std::string(1024, 'a'), 1}, {std::string(1023, 'a') + "b", "s"}};
  EXPECT_THAT(v.Validate(at_cap), IsEmpty());
  json::object over{{std::string(100000, 'a'), 1}};
  EXPECT_THAT(v.Validate(over),
              ElementsAre(Violation("", "is longer than 1024 characters, too long to check against 'patternProperties'")));
}

TEST(HostileInputTest, RefIntoAnUnknownKeywordStillRunsOurPatternAndFormat) {
  SchemaValidator v = MustCompile(R"j({"type": "object",
      "properties": {"code": {"$ref": "#/x-defs/code"}, "day": {"$ref": "#/x-defs/day"}},
      "x-defs": {"code": {"type": "string", "pattern": "^(a|aa)+$"}, "day": {"format": "date"}}})j");
  EXPECT_THAT(Check(v, R"({"code": "aaaa", "day": "2026-02-28"})"), IsEmpty());
  EXPECT_THAT(Check(v, R"({"day": "2026-02-30"})"), ElementsAre(Violation("/day", "must be a valid date")));
  json::object near_cap{{"code", std::string(16 * 1024 - 1, 'a') + "b"}};
  EXPECT_THAT(v.Validate(near_cap), ElementsAre(Violation("/code", "must match the pattern")));
  json::object huge{{"code", std::string(250000, 'a')}};
  EXPECT_THAT(v.Validate(huge), ElementsAre(Violation("/code", "too long to check against the pattern")));
  // A bad pattern there is found at compile time, like anywhere else.
  EXPECT_THAT(CompileError(R"j({"properties": {"c": {"$ref": "#/x-defs/c"}}, "x-defs": {"c": {"pattern": "(a)\\1"}}})j"),
              HasSubstr("back-references"));
}

TEST(HostileInputTest, RegexKeywordsThatNeedBacktrackingAreRefusedAtCompile) {
  EXPECT_THAT(CompileError(R"j({"patternProperties": {"^(?!x)": {}}})j"), HasSubstr("lookahead"));
  EXPECT_THAT(CompileError(R"j({"properties": {"a": {"pattern": "((a{40}){40}){40}"}}})j"),
              HasSubstr("repetition count is too large"));
}

TEST(HostileInputTest, SchemasWhoseWorkMultipliesAreStoppedNotRunForEver) {
  // Each level tries both branches of the next: 2^40 evaluations for one value.
  json::object defs;
  for (int i = 0; i < 40; ++i) {
    const std::string next = "#/definitions/d" + std::to_string(i + 1);
    defs["d" + std::to_string(i)] = json::object{
        {"anyOf", json::array{json::object{{"$ref", next}, {"minimum", 1}}, json::object{{"$ref", next}}}}};
  }
  defs["d40"] = json::object{{"type", "string"}};
  auto v = SchemaValidator::Compile(json::object{{"definitions", defs}, {"$ref", "#/definitions/d0"}});
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_THAT(v->Validate(json::value(5)), ElementsAre(Violation("", "too complex to check")));
  EXPECT_THAT(v->Validate(json::value("ok")), IsEmpty());  // the first branches all succeed
}

// Found by fuzz/json_schema_fuzz.cc: valijson divided by an integer multipleOf as given
// (0: SIGFPE, the whole server down from one POST /v1/event-types and one event) and cast
// double instances to int64 (undefined past 2^63). multipleOf must now be > 0.
TEST(SchemaValidatorTest, MultipleOfMustBeAPositiveNumber) {
  for (std::string_view bad : {R"({"multipleOf": 0})", R"({"multipleOf": -1})", R"({"multipleOf": -0.5})",
                               R"({"multipleOf": "3"})", R"({"multipleOf": true})",
                               R"({"properties": {"a": {"multipleOf": 0.0}}})"}) {
    EXPECT_THAT(CompileError(bad), HasSubstr("'multipleOf'")) << bad;
  }
}

TEST(SchemaValidatorTest, MultipleOfIntegersDecimalsAndExtremes) {
  SchemaValidator three = MustCompile(R"({"multipleOf": 3})");
  EXPECT_THAT(Check(three, "9"), IsEmpty());
  EXPECT_THAT(Check(three, "-9223372036854775806"), IsEmpty());
  EXPECT_THAT(Check(three, "0"), IsEmpty());
  EXPECT_THAT(Check(three, "7"), ElementsAre(Violation("", "must be a multiple of 3")));
  EXPECT_THAT(Check(three, "7.5"), ElementsAre(Violation("", "must be a multiple of 3")));
  EXPECT_THAT(Check(three, "3e300"), IsEmpty());  // no int64 cast of a huge double
  EXPECT_THAT(Check(three, "\"x\""), IsEmpty());   // not a number: not this keyword's business

  SchemaValidator cents = MustCompile(R"({"multipleOf": 0.01})");
  EXPECT_THAT(Check(cents, "19.99"), IsEmpty());
  EXPECT_THAT(Check(cents, "7"), IsEmpty());
  EXPECT_THAT(Check(cents, "0.075"), ElementsAre(Violation("", "must be a multiple of 0.01")));

  SchemaValidator tiny = MustCompile(R"({"multipleOf": 1e-308})");
  EXPECT_THAT(Check(tiny, "1e308"), ElementsAre(Violation("", "multiple of")));  // quotient overflows
  SchemaValidator huge = MustCompile(R"({"multipleOf": 18446744073709551615})");
  EXPECT_THAT(Check(huge, "5"), ElementsAre(Violation("", "multiple of")));
  EXPECT_THAT(Check(huge, "-9223372036854775808"), ElementsAre(Violation("", "multiple of")));
}

}  // namespace
}  // namespace hookd
