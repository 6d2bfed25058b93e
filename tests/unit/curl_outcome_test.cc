#include "dispatch/curl_outcome.h"

#include <gtest/gtest.h>

namespace hookd {
namespace {

// What libcurl 7.88.1 reports for nginx's `return 204` over HTTP/2 when the RST_STREAM(NO_ERROR)
// that follows it arrives while the body is being sent (rc CURLE_HTTP2_STREAM).
constexpr ReceivedResponse kEarly204{.status = 204, .content_length = 0, .body_bytes = 0};

ReceivedResponse WithBody(long status, int64_t length, int64_t bytes) {
  return {.status = status, .content_length = length, .body_bytes = bytes};
}

// --- ResponseComplete ------------------------------------------------------------------

TEST(ResponseCompleteTest, StatusesWithoutABodyAreCompleteWithTheirHeaders) {
  EXPECT_TRUE(ResponseComplete(kEarly204));
  EXPECT_TRUE(ResponseComplete(WithBody(204, -1, 0)));  // no length reported
  EXPECT_TRUE(ResponseComplete(WithBody(304, -1, 0)));
}

TEST(ResponseCompleteTest, ABodyIsCompleteWhenAllOfItsContentLengthArrived) {
  EXPECT_TRUE(ResponseComplete(WithBody(200, 0, 0)));
  EXPECT_TRUE(ResponseComplete(WithBody(200, 17, 17)));
  EXPECT_TRUE(ResponseComplete(WithBody(503, 120, 120)));
}

TEST(ResponseCompleteTest, ABodyCutShortIsNotComplete) {
  EXPECT_FALSE(ResponseComplete(WithBody(200, 17, 0)));
  EXPECT_FALSE(ResponseComplete(WithBody(200, 17, 16)));
  EXPECT_FALSE(ResponseComplete(WithBody(202, 4096, 1024)));
}

TEST(ResponseCompleteTest, ABodyOfUnknownLengthIsNotComplete) {
  EXPECT_FALSE(ResponseComplete(WithBody(200, -1, 0)));
  EXPECT_FALSE(ResponseComplete(WithBody(200, -1, 512)));
}

TEST(ResponseCompleteTest, NoStatusOrAnInterimOneIsNotAResponse) {
  EXPECT_FALSE(ResponseComplete(WithBody(0, -1, 0)));
  EXPECT_FALSE(ResponseComplete(WithBody(0, 0, 0)));
  EXPECT_FALSE(ResponseComplete(WithBody(100, 0, 0)));
  EXPECT_FALSE(ResponseComplete(WithBody(103, 0, 0)));
}

// --- OutcomeIsResponse -----------------------------------------------------------------

TEST(OutcomeIsResponseTest, ASuccessfulTransferWithAStatusIsItsResponse) {
  EXPECT_TRUE(OutcomeIsResponse(CURLE_OK, kEarly204));
  EXPECT_TRUE(OutcomeIsResponse(CURLE_OK, WithBody(500, -1, 30)));  // curl saw its end
  EXPECT_FALSE(OutcomeIsResponse(CURLE_OK, WithBody(0, -1, 0)));
}

TEST(OutcomeIsResponseTest, AnErrorAfterACompleteResponseIsThatResponse) {
  for (CURLcode rc : {CURLE_HTTP2_STREAM, CURLE_HTTP2, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
                      CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT}) {
    SCOPED_TRACE(curl_easy_strerror(rc));
    EXPECT_TRUE(OutcomeIsResponse(rc, kEarly204));
    EXPECT_TRUE(OutcomeIsResponse(rc, WithBody(200, 2, 2)));
    EXPECT_TRUE(OutcomeIsResponse(rc, WithBody(500, 0, 0)));  // the status decides: a retry
  }
}

TEST(OutcomeIsResponseTest, AnErrorAfterAResponseCutShortStaysAnError) {
  for (CURLcode rc : {CURLE_HTTP2_STREAM, CURLE_HTTP2, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
                      CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT}) {
    SCOPED_TRACE(curl_easy_strerror(rc));
    EXPECT_FALSE(OutcomeIsResponse(rc, WithBody(200, 100, 40)));
    EXPECT_FALSE(OutcomeIsResponse(rc, WithBody(200, -1, 40)));
    EXPECT_FALSE(OutcomeIsResponse(rc, WithBody(0, -1, 0)));  // the headers never surfaced
  }
}

TEST(OutcomeIsResponseTest, OtherErrorsStayErrorsWhateverArrived) {
  for (CURLcode rc : {CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
                      CURLE_PEER_FAILED_VERIFICATION, CURLE_WRITE_ERROR, CURLE_ABORTED_BY_CALLBACK,
                      CURLE_OUT_OF_MEMORY, CURLE_WEIRD_SERVER_REPLY, CURLE_GOT_NOTHING}) {
    SCOPED_TRACE(curl_easy_strerror(rc));
    EXPECT_FALSE(OutcomeIsResponse(rc, kEarly204));
    EXPECT_FALSE(OutcomeIsResponse(rc, WithBody(200, 2, 2)));
  }
}

}  // namespace
}  // namespace hookd
