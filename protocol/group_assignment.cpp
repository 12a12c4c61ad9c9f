#include "protocol/group_assignment.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "protocol/kafka/consumer_protocol.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol {

namespace {

std::string as_string(const buffer& b) { return std::string(as_chars(b)); }

}  // namespace

const char* to_protocol_name(assignment_strategy s) noexcept {
  return s == assignment_strategy::range ? "range" : "roundrobin";
}

bool parse_protocol_name(std::string_view name, assignment_strategy& out) noexcept {
  if (name == "range") out = assignment_strategy::range;
  else if (name == "roundrobin") out = assignment_strategy::round_robin;
  else return false;
  return true;
}

std::map<std::string, std::vector<partition_ref>> assign_partitions(
    assignment_strategy strategy, std::vector<group_subscriber> members,
    const std::map<std::string, std::int32_t>& partitions) {
  std::map<std::string, std::vector<partition_ref>> out;
  std::sort(members.begin(), members.end(),
            [](const auto& a, const auto& b) { return a.member_id < b.member_id; });
  for (const auto& m : members) out[m.member_id];
  auto subscribed = [](const group_subscriber& m, const std::string& topic) {
    return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
  };
  std::set<std::string> topics;
  for (const auto& m : members) topics.insert(m.topics.begin(), m.topics.end());
  if (strategy == assignment_strategy::range) {
    // Per topic: consecutive ranges, the first (n % m) members one partition more.
    for (const auto& topic : topics) {
      auto count = partitions.find(topic);
      if (count == partitions.end()) continue;
      std::vector<const group_subscriber*> takers;
      for (const auto& m : members)
        if (subscribed(m, topic)) takers.push_back(&m);
      if (takers.empty()) continue;
      const auto n = static_cast<std::size_t>(count->second);
      const auto per = n / takers.size(), extra = n % takers.size();
      std::size_t next = 0;
      for (std::size_t i = 0; i < takers.size(); ++i) {
        const auto take = per + (i < extra ? 1 : 0);
        for (std::size_t k = 0; k < take; ++k)
          out[takers[i]->member_id].emplace_back(topic, static_cast<std::int32_t>(next++));
      }
    }
    return out;
  }
  // Round-robin over every (topic, partition) in order, skipping members not subscribed.
  if (members.empty()) return out;
  std::size_t cursor = 0;
  for (const auto& topic : topics) {
    auto count = partitions.find(topic);
    if (count == partitions.end()) continue;
    for (std::int32_t p = 0; p < count->second; ++p) {
      for (std::size_t tries = 0; tries < members.size(); ++tries) {
        const auto& m = members[cursor++ % members.size()];
        if (!subscribed(m, topic)) continue;
        out[m.member_id].emplace_back(topic, p);
        break;
      }
    }
  }
  return out;
}

std::string encode_subscription(const std::vector<std::string>& topics) {
  buffer b;
  wire_writer w{b};
  w.u32(static_cast<std::uint32_t>(topics.size()));
  for (const auto& t : topics) w.str16(t);
  return as_string(b);
}

expected<std::vector<std::string>> decode_subscription(byte_view bytes) {
  wire_reader r{bytes};
  std::uint32_t n = 0;
  if (!r.u32(n) || n > bytes.size() / 2) return errc::malformed_payload;
  std::vector<std::string> topics(n);
  for (auto& t : topics)
    if (!r.str16(t)) return errc::malformed_payload;
  if (!r.at_end()) return errc::malformed_payload;
  return topics;
}

std::string encode_assignment(const std::vector<partition_ref>& partitions) {
  buffer b;
  wire_writer w{b};
  w.u32(static_cast<std::uint32_t>(partitions.size()));
  for (const auto& [topic, p] : partitions) {
    w.str16(topic);
    w.u32(static_cast<std::uint32_t>(p));
  }
  return as_string(b);
}

expected<std::vector<partition_ref>> decode_assignment(byte_view bytes) {
  wire_reader r{bytes};
  std::uint32_t n = 0;
  if (!r.u32(n) || n > bytes.size() / 6) return errc::malformed_payload;
  std::vector<partition_ref> out(n);
  for (auto& [topic, p] : out) {
    std::uint32_t u = 0;
    if (!r.str16(topic) || !r.u32(u)) return errc::malformed_payload;
    p = static_cast<std::int32_t>(u);
  }
  if (!r.at_end()) return errc::malformed_payload;
  return out;
}

std::vector<partition_ref> member_partitions(std::string_view protocol_type, byte_view bytes) {
  if (protocol_type == "consumer")
    if (auto a = kafka::decode_consumer_assignment(bytes)) return std::move(*a);
  if (protocol_type == "portask")
    if (auto a = decode_assignment(bytes)) return std::move(*a);
  return {};
}

}  // namespace portask::protocol
