#pragma once
// How the server reads one request with Beast: the parser's limits and the translation of a
// parsed message into the handlers' HttpRequest (api/http.h). http_server.cc reads with this,
// and so does the fuzz target fuzz/http_request_fuzz.cc, so that the fuzzer parses exactly as
// the server does.
//
// Includes Beast: only for http_server.cc and the fuzz target (Beast stays out of the other
// translation units, STYLE.md).

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "api/http.h"

namespace hookd::api {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The request line and headers together may be at most this long (else header_limit).
inline constexpr uint32_t kMaxRequestHeaderBytes = 32 * 1024;

// A fresh parser's limits: a body over `max_body` (--max-payload) is http::error::body_limit
// (answered 413), the head over kMaxRequestHeaderBytes http::error::header_limit (400).
inline void ConfigureRequestParser(RequestParser& parser, size_t max_body) {
  parser.body_limit(max_body);
  parser.header_limit(kMaxRequestHeaderBytes);
}

// After the header: true when its Content-Length announces more than `max_body` bytes (the
// server answers 413 without reading them).
inline bool AnnouncesTooLargeBody(const RequestParser& parser, size_t max_body) {
  return parser.get().has_content_length() && parser.content_length() &&
         *parser.content_length() > max_body;
}

// The parsed message as a handler sees it: the target split at the first '?' into path and
// query, header names lower-cased (values as received), the body moved out.
// Feeds what `buffer` already holds after the header to the parser (most requests arrive whole
// in the header's read: no further read then). `ec` is set on a malformed body; need_more is
// not an error — read the rest from the stream when !parser.is_done().
inline void ParseBufferedBody(RequestParser& parser, boost::beast::flat_buffer& buffer,
                              boost::beast::error_code& ec) {
  while (!parser.is_done() && buffer.size() > 0 && !ec) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == boost::beast::http::error::need_more) ec = {};
    if (used == 0) break;
  }
}

inline HttpRequest ToHttpRequest(RequestParser::value_type&& msg) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  const size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
  req.headers.reserve(8);
  for (const auto& f : msg) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = std::move(msg.body());
  return req;
}

}  // namespace hookd::api
