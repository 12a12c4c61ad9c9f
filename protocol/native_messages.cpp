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

}  // namespace portask::protocol::native
