#pragma once
/// The native protocol's request and response payloads (docs/protocol.md section 4):
/// encoders that append whole frames and decoders that parse a frame's payload. Used by the
/// broker's portask_connection and by the client library, so both sides share one codec.
/// Decoders borrow from the payload (views) and never read past it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/expected.hpp"
#include "protocol/frame.hpp"
#include "protocol/message.hpp"

namespace portask::protocol::native {

inline constexpr std::int64_t latest_offset = -1;
inline constexpr std::int64_t earliest_offset = -2;

struct config_entry {
  std::string key;
  std::string value;
  friend bool operator==(const config_entry&, const config_entry&) = default;
};

/// An idempotent producer's claim on a published batch: the partition stores it once and
/// in sequence order (see docs/protocol.md, "Idempotent publishing").
using publish_producer = producer_claim;

struct publish_request {
  std::uint32_t request_id = 0;
  std::uint8_t acks = 1;
  std::string topic;
  std::int32_t partition = -1;
  publish_producer producer;  ///< present: sent with the idempotent flag
  byte_view batch;  ///< encoded as the frame flags say
};

/// InitProducer: a new producer id (id -1), or the next epoch of an existing one.
struct init_producer_request {
  std::uint32_t request_id = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
};
struct init_producer_response {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  friend bool operator==(const init_producer_response&, const init_producer_response&) = default;
};
struct publish_response {
  std::int32_t partition = 0;
  std::int64_t base_offset = 0;
  std::uint32_t count = 0;
};

struct fetch_request {
  std::uint32_t request_id = 0;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::uint32_t max_bytes = 1024 * 1024;
  std::uint32_t max_wait_ms = 0;
};
struct batch_view {
  std::int64_t base_offset = 0;
  std::uint32_t record_count = 0;
  byte_view frame;  ///< a whole stored frame, header included
};
struct fetch_response {
  std::int32_t partition = 0;
  std::int64_t high_watermark = 0;
  std::int64_t log_start = 0;
  std::vector<batch_view> batches;
};

struct subscribe_request {
  std::uint32_t request_id = 0;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = latest_offset;
  std::uint32_t credit_bytes = 1024 * 1024;
};
struct credit_request {
  std::uint32_t request_id = 0;
  std::uint32_t subscription_id = 0;
  std::uint32_t credit_bytes = 0;
};
struct unsubscribe_request {
  std::uint32_t request_id = 0;
  std::uint32_t subscription_id = 0;
};

struct ack_request {
  std::uint32_t request_id = 0;
  std::string consumer;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string metadata;
  /// A group member's identity (native groups); optional on the wire, empty/-1 otherwise.
  std::string member_id;
  std::int32_t generation = -1;
};
struct offset_fetch_request {
  std::uint32_t request_id = 0;
  std::string consumer;
  std::string topic;
  std::int32_t partition = 0;
};
struct offset_fetch_response {
  std::int64_t offset = -1;
  std::string metadata;
};

/// TopicAdmin operations. alter_config sets the listed configs (an empty value removes one);
/// add_partitions grows the topic to `partitions` in total.
enum class admin_op : std::uint8_t {
  create = 1,
  remove = 2,
  list = 3,
  describe = 4,
  alter_config = 5,
  add_partitions = 6,
};
struct topic_admin_request {
  std::uint32_t request_id = 0;
  admin_op op = admin_op::list;
  std::string topic;
  std::int32_t partitions = 1;
  std::vector<config_entry> configs;
};
struct topic_summary {
  std::string topic;
  std::int32_t partitions = 0;
};
struct partition_summary {
  std::int32_t id = 0;
  std::int64_t log_start = 0;
  std::int64_t high_watermark = 0;
  std::int64_t stored_bytes = -1;  ///< bytes the partition's log holds (-1: not reported)
};
struct topic_detail {
  std::string topic;
  std::int32_t partitions = 0;
  std::vector<partition_summary> partition_states;
  std::vector<config_entry> configs;
};
struct metadata_response {
  std::string broker_host;
  std::uint16_t broker_port = 0;
  std::string broker_version;
  std::vector<topic_summary> topics;
};
/// The bounds of a partition; with a timestamp also the first offset whose message is
/// stamped at or after it (Kafka's ListOffsets by time).
struct list_offsets_request {
  std::uint32_t request_id = 0;
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::int64_t> timestamp;  ///< ms since the epoch; sent as a trailing field
};
struct offset_at_time {
  std::int64_t offset = -1;     ///< -1: no message is stamped that late
  std::int64_t timestamp = -1;  ///< that message's timestamp
  friend bool operator==(const offset_at_time&, const offset_at_time&) = default;
};
struct list_offsets_response {
  std::int64_t log_start = 0;
  std::int64_t high_watermark = 0;
  std::optional<offset_at_time> at_time;  ///< present when the request had a timestamp
};
/// Moves a partition's log start up to `offset` (-1: the high watermark); answered with a
/// list_offsets_response (the bounds after).
struct delete_records_request {
  std::uint32_t request_id = 0;
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
};

struct error_response {
  std::uint32_t request_id = 0;
  std::uint16_t code = 0;
  bool retriable = false;
  std::string message;
};

/// Joins a consumer group; the broker assigns partitions (strategy 0 range, 1 round-robin)
/// and pushes a GroupAssignment after every rebalance. The response body is a u32
/// membership id (per connection). Membership ends with GroupLeave or the connection.
struct group_join_request {
  std::uint32_t request_id = 0;
  std::string group;
  std::uint8_t strategy = 0;
  std::uint32_t session_timeout_ms = 10000;
  std::vector<std::string> topics;
};
struct group_leave_request {
  std::uint32_t request_id = 0;
  std::uint32_t membership_id = 0;
};
/// Pushed: the member's partitions in this generation. Commits (Ack) carry member id and
/// generation; the partitions start from the group's committed offsets (OffsetFetch).
struct group_assignment {
  std::uint32_t membership_id = 0;
  std::string group;
  std::string member_id;
  std::int32_t generation = 0;
  std::vector<std::pair<std::string, std::int32_t>> partitions;
  friend bool operator==(const group_assignment&, const group_assignment&) = default;
};

/// GroupAdmin: the consumer groups of both protocols (one coordinator serves both).
enum class group_op : std::uint8_t { list = 1, describe = 2, remove = 3 };
struct group_admin_request {
  std::uint32_t request_id = 0;
  group_op op = group_op::list;
  std::string group;  ///< describe, remove
};
struct group_summary {
  std::string group;
  std::string state;          ///< Kafka's names: Empty, Stable, PreparingRebalance, ...
  std::string protocol_type;  ///< "consumer" (Kafka clients), "portask" (native members)
  std::int32_t members = 0;
  friend bool operator==(const group_summary&, const group_summary&) = default;
};
struct group_member_detail {
  std::string member_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::pair<std::string, std::int32_t>> partitions;  ///< its assignment
  friend bool operator==(const group_member_detail&, const group_member_detail&) = default;
};
struct group_offset_detail {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = -1;
  std::string metadata;
  friend bool operator==(const group_offset_detail&, const group_offset_detail&) = default;
};
struct group_detail {
  group_summary summary;
  std::string protocol_name;  ///< the assignor, e.g. "range"
  std::int32_t generation = 0;
  std::string leader;
  std::vector<group_member_detail> members;
  std::vector<group_offset_detail> offsets;  ///< every committed offset of the group
  friend bool operator==(const group_detail&, const group_detail&) = default;
};

/// The first fields of every Response payload.
struct response_header {
  std::uint32_t request_id = 0;
  message_type request_type = message_type::response;
};

/// Reads the request id every request payload starts with (0 if too short).
std::uint32_t peek_request_id(byte_view payload) noexcept;

// -- requests (client -> broker): encode appends a frame; decode parses a payload ----------
void encode(buffer& out, const publish_request& r, std::uint16_t batch_flags);
void encode(buffer& out, const fetch_request& r);
void encode(buffer& out, const subscribe_request& r);
void encode(buffer& out, const credit_request& r);
void encode(buffer& out, const unsubscribe_request& r);
void encode(buffer& out, const ack_request& r);
void encode(buffer& out, const offset_fetch_request& r);
void encode(buffer& out, const topic_admin_request& r);
void encode(buffer& out, const list_offsets_request& r);
void encode(buffer& out, const delete_records_request& r);
void encode(buffer& out, const group_join_request& r);
void encode(buffer& out, const group_leave_request& r);
void encode(buffer& out, const init_producer_request& r);
void encode(buffer& out, const group_admin_request& r);
void encode_heartbeat(buffer& out, std::uint32_t request_id);
void encode_metadata_request(buffer& out, std::uint32_t request_id);

expected<publish_request> decode_publish(byte_view payload);
expected<fetch_request> decode_fetch(byte_view payload);
expected<subscribe_request> decode_subscribe(byte_view payload);
expected<credit_request> decode_credit(byte_view payload);
expected<unsubscribe_request> decode_unsubscribe(byte_view payload);
expected<ack_request> decode_ack(byte_view payload);
expected<offset_fetch_request> decode_offset_fetch(byte_view payload);
expected<topic_admin_request> decode_topic_admin(byte_view payload);
expected<list_offsets_request> decode_list_offsets(byte_view payload);
expected<delete_records_request> decode_delete_records(byte_view payload);
expected<group_join_request> decode_group_join(byte_view payload);
expected<group_leave_request> decode_group_leave(byte_view payload);
expected<init_producer_request> decode_init_producer(byte_view payload);
expected<group_admin_request> decode_group_admin(byte_view payload);
/// Heartbeat and Metadata requests carry only the request id.
expected<std::uint32_t> decode_id_only(byte_view payload);

// -- responses (broker -> client) ------------------------------------------------------------
/// Starts a Response frame; the caller appends the body with the body encoders below and
/// then calls finish_frame(out, pos, message_type::response, 0).
std::size_t begin_response(buffer& out, response_header h);
void encode_body(buffer& out, const publish_response& r);
void encode_body(buffer& out, const fetch_response& r);
void encode_body(buffer& out, const offset_fetch_response& r);
void encode_body(buffer& out, const list_offsets_response& r);
void encode_body(buffer& out, const metadata_response& r);
void encode_body(buffer& out, const std::vector<topic_summary>& r);
void encode_body(buffer& out, const topic_detail& r);
void encode_body(buffer& out, const init_producer_response& r);
void encode_body(buffer& out, const std::vector<group_summary>& r);
void encode_body(buffer& out, const group_detail& r);
void encode_u32_body(buffer& out, std::uint32_t v);  ///< subscription id
void encode_i64_body(buffer& out, std::int64_t v);   ///< heartbeat time

/// Appends a Deliver frame: subscription id then a fetch response body.
void encode_deliver(buffer& out, std::uint32_t subscription_id, const fetch_response& r);
void encode(buffer& out, const error_response& e);
/// Appends a GroupAssignment frame (pushed).
void encode(buffer& out, const group_assignment& a);
expected<group_assignment> decode_group_assignment(byte_view payload);

expected<response_header> decode_response_header(byte_view payload, byte_view& body);
expected<error_response> decode_error(byte_view payload);
expected<publish_response> decode_publish_response(byte_view body);
expected<fetch_response> decode_fetch_response(byte_view body);
expected<offset_fetch_response> decode_offset_fetch_response(byte_view body);
expected<list_offsets_response> decode_list_offsets_response(byte_view body);
expected<metadata_response> decode_metadata_response(byte_view body);
expected<std::vector<topic_summary>> decode_topic_list(byte_view body);
expected<topic_detail> decode_topic_detail(byte_view body);
expected<init_producer_response> decode_init_producer_response(byte_view body);
expected<std::vector<group_summary>> decode_group_list(byte_view body);
expected<group_detail> decode_group_detail(byte_view body);
expected<std::uint32_t> decode_u32_body(byte_view body);
expected<std::int64_t> decode_i64_body(byte_view body);
/// A Deliver payload: subscription id and the fetch body.
expected<std::pair<std::uint32_t, fetch_response>> decode_deliver(byte_view payload);

}  // namespace portask::protocol::native
