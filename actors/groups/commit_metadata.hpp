#pragma once
/// Kafka's offset.metadata.max.bytes at its default: a commit's metadata is the client's free
/// text, kept with the offset in the store and in memory. A longer one is refused by both
/// protocols: Kafka's OffsetCommit per partition, the native Ack as a request.

#include <cstddef>
#include <string_view>

#include "protocol/utf8.hpp"

namespace portask {

inline constexpr std::size_t max_commit_metadata_length = 4096;

/// Kafka compares Java's String.length(): UTF-16 units, one per character and two for a
/// character past U+FFFF (a 4-byte UTF-8 sequence), not bytes. Text that is not UTF-8 is
/// counted a byte a unit: Java would read at least one U+FFFD for each bad sequence, so this
/// may refuse a little more than Kafka, never less, and no metadata passes that Kafka's
/// format could not carry (at most 3 bytes a unit).
inline bool commit_metadata_too_large(std::string_view metadata) noexcept {
  if (metadata.size() <= max_commit_metadata_length) return false;
  if (metadata.size() > 3 * max_commit_metadata_length) return true;
  if (!protocol::is_utf8(metadata)) return true;  // more than 4096 bytes, each one a unit
  std::size_t units = 0;
  for (const char c : metadata) {
    const auto b = static_cast<unsigned char>(c);
    if ((b & 0xc0) != 0x80) units += b >= 0xf0 ? 2 : 1;  // a continuation byte adds nothing
  }
  return units > max_commit_metadata_length;
}

}  // namespace portask
