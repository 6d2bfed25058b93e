#include "dispatch/http_client.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <curl/curl.h>

#include "core/clock.h"

namespace hookd {

struct HttpClient::Transfer {
  OutboundRequest req;
  OutboundResult result;
  curl_slist* headers = nullptr;
  // Headers of the final response, lower-cased names (a later one replaces an earlier one of
  // the same name); turned into JSON once, when the transfer is done.
  std::vector<std::pair<std::string, std::string>> response_headers;
  const DestinationPolicy* policy = nullptr;
  std::string blocked_reason;
  size_t body_seen = 0;
};

namespace {

size_t OnBody(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<HttpClient::Transfer*>(ud);
  size_t len = size * n;
  if (t->result.response_body.size() < HttpClient::kMaxCapturedBody) {
    size_t take = std::min(len, HttpClient::kMaxCapturedBody - t->result.response_body.size());
    t->result.response_body.append(p, take);
  }
  t->body_seen += len;
  return len;  // keep reading (and discard) so the connection can be reused
}

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<HttpClient::Transfer*>(ud);
  std::string_view line(p, size * n);
  if (line.starts_with("HTTP/")) {
    t->response_headers.clear();  // a new response (e.g. after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || t->response_headers.size() >= 100) return size * n;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  if (value.size() > 1024) value = value.substr(0, 1024);
  for (auto& [k, v] : t->response_headers) {
    if (k == name) {
      v.assign(value);
      return size * n;
    }
  }
  t->response_headers.emplace_back(std::move(name), value);
  return size * n;
}

std::string HeadersJson(const std::vector<std::pair<std::string, std::string>>& headers) {
  boost::json::object o;
  o.reserve(headers.size());
  for (const auto& [k, v] : headers) o.emplace(k, v);
  return boost::json::serialize(o);
}

// Called by curl for every socket it is about to connect: the SSRF guard at connect time.
curl_socket_t OnOpenSocket(void* ud, curlsocktype purpose, curl_sockaddr* addr) {
  auto* t = static_cast<HttpClient::Transfer*>(ud);
  if (purpose == CURLSOCKTYPE_IPCXN && t->policy) {
    auto ip = IpAddress::FromSockaddr(&addr->addr);
    if (!ip) {
      t->blocked_reason = "unsupported address family";
      return CURL_SOCKET_BAD;
    }
    if (auto why = t->policy->WhyBlocked(*ip)) {
      t->blocked_reason = *why;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

AttemptError Classify(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return AttemptError::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return AttemptError::kDns;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED: return AttemptError::kTls;
    default: return AttemptError::kConnect;
  }
}

}  // namespace

HttpClient::HttpClient(const DestinationPolicy& policy, std::string user_agent, std::string ca_file)
    : policy_(policy), user_agent_(std::move(user_agent)), ca_file_(std::move(ca_file)) {
  static const bool inited = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)inited;
  multi_ = curl_multi_init();
  CURLM* m = static_cast<CURLM*>(multi_);
  curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 2048L);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &HttpClient::OnSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &HttpClient::OnTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
}

// curl tells which sockets to watch for what; they go into our epoll set. A connection is
// re-announced for every request on it: epoll is only changed when the interest changes.
int HttpClient::OnSocket(void*, int fd, int what, void* self, void*) {
  auto* c = static_cast<HttpClient*>(self);
  if (fd < 0) return 0;
  if (static_cast<size_t>(fd) >= c->watched_.size()) c->watched_.resize(static_cast<size_t>(fd) + 64, 0);
  uint32_t& current = c->watched_[static_cast<size_t>(fd)];
  if (what == CURL_POLL_REMOVE) {
    if (current != 0) epoll_ctl(c->epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    current = 0;
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = fd;
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  const uint32_t want = ev.events | 0x80000000u;  // the high bit: registered
  if (current == want) return 0;
  if (current == 0) {
    if (epoll_ctl(c->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
      epoll_ctl(c->epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  } else if (epoll_ctl(c->epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(c->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  current = want;
  return 0;
}

// curl asks to be called back after `timeout_ms` (-1: never; 0: at once).
int HttpClient::OnTimer(void*, long timeout_ms, void* self) {
  auto* c = static_cast<HttpClient*>(self);
  c->timer_due_ms_ = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  return 0;
}

HttpClient::~HttpClient() {
  CURLM* m = static_cast<CURLM*>(multi_);
  // Abort whatever is still running.
  int n = 0;
  while (CURLMsg* msg = curl_multi_info_read(m, &n)) (void)msg;
  for (void* p : live_handles_) {
    CURL* h = static_cast<CURL*>(p);
    Transfer* t = nullptr;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(m, h);
    if (t) {
      curl_slist_free_all(t->headers);
      delete t;
    }
    curl_easy_cleanup(h);
  }
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
  curl_multi_cleanup(m);
  close(epoll_fd_);
  close(wake_fd_);
}

// Options that are the same for every request are set once per handle; a handle is reused
// without curl_easy_reset (which frees and re-allocates curl's buffers every time).
void* HttpClient::NewHandle() {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent_.c_str());
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Receive buffer: bodies beyond the first 4 KiB are read and dropped anyway.
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 16384L);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  return h;
}

void HttpClient::Start(OutboundRequest req) {
  CURL* h;
  if (!idle_handles_.empty()) {
    h = static_cast<CURL*>(idle_handles_.back());
    idle_handles_.pop_back();
  } else {
    h = static_cast<CURL*>(NewHandle());
  }
  auto* t = new Transfer;
  t->req = std::move(req);
  t->policy = &policy_;
  t->result.tag = t->req.tag;
  t->result.started_at_ms = NowMs();
  for (const auto& hd : t->req.headers) t->headers = curl_slist_append(t->headers, hd.c_str());
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(h, CURLOPT_PRIVATE, t);
  curl_easy_setopt(h, CURLOPT_URL, t->req.url.c_str());
  // Over TLS, a request waits for a connection being set up to the same receiver rather than
  // opening one more: if ALPN says HTTP/2, they all share it (multiplexed); if not, they open
  // their own as before. Plain http:// is HTTP/1.1 only and never waits.
  curl_easy_setopt(h, CURLOPT_PIPEWAIT, t->req.url.starts_with("https:") ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->req.body ? t->req.body->data() : "");
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t->req.body ? t->req.body->size() : 0));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(t->req.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(t->req.connect_timeout_ms, t->req.timeout_ms)));
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, t);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
  curl_multi_add_handle(static_cast<CURLM*>(multi_), h);
  live_handles_.insert(h);
  ++in_flight_;
}

void HttpClient::Harvest(std::vector<OutboundResult>& done) {
  CURLM* m = static_cast<CURLM*>(multi_);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* h = msg->easy_handle;
      CURLcode rc = msg->data.result;
      Transfer* t = nullptr;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, &t);
      OutboundResult& r = t->result;
      r.duration_ms = NowMs() - r.started_at_ms;
      long code = 0;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      if (rc == CURLE_OK && code > 0) {
        r.status_code = static_cast<int>(code);
        if (code < 200 || code >= 300) r.error = AttemptError::kHttp;
      } else if (!t->blocked_reason.empty()) {
        r.error = AttemptError::kBlocked;
        r.error_detail = "destination refused: " + t->blocked_reason;
      } else {
        r.error = Classify(rc);
        r.error_detail = curl_easy_strerror(rc);
        if (code > 0) r.status_code = static_cast<int>(code);
      }
      for (const auto& [k, v] : t->response_headers)
        if (k == "retry-after") r.retry_after = v;
      r.response_headers_json = HeadersJson(t->response_headers);
      curl_multi_remove_handle(m, h);
      live_handles_.erase(h);
      curl_slist_free_all(t->headers);
      done.push_back(std::move(r));
      delete t;
      --in_flight_;
      if (idle_handles_.size() < 4096) idle_handles_.push_back(h);
      else curl_easy_cleanup(h);
    }
}

std::vector<OutboundResult> HttpClient::Poll(int timeout_ms) {
  CURLM* m = static_cast<CURLM*>(multi_);
  std::vector<OutboundResult> done;
  int running = 0;
  // Due timer first (curl's timeouts, and "call me at once" after adding a handle).
  auto run_timer = [&] {
    if (timer_due_ms_ >= 0 && timer_due_ms_ <= NowMs()) {
      timer_due_ms_ = -1;
      curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
  };
  run_timer();
  Harvest(done);
  if (!done.empty()) return done;

  int wait = timeout_ms;
  if (timer_due_ms_ >= 0)
    wait = static_cast<int>(std::clamp<int64_t>(timer_due_ms_ - NowMs(), 0, timeout_ms));
  epoll_event events[256];
  int n = epoll_wait(epoll_fd_, events, 256, wait);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof v) > 0) {
      }
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m, fd, flags, &running);
  }
  run_timer();
  Harvest(done);
  return done;
}

void HttpClient::Wakeup() {
  const uint64_t one = 1;
  ssize_t w = write(wake_fd_, &one, sizeof one);
  (void)w;
}

}  // namespace hookd
