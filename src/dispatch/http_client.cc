#include "dispatch/http_client.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/delivery_decision.h"
#include "dispatch/curl_outcome.h"
#include "dispatch/http1_pool.h"
#include "dispatch/response_capture.h"

namespace hookd {

struct HttpClient::Transfer {
  OutboundRequest req;
  OutboundResult result;
  curl_slist* headers = nullptr;
  ResponseCapture capture;  // of the final response
  const DestinationPolicy* policy = nullptr;
  std::string blocked_reason;
  bool connect_only = false;  // only opens a connection, for the built-in HTTP/1.1 path
  bool check_only = false;    // only resolves and checks the destination (with a proxy)
  bool via_proxy = false;     // its sockets go to the configured proxy, not the destination
};

namespace {

size_t OnBody(char* p, size_t size, size_t n, void* ud) {
  static_cast<HttpClient::Transfer*>(ud)->capture.AddBody(p, size * n);
  return size * n;  // keep reading (and discard) so the connection can be reused
}

size_t OnHeader(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<HttpClient::Transfer*>(ud);
  std::string_view line(p, size * n);
  if (line.starts_with("HTTP/")) {
    t->capture.Clear();  // a new response (e.g. after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) t->capture.AddHeader(line.substr(0, colon), line.substr(colon + 1));
  return size * n;
}

// Called by curl for every socket it is about to connect: the SSRF guard at connect time.
curl_socket_t OnOpenSocket(void* ud, curlsocktype purpose, curl_sockaddr* addr) {
  auto* t = static_cast<HttpClient::Transfer*>(ud);
  // Through a proxy the socket goes to the proxy, which the operator chose: the destination
  // was checked before (CheckDestination).
  if (purpose == CURLSOCKTYPE_IPCXN && t->policy && !t->via_proxy) {
    auto ip = IpAddress::FromSockaddr(&addr->addr);
    if (!ip) {
      t->blocked_reason = "unsupported address family";
      return CURL_SOCKET_BAD;
    }
    if (auto why = t->policy->WhyBlocked(*ip)) {
      t->blocked_reason = *why;
      return CURL_SOCKET_BAD;
    }
    // A check only: every address curl would try passes through here; none is connected.
    if (t->check_only) return CURL_SOCKET_BAD;
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

HttpClient::HttpClient(const DestinationPolicy& policy, HttpClientOptions opts)
    : policy_(policy), opts_(std::move(opts)) {
  static const bool inited = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)inited;
  multi_ = curl_multi_init();
  CURLM* m = static_cast<CURLM*>(multi_);
  // HTTP/1.1 only (see NewHandle): nothing to multiplex.
  curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, 2048L);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(wake_fd_);
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &HttpClient::OnSocket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &HttpClient::OnTimer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, this);
  if (opts_.builtin_http1 && opts_.proxy.empty()) {
    h1_ = std::make_unique<Http1Pool>(epoll_fd_, opts_.user_agent, [this](OutboundRequest req, int64_t started) {
      Connect(std::move(req), started);
    });
  }
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
  ev.data.u64 = static_cast<uint64_t>(fd);
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
  h1_.reset();
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
  curl_easy_setopt(h, CURLOPT_USERAGENT, opts_.user_agent.c_str());
  // HTTP/1.1 over TLS too, never HTTP/2: with libcurl 7.88.1 a receiver that answers before
  // reading the body and resets the stream (RST_STREAM(NO_ERROR), nginx's `return 204`) can
  // lose its answer inside libcurl (lib/http2.c, cf_h2_recv), and the delivery is then sent
  // twice — by hookd's retry, or by curl's own silent resend. Over HTTP/1.1 that path does not
  // exist. Cost: up to max_concurrency connections per endpoint; HTTP/2-only receivers cannot
  // be reached (a TLS error). Measurements: the commit that made this choice.
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!opts_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.ca_file.c_str());
  // Never the environment's proxy variables ("" turns them off); only --proxy.
  curl_easy_setopt(h, CURLOPT_PROXY, opts_.proxy.c_str());
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

void* HttpClient::TakeHandle() {
  if (idle_handles_.empty()) return NewHandle();
  void* h = idle_handles_.back();
  idle_handles_.pop_back();
  return h;
}

size_t HttpClient::InFlight() const { return in_flight_ + (h1_ ? h1_->InFlight() : 0); }

namespace {

HttpClient::Transfer* NewTransfer(OutboundRequest req, int64_t started_at_ms, const DestinationPolicy& policy,
                                  bool connect_only) {
  auto* t = new HttpClient::Transfer;
  t->req = std::move(req);
  t->policy = &policy;
  t->connect_only = connect_only;
  t->result.tag = t->req.tag;
  t->result.started_at_ms = started_at_ms;
  return t;
}

}  // namespace

void HttpClient::Start(OutboundRequest req) {
  if (h1_ && req.url.starts_with("http://")) {
    const int64_t now = NowMs();
    if (h1_->TryStart(req, now)) return;
    if (h1_->Accepts(req.url)) {
      Connect(std::move(req), now);
      return;
    }
  }
  if (!opts_.proxy.empty()) {
    CheckDestination(std::move(req));
    return;
  }
  StartThroughCurl(std::move(req), NowMs());
}

void HttpClient::CheckDestination(OutboundRequest req) {
  CURL* h = static_cast<CURL*>(TakeHandle());
  Transfer* t = NewTransfer(std::move(req), NowMs(), policy_, false);
  t->check_only = true;
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // resolve the destination itself
  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(h, CURLOPT_URL, t->req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PIPEWAIT, 0L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(t->req.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(t->req.connect_timeout_ms, t->req.timeout_ms)));
  Launch(h, t);
}

void HttpClient::StartThroughCurl(OutboundRequest req, int64_t started_at_ms) {
  CURL* h = static_cast<CURL*>(TakeHandle());
  Transfer* t = NewTransfer(std::move(req), started_at_ms, policy_, false);
  t->via_proxy = !opts_.proxy.empty();
  curl_easy_setopt(h, CURLOPT_PROXY, opts_.proxy.c_str());
  for (const auto& hd : t->req.headers) t->headers = curl_slist_append(t->headers, hd.c_str());
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip

  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 0L);
  curl_easy_setopt(h, CURLOPT_URL, t->req.url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, t->req.body ? t->req.body->data() : "");
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(t->req.body ? t->req.body->size() : 0));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, t->headers);
  // The whole timeout counts from the request's start (a destination check may have used some).
  const int64_t left = std::max<int64_t>(1, started_at_ms + t->req.timeout_ms - NowMs());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(t->req.connect_timeout_ms, left)));
  Launch(h, t);
}

