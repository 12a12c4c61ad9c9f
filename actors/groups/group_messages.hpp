#pragma once
/// The protocol-neutral vocabulary of consumer groups. Kafka's JoinGroup/SyncGroup/... and
/// the native protocol's group messages both become these, so one coordinator serves both.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/error.hpp"
#include "storage/log_store.hpp"

namespace portask {

struct group_protocol {
  std::string name;      ///< e.g. "range"
  std::string metadata;  ///< opaque to the coordinator for client-assigned groups
  friend bool operator==(const group_protocol&, const group_protocol&) = default;
};

struct join_group_request {
  std::string member_id;  ///< empty on a first join
  std::optional<std::string> instance_id;  ///< static membership (group.instance.id)
  std::string client_id;
  std::string client_host;
  std::int32_t session_timeout_ms = 10000;
  std::int32_t rebalance_timeout_ms = 10000;
  std::string protocol_type;  ///< "consumer" for Kafka consumers
  std::vector<group_protocol> protocols;
  /// KIP-394 (JoinGroup v4+): a first join gets MEMBER_ID_REQUIRED and an id to rejoin with.
  bool require_known_member = false;
  /// KIP-814 (JoinGroup v9+): the member can be told to lead without assigning
  /// (join_group_result::skip_assignment).
  bool supports_skip_assignment = false;
  friend bool operator==(const join_group_request&, const join_group_request&) = default;
};

struct group_member_info {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string metadata;
  friend bool operator==(const group_member_info&, const group_member_info&) = default;
};

struct join_group_result {
  errc error = errc::ok;
  std::int32_t generation = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<group_member_info> members;  ///< the leader's answer only
  /// KIP-814: a static leader that came back to a stable group leads it again but must not
  /// assign (the group's assignment stands); it syncs for its own share.
  bool skip_assignment = false;
  friend bool operator==(const join_group_result&, const join_group_result&) = default;
};

struct sync_group_request {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::int32_t generation = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  ///< member id -> bytes
  friend bool operator==(const sync_group_request&, const sync_group_request&) = default;
};

struct sync_group_result {
  errc error = errc::ok;
  std::string protocol_type;
  std::string protocol_name;
  std::string assignment;
  friend bool operator==(const sync_group_result&, const sync_group_result&) = default;
};

/// Identifies a member in heartbeats, leaves and commits.
struct member_ref {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::int32_t generation = -1;
  friend bool operator==(const member_ref&, const member_ref&) = default;
};

struct commit_offsets_request {
  member_ref member;
  std::vector<storage::group_offset> offsets;
  friend bool operator==(const commit_offsets_request&, const commit_offsets_request&) = default;
};

struct group_member_description {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;
  std::string assignment;
  std::int32_t session_timeout_ms = 0;
  std::int32_t rebalance_timeout_ms = 0;
  friend bool operator==(const group_member_description&,
                         const group_member_description&) = default;
};

struct group_description {
  std::string group_id;
  errc error = errc::ok;
  std::string state;  ///< Kafka's names: Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
  std::string protocol_type;
  std::string protocol_name;
  std::int32_t generation = 0;
  std::string leader;  ///< member id; empty without members
  std::vector<group_member_description> members;
  friend bool operator==(const group_description&, const group_description&) = default;
};

}  // namespace portask
