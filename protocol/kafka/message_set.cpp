#include "protocol/kafka/message_set.hpp"

#include "protocol/compression/compressors.hpp"
#include "protocol/crc32.hpp"
#include "protocol/error.hpp"
#include "protocol/kafka/batch_compression.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/kafka/kafka_wire.hpp"
#include "protocol/kafka/record_batch.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

constexpr std::uint8_t compression_mask = 0x07;
constexpr std::uint8_t log_append_time = 0x08;
constexpr std::int32_t least_message_size = 14;  // a magic-0 message's overhead after its size

// Key and value are Kafka's classic nullable bytes (i32 length, -1 for null).
constexpr bool classic = false;

void write_bytes(writer& w, const std::optional<std::string>& s) {
  if (s)
    w.bytes(*s, classic);
  else
    w.null_bytes(classic);
}

// Whether a message's bytes (after its offset and size; at least a magic-0 message's
// overhead) pass their checksum: a RecordBatch's (magic 2) CRC-32C over what follows its
// CRC, which also needs the whole of its header, or a message's CRC-32 over what follows
// its own.
bool intact(std::int8_t magic, byte_view body) {
  constexpr std::size_t v2_crc_at = 5, v2_covered_at = 9;  // leader epoch 4, magic 1; crc 4
  if (magic == 2)
    return body.size() >= record_batch_overhead - 12 &&  // its header after offset and length
           crc32c(body.subspan(v2_covered_at)) == load_be32(body.data() + v2_crc_at);
  return protocol::crc32(body.subspan(4)) == load_be32(body.data());
}

// Reads the messages of one set into `out`. `wrapper`: the magic of the compressed wrapper
// the set is inside, if it is, where a second level of compression is not allowed and every
// message has the wrapper's magic (as in Kafka).
std::error_code read_set(byte_view in, decompression_budget& budget, std::optional<std::int8_t> wrapper,
                         const std::string& topic, std::int32_t partition,
                         std::int64_t append_time_ms, message_batch& out) {
  wire_reader r{in};
  // A RecordBatch among the messages: the set is refused for mixing formats once every
  // message after it has passed its checksum too, as Kafka checks every one's
  // (UnifiedLog.analyzeAndValidateRecords) before it refuses the mix (LogValidator).
  bool other_format = false;
  while (!r.at_end()) {
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
    byte_view body;
    if (!r.u64(offset) || !r.u32(size)) return errc::truncated;
    // Shorter than any message: damaged, as Kafka's reading of a set finds it
    // (CorruptRecordException, "Record size N is less than the minimum record overhead").
    if (static_cast<std::int32_t>(size) < least_message_size) return errc::truncated;
    if (!r.raw(size, body)) return errc::truncated;
    reader m{body};
    std::int32_t crc = 0;
    std::int8_t magic = 0, attributes_byte = 0;
    if (!m.i32(crc) || !m.i8(magic) || !m.i8(attributes_byte)) return errc::truncated;  // damaged
    const auto attributes = static_cast<std::uint8_t>(attributes_byte);
    if (wrapper) {
      // Kafka's LogValidator refuses an inner message whose magic is not its wrapper's
      // (INVALID_RECORD), before it checks the message's CRC.
      if (magic != *wrapper) return errc::malformed_payload;
    } else if (magic < 0 || magic > 2) {
      return errc::truncated;  // damaged: Kafka's "Invalid magic found in record"
    }
    if (magic == 2 || other_format) {
      if (!intact(magic, body)) return errc::crc_mismatch;
      other_format = true;
      continue;
    }
    if (protocol::crc32(body.subspan(4)) != static_cast<std::uint32_t>(crc)) return errc::crc_mismatch;
    std::int64_t timestamp = 0;
    if (magic == 1 && !m.i64(timestamp)) return errc::malformed_payload;
    std::optional<std::string> key, value;
    if (!m.nullable_bytes(key, classic) || !m.nullable_bytes(value, classic) || !m.at_end())
      return errc::malformed_payload;
    const auto codec = static_cast<compression_type>(attributes & compression_mask);
    if (codec != compression_type::none) {
      if (wrapper || codec == compression_type::zstd || !value) return errc::malformed_payload;
      // Clients of magic 0 wrote lz4's header checksum over the wrong bytes (KAFKA-3160),
      // which Kafka does not check at magic 0; liblz4 does, so it is set right first.
      if (magic == 0 && codec == compression_type::lz4)
        lz4_fix_header_checksum({reinterpret_cast<std::uint8_t*>(value->data()), value->size()});
      buffer plain;
      if (auto ec = decompress(codec, as_bytes(*value), plain, budget)) return ec;
      const auto first = out.messages.size();
      if (auto ec = read_set(plain, budget, magic, topic, partition, append_time_ms, out)) return ec;
      // A wrapper marked with log append time gives its inner messages its own timestamp, as
      // Kafka reads them (LegacyRecord.timestamp) and appends them to a CreateTime topic.
      if (magic == 1 && (attributes & log_append_time))
        for (auto i = first; i < out.messages.size(); ++i)
          out.messages[i].timestamp_ms = timestamp;
      continue;
    }
    if (!charge(budget, sizeof(message))) return errc::decompressed_too_large;
    message msg;
    if (out.messages.empty()) msg.topic = topic;
    msg.partition = partition;
    msg.key = std::move(key);
    msg.value = std::move(value);
    // The producer's own timestamp (magic 1) is kept whatever it is, also under a log append
    // time mark, which a CreateTime topic does not act on (Kafka appends it so). Magic 0 has
    // none: the broker's append time stands for it (Kafka stores -1), so the batch's max
    // timestamp is a real one and ListOffsets by time finds these messages.
    msg.timestamp_ms = magic == 1 ? timestamp : append_time_ms;
    out.messages.push_back(std::move(msg));
  }
  if (other_format) return errc::unsupported_version;
  return {};
}

}  // namespace

