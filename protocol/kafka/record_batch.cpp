#include "protocol/kafka/record_batch.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "protocol/kafka/batch_compression.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

constexpr std::uint8_t magic_v2 = 2;
constexpr std::size_t magic_offset = 16;       // offset 8 + length 4 + epoch (magic 0/1: CRC) 4
constexpr std::size_t crc_offset = 17;         // baseOffset 8 + length 4 + epoch 4 + magic 1
constexpr std::size_t attributes_offset = 21;  // crc covers from here to the end
constexpr std::size_t length_field_end = 12;   // batchLength counts from here
constexpr std::int32_t least_frame_length = 14;  // a magic-0 message's overhead, Kafka's least

bool fits_i32(std::int64_t v) {
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

// Kafka's nullable bytes in a record: zig-zag varint length, -1 for null.
bool read_nullable(wire_reader& r, std::optional<std::string>& out) {
  std::int64_t len = 0;
  if (!r.varint(len) || len < -1 || !fits_i32(len)) return false;
  if (len == -1) {
    out.reset();
    return true;
  }
  byte_view v;
  if (!r.raw(static_cast<std::size_t>(len), v)) return false;
  out.emplace(as_chars(v));
  return true;
}

void write_nullable(wire_writer& w, const std::optional<std::string>& s) {
  if (!s) {
    w.varint(-1);
    return;
  }
  w.varint(static_cast<std::int64_t>(s->size()));
  w.raw(*s);
}

// A record's position in its batch.
struct record_position {
  std::int8_t attributes = 0;
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
};

// Parses one record into `out` (a Kafka record or a Portask message: both have key, value
// and headers of key and nullable value).
template <class Out>
bool read_record(wire_reader& r, record_position& pos, Out& out, decompression_budget& budget,
                 bool& over_budget) {
  std::int64_t len = 0;
  if (!r.varint(len) || len < 0 || static_cast<std::uint64_t>(len) > r.remaining()) return false;
  byte_view body;
  r.raw(static_cast<std::size_t>(len), body);
  wire_reader b{body};
  std::uint8_t attrs = 0;
  std::int64_t offset_delta = 0, header_count = 0;
  if (!b.u8(attrs) || !b.varint(pos.timestamp_delta) || !b.varint(offset_delta) ||
      !fits_i32(offset_delta) || !read_nullable(b, out.key) || !read_nullable(b, out.value) ||
      !b.varint(header_count) || header_count < 0 ||
      static_cast<std::uint64_t>(header_count) > b.remaining())
    return false;
  pos.attributes = static_cast<std::int8_t>(attrs);
  pos.offset_delta = static_cast<std::int32_t>(offset_delta);
  using header_type = typename decltype(out.headers)::value_type;
  if (!charge(budget, static_cast<std::uint64_t>(header_count) * sizeof(header_type))) {
    over_budget = true;
    return false;
  }
  out.headers.resize(static_cast<std::size_t>(header_count));
  for (auto& h : out.headers) {
    std::optional<std::string> key;
    if (!read_nullable(b, key) || !key || !read_nullable(b, h.value)) return false;
    h.key = std::move(*key);
  }
  return b.ok() && b.at_end();
}

void write_record(buffer& out, buffer& scratch, const record& rec) {
  scratch.clear();
  wire_writer b{scratch};
  b.u8(static_cast<std::uint8_t>(rec.attributes));
  b.varint(rec.timestamp_delta);
  b.varint(rec.offset_delta);
  write_nullable(b, rec.key);
  write_nullable(b, rec.value);
  b.varint(static_cast<std::int64_t>(rec.headers.size()));
  for (const auto& h : rec.headers) {
    b.varint(static_cast<std::int64_t>(h.key.size()));
    b.raw(h.key);
    write_nullable(b, h.value);
  }
  wire_writer w{out};
  w.varint(static_cast<std::int64_t>(scratch.size()));
  w.raw(scratch.data(), scratch.size());
}

}  // namespace

