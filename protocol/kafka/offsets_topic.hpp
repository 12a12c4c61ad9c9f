#pragma once
/// The records of Kafka's `__consumer_offsets` topic, which tools such as Burrow read to learn
/// every group's commits: keys and values in Kafka's own (non-flexible) layouts, strings with
/// INT16 lengths, bytes with INT32 lengths.
///
///   offset commit   key v1: version i16 (1) | group | topic | partition i32
///                 value v3: version i16 (3) | offset i64 | leader epoch i32 | metadata |
///                           commit timestamp i64
///   group metadata  key v2: version i16 (2) | group
///                 value v3: version i16 (3) | protocol type | generation i32 |
///                           protocol (nullable) | leader (nullable) | state timestamp i64 |
///                           [member id | instance id (nullable) | client id | client host |
///                            rebalance timeout i32 | session timeout i32 |
///                            subscription bytes | assignment bytes]
///                 value v1: the same without the state timestamp and the instance id,
///                           written when no member is static
/// A null value (tombstone) removes a key: a deleted offset, a deleted group.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portask::protocol::kafka {

std::string offset_commit_key(const std::string& group, const std::string& topic,
                              std::int32_t partition);
std::string offset_commit_value(std::int64_t offset, std::int32_t leader_epoch,
                                const std::string& metadata, std::int64_t commit_timestamp_ms);

struct group_metadata_member {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t rebalance_timeout_ms = 0;
  std::int32_t session_timeout_ms = 0;
  std::string subscription;
  std::string assignment;
};

struct group_metadata {
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  std::int64_t state_timestamp_ms = -1;
  std::vector<group_metadata_member> members;
};

std::string group_metadata_key(const std::string& group);
std::string group_metadata_value(const group_metadata& g);

}  // namespace portask::protocol::kafka
