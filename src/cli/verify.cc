#include "cli/verify.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/clock.h"
#include "core/json_util.h"
#include "core/signing.h"

// The raw-HTTP reader is hand-written: Beast's parser (the only one in the stack) insists
// on a request line and CRLF, while captures come with either ending and often without the
// request line; and Beast belongs in the server's translation units only (STYLE.md).

namespace hookd {
namespace {

constexpr size_t kMaxInputBytes = 64u << 20;  // far above any webhook; stops `< /dev/zero`
constexpr std::string_view kContentLength = "content-length";
constexpr std::string_view kTransferEncoding = "transfer-encoding";

constexpr std::string_view kVerifyHelp = R"(
Checks that a webhook delivery you captured was signed with your endpoint's secret.
Reads the request from --file or stdin, in any of these forms (detected automatically):

 1. The raw HTTP request, as `nc -l 9000` or a proxy dumps it. CRLF or LF line endings;
    the request line is optional:
      POST /hook HTTP/1.1
      webhook-id: evt_01JD...
      webhook-timestamp: 1764151200
      webhook-signature: v1,K5oZ...=

      {"id":"evt_01JD...","type":"employee.hired",...}

 2. A JSON object, as a log might hold it ("body" is the body text, exactly as received;
    "headers" may also be a HAR-style list of {"name":...,"value":...}):
      {"headers": {"webhook-id": "evt_01JD...", "webhook-timestamp": "1764151200",
                   "webhook-signature": "v1,K5oZ...="},
       "body": "{\"id\":\"evt_01JD...\",\"type\":\"employee.hired\",...}"}

 3. Only the body, with the headers given as --header flags:
      printf '%s' "$BODY" | hookd verify -H 'webhook-id: evt_01JD...' \
          -H 'webhook-timestamp: 1764151200' -H 'webhook-signature: v1,K5oZ...='

Example:
  read -rs HOOKD_VERIFY_SECRET && export HOOKD_VERIFY_SECRET   # out of shell history
  hookd verify --file delivery.http
  valid: signed by the given secret (webhook-id evt_01JD..., timestamp 2026-11-26T10:00:00Z)

Header names are case-insensitive. The signature covers the body byte for byte: a body
that was re-indented, re-encoded or given a trailing newline no longer verifies.
The timestamp must be within --tolerance of now: check an old capture with --now <its
webhook-timestamp>. Endpoints with signature_scheme "github" send x-hub-signature-256
(HMAC of the body only, no timestamp); --scheme auto picks whichever header is present.

Exit status: 0 valid; 1 invalid (the reason is on stderr), malformed secret or unreadable
input; 2 usage error.)";

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 token characters (header names, methods).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

// "name: value" -> {lower-case name, trimmed value}.
std::optional<std::pair<std::string, std::string>> ParseHeaderLine(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return std::nullopt;
  return std::pair{ToLower(line.substr(0, colon)), std::string(TrimOws(line.substr(colon + 1)))};
}

// "POST /hook HTTP/1.1" (any method and target).
bool LooksLikeRequestLine(std::string_view line) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos || b == a + 1) return false;
  return IsToken(line.substr(0, a)) && line.substr(b + 1).starts_with("HTTP/") &&
         line.find(' ', b + 1) == std::string_view::npos;
}


// Unix seconds as "2026-11-26T10:00:00Z" (the raw number when out of calendar range).
std::string FormatUnixSeconds(int64_t s) {
  constexpr int64_t kYear10000 = 253402300800;
  if (s < 0 || s >= kYear10000) return fmt::format("{} (unix seconds)", s);
  std::string t = FormatTime(s * 1000);
  if (t.ends_with(".000Z")) t.replace(t.size() - 5, 5, "Z");
  return t;
}

