#pragma once
/// `expected<T>`: a value or a std::error_code. Code outside actors returns this instead of
/// throwing; the data plane never throws on bad input.

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "protocol/error.hpp"

namespace portask {

template <class T>
class [[nodiscard]] expected {
  static_assert(!std::is_same_v<T, std::error_code>);

 public:
  expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  expected(std::error_code ec) : v_(std::in_place_index<1>, ec) { assert(ec); }
  expected(errc e) : expected(make_error_code(e)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  std::error_code error() const noexcept {
    return has_value() ? std::error_code{} : std::get<1>(v_);
  }

 private:
  std::variant<T, std::error_code> v_;
};

}  // namespace portask