std::error_code read_batch_header(byte_view in, decompression_budget& budget, record_batch& b,
                                  byte_view& whole, buffer& plain, byte_view& records_bytes,
                                  std::uint32_t& count) {
  // Kafka's framing first, which every format shares (ByteBufferLogInputStream.nextBatchSize):
  // a length under a magic-0 message's overhead or a magic no format has is a corrupt
  // record (CorruptRecordException: CORRUPT_MESSAGE), as far as `in` reaches. Then the magic:
  // a magic-0/1 message, which can be shorter than a v2 batch's header, is one Kafka does not
  // allow here (Produce v3+: INVALID_RECORD, which producers do not retry), not a damaged
  // batch.
  if (in.size() >= length_field_end &&
      static_cast<std::int32_t>(load_be32(in.data() + 8)) < least_frame_length)
    return errc::truncated;
  if (in.size() > magic_offset) {
    const auto found = static_cast<std::int8_t>(in[magic_offset]);
    if (found < 0 || found > magic_v2) return errc::truncated;
    if (found != magic_v2) return errc::unsupported_version;
  }
  if (in.size() < record_batch_overhead) return errc::truncated;
  wire_reader r{in};
  std::uint64_t base = 0;
  std::uint32_t length = 0, epoch = 0, crc = 0, last_delta = 0, base_seq = 0;
  std::uint8_t magic = 0;
  std::uint16_t attrs = 0, producer_epoch = 0;
  std::uint64_t base_ts = 0, max_ts = 0, producer_id = 0;
  r.u64(base) && r.u32(length) && r.u32(epoch) && r.u8(magic);
  if (magic != magic_v2) return errc::unsupported_version;
  // Too short to hold its own header: damaged bytes (checked before the CRC can be), as
  // Kafka's CORRUPT_MESSAGE, not a well-formed batch Kafka does not allow.
  if (length < record_batch_overhead - length_field_end) return errc::truncated;
  if (length > in.size() - length_field_end) return errc::truncated;
  whole = in.first(length_field_end + length);
  r = wire_reader{whole.subspan(crc_offset)};
  r.u32(crc);
  if (crc32c(whole.subspan(attributes_offset)) != crc) return errc::crc_mismatch;
  r.u16(attrs) && r.u32(last_delta) && r.u64(base_ts) && r.u64(max_ts) && r.u64(producer_id) &&
      r.u16(producer_epoch) && r.u32(base_seq) && r.u32(count);
  if (!r.ok()) return errc::malformed_payload;
  b.base_offset = static_cast<std::int64_t>(base);
  b.partition_leader_epoch = static_cast<std::int32_t>(epoch);
  b.attributes = static_cast<std::int16_t>(attrs);
  b.last_offset_delta = static_cast<std::int32_t>(last_delta);
  b.base_timestamp = static_cast<std::int64_t>(base_ts);
  b.max_timestamp = static_cast<std::int64_t>(max_ts);
  b.producer_id = static_cast<std::int64_t>(producer_id);
  b.producer_epoch = static_cast<std::int16_t>(producer_epoch);
  b.base_sequence = static_cast<std::int32_t>(base_seq);
  // Kafka's rules for a client's batch (LogValidator.validateBatch), checked before anything
  // is inflated: at least one record, as many as its offset range holds, and a sequence
  // wherever there is a producer. The idempotence window counts a batch by its offset range
  // and a store rebuilding it by its record count: they must agree.
  const auto declared = static_cast<std::int32_t>(count);
  if (declared <= 0 || std::int64_t{b.last_offset_delta} + 1 != declared)
    return errc::invalid_record;
  if (b.producer_id >= 0 && b.base_sequence < 0) return errc::invalid_record;
  const auto comp = b.compression();
  if (static_cast<std::uint8_t>(comp) > 4) return errc::unknown_compression;
  r.raw(r.remaining(), records_bytes);
  if (comp != compression_type::none) {
    if (auto ec = decompress(comp, records_bytes, plain, budget)) return ec;
    records_bytes = plain;
  }
  // Each record takes at least 7 bytes: a hostile count is refused before any allocation.
  if (count > records_bytes.size() / 7 + 1) return errc::malformed_payload;
  return {};
}

namespace {

// A record's message fields that come from its batch: offset and absolute timestamp.
void place(const record_batch& batch, const record_position& pos, message& m) {
  m.offset = wrapping_add(batch.base_offset, pos.offset_delta);
  m.timestamp_ms = (batch.attributes & batch_attributes::log_append_time)
                       ? batch.max_timestamp
                       : wrapping_add(batch.base_timestamp, pos.timestamp_delta);
}

// The shared decode: header, CRC and decompression, then `prepare(batch, count)` and each
// record parsed into `slot(batch, i)` and finished by `done(batch, i, position)`.
template <class Prepare, class Slot, class Done>
expected<record_batch> decode_batch(byte_view in, std::size_t& consumed, decompression_budget& budget,
                                    Prepare prepare, Slot slot, Done done) {
  consumed = 0;
  record_batch b;
  byte_view whole, records_bytes;
  buffer plain;
  std::uint32_t count = 0;
  if (auto ec = read_batch_header(in, budget, b, whole, plain, records_bytes, count))
    return ec;
  using slot_type = std::remove_reference_t<decltype(slot(b, 0))>;
  if (!charge(budget, std::uint64_t{count} * sizeof(slot_type))) return errc::decompressed_too_large;
  prepare(b, count);
  wire_reader rr{records_bytes};
  bool over_budget = false;
  for (std::uint32_t i = 0; i < count; ++i) {
    record_position pos;
    if (!read_record(rr, pos, slot(b, i), budget, over_budget))
      return over_budget ? errc::decompressed_too_large : errc::malformed_payload;
    done(b, i, pos);
  }
  if (!rr.at_end()) return errc::malformed_payload;
  consumed = whole.size();
  return b;
}

}  // namespace