// 42s, 5m 3s, 2h 10m, 3d 4h.
std::string HumanDuration(int64_t seconds) {
  if (seconds < 0) seconds = -seconds;
  const int64_t d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60,
                s = seconds % 60;
  if (d > 0) return h ? fmt::format("{}d {}h", d, h) : fmt::format("{}d", d);
  if (h > 0) return m ? fmt::format("{}h {}m", h, m) : fmt::format("{}h", h);
  if (m > 0) return s ? fmt::format("{}m {}s", m, s) : fmt::format("{}m", m);
  return fmt::format("{}s", s);
}

Unexpected<Error> Unreadable(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// ---- raw HTTP ----

Result<CapturedRequest> ParseRawHttp(std::string_view input) {
  std::vector<std::pair<std::string, std::string>> fields;
  size_t pos = 0;
  int line_no = 0;
  bool seen_line = false;  // a request line or header so far
  bool ended = false;
  while (pos < input.size()) {
    size_t nl = input.find('\n', pos);
    std::string_view line =
        input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? input.size() : nl + 1;
    ++line_no;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) {
      if (!seen_line) continue;  // blank lines before the request
      ended = true;
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
      if (fields.empty())
        return Unreadable(
            fmt::format("line {} starts with whitespace but follows no header", line_no));
      fields.back().second += ' ';
      fields.back().second += TrimOws(line);
      continue;
    }
    if (auto h = ParseHeaderLine(line)) {
      fields.push_back(std::move(*h));
    } else if (!seen_line && LooksLikeRequestLine(line)) {
      // The request line: nothing in it is signed.
    } else {
      return Unreadable(fmt::format(
          "line {} is not a header (\"name: value\"){}; expected a raw HTTP request (headers, "
          "an empty line, the body) or a JSON object {{\"headers\":…,\"body\":…}}",
          line_no, seen_line ? "" : " nor a request line (\"POST /hook HTTP/1.1\")"));
    }
    seen_line = true;
  }
  if (!seen_line) return Unreadable("the input is empty");
  if (!ended)
    return Unreadable(
        "no empty line after the headers: a raw HTTP request is the headers, an empty line, "
        "then the body");

  CapturedRequest req;
  req.form = "raw HTTP request";
  for (auto& [name, value] : fields) req.headers[name].push_back(std::move(value));
  req.body = std::string(input.substr(pos));

  if (auto it = req.headers.find(std::string(kTransferEncoding)); it != req.headers.end()) {
    for (const std::string& v : it->second)
      if (ToLower(v).find("chunked") != std::string::npos)
        return Unreadable(
            "the body was captured with chunked transfer-encoding; give the decoded body "
            "instead (the JSON form, or the body with --header flags)");
  }
  if (auto it = req.headers.find(std::string(kContentLength)); it != req.headers.end()) {
    const std::string& first = it->second.front();
    for (const std::string& v : it->second)
      if (v != first) return Unreadable("content-length appears twice with different values");
    std::optional<int64_t> n = ParseStrictInt(first);
    if (!n || *n < 0)
      return Unreadable(fmt::format("content-length \"{}\" is not a number", first));
    const size_t want = static_cast<size_t>(*n);
    if (req.body.size() < want)
      return Unreadable(fmt::format(
          "the body has {} bytes but content-length says {}: the capture looks cut short",
          req.body.size(), want));
    req.body.resize(want);  // anything after it is not part of this request
  }
  return req;
}

// ---- JSON ----

Result<void> AddJsonHeader(HeaderMap& headers, std::string_view name, const boost::json::value& v) {
  std::vector<std::string>& values = headers[ToLower(name)];
  auto add_scalar = [&](const boost::json::value& x) -> bool {
    if (x.is_string())
      values.emplace_back(x.get_string());
    else if (x.is_int64())
      values.push_back(std::to_string(x.get_int64()));
    else if (x.is_uint64())
      values.push_back(std::to_string(x.get_uint64()));
    else
      return false;
    return true;
  };
  if (v.is_array()) {
    for (const boost::json::value& x : v.get_array())
      if (!add_scalar(x))
        return Unreadable(
            fmt::format("header \"{}\" lists a JSON {}; expected strings", name, JsonKindName(x)));
    return {};
  }
  if (!add_scalar(v))
    return Unreadable(
        fmt::format("header \"{}\" is a JSON {}; expected a string", name, JsonKindName(v)));
  return {};
}

