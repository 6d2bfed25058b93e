// Event JSON and schema validation: the input (up to the first "\n----\n") is parsed with
// ParseJson as an event's data is, round-tripped through ToJson, and validated against a
// built-in catalog type's schema (chosen by the input's length); the part after the
// separator, when there is one, is a custom schema as an operator may POST it to
// /v1/event-types — hostile ones included — compiled and used to validate the first part.

#include <boost/json.hpp>

#include "core/event_catalog.h"
#include "core/json_util.h"
#include "core/schema_validator.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const hookd::EventCatalog* catalog = new hookd::EventCatalog();
  static const auto types = catalog->List();
  auto [instance_text, schema_text] = hookd::fuzz::SplitTwo(hookd::fuzz::AsView(data, size));

  auto instance = hookd::ParseJson(instance_text);
  if (instance) {
    const std::string out = hookd::ToJson(*instance);
    HOOKD_FUZZ_CHECK(hookd::ParseJson(out).has_value(), "ToJson wrote what ParseJson refuses");
    const auto& entry = types[size % types.size()];
    for (const auto& e : entry->validator.Validate(*instance))
      HOOKD_FUZZ_CHECK(e.pointer.empty() || e.pointer[0] == '/', "a pointer not starting with '/'");
  }
  if (schema_text.empty()) return 0;
  auto schema = hookd::ParseJson(schema_text);
  if (!schema) return 0;
  auto validator = hookd::SchemaValidator::Compile(*schema);
  if (validator && instance) (void)validator->Validate(*instance);
  // The whole custom-type check of POST /v1/event-types.
  boost::json::object body;
  body["name"] = "fuzz.custom";
  body["description"] = "fuzz";
  body["schema"] = *schema;
  if (instance) body["example"] = *instance;
  (void)hookd::ParseCustomEventType(body);
  return 0;
}