expected<record_batch> decode_record_batch(byte_view in, std::size_t& consumed,
                                           std::size_t max_decompressed) {
  decompression_budget budget{max_decompressed, SIZE_MAX};
  return decode_batch(
      in, consumed, budget,
      [](record_batch& b, std::uint32_t count) { b.records.resize(count); },
      [](record_batch& b, std::uint32_t i) -> record& { return b.records[i]; },
      [](record_batch& b, std::uint32_t i, const record_position& pos) {
        auto& rec = b.records[i];
        rec.attributes = pos.attributes;
        rec.timestamp_delta = pos.timestamp_delta;
        rec.offset_delta = pos.offset_delta;
      });
}

expected<record_batch> decode_record_batch_into(byte_view in, std::size_t& consumed,
                                                const std::string& topic, std::int32_t partition,
                                                message_batch& out, std::size_t max_decompressed) {
  decompression_budget budget{max_decompressed, SIZE_MAX};
  return decode_record_batch_into(in, consumed, topic, partition, out, budget);
}

expected<record_batch> decode_record_batch_into(byte_view in, std::size_t& consumed,
                                                const std::string& topic, std::int32_t partition,
                                                message_batch& out, decompression_budget& budget) {
  const std::size_t first = out.messages.size();
  auto b = decode_batch(
      in, consumed, budget,
      [&](record_batch&, std::uint32_t count) { out.messages.resize(first + count); },
      [&](record_batch&, std::uint32_t i) -> message& { return out.messages[first + i]; },
      [&](record_batch& batch, std::uint32_t i, const record_position& pos) {
        auto& m = out.messages[first + i];
        place(batch, pos, m);
        m.partition = partition;
      });
  if (!b)
    out.messages.resize(first);
  else if (first == 0 && !out.messages.empty())
    out.messages.front().topic = topic;  // the others inherit it (see message_batch)
  return b;
}

namespace {

// Every batch of a records field, each decoded by `one(in, consumed)`.
template <class DecodeOne>
expected<std::vector<record_batch>> decode_each(byte_view in, DecodeOne one) {
  std::vector<record_batch> out;
  while (!in.empty()) {
    std::size_t used = 0;
    auto b = one(in, used);
    if (!b) return b.error();
    out.push_back(std::move(*b));
    in = in.subspan(used);
  }
  return out;
}

}  // namespace

expected<std::vector<record_batch>> decode_record_batches(byte_view in, std::size_t max) {
  return decode_each(in, [&](byte_view b, std::size_t& used) {
    return decode_record_batch(b, used, max);
  });
}

expected<std::vector<record_batch>> decode_record_batches_into(byte_view in,
                                                               const std::string& topic,
                                                               std::int32_t partition,
                                                               message_batch& out,
                                                               std::size_t max) {
  decompression_budget budget{max, SIZE_MAX};  // each batch may use `max`
  return decode_record_batches_into(in, topic, partition, out, budget);
}

expected<std::vector<record_batch>> decode_record_batches_into(byte_view in,
                                                               const std::string& topic,
                                                               std::int32_t partition,
                                                               message_batch& out,
                                                               decompression_budget& budget) {
  return decode_each(in, [&](byte_view b, std::size_t& used) {
    return decode_record_batch_into(b, used, topic, partition, out, budget);
  });
}

std::size_t mark_create_time(std::span<std::uint8_t> batches) {
  // Kafka's framing of a batch or message of any magic (ByteBufferLogInputStream): the length
  // at 8, the magic at 16, the length at least a magic-0 message's overhead.
  constexpr std::size_t up_to_magic = 17, least_length = 14;
  std::size_t whole = 0;
  for (std::size_t at = 0; batches.size() - at >= up_to_magic; ++whole) {
    auto* b = batches.data() + at;
    const auto length = load_be32(b + 8);
    if (length < least_length || length > batches.size() - at - length_field_end || b[16] > magic_v2)
      break;
    const auto size = length_field_end + length;
    at += size;
    if (b[16] != magic_v2 || size < record_batch_overhead) continue;
    const auto attributes = load_be16(b + attributes_offset);
    if (attributes & batch_attributes::log_append_time) {
      const byte_view covered{b + attributes_offset, size - attributes_offset};
      if (crc32c(covered) == load_be32(b + crc_offset)) {
        store_be16(b + attributes_offset,
                   static_cast<std::uint16_t>(attributes & ~batch_attributes::log_append_time));
        store_be32(b + crc_offset, crc32c(covered));
      }
    }
  }
  return whole;
}

