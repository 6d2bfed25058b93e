// Filters: the input up to the first "\n----\n" is an endpoint's "filter" (compiled as
// POST/PATCH …/endpoints does), the rest an event payload it is matched against.

#include "core/filter.h"
#include "core/json_util.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [filter_text, payload_text] = hookd::fuzz::SplitTwo(hookd::fuzz::AsView(data, size));
  auto spec = hookd::ParseJson(filter_text);
  if (!spec) return 0;
  auto filter = hookd::Filter::Compile(*spec);
  if (!filter) return 0;
  HOOKD_FUZZ_CHECK(filter->ToJson() == *spec, "the filter does not keep its spec");
  HOOKD_FUZZ_CHECK(filter->RegexProgramSize() <= hookd::kMaxFilterRegexProgramTotal,
                   "over the regex budget");
  auto payload = hookd::ParseJson(payload_text);
  if (payload) (void)filter->Matches(*payload);
  else (void)filter->Matches(boost::json::value(payload_text));
  return 0;
}
