#pragma once
/// The assignment a Kafka consumer group's leader hands each member (ConsumerProtocolAssignment,
/// versions 0-3: an INT16 version, then topics with their partitions, then user data), and
/// the subscription a member joins with (ConsumerProtocolSubscription, versions 0-3: an INT16
/// version, then its topics first). The coordinator stores both as opaque bytes; tools that
/// show a group's members read them with this, and OffsetDelete spares subscribed topics.

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

/// The topics a member subscribes to; malformed_payload for bytes that are not a
/// subscription (only the leading version and topic list are read, as Kafka reads them).
expected<std::vector<std::string>> decode_consumer_subscription(byte_view bytes);

}  // namespace portask::protocol::kafka
