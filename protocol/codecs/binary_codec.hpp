#pragma once
/// Portask's own compact batch encoding (codec id 0, the default). Varint-based and
/// delta-encoded like Kafka's RecordBatch, so a 100-byte message costs about 110 bytes.
/// The byte layout is specified in docs/protocol.md ("Binary codec").

#include "protocol/codec.hpp"

namespace portask::protocol {

class binary_codec final : public codec {
 public:
  static constexpr std::uint8_t format_version = 1;
  codec_id id() const noexcept override { return codec_id::binary; }
  std::error_code encode(const message_batch& batch, buffer& out) const override;
  expected<message_batch> decode(byte_view in) const override;
};

}  // namespace portask::protocol
