#include "protocol/native_messages.hpp"

#include <limits>

#include "protocol/wire.hpp"

namespace portask::protocol::native {
namespace {

// -- field helpers: strings are u16 length + bytes; integers big-endian --------------------
void put_str(wire_writer& w, std::string_view s) {
  const auto n = std::min<std::size_t>(s.size(), std::numeric_limits<std::uint16_t>::max());
  w.u16(static_cast<std::uint16_t>(n));
  w.raw(s.substr(0, n));
}
void put_i16(wire_writer& w, std::int16_t v) { w.u16(static_cast<std::uint16_t>(v)); }
void put_i32(wire_writer& w, std::int32_t v) { w.u32(static_cast<std::uint32_t>(v)); }
void put_i64(wire_writer& w, std::int64_t v) { w.u64(static_cast<std::uint64_t>(v)); }

bool get_str(wire_reader& r, std::string& s) {
  std::uint16_t n = 0;
  byte_view v;
  if (!r.u16(n) || !r.raw(n, v)) return false;
  s.assign(as_chars(v));
  return true;
}
bool get_i16(wire_reader& r, std::int16_t& v) {
  std::uint16_t u = 0;
  if (!r.u16(u)) return false;
  v = static_cast<std::int16_t>(u);
  return true;
}
bool get_i32(wire_reader& r, std::int32_t& v) {
  std::uint32_t u = 0;
  if (!r.u32(u)) return false;
  v = static_cast<std::int32_t>(u);
  return true;
}
bool get_i64(wire_reader& r, std::int64_t& v) {
  std::uint64_t u = 0;
  if (!r.u64(u)) return false;
  v = static_cast<std::int64_t>(u);
  return true;
}

// Builds one frame: header reserved, body written by `body`, header finished.
template <class F>
void frame(buffer& out, message_type type, std::uint16_t flags, F&& body) {
  const auto pos = begin_frame(out);
  wire_writer w{out};
  body(w);
  finish_frame(out, pos, type, flags);
}

// A decoder must consume the payload exactly.
template <class T>
expected<T> done(const wire_reader& r, T&& value) {
  if (!r.ok() || !r.at_end()) return errc::malformed_payload;
  return std::forward<T>(value);
}

void put_configs(wire_writer& w, const std::vector<config_entry>& configs) {
  w.u16(static_cast<std::uint16_t>(configs.size()));
  for (const auto& c : configs) {
    put_str(w, c.key);
    put_str(w, c.value);
  }
}
bool get_configs(wire_reader& r, std::vector<config_entry>& configs) {
  std::uint16_t n = 0;
  if (!r.u16(n)) return false;
  configs.resize(n);
  for (auto& c : configs)
    if (!get_str(r, c.key) || !get_str(r, c.value)) return false;
  return true;
}

void put_fetch_body(wire_writer& w, const fetch_response& f) {
  put_i32(w, f.partition);
  put_i64(w, f.high_watermark);
  put_i64(w, f.log_start);
  w.u32(static_cast<std::uint32_t>(f.batches.size()));
  for (const auto& b : f.batches) {
    put_i64(w, b.base_offset);
    w.u32(b.record_count);
    w.u32(static_cast<std::uint32_t>(b.frame.size()));
    w.raw(b.frame.data(), b.frame.size());
  }
}
bool get_fetch_body(wire_reader& r, fetch_response& f) {
  std::uint32_t n = 0;
  if (!get_i32(r, f.partition) || !get_i64(r, f.high_watermark) || !get_i64(r, f.log_start) ||
      !r.u32(n))
    return false;
  if (n > r.remaining() / 16) return false;  // each batch has at least 16 bytes of fields
  f.batches.resize(n);
  for (auto& b : f.batches) {
    std::uint32_t len = 0;
    if (!get_i64(r, b.base_offset) || !r.u32(b.record_count) || !r.u32(len) || !r.raw(len, b.frame))
      return false;
  }
  return true;
}

void put_topic_list(wire_writer& w, const std::vector<topic_summary>& topics) {
  w.u32(static_cast<std::uint32_t>(topics.size()));
  for (const auto& t : topics) {
    put_str(w, t.topic);
    put_i32(w, t.partitions);
  }
}
bool get_topic_list(wire_reader& r, std::vector<topic_summary>& topics) {
  std::uint32_t n = 0;
  if (!r.u32(n) || n > r.remaining() / 6) return false;
  topics.resize(n);
  for (auto& t : topics)
    if (!get_str(r, t.topic) || !get_i32(r, t.partitions)) return false;
  return true;
}

void put_group_summary(wire_writer& w, const group_summary& g) {
  put_str(w, g.group);
  put_str(w, g.state);
  put_str(w, g.protocol_type);
  put_i32(w, g.members);
}
bool get_group_summary(wire_reader& r, group_summary& g) {
  return get_str(r, g.group) && get_str(r, g.state) && get_str(r, g.protocol_type) &&
         get_i32(r, g.members);
}

}  // namespace

std::uint32_t peek_request_id(byte_view payload) noexcept {
  return payload.size() >= 4 ? load_be32(payload.data()) : 0;
}

// -- requests --------------------------------------------------------------------------------

// The acks byte: bit 0 respond after storing, bit 1 an idempotent producer's fields follow.
constexpr std::uint8_t publish_acks = 0x01;
constexpr std::uint8_t publish_idempotent = 0x02;

void encode(buffer& out, const publish_request& r, std::uint16_t batch_flags) {
  frame(out, message_type::publish, batch_flags, [&](wire_writer& w) {
    w.u32(r.request_id);
    w.u8(static_cast<std::uint8_t>((r.acks ? publish_acks : 0) |
                                   (r.producer.present() ? publish_idempotent : 0)));
    put_str(w, r.topic);
    put_i32(w, r.partition);
    if (r.producer.present()) {
      put_i64(w, r.producer.id);
      put_i16(w, r.producer.epoch);
      put_i32(w, r.producer.base_sequence);
    }
    w.raw(r.batch.data(), r.batch.size());
  });
}

expected<publish_request> decode_publish(byte_view payload) {
  wire_reader r{payload};
  publish_request p;
  std::uint8_t flags = 0;
  if (!r.u32(p.request_id) || !r.u8(flags) || !get_str(r, p.topic) || !get_i32(r, p.partition))
    return errc::malformed_payload;
  if (flags & ~(publish_acks | publish_idempotent)) return errc::invalid_request;
  p.acks = flags & publish_acks;
  if (flags & publish_idempotent) {
    if (!get_i64(r, p.producer.id) || !get_i16(r, p.producer.epoch) ||
        !get_i32(r, p.producer.base_sequence))
      return errc::malformed_payload;
    // Sequences are per partition and the broker must be told to respond: an idempotent
    // publish names its partition and asks for an acknowledgement, as Kafka's acks=all.
    if (p.producer.id < 0 || p.producer.epoch < 0 || p.producer.base_sequence < 0 ||
        p.partition < 0 || !p.acks)
      return errc::invalid_request;
  }
  r.raw(r.remaining(), p.batch);
  return p;
}

void encode(buffer& out, const init_producer_request& q) {
  frame(out, message_type::init_producer, 0, [&](wire_writer& w) {
    w.u32(q.request_id);
    put_i64(w, q.producer_id);
    put_i16(w, q.producer_epoch);
  });
}

expected<init_producer_request> decode_init_producer(byte_view payload) {
  wire_reader r{payload};
  init_producer_request q;
  r.u32(q.request_id) && get_i64(r, q.producer_id) && get_i16(r, q.producer_epoch);
  auto out = done(r, std::move(q));
  if (out && (out->producer_id < 0) != (out->producer_epoch < 0)) return errc::invalid_request;
  return out;
}

void encode_body(buffer& out, const init_producer_response& b) {
  wire_writer w{out};
  put_i64(w, b.producer_id);
  put_i16(w, b.producer_epoch);
}

expected<init_producer_response> decode_init_producer_response(byte_view body) {
  wire_reader r{body};
  init_producer_response b;
  get_i64(r, b.producer_id) && get_i16(r, b.producer_epoch);
  return done(r, std::move(b));
}

void encode(buffer& out, const fetch_request& f) {
  frame(out, message_type::fetch, 0, [&](wire_writer& w) {
    w.u32(f.request_id);
    put_str(w, f.topic);
    put_i32(w, f.partition);
    put_i64(w, f.offset);
    w.u32(f.max_bytes);
    w.u32(f.max_wait_ms);
  });
}

expected<fetch_request> decode_fetch(byte_view payload) {
  wire_reader r{payload};
  fetch_request f;
  r.u32(f.request_id) && get_str(r, f.topic) && get_i32(r, f.partition) && get_i64(r, f.offset) &&
      r.u32(f.max_bytes) && r.u32(f.max_wait_ms);
  return done(r, std::move(f));
}

void encode(buffer& out, const subscribe_request& s) {
  frame(out, message_type::subscribe, 0, [&](wire_writer& w) {
    w.u32(s.request_id);
    put_str(w, s.topic);
    put_i32(w, s.partition);
    put_i64(w, s.offset);
    w.u32(s.credit_bytes);
  });
}

expected<subscribe_request> decode_subscribe(byte_view payload) {
  wire_reader r{payload};
  subscribe_request s;
  r.u32(s.request_id) && get_str(r, s.topic) && get_i32(r, s.partition) && get_i64(r, s.offset) &&
      r.u32(s.credit_bytes);
  return done(r, std::move(s));
}

void encode(buffer& out, const credit_request& c) {
  frame(out, message_type::credit, 0, [&](wire_writer& w) {
    w.u32(c.request_id);
    w.u32(c.subscription_id);
    w.u32(c.credit_bytes);
  });
}

expected<credit_request> decode_credit(byte_view payload) {
  wire_reader r{payload};
  credit_request c;
  r.u32(c.request_id) && r.u32(c.subscription_id) && r.u32(c.credit_bytes);
  return done(r, std::move(c));
}

void encode(buffer& out, const unsubscribe_request& u) {
  frame(out, message_type::unsubscribe, 0, [&](wire_writer& w) {
    w.u32(u.request_id);
    w.u32(u.subscription_id);
  });
}

expected<unsubscribe_request> decode_unsubscribe(byte_view payload) {
  wire_reader r{payload};
  unsubscribe_request u;
  r.u32(u.request_id) && r.u32(u.subscription_id);
  return done(r, std::move(u));
}

void encode(buffer& out, const ack_request& a) {
  frame(out, message_type::ack, 0, [&](wire_writer& w) {
    w.u32(a.request_id);
    put_str(w, a.consumer);
    put_str(w, a.topic);
    put_i32(w, a.partition);
    put_i64(w, a.offset);
    put_str(w, a.metadata);
    if (!a.member_id.empty() || a.generation != -1) {
      put_str(w, a.member_id);
      put_i32(w, a.generation);
    }
  });
}

expected<ack_request> decode_ack(byte_view payload) {
  wire_reader r{payload};
  ack_request a;
  r.u32(a.request_id) && get_str(r, a.consumer) && get_str(r, a.topic) &&
      get_i32(r, a.partition) && get_i64(r, a.offset) && get_str(r, a.metadata) &&
      (r.at_end() || (get_str(r, a.member_id) && get_i32(r, a.generation)));
  return done(r, std::move(a));
}

void encode(buffer& out, const offset_fetch_request& o) {
  frame(out, message_type::offset_fetch, 0, [&](wire_writer& w) {
    w.u32(o.request_id);
    put_str(w, o.consumer);
    put_str(w, o.topic);
    put_i32(w, o.partition);
  });
}

expected<offset_fetch_request> decode_offset_fetch(byte_view payload) {
  wire_reader r{payload};
  offset_fetch_request o;
  r.u32(o.request_id) && get_str(r, o.consumer) && get_str(r, o.topic) && get_i32(r, o.partition);
  return done(r, std::move(o));
}

void encode(buffer& out, const topic_admin_request& t) {
  frame(out, message_type::topic_admin, 0, [&](wire_writer& w) {
    w.u32(t.request_id);
    w.u8(static_cast<std::uint8_t>(t.op));
    switch (t.op) {
      case admin_op::create:
        put_str(w, t.topic);
        put_i32(w, t.partitions);
        put_configs(w, t.configs);
        break;
      case admin_op::alter_config:
        put_str(w, t.topic);
        put_configs(w, t.configs);
        break;
      case admin_op::add_partitions:
        put_str(w, t.topic);
        put_i32(w, t.partitions);
        break;
      case admin_op::remove:
      case admin_op::describe:
        put_str(w, t.topic);
        break;
      case admin_op::list:
        break;
    }
  });
}

expected<topic_admin_request> decode_topic_admin(byte_view payload) {
  wire_reader r{payload};
  topic_admin_request t;
  std::uint8_t op = 0;
  if (!r.u32(t.request_id) || !r.u8(op)) return errc::malformed_payload;
  switch (op) {
    case 1:
      get_str(r, t.topic) && get_i32(r, t.partitions) && get_configs(r, t.configs);
      break;
    case 2:
    case 4:
      get_str(r, t.topic);
      break;
    case 3:
      break;
    case 5:
      get_str(r, t.topic) && get_configs(r, t.configs);
      break;
    case 6:
      get_str(r, t.topic) && get_i32(r, t.partitions);
      break;
    default:
      return errc::invalid_request;
  }
  t.op = static_cast<admin_op>(op);
  return done(r, std::move(t));
}

void encode(buffer& out, const list_offsets_request& l) {
  frame(out, message_type::list_offsets, 0, [&](wire_writer& w) {
    w.u32(l.request_id);
    put_str(w, l.topic);
    put_i32(w, l.partition);
    if (l.timestamp) put_i64(w, *l.timestamp);
  });
}

expected<list_offsets_request> decode_list_offsets(byte_view payload) {
  wire_reader r{payload};
  list_offsets_request l;
  if (r.u32(l.request_id) && get_str(r, l.topic) && get_i32(r, l.partition) && !r.at_end()) {
    std::int64_t ts = 0;
    if (get_i64(r, ts)) l.timestamp = ts;
  }
  return done(r, std::move(l));
}

void encode(buffer& out, const delete_records_request& d) {
  frame(out, message_type::delete_records, 0, [&](wire_writer& w) {
    w.u32(d.request_id);
    put_str(w, d.topic);
    put_i32(w, d.partition);
    put_i64(w, d.offset);
  });
}

expected<delete_records_request> decode_delete_records(byte_view payload) {
  wire_reader r{payload};
  delete_records_request d;
  r.u32(d.request_id) && get_str(r, d.topic) && get_i32(r, d.partition) && get_i64(r, d.offset);
  return done(r, std::move(d));
}

void encode(buffer& out, const group_admin_request& g) {
  frame(out, message_type::group_admin, 0, [&](wire_writer& w) {
    w.u32(g.request_id);
    w.u8(static_cast<std::uint8_t>(g.op));
    if (g.op != group_op::list) put_str(w, g.group);
  });
}

expected<group_admin_request> decode_group_admin(byte_view payload) {
  wire_reader r{payload};
  group_admin_request g;
  std::uint8_t op = 0;
  if (!r.u32(g.request_id) || !r.u8(op)) return errc::malformed_payload;
  if (op < 1 || op > 3) return errc::invalid_request;
  g.op = static_cast<group_op>(op);
  if (g.op != group_op::list) get_str(r, g.group);
  return done(r, std::move(g));
}

void encode_heartbeat(buffer& out, std::uint32_t request_id) {
  frame(out, message_type::heartbeat, 0, [&](wire_writer& w) { w.u32(request_id); });
}

void encode_metadata_request(buffer& out, std::uint32_t request_id) {
  frame(out, message_type::metadata, 0, [&](wire_writer& w) { w.u32(request_id); });
}

expected<std::uint32_t> decode_id_only(byte_view payload) {
  wire_reader r{payload};
  std::uint32_t id = 0;
  r.u32(id);
  return done(r, std::move(id));
}

// -- responses -------------------------------------------------------------------------------

std::size_t begin_response(buffer& out, response_header h) {
  const auto pos = begin_frame(out);
  wire_writer w{out};
  w.u32(h.request_id);
  w.u8(static_cast<std::uint8_t>(h.request_type));
  return pos;
}

void encode_body(buffer& out, const publish_response& p) {
  wire_writer w{out};
  put_i32(w, p.partition);
  put_i64(w, p.base_offset);
  w.u32(p.count);
}

void encode_body(buffer& out, const fetch_response& f) {
  wire_writer w{out};
  put_fetch_body(w, f);
}

void encode_body(buffer& out, const offset_fetch_response& o) {
  wire_writer w{out};
  put_i64(w, o.offset);
  put_str(w, o.metadata);
}

void encode_body(buffer& out, const list_offsets_response& l) {
  wire_writer w{out};
  put_i64(w, l.log_start);
  put_i64(w, l.high_watermark);
  if (l.at_time) {
    put_i64(w, l.at_time->offset);
    put_i64(w, l.at_time->timestamp);
  }
}

void encode_body(buffer& out, const metadata_response& m) {
  wire_writer w{out};
  put_str(w, m.broker_host);
  w.u16(m.broker_port);
  put_str(w, m.broker_version);
  put_topic_list(w, m.topics);
}

void encode_body(buffer& out, const std::vector<topic_summary>& topics) {
  wire_writer w{out};
  put_topic_list(w, topics);
}

void encode_body(buffer& out, const topic_detail& t) {
  wire_writer w{out};
  put_str(w, t.topic);
  put_i32(w, t.partitions);
  for (const auto& p : t.partition_states) {
    put_i32(w, p.id);
    put_i64(w, p.log_start);
    put_i64(w, p.high_watermark);
  }
  put_configs(w, t.configs);
  // Appended later: the bytes each partition holds, in partition order.
  for (const auto& p : t.partition_states) put_i64(w, p.stored_bytes);
}

void encode_u32_body(buffer& out, std::uint32_t v) { wire_writer{out}.u32(v); }
void encode_i64_body(buffer& out, std::int64_t v) { wire_writer{out}.u64(static_cast<std::uint64_t>(v)); }

void encode_deliver(buffer& out, std::uint32_t subscription_id, const fetch_response& f) {
  frame(out, message_type::deliver, 0, [&](wire_writer& w) {
    w.u32(subscription_id);
    put_fetch_body(w, f);
  });
}

void encode(buffer& out, const error_response& e) {
  frame(out, message_type::error, 0, [&](wire_writer& w) {
    w.u32(e.request_id);
    w.u16(e.code);
    w.u8(e.retriable ? 1 : 0);
    put_str(w, e.message);
  });
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

expected<error_response> decode_error(byte_view payload) {
  wire_reader r{payload};
  error_response e;
  std::uint8_t retriable = 0;
  r.u32(e.request_id) && r.u16(e.code) && r.u8(retriable) && get_str(r, e.message);
  e.retriable = retriable != 0;
  return done(r, std::move(e));
}

expected<publish_response> decode_publish_response(byte_view body) {
  wire_reader r{body};
  publish_response p;
  get_i32(r, p.partition) && get_i64(r, p.base_offset) && r.u32(p.count);
  return done(r, std::move(p));
}

expected<fetch_response> decode_fetch_response(byte_view body) {
  wire_reader r{body};
  fetch_response f;
  if (!get_fetch_body(r, f)) return errc::malformed_payload;
  return done(r, std::move(f));
}

expected<offset_fetch_response> decode_offset_fetch_response(byte_view body) {
  wire_reader r{body};
  offset_fetch_response o;
  get_i64(r, o.offset) && get_str(r, o.metadata);
  return done(r, std::move(o));
}

expected<list_offsets_response> decode_list_offsets_response(byte_view body) {
  wire_reader r{body};
  list_offsets_response l;
  if (get_i64(r, l.log_start) && get_i64(r, l.high_watermark) && !r.at_end()) {
    offset_at_time t;
    if (get_i64(r, t.offset) && get_i64(r, t.timestamp)) l.at_time = t;
  }
  return done(r, std::move(l));
}

expected<metadata_response> decode_metadata_response(byte_view body) {
  wire_reader r{body};
  metadata_response m;
  get_str(r, m.broker_host) && r.u16(m.broker_port) && get_str(r, m.broker_version) &&
      get_topic_list(r, m.topics);
  return done(r, std::move(m));
}

expected<std::vector<topic_summary>> decode_topic_list(byte_view body) {
  wire_reader r{body};
  std::vector<topic_summary> topics;
  get_topic_list(r, topics);
  return done(r, std::move(topics));
}

expected<topic_detail> decode_topic_detail(byte_view body) {
  wire_reader r{body};
  topic_detail t;
  if (!get_str(r, t.topic) || !get_i32(r, t.partitions) || t.partitions < 0 ||
      static_cast<std::size_t>(t.partitions) > r.remaining() / 20)
    return errc::malformed_payload;
  t.partition_states.resize(static_cast<std::size_t>(t.partitions));
  for (auto& p : t.partition_states)
    if (!get_i32(r, p.id) || !get_i64(r, p.log_start) || !get_i64(r, p.high_watermark))
      return errc::malformed_payload;
  if (get_configs(r, t.configs) && !r.at_end())
    for (auto& p : t.partition_states) get_i64(r, p.stored_bytes);
  return done(r, std::move(t));
}

void encode_body(buffer& out, const std::vector<group_summary>& groups) {
  wire_writer w{out};
  w.u32(static_cast<std::uint32_t>(groups.size()));
  for (const auto& g : groups) put_group_summary(w, g);
}

expected<std::vector<group_summary>> decode_group_list(byte_view body) {
  wire_reader r{body};
  std::vector<group_summary> groups;
  std::uint32_t n = 0;
  if (!r.u32(n) || n > r.remaining() / 10) return errc::malformed_payload;
  groups.resize(n);
  for (auto& g : groups)
    if (!get_group_summary(r, g)) return errc::malformed_payload;
  return done(r, std::move(groups));
}

void encode_body(buffer& out, const group_detail& g) {
  wire_writer w{out};
  put_group_summary(w, g.summary);
  put_str(w, g.protocol_name);
  put_i32(w, g.generation);
  put_str(w, g.leader);
  w.u32(static_cast<std::uint32_t>(g.members.size()));
  for (const auto& m : g.members) {
    put_str(w, m.member_id);
    put_str(w, m.client_id);
    put_str(w, m.client_host);
    w.u32(static_cast<std::uint32_t>(m.partitions.size()));
    for (const auto& [topic, partition] : m.partitions) {
      put_str(w, topic);
      put_i32(w, partition);
    }
  }
  w.u32(static_cast<std::uint32_t>(g.offsets.size()));
  for (const auto& o : g.offsets) {
    put_str(w, o.topic);
    put_i32(w, o.partition);
    put_i64(w, o.offset);
    put_str(w, o.metadata);
  }
}

expected<group_detail> decode_group_detail(byte_view body) {
  wire_reader r{body};
  group_detail g;
  std::uint32_t n = 0;
  if (!get_group_summary(r, g.summary) || !get_str(r, g.protocol_name) ||
      !get_i32(r, g.generation) || !get_str(r, g.leader) || !r.u32(n) || n > r.remaining() / 10)
    return errc::malformed_payload;
  g.members.resize(n);
  for (auto& m : g.members) {
    std::uint32_t parts = 0;
    if (!get_str(r, m.member_id) || !get_str(r, m.client_id) || !get_str(r, m.client_host) ||
        !r.u32(parts) || parts > r.remaining() / 6)
      return errc::malformed_payload;
    m.partitions.resize(parts);
    for (auto& [topic, partition] : m.partitions)
      if (!get_str(r, topic) || !get_i32(r, partition)) return errc::malformed_payload;
  }
  if (!r.u32(n) || n > r.remaining() / 16) return errc::malformed_payload;
  g.offsets.resize(n);
  for (auto& o : g.offsets)
    if (!get_str(r, o.topic) || !get_i32(r, o.partition) || !get_i64(r, o.offset) ||
        !get_str(r, o.metadata))
      return errc::malformed_payload;
  return done(r, std::move(g));
}

expected<std::uint32_t> decode_u32_body(byte_view body) {
  wire_reader r{body};
  std::uint32_t v = 0;
  r.u32(v);
  return done(r, std::move(v));
}

expected<std::int64_t> decode_i64_body(byte_view body) {
  wire_reader r{body};
  std::int64_t v = 0;
  get_i64(r, v);
  return done(r, std::move(v));
}

expected<std::pair<std::uint32_t, fetch_response>> decode_deliver(byte_view payload) {
  wire_reader r{payload};
  std::pair<std::uint32_t, fetch_response> d;
  if (!r.u32(d.first) || !get_fetch_body(r, d.second)) return errc::malformed_payload;
  return done(r, std::move(d));
}

// -- consumer groups --------------------------------------------------------------------------

void encode(buffer& out, const group_join_request& g) {
  frame(out, message_type::group_join, 0, [&](wire_writer& w) {
    w.u32(g.request_id);
    put_str(w, g.group);
    w.u8(g.strategy);
    w.u32(g.session_timeout_ms);
    w.u32(static_cast<std::uint32_t>(g.topics.size()));
    for (const auto& t : g.topics) put_str(w, t);
  });
}

expected<group_join_request> decode_group_join(byte_view payload) {
  wire_reader r{payload};
  group_join_request g;
  std::uint32_t n = 0;
  if (!r.u32(g.request_id) || !get_str(r, g.group) || !r.u8(g.strategy) ||
      !r.u32(g.session_timeout_ms) || !r.u32(n) || n > payload.size() / 2)
    return errc::malformed_payload;
  g.topics.resize(n);
  for (auto& t : g.topics)
    if (!get_str(r, t)) return errc::malformed_payload;
  if (g.strategy > 1 || g.group.empty() || g.topics.empty()) return errc::invalid_request;
  return done(r, std::move(g));
}

void encode(buffer& out, const group_leave_request& g) {
  frame(out, message_type::group_leave, 0, [&](wire_writer& w) {
    w.u32(g.request_id);
    w.u32(g.membership_id);
  });
}

expected<group_leave_request> decode_group_leave(byte_view payload) {
  wire_reader r{payload};
  group_leave_request g;
  r.u32(g.request_id) && r.u32(g.membership_id);
  return done(r, std::move(g));
}

void encode(buffer& out, const group_assignment& a) {
  frame(out, message_type::group_assignment, 0, [&](wire_writer& w) {
    w.u32(a.membership_id);
    put_str(w, a.group);
    put_str(w, a.member_id);
    put_i32(w, a.generation);
    w.u32(static_cast<std::uint32_t>(a.partitions.size()));
    for (const auto& [topic, p] : a.partitions) {
      put_str(w, topic);
      put_i32(w, p);
    }
  });
}

expected<group_assignment> decode_group_assignment(byte_view payload) {
  wire_reader r{payload};
  group_assignment a;
  std::uint32_t n = 0;
  if (!r.u32(a.membership_id) || !get_str(r, a.group) || !get_str(r, a.member_id) ||
      !get_i32(r, a.generation) || !r.u32(n) || n > payload.size() / 6)
    return errc::malformed_payload;
  a.partitions.resize(n);
  for (auto& [topic, p] : a.partitions)
    if (!get_str(r, topic) || !get_i32(r, p)) return errc::malformed_payload;
  return done(r, std::move(a));
}

}  // namespace portask::protocol::native
