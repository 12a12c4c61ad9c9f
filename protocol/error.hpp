#pragma once
/// Portask's error codes: one enum for every failure a protocol layer can report, plugged
/// into std::error_code. The numeric values are part of the native wire protocol (an Error
/// frame carries them, see docs/protocol.md), so values are never reused or renumbered.
///
/// `enum class errc` itself, with each code's name, message and whether it is retriable, is
/// generated from protocol/native_schema.json, like the table of docs/protocol.md section 7,
/// into portask/native/native_types.hpp (tools/native_codegen).

#include <string_view>
#include <system_error>

#include "portask/native/native_types.hpp"

namespace portask {

/// The category name is "portask"; messages are short English phrases.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A client may retry the same request after one of these.
bool is_retriable(errc e) noexcept;

/// Symbolic name ("crc_mismatch") used in logs and Error frames.
std::string_view to_string(errc e) noexcept;

}  // namespace portask

template <>
struct std::is_error_code_enum<portask::errc> : std::true_type {};
