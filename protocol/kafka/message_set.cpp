#include "protocol/kafka/message_set.hpp"

#include "protocol/crc32.hpp"
#include "protocol/error.hpp"
#include "protocol/kafka/batch_compression.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

constexpr std::uint8_t compression_mask = 0x07;
constexpr std::uint8_t log_append_time = 0x08;

// Kafka's classic bytes: i32 length, -1 for null.
bool read_bytes(wire_reader& r, std::optional<std::string>& out) {
  std::uint32_t len = 0;
  if (!r.u32(len)) return false;
  if (static_cast<std::int32_t>(len) == -1) {
    out.reset();
    return true;
  }
  byte_view b;
  if (static_cast<std::int32_t>(len) < 0 || !r.raw(len, b)) return false;
  out = std::string(as_chars(b));
  return true;
}

void write_bytes(wire_writer& w, const std::optional<std::string>& s) {
  if (!s) {
    w.u32(0xFFFFFFFFu);
    return;
  }
  w.u32(static_cast<std::uint32_t>(s->size()));
  w.raw(*s);
}

// Reads the messages of one set into `out`. `nested`: inside a compressed wrapper, where a
// second level of compression is not allowed (as in Kafka).
std::error_code read_set(byte_view in, std::size_t max_decompressed, bool nested,
                         const std::string& topic, std::int32_t partition, message_batch& out) {
  wire_reader r{in};
  while (!r.at_end()) {
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
    byte_view body;
    if (!r.u64(offset) || !r.u32(size)) return errc::truncated;
    if (!r.raw(size, body)) return errc::truncated;
    wire_reader m{body};
    std::uint32_t crc = 0;
    std::uint8_t magic = 0, attributes = 0;
    if (!m.u32(crc) || !m.u8(magic) || !m.u8(attributes)) return errc::malformed_payload;
    if (magic > 1) return errc::unsupported_version;
    if (protocol::crc32(body.subspan(4)) != crc) return errc::crc_mismatch;
    std::uint64_t timestamp = 0;
    if (magic == 1 && !m.u64(timestamp)) return errc::malformed_payload;
    std::optional<std::string> key, value;
    if (!read_bytes(m, key) || !read_bytes(m, value) || !m.at_end()) return errc::malformed_payload;
    const auto codec = static_cast<compression_type>(attributes & compression_mask);
    if (codec != compression_type::none) {
      if (nested || codec == compression_type::zstd || !value) return errc::malformed_payload;
      buffer plain;
      if (auto ec = decompress(codec, as_bytes(*value), plain, max_decompressed)) return ec;
      const auto first = out.messages.size();
      if (auto ec = read_set(plain, max_decompressed, true, topic, partition, out)) return ec;
      // A wrapper stamped with the broker's time (log append time) stamps its inner messages.
      if (magic == 1 && (attributes & log_append_time))
        for (auto i = first; i < out.messages.size(); ++i) out.messages[i].timestamp_ms = 0;
      continue;
    }
    message msg;
    if (out.messages.empty()) msg.topic = topic;
    msg.partition = partition;
    msg.key = std::move(key);
    msg.value = std::move(value);
    const auto ts = static_cast<std::int64_t>(timestamp);
    // Only a producer's own timestamp is kept; the rest (magic 0, log append time, -1)
    // are stamped by the broker on append.
    if (magic == 1 && !(attributes & log_append_time) && ts > 0) msg.timestamp_ms = ts;
    out.messages.push_back(std::move(msg));
  }
  return {};
}

}  // namespace

expected<std::size_t> decode_message_set_into(byte_view in, const std::string& topic,
                                              std::int32_t partition, message_batch& out,
                                              std::size_t max_decompressed) {
  const auto before = out.messages.size();
  if (auto ec = read_set(in, max_decompressed, false, topic, partition, out)) {
    out.messages.resize(before);
    return ec;
  }
  return out.messages.size() - before;
}

void encode_message_set(const message_batch& messages, std::int64_t base_offset, std::int8_t magic,
                        buffer& out) {
  wire_writer w{out};
  std::int64_t offset = base_offset;
  for (const auto& m : messages.messages) {
    w.u64(static_cast<std::uint64_t>(offset++));
    const auto size_at = out.size();
    w.u32(0);  // messageSize, filled in below
    const auto crc_at = out.size();
    w.u32(0);  // crc, filled in below
    w.u8(static_cast<std::uint8_t>(magic));
    w.u8(0);  // uncompressed, create time
    if (magic >= 1) w.u64(static_cast<std::uint64_t>(m.timestamp_ms));
    write_bytes(w, m.key);
    write_bytes(w, m.value);
    store_be32(out.data() + size_at, static_cast<std::uint32_t>(out.size() - crc_at));
    store_be32(out.data() + crc_at,
               protocol::crc32(byte_view{out}.subspan(crc_at + 4)));
  }
}

}  // namespace portask::protocol::kafka
