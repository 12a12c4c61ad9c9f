#pragma once
/// CRC32 (IEEE 802.3, as zlib computes it) of a frame payload. zlib's implementation is
/// table-driven and braided, which runs at memory-like speed on current CPUs.

#include <cstdint>

#include "protocol/bytes.hpp"

namespace portask::protocol {

std::uint32_t crc32(byte_view data) noexcept;
/// Continues a running CRC (start with 0).
std::uint32_t crc32_update(std::uint32_t crc, byte_view data) noexcept;

}  // namespace portask::protocol
