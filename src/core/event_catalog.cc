#include "core/event_catalog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/embedded.h"
#include "core/json_util.h"

namespace hookd {

namespace json = boost::json;

namespace {

constexpr size_t kMaxNameLength = 100;
constexpr size_t kMaxDescriptionLength = 2000;

// ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$
bool IsValidTypeName(std::string_view name) {
  size_t segments = 0;
  size_t pos = 0;
  while (true) {
    if (pos >= name.size() || name[pos] < 'a' || name[pos] > 'z') return false;
    ++pos;
    while (pos < name.size() && ((name[pos] >= 'a' && name[pos] <= 'z') ||
                                 (name[pos] >= '0' && name[pos] <= '9') || name[pos] == '_')) {
      ++pos;
    }
    ++segments;
    if (pos == name.size()) break;
    if (name[pos] != '.') return false;
    ++pos;
  }
  return segments >= 2;
}

// "" or an RFC 6901 pointer: "/a/b", where '~' is only followed by '0' or '1'.
bool IsValidPointer(std::string_view p) {
  if (p.empty()) return true;
  if (p.front() != '/') return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  }
  return true;
}

// Why `subject` cannot be used with `example`, or nullopt when it can.
std::optional<std::string> SubjectProblem(const EventTypeDef& def) {
  if (def.subject_pointer.empty()) return std::nullopt;
  const json::value* v = ResolvePointer(def.example, def.subject_pointer);
  if (!v) return "does not point to a value in the example";
  // The ingest path takes a string or an integer as the ordering key.
  if (v->is_int64() || v->is_uint64()) return std::nullopt;
  if (!v->is_string() || v->get_string().empty()) {
    return "must point to a non-empty string or an integer in the example";
  }
  return std::nullopt;
}

std::vector<FieldError> Prefixed(std::string_view prefix, std::vector<FieldError> errors) {
  for (FieldError& e : errors) e.pointer = std::string(prefix) + e.pointer;
  return errors;
}

[[noreturn]] void CatalogDefect(std::string_view file, std::string_view problem) {
  std::fprintf(stderr, "hookd: built-in event catalog file src/core/catalog/%.*s is malformed: %.*s\n",
               static_cast<int>(file.size()), file.data(), static_cast<int>(problem.size()),
               problem.data());
  std::abort();
}

EventTypeDef ParseBuiltin(const EmbeddedFile& file) {
  boost::system::error_code ec;
  json::value doc = json::parse(file.data, ec);
  if (ec) CatalogDefect(file.path, "not JSON: " + ec.message());
  if (!doc.is_object()) CatalogDefect(file.path, "not a JSON object");
  const json::object& o = doc.get_object();

  auto str = [&](std::string_view key) -> std::string {
    const json::value* v = o.if_contains(key);
    if (!v || !v->is_string()) CatalogDefect(file.path, "\"" + std::string(key) + "\" must be a string");
    return std::string(v->get_string());
  };
  EventTypeDef def;
  def.name = str("name");
  def.description = str("description");
  def.subject_pointer = str("subject");
  def.builtin = true;
  if (file.path != def.name + ".json") CatalogDefect(file.path, "file name must be <name>.json");
  if (!IsValidTypeName(def.name)) CatalogDefect(file.path, "bad type name");
  if (def.description.empty()) CatalogDefect(file.path, "empty description");
  if (!IsValidPointer(def.subject_pointer)) CatalogDefect(file.path, "\"subject\" is not a JSON pointer");
  const json::value* schema = o.if_contains("schema");
  const json::value* example = o.if_contains("example");
  if (!schema || !example) CatalogDefect(file.path, "\"schema\" and \"example\" are required");
  def.schema = *schema;
  def.example = *example;

  auto validator = SchemaValidator::Compile(def.schema);
  if (!validator) CatalogDefect(file.path, validator.error().message);
  std::vector<FieldError> errors = validator->Validate(def.example);
  if (!errors.empty()) {
    CatalogDefect(file.path, "example fails the schema at \"" + errors[0].pointer + "\": " +
                                 errors[0].message);
  }
  if (auto problem = SubjectProblem(def)) CatalogDefect(file.path, "\"subject\" " + *problem);
  return def;
}

}  // namespace

json::object EventTypeToJson(const EventTypeDef& def) {
  json::object o;
  o["name"] = def.name;
  o["family"] = def.Family();
  o["description"] = def.description;
  o["builtin"] = def.builtin;
  if (def.subject_pointer.empty()) {
    o["subject"] = nullptr;
  } else {
    o["subject"] = def.subject_pointer;
  }
  if (!def.builtin) o["created_at"] = FormatTime(def.created_at_ms);
  o["schema"] = def.schema;
  o["example"] = def.example;
  return o;
}

