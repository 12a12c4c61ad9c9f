#pragma once
/// CRC-32C (Castagnoli), the checksum of Kafka's RecordBatch v2. Uses the SSE4.2 crc32
/// instruction when the CPU has it (checked once at run time), a table otherwise.

#include <cstdint>

#include "protocol/bytes.hpp"

namespace portask::protocol::kafka {

std::uint32_t crc32c(byte_view data) noexcept;
/// Continues a running CRC-32C (start with 0).
std::uint32_t crc32c_update(std::uint32_t crc, byte_view data) noexcept;

/// The portable path alone (tests compare it with the accelerated one).
std::uint32_t crc32c_portable(std::uint32_t crc, byte_view data) noexcept;
bool crc32c_is_hardware_accelerated() noexcept;

}  // namespace portask::protocol::kafka
