#include "protocol/kafka/consumer_protocol.hpp"

#include "protocol/kafka/kafka_wire.hpp"

namespace portask::protocol::kafka {

expected<std::vector<std::pair<std::string, std::int32_t>>> decode_consumer_assignment(
    byte_view bytes) {
  reader r{bytes};
  std::int16_t version = 0;
  std::int64_t topics = 0;
  if (!r.i16(version) || version < 0 || !r.array_length(topics, false) || topics < 0 ||
      static_cast<std::uint64_t>(topics) > r.remaining() / 6)
    return errc::malformed_payload;
  std::vector<std::pair<std::string, std::int32_t>> out;
  for (std::int64_t t = 0; t < topics; ++t) {
    std::string topic;
    std::int64_t partitions = 0;
    if (!r.string(topic, false) || !r.array_length(partitions, false) || partitions < 0 ||
        static_cast<std::uint64_t>(partitions) > r.remaining() / 4)
      return errc::malformed_payload;
    for (std::int64_t p = 0; p < partitions; ++p) {
      std::int32_t partition = 0;
      if (!r.i32(partition)) return errc::malformed_payload;
      out.emplace_back(topic, partition);
    }
  }
  return out;
}

expected<std::vector<std::string>> decode_consumer_subscription(byte_view bytes) {
  reader r{bytes};
  std::int16_t version = 0;
  std::int64_t topics = 0;
  if (!r.i16(version) || version < 0 || !r.array_length(topics, false) || topics < 0 ||
      static_cast<std::uint64_t>(topics) > r.remaining() / 2)
    return errc::malformed_payload;
  std::vector<std::string> out;
  for (std::int64_t t = 0; t < topics; ++t) {
    std::string topic;
    if (!r.string(topic, false)) return errc::malformed_payload;
    out.push_back(std::move(topic));
  }
  return out;
}

}  // namespace portask::protocol::kafka