Result<EventTypeDef> ParseCustomEventType(const json::value& body) {
  if (!body.is_object()) return InvalidField("", "the body must be a JSON object");
  const json::object& o = body.get_object();
  std::vector<FieldError> errors;
  EventTypeDef def;

  const json::value* name = o.if_contains("name");
  if (!name) {
    errors.push_back({"/name", "is required"});
  } else if (!name->is_string()) {
    errors.push_back({"/name", "must be a string"});
  } else {
    def.name = std::string(name->get_string());
    if (def.name.size() > kMaxNameLength) {
      errors.push_back({"/name", "must be at most 100 characters"});
    } else if (!IsValidTypeName(def.name)) {
      errors.push_back({"/name",
                        "must be lower-case dot-separated words like \"payroll.closed\" "
                        "(pattern ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$)"});
    } else if (def.Family() == "webhook") {
      errors.push_back({"/name", "the \"webhook\" family is reserved for hookd's own events"});
    }
  }

  const json::value* description = o.if_contains("description");
  if (!description) {
    errors.push_back({"/description", "is required"});
  } else if (!description->is_string() || description->get_string().empty()) {
    errors.push_back({"/description", "must be a non-empty string"});
  } else if (description->get_string().size() > kMaxDescriptionLength) {
    errors.push_back({"/description", "must be at most 2000 characters"});
  } else {
    def.description = std::string(description->get_string());
  }

  bool subject_ok = true;
  if (const json::value* subject = o.if_contains("subject"); subject && !subject->is_null()) {
    if (!subject->is_string() || !IsValidPointer(subject->get_string())) {
      errors.push_back({"/subject", "must be a JSON pointer into the event data, like \"/employee/id\""});
      subject_ok = false;
    } else {
      def.subject_pointer = std::string(subject->get_string());
    }
  }

  const json::value* schema = o.if_contains("schema");
  const json::value* example = o.if_contains("example");
  std::optional<SchemaValidator> validator;
  if (!schema) {
    errors.push_back({"/schema", "is required"});
  } else {
    def.schema = *schema;
    auto compiled = SchemaValidator::Compile(*schema);
    if (compiled) {
      validator = std::move(*compiled);
    } else {
      errors.push_back({"/schema", compiled.error().message});
    }
  }
  if (!example) {
    errors.push_back({"/example", "is required"});
  } else {
    def.example = *example;
    if (validator) {
      std::vector<FieldError> violations = Prefixed("/example", validator->Validate(*example));
      errors.insert(errors.end(), violations.begin(), violations.end());
      if (violations.empty() && subject_ok) {
        if (auto problem = SubjectProblem(def)) errors.push_back({"/subject", *problem});
      }
    }
  }

  if (!errors.empty()) {
    std::string message = errors.size() == 1
                              ? "invalid event type: " + errors[0].pointer + " " + errors[0].message
                              : "invalid event type (" + std::to_string(errors.size()) + " problems)";
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(errors));
  }
  def.builtin = false;
  return def;
}

const std::vector<EventTypeDef>& BuiltinEventTypes() {
  static const std::vector<EventTypeDef> types = [] {
    std::vector<EventTypeDef> out;
    for (const EmbeddedFile& file : catalog_files()) out.push_back(ParseBuiltin(file));
    std::sort(out.begin(), out.end(),
              [](const EventTypeDef& a, const EventTypeDef& b) { return a.name < b.name; });
    for (size_t i = 1; i < out.size(); ++i) {
      if (out[i].name == out[i - 1].name) CatalogDefect(out[i].name, "duplicate type name");
    }
    return out;
  }();
  return types;
}

EventCatalog::EventCatalog() {
  auto map = std::make_shared<Map>();
  for (const EventTypeDef& def : BuiltinEventTypes()) {
    // ParseBuiltin already compiled each schema, so this cannot fail.
    SchemaValidator validator = *SchemaValidator::Compile(def.schema);
    (*map)[def.name] = std::make_shared<const Entry>(Entry{def, std::move(validator)});
  }
  types_ = std::move(map);
}

Result<void> EventCatalog::Add(EventTypeDef def) {
  def.builtin = false;
  if (def.created_at_ms == 0) def.created_at_ms = NowMs();
  if (def.name.size() > kMaxNameLength || !IsValidTypeName(def.name)) {
    return InvalidField("/name", "\"" + def.name + "\" is not a valid event type name");
  }
  if (Find(def.name)) {
    return MakeError(ErrorCode::kAlreadyExists, "event type \"" + def.name + "\" already exists",
                     {{"/name", "already exists"}});
  }
  // Compile outside the lock: it is the slow part.
  auto validator = SchemaValidator::Compile(def.schema);
  if (!validator) {
    return MakeError(ErrorCode::kInvalidArgument, validator.error().message,
                     {{"/schema", validator.error().message}});
  }
  std::vector<FieldError> violations = Prefixed("/example", validator->Validate(def.example));
  if (!violations.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the example does not match the schema",
                     std::move(violations));
  }
  auto entry = std::make_shared<const Entry>(Entry{std::move(def), std::move(*validator)});

  std::lock_guard lock(mu_);
  if (types_->contains(entry->def.name)) {
    return MakeError(ErrorCode::kAlreadyExists,
                     "event type \"" + entry->def.name + "\" already exists",
                     {{"/name", "already exists"}});
  }
  auto next = std::make_shared<Map>(*types_);
  (*next)[entry->def.name] = std::move(entry);
  types_ = std::move(next);
  return {};
}

std::shared_ptr<const EventCatalog::Entry> EventCatalog::Find(std::string_view name) const {
  std::shared_ptr<const Map> snapshot = Snapshot();
  auto it = snapshot->find(std::string(name));
  return it == snapshot->end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const EventCatalog::Entry>> EventCatalog::List() const {
  std::shared_ptr<const Map> snapshot = Snapshot();
  std::vector<std::shared_ptr<const Entry>> out;
  out.reserve(snapshot->size());
  for (const auto& [name, entry] : *snapshot) out.push_back(entry);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->def.name < b->def.name; });
  return out;
}

bool EventCatalog::HasFamily(std::string_view family) const {
  std::shared_ptr<const Map> snapshot = Snapshot();
  for (const auto& [name, entry] : *snapshot) {
    if (name.size() > family.size() && name.compare(0, family.size(), family) == 0 &&
        name[family.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::shared_ptr<const EventCatalog::Map> EventCatalog::Snapshot() const {
  std::lock_guard lock(mu_);
  return types_;
}

}  // namespace hookd
