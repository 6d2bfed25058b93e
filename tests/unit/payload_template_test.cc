// Endpoint payload templates (core/payload_template.h): what they render, what they refuse.
#include "core/payload_template.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace hookd {
namespace {
namespace json = boost::json;

const json::value kEvent = json::parse(R"({
  "id": "evt_1", "type": "contract.updated", "timestamp": "2026-12-03T10:00:00.000Z",
  "data": {"employee": {"id": "emp_7", "name": "Ana \"la jefa\" García"},
           "contract": {"salary": {"amount": 72000, "currency": "EUR"}, "full_time": true,
                        "hours": null, "tags": ["senior", "remote"]}}})");

std::string Render(std::string_view tmpl) {
  auto t = PayloadTemplate::Compile(json::parse(tmpl));
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? t->Render(kEvent) : "";
}

TEST(PayloadTemplateTest, FillsStringsWithTheEventsValues) {
  EXPECT_EQ(Render(R"({"text": "Salary of {{data.employee.id}}: {{ data.contract.salary.amount }} {{data.contract.salary.currency}}"})"),
            R"({"text":"Salary of emp_7: 72000 EUR"})");
  // Numbers, booleans, objects and arrays as their JSON text; null and missing paths as nothing.
  EXPECT_EQ(Render(R"(["{{data.contract.full_time}}", "{{data.contract.tags}}", "[{{data.contract.hours}}]", "[{{data.nope.x}}]", "{{data.contract.tags.1}}"])"),
            R"(["true","[\"senior\",\"remote\"]","[]","[]","remote"])");
  // Keys, numbers and strings without variables stay as they are.
  EXPECT_EQ(Render(R"({"channel": "#compliance", "n": 3, "blocks": [{"type": "section"}]})"),
            R"({"channel":"#compliance","n":3,"blocks":[{"type":"section"}]})");
}

TEST(PayloadTemplateTest, AValueNeverBreaksOutOfItsString) {
  // The name holds quotes: they arrive escaped, inside the one string.
  const std::string out = Render(R"({"text": "{{data.employee.name}}"})");
  EXPECT_EQ(out, R"({"text":"Ana \"la jefa\" García"})");
  const json::value parsed = json::parse(out);
  EXPECT_EQ(parsed.get_object().size(), 1u);
  // Even a value that looks like JSON or like another variable stays text.
  const json::value evil = json::parse(R"({"data": {"x": "\"}, \"admin\": true, \"y\": \"{{data.x}}"}})");
  auto t = PayloadTemplate::Compile(json::parse(R"({"text": "{{data.x}}"})"));
  ASSERT_TRUE(t);
  const json::value rendered = json::parse(t->Render(evil));
  ASSERT_EQ(rendered.get_object().size(), 1u);
  EXPECT_EQ(rendered.at("text").as_string(), "\"}, \"admin\": true, \"y\": \"{{data.x}}");
}

TEST(PayloadTemplateTest, RefusesWhatIsNotAPlainVariableWithAPointerToIt) {
  struct Case {
    const char* tmpl;
    const char* pointer;
  };
  for (const Case& c : {Case{R"({"a": "{{data.x"})", "/a"}, Case{R"({"a": ["ok", "{{}}"]})", "/a/1"},
                        Case{R"({"a": "{{#data}}x{{/data}}"})", "/a"}, Case{R"({"a": "{{{data.x}}}"})", "/a"},
                        Case{R"({"a": "{{> partial}}"})", "/a"}, Case{R"({"a": "{{data..x}}"})", "/a"},
                        Case{R"({"a": "{{data.x y}}"})", "/a"}, Case{R"({"a/b": "{{.x}}"})", "/a~1b"}}) {
    auto t = PayloadTemplate::Compile(json::parse(c.tmpl));
    ASSERT_FALSE(t) << c.tmpl;
    EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
    ASSERT_FALSE(t.error().fields.empty()) << c.tmpl;
    EXPECT_EQ(t.error().fields[0].pointer, c.pointer) << c.tmpl << ": " << t.error().fields[0].message;
  }
}

TEST(PayloadTemplateTest, SizeDepthAndVariableCountAreCapped) {
  EXPECT_FALSE(PayloadTemplate::Compile(json::value(std::string(kMaxTemplateBytes + 1, 'x'))));
  json::value deep = "leaf";
  for (size_t i = 0; i <= kMaxTemplateDepth; ++i) deep = json::array{deep};
  EXPECT_FALSE(PayloadTemplate::Compile(deep));
  std::string many;
  for (size_t i = 0; i <= kMaxTemplateVariables; ++i) many += "{{a}}";
  EXPECT_FALSE(PayloadTemplate::Compile(json::value(many)));
  many.resize(many.size() - 5);
  EXPECT_TRUE(PayloadTemplate::Compile(json::value(many)));
}

}  // namespace
}  // namespace hookd
