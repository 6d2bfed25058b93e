// Payload templates: the input up to the first "\n----\n" is an endpoint's "template"
// (compiled as a save does), the rest the event it is rendered with. A rendered body must be
// JSON that ParseJson takes, of the template's own kind: an event can never change the shape.

#include "core/json_util.h"
#include "core/payload_template.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [template_text, event_text] = hookd::fuzz::SplitTwo(hookd::fuzz::AsView(data, size));
  auto doc = hookd::ParseJson(template_text);
  if (!doc) return 0;
  auto tmpl = hookd::PayloadTemplate::Compile(*doc);
  if (!tmpl) return 0;
  auto event = hookd::ParseJson(event_text);
  const std::string body = tmpl->Render(event ? *event : boost::json::value(event_text));
  auto out = hookd::ParseJson(body);
  HOOKD_FUZZ_CHECK(out.has_value(), "a rendered body is not JSON");
  HOOKD_FUZZ_CHECK(out->kind() == doc->kind() ||
                       (out->is_number() && doc->is_number()),
                   "the event changed the template's shape");
  return 0;
}