Result<CapturedRequest> ParseJsonCapture(std::string_view input) {
  Result<boost::json::value> doc = ParseJson(input);
  if (!doc)
    return Unreadable(
        fmt::format("the input starts with '{{' but is not valid JSON ({}); expected a JSON object "
                    "{{\"headers\":…,\"body\":…}} or a raw HTTP request",
                    doc.error().message));
  if (!doc->is_object()) return Unreadable("the JSON input is not an object");
  const boost::json::object& obj = doc->get_object();
  const boost::json::value* headers = obj.if_contains("headers");
  const boost::json::value* body = obj.if_contains("body");
  if (headers == nullptr)
    return Unreadable(
        "the JSON has no \"headers\": expected {\"headers\":{…},\"body\":\"…\"}; if the input "
        "is only the body, give the headers with --header 'name: value'");

  CapturedRequest req;
  req.form = "JSON";
  if (headers->is_object()) {
    for (const auto& [name, value] : headers->get_object())
      if (auto r = AddJsonHeader(req.headers, name, value); !r) return Unexpected(r.error());
  } else if (headers->is_array()) {  // HAR: [{"name": "...", "value": "..."}]
    for (const boost::json::value& h : headers->get_array()) {
      const boost::json::object* ho = h.if_object();
      const boost::json::value* name = ho ? ho->if_contains("name") : nullptr;
      const boost::json::value* value = ho ? ho->if_contains("value") : nullptr;
      if (name == nullptr || !name->is_string() || value == nullptr)
        return Unreadable(
            "\"headers\" is a list, so each item must be {\"name\": \"…\", \"value\": \"…\"}");
      if (auto r = AddJsonHeader(req.headers, name->get_string(), *value); !r)
        return Unexpected(r.error());
    }
  } else {
    return Unreadable(fmt::format("\"headers\" is a JSON {}; expected an object of name: value",
                                  JsonKindName(*headers)));
  }
  if (body == nullptr) return Unreadable("the JSON has no \"body\" (the body text, as a string)");
  if (!body->is_string())
    return Unreadable(fmt::format(
        "\"body\" is a JSON {}, not a string: the signature covers the exact bytes sent, which "
        "a parsed and re-serialized body no longer has; log the body as a string",
        JsonKindName(*body)));
  req.body = std::string(body->get_string());
  return req;
}

// ---- the decision ----

// The one value of `name`, "" when absent. Exact repeats are tolerated (proxies duplicate).
Result<std::string> SingleHeader(const HeaderMap& headers, std::string_view name) {
  auto it = headers.find(std::string(name));
  if (it == headers.end() || it->second.empty()) return std::string();
  for (const std::string& v : it->second)
    if (v != it->second.front())
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("the {} header appears {} times with different values", name,
                                   it->second.size()));
  return it->second.front();
}

// All values of a space-separated list header (webhook-signature), joined.
std::string ListHeader(const HeaderMap& headers, std::string_view name) {
  std::string out;
  auto it = headers.find(std::string(name));
  if (it == headers.end()) return out;
  for (const std::string& v : it->second) {
    if (v.empty()) continue;
    if (!out.empty()) out += ' ';
    out += v;
  }
  return out;
}

bool HasHeader(const HeaderMap& headers, std::string_view name) {
  auto it = headers.find(std::string(name));
  return it != headers.end() && !it->second.empty() && !it->second.front().empty();
}

std::optional<std::string_view> WithoutTrailingNewline(std::string_view body) {
  if (body.ends_with("\r\n")) return body.substr(0, body.size() - 2);
  if (body.ends_with('\n')) return body.substr(0, body.size() - 1);
  return std::nullopt;
}

