#pragma once
/// Client-chosen text as a log line may quote it (software names, rebalance reasons, user
/// names in a failed authentication): by default at most 64 characters, anything unprintable
/// as '?', so a client cannot forge or flood log lines.

#include <cstddef>
#include <string>
#include <string_view>

namespace portask {

inline std::string printable(std::string_view s, std::size_t at_most = 64) {
  std::string out(s.substr(0, at_most));
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

}  // namespace portask
