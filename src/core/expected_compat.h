#pragma once
// hookd::Expected<T, E> and hookd::Unexpected<E>: std::expected / std::unexpected.
//
// With g++ 12 (the normal build) these are plain aliases of the standard types: nothing
// else is compiled and nothing changes. clang-14, which builds the fuzz targets (fuzz/),
// cannot compile libstdc++ 12's <expected> (it needs conditionally trivial special members,
// P0848, which clang supports from 16), so there a minimal stand-in with the subset hookd
// uses is defined: construction from a value or an Unexpected, has_value / bool, *, ->,
// value(), error(), value_or; Expected<void, E>.
//
// Code that the fuzz build compiles (src/core, src/cli/verify.cc, the parts of src/api and
// src/dispatch named in CMakeLists.txt's HOOKD_FUZZ section) spells these names instead of
// std::expected / std::unexpected; elsewhere both spellings are the same type.

#include <version>

#if defined(__cpp_lib_expected)

#include <expected>

namespace hookd {
template <class T, class E>
using Expected = std::expected<T, E>;
template <class E>
using Unexpected = std::unexpected<E>;
}  // namespace hookd

#else  // clang-14 with libstdc++ 12: the fuzz build only

#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace hookd {

template <class E>
class Unexpected {
 public:
  template <class G = E>
    requires(!std::is_same_v<std::remove_cvref_t<G>, Unexpected> && std::is_constructible_v<E, G>)
  constexpr explicit Unexpected(G&& e) : error_(std::forward<G>(e)) {}

  constexpr const E& error() const& { return error_; }
  constexpr E& error() & { return error_; }
  constexpr E&& error() && { return std::move(error_); }

 private:
  E error_;
};

template <class E>
Unexpected(E) -> Unexpected<E>;

namespace expected_detail {
template <class T>
struct IsUnexpected : std::false_type {};
template <class E>
struct IsUnexpected<Unexpected<E>> : std::true_type {};
}  // namespace expected_detail

template <class T, class E>
class Expected {
 public:
  using value_type = T;
  using error_type = E;

  constexpr Expected()
    requires std::is_default_constructible_v<T>
      : v_(std::in_place_index<0>) {}
  template <class U = T>
    requires(!std::is_same_v<std::remove_cvref_t<U>, Expected> &&
             !expected_detail::IsUnexpected<std::remove_cvref_t<U>>::value &&
             !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> &&
             std::is_constructible_v<T, U>)
  constexpr Expected(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
  template <class G>
  constexpr Expected(const Unexpected<G>& u) : v_(std::in_place_index<1>, u.error()) {}
  template <class G>
  constexpr Expected(Unexpected<G>&& u) : v_(std::in_place_index<1>, std::move(u).error()) {}

  constexpr bool has_value() const { return v_.index() == 0; }
  constexpr explicit operator bool() const { return has_value(); }

  constexpr T& operator*() & { return std::get<0>(v_); }
  constexpr const T& operator*() const& { return std::get<0>(v_); }
  constexpr T&& operator*() && { return std::get<0>(std::move(v_)); }
  constexpr T* operator->() { return &std::get<0>(v_); }
  constexpr const T* operator->() const { return &std::get<0>(v_); }

  constexpr T& value() & { return Checked(), std::get<0>(v_); }
  constexpr const T& value() const& { return Checked(), std::get<0>(v_); }
  constexpr T&& value() && { return Checked(), std::get<0>(std::move(v_)); }
  template <class U>
  constexpr T value_or(U&& other) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(other));
  }

  constexpr E& error() & { return std::get<1>(v_); }
  constexpr const E& error() const& { return std::get<1>(v_); }
  constexpr E&& error() && { return std::get<1>(std::move(v_)); }

 private:
  constexpr void Checked() const {
    if (!has_value()) throw std::logic_error("hookd::Expected: value() of an error");
  }
  std::variant<T, E> v_;
};

template <class E>
class Expected<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  constexpr Expected() = default;
  template <class G>
  constexpr Expected(const Unexpected<G>& u) : error_(std::in_place, u.error()) {}
  template <class G>
  constexpr Expected(Unexpected<G>&& u) : error_(std::in_place, std::move(u).error()) {}

  constexpr bool has_value() const { return !error_.has_value(); }
  constexpr explicit operator bool() const { return has_value(); }
  constexpr void operator*() const {}
  constexpr void value() const {
    if (!has_value()) throw std::logic_error("hookd::Expected: value() of an error");
  }

  constexpr E& error() & { return *error_; }
  constexpr const E& error() const& { return *error_; }
  constexpr E&& error() && { return std::move(*error_); }

 private:
  std::optional<E> error_;
};

}  // namespace hookd

#endif
