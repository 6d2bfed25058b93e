#pragma once
// An endpoint's payload template: the body a receiver gets in its own format instead of the
// event envelope — e.g. Slack's incoming webhooks take {"text": "…"}. A template is a JSON
// document whose strings may hold Mustache-style variables, `{{data.contract.salary.amount}}`:
// a dot path into the event as hookd delivers it (id, type, timestamp, company_id, data…).
// Nothing else of Mustache (no sections, no partials, no lambdas: no code).
//
// Safety: only the *strings* of the template are filled in, and the result is serialised as
// JSON afterwards, so a value is always escaped inside its string — an event can never add a
// field, close a string or change the document's shape. A value that is a string goes in as
// its text; a number, true/false as their JSON text; an object or array as its compact JSON;
// null or a missing path as nothing ("").
//
// The rendered document is what is signed and sent (content-type application/json).

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/error.h"

namespace hookd {

inline constexpr size_t kMaxTemplateBytes = 16 * 1024;   // serialised
inline constexpr size_t kMaxTemplateVariables = 200;
inline constexpr size_t kMaxTemplateDepth = 16;

class PayloadTemplate {
 public:
  // Checks and prepares `doc`. kInvalidArgument with one field per problem (pointers relative
  // to the template): larger than kMaxTemplateBytes, nested deeper than kMaxTemplateDepth,
  // more than kMaxTemplateVariables variables, an unclosed "{{", an empty or malformed path
  // (letters, digits, '_' and '-' between dots), "{{{…}}}" or a section tag ({{#…}}, {{/…}},
  // {{^…}}, {{>…}}, {{!…}}, {{&…}}).
  static Result<PayloadTemplate> Compile(const boost::json::value& doc);

  // The body for one delivery: the template with every variable filled in from `event`.
  std::string Render(const boost::json::value& event) const;

  size_t Variables() const { return variables_; }

 private:
  boost::json::value doc_;
  size_t variables_ = 0;
};

}  // namespace hookd
