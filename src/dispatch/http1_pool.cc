#include "dispatch/http1_pool.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <curl/curl.h>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/delivery_decision.h"
#include "dispatch/http1_response.h"

namespace hookd {

namespace {

constexpr size_t kScratch = 16384;
constexpr size_t kReadChunk = 65536;

}  // namespace

struct Http1Pool::Target {
  std::string origin;  // "host:port", the key of the idle list
  std::string head;    // "POST /path HTTP/1.1\r\nHost: …\r\nUser-Agent: …\r\nAccept: */*\r\n"
};

struct Http1Pool::Conn {
  int fd = -1;
  uint32_t slot = 0;
  uint32_t gen = 0;
  uint32_t watching = 0;  // epoll events registered
  std::string origin;
  bool busy = false;
  bool reused = false;  // the current request is not the connection's first
  int64_t idle_since_ms = 0;
  // The request in progress.
  OutboundRequest req;
  int64_t started_at_ms = 0;
  int64_t deadline_ms = 0;
  int32_t heap_pos = -1;  // in the deadline heap while busy
  std::string out;
  size_t out_off = 0;
  bool got_bytes = false;
  size_t received = 0;
  Http1ResponseReader response;

  uint64_t EpollData() const { return kEpollTag | (uint64_t{gen & 0x7fffffff} << 32) | slot; }
};

Http1Pool::Http1Pool(int epoll_fd, std::string user_agent, Reopen reopen)
    : epoll_fd_(epoll_fd),
      user_agent_(std::move(user_agent)),
      reopen_(std::move(reopen)),
      scratch_(new char[kScratch]) {}

Http1Pool::~Http1Pool() {
  for (auto& c : slots_)
    if (c && c->fd >= 0) close(c->fd);
}

bool Http1Pool::Accepts(const std::string& url) { return TargetOf(url) != nullptr; }

const Http1Pool::Target* Http1Pool::TargetOf(const std::string& url) {
  if (auto it = targets_.find(url); it != targets_.end()) return it->second.get();
  CURLU* u = curl_url();
  std::unique_ptr<Target> t;
  char *host = nullptr, *port = nullptr, *path = nullptr, *query = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) query = nullptr;
    t = std::make_unique<Target>();
    std::string h(host);
    for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    t->origin = h + ":" + port;
    const std::string host_header = std::string_view(port) == "80" ? h : t->origin;
    t->head = fmt::format("POST {}{}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\n",
                          path, query ? "?" : "", query ? query : "", host_header, user_agent_);
  }
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_free(query);
  curl_url_cleanup(u);
  if (!t) return nullptr;
  if (targets_.size() >= 100'000) targets_.clear();  // endpoints' URLs: a bound, not a cache policy
  return targets_.emplace(url, std::move(t)).first->second.get();
}

bool Http1Pool::TryStart(OutboundRequest& req, int64_t started_at_ms) {
  const Target* t = TargetOf(req.url);
  if (!t) return false;
  auto it = idle_.find(t->origin);
  if (it == idle_.end() || it->second.empty()) return false;
  const uint32_t slot = it->second.back();
  it->second.pop_back();
  --idle_count_;
  Conn& c = *slots_[slot];
  c.reused = true;
  c.idle_since_ms = 0;
  Begin(c, *t, std::move(req), started_at_ms);
  return true;
}

void Http1Pool::Adopt(int fd, OutboundRequest req, int64_t started_at_ms) {
  const Target* t = TargetOf(req.url);
  if (!t) {  // cannot happen (HttpClient asked Accepts first); never send a request blind
    close(fd);
    OutboundResult r;
    r.tag = req.tag;
    r.started_at_ms = started_at_ms;
    r.duration_ms = NowMs() - started_at_ms;
    r.error = AttemptError::kConnect;
    r.error_detail = "unsupported URL";
    done_.push_back(std::move(r));
    return;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  if (!slots_[slot]) slots_[slot] = std::make_unique<Conn>();
  Conn& c = *slots_[slot];
  c.fd = fd;
  c.slot = slot;
  ++c.gen;
  c.watching = 0;
  c.origin = t->origin;
  c.reused = false;
  Watch(c, false);
  Begin(c, *t, std::move(req), started_at_ms);
}

void Http1Pool::Begin(Conn& c, const Target& t, OutboundRequest req, int64_t started_at_ms) {
  c.busy = true;
  ++in_flight_;
  c.req = std::move(req);
  c.started_at_ms = started_at_ms;
  c.got_bytes = false;
  c.received = 0;
  c.response.Start();
  const size_t body = c.req.body ? c.req.body->size() : 0;
  c.out.clear();
  c.out += t.head;
  for (const auto& h : c.req.headers) {
    c.out += h;
    c.out += "\r\n";
  }
  c.out += "Content-Length: ";
  c.out += std::to_string(body);
  c.out += "\r\n\r\n";
  if (body) c.out += *c.req.body;
  c.out_off = 0;
  c.deadline_ms = started_at_ms + c.req.timeout_ms;
  HeapPush(c);
  if (Flush(c)) Watch(c, c.out_off < c.out.size());
}

// Writes what is left of the request; false when the connection failed (and is gone).
bool Http1Pool::Flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    Fail(c, "sending the request failed", errno);
    return false;
  }
  return true;
}