bool HasV1Entry(std::string_view signature_list) {
  for (size_t i = 0; i < signature_list.size();) {
    if (signature_list.substr(i).starts_with("v1,")) return true;
    size_t sp = signature_list.find(' ', i);
    if (sp == std::string_view::npos) break;
    i = sp + 1;
  }
  return false;
}

constexpr std::string_view kTrailingNewlineHint =
    ". It would match without the newline at the end of the body: something added it after "
    "signing (echo, an editor, a copy-paste); pass the body with printf '%s' or echo -n";

std::string MismatchHint(size_t body_bytes) {
  return fmt::format(
      ". Check that this is the endpoint's current secret and that the body ({} bytes) is "
      "exactly what was received",
      body_bytes);
}

Result<std::string> VerifyGithubCapture(const CapturedRequest& req, const VerifyOptions& opts) {
  Result<std::string> sig = SingleHeader(req.headers, kGithubSignatureHeader);
  if (!sig) return Unexpected(sig.error());
  Result<std::string> id = SingleHeader(req.headers, kWebhookIdHeader);
  const std::string id_part = id && !id->empty() ? fmt::format(", webhook-id {}", *id) : "";
  Result<void> r = VerifyGithub(opts.secret, *sig, req.body);
  if (r)
    return fmt::format(
        "valid: signed by the given secret (GitHub style x-hub-signature-256{}; this scheme "
        "signs only the body, so there is no timestamp to check)",
        id_part);
  std::string msg = r.error().message;
  if (sig->empty() && HasHeader(req.headers, kWebhookSignatureHeader)) {
    msg +=
        "; this request carries webhook-signature instead: it was signed the Standard "
        "Webhooks way, try --scheme standard";
  } else if (sig->starts_with("sha256=")) {  // well-formed or not, the digest did not match
    std::optional<std::string_view> trimmed = WithoutTrailingNewline(req.body);
    if (trimmed && VerifyGithub(opts.secret, *sig, *trimmed))
      msg += kTrailingNewlineHint;
    else
      msg += MismatchHint(req.body.size());
  }
  return MakeError(ErrorCode::kUnauthenticated, std::move(msg));
}

Result<std::string> VerifyStandardCapture(const CapturedRequest& req, const VerifyOptions& opts) {
  Result<std::string> id = SingleHeader(req.headers, kWebhookIdHeader);
  if (!id) return Unexpected(id.error());
  Result<std::string> ts = SingleHeader(req.headers, kWebhookTimestampHeader);
  if (!ts) return Unexpected(ts.error());
  const std::string sig = ListHeader(req.headers, kWebhookSignatureHeader);
  const StandardWebhookHeaders headers{*id, *ts, sig};

  Result<void> r = VerifyStandard(opts.secret, headers, req.body, opts.now_ms, opts.tolerance_ms);
  const std::optional<int64_t> ts_s = ParseStrictInt(*ts);
  if (r)
    return fmt::format("valid: signed by the given secret (webhook-id {}, timestamp {})", *id,
                       FormatUnixSeconds(*ts_s));
  if (r.error().code == ErrorCode::kInvalidArgument)
    return MakeError(ErrorCode::kInvalidArgument, "malformed secret: " + r.error().message);

  std::string msg = r.error().message;
  if (sig.empty() && HasHeader(req.headers, kGithubSignatureHeader))
    msg +=
        "; this request carries x-hub-signature-256 instead: it was signed GitHub style, try "
        "--scheme github";
  if (id->empty() || !ts_s || sig.empty())
    return MakeError(ErrorCode::kUnauthenticated, std::move(msg));

  // Check the signature as of the moment it claims to have been sent, to tell a stale (but
  // authentic) capture from a forged or altered one.
  int64_t sent_ms = 0;
  if (__builtin_mul_overflow(*ts_s, int64_t{1000}, &sent_ms)) {  // 18 digits: no time at all
    msg += fmt::format(": it says {}, which is no time (more than 292 million years from 1970)",
                       FormatUnixSeconds(*ts_s));
    return MakeError(ErrorCode::kUnauthenticated, std::move(msg));
  }
  Result<void> at_send = VerifyStandard(opts.secret, headers, req.body, sent_ms, opts.tolerance_ms);
  const bool timestamp_failed = at_send || at_send.error().message != r.error().message;
  if (timestamp_failed) {
    const int64_t skew_s = opts.now_ms / 1000 - *ts_s;
    msg += fmt::format(": it says {}, {} {}", FormatUnixSeconds(*ts_s), HumanDuration(skew_s),
                       skew_s >= 0 ? "ago" : "ahead of now");
  }
  if (at_send) {
    msg += fmt::format(
        ". The signature itself is valid for this secret; to check a capture after the fact, "
        "pass --now {}",
        *ts_s);
    return MakeError(ErrorCode::kUnauthenticated, std::move(msg));
  }
  if (timestamp_failed) msg += "; and " + at_send.error().message;
  if (HasV1Entry(sig)) {  // so the failure is that no v1 signature matches
    std::optional<std::string_view> trimmed = WithoutTrailingNewline(req.body);
    if (trimmed && VerifyStandard(opts.secret, headers, *trimmed, sent_ms, opts.tolerance_ms))
      msg += kTrailingNewlineHint;
    else
      msg += MismatchHint(req.body.size());
  }
  return MakeError(ErrorCode::kUnauthenticated, std::move(msg));
}

