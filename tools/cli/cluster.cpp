// portask-cli cluster info (the broker, its topics and groups, its health), cluster nodes
// (the cluster's live nodes and who owns what) and stats (the broker's /metrics samples). All
// ask the broker named by --host.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/socket_connect.hpp"
#include "protocol/base64.hpp"
#include "tools/cli/cli.hpp"

namespace portask::cli {
namespace {

// GET `path` from the broker's HTTP port; the response body, or a runtime_error. With
// --user it sends HTTP Basic credentials (the password as for the native listener), which
// /api/ needs once authorization is on.
std::string http_get(const common_options& o, const std::string& path) {
  // This reads the HTTP listener in the clear; it cannot honour TLS.
  if (o.tls || !o.tls_ca_file.empty() || !o.tls_cert_file.empty())
    throw usage_error("stats and cluster info read the HTTP listener over plain HTTP; --tls applies to the "
                      "native listener only (use curl for HTTPS)");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const auto port = std::to_string(o.http_port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    throw runtime_error("cannot resolve " + o.host + ": " + gai_strerror(rc));
  int fd = -1;
  for (auto* a = found; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && !client::connect_within(fd, a->ai_addr, a->ai_addrlen, std::chrono::milliseconds(o.timeout_ms))) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) throw runtime_error("cannot reach the HTTP port " + o.host + ":" + port);
  timeval tv{static_cast<time_t>(o.timeout_ms / 1000),
             static_cast<suseconds_t>((o.timeout_ms % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string credentials;
  if (!o.user.empty())
    credentials = "Authorization: Basic " +
                  protocol::base64_encode(o.user + ":" + password_for(o.user)) +
                  "\r\n";
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + o.host + "\r\n" + credentials +
                          "Connection: close\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  close(fd);
  const auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos)
    throw runtime_error("GET " + path + ": " + response.substr(0, response.find('\r')));
  return response.substr(body + 4);
}

void stats(const common_options& o) {
  std::istringstream lines(http_get(o, "/metrics"));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') std::cout << line << '\n';
}

void info(const common_options& o, listing format) {
  auto c = open(o);
  const auto md = check(c.metadata(), "metadata");
  const auto groups = check(c.list_groups(), "list groups");
  std::int64_t partitions = 0;
  for (const auto& t : md.topics) partitions += t.partitions;
  std::string health = "unknown";
  try {
    health = http_get(o, "/health");
    while (!health.empty() && std::isspace(static_cast<unsigned char>(health.back())))
      health.pop_back();
  } catch (const runtime_error& e) {
    health = std::string("unreachable (") + e.what() + ")";
  }
  if (format == listing::json) {
    nlohmann::json out{{"broker", {{"host", md.broker_host}, {"port", md.broker_port},
                                   {"version", md.broker_version}}},
                       {"topics", md.topics.size()},
                       {"partitions", partitions},
                       {"groups", groups.size()},
                       {"health", nlohmann::json::parse(health, nullptr, false)}};
    if (out["health"].is_discarded()) out["health"] = health;
    std::cout << out.dump() << '\n';
    return;
  }
  print_table({{"BROKER", "VERSION", "TOPICS", "PARTITIONS", "GROUPS"},
               {md.broker_host + ":" + std::to_string(md.broker_port), md.broker_version,
                std::to_string(md.topics.size()), std::to_string(partitions),
                std::to_string(groups.size())}});
  std::cout << "health: " << health << '\n';
}

// The cluster's nodes and who owns what, as the broker named by --host sees it (/api/cluster).
void nodes(const common_options& o, listing format) {
  const auto body = http_get(o, "/api/cluster");
  const auto view = nlohmann::json::parse(body, nullptr, false);
  if (view.is_discarded() || !view.contains("nodes")) throw runtime_error("GET /api/cluster: not the expected JSON");
  if (format == listing::json) {
    std::cout << view.dump() << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{{"NODE", "KAFKA", "NATIVE", "HTTP", "PARTITIONS"}};
  for (const auto& n : view["nodes"]) {
    std::string kafka;
    for (const auto& [name, address] : n["kafka"].items())
      kafka += (kafka.empty() ? "" : " ") + name + "=" + address.get<std::string>();
    auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string("-"); };
    rows.push_back({std::to_string(n["id"].get<int>()) + (n["self"].get<bool>() ? " (this)" : ""), kafka,
                    text(n.value("native", nlohmann::json())), text(n.value("http", nlohmann::json())),
                    std::to_string(n.value("partitions", 0))});
  }
  print_table(rows);
  std::size_t unowned = 0;
  for (const auto& p : view["partitions"]) unowned += !p["held"].get<bool>();
  std::cout << (view["clustered"].get<bool>() ? "cluster" : "single node") << ", "
            << view["partitions"].size() << " partitions, " << unowned << " without an owner right now\n";
}

}  // namespace

void add_cluster_commands(CLI::App& app, const common_options& o) {
  auto format = std::make_shared<listing>(listing::text);
  auto* cluster = app.add_subcommand("cluster", "the brokers and what they hold");
  cluster->require_subcommand(1);
  auto* info_cmd = cluster->add_subcommand("info", "brokers, topic, partition and group counts, health");
  add_listing_format(info_cmd, *format);
  info_cmd->callback([format, &o] { info(o, *format); });
  auto* nodes_cmd = cluster->add_subcommand("nodes", "the live nodes, their endpoints and the partitions each owns");
  add_listing_format(nodes_cmd, *format);
  nodes_cmd->callback([format, &o] { nodes(o, *format); });
  app.add_subcommand("stats", "the broker's metrics (/metrics samples)")->callback([&o] {
    stats(o);
  });
}

}  // namespace portask::cli
