// `hookd verify`'s input: a captured delivery (raw HTTP, JSON {headers, body}) read by
// ParseCapturedRequest, then checked by VerifyCaptured with a fixed secret and clock, under
// each scheme. The part after a "\n----\n" separator, when there is one, is a list of
// --header flags (one per line) given with the first part as the body.

#include <string>
#include <vector>

#include "cli/verify.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = hookd::fuzz::AsView(data, size);
  std::vector<hookd::CapturedRequest> requests;
  if (auto req = hookd::ParseCapturedRequest(input)) requests.push_back(std::move(*req));

  auto [body, flags_text] = hookd::fuzz::SplitTwo(input);
  if (!flags_text.empty()) {
    std::vector<std::string> flags;
    size_t start = 0;
    while (start <= flags_text.size() && flags.size() < 32) {
      size_t nl = flags_text.find('\n', start);
      if (nl == std::string_view::npos) nl = flags_text.size();
      flags.emplace_back(flags_text.substr(start, nl - start));
      start = nl + 1;
    }
    if (auto headers = hookd::ParseHeaderFlags(flags))
      requests.push_back(hookd::CapturedRequest{std::move(*headers), std::string(body), "--header flags"});
  }

  for (const auto& req : requests) {
    for (auto scheme : {hookd::VerifyScheme::kAuto, hookd::VerifyScheme::kStandard, hookd::VerifyScheme::kGithub}) {
      hookd::VerifyOptions opts{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", scheme, 5 * 60 * 1000,
                                1'764'151'200'000};
      (void)hookd::VerifyCaptured(req, opts);
    }
  }
  return 0;
}
