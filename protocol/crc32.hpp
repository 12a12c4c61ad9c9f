#pragma once
/// CRC32 (IEEE 802.3, as zlib computes it) of a frame payload, computed with Intel's ISA-L
/// (carry-less multiplication where the CPU has it; the same values as zlib's `crc32`).

#include <cstdint>

#include "protocol/bytes.hpp"

namespace portask::protocol {

std::uint32_t crc32(byte_view data) noexcept;
/// Continues a running CRC (start with 0).
std::uint32_t crc32_update(std::uint32_t crc, byte_view data) noexcept;

}  // namespace portask::protocol
