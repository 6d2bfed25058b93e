#pragma once
// Which stored fields are encrypted at rest (core/field_cipher.h), and the one place both
// store backends seal them on the way in and open them on the way out:
//   events.payload                              — the HR event (names, salaries, absences)
//   attempts.response_headers, response_body    — what a receiver answered
//   endpoints.secret, previous_secret           — signing secrets
// Each value's additional data names its column and row, so a sealed value moved to another
// row does not open. Both secrets share one: rotation copies `secret` into `previous_secret`
// in SQL.

#include <string>
#include <string_view>

#include "core/endpoint.h"
#include "core/error.h"
#include "core/field_cipher.h"
#include "core/model.h"

namespace hookd::sealed {

inline std::string PayloadAad(std::string_view event_id) { return "events.payload:" + std::string(event_id); }
inline std::string SecretAad(std::string_view endpoint_id) { return "endpoints.secret:" + std::string(endpoint_id); }
inline std::string HeadersAad(std::string_view attempt_id) {
  return "attempts.response_headers:" + std::string(attempt_id);
}
inline std::string BodyAad(std::string_view attempt_id) { return "attempts.response_body:" + std::string(attempt_id); }

// In place: plain → stored form.
inline void Seal(const FieldCipher& c, Event& e) { e.payload = c.SealBytes(e.payload, PayloadAad(e.id.str())); }
inline void Seal(const FieldCipher& c, Endpoint& ep) {
  const std::string aad = SecretAad(ep.id.str());
  ep.secret = c.SealText(ep.secret, aad);
  ep.previous_secret = c.SealText(ep.previous_secret, aad);
}
inline void Seal(const FieldCipher& c, Attempt& a) {
  a.response_headers = c.SealText(a.response_headers, HeadersAad(a.id.str()));
  a.response_body = c.SealBytes(a.response_body, BodyAad(a.id.str()));
}

// In place: stored form → plain. kInternal, naming the row, when a value does not open (a
// key that is not configured, or a changed value) — never garbage.
inline Result<void> Open(const FieldCipher& c, Event& e) {
  auto p = c.OpenBytes(e.payload, PayloadAad(e.id.str()));
  if (!p) return std::unexpected(p.error());
  e.payload = std::move(*p);
  return {};
}
inline Result<void> Open(const FieldCipher& c, Endpoint& ep) {
  const std::string aad = SecretAad(ep.id.str());
  auto s = c.OpenText(ep.secret, aad);
  if (!s) return std::unexpected(s.error());
  auto p = c.OpenText(ep.previous_secret, aad);
  if (!p) return std::unexpected(p.error());
  ep.secret = std::move(*s);
  ep.previous_secret = std::move(*p);
  return {};
}
inline Result<void> Open(const FieldCipher& c, Attempt& a) {
  auto h = c.OpenText(a.response_headers, HeadersAad(a.id.str()));
  if (!h) return std::unexpected(h.error());
  auto b = c.OpenBytes(a.response_body, BodyAad(a.id.str()));
  if (!b) return std::unexpected(b.error());
  a.response_headers = std::move(*h);
  a.response_body = std::move(*b);
  return {};
}

// A row reader (`read(row…)` → T) that also opens T's sealed fields: → Result<T>.
template <class F>
auto Opening(const FieldCipher& c, F read) {
  return [&c, read](const auto&... row) {
    auto v = read(row...);
    using T = decltype(v);
    if (auto r = Open(c, v); !r) return Result<T>(std::unexpected(r.error()));
    return Result<T>(std::move(v));
  };
}

}  // namespace hookd::sealed
