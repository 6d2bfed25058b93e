#include "core/event_catalog.h"

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hookd {
namespace {

namespace json = boost::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P2(Violation, pointer, message_part, "") {
  return arg.pointer == pointer && arg.message.find(message_part) != std::string::npos;
}

const EventTypeDef& Builtin(std::string_view name) {
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    if (def.name == name) return def;
  }
  ADD_FAILURE() << "no built-in type " << name;
  static const EventTypeDef kNone;
  return kNone;
}

// Removes the value at `pointer` (which must exist) from `doc`.
void Erase(json::value& doc, std::string_view pointer) {
  size_t slash = pointer.rfind('/');
  std::string parent(pointer.substr(0, slash));
  std::string key(pointer.substr(slash + 1));
  boost::system::error_code ec;
  json::value* p = parent.empty() ? &doc : doc.find_pointer(parent, ec);
  ASSERT_NE(p, nullptr) << pointer;
  ASSERT_TRUE(p->is_object()) << pointer;
  ASSERT_EQ(p->as_object().erase(key), 1u) << pointer << " is not in the example";
}

void Set(json::value& doc, std::string_view pointer, json::value v) {
  boost::system::error_code ec;
  json::value* p = doc.find_pointer(pointer, ec);
  ASSERT_NE(p, nullptr) << pointer;
  *p = std::move(v);
}

std::vector<FieldError> Validate(const EventTypeDef& def, const json::value& data) {
  auto v = SchemaValidator::Compile(def.schema);
  EXPECT_TRUE(v.has_value());
  return v ? v->Validate(data) : std::vector<FieldError>{};
}

// SPEC §2: every field in bold, as a pointer into `data`.
const std::map<std::string, std::vector<std::string>>& RequiredBySpec() {
  static const std::vector<std::string> kRequest = {
      "/request", "/request/id", "/request/employee_id", "/request/type", "/request/start_date",
      "/request/end_date"};
  static const std::vector<std::string> kReview = [] {
    std::vector<std::string> v = kRequest;
    v.insert(v.end(), {"/reviewer", "/reviewer/id"});
    return v;
  }();
  static const std::vector<std::string> kEntry = {"/entry", "/entry/id", "/entry/employee_id",
                                                  "/entry/at"};
  static const std::vector<std::string> kContract = {
      "/contract", "/contract/id", "/contract/employee_id", "/contract/type", "/contract/start_date",
      "/contract/salary/amount", "/contract/salary/currency"};
  static const std::vector<std::string> kProcess = {"/process", "/process/id", "/process/employee_id"};
  static const std::map<std::string, std::vector<std::string>> kRequired = {
      {"employee.hired",
       {"/employee", "/employee/id", "/employee/first_name", "/employee/last_name",
        "/employee/email", "/employee/start_date"}},
      {"employee.left",
       {"/employee", "/employee/id", "/employee/first_name", "/employee/last_name",
        "/employee/email", "/reason", "/effective_date"}},
      {"employee.department_changed",
       {"/employee", "/employee/id", "/from", "/to", "/effective_date"}},
      {"time_off.requested", kRequest},
      {"time_off.approved", kReview},
      {"time_off.rejected", kReview},
      {"time_entry.clocked_in", kEntry},
      {"time_entry.clocked_out", kEntry},
      {"contract.created", kContract},
      {"contract.updated", kContract},
      {"onboarding.started", kProcess},
      {"onboarding.completed", kProcess},
      {"webhook.test", {"/message"}},
  };
  return kRequired;
}

TEST(BuiltinEventTypesTest, ExactlyTheThirteenSpecTypes) {
  std::set<std::string> names;
  for (const EventTypeDef& def : BuiltinEventTypes()) names.insert(def.name);
  EXPECT_EQ(names, (std::set<std::string>{
                       "employee.hired", "employee.left", "employee.department_changed",
                       "time_off.requested", "time_off.approved", "time_off.rejected",
                       "time_entry.clocked_in", "time_entry.clocked_out", "contract.created",
                       "contract.updated", "onboarding.started", "onboarding.completed",
                       "webhook.test"}));
  EXPECT_EQ(BuiltinEventTypes().size(), 13u);
}

TEST(BuiltinEventTypesTest, EveryExamplePassesItsOwnSchema) {
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    EXPECT_TRUE(def.builtin);
    EXPECT_FALSE(def.description.empty()) << def.name;
    EXPECT_TRUE(def.example.is_object()) << def.name;
    EXPECT_THAT(Validate(def, def.example), IsEmpty()) << def.name;
  }
}

