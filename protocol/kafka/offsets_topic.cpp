#include "protocol/kafka/offsets_topic.hpp"

#include "protocol/bytes.hpp"
#include "protocol/kafka/kafka_wire.hpp"

namespace portask::protocol::kafka {
namespace {

// The offsets topic's records use Kafka's classic (non-flexible) encodings.
constexpr bool classic = false;

void nullable_string(writer& w, const std::optional<std::string>& s) {
  if (s)
    w.string(*s, classic);
  else
    w.null_string(classic);
}

std::string as_string(const buffer& b) { return std::string(as_chars(b)); }

}  // namespace

std::string offset_commit_key(const std::string& group, const std::string& topic,
                              std::int32_t partition) {
  buffer out;
  writer w{out};
  w.i16(1);
  w.string(group, classic);
  w.string(topic, classic);
  w.i32(partition);
  return as_string(out);
}

std::string offset_commit_value(std::int64_t offset, std::int32_t leader_epoch,
                                const std::string& metadata, std::int64_t commit_timestamp_ms) {
  buffer out;
  writer w{out};
  w.i16(3);
  w.i64(offset);
  w.i32(leader_epoch);
  w.string(metadata, classic);
  w.i64(commit_timestamp_ms);
  return as_string(out);
}

std::string group_metadata_key(const std::string& group) {
  buffer out;
  writer w{out};
  w.i16(2);
  w.string(group, classic);
  return as_string(out);
}

std::string group_metadata_value(const group_metadata& g) {
  // Without static members, v1 holds everything a reader uses (v2 adds only the state
  // timestamp, v3 the instance ids) and is what tools written before Kafka 2.1 read:
  // Burrow 1.2 refuses v2 and v3 group records.
  bool any_static = false;
  for (const auto& m : g.members) any_static = any_static || m.instance_id.has_value();
  buffer out;
  writer w{out};
  w.i16(any_static ? 3 : 1);
  w.string(g.protocol_type, classic);
  w.i32(g.generation);
  nullable_string(w, g.protocol);
  nullable_string(w, g.leader);
  if (any_static) w.i64(g.state_timestamp_ms);
  w.i32(static_cast<std::int32_t>(g.members.size()));
  for (const auto& m : g.members) {
    w.string(m.member_id, classic);
    if (any_static) nullable_string(w, m.instance_id);
    w.string(m.client_id, classic);
    w.string(m.client_host, classic);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(m.subscription, classic);
    w.bytes(m.assignment, classic);
  }
  return as_string(out);
}

}  // namespace portask::protocol::kafka
