// portask-bench: load tool for a running broker (native protocol), and the raw-XADD reference.
//
//   portask-bench --port 7070 --producers 2 --consumers 2 --messages 2000000 --size 100 --batch 1000
//   portask-bench --port 7070 --rate 10000 --seconds 10          (latency at a fixed rate)
//   portask-bench --mode xadd --redis-port 6379 --messages 2000000 --size 100 --batch 1000
//
// Producers pipeline batches (--inflight per connection) to partitions round-robin.
// Consumers subscribe (server push with credit) to their share of the partitions. Each
// message carries its send time, so consumers measure produce->consume latency. Prints
// msg/s, MB/s and latency p50/p99. --consumers 0 measures producing (and storing) alone.
// Only ever connects to loopback.
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "client/client.hpp"
#include "protocol/codec_manager.hpp"

using namespace portask;
using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::string mode = "native";
  std::string tls_ca_file;  ///< non-empty: TLS to the broker (its listener is SSL)
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  std::uint16_t redis_port = 6379;
  int producers = 2;
  int consumers = 1;
  std::uint64_t messages = 1'000'000;
  std::size_t size = 100;
  std::size_t batch = 1000;
  int partitions = 4;
  int inflight = 8;
  double rate = 0;      // messages/s over all producers; 0 = as fast as possible
  double seconds = 0;   // with --rate: run this long instead of --messages
  std::string topic;
  std::string codec = "binary";
  std::string compression = "none";
  std::uint16_t kafka_port = 9092;
  bool produce_only = false;  // kafka modes: skip reading the messages back
  bool idempotent = false;    // kafka modes: enable.idempotence on the producer
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

protocol::message_batch make_batch(const settings& s, std::size_t n) {
  protocol::message_batch b;
  b.messages.resize(n);
  for (auto& m : b.messages) m.value = std::string(std::max<std::size_t>(s.size, 8), 'x');
  return b;
}

void stamp(protocol::message_batch& b) {
  const auto t = now_ns();
  for (auto& m : b.messages) std::memcpy(m.value->data(), &t, sizeof t);
}

double percentile(std::vector<std::int64_t>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]) / 1e6;  // ms
}

// The native client's options for the broker the settings name (TLS with --tls-ca-file).
client::options native_options(const settings& s) {
  client::options o;
  o.host = s.host;
  o.port = s.port;
  o.tls = !s.tls_ca_file.empty();
  o.tls_ca_file = s.tls_ca_file;
  return o;
}

