#pragma once
/// The JSON, CBOR and MessagePack codecs (ids 1-3). One document model, three encodings,
/// all through nlohmann-json. Byte strings (keys, values, header keys and values) are binary
/// in CBOR and MessagePack and base64 text in JSON. For interoperability and debugging, not
/// speed: the binary codec is the fast one. Layout: docs/protocol.md ("Structured codecs").

#include <cstddef>

#include "protocol/codec.hpp"

namespace portask::protocol {

class structured_codec final : public codec {
 public:
  /// `id` must be json, cbor or msgpack. A document of more than `max_values` values (each
  /// costs tens of bytes decoded, from a byte or two of input) is decompressed_too_large.
  structured_codec(codec_id id, std::size_t max_values) noexcept : id_(id), max_values_(max_values) {}
  codec_id id() const noexcept override { return id_; }
  std::error_code encode(const message_batch& batch, buffer& out) const override;
  expected<message_batch> decode(byte_view in) const override;

 private:
  codec_id id_;
  std::size_t max_values_;
};

}  // namespace portask::protocol
