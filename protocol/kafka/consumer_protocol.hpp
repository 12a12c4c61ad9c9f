#pragma once
/// The assignment a Kafka consumer group's leader hands each member (ConsumerProtocolAssignment,
/// versions 0-3: an INT16 version, then topics with their partitions, then user data). The
/// coordinator stores it as opaque bytes; tools that show a group's members read it with this.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"

namespace portask::protocol::kafka {

/// The assigned (topic, partition) pairs; malformed_payload for bytes that are not an
/// assignment (a newer version's extra fields after the known ones are ignored).
expected<std::vector<std::pair<std::string, std::int32_t>>> decode_consumer_assignment(
    byte_view bytes);

}  // namespace portask::protocol::kafka
