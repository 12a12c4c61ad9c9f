#pragma once
/// Portask's error codes: one enum for every failure a protocol layer can report, plugged
/// into std::error_code. The numeric values are part of the native wire protocol (an Error
/// frame carries them, see docs/protocol.md), so values are never reused or renumbered.

#include <string_view>
#include <system_error>

namespace portask {

enum class errc : int {
  ok = 0,
  // 1-31: framing. The stream cannot be trusted after these; a connection closes after
  // reporting one.
  bad_magic = 1,            ///< the first four bytes are not "PORT"
  unsupported_version = 2,  ///< frame version other than 1
  unknown_type = 3,         ///< message type not defined by this protocol version
  frame_too_large = 4,      ///< payload length over the configured maximum
  crc_mismatch = 5,         ///< CRC32 of the payload differs from the header's
  truncated = 6,            ///< input ended inside a frame or a field
  // 32-63: payload content. The frame was well formed; the request is answered with an error.
  malformed_payload = 32,    ///< payload bytes do not decode as the type says
  unknown_codec = 33,        ///< codec id in the flags is not known
  unknown_compression = 34,  ///< compression id in the flags is not known
  compression_failed = 35,
  decompression_failed = 36,  ///< compressed body is corrupt
  decompressed_too_large = 37,  ///< body expands past the configured maximum
  encrypted_unsupported = 38,   ///< the encrypted flag is set; this broker has no key
  invalid_request = 39,         ///< a field has a value the request type does not allow
  // 64-95: broker state (see docs/protocol.md for which are retriable).
  unknown_topic = 64,
  unknown_partition = 65,
  topic_already_exists = 66,
  offset_out_of_range = 67,
  storage_unavailable = 68,  ///< retriable: the store is unreachable or failed
  timeout = 69,              ///< retriable
  too_many_connections = 70,
  backpressure = 71,  ///< retriable: too many bytes in flight on this connection
  corrupt_stored_data = 72,  ///< a stored frame failed its CRC check; never served
  offset_conflict = 73,  ///< the store already holds this offset (a second writer?)
  not_ready = 74,        ///< retriable: the owning actor is (re)starting or recovering
  invalid_partition_count = 75,  ///< the partition count is not larger than the current one (or over the maximum)
  out_of_order_sequence = 76,  ///< an idempotent producer's batch does not follow its last sequence number
  invalid_producer_epoch = 77,  ///< the producer epoch is older than the partition has seen (a zombie producer)
  unknown_member = 78,  ///< the group does not know this member id; rejoin without one
  illegal_generation = 79,  ///< the generation is not the group's current one (a stale member or commit)
  rebalance_in_progress = 80,  ///< retriable: the group is rebalancing; rejoin
  fenced_instance = 81,  ///< another member now uses this static instance id
  inconsistent_protocol = 82,  ///< the member's protocols share none with the group's
  group_not_empty = 83,  ///< the group still has members
  unknown_group = 84,  ///< no such group
  member_id_required = 85,  ///< first join: rejoin with the member id the error carries
  invalid_session_timeout = 86,  ///< the session timeout is outside the broker's allowed range
  unknown_producer_id = 87,  ///< the partition holds no state for this producer (expired) and the sequence is not 0
  storage_full = 88,  ///< retriable: the store is at its capacity until retention frees room
  not_leader = 89,  ///< retriable: another node of the cluster owns this partition (ask metadata)
  not_coordinator = 90,  ///< retriable: another node of the cluster coordinates this group
  internal = 95,
  // 96-111: security. After authentication_failed the connection closes.
  authentication_failed = 96,  ///< wrong credentials, a malformed exchange, or an unknown mechanism
  authentication_required = 97,  ///< the listener serves only authentication until the client has authenticated
  authorization_failed = 98,  ///< the principal may not do this (ACLs)
};

/// The category name is "portask"; messages are short English phrases.
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A client may retry the same request after one of these.
bool is_retriable(errc e) noexcept;

/// Symbolic name ("crc_mismatch") used in logs and Error frames.
std::string_view to_string(errc e) noexcept;

}  // namespace portask

template <>
struct std::is_error_code_enum<portask::errc> : std::true_type {};
