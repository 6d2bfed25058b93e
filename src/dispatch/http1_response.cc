#include "dispatch/http1_response.h"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

namespace hookd {

namespace http = boost::beast::http;

void Http1ResponseReader::NewParser() {
  parser_.emplace();
  parser_->header_limit(kMaxHeaderBytes);
  parser_->body_limit(boost::none);  // read and drop what is past the captured 4 KiB
  parser_->eager(true);
}

void Http1ResponseReader::Start() {
  in_.clear();
  capture_.Clear();
  reusable_ = false;
  error_.clear();
  NewParser();
}

void Http1ResponseReader::Reset() {
  in_.clear();
  capture_.Clear();
  parser_.reset();
}

Http1ResponseReader::Step Http1ResponseReader::Finished(bool reusable) {
  reusable_ = reusable && parser_->get().keep_alive();
  for (const auto& f : parser_->get()) capture_.AddHeader(f.name_string(), f.value());
  in_.clear();
  return Step::kDone;
}

Http1ResponseReader::Step Http1ResponseReader::Feed(const char* p, size_t n, char* scratch,
                                                    size_t scratch_size) {
  in_.append(p, n);
  size_t off = 0;
  for (;;) {
    Parser& par = *parser_;
    const bool had_header = par.is_header_done();
    par.get().body().data = scratch;
    par.get().body().size = scratch_size;
    boost::beast::error_code ec;
    off += par.put(boost::asio::buffer(in_.data() + off, in_.size() - off), ec);
    const size_t wrote = scratch_size - par.get().body().size;
    if (wrote) capture_.AddBody(scratch, wrote);
    if (!had_header && par.is_header_done() && par.get().result_int() < 100) {
      error_ = fmt::format("invalid HTTP response: status code {:03} is below 100",
                           par.get().result_int());
      return Step::kFailed;
    }
    if (ec == http::error::need_buffer) continue;
    if (ec == http::error::need_more) break;
    if (ec) {
      error_ = "invalid HTTP response: " + ec.message();
      return Step::kFailed;
    }
    if (par.is_done()) {
      const unsigned status = par.get().result_int();
      if (status >= 100 && status < 200 && status != 101) {  // interim: the answer follows
        NewParser();
        continue;
      }
      return Finished(off >= in_.size());
    }
    if (off >= in_.size()) break;
  }
  in_.erase(0, off);
  return Step::kMore;
}

Http1ResponseReader::Step Http1ResponseReader::FeedEof() {
  Parser& par = *parser_;
  if (par.is_header_done() && par.need_eof()) {  // a body that ends with the connection
    boost::beast::error_code ec;
    par.put_eof(ec);
    if (!ec && par.is_done()) return Finished(false);
  }
  return Step::kFailed;
}

}  // namespace hookd
