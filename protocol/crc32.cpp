#include "protocol/crc32.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace portask::protocol {

std::uint32_t crc32_update(std::uint32_t crc, byte_view data) noexcept {
  // zlib takes a uInt length; feed larger inputs in pieces.
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  uLong c = crc;
  while (n > 0) {
    auto chunk = static_cast<uInt>(std::min<std::size_t>(n, std::numeric_limits<uInt>::max()));
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

std::uint32_t crc32(byte_view data) noexcept { return crc32_update(0, data); }

}  // namespace portask::protocol
