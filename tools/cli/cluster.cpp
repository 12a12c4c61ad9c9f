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
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>

#include "client/socket_connect.hpp"
#include "protocol/base64.hpp"
#include "tools/cli/cli.hpp"
#include "tools/cli/record_format.hpp"

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

// Whether `fd` is ready for `events` before `deadline` (false once it has passed: a server
// that keeps sending a byte now and then does not hold the command past it).
bool ready_before(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    return ready != 0;  // an error shows in the send or recv that follows
  }
}

// The value of header `name` (lower case) in `head`, the status line and header lines each
// ending in CRLF; nothing when the answer has none.
std::optional<std::string> header_value(std::string_view head, std::string_view name) {
  for (auto at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();) {
    const auto line_end = head.find("\r\n", at + 2);
    const auto line = head.substr(at + 2, line_end - at - 2);
    at = line_end;
    const auto colon = line.find(':');
    if (colon != name.size() ||
        !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        }))
      continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    return std::string(value);
  }
  return std::nullopt;
}

// An HTTP answer as it arrives, framed as RFC 9112 6.3 says: its body ends after
// Content-Length bytes, at the chunked coding's last chunk, or (neither given) at the close.
// The broker itself always sends a Content-Length; a proxy in front of it may not. Each read
// is looked at once (a large /metrics arrives in many).
class answer_reader {
 public:
  explicit answer_reader(std::string what) : what_(std::move(what)) {}

  // Takes the bytes read next (none: the server closed): the answer once it is whole, nothing
  // while more is to come, a runtime_error for what cannot be an answer or for one that the
  // close cut short (a truncated body is no answer, whatever its status).
  std::optional<http_response> add(std::string_view more) {
    const bool closed = more.empty();
    const auto looked_at = bytes_.size();
    bytes_.append(more);
    if (head_end_ == std::string::npos) {
      head_end_ = bytes_.find("\r\n\r\n", looked_at < 3 ? 0 : looked_at - 3);
      if (head_end_ == std::string::npos) {
        if (!closed) return std::nullopt;
        if (bytes_.empty()) throw runtime_error(what_ + ": the connection closed without an answer");
        throw not_http();
      }
      read_head();
    }
    const auto body = std::string_view(bytes_).substr(head_end_ + 4);
    switch (framing_) {
      case framing::none:
        return http_response{status_, {}};
      case framing::length:
        if (body.size() >= length_) return http_response{status_, std::string(body.substr(0, length_))};
        if (closed)
          throw runtime_error(what_ + ": the connection closed after " + std::to_string(body.size()) +
                              " of the answer's " + std::to_string(length_) + " bytes");
        return std::nullopt;
      case framing::chunked:
        if (dechunk(body)) return http_response{status_, std::move(body_)};
        if (closed) throw runtime_error(what_ + ": the connection closed before the answer's last chunk");
        return std::nullopt;
      case framing::close:
        if (closed) return http_response{status_, std::string(body)};
        return std::nullopt;
    }
    return std::nullopt;
  }

 private:
  enum class framing { none, length, chunked, close };

  runtime_error not_http() const {
    return runtime_error(what_ + ": not an HTTP answer: " +
                         escape_bytes(bytes_.substr(0, std::min<std::size_t>(bytes_.find('\r'), 200))));
  }

  void read_head() {
    // "HTTP/1.1 200 OK": the three digits after the first space.
    const auto space = bytes_.find(' ');
    if (bytes_.rfind("HTTP/1.", 0) == 0 && space != std::string::npos && space + 4 <= bytes_.size()) {
      for (std::size_t i = space + 1; i < space + 4; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(bytes_[i]))) {
          status_ = 0;
          break;
        }
        status_ = status_ * 10 + (bytes_[i] - '0');
      }
    }
    if (status_ == 0) throw not_http();
    const std::string_view head(bytes_.data(), head_end_ + 2);
    if (status_ == 204 || status_ == 304) {
      framing_ = framing::none;
    } else if (const auto coding = header_value(head, "transfer-encoding")) {
      // Only chunked alone: anything else (gzip, chunked) would need decoding first.
      if (!std::equal(coding->begin(), coding->end(), chunked.begin(), chunked.end(),
                      [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; }))
        throw runtime_error(what_ + ": an answer in a transfer coding this client does not read: " +
                            escape_bytes(*coding));
      framing_ = framing::chunked;
    } else if (const auto length = header_value(head, "content-length")) {
      const auto last = length->data() + length->size();
      const auto [end, ec] = std::from_chars(length->data(), last, length_);
      if (length->empty() || ec != std::errc() || end != last)
        throw runtime_error(what_ + ": an answer whose Content-Length is not a number: " + escape_bytes(*length));
      framing_ = framing::length;
    } else {
      framing_ = framing::close;
    }
  }

  // Moves the whole chunks of `in` (the body so far) from chunk_at_ on into body_; whether the
  // last chunk and the trailer (ignored) have come (RFC 9112 7.1).
  bool dechunk(std::string_view in) {
    const auto bad = [&] { return runtime_error(what_ + ": a malformed chunked answer"); };
    for (;;) {
      const auto line_end = in.find("\r\n", chunk_at_);
      if (line_end == std::string_view::npos) return false;
      auto size_text = in.substr(chunk_at_, line_end - chunk_at_);
      size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
      while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t')) size_text.remove_suffix(1);
      if (size_text.empty()) throw bad();
      std::size_t size = 0;
      for (const char c : size_text) {
        const auto digit = hex_digits.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        if (digit == std::string_view::npos || size > (SIZE_MAX >> 4)) throw bad();
        size = size * 16 + digit;
      }
      auto at = line_end + 2;
      if (size == 0) {  // the last chunk: trailer lines up to an empty one
        for (;;) {
          const auto trailer_end = in.find("\r\n", at);
          if (trailer_end == std::string_view::npos) return false;
          if (trailer_end == at) return true;
          at = trailer_end + 2;
        }
      }
      if (size > in.size() - at || in.size() - at - size < 2) return false;
      if (in.substr(at + size, 2) != "\r\n") throw bad();
      body_.append(in.substr(at, size));
      chunk_at_ = at + size + 2;
    }
  }

  static constexpr std::string_view chunked = "chunked";
  static constexpr std::string_view hex_digits = "0123456789abcdef";
  std::string what_;
  std::string bytes_;
  std::size_t head_end_ = std::string::npos;
  int status_ = 0;
  framing framing_ = framing::close;
  std::size_t length_ = 0;    ///< framing::length: the body's
  std::size_t chunk_at_ = 0;  ///< framing::chunked: where in the body the next chunk starts
  std::string body_;          ///< framing::chunked: the chunks' data so far
};