TEST(BuiltinEventTypesTest, SubjectResolvesToAStringInTheExample) {
  const std::map<std::string, std::string> kSubjects = {
      {"employee.hired", "/employee/id"},          {"employee.left", "/employee/id"},
      {"employee.department_changed", "/employee/id"},
      {"time_off.requested", "/request/employee_id"}, {"time_off.approved", "/request/employee_id"},
      {"time_off.rejected", "/request/employee_id"}, {"time_entry.clocked_in", "/entry/employee_id"},
      {"time_entry.clocked_out", "/entry/employee_id"}, {"contract.created", "/contract/employee_id"},
      {"contract.updated", "/contract/employee_id"}, {"onboarding.started", "/process/employee_id"},
      {"onboarding.completed", "/process/employee_id"}, {"webhook.test", ""}};
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    ASSERT_TRUE(kSubjects.contains(def.name)) << def.name;
    EXPECT_EQ(def.subject_pointer, kSubjects.at(def.name)) << def.name;
    if (def.subject_pointer.empty()) continue;
    boost::system::error_code ec;
    const json::value* subject = def.example.find_pointer(def.subject_pointer, ec);
    ASSERT_NE(subject, nullptr) << def.name;
    ASSERT_TRUE(subject->is_string()) << def.name;
    EXPECT_FALSE(subject->get_string().empty()) << def.name;
  }
}

TEST(BuiltinEventTypesTest, RequiredFieldsAreExactlyTheSpecsBoldOnes) {
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    ASSERT_TRUE(RequiredBySpec().contains(def.name)) << def.name;
    for (const std::string& pointer : RequiredBySpec().at(def.name)) {
      json::value data = def.example;
      Erase(data, pointer);
      EXPECT_THAT(Validate(def, data), ElementsAre(Violation(pointer, "is missing")))
          << def.name << " without " << pointer;
    }
  }
}

// Keeps only what RequiredBySpec() lists: everything else must be optional.
json::value RequiredOnly(const json::value& v, const std::string& at,
                         const std::vector<std::string>& required) {
  if (!v.is_object()) return v;
  json::object out;
  for (const auto& [key, child] : v.as_object()) {
    std::string pointer = at + "/" + std::string(key);
    for (const std::string& r : required) {
      if (r == pointer || r.starts_with(pointer + "/")) {
        out[key] = RequiredOnly(child, pointer, required);
        break;
      }
    }
  }
  return out;
}

TEST(BuiltinEventTypesTest, EverythingElseIsOptional) {
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    json::value minimal = RequiredOnly(def.example, "", RequiredBySpec().at(def.name));
    EXPECT_THAT(Validate(def, minimal), IsEmpty()) << def.name << ": " << json::serialize(minimal);
  }
}

TEST(BuiltinEventTypesTest, OptionalFieldsAreTypedButMayBeNull) {
  const EventTypeDef& hired = Builtin("employee.hired");
  json::value data = hired.example;
  Set(data, "/employee/manager_id", nullptr);
  Set(data, "/employee/department", nullptr);
  EXPECT_THAT(Validate(hired, data), IsEmpty());
  Set(data, "/employee/manager_id", 1203);
  EXPECT_THAT(Validate(hired, data),
              ElementsAre(Violation("/employee/manager_id", "must be a string or null")));

  const EventTypeDef& out = Builtin("time_entry.clocked_out");
  data = out.example;
  Set(data, "/entry/worked_minutes", -5);
  Set(data, "/entry/location/lat", 123.0);
  EXPECT_THAT(Validate(out, data),
              testing::UnorderedElementsAre(
                  Violation("/entry/worked_minutes", "must be greater than or equal to 0"),
                  Violation("/entry/location/lat", "must be less than or equal to 90")));

  const EventTypeDef& contract = Builtin("contract.updated");
  data = contract.example;
  Set(data, "/contract/salary/currency", "euros");
  Set(data, "/changes", json::parse(R"([{"field": 3}])"));
  EXPECT_THAT(Validate(contract, data),
              testing::UnorderedElementsAre(Violation("/contract/salary/currency", "pattern"),
                                            Violation("/changes/0/field", "must be a string")));
}

