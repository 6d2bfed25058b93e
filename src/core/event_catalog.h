#pragma once
// The event catalog: the built-in HR event types (SPEC §2, from src/core/catalog/*.json,
// embedded at build time) plus custom types that operators add at run time.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/schema_validator.h"

namespace hookd {

struct EventTypeDef {
  std::string name;         // "employee.hired": lower-case "<family>.<action>"
  std::string description;
  boost::json::value schema;   // JSON Schema of the event's `data`
  boost::json::value example;  // a realistic `data` that passes `schema`
  // JSON pointer into `data` that gives the subject (ordering key), e.g. "/employee/id";
  // empty when the type has none.
  std::string subject_pointer;
  bool builtin = false;
  int64_t created_at_ms = 0;

  std::string Family() const { return name.substr(0, name.find('.')); }
};

// Serialises a type as the API shows it: {name, family, description, schema, example, ...}.
boost::json::object EventTypeToJson(const EventTypeDef& def);

// Parses an operator's POST /v1/event-types body. Checks the name's form, that the schema
// compiles and that the example passes it. Field errors carry pointers into the body.
Result<EventTypeDef> ParseCustomEventType(const boost::json::value& body);

// The built-in types, parsed from the embedded catalog files. Aborts at start-up if a file
// is malformed (that is a build defect, caught by tests).
const std::vector<EventTypeDef>& BuiltinEventTypes();

// Thread-safe registry. Lookups are lock-free reads of an immutable snapshot.
class EventCatalog {
 public:
  struct Entry {
    EventTypeDef def;
    SchemaValidator validator;
  };

  EventCatalog();  // starts with the built-ins

  // Adds a custom type. kAlreadyExists when the name is taken; kInvalidArgument when the
  // schema does not compile or the example fails it.
  Result<void> Add(EventTypeDef def);

  // nullptr when unknown.
  std::shared_ptr<const Entry> Find(std::string_view name) const;
  // All types sorted by name.
  std::vector<std::shared_ptr<const Entry>> List() const;
  // True when some type has this family ("employee" for "employee.*").
  bool HasFamily(std::string_view family) const;

 private:
  using Map = std::unordered_map<std::string, std::shared_ptr<const Entry>>;
  std::shared_ptr<const Map> Snapshot() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Map> types_;  // GUARDED_BY(mu_); replaced, never mutated
};

}  // namespace hookd
