#pragma once
/// Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive,
/// modulo the partition count. The Java client and librdkafka's "murmur2_random" pick the
/// same partition for the same key, so a key stays on one partition whichever client sent it.

#include <cstdint>
#include <string_view>

namespace portask::protocol {

/// Kafka's murmur2 (seed 0x9747b28c) of `key`, as a Java int.
std::int32_t kafka_murmur2(std::string_view key) noexcept;

/// The partition Kafka's default partitioner picks for `key` among `partitions` (> 0).
std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) noexcept;

}  // namespace portask::protocol
