#include "protocol/kafka/binary_transcode.hpp"

#include <limits>

#include "protocol/codecs/binary_message.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

namespace attr = binary_message::attr;
// The binary batch header's largest size: format, count, empty topic, partition 0, base
// offset, base timestamp.
constexpr std::size_t max_binary_header = 1 + 10 + 1 + 1 + 10 + 10;

bool fits_i32(std::int64_t v) {
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

// A Kafka record's nullable bytes (zig-zag varint length, -1 for null); `null_allowed`
// false for header keys.
bool read_nullable(wire_reader& r, byte_view& bytes, bool& present, bool null_allowed = true) {
  std::int64_t len = 0;
  if (!r.varint(len) || len < -1 || !fits_i32(len)) return false;
  present = len >= 0;
  if (!present) return null_allowed;
  return r.raw(static_cast<std::size_t>(len), bytes);
}

struct batch_records {
  record_batch header;
  byte_view records;
  std::uint32_t count = 0;
};

// One record of `b` (checked exactly as the decoding path checks it) appended to `w` as a
// binary message whose timestamp is relative to `base_ts`; `ts` is set to its absolute
// timestamp, `offset_delta` to its offset in the batch, and `keyless` when it has no key;
// its headers are added to `headers`.
bool transcode_record(wire_reader& r, const record_batch& b, bool first, std::int64_t& base_ts,
                      std::int64_t& ts, std::int64_t& offset_delta, bool& keyless,
                      std::uint64_t& headers, wire_writer& w) {
  std::int64_t len = 0;
  if (!r.varint(len) || len < 0 || static_cast<std::uint64_t>(len) > r.remaining()) return false;
  byte_view body;
  r.raw(static_cast<std::size_t>(len), body);
  wire_reader in{body};
  std::uint8_t attrs = 0;
  std::int64_t ts_delta = 0, header_count = 0;
  byte_view key, value;
  bool has_key = false, has_value = false;
  if (!in.u8(attrs) || !in.varint(ts_delta) || !in.varint(offset_delta) ||
      !fits_i32(offset_delta) || !read_nullable(in, key, has_key) ||
      !read_nullable(in, value, has_value) || !in.varint(header_count) || header_count < 0 ||
      static_cast<std::uint64_t>(header_count) > in.remaining())
    return false;
  ts = (b.attributes & batch_attributes::log_append_time) ? b.max_timestamp
                                                          : wrapping_add(b.base_timestamp, ts_delta);
  if (first) base_ts = ts;
  if (!has_key) keyless = true;
  w.u8(static_cast<std::uint8_t>((has_key ? attr::key : 0) | (has_value ? attr::value : 0)));
  w.uvarint(0);  // id
  w.varint(0);   // offset: the partition's, base offset + index
  w.varint(wrapping_sub(ts, base_ts));
  w.u8(0);  // priority
  if (has_key) w.bytes(as_chars(key));
  if (has_value) w.bytes(as_chars(value));
  headers += static_cast<std::uint64_t>(header_count);
  w.uvarint(static_cast<std::uint64_t>(header_count));
  for (std::int64_t h = 0; h < header_count; ++h) {
    byte_view hkey, hvalue;
    bool key_there = false, value_there = false;
    if (!read_nullable(in, hkey, key_there, false) || !read_nullable(in, hvalue, value_there))
      return false;
    w.bytes(as_chars(hkey));
    if (value_there) {
      w.uvarint(hvalue.size() + 1);
      w.raw(hvalue.data(), hvalue.size());
    } else {
      w.uvarint(0);
    }
  }
  return in.ok() && in.at_end();
}

}  // namespace

std::optional<binary_transcoded> transcode_to_binary(byte_view batches, std::size_t room,
                                                     buffer& out) {
  // The batches' headers first (CRC-32C checked): the payload's header needs the count.
  std::vector<batch_records> parts;
  std::uint64_t total = 0;
  decompression_budget unused{0, 0};  // nothing is inflated: compressed batches are declined
  buffer no_plain;
  for (byte_view rest = batches; !rest.empty();) {
    batch_records p;
    byte_view whole;
    if (rest.size() < record_batch_overhead) return std::nullopt;
    // The attributes (offset 21, low 3 bits: compression) before anything is inflated.
    if ((load_be16(rest.data() + 21) & batch_attributes::compression_mask) != 0) return std::nullopt;
    if (read_batch_header(rest, unused, p.header, whole, no_plain, p.records, p.count))
      return std::nullopt;
    total += p.count;
    rest = rest.subspan(whole.size());
    parts.push_back(std::move(p));
  }
  if (total == 0) return std::nullopt;

  const auto start = out.size();
  out.resize(start + room + max_binary_header);
  const auto messages_at = out.size();
  out.reserve(messages_at + batches.size() + total * 4);
  wire_writer w{out};
  binary_transcoded t;
  t.stored_as_sent = true;
  std::int64_t base_ts = 0, max_ts = 0;
  std::uint64_t headers = 0;
  bool first = true, keyless = false;
  for (const auto& p : parts) {
    wire_reader r{p.records};
    for (std::uint32_t i = 0; i < p.count; ++i) {
      std::int64_t ts = 0, offset_delta = 0;
      if (!transcode_record(r, p.header, first, base_ts, ts, offset_delta, keyless, headers, w)) {
        out.resize(start);
        return std::nullopt;
      }
      // Negative when every record's is (none has a timestamp), as binary_codec::scan says.
      max_ts = first ? ts : std::max(max_ts, ts);
      first = false;
      if (offset_delta != static_cast<std::int64_t>(i)) t.stored_as_sent = false;
    }
    if (!r.at_end()) {
      out.resize(start);
      return std::nullopt;
    }
    // The records fill exactly the batch's offset range (an empty batch has none): a
    // reader of the producer's bytes places each batch after the previous one's range.
    if (p.count == 0 || static_cast<std::int64_t>(p.header.last_offset_delta) + 1 != p.count)
      t.stored_as_sent = false;
  }
  // The payload's header, right before the messages; what is before it is room.
  buffer header;
  wire_writer h{header};
  h.u8(binary_codec::format_version);
  h.uvarint(total);
  h.bytes({});
  h.varint(0);
  h.varint(no_offset);
  h.varint(base_ts);
  t.payload_at = messages_at - header.size();
  std::copy(header.begin(), header.end(), out.begin() + static_cast<std::ptrdiff_t>(t.payload_at));
  t.scan.count = static_cast<std::uint32_t>(total);
  t.scan.messages_at = header.size();
  t.scan.base_timestamp_ms = base_ts;
  t.scan.max_timestamp_ms = max_ts;
  t.scan.timestamps_unset = false;  // a Kafka record's 0 is a timestamp: stored as it is
  t.scan.keyless = keyless;
  t.scan.headers = headers;
  t.scan.rebasable = true;
  t.batches.reserve(parts.size());
  for (auto& p : parts) t.batches.push_back(std::move(p.header));
  return t;
}

