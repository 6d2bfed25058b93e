// The HTTP request parser as the server sees bytes: api/http_request_parser.h's parser with
// the server's limits (the default --max-payload), fed the way http_server.cc's session does
// (read the header, answer 413 for a too-large Content-Length, parse what is buffered, read
// the rest, keep-alive: the next request from the same bytes) — with Beast's synchronous
// reads over a stream that returns the input in chunks. The first byte sets the chunk size
// (0: everything at once), as TCP segments split the bytes anywhere.

#include <algorithm>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>

#include "api/http_request_parser.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// A SyncReadStream over the input: at most `chunk` bytes per read, then eof.
class ChunkStream {
 public:
  ChunkStream(std::string_view data, size_t chunk) : data_(data), chunk_(chunk) {}

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
    ec = {};
    if (data_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    const size_t n = asio::buffer_copy(buffers, asio::buffer(data_.data(), std::min(chunk_, data_.size())));
    data_.remove_prefix(n);
    return n;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
  size_t chunk_;
};

constexpr size_t kMaxBody = 256 * 1024;  // HttpServerOptions::max_body, the default --max-payload

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = data[0] == 0 ? size : data[0];
  ChunkStream stream(hookd::fuzz::AsView(data + 1, size - 1), chunk);
  beast::flat_buffer buffer;
  for (int requests = 0; requests < 64; ++requests) {
    hookd::api::RequestParser parser;
    hookd::api::ConfigureRequestParser(parser, kMaxBody);
    beast::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec) return 0;  // the server answers 400/413 or just closes
    if (hookd::api::AnnouncesTooLargeBody(parser, kMaxBody)) return 0;  // 413
    beast::error_code ec2;
    hookd::api::ParseBufferedBody(parser, buffer, ec2);
    if (!ec2 && !parser.is_done()) http::read(stream, buffer, parser, ec2);
    if (ec2) return 0;
    auto msg = parser.release();
    const bool keep_alive = msg.keep_alive();
    hookd::api::HttpRequest req = hookd::api::ToHttpRequest(std::move(msg));
    HOOKD_FUZZ_CHECK(req.body.size() <= kMaxBody, "a body over the limit reached the handler");
    HOOKD_FUZZ_CHECK(req.path.find('?') == std::string::npos, "the path holds a '?'");
    for (const auto& [name, value] : req.headers)
      for (char c : name) HOOKD_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "a header name is not lower-case");
    if (!keep_alive) return 0;
  }
  return 0;
}
