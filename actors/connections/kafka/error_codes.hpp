#pragma once
/// Kafka error codes (facts from Apache Kafka's protocol: ../shared/kafka-protocol/
/// error-codes.tsv) that Portask answers with, and the mapping from Portask's errc.

#include <cstdint>
#include <initializer_list>

#include "protocol/error.hpp"

namespace portask::kafka {

enum class error_code : std::int16_t {
  none = 0,
  offset_out_of_range = 1,         ///< retriable: no
  corrupt_message = 2,             ///< CRC or format failure
  unknown_topic_or_partition = 3,  ///< retriable
  leader_not_available = 5,        ///< retriable
  request_timed_out = 7,           ///< retriable
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  not_leader_or_follower = 6,  ///< retriable: another broker leads the partition
  invalid_required_acks = 21,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  message_too_large = 10,
  offset_metadata_too_large = 12,
  policy_violation = 44,
  invalid_topic_exception = 17,
  unsupported_version = 35,
  topic_already_exists = 36,
  invalid_partitions = 37,
  invalid_request = 42,
  out_of_order_sequence_number = 45,
  invalid_producer_epoch = 47,
  invalid_replication_factor = 38,
  invalid_replica_assignment = 39,
  invalid_config = 40,
  unknown_topic_id = 100,
  transactional_id_authorization_failed = 53,
  unknown_producer_id = 59,
  non_empty_group = 68,
  group_id_not_found = 69,
  fetch_session_id_not_found = 70,  ///< retriable: the client starts over with a full fetch
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  group_subscribed_to_topic = 86,
  mismatched_endpoint_type = 114,   ///< a valid endpoint type, but not this listener's
  unsupported_endpoint_type = 115,  ///< an endpoint type Kafka does not know
  unknown_server_error = -1,
  kafka_storage_error = 56,  ///< retriable
  fenced_leader_epoch = 74,   ///< retriable: the client's leader epoch is older than ours
  unknown_leader_epoch = 75,  ///< retriable: the client's leader epoch is newer than ours
  election_not_needed = 84,   ///< the preferred (here: the only) replica already leads
  invalid_record = 87,
  topic_authorization_failed = 29,
  group_authorization_failed = 30,
  cluster_authorization_failed = 31,
  unsupported_sasl_mechanism = 33,
  illegal_sasl_state = 34,
  sasl_authentication_failed = 58,
  security_disabled = 54,
  resource_not_found = 91,
  duplicate_resource = 92,
  unacceptable_credential = 93,
};

inline std::int16_t to_kafka(errc e) noexcept {
  switch (e) {
    case errc::ok: return 0;
    case errc::crc_mismatch:
    case errc::corrupt_stored_data:
    case errc::malformed_payload:
    case errc::decompression_failed:
    case errc::unknown_compression:
    case errc::unsupported_version:
    case errc::truncated:
      return static_cast<std::int16_t>(error_code::corrupt_message);
    case errc::unknown_topic:
    case errc::unknown_partition:
      return static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
    case errc::offset_out_of_range: return static_cast<std::int16_t>(error_code::offset_out_of_range);
    case errc::storage_unavailable:
    case errc::storage_full:
      return static_cast<std::int16_t>(error_code::kafka_storage_error);
    case errc::not_ready: return static_cast<std::int16_t>(error_code::leader_not_available);
    case errc::not_leader: return static_cast<std::int16_t>(error_code::not_leader_or_follower);
    case errc::not_coordinator: return static_cast<std::int16_t>(error_code::not_coordinator);
    case errc::timeout:
    case errc::backpressure:
      return static_cast<std::int16_t>(error_code::request_timed_out);
    case errc::frame_too_large:
    case errc::decompressed_too_large:
      return static_cast<std::int16_t>(error_code::message_too_large);
    case errc::topic_already_exists: return static_cast<std::int16_t>(error_code::topic_already_exists);
    case errc::topic_name_collision:
      return static_cast<std::int16_t>(error_code::invalid_topic_exception);  // as Kafka's CreateTopics
    case errc::invalid_request: return static_cast<std::int16_t>(error_code::invalid_request);
    case errc::invalid_record: return static_cast<std::int16_t>(error_code::invalid_record);
    case errc::policy_violation: return static_cast<std::int16_t>(error_code::policy_violation);
    case errc::invalid_partition_count: return static_cast<std::int16_t>(error_code::invalid_partitions);
    case errc::out_of_order_sequence:
      return static_cast<std::int16_t>(error_code::out_of_order_sequence_number);
    case errc::invalid_producer_epoch:
      return static_cast<std::int16_t>(error_code::invalid_producer_epoch);
    case errc::unknown_producer_id: return static_cast<std::int16_t>(error_code::unknown_producer_id);
    case errc::unknown_member: return static_cast<std::int16_t>(error_code::unknown_member_id);
    case errc::illegal_generation: return static_cast<std::int16_t>(error_code::illegal_generation);
    case errc::rebalance_in_progress:
      return static_cast<std::int16_t>(error_code::rebalance_in_progress);
    case errc::fenced_instance: return static_cast<std::int16_t>(error_code::fenced_instance_id);
    case errc::inconsistent_protocol:
      return static_cast<std::int16_t>(error_code::inconsistent_group_protocol);
    case errc::group_not_empty: return static_cast<std::int16_t>(error_code::non_empty_group);
    case errc::unknown_group: return static_cast<std::int16_t>(error_code::group_id_not_found);
    case errc::invalid_session_timeout:
      return static_cast<std::int16_t>(error_code::invalid_session_timeout);
    case errc::member_id_required: return static_cast<std::int16_t>(error_code::member_id_required);
    case errc::group_max_size_reached:
      return static_cast<std::int16_t>(error_code::group_max_size_reached);
    default: return static_cast<std::int16_t>(error_code::unknown_server_error);
  }
}

/// For Metadata's topics looked up by name: a topic whose lookup or auto-creation failed for
/// a reason that passes (the store unreachable or slow; a creation whose outcome is being
/// read back) is LEADER_NOT_AVAILABLE, as Kafka answers a topic whose creation is under way
/// (in ZooKeeper mode also one whose creation timed out). librdkafka ignores a topic answered
/// so without partitions and asks again, where any other topic error but
/// UNKNOWN_TOPIC_OR_PARTITION (KAFKA_STORAGE_ERROR and REQUEST_TIMED_OUT among them) fails
/// every message it holds for the topic at once. Refusals that stay (an invalid name, a
/// collision, a denial) keep their codes.
inline std::int16_t to_kafka_metadata(errc e) noexcept {
  switch (e) {
    case errc::storage_unavailable:
    case errc::timeout:
      return static_cast<std::int16_t>(error_code::leader_not_available);
    default: return to_kafka(e);
  }
}

/// For Fetch's partitions: only codes consumers take as a reason to retry or look up the
/// leader again. The Java consumer throws IllegalStateException on any other
/// (LEADER_NOT_AVAILABLE and REQUEST_TIMED_OUT among them), which ends its poll loop; Kafka
/// answers a store in trouble KAFKA_STORAGE_ERROR (v6+; older clients hear
/// NOT_LEADER_OR_FOLLOWER) and a partition not ready NOT_LEADER_OR_FOLLOWER.
inline std::int16_t to_kafka_fetch(errc e, std::int16_t version) noexcept {
  auto code = [](error_code c) { return static_cast<std::int16_t>(c); };
  switch (e) {
    case errc::not_ready: return code(error_code::not_leader_or_follower);
    case errc::timeout:
    case errc::backpressure:
    case errc::storage_unavailable:
    case errc::storage_full:
      return code(version >= 6 ? error_code::kafka_storage_error : error_code::not_leader_or_follower);
    default: break;
  }
  const auto kafka = to_kafka(e);
  for (auto known : {error_code::none, error_code::corrupt_message, error_code::unknown_topic_or_partition,
                     error_code::offset_out_of_range, error_code::not_leader_or_follower})
    if (kafka == code(known)) return kafka;
  return code(error_code::unknown_server_error);
}

/// For group APIs: a coordinator or store that is not there right now is
/// COORDINATOR_NOT_AVAILABLE, which sends clients to FindCoordinator and back (retriable).
inline std::int16_t to_kafka_group(errc e) noexcept {
  switch (e) {
    case errc::not_ready:
    case errc::storage_unavailable:
    case errc::timeout:
      return static_cast<std::int16_t>(error_code::coordinator_not_available);
    case errc::invalid_request: return static_cast<std::int16_t>(error_code::invalid_group_id);
    default: return to_kafka(e);
  }
}

}  // namespace portask::kafka