void Http1Pool::Watch(Conn& c, bool want_out) {
  // Readable is always watched: for a busy connection it is the answer, for an idle one the
  // receiver closing it.
  const uint32_t want = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0u);
  if (c.watching == want) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.EpollData();
  epoll_ctl(epoll_fd_, c.watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
  c.watching = want;
}

void Http1Pool::OnEvent(uint64_t data, uint32_t events) {
  const auto slot = static_cast<uint32_t>(data & 0xffffffffu);
  const auto gen = static_cast<uint32_t>((data >> 32) & 0x7fffffffu);
  if (slot >= slots_.size() || !slots_[slot]) return;
  Conn& c = *slots_[slot];
  if (c.fd < 0 || (c.gen & 0x7fffffffu) != gen) return;  // closed since
  if ((events & EPOLLOUT) && c.busy) {
    if (!Flush(c)) return;
    Watch(c, c.out_off < c.out.size());
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) Read(c);
}

void Http1Pool::Read(Conn& c) {
  char buf[kReadChunk];
  for (;;) {
    ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (!c.busy) {  // bytes nobody asked for on an idle connection: not reusable
        Close(c);
        return;
      }
      if (!Feed(c, buf, static_cast<size_t>(n))) return;  // answered (or failed)
      if (static_cast<size_t>(n) < sizeof buf) return;    // drained: epoll says when more comes
      continue;
    }
    if (n == 0) {
      if (c.busy) OnEof(c);
      else Close(c);  // the receiver closed an idle connection
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (c.busy) Fail(c, "receiving the response failed", errno);
    else Close(c);
    return;
  }
}

// Parses received bytes; false once the request is finished (answered or failed) — the
// connection is then idle again or gone.
bool Http1Pool::Feed(Conn& c, const char* p, size_t n) {
  c.got_bytes = true;
  c.received += n;
  switch (c.response.Feed(p, n, scratch_.get(), kScratch)) {
    case Http1ResponseReader::Step::kMore:
      return true;
    case Http1ResponseReader::Step::kDone:
      Complete(c, c.response.Reusable());
      return false;
    case Http1ResponseReader::Step::kFailed:
      Fail(c, c.response.Error());
      return false;
  }
  return false;
}

void Http1Pool::OnEof(Conn& c) {
  if (c.response.FeedEof() == Http1ResponseReader::Step::kDone) {  // body ended by the close
    Complete(c, false);
    return;
  }
  if (!c.got_bytes && c.reused) {
    // The receiver closed the kept-alive connection as this request went out (its idle
    // timeout): send it again on a fresh connection, as curl does.
    SendAgain(c);
    return;
  }
  Fail(c, c.got_bytes ? "the receiver closed the connection in the middle of its response"
                      : "the receiver closed the connection without answering");
}

// The request leaves `c` (which is closed) for a fresh connection; its timeout keeps running.
void Http1Pool::SendAgain(Conn& c) {
  OutboundRequest req = std::move(c.req);
  const int64_t started = c.started_at_ms;
  HeapRemove(c);
  c.busy = false;
  --in_flight_;
  Close(c);
  reopen_(std::move(req), started);
}

void Http1Pool::Complete(Conn& c, bool reusable) {
  const int64_t now = NowMs();
  ResponseCapture& capture = c.response.Capture();
  OutboundResult r;
  r.tag = c.req.tag;
  r.started_at_ms = c.started_at_ms;
  r.duration_ms = now - c.started_at_ms;
  r.status_code = c.response.Status();
  r.error = ErrorForStatus(r.status_code);
  r.retry_after = std::string(capture.Header("retry-after"));
  r.response_headers_json = capture.HeadersJson();
  r.response_body = std::move(capture.body);
  reusable = reusable && c.out_off == c.out.size() && idle_count_ < kMaxIdle;
  Finish(c, std::move(r));
  if (!reusable) {
    Close(c);
    return;
  }
  c.idle_since_ms = now;
  idle_[c.origin].push_back(c.slot);
  ++idle_count_;
  if (next_sweep_ms_ == 0) next_sweep_ms_ = now + 1000;
}

