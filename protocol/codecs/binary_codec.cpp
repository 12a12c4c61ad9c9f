#include "protocol/codecs/binary_codec.hpp"

#include "protocol/codecs/binary_message.hpp"
#include "protocol/wire.hpp"

#include <algorithm>
#include <climits>

namespace portask::protocol {
namespace {

namespace attr = binary_message::attr;
using binary_message::min_size;

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
  if (count > r.remaining() / min_size) return errc::malformed_payload;
  // The structures are counted before each allocation (the messages', then each message's
  // headers'), against max_decoded_.
  std::size_t decoded = 0;
  auto room_for = [&](std::uint64_t n, std::size_t each) {
    if (n > (max_decoded_ - decoded) / each) return false;
    decoded += static_cast<std::size_t>(n) * each;
    return true;
  };
  if (!room_for(count, sizeof(message))) return errc::decompressed_too_large;

  message_batch batch;
  batch.messages.resize(static_cast<std::size_t>(count));
  for (auto& m : batch.messages) {
    binary_message::head h;
    binary_message::body b;
    if (!binary_message::read_head(r, h) || !binary_message::read_body(r, h.attrs, b))
      return errc::malformed_payload;
    m.id = h.id;
    m.priority = h.priority;
    m.offset = wrapping_add(base_offset, h.offset_delta);
    m.timestamp_ms = wrapping_add(base_ts, h.timestamp_delta);
    m.expires_at_ms = b.expires_at_ms;
    m.topic = (h.attrs & attr::topic) ? std::string(as_chars(b.topic)) : topic;
    m.partition = (h.attrs & attr::partition) ? b.partition : static_cast<std::int32_t>(partition);
    if (h.attrs & attr::key) m.key.emplace(as_chars(b.key));
    if (h.attrs & attr::value) m.value.emplace(as_chars(b.value));
    if (!room_for(b.header_count, sizeof(message_header))) return errc::decompressed_too_large;
    m.headers.resize(static_cast<std::size_t>(b.header_count));
    for (auto& hd : m.headers) {
      byte_view key, value;
      bool present = false;
      if (!binary_message::read_header(r, key, value, present)) return errc::malformed_payload;
      hd.key.assign(as_chars(key));
      if (present) hd.value.emplace(as_chars(value));
    }
  }
  if (!r.ok() || !r.at_end()) return errc::malformed_payload;
  return batch;
}

expected<binary_batch_scan> binary_codec::scan(byte_view in) noexcept {
  wire_reader r{in};
  std::uint8_t version = 0;
  std::uint64_t count = 0;
  std::int64_t partition = 0, base_offset = 0, base_ts = 0;
  if (!r.u8(version)) return errc::malformed_payload;
  if (version != format_version) return errc::malformed_payload;
  if (!r.uvarint(count) || !r.skip_bytes() || !r.varint(partition) || !r.varint(base_offset) ||
      !r.varint(base_ts))
    return errc::malformed_payload;
  if (partition < INT32_MIN || partition > INT32_MAX) return errc::malformed_payload;
  if (count > r.remaining() / min_size) return errc::malformed_payload;
  // count <= payload size / 6, and payloads are bounded far below 4 GiB by the frame limit.
  if (count > UINT32_MAX) return errc::malformed_payload;

  binary_batch_scan s;
  s.count = static_cast<std::uint32_t>(count);
  s.messages_at = static_cast<std::size_t>(r.position() - in.data());
  s.base_timestamp_ms = base_ts;
  // The messages' bytes are kept only where encode() would write the same bytes for them.
  bool canonical = true, inherits = true, some_set = false, some_unset = false;
  for (std::uint64_t i = 0; i < count; ++i) {
    binary_message::head h;
    binary_message::body b;
    if (!binary_message::read_head(r, h)) return errc::malformed_payload;
    if (i == 0 && h.timestamp_delta != 0) canonical = false;  // encode()'s base is the first's
    const std::int64_t ts = wrapping_add(base_ts, h.timestamp_delta);
    (ts == 0 ? some_unset : some_set) = true;
    s.max_timestamp_ms = i == 0 ? ts : std::max(s.max_timestamp_ms, ts);
    if (h.offset_delta != 0 || (h.attrs & (attr::topic | attr::partition)) != 0) inherits = false;
    if (!binary_message::skip_after_head(r, h.attrs, b)) return errc::malformed_payload;
    s.headers += b.header_count;
    if ((h.attrs & attr::expiry) && b.expires_at_ms == no_expiry) canonical = false;  // encode() omits it
    if ((h.attrs & attr::expiry) && b.expires_at_ms != no_expiry) s.expiring = true;
    if (!(h.attrs & attr::key)) s.keyless = true;
  }
  if (!r.ok() || !r.at_end()) return errc::malformed_payload;
  s.timestamps_unset = some_unset && !some_set;
  // All unset: base and deltas are 0, so a new base sets every timestamp at once.
  s.rebasable = count > 0 && canonical && !r.read_overlong_varint() && inherits &&
                !(some_set && some_unset) && (!s.timestamps_unset || base_ts == 0);
  return s;
}

void binary_codec::rebase(byte_view in, const binary_batch_scan& s, std::string_view topic,
                          std::int32_t partition, std::int64_t base_offset,
                          std::int64_t base_timestamp_ms, buffer& out) {
  const auto messages = in.subspan(s.messages_at);
  out.reserve(out.size() + 32 + topic.size() + messages.size());
  write_header(s, topic, partition, base_offset, base_timestamp_ms, out);
  out.insert(out.end(), messages.begin(), messages.end());
}

void binary_codec::write_header(const binary_batch_scan& s, std::string_view topic,
                                std::int32_t partition, std::int64_t base_offset,
                                std::int64_t base_timestamp_ms, buffer& out) {
  wire_writer w{out};
  w.u8(format_version);
  w.uvarint(s.count);
  w.bytes(topic);
  w.varint(partition);
  w.varint(base_offset);
  w.varint(base_timestamp_ms);
}

bool binary_codec::append_messages(byte_view in, const binary_batch_scan& s,
                                   std::int64_t base_timestamp_ms, buffer& out) {
  if (s.messages_at > in.size()) return false;
  wire_reader r{in.subspan(s.messages_at)};
  wire_writer w{out};
  for (std::uint32_t i = 0; i < s.count; ++i) {
    binary_message::head h;
    binary_message::body b;
    if (!binary_message::read_head(r, h)) return false;
    const auto* rest = r.position();
    if (!binary_message::skip_after_head(r, h.attrs, b)) return false;
    w.u8(h.attrs);
    w.uvarint(h.id);
    w.varint(h.offset_delta);
    // The same instant, as a delta from the new base.
    w.varint(wrapping_sub(wrapping_add(s.base_timestamp_ms, h.timestamp_delta), base_timestamp_ms));
    w.u8(h.priority);
    w.raw(rest, static_cast<std::size_t>(r.position() - rest));
  }
  return r.ok() && r.at_end();
}

}  // namespace portask::protocol
