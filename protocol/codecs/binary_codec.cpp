#include "protocol/codecs/binary_codec.hpp"

#include "protocol/wire.hpp"

namespace portask::protocol {
namespace {

namespace attr {
constexpr std::uint8_t key = 0x01;
constexpr std::uint8_t value = 0x02;
constexpr std::uint8_t expiry = 0x04;
constexpr std::uint8_t topic = 0x08;
constexpr std::uint8_t partition = 0x10;
constexpr std::uint8_t all = 0x1F;
}  // namespace attr

// Smallest possible encoded message: attrs, id, offset delta, timestamp delta, priority,
// header count, one byte each. Bounds a hostile count before anything is reserved.
constexpr std::size_t min_message_size = 6;

// Deltas wrap instead of overflowing: any int64 pair round-trips.
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::size_t estimate_size(const message_batch& batch) {
  std::size_t n = 32;
  for (const auto& m : batch.messages) {
    n += 24 + (m.key ? m.key->size() : 0) + (m.value ? m.value->size() : 0);
    for (const auto& h : m.headers) n += 4 + h.key.size() + (h.value ? h.value->size() : 0);
  }
  return n;
}

}  // namespace

std::error_code binary_codec::encode(const message_batch& batch, buffer& out) const {
  out.reserve(out.size() + estimate_size(batch));
  wire_writer w{out};
  static const message empty;
  const message& first = batch.messages.empty() ? empty : batch.messages.front();
  w.u8(format_version);
  w.uvarint(batch.messages.size());
  w.bytes(first.topic);
  w.varint(first.partition);
  w.varint(first.offset);
  w.varint(first.timestamp_ms);
  for (const auto& m : batch.messages) {
    std::uint8_t a = 0;
    if (m.key) a |= attr::key;
    if (m.value) a |= attr::value;
    if (m.expires_at_ms != no_expiry) a |= attr::expiry;
    if (!m.topic.empty() && m.topic != first.topic) a |= attr::topic;
    if (m.partition != first.partition) a |= attr::partition;
    w.u8(a);
    w.uvarint(m.id);
    w.varint(wrapping_sub(m.offset, first.offset));
    w.varint(wrapping_sub(m.timestamp_ms, first.timestamp_ms));
    w.u8(m.priority);
    if (a & attr::expiry) w.varint(m.expires_at_ms);
    if (a & attr::topic) w.bytes(m.topic);
    if (a & attr::partition) w.varint(m.partition);
    if (m.key) w.bytes(*m.key);
    if (m.value) w.bytes(*m.value);
    w.uvarint(m.headers.size());
    for (const auto& h : m.headers) {
      w.bytes(h.key);
      w.nullable_bytes(h.value);
    }
  }
  return {};
}

expected<message_batch> binary_codec::decode(byte_view in) const {
  wire_reader r{in};
  std::uint8_t version = 0;
  std::uint64_t count = 0;
  std::string topic;
  std::int64_t partition = 0, base_offset = 0, base_ts = 0;
  if (!r.u8(version)) return errc::malformed_payload;
  if (version != format_version) return errc::malformed_payload;
  if (!r.uvarint(count) || !r.bytes(topic) || !r.varint(partition) || !r.varint(base_offset) ||
      !r.varint(base_ts))
    return errc::malformed_payload;
  if (partition < INT32_MIN || partition > INT32_MAX) return errc::malformed_payload;
  if (count > r.remaining() / min_message_size) return errc::malformed_payload;

  message_batch batch;
  batch.messages.resize(static_cast<std::size_t>(count));
  for (auto& m : batch.messages) {
    std::uint8_t a = 0;
    std::int64_t off_delta = 0, ts_delta = 0;
    if (!r.u8(a) || (a & ~attr::all) != 0) return errc::malformed_payload;
    if (!r.uvarint(m.id) || !r.varint(off_delta) || !r.varint(ts_delta) || !r.u8(m.priority))
      return errc::malformed_payload;
    m.offset = wrapping_add(base_offset, off_delta);
    m.timestamp_ms = wrapping_add(base_ts, ts_delta);
    if ((a & attr::expiry) && !r.varint(m.expires_at_ms)) return errc::malformed_payload;
    if (a & attr::topic) {
      if (!r.bytes(m.topic)) return errc::malformed_payload;
    } else {
      m.topic = topic;
    }
    m.partition = static_cast<std::int32_t>(partition);
    if (a & attr::partition) {
      std::int64_t p = 0;
      if (!r.varint(p) || p < INT32_MIN || p > INT32_MAX) return errc::malformed_payload;
      m.partition = static_cast<std::int32_t>(p);
    }
    if ((a & attr::key) && !r.bytes(m.key.emplace())) return errc::malformed_payload;
    if ((a & attr::value) && !r.bytes(m.value.emplace())) return errc::malformed_payload;
    std::uint64_t nheaders = 0;
    if (!r.uvarint(nheaders) || nheaders > r.remaining() / 2) return errc::malformed_payload;
    m.headers.resize(static_cast<std::size_t>(nheaders));
    for (auto& h : m.headers)
      if (!r.bytes(h.key) || !r.nullable_bytes(h.value)) return errc::malformed_payload;
  }
  if (!r.ok() || !r.at_end()) return errc::malformed_payload;
  return batch;
}

}  // namespace portask::protocol
