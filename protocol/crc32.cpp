#include "protocol/crc32.hpp"

#include <isa-l/crc.h>

namespace portask::protocol {

// ISA-L's reflected IEEE CRC is zlib's crc32 (same polynomial, initial value and final xor;
// a running value continues the same way), computed by carry-less multiplication where the
// CPU has it (PCLMULQDQ, VPCLMULQDQ), chosen at run time. On our machines it runs at about
// five times zlib's table-driven speed, and every stored frame is CRC'd on the hot path.
std::uint32_t crc32_update(std::uint32_t crc, byte_view data) noexcept {
  return ::crc32_gzip_refl(crc, data.data(), data.size());
}

std::uint32_t crc32(byte_view data) noexcept { return crc32_update(0, data); }

}  // namespace portask::protocol
