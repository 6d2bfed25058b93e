#pragma once
// A real HTTP/1.1 receiver for integration tests: listens on 127.0.0.1:<free port>,
// keeps connections alive, records every request, and answers according to a per-path
// behaviour (status, delay, hang, reset, Retry-After).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hookd::testing {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
};

struct Behaviour {
  int status = 200;
  std::string body = "ok";
  std::map<std::string, std::string> headers;
  int delay_ms = 0;     // answer after this long
  bool hang = false;    // never answer (until the client gives up)
  bool reset = false;   // close the connection without answering (RST)
  std::string raw;      // when set: sent as the whole answer, byte for byte (status etc. unused)
  bool close_after = false;  // close the connection once answered (no "Connection: close" said)
  // A request that is not the first on its connection is not answered: the connection is
  // closed ("close": FIN) or reset ("reset": RST) — a server whose keep-alive timeout ran out
  // just as the request came.
  std::string on_reuse;
};

class Receiver {
 public:
  Receiver();
  ~Receiver();

  int Port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Behaviour for requests to `path` (exact), else the default (200).
  void Set(const std::string& path, Behaviour b);
  // Decides per request; overrides Set for that path. Called (under the receiver's lock:
  // do not call back into the receiver) with the count of earlier requests to that path
  // and the request itself.
  using BehaviourFn = std::function<Behaviour(int n, const ReceivedRequest& req)>;
  void SetFn(const std::string& path, BehaviourFn fn);

  std::vector<ReceivedRequest> Requests(const std::string& path = "") const;
  size_t Count(const std::string& path = "") const;
  // Waits until at least `n` requests (to `path`, or any) arrived; false on timeout.
  bool WaitFor(size_t n, std::chrono::milliseconds timeout, const std::string& path = "") const;
  // Connections accepted so far (to check keep-alive reuse).
  int Connections() const { return connections_.load(); }
  // Requests in progress right now, and the most ever seen at once (per path).
  int MaxConcurrent(const std::string& path) const;

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::map<std::string, Behaviour> behaviours_;
  std::map<std::string, BehaviourFn> fns_;
  std::map<std::string, int> per_path_count_;
  std::map<std::string, int> concurrent_, max_concurrent_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace hookd::testing