TEST(BuiltinEventTypesTest, FormatsAreChecked) {
  const EventTypeDef& hired = Builtin("employee.hired");
  json::value data = hired.example;
  Set(data, "/employee/start_date", "2026-13-45");
  Set(data, "/employee/email", "lucia.fernandez");
  EXPECT_THAT(Validate(hired, data),
              testing::UnorderedElementsAre(Violation("/employee/start_date", "valid date"),
                                            Violation("/employee/email", "valid email")));

  const EventTypeDef& in = Builtin("time_entry.clocked_in");
  data = in.example;
  Set(data, "/entry/at", "2026-02-02 08:58");
  EXPECT_THAT(Validate(in, data), ElementsAre(Violation("/entry/at", "date-time")));
}

TEST(BuiltinEventTypesTest, EnumsMatchTheSpec) {
  struct Case {
    const char* type;
    const char* pointer;
    std::vector<const char*> allowed;
    const char* refused;
  };
  const Case kCases[] = {
      {"time_off.requested", "/request/type", {"vacation", "sick", "personal", "parental", "other"}, "holiday"},
      {"time_off.rejected", "/request/type", {"vacation", "sick", "personal", "parental", "other"}, "Sick"},
      {"time_entry.clocked_in", "/entry/source", {"web", "mobile", "kiosk", "api"}, "fax"},
      {"employee.left", "/reason", {"deactivated", "deleted"}, "fired"},
  };
  for (const Case& c : kCases) {
    const EventTypeDef& def = Builtin(c.type);
    for (const char* value : c.allowed) {
      json::value data = def.example;
      Set(data, c.pointer, value);
      EXPECT_THAT(Validate(def, data), IsEmpty()) << c.type << " " << value;
    }
    json::value data = def.example;
    Set(data, c.pointer, c.refused);
    EXPECT_THAT(Validate(def, data), ElementsAre(Violation(c.pointer, "must be one of")))
        << c.type << " " << c.refused;
  }
}

TEST(BuiltinEventTypesTest, IdsMustBeNonEmpty) {
  const EventTypeDef& def = Builtin("onboarding.started");
  json::value data = def.example;
  Set(data, "/process/employee_id", "");
  EXPECT_THAT(Validate(def, data), ElementsAre(Violation("/process/employee_id", "must be at least 1 characters long")));
}

TEST(EventTypeToJsonTest, BuiltinShape) {
  json::object o = EventTypeToJson(Builtin("employee.hired"));
  EXPECT_EQ(o.at("name"), "employee.hired");
  EXPECT_EQ(o.at("family"), "employee");
  EXPECT_EQ(o.at("subject"), "/employee/id");
  EXPECT_EQ(o.at("builtin"), true);
  EXPECT_FALSE(o.contains("created_at"));
  EXPECT_TRUE(o.at("schema").is_object());
  EXPECT_TRUE(o.at("example").is_object());
  EXPECT_TRUE(o.at("description").is_string());

  EXPECT_TRUE(EventTypeToJson(Builtin("webhook.test")).at("subject").is_null());
}

TEST(EventTypeToJsonTest, CustomShape) {
  EventTypeDef def;
  def.name = "payroll.closed";
  def.description = "d";
  def.schema = json::object{};
  def.example = json::object{};
  def.created_at_ms = 1764151200000;  // 2025-11-26T10:00:00Z
  json::object o = EventTypeToJson(def);
  EXPECT_EQ(o.at("builtin"), false);
  EXPECT_EQ(o.at("family"), "payroll");
  EXPECT_EQ(o.at("created_at"), "2025-11-26T10:00:00.000Z");
  EXPECT_TRUE(o.at("subject").is_null());
}

json::object PayrollBody() {
  return json::parse(R"({
    "name": "payroll.closed",
    "description": "The monthly payroll of an employee was closed.",
    "subject": "/payslip/employee_id",
    "schema": {"type": "object", "required": ["payslip"], "properties": {"payslip": {
      "type": "object", "required": ["employee_id", "email", "period"], "properties": {
        "employee_id": {"type": "string", "minLength": 1},
        "email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"},
        "period": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
        "net": {"type": "number"}}}}},
    "example": {"payslip": {"employee_id": "emp_4821", "email": "lucia@acme.es",
                            "period": "2026-01", "net": 2874.15}}
  })")
      .as_object();
}

