#pragma once
// Reads one HTTP/1.1 response from the bytes a connection delivers: Boost.Beast's parser with
// the built-in client's limits (headers up to 100 KiB, as curl; any body length, the part past
// ResponseCapture's 4 KiB read and dropped), interim 1xx responses skipped, and a status below
// 100 refused (curl refuses it too). No I/O: Http1Pool (http1_pool.h) feeds it what recv()
// returned, and the fuzz target fuzz/http1_response_fuzz.cc feeds it arbitrary bytes.
//
// Includes Beast: only for http1_pool.cc, http1_response.cc and the fuzz target.
//
// Thread-compatible (one owner).

#include <cstddef>
#include <optional>
#include <string>

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "dispatch/response_capture.h"

namespace hookd {

class Http1ResponseReader {
 public:
  enum class Step {
    kMore,    // needs more bytes
    kDone,    // a final response is complete: Status(), Reusable(), Capture()
    kFailed,  // not a valid response: Error() says why
  };
  static constexpr uint32_t kMaxHeaderBytes = 100 * 1024;  // what curl accepts too

  // Ready for a new response (forgets the previous one and any bytes left over).
  void Start();
  // Forgets everything; Active() is false until the next Start.
  void Reset();
  bool Active() const { return parser_.has_value(); }

  // Parses `n` more bytes (after Start). Body bytes pass through `scratch` (any size > 0) on
  // their way to the capture. Bytes after the complete response make it not Reusable().
  Step Feed(const char* p, size_t n, char* scratch, size_t scratch_size);
  // The connection ended: kDone when the response's body is delimited by the close and the
  // header was complete, else kFailed (the caller words the reason; Error() is empty).
  Step FeedEof();

  bool HeaderDone() const { return parser_ && parser_->is_header_done(); }
  // The status of the current (final, or interim while it is parsed) response; 0 before its
  // header is complete, or when it is below 100 (refused).
  int Status() const {
    const unsigned s = HeaderDone() ? parser_->get().result_int() : 0;
    return s >= 100 ? static_cast<int>(s) : 0;
  }
  // After kDone: the connection may carry another request (keep-alive, nothing after the response).
  bool Reusable() const { return reusable_; }
  // After kDone: the response's headers and first 4 KiB of body.
  ResponseCapture& Capture() { return capture_; }
  const std::string& Error() const { return error_; }

 private:
  using Parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;
  void NewParser();
  Step Finished(bool reusable);

  std::optional<Parser> parser_;
  std::string in_;  // received, not yet consumed by the parser
  ResponseCapture capture_;
  bool reusable_ = false;
  std::string error_;
};

}  // namespace hookd
