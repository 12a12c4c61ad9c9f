// portask-group-bench: consumer-group figures with librdkafka, against a Portask Kafka
// listener or librdkafka's in-process mock cluster (the peer, same client, same run).
//
//   portask-group-bench --mode rebalance --kafka-port 9092 --port 7070 --members 10 --partitions 30
//   portask-group-bench --mode commit --kafka-port 9092 --seconds 5 --inflight 64
//   add --mock to run the same against the mock cluster
//
// rebalance: N members subscribe at once; reports the time until every partition is
// assigned (and each member has its share), then the time for the group to settle again
// after one member leaves. commit: one group member commits offsets (OffsetCommit requests
// with one partition each); --inflight 1 measures the round trip, more measures throughput.
// Loopback only.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>
#include <string>
#include <vector>

#include "client/client.hpp"

using clock_type = std::chrono::steady_clock;

namespace {

struct settings {
  std::string mode = "rebalance";
  std::uint16_t kafka_port = 9092;
  std::uint16_t port = 7070;
  bool mock = false;
  int members = 10;
  int partitions = 30;
  double seconds = 5;
  int inflight = 64;
};

std::atomic<std::uint64_t> commits_done{0};
std::atomic<std::uint64_t> commits_failed{0};

void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void*) {
  if (err) ++commits_failed;
  else ++commits_done;
}

rd_kafka_t* consumer(const std::string& bootstrap, const std::string& group) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::vector<std::pair<const char*, const char*>> kv = {
      {"group.id", group.c_str()},     {"enable.auto.commit", "false"},
      {"session.timeout.ms", "10000"}, {"heartbeat.interval.ms", "100"},
      {"log_level", "3"},              {"partition.assignment.strategy", "range"}};
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  for (const auto& [k, v] : kv) rd_kafka_conf_set(conf, k, v, err, sizeof err);
  rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk) rd_kafka_poll_set_consumer(rk);
  return rk;
}

void subscribe(rd_kafka_t* rk, const std::string& topic) {
  auto* t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, t);
  rd_kafka_topic_partition_list_destroy(t);
}

int assigned(rd_kafka_t* rk) {
  rd_kafka_topic_partition_list_t* parts = nullptr;
  if (rd_kafka_assignment(rk, &parts)) return -1;
  const int n = parts->cnt;
  rd_kafka_topic_partition_list_destroy(parts);
  return n;
}

// Polls every member until the assignments cover `total` partitions, each member holding
// its range share; returns the seconds it took, or a negative number on a 60 s timeout.
double settle(std::vector<rd_kafka_t*>& ms, int total, clock_type::time_point start) {
  const auto deadline = start + std::chrono::seconds(60);
  const int n = static_cast<int>(ms.size());
  while (clock_type::now() < deadline) {
    int sum = 0;
    bool balanced = true;
    for (auto* m : ms) {
      if (auto* msg = rd_kafka_consumer_poll(m, 0)) rd_kafka_message_destroy(msg);
      const int a = assigned(m);
      sum += a;
      balanced &= a == total / n || a == total / n + 1;
    }
    if (sum == total && balanced) return std::chrono::duration<double>(clock_type::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return -1;
}

struct target {
  std::string bootstrap;
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~target() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (host) rd_kafka_destroy(host);
  }
};

bool prepare(const settings& s, const std::string& topic, target& t) {
  if (s.mock) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    t.host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    t.cluster = rd_kafka_mock_cluster_new(t.host, 1);
    t.bootstrap = rd_kafka_mock_cluster_bootstraps(t.cluster);
    return rd_kafka_mock_topic_create(t.cluster, topic.c_str(), s.partitions, 1) == 0;
  }
  t.bootstrap = "127.0.0.1:" + std::to_string(s.kafka_port);
  portask::client::options o;
  o.port = s.port;
  auto admin = portask::client::connection::open(o);
  return portask::client::ok(admin) &&
         portask::client::ok(std::get<0>(admin).create_topic(topic, s.partitions));
}