std::vector<FieldError> ParseErrors(const json::value& body) {
  auto r = ParseCustomEventType(body);
  if (r) return {};
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(r.error().fields.empty());
  return r.error().fields;
}

TEST(ParseCustomEventTypeTest, AcceptsAGoodType) {
  auto def = ParseCustomEventType(PayrollBody());
  ASSERT_TRUE(def.has_value()) << def.error().message;
  EXPECT_EQ(def->name, "payroll.closed");
  EXPECT_EQ(def->Family(), "payroll");
  EXPECT_EQ(def->subject_pointer, "/payslip/employee_id");
  EXPECT_FALSE(def->builtin);
  EXPECT_EQ(def->example, PayrollBody().at("example"));
}

TEST(ParseCustomEventTypeTest, RefusesBadNames) {
  for (const char* bad : {"payroll", "Payroll.closed", "payroll.Closed", "payroll..closed",
                          "1payroll.closed", "payroll.closed.", ".payroll.closed", "payroll.1closed",
                          "payroll-x.closed", "payroll.clo sed", "", "webhook.custom"}) {
    json::object body = PayrollBody();
    body["name"] = bad;
    EXPECT_THAT(ParseErrors(body), ElementsAre(testing::Field(&FieldError::pointer, "/name"))) << bad;
  }
  json::object body = PayrollBody();
  body["name"] = "a." + std::string(98, 'b');
  EXPECT_TRUE(ParseCustomEventType(body).has_value());
  body["name"] = "a." + std::string(99, 'b');
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/name", "100")));
  body["name"] = 7;
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/name", "string")));
  body.erase("name");
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/name", "required")));
  for (const char* good : {"payroll.closed", "a.b", "time_off.half_day2", "a.b.c_d"}) {
    body["name"] = good;
    EXPECT_TRUE(ParseCustomEventType(body).has_value()) << good;
  }
}

TEST(ParseCustomEventTypeTest, ExampleMustPassTheSchema) {
  json::object body = PayrollBody();
  body["example"].as_object()["payslip"].as_object()["email"] = "lucia";
  body["example"].as_object()["payslip"].as_object().erase("period");
  EXPECT_THAT(ParseErrors(body),
              testing::UnorderedElementsAre(Violation("/example/payslip/email", "pattern"),
                                            Violation("/example/payslip/period", "missing")));
}

TEST(ParseCustomEventTypeTest, SchemaMustCompile) {
  json::object body = PayrollBody();
  body["schema"] = json::parse(R"({"type": "objekt"})");
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/schema", "objekt")));
  body["schema"] = "not a schema";
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/schema", "object or a boolean")));
}

TEST(ParseCustomEventTypeTest, ReportsEveryProblemAtOnce) {
  json::value body = json::parse(R"({"name": "X", "schema": {"type": "object"}})");
  EXPECT_THAT(ParseErrors(body),
              testing::UnorderedElementsAre(Violation("/name", "lower-case"),
                                            Violation("/description", "required"),
                                            Violation("/example", "required")));
  EXPECT_THAT(ParseErrors(json::parse("[]")), ElementsAre(Violation("", "object")));
}

TEST(ParseCustomEventTypeTest, SubjectMustPointToAStringInTheExample) {
  json::object body = PayrollBody();
  body["subject"] = "/payslip/net";  // 2874.15
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/subject", "string or an integer")));
  body["subject"] = "/payslip";
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/subject", "string or an integer")));
  body["subject"] = "/nowhere";
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/subject", "does not point")));
  body["subject"] = "payslip/employee_id";
  EXPECT_THAT(ParseErrors(body), ElementsAre(Violation("/subject", "JSON pointer")));
  body.erase("subject");
  auto def = ParseCustomEventType(body);
  ASSERT_TRUE(def.has_value());
  EXPECT_EQ(def->subject_pointer, "");
}

