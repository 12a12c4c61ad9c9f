#pragma once
/// What a cluster node advertises in its registration (storage::node_registration's
/// endpoints): where clients reach its listeners. Text, one "key=host:port" per line:
/// "kafka.<listener name>", "native", "http".

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace portask {

struct host_port {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const host_port&, const host_port&) = default;
};

struct node_info {
  std::int32_t id = -1;
  std::map<std::string, host_port> kafka;  ///< by Kafka listener name
  std::optional<host_port> native;
  std::optional<host_port> http;
  /// The Kafka listener `name`, or none when this node has no such listener.
  const host_port* kafka_listener(const std::string& name) const {
    auto it = kafka.find(name);
    return it == kafka.end() ? nullptr : &it->second;
  }
  friend bool operator==(const node_info&, const node_info&) = default;
};

std::string encode_endpoints(const node_info& n);
/// Lines that do not parse are skipped (a newer node may advertise more).
node_info decode_endpoints(std::int32_t id, std::string_view text);
/// "host:port" (an IPv6 host in brackets); none when it does not parse.
std::optional<host_port> parse_host_port(std::string_view text);
std::string to_string(const host_port& hp);

}  // namespace portask
