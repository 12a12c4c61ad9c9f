#pragma once
/// Reading one message of a binary codec batch where it lies (docs/protocol.md, "Binary
/// codec"): the one walker over the message layout, for the codec itself (decode, scan,
/// re-basing) and for the Kafka transcoder. Byte strings are views into the payload.

#include <climits>
#include <cstdint>

#include "protocol/bytes.hpp"
#include "protocol/message.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::binary_message {

namespace attr {
constexpr std::uint8_t key = 0x01;
constexpr std::uint8_t value = 0x02;
constexpr std::uint8_t expiry = 0x04;
constexpr std::uint8_t topic = 0x08;
constexpr std::uint8_t partition = 0x10;
constexpr std::uint8_t all = 0x1F;
}  // namespace attr

/// Smallest possible encoded message: attrs, id, offset delta, timestamp delta, priority,
/// header count, one byte each. Bounds a hostile count before anything is reserved.
constexpr std::size_t min_size = 6;

/// The fields a message starts with, up to its priority.
struct head {
  std::uint8_t attrs = 0;
  std::uint64_t id = 0;
  std::int64_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  std::uint8_t priority = 0;
};

/// The fields after the head, up to the header count; the headers follow in the payload.
struct body {
  std::int64_t expires_at_ms = no_expiry;
  byte_view topic;  ///< when attrs has attr::topic
  std::int32_t partition = 0;  ///< when attrs has attr::partition
  byte_view key;    ///< when attrs has attr::key
  byte_view value;  ///< when attrs has attr::value
  std::uint64_t header_count = 0;
};

/// A byte string (uvarint length), viewed in place.
inline bool read_bytes(wire_reader& r, byte_view& out) noexcept {
  std::uint64_t n = 0;
  return r.uvarint(n) && n <= r.remaining() && r.raw(static_cast<std::size_t>(n), out);
}

/// A nullable byte string (uvarint length + 1, 0 for null), viewed in place.
inline bool read_nullable_bytes(wire_reader& r, byte_view& out, bool& present) noexcept {
  std::uint64_t n = 0;
  if (!r.uvarint(n)) return false;
  present = n != 0;
  return !present || (n - 1 <= r.remaining() && r.raw(static_cast<std::size_t>(n - 1), out));
}

inline bool read_head(wire_reader& r, head& h) noexcept {
  return r.u8(h.attrs) && (h.attrs & ~attr::all) == 0 && r.uvarint(h.id) &&
         r.varint(h.offset_delta) && r.varint(h.timestamp_delta) && r.u8(h.priority);
}

/// The rest of a message whose head was read, up to and including its header count (which
/// is checked against what is left: each header takes at least two bytes).
inline bool read_body(wire_reader& r, std::uint8_t attrs, body& b) noexcept {
  if ((attrs & attr::expiry) && !r.varint(b.expires_at_ms)) return false;
  if ((attrs & attr::topic) && !read_bytes(r, b.topic)) return false;
  if (attrs & attr::partition) {
    std::int64_t p = 0;
    if (!r.varint(p) || p < INT32_MIN || p > INT32_MAX) return false;
    b.partition = static_cast<std::int32_t>(p);
  }
  if ((attrs & attr::key) && !read_bytes(r, b.key)) return false;
  if ((attrs & attr::value) && !read_bytes(r, b.value)) return false;
  return r.uvarint(b.header_count) && b.header_count <= r.remaining() / 2;
}

/// One header: its key and nullable value.
inline bool read_header(wire_reader& r, byte_view& key, byte_view& value, bool& value_present) noexcept {
  return read_bytes(r, key) && read_nullable_bytes(r, value, value_present);
}

/// A whole message after its head: the body and every header.
inline bool skip_after_head(wire_reader& r, std::uint8_t attrs, body& b) noexcept {
  if (!read_body(r, attrs, b)) return false;
  byte_view k, v;
  bool present = false;
  for (std::uint64_t i = 0; i < b.header_count; ++i)
    if (!read_header(r, k, v, present)) return false;
  return true;
}

}  // namespace portask::protocol::binary_message
