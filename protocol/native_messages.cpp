// The parts of the native protocol that are rules rather than layouts: the Response header
// and the checks a decoded request must pass beyond its schema (docs/protocol.md section 4).
#include "protocol/native_messages.hpp"

#include "protocol/wire.hpp"

namespace portask::protocol::native {

std::uint32_t peek_request_id(byte_view payload) noexcept {
  return payload.size() >= 4 ? load_be32(payload.data()) : 0;
}

std::size_t begin_response(buffer& out, response_header h) {
  const auto pos = begin_frame(out);
  wire_writer w{out};
  w.u32(h.request_id);
  w.u8(static_cast<std::uint8_t>(h.request_type));
  return pos;
}

expected<response_header> decode_response_header(byte_view payload, byte_view& body) {
  wire_reader r{payload};
  response_header h;
  std::uint8_t type = 0;
  if (!r.u32(h.request_id) || !r.u8(type) || !is_known_type(type)) return errc::malformed_payload;
  h.request_type = static_cast<message_type>(type);
  r.raw(r.remaining(), body);
  return h;
}

bool valid(const publish_request& p) noexcept {
  // Sequences are per partition and the broker must be told to respond: an idempotent
  // publish names its partition and asks for an acknowledgement, as Kafka's acks=all.
  if (!p.producer.present()) return true;
  return p.producer.id >= 0 && p.producer.epoch >= 0 && p.producer.base_sequence >= 0 &&
         p.partition >= 0 && p.acks;
}

bool valid(const init_producer_request& q) noexcept {
  // A new producer (both -1) or the next epoch of an existing one (both set).
  return (q.producer_id < 0) == (q.producer_epoch < 0);
}

bool valid(const group_join_request& g) noexcept {
  return g.strategy <= 1 && !g.group.empty() && !g.topics.empty();
}

namespace {

// An admin request's operation follows its request id. Given only those two fields, its
// decoder refuses an operation the schema does not define (invalid_request) and finds any
// other one short of the fields it needs, so the schema's list of operations is not
// repeated here.
template <class Decode>
std::string unknown_operation(Decode decode, byte_view payload) {
  constexpr std::size_t op_end = 5;
  if (payload.size() < op_end || decode(payload.first(op_end)).error() != errc::invalid_request) return {};
  return "unknown operation " + std::to_string(payload[op_end - 1]);
}

}  // namespace

std::string refusal_reason(message_type type, byte_view payload) {
  // The rules of valid() above, as the sender is told them: each type's decoder refuses
  // nothing else as invalid_request but what is named here.
  switch (type) {
    case message_type::topic_admin: return unknown_operation(decode_topic_admin, payload);
    case message_type::group_admin: return unknown_operation(decode_group_admin, payload);
    case message_type::user_admin: return unknown_operation(decode_user_admin, payload);
    case message_type::acl_admin: return unknown_operation(decode_acl_admin, payload);
    case message_type::init_producer:
      return "producer_id and producer_epoch must both be -1 (a new producer) or both be set "
             "(the next epoch of that producer)";
    case message_type::group_join:
      return "a GroupJoin names a group, strategy 0 (range) or 1 (round-robin) and at least one topic";
    case message_type::publish:
      return "acks bits other than 0 (respond) and 1 (idempotent) must be clear, and an idempotent "
             "publish names its partition, asks for a response and has a producer id, epoch and "
             "sequence of 0 or more";
    // Its one bool (every decoder refuses a bool other than 0 or 1).
    case message_type::metadata: return "cluster is a bool: 0 or 1";
    default: return {};
  }
}

}  // namespace portask::protocol::native
