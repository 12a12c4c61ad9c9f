// portask-cli: produce, consume, manage topics and read broker stats over the native protocol.
//   portask-cli produce orders "hello" "world"        (or lines from stdin)
//   portask-cli consume orders --from earliest --follow
//   portask-cli topics create orders --partitions 3
//   portask-cli topics delete-records orders --partition 0 --offset 1000
//   portask-cli stats
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <limits>
#include <sstream>

#include "client/client.hpp"

using namespace portask;
namespace native = protocol::native;
using clock_type = std::chrono::steady_clock;

namespace {

struct common_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  std::uint16_t http_port = 8080;
};

template <class T>
T check(client::result<T> r, const char* what) {
  if (!client::ok(r)) {
    const auto& e = client::error_of(r);
    std::cerr << "portask-cli: " << what << ": " << e.message
              << (e.retriable ? " (retriable)" : "") << "\n";
    std::exit(1);
  }
  return std::move(std::get<0>(r));
}

client::connection open(const common_options& o, protocol::encoding e = {}) {
  client::options opts;
  opts.host = o.host;
  opts.port = o.port;
  opts.encoding = e;
  return check(client::connection::open(opts), "connect");
}

std::pair<std::string, std::string> split_pair(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos) return {s, ""};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

// -- produce ---------------------------------------------------------------------------------
struct produce_options {
  std::string topic;
  std::int32_t partition = -1;
  std::string key;
  std::vector<std::string> headers;
  std::vector<std::string> values;
  std::string codec = "binary";
  std::string compression = "none";
  std::size_t batch = 500;
};

int produce(const common_options& o, const produce_options& p) {
  auto codec = protocol::parse_codec(p.codec);
  auto compression = protocol::parse_compression(p.compression);
  if (!codec || !compression) {
    std::cerr << "portask-cli: unknown codec or compression\n";
    return 2;
  }
  auto c = open(o, {*codec, *compression});
  std::vector<protocol::message_header> headers;
  for (const auto& h : p.headers) {
    auto [k, v] = split_pair(h);
    headers.push_back({k, v});
  }
  protocol::message_batch batch;
  std::uint64_t sent = 0, bytes = 0, in_flight = 0;
  const bool from_stdin = p.values.empty();
  const auto start = clock_type::now();
  auto last_report = start;
  constexpr std::uint64_t max_in_flight = 16;
  auto drain = [&](std::uint64_t keep) {
    while (in_flight > keep) {
      check(c.receive_publish(), "publish");
      --in_flight;
    }
  };
  auto flush = [&] {
    if (batch.messages.empty()) return;
    sent += batch.messages.size();
    check(c.send_publish(p.topic, p.partition, batch), "publish");
    ++in_flight;
    drain(max_in_flight);
    batch.messages.clear();
    const auto now = clock_type::now();
    if (from_stdin && now - last_report > std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - start).count();
      std::cerr << "\rsent " << sent << " messages, " << static_cast<std::uint64_t>(sent / secs)
                << " msg/s, " << (bytes / secs / 1e6) << " MB/s" << std::flush;
      last_report = now;
    }
  };
  auto add = [&](std::string value) {
    protocol::message m;
    if (!p.key.empty()) m.key = p.key;
    bytes += value.size();
    m.value = std::move(value);
    m.headers = headers;
    batch.messages.push_back(std::move(m));
    if (batch.messages.size() >= p.batch) flush();
  };
  if (from_stdin) {
    std::string line;
    while (std::getline(std::cin, line)) add(line);
  } else {
    for (const auto& v : p.values) add(v);
  }
  flush();
  drain(0);
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::cerr << (from_stdin ? "\n" : "") << "produced " << sent << " messages to " << p.topic
            << " in " << secs << " s";
  if (secs > 0) std::cerr << " (" << static_cast<std::uint64_t>(sent / secs) << " msg/s)";
  std::cerr << "\n";
  return 0;
}

// -- consume ---------------------------------------------------------------------------------
struct consume_options {
  std::string topic;
  std::int32_t partition = 0;
  std::string from = "earliest";
  bool follow = false;
  std::uint64_t max = 0;
  std::string group;
  bool show_keys = true;
};

int consume(const common_options& o, const consume_options& q) {
  auto c = open(o);
  std::int64_t offset = q.from == "earliest" ? -2 : q.from == "latest" ? -1 : std::stoll(q.from);
  if (q.from == "committed") {
    if (q.group.empty()) {
      std::cerr << "portask-cli: --from committed needs --group\n";
      return 2;
    }
    offset = check(c.committed(q.group, q.topic, q.partition), "offset fetch").offset;
    if (offset < 0) offset = -2;
  }
  std::uint64_t printed = 0;
  for (;;) {
    auto f = check(c.fetch(q.topic, q.partition, offset, 1 << 20, q.follow ? 1000 : 0), "fetch");
    for (const auto& m : f.messages) {
      std::cout << m.offset << '\t';
      if (q.show_keys) std::cout << (m.key ? *m.key : "") << '\t';
      std::cout << (m.value ? *m.value : "") << '\n';
      if (q.max && ++printed >= q.max) break;
    }
    std::cout.flush();
    offset = f.next_offset;
    if (!q.group.empty() && !f.messages.empty())
      check(c.commit(q.group, q.topic, q.partition, offset), "commit");
    if (q.max && printed >= q.max) break;
    if (!q.follow && offset >= f.high_watermark) break;
  }
  return 0;
}

