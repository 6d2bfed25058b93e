// The admin panel (SPEC §7): GET / and GET /assets/{file}, the static files of src/web
// embedded at build time. No token: the page itself asks for one and sends it as a Bearer
// header on its API calls. Every answer carries a strict content security policy (only this
// origin's scripts, styles and connections; no inline code) and revalidates with an ETag.
#include <map>
#include <string>
#include <string_view>

#include "api/context.h"
#include "api/problem.h"
#include "core/crypto.h"
#include "core/embedded.h"

namespace hookd::api {

namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

struct Asset {
  std::string content_type;
  std::string_view body;
  std::string etag;
};

std::string ContentTypeFor(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// True when an If-None-Match header names `etag` (or is "*").
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match == "*") return true;
  size_t i = 0;
  while (i < if_none_match.size()) {
    size_t j = if_none_match.find(',', i);
    if (j == std::string_view::npos) j = if_none_match.size();
    std::string_view tag = if_none_match.substr(i, j - i);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    i = j + 1;
  }
  return false;
}

HttpResponse Serve(const Asset& a, const Call& call) {
  HttpResponse r;
  r.content_type = a.content_type;
  r.headers = {
      {"cache-control", "no-cache"},  // assets are not fingerprinted: revalidate (cheap 304s)
      {"etag", a.etag},
      {"content-security-policy", std::string(kContentSecurityPolicy)},
      {"x-content-type-options", "nosniff"},
      {"referrer-policy", "no-referrer"},
      {"x-frame-options", "DENY"},
      {"cross-origin-opener-policy", "same-origin"},
      {"cross-origin-resource-policy", "same-origin"},
      {"permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"},
  };
  if (Matches(call.req.Header("if-none-match"), a.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.body = std::string(a.body);
  return r;
}

}  // namespace

void AddPanelRoutes(Router& r, ApiContext&) {
  // Built once: path ("index.html", "assets/app.js") → asset.
  auto assets = std::make_shared<std::map<std::string, Asset, std::less<>>>();
  for (const auto& f : web_files()) {
    std::string etag = "\"" + Sha256Hex(f.data).substr(0, 32) + "\"";
    assets->emplace(std::string(f.path), Asset{ContentTypeFor(f.path), f.data, std::move(etag)});
  }

  r.Add("GET", "/", [assets](Call& call) {
    auto it = assets->find("index.html");
    if (it == assets->end()) throw ApiError(404, "the admin panel is not built into this binary");
    return Serve(it->second, call);
  });

  r.Add("GET", "/assets/{file}", [assets](Call& call) {
    std::string path = "assets/" + std::string(call.Param("file"));
    auto it = assets->find(path);
    if (it == assets->end())
      throw ApiError(404, "no such asset: " + std::string(call.Param("file")));
    return Serve(it->second, call);
  });
}

}  // namespace hookd::api