bool append_rebased(const shared_bytes& batches, std::int64_t base_offset,
                    std::int32_t leader_epoch, gather_bytes& out) {
  constexpr std::size_t last_offset_delta_at = 23;  // attributes 21 + 2
  constexpr std::size_t header = 61;                // a v2 batch's fixed part
  constexpr std::size_t rewritten = 16;             // baseOffset, batchLength, leader epoch
  // Checked whole first: nothing is appended unless every batch is.
  std::size_t pos = 0;
  while (pos < batches.size()) {
    const auto left = batches.size() - pos;
    if (left < header) return false;
    const auto* b = batches.data() + pos;
    const auto length = static_cast<std::int32_t>(load_be32(b + 8));
    if (length < static_cast<std::int32_t>(header - length_field_end) ||
        static_cast<std::size_t>(length) > left - length_field_end || b[16] != magic_v2)
      return false;
    pos += length_field_end + static_cast<std::size_t>(length);
  }
  if (pos == 0) return false;
  for (pos = 0; pos < batches.size();) {
    const auto* b = batches.data() + pos;
    const auto size = length_field_end + load_be32(b + 8);
    std::uint8_t head[rewritten];
    std::memcpy(head, b, rewritten);
    store_be64(head, static_cast<std::uint64_t>(base_offset));
    store_be32(head + length_field_end, static_cast<std::uint32_t>(leader_epoch));
    out.append(byte_view{head});
    out.append_shared(batches.slice(pos + rewritten, size - rewritten));
    base_offset += std::int64_t{static_cast<std::int32_t>(load_be32(b + last_offset_delta_at))} + 1;
    pos += size;
  }
  return true;
}

std::error_code encode_record_batch(const record_batch& batch, buffer& out) {
  buffer records, scratch;
  for (const auto& rec : batch.records) write_record(records, scratch, rec);
  const std::size_t start = out.size();
  wire_writer w{out};
  w.u64(static_cast<std::uint64_t>(batch.base_offset));
  w.u32(0);  // length, filled below
  w.u32(static_cast<std::uint32_t>(batch.partition_leader_epoch));
  w.u8(magic_v2);
  w.u32(0);  // crc, filled below
  w.u16(static_cast<std::uint16_t>(batch.attributes));
  const std::int32_t last_delta =
      batch.records.empty() ? batch.last_offset_delta : batch.records.back().offset_delta;
  w.u32(static_cast<std::uint32_t>(last_delta));
  w.u64(static_cast<std::uint64_t>(batch.base_timestamp));
  w.u64(static_cast<std::uint64_t>(batch.max_timestamp));
  w.u64(static_cast<std::uint64_t>(batch.producer_id));
  w.u16(static_cast<std::uint16_t>(batch.producer_epoch));
  w.u32(static_cast<std::uint32_t>(batch.base_sequence));
  w.u32(static_cast<std::uint32_t>(batch.records.size()));
  if (auto ec = compress(batch.compression(), records, out)) {
    out.resize(start);
    return ec;
  }
  store_be32(out.data() + start + 8, static_cast<std::uint32_t>(out.size() - start - length_field_end));
  const byte_view covered{out.data() + start + attributes_offset, out.size() - start - attributes_offset};
  store_be32(out.data() + start + crc_offset, crc32c(covered));
  return {};
}

message_batch to_messages(const record_batch& batch, const std::string& topic,
                          std::int32_t partition) {
  message_batch out;
  out.messages.resize(batch.records.size());
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    const auto& rec = batch.records[i];
    auto& m = out.messages[i];
    if (i == 0) m.topic = topic;  // the others inherit it (see message_batch)
    m.partition = partition;
    place(batch, {rec.attributes, rec.timestamp_delta, rec.offset_delta}, m);
    m.key = rec.key;
    m.value = rec.value;
    m.headers.reserve(rec.headers.size());
    for (const auto& h : rec.headers) m.headers.push_back({h.key, h.value});
  }
  return out;
}

record_batch from_messages(const message_batch& messages, std::int64_t base_offset) {
  record_batch b;
  b.base_offset = base_offset;
  if (messages.messages.empty()) return b;
  b.base_timestamp = messages.messages.front().timestamp_ms;
  b.max_timestamp = b.base_timestamp;
  b.records.reserve(messages.messages.size());
  std::int32_t delta = 0;
  for (const auto& m : messages.messages) {
    record r;
    r.offset_delta = delta++;
    r.timestamp_delta = wrapping_sub(m.timestamp_ms, b.base_timestamp);
    b.max_timestamp = std::max(b.max_timestamp, m.timestamp_ms);
    r.key = m.key;
    r.value = m.value;
    for (const auto& h : m.headers) r.headers.push_back({h.key, h.value});
    b.records.push_back(std::move(r));
  }
  b.last_offset_delta = delta - 1;
  return b;
}

}  // namespace portask::protocol::kafka