int run_rebalance(const settings& s) {
  const auto id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::string topic = "gbench-" + id, group = "gbench-" + id;
  target t;
  if (!prepare(s, topic, t)) {
    std::cerr << "cannot create the topic\n";
    return 1;
  }
  std::vector<rd_kafka_t*> ms;
  for (int i = 0; i < s.members; ++i) ms.push_back(consumer(t.bootstrap, group));
  const auto start = clock_type::now();
  for (auto* m : ms) subscribe(m, topic);
  const double join = settle(ms, s.partitions, start);
  // One member leaves (LeaveGroup): the others must settle again.
  rd_kafka_consumer_close(ms.back());
  rd_kafka_destroy(ms.back());
  ms.pop_back();
  const auto left = clock_type::now();
  const double after_leave = settle(ms, s.partitions, left);
  std::printf("mode=rebalance target=%s members=%d partitions=%d\n", s.mock ? "mock" : "portask",
              s.members, s.partitions);
  std::printf("all %d members assigned after %.3f s; %d members settled %.3f s after a leave\n",
              s.members, join, s.members - 1, after_leave);
  for (auto* m : ms) {
    rd_kafka_consumer_close(m);
    rd_kafka_destroy(m);
  }
  return join < 0 || after_leave < 0 ? 1 : 0;
}

int run_commit(const settings& s) {
  const auto id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  const std::string topic = "cbench-" + id, group = "cbench-" + id;
  target t;
  if (!prepare(s, topic, t)) {
    std::cerr << "cannot create the topic\n";
    return 1;
  }
  std::vector<rd_kafka_t*> ms{consumer(t.bootstrap, group)};
  subscribe(ms[0], topic);
  if (settle(ms, s.partitions, clock_type::now()) < 0) {
    std::cerr << "no assignment\n";
    return 1;
  }
  rd_kafka_t* rk = ms[0];
  std::uint64_t sent = 0;
  const auto start = clock_type::now();
  const auto stop = start + std::chrono::duration<double>(s.seconds);
  while (clock_type::now() < stop) {
    while (sent - commits_done - commits_failed < static_cast<std::uint64_t>(s.inflight)) {
      auto* offsets = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(offsets, topic.c_str(),
                                        static_cast<std::int32_t>(sent % static_cast<std::uint64_t>(s.partitions)))
          ->offset = static_cast<std::int64_t>(sent);
      rd_kafka_commit(rk, offsets, 1);
      rd_kafka_topic_partition_list_destroy(offsets);
      ++sent;
    }
    if (auto* msg = rd_kafka_consumer_poll(rk, 1)) rd_kafka_message_destroy(msg);
  }
  while (commits_done + commits_failed < sent) {
    if (auto* msg = rd_kafka_consumer_poll(rk, 10)) rd_kafka_message_destroy(msg);
    if (clock_type::now() > stop + std::chrono::seconds(30)) break;
  }
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::printf("mode=commit target=%s inflight=%d\n", s.mock ? "mock" : "portask", s.inflight);
  std::printf("%llu OffsetCommit requests in %.2f s: %.0f commits/s, %llu failed\n",
              static_cast<unsigned long long>(commits_done.load()), secs,
              static_cast<double>(commits_done.load()) / secs,
              static_cast<unsigned long long>(commits_failed.load()));
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return commits_failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"portask-group-bench: rebalance time and commit throughput (librdkafka)"};
  app.add_option("--mode", s.mode, "rebalance or commit");
  app.add_option("--kafka-port", s.kafka_port, "Portask Kafka port");
  app.add_option("--port", s.port, "Portask native port (creates the topic)");
  app.add_flag("--mock", s.mock, "run against librdkafka's mock cluster instead");
  app.add_option("--members", s.members);
  app.add_option("--partitions", s.partitions);
  app.add_option("--seconds", s.seconds, "commit mode: how long");
  app.add_option("--inflight", s.inflight, "commit mode: commits in flight");
  CLI11_PARSE(app, argc, argv);
  if (s.members < 1 || s.partitions < 1 || s.inflight < 1) return 2;
  if (s.mode == "rebalance") return run_rebalance(s);
  if (s.mode == "commit") return run_commit(s);
  std::cerr << "unknown mode\n";
  return 2;
}
