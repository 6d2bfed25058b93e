#include "receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace hookd::testing {

Receiver::Receiver() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listen_fd_, 512);
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

Receiver::~Receiver() {
  stop_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void Receiver::Set(const std::string& path, Behaviour b) {
  std::lock_guard lock(mu_);
  behaviours_[path] = std::move(b);
}

void Receiver::SetFn(const std::string& path, BehaviourFn fn) {
  std::lock_guard lock(mu_);
  fns_[path] = std::move(fn);
}

std::vector<ReceivedRequest> Receiver::Requests(const std::string& path) const {
  std::lock_guard lock(mu_);
  if (path.empty()) return requests_;
  std::vector<ReceivedRequest> out;
  for (const auto& r : requests_)
    if (r.path == path) out.push_back(r);
  return out;
}

size_t Receiver::Count(const std::string& path) const { return Requests(path).size(); }

bool Receiver::WaitFor(size_t n, std::chrono::milliseconds timeout, const std::string& path) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] {
    if (path.empty()) return requests_.size() >= n;
    return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(),
                                             [&](const ReceivedRequest& r) { return r.path == path; })) >= n;
  });
}

int Receiver::MaxConcurrent(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = max_concurrent_.find(path);
  return it == max_concurrent_.end() ? 0 : it->second;
}

void Receiver::AcceptLoop() {
  while (!stop_) {
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stop_) return;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

namespace {

// Reads until `buf` holds a full request head; false on EOF/error/stop.
bool ReadMore(int fd, std::string& buf, const std::atomic<bool>& stop) {
  char tmp[16384];
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    int pr = poll(&p, 1, 100);
    if (pr == 0) continue;
    if (pr < 0) return false;
    ssize_t n = recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, n);
    return true;
  }
  return false;
}

}  // namespace

void Receiver::Serve(int fd) {
  std::string buf;
  int on_this_connection = 0;
  while (!stop_) {
    size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!ReadMore(fd, buf, stop_)) goto done;
    {
      ReceivedRequest req;
      std::string head = buf.substr(0, head_end);
      size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
      req.method = first.substr(0, sp1);
      req.path = first.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        size_t c = line.find(':');
        if (c != std::string::npos) {
          std::string k = line.substr(0, c);
          for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          std::string v = line.substr(c + 1);
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          req.headers[k] = v;
        }
        pos = e + 2;
      }
      size_t content_length = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end())
        content_length = std::stoul(it->second);
      buf.erase(0, head_end + 4);
      while (buf.size() < content_length)
        if (!ReadMore(fd, buf, stop_)) goto done;
      req.body = buf.substr(0, content_length);
      buf.erase(0, content_length);
      req.at = std::chrono::steady_clock::now();

      Behaviour b;
      {
        std::lock_guard lock(mu_);
        int n = per_path_count_[req.path]++;
        if (auto f = fns_.find(req.path); f != fns_.end()) b = f->second(n, req);
        else if (auto it = behaviours_.find(req.path); it != behaviours_.end()) b = it->second;
        int c = ++concurrent_[req.path];
        max_concurrent_[req.path] = std::max(max_concurrent_[req.path], c);
        requests_.push_back(req);
      }
      cv_.notify_all();
      auto leave = [&] {
        std::lock_guard lock(mu_);
        --concurrent_[req.path];
      };
      if (on_this_connection++ > 0 && !b.on_reuse.empty()) {
        if (b.on_reuse == "reset") {
          b.reset = true;
        } else {  // "close": no answer, FIN
          leave();
          goto done;
        }
      }
      if (b.reset) {
        leave();
        linger lg{1, 0};  // RST on close
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        goto done;
      }
      if (b.hang) {
        while (!stop_) {
          pollfd p{fd, POLLIN, 0};
          if (poll(&p, 1, 100) > 0) {
            char t;
            if (recv(fd, &t, 1, MSG_PEEK) <= 0) break;  // client gave up
          }
        }
        leave();
        goto done;
      }
      if (b.delay_ms > 0) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(b.delay_ms);
        while (!stop_ && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::string resp = b.raw;
      if (resp.empty()) {
        resp = "HTTP/1.1 " + std::to_string(b.status) + " X\r\nContent-Length: " +
               std::to_string(b.body.size()) + "\r\n";
        for (const auto& [k, v] : b.headers) resp += k + ": " + v + "\r\n";
        resp += "\r\n" + b.body;
      }
      leave();
      if (send(fd, resp.data(), resp.size(), MSG_NOSIGNAL) < 0) goto done;
      if (b.close_after) goto done;
    }
  }
done:
  {
    std::lock_guard lock(mu_);
    std::erase(open_fds_, fd);
  }
  close(fd);
}

}  // namespace hookd::testing