void HttpClient::Connect(OutboundRequest req, int64_t started_at_ms) {
  CURL* h = static_cast<CURL*>(TakeHandle());
  Transfer* t = NewTransfer(std::move(req), started_at_ms, policy_, true);
  // The request's whole timeout counts from its start (a request sent again may have used some).
  const int64_t left = std::max<int64_t>(1, started_at_ms + t->req.timeout_ms - NowMs());
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // no proxy on this path (h1_ exists only without one)
  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(h, CURLOPT_URL, t->req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(t->req.connect_timeout_ms, left)));
  Launch(h, t);
}

// `t` goes to curl on handle `h`: the callbacks' data, the multi, the in-flight count.
void HttpClient::Launch(void* handle, Transfer* t) {
  CURL* h = static_cast<CURL*>(handle);
  curl_easy_setopt(h, CURLOPT_PRIVATE, t);
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
      if (t->check_only) {
        curl_multi_remove_handle(m, h);
        live_handles_.erase(h);
        --in_flight_;
        if (idle_handles_.size() < 4096) idle_handles_.push_back(h);
        else curl_easy_cleanup(h);
        // Every address was refused by us on purpose: the check passed unless one was blocked
        // or the name did not resolve.
        if (t->blocked_reason.empty() && rc != CURLE_COULDNT_RESOLVE_HOST && rc != CURLE_OPERATION_TIMEDOUT) {
          StartThroughCurl(std::move(t->req), r.started_at_ms);
        } else {
          r.duration_ms = NowMs() - r.started_at_ms;
          if (!t->blocked_reason.empty()) {
            r.error = AttemptError::kBlocked;
            r.error_detail = "destination refused: " + t->blocked_reason;
          } else {
            r.error = Classify(rc);
            r.error_detail = curl_easy_strerror(rc);
          }
          done.push_back(std::move(r));
        }
        delete t;
        continue;
      }
      if (t->connect_only && rc == CURLE_OK && t->blocked_reason.empty()) {
        // Connected: the socket goes to the built-in path (a copy of it — curl closes its
        // own when the handle leaves the multi).
        curl_socket_t sock = CURL_SOCKET_BAD;
        curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock);
        const int fd = sock == CURL_SOCKET_BAD ? -1 : fcntl(sock, F_DUPFD_CLOEXEC, 0);
        curl_multi_remove_handle(m, h);
        live_handles_.erase(h);
        --in_flight_;
        if (idle_handles_.size() < 4096) idle_handles_.push_back(h);
        else curl_easy_cleanup(h);
        if (fd >= 0) {
          h1_->Adopt(fd, std::move(t->req), r.started_at_ms);
        } else {
          r.duration_ms = NowMs() - r.started_at_ms;
          r.error = AttemptError::kConnect;
          r.error_detail = "the connection was lost as it was made";
          done.push_back(std::move(r));
        }
        delete t;
        continue;
      }
      r.duration_ms = NowMs() - r.started_at_ms;
      ReceivedResponse received;
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &received.status);
      if (rc != CURLE_OK && received.status > 0) {
        curl_off_t length = -1, bytes = 0;
        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
        received.content_length = length;
        received.body_bytes = bytes;
      }
      const long code = received.status;
      if (OutcomeIsResponse(rc, received)) {
        r.status_code = static_cast<int>(code);
        r.error = ErrorForStatus(static_cast<int>(code));
      } else if (!t->blocked_reason.empty()) {
        r.error = AttemptError::kBlocked;
        r.error_detail = "destination refused: " + t->blocked_reason;
      } else {
        r.error = Classify(rc);
        r.error_detail = curl_easy_strerror(rc);
        if (code > 0) r.status_code = static_cast<int>(code);
      }
      r.retry_after = std::string(t->capture.Header("retry-after"));
      r.response_headers_json = t->capture.HeadersJson();
      r.response_body = std::move(t->capture.body);
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
  // Due timers first (curl's timeouts, and "call me at once" after adding a handle; the
  // built-in path's request deadlines).
  auto run_timers = [&] {
    const int64_t now = NowMs();
    if (timer_due_ms_ >= 0 && timer_due_ms_ <= now) {
      timer_due_ms_ = -1;
      curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    if (h1_) {
      if (int64_t due = h1_->NextDueMs(); due >= 0 && due <= now) h1_->Expire(now);
    }
  };
  auto collect = [&] {
    Harvest(done);
    if (h1_) h1_->TakeDone(done);
  };
  run_timers();
  collect();
  if (!done.empty()) return done;

  int64_t due = timer_due_ms_;
  if (h1_) {
    const int64_t h1_due = h1_->NextDueMs();
    if (h1_due >= 0 && (due < 0 || h1_due < due)) due = h1_due;
  }
  int wait = timeout_ms;
  if (due >= 0) wait = static_cast<int>(std::clamp<int64_t>(due - NowMs(), 0, timeout_ms));
  epoll_event events[256];
  int n = epoll_wait(epoll_fd_, events, 256, wait);
  for (int i = 0; i < n; ++i) {
    const uint64_t data = events[i].data.u64;
    if (data & Http1Pool::kEpollTag) {
      if (h1_) h1_->OnEvent(data, events[i].events);
      continue;
    }
    const int fd = static_cast<int>(data);
    if (fd == wake_fd_) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof v) > 0) {
      }
      // After the read: a Wakeup() from now on writes again (see Wakeup()).
      wake_pending_.exchange(false, std::memory_order_acq_rel);
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m, fd, flags, &running);
  }
  run_timers();
  collect();
  return done;
}

void HttpClient::Wakeup() {
  // One write until Poll() reads it: the writer thread wakes the dispatcher once per group
  // commit instead of once per request in it (a syscall each). The eventfd stays readable
  // until Poll() reads it, and Poll() clears the flag only after that read, so a wakeup
  // skipped here is never lost: its caller's work is picked up on that Poll's return.
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t one = 1;
  ssize_t w = write(wake_fd_, &one, sizeof one);
  (void)w;
}

}  // namespace hookd
