#include "storage/log_store.hpp"

#include <charconv>
#include <random>

#include "protocol/frame.hpp"
#include "protocol/wire.hpp"

namespace portask::storage {

std::error_code verify_stored_frame(protocol::byte_view frame) noexcept {
  protocol::frame_limits unlimited{UINT32_MAX};
  auto f = protocol::decode_frame(frame, unlimited);
  if (!f || protocol::frame_size(*f) != frame.size()) return errc::corrupt_stored_data;
  return {};
}

}  // namespace portask::storage

namespace portask::storage {

std::int32_t last_sequence(std::int32_t first, std::uint32_t count) noexcept {
  if (first < 0 || count == 0) return first;
  const std::int64_t last = static_cast<std::int64_t>(first) + count - 1;
  return static_cast<std::int32_t>(last % (std::int64_t{1} << 31));
}

}  // namespace portask::storage

namespace portask::storage {

namespace {
topic_id as_version4(std::uint64_t hi, std::uint64_t lo) {
  topic_id id{};
  for (int i = 0; i < 8; ++i) {
    id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    id[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  id[6] = static_cast<std::uint8_t>((id[6] & 0x0F) | 0x40);  // version 4
  id[8] = static_cast<std::uint8_t>((id[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}
}  // namespace

topic_id new_topic_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return as_version4(rng(), rng());
}

topic_id topic_id_from_name(std::string_view name) {
  return as_version4(fnv1a(name, 0xcbf29ce484222325ULL), fnv1a(name, 0x84222325cbf29ce4ULL));
}

std::string to_string(const topic_id& id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[id[i] >> 4];
    out += hex[id[i] & 0x0F];
  }
  return out;
}

}  // namespace portask::storage

namespace portask::storage {

namespace sec = protocol::security;

// A version byte first, so that a later layout can be told apart.
std::string encode_credential(const sec::scram_credential& c) {
  protocol::buffer out;
  protocol::wire_writer w{out};
  w.u8(1);
  w.uvarint(static_cast<std::uint64_t>(c.iterations));
  w.bytes(c.salt);
  w.bytes(c.stored_key);
  w.bytes(c.server_key);
  return std::string(protocol::as_chars(protocol::byte_view{out}));
}

std::optional<sec::scram_credential> decode_credential(sec::scram_mechanism m, std::string_view bytes) {
  protocol::wire_reader r{protocol::as_bytes(bytes)};
  std::uint8_t version = 0;
  std::uint64_t iterations = 0;
  sec::scram_credential c;
  c.mechanism = m;
  if (!r.u8(version) || version != 1 || !r.uvarint(iterations) || iterations > INT32_MAX ||
      !r.bytes(c.salt) || !r.bytes(c.stored_key) || !r.bytes(c.server_key) || !r.at_end() ||
      c.stored_key.size() != sec::digest_size(sec::hash_of(m)))
    return std::nullopt;
  c.iterations = static_cast<std::int32_t>(iterations);
  return c;
}

std::string encode_acl(const sec::acl_binding& b) {
  protocol::buffer out;
  protocol::wire_writer w{out};
  w.u8(1);
  w.u8(static_cast<std::uint8_t>(b.resource));
  w.bytes(b.name);
  w.u8(static_cast<std::uint8_t>(b.pattern));
  w.bytes(b.principal);
  w.bytes(b.host);
  w.u8(static_cast<std::uint8_t>(b.operation));
  w.u8(static_cast<std::uint8_t>(b.permission));
  return std::string(protocol::as_chars(protocol::byte_view{out}));
}

std::optional<sec::acl_binding> decode_acl(std::string_view bytes) {
  protocol::wire_reader r{protocol::as_bytes(bytes)};
  std::uint8_t version = 0, resource = 0, pattern = 0, operation = 0, permission = 0;
  sec::acl_binding b;
  if (!r.u8(version) || version != 1 || !r.u8(resource) || !r.bytes(b.name) || !r.u8(pattern) ||
      !r.bytes(b.principal) || !r.bytes(b.host) || !r.u8(operation) || !r.u8(permission) || !r.at_end())
    return std::nullopt;
  b.resource = static_cast<sec::resource_type>(resource);
  b.pattern = static_cast<sec::pattern_type>(pattern);
  b.operation = static_cast<sec::acl_operation>(operation);
  b.permission = static_cast<sec::acl_permission>(permission);
  if (!sec::invalid_binding(b).empty()) return std::nullopt;
  return b;
}

}  // namespace portask::storage

namespace portask::storage {

std::string lease_value(const lease_holder& h) {
  return std::to_string(h.node) + ":" + std::to_string(h.epoch) + ":" + h.token;
}

lease_holder parse_lease_value(std::string_view value) {
  lease_holder h;
  const auto first = value.find(':');
  const auto second = first == std::string_view::npos ? first : value.find(':', first + 1);
  if (second == std::string_view::npos) return h;
  std::int32_t node = -1;
  std::int64_t epoch = 0;
  const auto n = value.substr(0, first);
  const auto e = value.substr(first + 1, second - first - 1);
  if (std::from_chars(n.data(), n.data() + n.size(), node).ptr != n.data() + n.size() || node < 0)
    return h;
  if (std::from_chars(e.data(), e.data() + e.size(), epoch).ptr != e.data() + e.size() || epoch < 1)
    return h;
  h.node = node;
  h.epoch = epoch;
  h.token = std::string(value.substr(second + 1));
  return h;
}

// Topic names hold no ':', so "partition:<topic>:<n>" is unambiguous; the prefix keeps
// partitions and groups (any string) apart.
std::string partition_lease(const topic_partition& tp) {
  return "partition:" + tp.topic + ":" + std::to_string(tp.partition);
}

std::string group_lease(std::string_view group) { return "group:" + std::string(group); }

}  // namespace portask::storage