namespace {

// A Kafka record's nullable bytes (write_record's write_nullable).
void kafka_nullable(wire_writer& w, byte_view bytes, bool present) {
  if (!present) {
    w.varint(-1);
    return;
  }
  w.varint(static_cast<std::int64_t>(bytes.size()));
  w.raw(bytes.data(), bytes.size());
}

}  // namespace

std::optional<std::size_t> transcode_from_binary(byte_view payload, std::int64_t base_offset,
                                                 const record_batch& header, buffer& out) {
  wire_reader r{payload};
  std::uint8_t version = 0;
  std::uint64_t count = 0;
  std::int64_t partition = 0, payload_base_offset = 0, base_ts = 0;
  if (!r.u8(version) || version != binary_codec::format_version || !r.uvarint(count) ||
      !r.skip_bytes() || !r.varint(partition) || !r.varint(payload_base_offset) ||
      !r.varint(base_ts) || !fits_i32(partition))
    return std::nullopt;
  if (count == 0 || count > r.remaining() / binary_message::min_size) return std::nullopt;

  const auto start = out.size();
  auto fail = [&]() -> std::optional<std::size_t> {
    out.resize(start);
    return std::nullopt;
  };
  out.resize(start + record_batch_overhead);
  out.reserve(out.size() + payload.size() + count * 4);
  buffer scratch;  // one record's body: its length goes before it
  std::int64_t first_ts = 0, max_ts = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    binary_message::head m;
    binary_message::body body;
    if (!binary_message::read_head(r, m) || !binary_message::read_body(r, m.attrs, body))
      return fail();
    const std::int64_t ts = wrapping_add(base_ts, m.timestamp_delta);
    if (i == 0) first_ts = max_ts = ts;
    max_ts = std::max(max_ts, ts);
    scratch.clear();
    wire_writer b{scratch};
    b.u8(0);  // record attributes
    b.varint(wrapping_sub(ts, first_ts));
    b.varint(static_cast<std::int64_t>(i));
    kafka_nullable(b, body.key, (m.attrs & attr::key) != 0);
    kafka_nullable(b, body.value, (m.attrs & attr::value) != 0);
    b.varint(static_cast<std::int64_t>(body.header_count));
    for (std::uint64_t h = 0; h < body.header_count; ++h) {
      byte_view hkey, hvalue;
      bool value_there = false;
      if (!binary_message::read_header(r, hkey, hvalue, value_there)) return fail();
      kafka_nullable(b, hkey, true);
      kafka_nullable(b, hvalue, value_there);
    }
    wire_writer w{out};
    w.varint(static_cast<std::int64_t>(scratch.size()));
    w.raw(scratch.data(), scratch.size());
  }
  if (!r.ok() || !r.at_end()) return fail();

  // The header, as encode_record_batch writes it (uncompressed, create time).
  buffer head;
  wire_writer w{head};
  w.u64(static_cast<std::uint64_t>(base_offset));
  w.u32(static_cast<std::uint32_t>(out.size() - start - 12));  // batchLength counts from byte 12
  w.u32(static_cast<std::uint32_t>(header.partition_leader_epoch));
  w.u8(2);   // magic
  w.u32(0);  // crc, below
  w.u16(0);  // attributes
  w.u32(static_cast<std::uint32_t>(count - 1));
  w.u64(static_cast<std::uint64_t>(first_ts));
  w.u64(static_cast<std::uint64_t>(max_ts));
  w.u64(static_cast<std::uint64_t>(header.producer_id));
  w.u16(static_cast<std::uint16_t>(header.producer_epoch));
  w.u32(static_cast<std::uint32_t>(header.base_sequence));
  w.u32(static_cast<std::uint32_t>(count));
  std::copy(head.begin(), head.end(), out.begin() + static_cast<std::ptrdiff_t>(start));
  constexpr std::size_t crc_at = 17, covered_from = 21;  // the CRC-32C covers attributes on
  const byte_view covered{out.data() + start + covered_from, out.size() - start - covered_from};
  store_be32(out.data() + start + crc_at, crc32c(covered));
  return static_cast<std::size_t>(count);
}

}  // namespace portask::protocol::kafka
