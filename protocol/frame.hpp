#pragma once
/// The Portask frame: the unit on the native wire and the unit stored in Dragonfly. A 16-byte
/// header (magic "PORT", protocol version, message type, flags, payload length, CRC32 of the
/// payload), then the payload.
///
/// Pure functions, no I/O: usable from connection actors, storage and tools alike.

#include <cstdint>
#include <span>
#include <string_view>

#include "portask/native/native_types.hpp"
#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"

namespace portask::protocol {

inline constexpr std::uint32_t default_max_frame_payload = 16u * 1024 * 1024;

// The header's layout and constants (frame_magic, frame_version, frame_header_size,
// max_reserved_type), the message types (`enum class message_type`) and the flag bits
// (namespace frame_flags) are generated from protocol/native_schema.json, like the tables of
// docs/protocol.md sections 1, 2 and 3, into portask/native/native_types.hpp
// (tools/native_codegen).

/// True for every type this protocol version defines.
bool is_known_type(std::uint8_t type) noexcept;
std::string_view to_string(message_type t) noexcept;

/// Limits applied while decoding untrusted input.
struct frame_limits {
  std::uint32_t max_payload = default_max_frame_payload;
};

struct frame_header {
  std::uint8_t version = frame_version;
  message_type type = message_type::publish;
  std::uint16_t flags = 0;
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
};

/// A decoded frame. The payload borrows the decoder's (or caller's) memory.
struct frame_view {
  frame_header header;
  byte_view payload;
};

/// Writes the 16 header bytes.
void encode_header(const frame_header& h, std::span<std::uint8_t, frame_header_size> out) noexcept;

/// Parses and validates magic, version, type and length (not the CRC: the payload is not
/// here yet). `in` must hold at least frame_header_size bytes, else errc::truncated.
expected<frame_header> decode_header(byte_view in, const frame_limits& limits = {});

/// Checks that a (possibly partial) prefix of a header could still become a valid header.
/// Lets a stream decoder reject garbage after a few bytes instead of waiting for sixteen.
std::error_code check_header_prefix(byte_view prefix) noexcept;

/// Decodes one whole frame from the start of `in`, verifying the CRC. Bytes after the
/// frame are ignored; `frame_size(view)` tells how many were consumed.
expected<frame_view> decode_frame(byte_view in, const frame_limits& limits = {});

inline std::size_t frame_size(const frame_view& f) noexcept {
  return frame_header_size + f.header.length;
}

/// Appends header + payload to `out`, computing length and CRC32.
void append_frame(buffer& out, message_type type, std::uint16_t flags, byte_view payload);

/// Reserves room for a header at the end of `out` and returns its position; the caller then
/// appends the payload in place and calls finish_frame. Saves a payload copy when building.
std::size_t begin_frame(buffer& out);
void finish_frame(buffer& out, std::size_t header_pos, message_type type, std::uint16_t flags);

}  // namespace portask::protocol