// -- stats -----------------------------------------------------------------------------------
int stats(const common_options& o) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.http_port);
  inet_pton(AF_INET, o.host == "localhost" ? "127.0.0.1" : o.host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::cerr << "portask-cli: cannot reach http port " << o.http_port << "\n";
    close(fd);
    return 1;
  }
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: portask\r\nConnection: close\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), 0);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  close(fd);
  const auto body = response.find("\r\n\r\n");
  std::istringstream lines(body == std::string::npos ? "" : response.substr(body + 4));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') std::cout << line << '\n';
  auto c = open(o);
  auto md = check(c.metadata(), "metadata");
  std::cout << "broker " << md.broker_host << ":" << md.broker_port << " (" << md.broker_version
            << "), " << md.topics.size() << " topics\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portask-cli: talk to a Portask broker over the native protocol"};
  app.require_subcommand(1);
  common_options common;
  app.add_option("--host", common.host, "broker host")->envname("PORTASK_HOST");
  app.add_option("--port", common.port, "native port")->envname("PORTASK_PORT");
  app.add_option("--http-port", common.http_port, "HTTP port (stats)")->envname("PORTASK_HTTP_PORT");

  produce_options p;
  auto* prod = app.add_subcommand("produce", "publish values given as arguments, or stdin lines");
  prod->add_option("topic", p.topic)->required();
  prod->add_option("values", p.values, "values (default: one per stdin line)");
  prod->add_option("-p,--partition", p.partition, "partition (-1: broker chooses)");
  prod->add_option("-k,--key", p.key, "key for every message");
  prod->add_option("-H,--header", p.headers, "header key=value (repeatable)")->allow_extra_args(false);
  prod->add_option("--codec", p.codec, "binary, json, cbor, msgpack");
  prod->add_option("--compression", p.compression, "none, gzip, snappy, lz4, zstd");
  prod->add_option("--batch", p.batch, "messages per batch");

  consume_options q;
  auto* cons = app.add_subcommand("consume", "print messages: offset, key, value");
  cons->add_option("topic", q.topic)->required();
  cons->add_option("-p,--partition", q.partition);
  cons->add_option("--from", q.from, "earliest, latest, committed, or an offset");
  cons->add_flag("-f,--follow", q.follow, "keep waiting for new messages");
  cons->add_option("-n,--max", q.max, "stop after this many messages");
  cons->add_option("-g,--group", q.group, "consumer name: commit offsets as it reads");

  auto* topics = app.add_subcommand("topics", "create, list, describe, delete topics");
  topics->require_subcommand(1);
  std::string name;
  std::int32_t partitions = 1;
  std::vector<std::string> configs;
  auto* create = topics->add_subcommand("create");
  create->add_option("name", name)->required();
  create->add_option("--partitions", partitions);
  create->add_option("--config", configs, "key=value (repeatable)")->allow_extra_args(false);
  topics->add_subcommand("list");
  auto* describe = topics->add_subcommand("describe");
  describe->add_option("name", name)->required();
  auto* remove = topics->add_subcommand("delete");
  remove->add_option("name", name)->required();
  std::vector<std::int32_t> record_partitions;
  std::int64_t before = -1;
  auto* delete_records = topics->add_subcommand(
      "delete-records", "delete the records below an offset (the new log start offset)");
  delete_records->add_option("name", name)->required();
  delete_records
      ->add_option("-p,--partition", record_partitions,
                   "partition (repeatable; default: every partition)")
      ->allow_extra_args(false);
  delete_records
      ->add_option("--offset", before, "the new log start offset (-1: the high watermark)")
      ->required()
      ->check(CLI::Range(std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()));

  app.add_subcommand("stats", "metrics and metadata of the broker");

  CLI11_PARSE(app, argc, argv);

  if (prod->parsed()) return produce(common, p);
  if (cons->parsed()) return consume(common, q);
  if (app.got_subcommand("stats")) return stats(common);
  auto c = open(common);
  if (create->parsed()) {
    std::vector<native::config_entry> entries;
    for (const auto& s : configs) {
      auto [k, v] = split_pair(s);
      entries.push_back({k, v});
    }
    check(c.create_topic(name, partitions, entries), "create");
    std::cout << "created " << name << " (" << partitions << " partitions)\n";
  } else if (topics->got_subcommand("list")) {
    for (const auto& t : check(c.list_topics(), "list"))
      std::cout << t.topic << '\t' << t.partitions << '\n';
  } else if (describe->parsed()) {
    auto d = check(c.describe_topic(name), "describe");
    std::cout << d.topic << ": " << d.partitions << " partitions\n";
    for (const auto& ps : d.partition_states)
      std::cout << "  partition " << ps.id << "  log start " << ps.log_start << "  high watermark "
                << ps.high_watermark << '\n';
    for (const auto& cfg : d.configs) std::cout << "  " << cfg.key << " = " << cfg.value << '\n';
  } else if (remove->parsed()) {
    check(c.delete_topic(name), "delete");
    std::cout << "deleted " << name << '\n';
  } else if (delete_records->parsed()) {
    if (record_partitions.empty()) {
      const auto d = check(c.describe_topic(name), "delete-records");
      for (std::int32_t i = 0; i < d.partitions; ++i) record_partitions.push_back(i);
    }
    for (auto partition : record_partitions) {
      const auto b = check(c.delete_records(name, partition, before), "delete-records");
      std::cout << name << " partition " << partition << ": log start " << b.log_start
                << ", high watermark " << b.high_watermark << '\n';
    }
  }
  return 0;
}
