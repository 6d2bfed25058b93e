#include "dispatch/http1_response.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace hookd {
namespace {

using Step = Http1ResponseReader::Step;

// Feeds `bytes` in pieces of `chunk`, then the connection's end if still incomplete.
Step ReadAll(Http1ResponseReader& r, std::string_view bytes, size_t chunk = 1 << 20, bool eof = true) {
  char scratch[64];
  r.Start();
  Step s = Step::kMore;
  while (s == Step::kMore && !bytes.empty()) {
    const size_t n = std::min(chunk, bytes.size());
    s = r.Feed(bytes.data(), n, scratch, sizeof scratch);
    bytes.remove_prefix(n);
  }
  if (s == Step::kMore && eof) s = r.FeedEof();
  return s;
}

TEST(Http1ResponseReaderTest, ReadsAResponseInAnyPieces) {
  const std::string_view bytes =
      "HTTP/1.1 503 Busy\r\nRetry-After: 120\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n";
  for (size_t chunk : {1, 3, 1000}) {
    Http1ResponseReader r;
    ASSERT_EQ(ReadAll(r, bytes, chunk), Step::kDone) << chunk;
    EXPECT_EQ(r.Status(), 503);
    EXPECT_TRUE(r.Reusable());
    EXPECT_EQ(r.Capture().Header("retry-after"), "120");
    EXPECT_EQ(r.Capture().body, "busy");
  }
}

TEST(Http1ResponseReaderTest, InterimResponsesAreSkippedAndLeftoverBytesEndReuse) {
  Http1ResponseReader r;
  ASSERT_EQ(ReadAll(r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nextra"), Step::kDone);
  EXPECT_EQ(r.Status(), 204);
  EXPECT_FALSE(r.Reusable());
}

TEST(Http1ResponseReaderTest, BodyEndedByTheCloseAndCutShort) {
  Http1ResponseReader r;
  ASSERT_EQ(ReadAll(r, "HTTP/1.0 200 OK\r\n\r\nuntil close"), Step::kDone);
  EXPECT_EQ(r.Capture().body, "until close");
  EXPECT_FALSE(r.Reusable());
  EXPECT_EQ(ReadAll(r, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), Step::kFailed);
  EXPECT_EQ(r.Status(), 200);  // the header was complete: the attempt records it
}

// Found by fuzz/http1_response_fuzz.cc: Beast takes any three digits as a status, so "042"
// reached the dispatcher as status 42 (curl refuses a status below 100 as not HTTP).
TEST(Http1ResponseReaderTest, StatusBelow100IsRefused) {
  for (std::string_view bytes : {"HTTP/1.1 042 Odd\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 000 Zero\r\n\r\n",
                                 "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n"}) {
    Http1ResponseReader r;
    EXPECT_EQ(ReadAll(r, bytes), Step::kFailed) << bytes;
    EXPECT_NE(r.Error().find("below 100"), std::string::npos) << r.Error();
    EXPECT_EQ(r.Status(), 0);
  }
  Http1ResponseReader r;
  EXPECT_EQ(ReadAll(r, "HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n"), Step::kDone);
  EXPECT_EQ(r.Status(), 999);
}

}  // namespace
}  // namespace hookd
