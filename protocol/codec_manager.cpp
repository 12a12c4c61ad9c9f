#include "protocol/codec_manager.hpp"

#include "protocol/codecs/binary_codec.hpp"
#include "protocol/codecs/structured_codec.hpp"
#include "protocol/compression/compressors.hpp"

#include <algorithm>
#include <cstdint>

namespace portask::protocol {
namespace {

// Per-thread scratch for the uncompressed form of a payload: the hot path allocates it once
// per thread, not once per batch.
buffer& scratch() {
  thread_local buffer b;
  b.clear();
  return b;
}

}  // namespace

std::string_view to_string(codec_id id) noexcept {
  switch (id) {
    case codec_id::binary: return "binary";
    case codec_id::json: return "json";
    case codec_id::cbor: return "cbor";
    case codec_id::msgpack: return "msgpack";
  }
  return "unknown";
}

std::string_view to_string(compression_id id) noexcept {
  switch (id) {
    case compression_id::none: return "none";
    case compression_id::gzip: return "gzip";
    case compression_id::snappy: return "snappy";
    case compression_id::lz4: return "lz4";
    case compression_id::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<codec_id> parse_codec(std::string_view name) noexcept {
  for (auto id : {codec_id::binary, codec_id::json, codec_id::cbor, codec_id::msgpack})
    if (to_string(id) == name) return id;
  return std::nullopt;
}

std::optional<compression_id> parse_compression(std::string_view name) noexcept {
  for (auto id : {compression_id::none, compression_id::gzip, compression_id::snappy,
                  compression_id::lz4, compression_id::zstd})
    if (to_string(id) == name) return id;
  return std::nullopt;
}

std::uint16_t flags_for(encoding e) noexcept {
  auto f = static_cast<std::uint16_t>(
      (static_cast<unsigned>(e.codec) << frame_flags::codec_shift) |
      (static_cast<unsigned>(e.compression) << frame_flags::compression_shift));
  if (e.compression != compression_id::none) f |= frame_flags::compressed;
  return f;
}

expected<encoding> encoding_of(std::uint16_t flags) noexcept {
  const unsigned codec = (flags & frame_flags::codec_mask) >> frame_flags::codec_shift;
  const unsigned comp = (flags & frame_flags::compression_mask) >> frame_flags::compression_shift;
  if (codec > static_cast<unsigned>(codec_id::msgpack)) return errc::unknown_codec;
  if (comp > static_cast<unsigned>(compression_id::zstd)) return errc::unknown_compression;
  const bool compressed = (flags & frame_flags::compressed) != 0;
  if (compressed != (comp != 0)) return errc::malformed_payload;  // bit and id disagree
  if (flags & frame_flags::encrypted) return errc::encrypted_unsupported;
  return encoding{static_cast<codec_id>(codec), static_cast<compression_id>(comp)};
}

namespace {

// What one batch may take decoded: its messages (the structs, before their bytes) or, for
// the structured codecs, its document's values. Small messages cost far more decoded than
// on the wire (an empty binary message is 6 bytes, its struct over a hundred; a JSON `0,`
// two bytes, its value sixteen and more), so the payload bound alone would let one frame of
// empty messages take gigabytes.
std::size_t decoded_bound(std::size_t max_payload) { return 4 * max_payload; }
constexpr std::size_t decoded_bytes_per_value = 32;

}  // namespace

codec_manager::codec_manager(std::size_t max_payload) : max_payload_(max_payload) {
  codecs_[static_cast<std::size_t>(codec_id::binary)] = std::make_unique<binary_codec>();
  bounded_codecs_[static_cast<std::size_t>(codec_id::binary)] =
      std::make_unique<binary_codec>(decoded_bound(max_payload));
  for (auto id : {codec_id::json, codec_id::cbor, codec_id::msgpack}) {
    codecs_[static_cast<std::size_t>(id)] = std::make_unique<structured_codec>(id, SIZE_MAX);
    bounded_codecs_[static_cast<std::size_t>(id)] = std::make_unique<structured_codec>(
        id, decoded_bound(max_payload) / decoded_bytes_per_value);
  }
  compressors_[static_cast<std::size_t>(compression_id::gzip)] = std::make_unique<gzip_compressor>();
  compressors_[static_cast<std::size_t>(compression_id::snappy)] =
      std::make_unique<snappy_compressor>();
  compressors_[static_cast<std::size_t>(compression_id::lz4)] = std::make_unique<lz4_compressor>();
  compressors_[static_cast<std::size_t>(compression_id::zstd)] = std::make_unique<zstd_compressor>();
}

codec_manager::~codec_manager() = default;

const codec* codec_manager::find(codec_id id) const noexcept {
  const auto i = static_cast<std::size_t>(id);
  return i < codecs_.size() ? codecs_[i].get() : nullptr;
}

const compressor* codec_manager::find(compression_id id) const noexcept {
  const auto i = static_cast<std::size_t>(id);
  return i < compressors_.size() ? compressors_[i].get() : nullptr;
}

expected<std::uint16_t> codec_manager::encode(const message_batch& batch, encoding e,
                                              buffer& out) const {
  const codec* c = find(e.codec);
  if (c == nullptr) return errc::unknown_codec;
  const std::uint16_t flags = flags_for(e) | frame_flags::batch;
  if (e.compression == compression_id::none) {
    const std::size_t start = out.size();
    if (auto ec = c->encode(batch, out)) return ec;
    if (out.size() - start > max_payload_) {
      out.resize(start);
      return errc::frame_too_large;
    }
    return flags;
  }
  const compressor* z = find(e.compression);
  if (z == nullptr) return errc::unknown_compression;
  buffer& plain = scratch();
  if (auto ec = c->encode(batch, plain)) return ec;
  // A reader inflates at most max_payload_ (decode_with): a payload that compresses under
  // the bound but is larger plain would be stored and never read back.
  if (plain.size() > max_payload_) return errc::frame_too_large;
  if (auto ec = z->compress(plain, out)) return ec;
  return flags;
}

expected<message_batch> codec_manager::decode(std::uint16_t flags, byte_view payload) const {
  auto e = encoding_of(flags);
  if (!e) return e.error();
  return decode_with(find(e->codec), *e, payload);
}

expected<message_batch> codec_manager::decode_received(std::uint16_t flags, byte_view payload) const {
  auto e = encoding_of(flags);
  if (!e) return e.error();
  const auto i = static_cast<std::size_t>(e->codec);
  return decode_with(i < bounded_codecs_.size() ? bounded_codecs_[i].get() : nullptr, *e, payload);
}

expected<message_batch> codec_manager::decode_with(const codec* c, encoding e,
                                                   byte_view payload) const {
  if (c == nullptr) return errc::unknown_codec;
  byte_view plain = payload;
  if (e.compression != compression_id::none) {
    const compressor* z = find(e.compression);
    if (z == nullptr) return errc::unknown_compression;
    buffer& inflated = scratch();
    if (auto ec = z->decompress(payload, inflated, max_payload_)) return ec;
    plain = inflated;
  }
  return c->decode(plain);
}

std::error_code codec_manager::append_batch_frame(const message_batch& batch, encoding e,
                                                  message_type type, buffer& out) const {
  const std::size_t start = out.size();
  const std::size_t pos = begin_frame(out);
  auto flags = encode(batch, e, out);
  if (!flags) {
    out.resize(start);
    return flags.error();
  }
  // encode() bounded the payload before compression, which uncompressed is all of it; a
  // compressed one can still have grown past the bound (bytes that do not compress).
  if (e.compression != compression_id::none &&
      out.size() - pos - frame_header_size > max_payload_) {
    out.resize(start);
    return errc::frame_too_large;
  }
  finish_frame(out, pos, type, *flags);
  return {};
}

std::error_code codec_manager::append_rebased_frame(byte_view payload, const binary_batch_scan& s,
                                                    std::string_view topic,
                                                    std::int32_t partition,
                                                    std::int64_t base_offset,
                                                    std::int64_t base_timestamp_ms,
                                                    message_type type, buffer& out) const {
  if (!s.rebasable || s.messages_at > payload.size()) return errc::invalid_request;
  const std::size_t start = out.size();
  const std::size_t pos = begin_frame(out);
  binary_codec::rebase(payload, s, topic, partition, base_offset, base_timestamp_ms, out);
  if (out.size() - pos - frame_header_size > max_payload_) {  // a longer topic than it had
    out.resize(start);
    return errc::frame_too_large;
  }
  finish_frame(out, pos, type, flags_for(encoding{}) | frame_flags::batch);
  return {};
}

expected<std::optional<std::size_t>> codec_manager::rebase_frame_in_place(
    buffer& bytes, std::size_t payload_at, const binary_batch_scan& s, std::string_view topic,
    std::int32_t partition, std::int64_t base_offset, std::int64_t base_timestamp_ms,
    message_type type) const {
  if (!s.rebasable || payload_at > bytes.size() || s.messages_at > bytes.size() - payload_at)
    return errc::invalid_request;
  buffer header;
  binary_codec::write_header(s, topic, partition, base_offset, base_timestamp_ms, header);
  const std::size_t messages_at = payload_at + s.messages_at;
  const std::size_t needed = frame_header_size + header.size();
  if (messages_at < needed) return std::optional<std::size_t>{};
  const std::size_t start = messages_at - needed;
  if (bytes.size() - start - frame_header_size > max_payload_) return errc::frame_too_large;
  std::copy(header.begin(), header.end(),
            bytes.begin() + static_cast<std::ptrdiff_t>(start + frame_header_size));
  // finish_frame takes the payload to run to the buffer's end, which it does.
  finish_frame(bytes, start, type, flags_for(encoding{}) | frame_flags::batch);
  return std::optional<std::size_t>{start};
}

}  // namespace portask::protocol