TEST(EventCatalogTest, StartsWithTheBuiltins) {
  EventCatalog catalog;
  auto list = catalog.List();
  ASSERT_EQ(list.size(), 13u);
  for (size_t i = 1; i < list.size(); ++i) EXPECT_LT(list[i - 1]->def.name, list[i]->def.name);
  auto hired = catalog.Find("employee.hired");
  ASSERT_NE(hired, nullptr);
  EXPECT_TRUE(hired->def.builtin);
  EXPECT_THAT(hired->validator.Validate(hired->def.example), IsEmpty());
  EXPECT_THAT(hired->validator.Validate(json::object{}),
              ElementsAre(Violation("/employee", "missing")));
  EXPECT_EQ(catalog.Find("employee.promoted"), nullptr);
  EXPECT_EQ(catalog.Find(""), nullptr);
}

TEST(EventCatalogTest, FamilyLookup) {
  EventCatalog catalog;
  for (const char* family :
       {"employee", "time_off", "time_entry", "contract", "onboarding", "webhook"}) {
    EXPECT_TRUE(catalog.HasFamily(family)) << family;
  }
  for (const char* family : {"payroll", "employ", "employee.hired", "", "time"}) {
    EXPECT_FALSE(catalog.HasFamily(family)) << family;
  }
}

TEST(EventCatalogTest, AddsACustomType) {
  EventCatalog catalog;
  auto def = ParseCustomEventType(PayrollBody());
  ASSERT_TRUE(def.has_value());
  ASSERT_TRUE(catalog.Add(*def).has_value());

  auto found = catalog.Find("payroll.closed");
  ASSERT_NE(found, nullptr);
  EXPECT_FALSE(found->def.builtin);
  EXPECT_GT(found->def.created_at_ms, 1700000000000);
  EXPECT_TRUE(catalog.HasFamily("payroll"));
  EXPECT_EQ(catalog.List().size(), 14u);
  json::value bad = json::parse(R"({"payslip": {"employee_id": "e", "email": "x@y.z", "period": "2026-1"}})");
  EXPECT_THAT(found->validator.Validate(bad), ElementsAre(Violation("/payslip/period", "pattern")));

  // A catalog is its own registry.
  EXPECT_EQ(EventCatalog().Find("payroll.closed"), nullptr);
}

TEST(EventCatalogTest, RefusesDuplicates) {
  EventCatalog catalog;
  auto def = ParseCustomEventType(PayrollBody());
  ASSERT_TRUE(def.has_value());
  ASSERT_TRUE(catalog.Add(*def).has_value());
  auto again = catalog.Add(*def);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  EventTypeDef clash = *def;
  clash.name = "employee.hired";
  auto builtin = catalog.Add(clash);
  ASSERT_FALSE(builtin.has_value());
  EXPECT_EQ(builtin.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(catalog.Find("employee.hired")->def.builtin);
}

TEST(EventCatalogTest, AddChecksSchemaAndExample) {
  EventCatalog catalog;
  EventTypeDef def = *ParseCustomEventType(PayrollBody());
  def.example = json::parse(R"({"payslip": {"employee_id": 5}})");
  auto r = catalog.Add(def);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().fields, Contains(Violation("/example/payslip/employee_id", "must be a string")));

  def.schema = json::parse(R"({"$ref": "#"})");
  r = catalog.Add(def);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().fields, ElementsAre(Violation("/schema", "circular")));

  def = *ParseCustomEventType(PayrollBody());
  def.name = "NotAName";
  EXPECT_EQ(catalog.Add(def).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(catalog.Find("payroll.closed"), nullptr);
}

TEST(EventCatalogTest, ConcurrentAddsAndLookups) {
  EventCatalog catalog;
  EventTypeDef base = *ParseCustomEventType(PayrollBody());
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      EventTypeDef def = base;
      def.name = "custom.type_" + std::to_string(i);
      EXPECT_TRUE(catalog.Add(def).has_value());
    }
  });
  int misses = 0;
  for (int i = 0; i < 2000; ++i) {
    if (!catalog.Find("employee.hired")) ++misses;
    (void)catalog.HasFamily("custom");
  }
  writer.join();
  EXPECT_EQ(misses, 0);
  EXPECT_EQ(catalog.List().size(), 63u);
}

}  // namespace
}  // namespace hookd
