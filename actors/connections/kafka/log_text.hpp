#pragma once
/// Client-chosen text as a log line may quote it (software names, rebalance reasons): at most
/// 64 characters, anything unprintable as '?', so a client cannot forge or flood log lines.

#include <string>
#include <string_view>

namespace portask::kafka {

inline std::string printable(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return out;
}

}  // namespace portask::kafka
