#pragma once
/// Several stored frames of one partition as one: the frame a partition writes when small
/// publishes queue up behind a write, so that the store keeps one entry (one XADD) for all
/// of them instead of one each. The messages, their order, keys, values, headers and
/// timestamps are unchanged; the frame's count and CRC cover them all.

#include <span>
#include <system_error>

#include "protocol/bytes.hpp"

namespace portask::protocol {

/// Appends to `out` one frame holding the messages of `frames`, in order. Each must be a
/// whole publish frame (its CRC is checked) in the binary encoding, uncompressed, whose
/// batch inherits its header's topic and partition (as the broker frames what it stores),
/// all with the same topic, partition, base offset and flags, and all with timestamps set
/// or all unset. The header (and its base timestamp) is the first frame's. On an error
/// `out` is as it was.
std::error_code merge_frames(std::span<const byte_view> frames, buffer& out);

}  // namespace portask::protocol
