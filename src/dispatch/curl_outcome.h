#pragma once
// What a finished libcurl transfer means for its attempt: the receiver's response, or the
// transfer's error. Pure (no curl calls): HttpClient reads the infos, these decide.
//
// A transfer can end with an error after a complete response has arrived. The common case:
// a receiver answers before it has read the request body (nginx's `return 204`); over
// HTTP/2 it then ends the stream with RST_STREAM(NO_ERROR), which must not make the client
// discard the response (RFC 9113 §8.1), yet libcurl 7.88.1 ends the transfer with
// CURLE_HTTP2_STREAM while it is still sending the body. That response is the receiver's
// answer: taking the attempt for failed would deliver the event again. (HttpClient now
// speaks HTTP/1.1 only, because 7.88.1 can also lose such an answer before it is seen — see
// NewHandle; over HTTP/1.1 the same rule covers a receiver that answers, then closes or
// resets the connection while the body is being sent.)

#include <curl/curl.h>

#include <cstdint>

namespace hookd {

// What libcurl had received of the final response when the transfer ended.
struct ReceivedResponse {
  long status = 0;              // CURLINFO_RESPONSE_CODE: 0 when no status line arrived
  int64_t content_length = -1;  // CURLINFO_CONTENT_LENGTH_DOWNLOAD_T: -1 when not known
  int64_t body_bytes = 0;       // CURLINFO_SIZE_DOWNLOAD_T: body bytes received
};

// True when `r` is a complete final response: a final status (>= 200), and either a status
// that has no body by definition (204, 304), or a known Content-Length and exactly that many
// body bytes received. A response whose length is not known (chunked, or HTTP/2 without
// content-length) is not complete: whether its end arrived cannot be told from the infos.
bool ResponseComplete(const ReceivedResponse& r);

// True when the attempt's outcome is the response (its status decides: 2xx succeeded, any
// other an HTTP error), false when it is the transfer's error `rc`: a response arrived and
// either the transfer succeeded, or it failed with an error that can follow a complete
// response (a stream or connection ended, or stalled, after the answer) and the response is
// complete. A response cut short stays an error: when unsure, the delivery is retried.
bool OutcomeIsResponse(CURLcode rc, const ReceivedResponse& r);

}  // namespace hookd