// Closes the request's socket however the request ends.
struct socket_closer {
  int fd;
  ~socket_closer() { close(fd); }
};

// GET `path` from the broker's HTTP port: its status and its whole body, or a runtime_error
// when there is no whole HTTP answer within --timeout (which bounds the request from the
// connect to the last byte). With --user it sends HTTP Basic credentials (the password as
// for the native listener), which /api/ needs once authorization is on.
http_response http_get(const common_options& o, const std::string& path) {
  check_http_options(o);
  const std::string what = "GET " + path;
  std::string credentials;  // asked for (perhaps on the terminal) before the clock starts
  if (!o.user.empty())
    credentials = "Authorization: Basic " +
                  protocol::base64_encode(o.user + ":" + password_for(o.user)) +
                  "\r\n";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()));
  };
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
    if (fd >= 0 && !client::connect_within(fd, a->ai_addr, a->ai_addrlen, left())) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) throw runtime_error("cannot reach the HTTP port " + o.host + ":" + port);
  const socket_closer closer{fd};
  const auto too_slow = [&](std::size_t received) {
    return runtime_error(what + ": no whole answer within --timeout " + std::to_string(o.timeout_ms) + " ms (" +
                         std::to_string(received) + " bytes came)");
  };
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + o.host + "\r\n" + credentials +
                          "Connection: close\r\n\r\n";
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!ready_before(fd, POLLOUT, deadline)) throw too_slow(0);
    } else if (!(n < 0 && errno == EINTR)) {
      throw runtime_error(what + ": cannot send the request: " + std::strerror(errno));
    }
  }
  answer_reader reader{what};
  std::size_t received = 0;
  char buf[16384];
  for (;;) {
    if (!ready_before(fd, POLLIN, deadline)) throw too_slow(received);
    const auto n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (n < 0)
      throw runtime_error(what + ": " + std::strerror(errno) + " after " + std::to_string(received) +
                          " bytes of the answer");
    received += static_cast<std::size_t>(n);
    if (auto answer = reader.add(std::string_view(buf, static_cast<std::size_t>(n)))) return std::move(*answer);
  }
}

// "HTTP status N", with the reason the answer gives as JSON {"error": ...} when it has one
// (403: the Host to add to http.allowed_hosts; 401: credentials; 429: wait), escaped: it is
// the broker's text, or whoever answered's, on its way to a terminal.
std::string status_text(const http_response& r) {
  std::string text = "HTTP status " + std::to_string(r.status);
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body.at("error").is_string())
    text += ": " + escape_bytes(body.at("error").get<std::string>().substr(0, 500));
  return text;
}

// The body of a GET that must answer 200, or a runtime_error naming the status and why.
std::string http_get_ok(const common_options& o, const std::string& path) {
  auto r = http_get(o, path);
  if (r.status != 200) throw runtime_error("GET " + path + ": " + status_text(r));
  return std::move(r.body);
}

// /health as a JSON object whatever happens, so that scripts can read health.status:
// the broker's own answer for 200 (ok) and 503 (degraded: the store is down), with its
// crash_loop list either way (docs/operations.md, "Supervision"), else
// {"status": "unreachable" or "unknown", "error": ...}.
nlohmann::json health_of(const common_options& o) {
  try {
    const auto r = http_get(o, "/health");
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    const bool expected = r.status == 200 || r.status == 503;
    if (expected && body.is_object() && body.contains("status")) return body;
    return {{"status", "unknown"},
            {"error", "GET /health: " + status_text(r) + (expected ? " without the expected JSON" : "")}};
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