int run_native(const settings& s) {
  const std::string topic =
      s.topic.empty() ? "bench-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count())
                      : s.topic;
  auto o = native_options(s);
  o.encoding = {protocol::parse_codec(s.codec).value_or(protocol::codec_id::binary),
                protocol::parse_compression(s.compression).value_or(protocol::compression_id::none)};
  {
    auto admin = client::connection::open(o);
    if (!client::ok(admin)) {
      std::cerr << "cannot connect: " << client::error_of(admin).message << "\n";
      return 1;
    }
    auto r = std::get<0>(admin).create_topic(topic, s.partitions);
    if (!client::ok(r) && client::error_of(r).code != errc::topic_already_exists) {
      std::cerr << "create topic: " << client::error_of(r).message << "\n";
      return 1;
    }
  }
  const bool rated = s.rate > 0;
  const std::uint64_t total =
      rated && s.seconds > 0 ? static_cast<std::uint64_t>(s.rate * s.seconds) : s.messages;
  const std::uint64_t batches = (total + s.batch - 1) / s.batch;
  std::atomic<std::uint64_t> consumed{0}, produced{0};
  std::atomic<bool> failed{false};
  std::mutex lat_mutex;
  std::vector<std::int64_t> latencies;
  latencies.reserve(total);

  // Consumers first, from the start of the (new) topic, so none misses a message.
  std::vector<std::thread> threads;
  std::atomic<int> subscribed{0};
  for (int ci = 0; ci < s.consumers; ++ci) {
    threads.emplace_back([&, ci] {
      auto c = client::connection::open(o);
      if (!client::ok(c)) {
        failed = true;
        return;
      }
      auto& conn = std::get<0>(c);
      constexpr std::uint32_t window = 8u << 20;
      for (int p = ci; p < s.partitions; p += s.consumers)
        if (!client::ok(conn.subscribe(topic, p, 0, window))) failed = true;
      ++subscribed;
      // Credit goes back once a quarter of the window has been read, not per delivery:
      // grant_credit waits for the broker's answer, so granting per delivery put a round trip
      // between every two reads and the consumer fell behind small deliveries. Granting at a
      // quarter, the window never runs dry.
      std::unordered_map<std::uint32_t, std::uint32_t> owed;
      std::vector<std::int64_t> local;
      local.reserve(total / static_cast<std::uint64_t>(s.consumers) + 1);
      while (consumed.load() < batches * s.batch && !failed) {
        auto d = conn.next_delivery(std::chrono::milliseconds(500));
        if (!client::ok(d)) {
          failed = true;
          break;
        }
        auto& got = std::get<0>(d);
        if (!got) {
          if (produced.load() >= batches * s.batch && consumed.load() >= produced.load()) break;
          continue;
        }
        const auto t = now_ns();
        for (const auto& m : got->data.messages) {
          std::int64_t sent = 0;
          std::memcpy(&sent, m.value->data(), sizeof sent);
          local.push_back(t - sent);
        }
        consumed += got->data.messages.size();
        auto& debt = owed[got->subscription_id];
        debt += static_cast<std::uint32_t>(got->wire_bytes);
        if (debt >= window / 4) {
          conn.grant_credit(got->subscription_id, debt);
          debt = 0;
        }
      }
      std::lock_guard lock{lat_mutex};
      latencies.insert(latencies.end(), local.begin(), local.end());
    });
  }
  while (subscribed.load() < s.consumers && !failed) std::this_thread::yield();

  const auto start = clock_type::now();
  std::atomic<std::uint64_t> next_batch{0};
  std::vector<std::thread> producers;
  for (int pi = 0; pi < s.producers; ++pi) {
    producers.emplace_back([&, pi] {
      auto c = client::connection::open(o);
      if (!client::ok(c)) {
        failed = true;
        return;
      }
      auto& conn = std::get<0>(c);
      auto batch = make_batch(s, s.batch);
      int in_flight = 0;
      const double per_producer_rate = s.rate / s.producers;
      std::uint64_t mine = 0;
      for (std::uint64_t b; (b = next_batch.fetch_add(1)) < batches && !failed;) {
        if (rated) {  // pace: batch k of this producer leaves at k * batch / rate
          const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                       std::chrono::duration<double>(
                                           static_cast<double>(mine * s.batch) / per_producer_rate));
          std::this_thread::sleep_until(due);
        }
        ++mine;
        stamp(batch);
        if (!client::ok(conn.send_publish(topic, static_cast<std::int32_t>(b % static_cast<std::uint64_t>(s.partitions)), batch))) {
          failed = true;
          break;
        }
        // A paced batch leaves now, not with the next ones (the client holds pipelined
        // publishes back until it waits for an answer): its latency is measured from here.
        if (rated && !conn.flush()) {
          failed = true;
          break;
        }
        if (++in_flight >= s.inflight) {
          if (!client::ok(conn.receive_publish())) failed = true;
          --in_flight;
          produced += s.batch;
        }
      }
      for (; in_flight > 0; --in_flight) {
        if (!client::ok(conn.receive_publish())) failed = true;
        produced += s.batch;
      }
      (void)pi;
    });
  }
  for (auto& t : producers) t.join();
  const double produce_secs = std::chrono::duration<double>(clock_type::now() - start).count();
  for (auto& t : threads) t.join();
  const double consume_secs = std::chrono::duration<double>(clock_type::now() - start).count();
  if (failed) {
    std::cerr << "benchmark failed (a connection or request failed)\n";
    return 1;
  }
  const double n = static_cast<double>(produced.load());
  std::printf("mode=native producers=%d consumers=%d partitions=%d size=%zu batch=%zu inflight=%d%s\n",
              s.producers, s.consumers, s.partitions, s.size, s.batch, s.inflight,
              rated ? (" rate=" + std::to_string(static_cast<long>(s.rate))).c_str() : "");
  std::printf("produced %.0f msgs in %.3f s: %.0f msg/s, %.1f MB/s\n", n, produce_secs,
              n / produce_secs, n * static_cast<double>(s.size) / produce_secs / 1e6);
  if (s.consumers == 0) return 0;  // producer-only run
  std::printf("consumed %llu msgs in %.3f s: %.0f msg/s\n",
              static_cast<unsigned long long>(consumed.load()), consume_secs,
              static_cast<double>(consumed.load()) / consume_secs);
  std::printf("latency produce->consume: p50 %.3f ms, p99 %.3f ms (%zu samples)\n",
              percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.size());
  return consumed.load() >= produced.load() ? 0 : 1;
}

