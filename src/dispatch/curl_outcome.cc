#include "dispatch/curl_outcome.h"

namespace hookd {

namespace {

// The errors libcurl can end a transfer with after a complete response has arrived.
bool CanFollowCompleteResponse(CURLcode rc) {
  switch (rc) {
    case CURLE_HTTP2_STREAM:  // the stream was closed (RST_STREAM) while the body was being sent
    case CURLE_HTTP2:         // the HTTP/2 connection failed after the answer (GOAWAY, framing)
    case CURLE_SEND_ERROR:    // sending the rest of the body failed: the receiver closed it
    case CURLE_RECV_ERROR:    // the connection was reset after the answer (unread body: RST)
    case CURLE_PARTIAL_FILE:  // the stream was reset after the response headers
    case CURLE_OPERATION_TIMEDOUT:  // the upload stalled after the answer until the timeout
      return true;
    default:
      return false;
  }
}

}  // namespace

bool ResponseComplete(const ReceivedResponse& r) {
  if (r.status < 200) return false;
  if (r.status == 204 || r.status == 304) return true;
  return r.content_length >= 0 && r.body_bytes == r.content_length;
}

bool OutcomeIsResponse(CURLcode rc, const ReceivedResponse& r) {
  if (r.status <= 0) return false;
  if (rc == CURLE_OK) return true;
  return CanFollowCompleteResponse(rc) && ResponseComplete(r);
}

}  // namespace hookd