// The request ends with an error of class "connect" (curl's class for a connection that
// fails after it was made: reset, closed, garbage); the connection is dropped.
void Http1Pool::Fail(Conn& c, const std::string& detail, int err) {
  if (err != 0 && !c.got_bytes && c.reused && (err == ECONNRESET || err == EPIPE)) {
    SendAgain(c);
    return;
  }
  OutboundResult r;
  r.tag = c.req.tag;
  r.started_at_ms = c.started_at_ms;
  r.duration_ms = NowMs() - c.started_at_ms;
  r.error = AttemptError::kConnect;
  r.error_detail = err ? fmt::format("{}: {}", detail, std::strerror(err)) : detail;
  if (c.response.HeaderDone()) r.status_code = c.response.Status();
  Finish(c, std::move(r));
  Close(c);
}

void Http1Pool::Finish(Conn& c, OutboundResult r) {
  done_.push_back(std::move(r));
  HeapRemove(c);
  c.busy = false;
  --in_flight_;
  c.req = OutboundRequest{};  // drops the payload reference
  c.response.Reset();
}

void Http1Pool::Close(Conn& c) {
  if (c.fd < 0) return;
  if (!c.busy && c.idle_since_ms != 0) {
    // Idle (or was): take it off its origin's list.
    if (auto it = idle_.find(c.origin); it != idle_.end()) {
      auto& v = it->second;
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == c.slot) {
          v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
          --idle_count_;
          break;
        }
      }
    }
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  close(c.fd);
  c.fd = -1;
  c.watching = 0;
  c.idle_since_ms = 0;
  c.busy = false;
  c.out.clear();
  c.response.Reset();
  ++c.gen;
  free_slots_.push_back(c.slot);
}

void Http1Pool::Expire(int64_t now) {
  while (!heap_.empty() && slots_[heap_.front()]->deadline_ms <= now) {
    Conn& c = *slots_[heap_.front()];
    OutboundResult r;
    r.tag = c.req.tag;
    r.started_at_ms = c.started_at_ms;
    r.duration_ms = now - c.started_at_ms;
    r.error = AttemptError::kTimeout;
    r.error_detail = fmt::format("Operation timed out after {} milliseconds with {} bytes received",
                                 r.duration_ms, c.received);
    if (c.response.HeaderDone()) r.status_code = c.response.Status();
    Finish(c, std::move(r));  // takes it off the heap
    Close(c);
  }
  if (next_sweep_ms_ != 0 && now >= next_sweep_ms_) {
    for (auto& [origin, v] : idle_) {
      for (size_t i = 0; i < v.size();) {
        Conn& c = *slots_[v[i]];
        if (now - c.idle_since_ms >= kIdleMs) Close(c);  // erases v[i]
        else ++i;
      }
    }
    next_sweep_ms_ = idle_count_ ? now + 1000 : 0;
  }
}

int64_t Http1Pool::NextDueMs() const {
  int64_t due = heap_.empty() ? -1 : slots_[heap_.front()]->deadline_ms;
  if (next_sweep_ms_ != 0 && (due < 0 || next_sweep_ms_ < due)) due = next_sweep_ms_;
  return due;
}

// The deadline heap: busy connections by deadline; each knows its position, so an answered
// request leaves the heap at once (it holds what is in flight, nothing stale).
bool Http1Pool::Earlier(uint32_t a, uint32_t b) const { return slots_[a]->deadline_ms < slots_[b]->deadline_ms; }

void Http1Pool::HeapSet(size_t i, uint32_t slot) {
  heap_[i] = slot;
  slots_[slot]->heap_pos = static_cast<int32_t>(i);
}

void Http1Pool::HeapSiftUp(size_t i) {
  const uint32_t slot = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!Earlier(slot, heap_[parent])) break;
    HeapSet(i, heap_[parent]);
    i = parent;
  }
  HeapSet(i, slot);
}

void Http1Pool::HeapSiftDown(size_t i) {
  const uint32_t slot = heap_[i];
  const size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Earlier(heap_[child + 1], heap_[child])) ++child;
    if (!Earlier(heap_[child], slot)) break;
    HeapSet(i, heap_[child]);
    i = child;
  }
  HeapSet(i, slot);
}

void Http1Pool::HeapPush(Conn& c) {
  heap_.push_back(c.slot);
  HeapSiftUp(heap_.size() - 1);
}

void Http1Pool::HeapRemove(Conn& c) {
  if (c.heap_pos < 0) return;
  const size_t i = static_cast<size_t>(c.heap_pos);
  c.heap_pos = -1;
  const uint32_t last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  HeapSet(i, last);
  HeapSiftUp(i);
  HeapSiftDown(static_cast<size_t>(slots_[last]->heap_pos));
}

void Http1Pool::TakeDone(std::vector<OutboundResult>& out) {
  for (auto& r : done_) out.push_back(std::move(r));
  done_.clear();
}

}  // namespace hookd
