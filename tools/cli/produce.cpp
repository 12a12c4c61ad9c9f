// portask-cli produce: values from arguments or stdin lines (one message per line, the line
// without its newline; an empty line is an empty value, or a null one with -Z). A keyed message goes to the
// partition Kafka's default partitioner picks for its key (murmur2), so the CLI, the Java
// client and librdkafka put a key on the same partition; unkeyed batches are spread over the
// partitions. Up to 16 batches are in flight; in a cluster each goes to its partition's leader
// and follows it when it moves (client/cluster_client.hpp).
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>

#include "protocol/partitioner.hpp"
#include "tools/cli/cli.hpp"

namespace portask::cli {
namespace {

using clock_type = std::chrono::steady_clock;

struct produce_options {
  std::string topic;
  std::int32_t partition = -1;
  std::string key;
  std::string key_delimiter;
  std::vector<std::string> headers;
  std::vector<std::string> values;
  bool empty_as_null = false;  ///< an empty value is sent as null (a tombstone)
  std::string codec = "binary";
  std::string compression = "none";
  std::size_t batch = 500;
};

class producer {
 public:
  producer(client::cluster_client c, const produce_options& p) : c_(std::move(c)), p_(p) {
    for (const auto& h : p.headers) {
      auto [k, v] = split_pair(h);
      headers_.push_back({k, v});
    }
  }

  void add(std::optional<std::string> key, std::optional<std::string> value) {
    std::int32_t partition = p_.partition;
    if (partition < 0 && key) partition = protocol::partition_for_key(*key, partitions());
    protocol::message m;
    m.key = std::move(key);
    if (value) bytes_ += value->size();
    m.value = std::move(value);
    m.headers = headers_;
    auto& batch = pending_[partition];
    batch.messages.push_back(std::move(m));
    if (batch.messages.size() >= p_.batch) flush(partition);
  }

  void finish() {
    while (!pending_.empty()) flush(pending_.begin()->first);
    drain(0);
  }

  std::uint64_t sent() const noexcept { return sent_; }
  std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  // The topic's partition count, asked once (keys need it).
  std::int32_t partitions() {
    if (partitions_ > 0) return partitions_;
    if ((partitions_ = c_.partitions_of(p_.topic)) > 0) return partitions_;
    drain(0);  // a connection with publishes in flight takes no other request
    auto d = check(c_.any(), "connect")->describe_topic(p_.topic);
    if (!client::ok(d) && client::error_of(d).code == errc::unknown_topic)
      throw runtime_error("topic '" + p_.topic +
                          "' does not exist; keyed messages need its partition count (create it "
                          "with: portask-cli topics create " + p_.topic + ")");
    partitions_ = check(std::move(d), "describe " + p_.topic).partitions;
    return partitions_;
  }

  void flush(std::int32_t partition) {
    auto it = pending_.find(partition);
    if (it == pending_.end()) return;
    sent_ += it->second.messages.size();
    check(c_.send_publish(p_.topic, partition, std::move(it->second)), "publish to " + p_.topic);
    pending_.erase(it);
    // A batch leaves once it is full, as lines come (a pipe that trickles must not wait for
    // the next batches); the answers are read later.
    c_.flush();
    drain(max_in_flight);
  }

  void drain(std::size_t keep) {
    while (c_.in_flight() > keep) check(c_.receive_publish(), "publish to " + p_.topic);
  }

  static constexpr std::size_t max_in_flight = 16;
  client::cluster_client c_;
  const produce_options& p_;
  std::vector<protocol::message_header> headers_;
  std::map<std::int32_t, protocol::message_batch> pending_;
  std::int32_t partitions_ = 0;
  std::uint64_t sent_ = 0, bytes_ = 0;
};

int produce(const common_options& o, const produce_options& p) {
  auto codec = protocol::parse_codec(p.codec);
  auto compression = protocol::parse_compression(p.compression);
  if (!codec) throw usage_error("unknown codec '" + p.codec + "' (binary, json, cbor, msgpack)");
  if (!compression)
    throw usage_error("unknown compression '" + p.compression +
                      "' (none, gzip, snappy, lz4, zstd)");
  if (p.batch == 0) throw usage_error("--batch must be at least 1");
  if (p.partition < -1) throw usage_error("--partition " + std::to_string(p.partition) + ": a partition is 0 or more (-1: by key)");
  producer out(open_cluster(o, {*codec, *compression}), p);
  const bool from_stdin = p.values.empty();
  const bool progress = from_stdin && isatty(STDERR_FILENO);
  const auto start = clock_type::now();
  auto last_report = start;
  auto add = [&](std::string line) {
    std::optional<std::string> key;
    if (!p.key.empty()) key = p.key;
    if (!p.key_delimiter.empty()) {
      const auto at = line.find(p.key_delimiter);
      if (at != std::string::npos) {
        key = line.substr(0, at);
        line.erase(0, at + p.key_delimiter.size());
      }
    }
    std::optional<std::string> value;
    if (!(p.empty_as_null && line.empty())) value = std::move(line);
    out.add(std::move(key), std::move(value));
    if (progress && clock_type::now() - last_report > std::chrono::seconds(1)) {
      last_report = clock_type::now();
      const double secs = std::chrono::duration<double>(last_report - start).count();
      std::cerr << "\rsent " << out.sent() << " messages, "
                << static_cast<std::uint64_t>(out.sent() / secs) << " msg/s, "
                << (out.bytes() / secs / 1e6) << " MB/s" << std::flush;
    }
  };
  if (from_stdin) {
    for (std::string line; std::getline(std::cin, line);) add(std::move(line));
  } else {
    for (const auto& v : p.values) add(v);
  }
  out.finish();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::cerr << (progress ? "\n" : "") << "produced " << out.sent() << " messages to " << p.topic
            << " in " << secs << " s\n";
  return 0;
}

}  // namespace

void add_produce_command(CLI::App& app, const common_options& o) {
  auto p = std::make_shared<produce_options>();
  auto* cmd = app.add_subcommand("produce", "publish values given as arguments, or stdin lines");
  cmd->add_option("topic", p->topic, "topic")->required();
  cmd->add_option("values", p->values, "values (default: one per stdin line)");
  cmd->add_option("-p,--partition", p->partition,
                  "partition (-1: by key with Kafka's partitioner, else spread over the partitions)");
  cmd->add_option("-k,--key", p->key, "key for every message");
  cmd->add_option("-K,--key-delimiter", p->key_delimiter,
                  "split each line at this delimiter into key and value (as kcat -K)");
  cmd->add_option("-H,--header", p->headers, "header key=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("-Z,--empty-as-null", p->empty_as_null,
                "send an empty value as null: a tombstone, which deletes its key from a compacted topic "
                "(as kcat -Z); without it an empty line is an empty value");
  cmd->add_option("--codec", p->codec, "binary, json, cbor, msgpack");
  cmd->add_option("--compression", p->compression, "none, gzip, snappy, lz4, zstd");
  cmd->add_option("--batch", p->batch, "messages per batch");
  cmd->callback([p, &o] { produce(o, *p); });
}

}  // namespace portask::cli
