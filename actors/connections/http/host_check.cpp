#include "actors/connections/http/host_check.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

namespace portask {

namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

bool is_ip_literal(std::string_view host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

}  // namespace

std::vector<std::string> http_host_names(const broker_config& c) {
  std::vector<std::string> names;
  auto add = [&](const std::string& n) {
    if (!n.empty()) names.push_back(lowered(n));
  };
  add(c.http.host);
  add(c.native.host);
  add(c.kafka.host);
  add(c.kafka_advertised_host);
  add(c.cluster.advertised_host);
  for (const auto& l : c.kafka_listeners) {
    add(l.listener.host);
    add(l.advertised_host);
  }
  for (const auto& n : c.http_allowed_hosts) add(n);
  return names;
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& names) {
  if (host_header.empty()) return true;  // HTTP/1.0 without Host, or an empty one: no browser sends either
  std::string_view host = host_header;
  if (is_ip_literal(host)) return true;  // an IPv6 address a client did not bracket, too
  if (host.front() == '[') {  // an IPv6 literal, with or without a port
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    const auto rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    return is_ip_literal(host.substr(1, close - 1));
  }
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    const auto port = host.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
      return false;
    host = host.substr(0, colon);
  }
  if (host.empty()) return false;
  if (is_ip_literal(host)) return true;
  const auto name = lowered(host);
  if (name == "localhost" || name.ends_with(".localhost")) return true;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n == "*" || n == name; });
}

}  // namespace portask