// The reference: the same stored bytes per batch (a Portask frame of `batch` messages),
// XADDed straight into redis-server with pipelining, no broker in between.
int run_xadd(const settings& s) {
  protocol::codec_manager codecs;
  protocol::buffer frame;
  auto batch = make_batch(s, s.batch);
  if (codecs.append_batch_frame(batch, {}, protocol::message_type::publish, frame)) return 1;
  redisContext* r = redisConnect(s.host.c_str(), s.redis_port);
  if (!r || r->err) {
    std::cerr << "cannot connect to redis\n";
    return 1;
  }
  const std::string key = "bench:{xadd}:" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::uint64_t batches = (s.messages + s.batch - 1) / s.batch;
  const auto start = clock_type::now();
  std::uint64_t sent = 0;
  while (sent < batches) {
    const std::uint64_t round = std::min<std::uint64_t>(static_cast<std::uint64_t>(s.inflight), batches - sent);
    for (std::uint64_t i = 0; i < round; ++i) {
      const std::string id = "0-" + std::to_string(sent + i + 1);
      const std::string count = std::to_string(s.batch);
      const char* argv[] = {"XADD", key.c_str(), id.c_str(), "f", reinterpret_cast<const char*>(frame.data()),
                            "n", count.c_str()};
      const std::size_t lens[] = {4, key.size(), id.size(), 1, frame.size(), 1, count.size()};
      redisAppendCommandArgv(r, 7, argv, lens);
    }
    for (std::uint64_t i = 0; i < round; ++i) {
      void* reply = nullptr;
      if (redisGetReply(r, &reply) != REDIS_OK) {
        std::cerr << "redis error\n";
        return 1;
      }
      freeReplyObject(reply);
    }
    sent += round;
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  const double n = static_cast<double>(batches * s.batch);
  std::printf("mode=xadd size=%zu batch=%zu pipeline=%d frame=%zu bytes\n", s.size, s.batch,
              s.inflight, frame.size());
  std::printf("stored %.0f msgs in %.3f s: %.0f msg/s, %.1f MB/s\n", n, secs, n / secs,
              n * static_cast<double>(s.size) / secs / 1e6);
  auto* reply = static_cast<redisReply*>(redisCommand(r, "DEL %s", key.c_str()));
  if (reply) freeReplyObject(reply);
  redisFree(r);
  return 0;
}

// Kafka mode: librdkafka produces (acks=all) and then consumes every message, against a
// Portask Kafka listener or against librdkafka's in-process mock cluster (the peer).
rd_kafka_t* kafka_client(rd_kafka_type_t type, const std::string& bootstrap, bool consumer,
                         bool idempotent = false, const std::string& tls_ca_file = {}) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<const char*, std::string>> settings_list = {
      {"bootstrap.servers", bootstrap}, {"log_level", "3"}};
  if (consumer) {
    settings_list.push_back({"group.id", "portask-bench"});
    settings_list.push_back({"enable.auto.commit", "false"});
    settings_list.push_back({"fetch.wait.max.ms", "10"});
    // The bench starts at the low watermarks it read; should the log start move meanwhile,
    // it reads from the new start instead of waiting for new messages.
    settings_list.push_back({"auto.offset.reset", "earliest"});
  } else {
    settings_list.push_back({"acks", "all"});
    settings_list.push_back({"linger.ms", "5"});
    settings_list.push_back({"batch.num.messages", "10000"});
    settings_list.push_back({"queue.buffering.max.messages", "1000000"});
    if (idempotent) settings_list.push_back({"enable.idempotence", "true"});
  }
  if (!tls_ca_file.empty()) {
    settings_list.push_back({"security.protocol", "SSL"});
    settings_list.push_back({"ssl.ca.location", tls_ca_file});
  }
  for (const auto& [k, v] : settings_list) rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err);
  return rd_kafka_new(type, conf, err, sizeof err);
}