// ---- I/O ----

Result<std::string> ReadAll(std::FILE* f, std::string_view what) {
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMaxInputBytes)
      return Unreadable(fmt::format("{} is larger than {} MiB", what, kMaxInputBytes >> 20));
  }
  if (std::ferror(f))
    return Unreadable(fmt::format("cannot read {}: {}", what, std::strerror(errno)));
  return out;
}

Result<std::string> ReadInput(const std::string& file) {
  if (file.empty() || file == "-") {
    if (isatty(STDIN_FILENO))
      fmt::print(stderr,
                 "hookd verify: reading the request from the terminal; paste it and end with "
                 "Ctrl-D (or use --file; see --help)\n");
    return ReadAll(stdin, "stdin");
  }
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr)
    return Unreadable(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
  Result<std::string> r = ReadAll(f, file);
  std::fclose(f);
  return r;
}

int UsageError(std::string_view message) {
  fmt::print(stderr, "hookd verify: {}\nRun 'hookd verify --help' for the flags and input forms.\n",
             message);
  return kVerifyExitUsage;
}

}  // namespace

Result<VerifyOptions> ResolveVerifyFlags(const VerifyFlags& flags, int64_t clock_now_ms) {
  VerifyOptions o;
  if (flags.secret.empty())
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("no secret: pass --secret whsec_… or set {} (the endpoint's "
                                 "signing secret)",
                                 kVerifySecretEnv));
  o.secret = flags.secret;
  if (flags.scheme == "auto")
    o.scheme = VerifyScheme::kAuto;
  else if (flags.scheme == "standard")
    o.scheme = VerifyScheme::kStandard;
  else if (flags.scheme == "github")
    o.scheme = VerifyScheme::kGithub;
  else
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--scheme must be auto, standard or github, not \"{}\"", flags.scheme));
  std::optional<int64_t> tol = ParseDurationMs(flags.tolerance);
  if (!tol)
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--tolerance \"{}\" is not a duration like 300s, 5m or 1h", flags.tolerance));
  o.tolerance_ms = *tol;
  if (flags.now.empty()) {
    o.now_ms = clock_now_ms;
  } else if (std::optional<int64_t> s = ParseStrictInt(flags.now);
             s && *s > -(int64_t{1} << 40) && *s < (int64_t{1} << 40)) {
    o.now_ms = *s * 1000;
  } else if (std::optional<int64_t> t = ParseTime(flags.now)) {
    o.now_ms = *t;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--now \"{}\" is neither unix seconds (1764151200) nor an RFC "
                                 "3339 time (2026-11-26T10:00:00Z)",
                                 flags.now));
  }
  return o;
}

