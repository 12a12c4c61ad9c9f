#include "protocol/partitioner.hpp"

namespace portask::protocol {

// Arithmetic is on uint32_t: Java's int multiplication wraps, and `>>>` is a logical shift.
std::int32_t kafka_murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const std::size_t length = key.size();
  std::uint32_t h = seed ^ static_cast<std::uint32_t>(length);
  const std::size_t whole = length / 4;
  for (std::size_t i = 0; i < whole; ++i) {
    const auto* p = data + i * 4;
    std::uint32_t k = static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
                      (static_cast<std::uint32_t>(p[2]) << 16) |
                      (static_cast<std::uint32_t>(p[3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const auto* tail = data + (length & ~std::size_t{3});
  switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      h ^= tail[0];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) noexcept {
  if (partitions <= 0) return 0;
  const auto positive = static_cast<std::uint32_t>(kafka_murmur2(key)) & 0x7fffffffu;
  return static_cast<std::int32_t>(positive % static_cast<std::uint32_t>(partitions));
}

}  // namespace portask::protocol
