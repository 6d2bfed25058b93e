// The built-in HTTP/1.1 client's response parser (dispatch/http1_response.h), fed a receiver's
// bytes as recv() returns them: the first byte sets the chunk size (0: all at once), then
// the connection closes. What a finished response yields is then judged as the dispatcher
// does (ErrorForStatus) and its captured headers' Retry-After parsed.

#include <algorithm>
#include <memory>

#include "core/delivery_decision.h"
#include "core/retry_policy.h"
#include "dispatch/http1_response.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = data[0] == 0 ? size : data[0];
  std::string_view in = hookd::fuzz::AsView(data + 1, size - 1);
  static char scratch[16384];

  hookd::Http1ResponseReader reader;
  reader.Start();
  using Step = hookd::Http1ResponseReader::Step;
  Step step = Step::kMore;
  while (step == Step::kMore && !in.empty()) {
    const size_t n = std::min(chunk, in.size());
    step = reader.Feed(in.data(), n, scratch, sizeof scratch);
    in.remove_prefix(n);
  }
  if (step == Step::kMore) step = reader.FeedEof();
  if (step == Step::kFailed) return 0;
  const int status = reader.Status();
  HOOKD_FUZZ_CHECK(status >= 100 && status <= 999, "a final status outside 100-999");
  HOOKD_FUZZ_CHECK(status >= 200 || status == 101, "an interim status as the answer");
  (void)hookd::ErrorForStatus(status);
  auto& capture = reader.Capture();
  HOOKD_FUZZ_CHECK(capture.body.size() <= hookd::ResponseCapture::kMaxBody, "captured too much body");
  HOOKD_FUZZ_CHECK(capture.headers.size() <= hookd::ResponseCapture::kMaxHeaders, "captured too many headers");
  (void)hookd::ParseRetryAfter(capture.Header("retry-after"), 1'764'151'200'000);
  (void)capture.HeadersJson();
  return 0;
}
