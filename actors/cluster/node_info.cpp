#include "actors/cluster/node_info.hpp"

#include <charconv>

namespace portask {

std::string to_string(const host_port& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

std::optional<host_port> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto host = text.substr(0, colon);
  const auto port = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return std::nullopt;
  return host_port{std::string(host), static_cast<std::uint16_t>(value)};
}

std::string encode_endpoints(const node_info& n) {
  std::string out;
  for (const auto& [name, hp] : n.kafka) out += "kafka." + name + "=" + to_string(hp) + "\n";
  if (n.native) out += "native=" + to_string(*n.native) + "\n";
  if (n.http) out += "http=" + to_string(*n.http) + "\n";
  return out;
}

node_info decode_endpoints(std::int32_t id, std::string_view text) {
  node_info n;
  n.id = id;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const auto key = line.substr(0, eq);
    const auto hp = parse_host_port(line.substr(eq + 1));
    if (!hp) continue;
    if (key.starts_with("kafka.") && key.size() > 6)
      n.kafka[std::string(key.substr(6))] = *hp;
    else if (key == "native")
      n.native = *hp;
    else if (key == "http")
      n.http = *hp;
  }
  return n;
}

}  // namespace portask