Result<CapturedRequest> ParseCapturedRequest(std::string_view input) {
  std::string_view rest = input;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // a UTF-8 BOM from an editor
  size_t first = rest.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Unreadable("the input is empty");
  if (rest[first] == '{') return ParseJsonCapture(rest);
  return ParseRawHttp(rest);
}

Result<HeaderMap> ParseHeaderFlags(std::span<const std::string> flags) {
  HeaderMap headers;
  for (const std::string& f : flags) {
    auto h = ParseHeaderLine(f);
    if (!h)
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--header \"{}\" is not \"name: value\"", f));
    headers[h->first].push_back(std::move(h->second));
  }
  return headers;
}

Result<std::string> VerifyCaptured(const CapturedRequest& request, const VerifyOptions& options) {
  VerifyScheme scheme = options.scheme;
  if (scheme == VerifyScheme::kAuto)
    scheme = !HasHeader(request.headers, kWebhookSignatureHeader) &&
                     HasHeader(request.headers, kGithubSignatureHeader)
                 ? VerifyScheme::kGithub
                 : VerifyScheme::kStandard;
  return scheme == VerifyScheme::kGithub ? VerifyGithubCapture(request, options)
                                         : VerifyStandardCapture(request, options);
}

void AddVerifyFlags(CLI::App& verify, VerifyFlags& f) {
  verify
      .add_option("--secret", f.secret,
                  "the endpoint's signing secret (whsec_…); better set it in the environment")
      ->envname(std::string(kVerifySecretEnv));
  verify
      .add_option("--scheme", f.scheme,
                  "standard (webhook-signature), github (x-hub-signature-256) or auto")
      ->check(CLI::IsMember({"auto", "standard", "github"}))
      ->capture_default_str();
  verify.add_option("-f,--file", f.file,
                    "read the captured request from this file (default: stdin)");
  verify.add_option("-H,--header", f.headers,
                    "a header, 'name: value' (repeatable); the input is then only the body");
  verify
      .add_option("--tolerance", f.tolerance,
                  "how far webhook-timestamp may be from now, either way")
      ->capture_default_str();
  verify.add_option("--now", f.now,
                    "check as of this time instead of the clock: unix seconds or RFC 3339");
  verify.footer(std::string(kVerifyHelp));
}

int RunVerify(const VerifyFlags& flags) {
  Result<VerifyOptions> opts = ResolveVerifyFlags(flags, NowMs());
  if (!opts) return UsageError(opts.error().message);
  std::optional<HeaderMap> flag_headers;
  if (!flags.headers.empty()) {
    Result<HeaderMap> h = ParseHeaderFlags(flags.headers);
    if (!h) return UsageError(h.error().message);
    flag_headers = std::move(*h);
  }

  Result<std::string> input = ReadInput(flags.file);
  if (!input) {
    fmt::print(stderr, "hookd verify: unreadable input: {}\n", input.error().message);
    return kVerifyExitInvalid;
  }
  CapturedRequest req;
  if (flag_headers) {
    req.headers = std::move(*flag_headers);
    req.body = std::move(*input);
    req.form = "--header flags";
  } else {
    Result<CapturedRequest> parsed = ParseCapturedRequest(*input);
    if (!parsed) {
      fmt::print(stderr, "hookd verify: unreadable input: {}\n", parsed.error().message);
      return kVerifyExitInvalid;
    }
    req = std::move(*parsed);
  }

  Result<std::string> verdict = VerifyCaptured(req, *opts);
  if (!verdict) {
    fmt::print(stderr, "invalid: {}\n", verdict.error().message);
    return kVerifyExitInvalid;
  }
  fmt::print("{}\n", *verdict);
  std::fflush(stdout);
  return kVerifyExitValid;
}

}  // namespace hookd
