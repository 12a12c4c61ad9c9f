#pragma once
/// Kafka's framing: a 4-byte big-endian size, then that many bytes (request header + body,
/// or a bare SASL token after a v0 SaslHandshake). An empty frame, a negative size (the
/// prefix is an INT32, whatever the configured maximum) or one above the configured maximum
/// is a framing error; a header too short to read is the connection's to refuse. On a SASL
/// listener the maximum is Kafka's 512 KiB until the client has authenticated
/// (stream_framer::max_before_authentication).

#include "actors/connections/transport/stream_framer.hpp"

namespace portask {

class kafka_framer final : public stream_framer {
 public:
  /// A v0 SASL token may be shorter than a request header: PLAIN's "\0bob\0pw" is 7 bytes.
  static constexpr std::uint32_t min_request = 1;
  kafka_framer(std::uint32_t max_size, bool authenticate_first)
      : stream_framer(max_size, authenticate_first) {}

 protected:
  expected<std::optional<std::size_t>> frame_size(protocol::byte_view head) const override {
    if (head.size() < 4) return std::optional<std::size_t>{};
    const std::uint32_t size = protocol::load_be32(head.data());
    if (size < min_request || size > 0x7fffffffu) return errc::malformed_payload;
    if (size > size_limit()) return errc::frame_too_large;
    return std::optional<std::size_t>{std::size_t{size} + 4};
  }
  std::error_code check(protocol::byte_view) const override { return {}; }
};

}  // namespace portask