int run_kafka(const settings& s, bool mock) {
  const std::string topic = s.topic.empty() ? "kbench-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) : s.topic;
  rd_kafka_t* mock_host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstrap = s.host + ":" + std::to_string(s.kafka_port);
  if (mock) {
    mock_host = kafka_client(RD_KAFKA_PRODUCER, "127.0.0.1:1", false);
    cluster = rd_kafka_mock_cluster_new(mock_host, 1);
    bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
    rd_kafka_mock_topic_create(cluster, topic.c_str(), s.partitions, 1);
  } else {
    auto admin = client::connection::open(native_options(s));
    if (!client::ok(admin)) {
      std::cerr << "cannot connect to the native port\n";
      return 1;
    }
    // A named topic may exist already (a soak runs many rounds on one topic).
    auto created = std::get<0>(admin).create_topic(topic, s.partitions);
    if (!client::ok(created) &&
        !(!s.topic.empty() && client::error_of(created).code == errc::topic_already_exists)) {
      std::cerr << "cannot create the topic over the native port\n";
      return 1;
    }
  }
  rd_kafka_t* producer = kafka_client(RD_KAFKA_PRODUCER, bootstrap, false, s.idempotent, s.tls_ca_file);
  const std::string value(s.size, 'x');
  const auto start = clock_type::now();
  for (std::uint64_t i = 0; i < s.messages; ++i) {
    for (;;) {
      const auto rc = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(i % static_cast<std::uint64_t>(s.partitions))),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (rc != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::cerr << "produce: " << rd_kafka_err2str(rc) << "\n";
        return 1;
      }
      rd_kafka_poll(producer, 5);
    }
  }
  if (rd_kafka_flush(producer, 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "flush timed out\n";
    return 1;
  }
  const double produce_secs = std::chrono::duration<double>(clock_type::now() - start).count();
  rd_kafka_destroy(producer);
  const double n = static_cast<double>(s.messages);
  std::printf("mode=%s partitions=%d size=%zu acks=all\n", mock ? "kafka-mock" : "kafka", s.partitions, s.size);
  std::printf("produced %.0f msgs in %.3f s: %.0f msg/s, %.1f MB/s\n", n, produce_secs,
              n / produce_secs, n * static_cast<double>(s.size) / produce_secs / 1e6);
  std::fflush(stdout);
  if (s.produce_only) {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (mock_host) rd_kafka_destroy(mock_host);
    return 0;
  }

  // The consumer reads back what the target retains: Portask keeps everything, the mock
  // cluster keeps only the newest few MB of each partition (its log is capped), so the
  // expected count comes from the watermarks and the rate is timed from the first message
  // to the last (connection setup and offset lookups excluded for both targets).
  rd_kafka_t* consumer = kafka_client(RD_KAFKA_CONSUMER, bootstrap, true, false, s.tls_ca_file);
  std::uint64_t retained = 0;
  std::vector<std::int64_t> starts(static_cast<std::size_t>(s.partitions), 0);
  for (int p = 0; p < s.partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(consumer, topic.c_str(), p, &lo, &hi, 10'000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cerr << "cannot read the watermarks of partition " << p << "\n";
      return 1;
    }
    retained += static_cast<std::uint64_t>(hi - lo);
    starts[static_cast<std::size_t>(p)] = lo;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(s.partitions);
  for (int p = 0; p < s.partitions; ++p)
    // From the low watermark just read: a logical offset (BEGINNING) would make librdkafka
    // look it up again, and a lookup it retries waits 500 ms.
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset =
        starts[static_cast<std::size_t>(p)];
  rd_kafka_assign(consumer, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::uint64_t consumed = 0;
  const auto deadline = clock_type::now() + std::chrono::seconds(120);
  clock_type::time_point first{}, last{};
  while (consumed < retained && clock_type::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
    if (!m) continue;
    if (!m->err) {
      last = clock_type::now();
      if (consumed++ == 0) first = last;
    }
    rd_kafka_message_destroy(m);
  }
  const double consume_secs = std::chrono::duration<double>(last - first).count();
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  if (cluster) rd_kafka_mock_cluster_destroy(cluster);
  if (mock_host) rd_kafka_destroy(mock_host);
  const double c = static_cast<double>(consumed);
  std::printf("consumed %llu of %llu retained msgs in %.3f s: %.0f msg/s, %.1f MB/s\n",
              static_cast<unsigned long long>(consumed), static_cast<unsigned long long>(retained),
              consume_secs, c > 1 ? (c - 1) / consume_secs : 0.0,
              c > 1 ? (c - 1) * static_cast<double>(s.size) / consume_secs / 1e6 : 0.0);
  return consumed == retained && (mock || retained == s.messages) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"portask-bench: load tool for Portask (native protocol) and the raw XADD reference"};
  app.add_option("--mode", s.mode, "native, xadd, kafka (librdkafka to Portask) or kafka-mock");
  app.add_option("--kafka-port", s.kafka_port, "Portask Kafka port (kafka mode)");
  app.add_option("--host", s.host, "broker (or redis) host; loopback only");
  app.add_option("--port", s.port, "broker native port");
  app.add_option("--redis-port", s.redis_port, "redis port (xadd mode)");
  app.add_option("--producers", s.producers);
  app.add_option("--consumers", s.consumers);
  app.add_option("--messages", s.messages, "messages in total");
  app.add_option("--size", s.size, "value bytes per message (>= 8)");
  app.add_option("--batch", s.batch, "messages per batch");
  app.add_option("--partitions", s.partitions);
  app.add_option("--inflight", s.inflight, "pipelined batches per producer connection");
  app.add_option("--rate", s.rate, "messages/s over all producers (0: unthrottled)");
  app.add_option("--seconds", s.seconds, "with --rate: how long to run");
  app.add_option("--topic", s.topic, "topic (default: a new one)");
  app.add_option("--codec", s.codec);
  app.add_option("--tls-ca-file", s.tls_ca_file,
                 "connect with TLS (native: the client; kafka: security.protocol=SSL), trusting these CAs");
  app.add_option("--compression", s.compression);
  app.add_flag("--produce-only", s.produce_only, "kafka modes: do not consume the messages back");
  app.add_flag("--idempotent", s.idempotent, "kafka modes: an idempotent producer");
  CLI11_PARSE(app, argc, argv);
  if (s.host != "127.0.0.1" && s.host != "localhost" && s.host != "::1") {
    std::cerr << "portask-bench only targets loopback\n";
    return 2;
  }
  if (s.consumers < 0 || s.producers < 1 || s.partitions < 1 || s.batch < 1 || s.inflight < 1) {
    std::cerr << "counts must be at least 1\n";
    return 2;
  }
  if (s.mode == "xadd") return run_xadd(s);
  if (s.mode == "kafka") return run_kafka(s, false);
  if (s.mode == "kafka-mock") return run_kafka(s, true);
  return run_native(s);
}