expected<std::size_t> decode_message_set_into(byte_view in, const std::string& topic,
                                              std::int32_t partition, std::int64_t append_time_ms,
                                              message_batch& out, std::size_t max_decompressed) {
  decompression_budget budget{max_decompressed, SIZE_MAX};
  return decode_message_set_into(in, topic, partition, append_time_ms, out, budget);
}

expected<std::size_t> decode_message_set_into(byte_view in, const std::string& topic,
                                              std::int32_t partition, std::int64_t append_time_ms,
                                              message_batch& out, decompression_budget& budget) {
  const auto before = out.messages.size();
  if (auto ec = read_set(in, budget, std::nullopt, topic, partition, append_time_ms, out)) {
    out.messages.resize(before);
    return ec;
  }
  return out.messages.size() - before;
}

bool compressed_beside_others(byte_view in) noexcept {
  constexpr std::size_t attributes_at = 17;  // offset 8, size 4, crc 4, magic 1
  std::size_t messages = 0;
  bool compressed = false;
  for (std::size_t at = 0; at < in.size() && in.size() - at > attributes_at;
       at += 12 + std::size_t{load_be32(in.data() + at + 8)}) {
    ++messages;
    compressed = compressed || (in[at + attributes_at] & compression_mask) != 0;
  }
  return compressed && messages > 1;
}

std::optional<magic_mix> mixed_magics(byte_view in) noexcept {
  constexpr std::size_t magic_at = 16;  // offset 8, size 4, crc 4
  std::optional<std::int8_t> first;
  for (std::size_t at = 0; at < in.size() && in.size() - at > magic_at;) {
    const auto length = load_be32(in.data() + at + 8);
    const std::size_t size = 12 + std::size_t{length};
    const auto magic = static_cast<std::int8_t>(in[at + magic_at]);
    // Damaged (a length shorter than any message, a magic no format has: Kafka's reading
    // throws there) or not whole (its reading stops): no batch there.
    if (static_cast<std::int32_t>(length) < least_message_size || magic < 0 || magic > 2 ||
        size > in.size() - at)
      break;
    if (!first)
      first = magic;
    else if (magic != *first)
      return magic_mix{*first, magic};
    at += size;
  }
  return std::nullopt;
}

void encode_message_set(const message_batch& messages, std::int64_t base_offset, std::int8_t magic,
                        buffer& out) {
  writer w{out};
  std::int64_t offset = base_offset;
  for (const auto& m : messages.messages) {
    w.i64(offset++);
    const auto size_at = out.size();
    w.i32(0);  // messageSize, filled in below
    const auto crc_at = out.size();
    w.i32(0);  // crc, filled in below
    w.i8(magic);
    w.i8(0);  // uncompressed, create time
    if (magic >= 1) w.i64(m.timestamp_ms);
    write_bytes(w, m.key);
    write_bytes(w, m.value);
    store_be32(out.data() + size_at, static_cast<std::uint32_t>(out.size() - crc_at));
    store_be32(out.data() + crc_at,
               protocol::crc32(byte_view{out}.subspan(crc_at + 4)));
  }
}

}  // namespace portask::protocol::kafka
