#pragma once
/// Wall-clock milliseconds since the Unix epoch: the time base of record timestamps,
/// retention and producer expiry (steady_clock measures intervals; this names instants).

#include <chrono>
#include <cstdint>

namespace portask {

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace portask
