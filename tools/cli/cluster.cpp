// portask-cli cluster info (the broker, its topics and groups, its health), cluster nodes
// (the cluster's live nodes and who owns what) and stats (the broker's /metrics samples). All
// ask the broker named by --host. Their HTTP is plain (this client has no TLS): with --user
// they send the password as HTTP Basic credentials, so only to a loopback host.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/socket_connect.hpp"
#include "protocol/base64.hpp"
#include "tools/cli/cli.hpp"

namespace portask::cli {
namespace {

// Whether `host` names this machine: localhost, 127.0.0.0/8, ::1 (or ::ffff:127.x.y.z).
bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// The commands that read HTTP: the options they cannot honour are refused before anything
// is sent (cluster info talks to the native port first).
void check_http_options(const common_options& o) {
  // This reads the HTTP listener in the clear; it cannot honour TLS.
  if (o.tls || !o.tls_ca_file.empty() || !o.tls_cert_file.empty())
    throw usage_error("stats and cluster info read the HTTP listener over plain HTTP; --tls applies to the "
                      "native listener only (use curl for HTTPS)");
  // HTTP Basic credentials over plain HTTP are readable by anyone on the path: only the
  // loopback interface keeps them on this machine.
  if (!o.user.empty() && !is_loopback(o.host))
    throw usage_error("--user with stats, cluster info or cluster nodes would send the password in the clear "
                      "(HTTP Basic over plain HTTP; this client has no TLS) to " + o.host +
                      ": only a loopback host (localhost, 127.0.0.1, ::1) is allowed; use curl over HTTPS");
}

struct http_response {
  int status = 0;
  std::string body;
};

// GET `path` from the broker's HTTP port: its status and body, or a runtime_error when there
// is no HTTP answer. With --user it sends HTTP Basic credentials (the password as for the
// native listener), which /api/ needs once authorization is on.
http_response http_get(const common_options& o, const std::string& path) {
  check_http_options(o);
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
  // "HTTP/1.1 200 OK": the three digits after the first space.
  const auto space = response.find(' ');
  int status = 0;
  if (response.rfind("HTTP/1.", 0) == 0 && space != std::string::npos && space + 4 <= response.size()) {
    for (std::size_t i = space + 1; i < space + 4; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(response[i]))) {
        status = 0;
        break;
      }
      status = status * 10 + (response[i] - '0');
    }
  }
  if (status == 0 || body == std::string::npos)
    throw runtime_error("GET " + path + ": not an HTTP answer: " + response.substr(0, response.find('\r')));
  return {status, response.substr(body + 4)};
}

// The body of a GET that must answer 200, or a runtime_error naming the status line.
std::string http_get_ok(const common_options& o, const std::string& path) {
  auto r = http_get(o, path);
  if (r.status != 200) throw runtime_error("GET " + path + ": HTTP status " + std::to_string(r.status));
  return std::move(r.body);
}

// /health as a JSON object whatever happens, so that scripts can read health.status:
// the broker's own answer for 200 (ok) and 503 (degraded: the store is down), else
// {"status": "unreachable" or "unknown", "error": ...}.
nlohmann::json health_of(const common_options& o) {
  try {
    const auto r = http_get(o, "/health");
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if ((r.status == 200 || r.status == 503) && body.is_object() && body.contains("status")) return body;
    return {{"status", "unknown"},
            {"error", "GET /health: HTTP status " + std::to_string(r.status) + " without the expected JSON"}};
  } catch (const runtime_error& e) {
    return {{"status", "unreachable"}, {"error", e.what()}};
  }
}

void stats(const common_options& o) {
  check_http_options(o);
  std::istringstream lines(http_get_ok(o, "/metrics"));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') std::cout << line << '\n';
}

void info(const common_options& o, listing format) {
  check_http_options(o);
  auto c = open(o);
  const auto md = check(c.metadata(), "metadata");
  const auto groups = check(c.list_groups(), "list groups");
  std::int64_t partitions = 0;
  for (const auto& t : md.topics) partitions += t.partitions;
  const auto health = health_of(o);
  if (format == listing::json) {
    nlohmann::json out{{"broker", {{"host", md.broker_host}, {"port", md.broker_port},
                                   {"version", md.broker_version}}},
                       {"topics", md.topics.size()},
                       {"partitions", partitions},
                       {"groups", groups.size()},
                       {"health", health}};
    std::cout << json_text(out) << '\n';
    return;
  }
  print_table({{"BROKER", "VERSION", "TOPICS", "PARTITIONS", "GROUPS"},
               {md.broker_host + ":" + std::to_string(md.broker_port), md.broker_version,
                std::to_string(md.topics.size()), std::to_string(partitions),
                std::to_string(groups.size())}});
  std::cout << "health: " << json_text(health) << '\n';
}

// The cluster's nodes and who owns what, as the broker named by --host sees it (/api/cluster).
void nodes(const common_options& o, listing format) {
  const auto body = http_get_ok(o, "/api/cluster");
  const auto view = nlohmann::json::parse(body, nullptr, false);
  if (view.is_discarded() || !view.contains("nodes")) throw runtime_error("GET /api/cluster: not the expected JSON");
  if (format == listing::json) {
    std::cout << json_text(view) << '\n';
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
  // Exit 0 means the information was reported, health included: a degraded or unreachable
  // health is data (health.status), not a failure of the command.
  auto* info_cmd = cluster->add_subcommand(
      "info",
      "brokers, topic, partition and group counts, health (an object: the broker's /health, or "
      "{status: unreachable, error}); exits 0 whenever it reports, whatever health.status says");
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
