#include "protocol/kafka/offsets_topic.hpp"

#include "protocol/bytes.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {
namespace {

// Kafka's classic encodings, as the offsets topic uses them.
class record_writer {
 public:
  void i16(std::int16_t v) { w_.u16(static_cast<std::uint16_t>(v)); }
  void i32(std::int32_t v) { w_.u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { w_.u64(static_cast<std::uint64_t>(v)); }
  void string(const std::string& s) {
    w_.u16(static_cast<std::uint16_t>(s.size()));
    w_.raw(s);
  }
  void nullable_string(const std::optional<std::string>& s) {
    if (!s) return i16(-1);
    string(*s);
  }
  void bytes(const std::string& s) {
    w_.u32(static_cast<std::uint32_t>(s.size()));
    w_.raw(s);
  }
  std::string take() { return std::string(as_chars(out_)); }

 private:
  buffer out_;
  wire_writer w_{out_};
};

}  // namespace

std::string offset_commit_key(const std::string& group, const std::string& topic,
                              std::int32_t partition) {
  record_writer w;
  w.i16(1);
  w.string(group);
  w.string(topic);
  w.i32(partition);
  return w.take();
}

std::string offset_commit_value(std::int64_t offset, std::int32_t leader_epoch,
                                const std::string& metadata, std::int64_t commit_timestamp_ms) {
  record_writer w;
  w.i16(3);
  w.i64(offset);
  w.i32(leader_epoch);
  w.string(metadata);
  w.i64(commit_timestamp_ms);
  return w.take();
}

std::string group_metadata_key(const std::string& group) {
  record_writer w;
  w.i16(2);
  w.string(group);
  return w.take();
}

std::string group_metadata_value(const group_metadata& g) {
  // Without static members, v1 holds everything a reader uses (v2 adds only the state
  // timestamp, v3 the instance ids) and is what tools written before Kafka 2.1 read:
  // Burrow 1.2 refuses v2 and v3 group records.
  bool any_static = false;
  for (const auto& m : g.members) any_static = any_static || m.instance_id.has_value();
  record_writer w;
  w.i16(any_static ? 3 : 1);
  w.string(g.protocol_type);
  w.i32(g.generation);
  w.nullable_string(g.protocol);
  w.nullable_string(g.leader);
  if (any_static) w.i64(g.state_timestamp_ms);
  w.i32(static_cast<std::int32_t>(g.members.size()));
  for (const auto& m : g.members) {
    w.string(m.member_id);
    if (any_static) w.nullable_string(m.instance_id);
    w.string(m.client_id);
    w.string(m.client_host);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.take();
}

}  // namespace portask::protocol::kafka
