#include "actors/cluster/rendezvous.hpp"

namespace portask {

std::uint64_t rendezvous_score(std::int32_t node, std::string_view resource) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (unsigned char c : resource) mix(c);
  const auto n = static_cast<std::uint32_t>(node);
  for (int i = 0; i < 4; ++i) mix(static_cast<unsigned char>(n >> (8 * i)));
  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::int32_t rendezvous_owner(std::span<const std::int32_t> nodes, std::string_view resource) noexcept {
  std::int32_t best = -1;
  std::uint64_t best_score = 0;
  for (auto node : nodes) {
    const auto score = rendezvous_score(node, resource);
    // Ties (astronomically rare) go to the lower id, so every node agrees.
    if (best < 0 || score > best_score || (score == best_score && node < best)) {
      best = node;
      best_score = score;
    }
  }
  return best;
}

}  // namespace portask
