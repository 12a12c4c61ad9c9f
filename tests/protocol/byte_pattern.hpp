#pragma once
/// Test bytes that differ at every position and with every seed, so a misplaced or
/// misordered byte shows.

#include "protocol/bytes.hpp"

namespace portask::test {

inline protocol::buffer byte_pattern(std::size_t n, std::uint8_t seed) {
  protocol::buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

}  // namespace portask::test
