#pragma once
/// Topic naming rule shared by every protocol (Kafka's): 1-249 characters of
/// [a-zA-Z0-9._-], and not "." or "..".

#include <string_view>

namespace portask::protocol {

/// The internal topic that mirrors every group's commits and membership in Kafka's record
/// format (protocol/kafka/offsets_topic.hpp). The broker writes it; clients only read it.
inline constexpr std::string_view offsets_topic = "__consumer_offsets";
inline bool is_internal_topic(std::string_view name) noexcept { return name == offsets_topic; }

inline bool is_valid_topic_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace portask::protocol
