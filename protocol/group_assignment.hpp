#pragma once
/// Broker-side partition assignment for native consumer groups: the two strategies Kafka
/// clients also ship (range and round-robin), and the byte forms a native member's
/// subscription and assignment take inside the group protocol (the coordinator treats them
/// as opaque, as it does a Kafka client's).
///
///   subscription: u32 count, string topic...
///   assignment:   u32 count, (string topic, i32 partition)...

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"

namespace portask::protocol {

using partition_ref = std::pair<std::string, std::int32_t>;

enum class assignment_strategy : std::uint8_t { range = 0, round_robin = 1 };

/// "range" or "roundrobin": the protocol name in the group (Kafka's names).
const char* to_protocol_name(assignment_strategy s) noexcept;
bool parse_protocol_name(std::string_view name, assignment_strategy& out) noexcept;

struct group_subscriber {
  std::string member_id;
  std::vector<std::string> topics;
};

/// Every partition of every subscribed topic goes to exactly one member subscribed to that
/// topic. `partitions` gives each topic's partition count (topics missing there are skipped).
/// Deterministic: members are ordered by id.
std::map<std::string, std::vector<partition_ref>> assign_partitions(
    assignment_strategy strategy, std::vector<group_subscriber> members,
    const std::map<std::string, std::int32_t>& partitions);

std::string encode_subscription(const std::vector<std::string>& topics);
expected<std::vector<std::string>> decode_subscription(byte_view bytes);
std::string encode_assignment(const std::vector<partition_ref>& partitions);
expected<std::vector<partition_ref>> decode_assignment(byte_view bytes);

/// A group member's partitions from the assignment bytes the coordinator holds: Kafka
/// consumers (protocol type "consumer") carry the consumer protocol's assignment, native
/// members ("portask") the form above; other types and malformed bytes give none.
std::vector<partition_ref> member_partitions(std::string_view protocol_type, byte_view bytes);

}  // namespace portask::protocol
