#pragma once
/// The Portask frame: the unit on the native wire and the unit stored in Dragonfly.
///
///   offset size field
///   0      4    magic 0x504F5254 ("PORT"), big-endian
///   4      1    protocol version (1)
///   5      1    message type
///   6      2    flags, big-endian (see frame_flags)
///   8      4    payload length, big-endian
///   12     4    CRC32 (IEEE) of the payload bytes as sent
///   16     N    payload
///
/// Pure functions, no I/O: usable from connection actors, storage and tools alike.

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"

namespace portask::protocol {

inline constexpr std::uint32_t frame_magic = 0x504F5254;
inline constexpr std::uint8_t frame_version = 1;
inline constexpr std::size_t frame_header_size = 16;
inline constexpr std::uint32_t default_max_frame_payload = 16u * 1024 * 1024;

/// Native message types. Values are wire constants; new ones are appended, never renumbered.
enum class message_type : std::uint8_t {
  publish = 0x01,    ///< client -> broker: a batch of messages for one partition
  subscribe = 0x02,  ///< client -> broker: start server push from an offset
  fetch = 0x03,      ///< client -> broker: read batches from an offset (long poll)
  ack = 0x04,        ///< client -> broker: commit a consumer's offset
  heartbeat = 0x05,  ///< either way: liveness
  error = 0x06,      ///< broker -> client: a request failed (code + text)
  response = 0x07,   ///< broker -> client: a request succeeded
  deliver = 0x08,    ///< broker -> client: pushed batch for a subscription
  credit = 0x09,     ///< client -> broker: grant push credit to a subscription
  unsubscribe = 0x0A,
  topic_admin = 0x0B,     ///< create / delete / list / describe topics
  metadata = 0x0C,        ///< broker and partition layout
  offset_fetch = 0x0D,    ///< read a consumer's committed offset
  list_offsets = 0x0E,    ///< earliest / latest offset of a partition
  group_join = 0x0F,        ///< client -> broker: become a member of a consumer group
  group_assignment = 0x10,  ///< broker -> client: a member's partitions, after each rebalance
  group_leave = 0x11,       ///< client -> broker: stop being a member
  init_producer = 0x12,     ///< client -> broker: an idempotent producer's id and epoch
  delete_records = 0x13,    ///< client -> broker: advance a partition's log start offset
  group_admin = 0x14,       ///< client -> broker: list / describe / delete consumer groups
  authenticate = 0x15,      ///< client -> broker: one step of a SASL exchange
  user_admin = 0x16,        ///< client -> broker: list / set / delete users' SCRAM credentials
  acl_admin = 0x17,         ///< client -> broker: list / create / delete ACL bindings
};

/// True for every type this protocol version defines.
bool is_known_type(std::uint8_t type) noexcept;
std::string_view to_string(message_type t) noexcept;

/// Flag bits. The low byte holds boolean properties; the high byte records how the payload
/// is encoded so that a stored frame describes itself.
namespace frame_flags {
inline constexpr std::uint16_t compressed = 0x0001;
inline constexpr std::uint16_t encrypted = 0x0002;
inline constexpr std::uint16_t batch = 0x0004;
inline constexpr std::uint16_t priority = 0x0008;
inline constexpr std::uint16_t known_bits = 0x000F;
inline constexpr int codec_shift = 8;         ///< bits 8-11: codec id
inline constexpr std::uint16_t codec_mask = 0x0F00;
inline constexpr int compression_shift = 12;  ///< bits 12-15: compression id
inline constexpr std::uint16_t compression_mask = 0xF000;
}  // namespace frame_flags

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
