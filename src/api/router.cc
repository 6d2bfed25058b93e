#include "api/router.h"

#include <atomic>

#include <spdlog/spdlog.h>

#include "api/problem.h"

namespace hookd::api {

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string_view Call::Param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

std::optional<std::string> Call::Query(std::string_view name) const {
  std::string_view q = req.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    size_t eq = kv.find('=');
    std::string key = Decode(kv.substr(0, eq));
    if (key == name) return eq == std::string_view::npos ? std::string() : Decode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::vector<std::string> Call::QueryNames() const {
  std::vector<std::string> out;
  std::string_view q = req.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    if (!kv.empty()) out.push_back(Decode(kv.substr(0, kv.find('='))));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

void Router::Add(std::string method, std::string pattern, SyncHandler h) {
  Route r{std::move(method), pattern, {}, std::move(h), nullptr};
  for (auto s : Split(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

void Router::AddAsync(std::string method, std::string pattern, AsyncHandler h) {
  Route r{std::move(method), pattern, {}, nullptr, std::move(h)};
  for (auto s : Split(pattern)) r.segments.emplace_back(s);
  routes_.push_back(std::move(r));
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

bool Router::Match(const Route& r, const std::vector<std::string_view>& segs,
                   std::vector<std::pair<std::string, std::string>>& params) {
  if (r.segments.size() != segs.size()) return false;
  params.clear();
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& p = r.segments[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      params.emplace_back(p.substr(1, p.size() - 2), Decode(segs[i]));
    } else if (p != segs[i]) {
      return false;
    }
  }
  return true;
}

void Router::Handle(HttpRequest&& req, Responder respond) const {
  const auto segs = Split(req.path);
  std::vector<std::pair<std::string, std::string>> params;
  const Route* found = nullptr;
  std::string allow;
  for (const auto& r : routes_) {
    if (!Match(r, segs, params)) continue;
    if (r.method == req.method || (req.method == "HEAD" && r.method == "GET")) {
      found = &r;
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (!found) {
    if (allow.empty()) {
      respond(Problem(404, "no such route: " + req.path));
    } else {
      HttpResponse p = Problem(405, req.method + " is not allowed on " + req.path + "; use " + allow);
      p.headers.emplace_back("allow", allow);
      respond(std::move(p));
    }
    return;
  }
  Call call{std::move(req), std::move(params)};
  // The server is answered exactly once: the first answer wins — a handler's, or the problem
  // for what it threw (an async handler may answer, then throw: that answer stands).
  struct Once {
    Responder respond;
    std::atomic<bool> answered{false};
    void operator()(HttpResponse r) {
      if (!answered.exchange(true)) respond(std::move(r));
    }
  };
  auto shared = std::make_shared<Once>();
  shared->respond = std::move(respond);
  try {
    if (found->sync) {
      HttpResponse resp = found->sync(call);
      (*shared)(std::move(resp));
    } else {
      found->async(call, [shared](HttpResponse r) { (*shared)(std::move(r)); });
    }
  } catch (const ApiError& e) {
    (*shared)(Problem(e));
  } catch (const std::exception& e) {
    spdlog::error("handler {} {} failed: {}", call.req.method, found->pattern, e.what());
    (*shared)(Problem(500, "internal error"));
  }
}

}  // namespace hookd::api
