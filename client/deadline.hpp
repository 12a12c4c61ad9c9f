#pragma once
/// Deadlines for the client library's waits. A caller may ask to wait without bound
/// (std::chrono::milliseconds::max()): `now() + wait` would overflow the clock (undefined, in
/// practice a deadline long passed, so the call would return at once), and a wait's
/// milliseconds would not fit poll()'s int past about 24.8 days.

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>

namespace portask::client {

/// `wait` from now; the clock's end for a wait longer than it can count (never reached). A
/// negative wait is none.
inline std::chrono::steady_clock::time_point deadline_after(std::chrono::milliseconds wait) {
  using clock = std::chrono::steady_clock;
  const auto now = clock::now();
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - now);
  if (wait >= room) return clock::time_point::max();
  return now + std::max(wait, std::chrono::milliseconds(0));
}

/// What is left of a wait until `deadline`; zero once it passed.
inline std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    deadline - std::chrono::steady_clock::now()));
}

/// `left` as poll()'s timeout: a longer wait polls again when this one ends.
inline int poll_timeout(std::chrono::milliseconds left) {
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX));
}

}  // namespace portask::client
