#include "protocol/error.hpp"

#include <string>

namespace portask {
namespace {

class portask_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "portask"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "success";
      case errc::bad_magic: return "bad frame magic (expected \"PORT\")";
      case errc::unsupported_version: return "unsupported protocol version";
      case errc::unknown_type: return "unknown message type";
      case errc::frame_too_large: return "frame payload exceeds the maximum size";
      case errc::crc_mismatch: return "payload CRC32 does not match the header";
      case errc::truncated: return "input ends inside a frame or field";
      case errc::malformed_payload: return "malformed payload";
      case errc::unknown_codec: return "unknown codec id";
      case errc::unknown_compression: return "unknown compression id";
      case errc::compression_failed: return "compression failed";
      case errc::decompression_failed: return "corrupt compressed data";
      case errc::decompressed_too_large: return "decompressed data exceeds the maximum size";
      case errc::encrypted_unsupported: return "encrypted payloads are not supported";
      case errc::invalid_request: return "invalid request";
      case errc::unknown_topic: return "unknown topic";
      case errc::unknown_partition: return "unknown partition";
      case errc::topic_already_exists: return "topic already exists";
      case errc::offset_out_of_range: return "offset out of range";
      case errc::storage_unavailable: return "storage unavailable";
      case errc::timeout: return "request timed out";
      case errc::too_many_connections: return "too many connections";
      case errc::backpressure: return "too many bytes in flight";
      case errc::corrupt_stored_data: return "stored data failed its integrity check";
      case errc::offset_conflict: return "the store already holds this offset";
      case errc::not_ready: return "not ready (restarting or recovering), retry";
      case errc::invalid_partition_count: return "invalid partition count";
      case errc::out_of_order_sequence: return "out-of-order producer sequence number";
      case errc::invalid_producer_epoch: return "stale producer epoch";
      case errc::unknown_member: return "unknown group member";
      case errc::illegal_generation: return "illegal group generation";
      case errc::rebalance_in_progress: return "group rebalance in progress";
      case errc::fenced_instance: return "fenced static group member";
      case errc::inconsistent_protocol: return "no protocol in common with the group";
      case errc::group_not_empty: return "group is not empty";
      case errc::unknown_group: return "unknown group";
      case errc::member_id_required: return "member id required";
      case errc::invalid_session_timeout: return "session timeout out of range";
      case errc::unknown_producer_id: return "no state for this producer id (expired)";
      case errc::storage_full: return "the store is full; retry once retention has freed room";
      case errc::not_leader: return "another node owns this partition";
      case errc::not_coordinator: return "another node coordinates this group";
      case errc::internal: return "internal error";
      case errc::authentication_failed: return "authentication failed";
      case errc::authentication_required: return "authentication required";
      case errc::authorization_failed: return "not authorized";
    }
    return "unknown portask error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const portask_category instance;
  return instance;
}

bool is_retriable(errc e) noexcept {
  switch (e) {
    case errc::storage_unavailable:
    case errc::timeout:
    case errc::backpressure:
    case errc::not_ready:
    case errc::rebalance_in_progress:
    case errc::storage_full:
    case errc::not_leader:
    case errc::not_coordinator:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::bad_magic: return "bad_magic";
    case errc::unsupported_version: return "unsupported_version";
    case errc::unknown_type: return "unknown_type";
    case errc::frame_too_large: return "frame_too_large";
    case errc::crc_mismatch: return "crc_mismatch";
    case errc::truncated: return "truncated";
    case errc::malformed_payload: return "malformed_payload";
    case errc::unknown_codec: return "unknown_codec";
    case errc::unknown_compression: return "unknown_compression";
    case errc::compression_failed: return "compression_failed";
    case errc::decompression_failed: return "decompression_failed";
    case errc::decompressed_too_large: return "decompressed_too_large";
    case errc::encrypted_unsupported: return "encrypted_unsupported";
    case errc::invalid_request: return "invalid_request";
    case errc::unknown_topic: return "unknown_topic";
    case errc::unknown_partition: return "unknown_partition";
    case errc::topic_already_exists: return "topic_already_exists";
    case errc::offset_out_of_range: return "offset_out_of_range";
    case errc::storage_unavailable: return "storage_unavailable";
    case errc::timeout: return "timeout";
    case errc::too_many_connections: return "too_many_connections";
    case errc::backpressure: return "backpressure";
    case errc::corrupt_stored_data: return "corrupt_stored_data";
    case errc::offset_conflict: return "offset_conflict";
    case errc::not_ready: return "not_ready";
    case errc::invalid_partition_count: return "invalid_partition_count";
    case errc::out_of_order_sequence: return "out_of_order_sequence";
    case errc::invalid_producer_epoch: return "invalid_producer_epoch";
    case errc::unknown_member: return "unknown_member";
    case errc::illegal_generation: return "illegal_generation";
    case errc::rebalance_in_progress: return "rebalance_in_progress";
    case errc::fenced_instance: return "fenced_instance";
    case errc::inconsistent_protocol: return "inconsistent_protocol";
    case errc::group_not_empty: return "group_not_empty";
    case errc::unknown_group: return "unknown_group";
    case errc::member_id_required: return "member_id_required";
    case errc::invalid_session_timeout: return "invalid_session_timeout";
    case errc::unknown_producer_id: return "unknown_producer_id";
    case errc::storage_full: return "storage_full";
    case errc::not_leader: return "not_leader";
    case errc::not_coordinator: return "not_coordinator";
    case errc::internal: return "internal";
    case errc::authentication_failed: return "authentication_failed";
    case errc::authentication_required: return "authentication_required";
    case errc::authorization_failed: return "authorization_failed";
  }
  return "unknown";
}

}  // namespace portask
