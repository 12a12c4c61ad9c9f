// Several Portask nodes on one redis-server (append-only, fsync always): membership, partition
// leases spread over the nodes, failover when a node is killed, fencing of a paused owner,
// handover on SIGTERM. Against the real `portask` executable, with kcat, raw Kafka requests,
// confluent-kafka (librdkafka), the native C++ client and portask-cli.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "client/cluster_client.hpp"
#include "client/idempotent_producer.hpp"
#include "process.hpp"
#include "raw_kafka.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// What `kcat -L` says about the brokers and one topic's partition leaders.
struct metadata {
  std::map<int, std::string> brokers;  ///< id -> host:port
  std::map<int, int> leaders;          ///< partition -> leader (-1: none)
  std::string text;                    ///< without the first line (which names the broker asked)
};

metadata kcat_metadata(std::uint16_t port, const std::string& topic) {
  auto [rc, out] = run_shell("timeout 20 kcat -b 127.0.0.1:" + std::to_string(port) + " -m 10 -L -t " + topic +
                             " 2>/dev/null");
  metadata m;
  if (rc != 0) return m;
  m.text = out.substr(out.find('\n') + 1);
  static const std::regex broker{R"(broker (\d+) at (\S+))"};
  static const std::regex partition{R"(partition (\d+), leader (-?\d+))"};
  std::istringstream lines(out);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, match, broker)) m.brokers[std::stoi(match[1])] = match[2];
    if (std::regex_search(line, match, partition)) m.leaders[std::stoi(match[1])] = std::stoi(match[2]);
  }
  return m;
}

// CreateTopics through one node.
void create_topic(std::uint16_t kafka_port, const std::string& name, std::int32_t partitions) {
  raw_kafka c(kafka_port);
  msg::CreateTopicsRequest create;
  create.topics.push_back({name, partitions, 1, {}, {}});
  create.timeoutMs = 10000;
  ASSERT_EQ(call<msg::CreateTopicsResponse>(c, 19, 4, create, false).topics.at(0).errorCode, 0);
}

template <class T>
T must(client::result<T> r, const std::string& what) {
  if (!client::ok(r)) ADD_FAILURE() << what << ": " << client::error_of(r).message;
  if (!client::ok(r)) throw std::runtime_error(what);
  return std::move(std::get<0>(r));
}

// Every value stored in topic/partition, read through the partition's leader.
std::vector<std::string> stored_values(client::cluster_client& c, const std::string& topic, std::int32_t partition) {
  std::vector<std::string> out;
  std::int64_t offset = 0;
  for (int reads = 0; reads < 1000; ++reads) {
    auto f = must(c.fetch(topic, partition, offset), "fetch");
    for (const auto& m : f.messages) out.push_back(m.value.value_or(""));
    if (f.next_offset <= offset) break;
    offset = f.next_offset;
  }
  return out;
}

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.start()) << "redis-server did not start"; }

  // Starts node `id`; its log goes to the test's temp dir.
  server_process& start_node(int id, std::vector<std::string> extra = {}) {
    auto node = std::make_unique<server_process>(redis_.url(), log_path(id));
    std::vector<std::string> args{"--node-id", std::to_string(id), "--default-partitions", "12"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(node->start(args)) << read_file(log_path(id));
    nodes_[id] = std::move(node);
    return *nodes_[id];
  }
  std::string log_path(int id) const { return dir_.path() + "/node-" + std::to_string(id) + ".log"; }
  std::string bootstrap() const {
    std::string out;
    for (const auto& [id, n] : nodes_) out += (out.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(n->kafka_port()));
    return out;
  }
  // Waits until every listed node answers the same metadata for `topic`, with a live leader
  // for each of its `partitions` (the lease rounds have settled).
  metadata settled(const std::string& topic, std::size_t partitions, const std::vector<int>& ids) {
    metadata first;
    const bool ok = wait_until([&] {
      std::vector<metadata> seen;
      for (int id : ids) seen.push_back(kcat_metadata(nodes_.at(id)->kafka_port(), topic));
      first = seen.front();
      if (first.leaders.size() != partitions || first.brokers.size() != ids.size()) return false;
      for (const auto& [p, leader] : first.leaders)
        if (!first.brokers.count(leader)) return false;
      for (const auto& m : seen)
        if (m.text != first.text) return false;
      return true;
    }, std::chrono::seconds(60));
    EXPECT_TRUE(ok) << first.text;
    return first;
  }

  // A group consuming through `client` while its coordinator is killed.
  void group_failover(const std::string& client) {
    for (int id : {1, 2, 3}) start_node(id);
    std::string pids;
    for (const auto& [id, n] : nodes_) pids += " " + std::to_string(id) + "=" + std::to_string(n->pid());
    auto [rc, out] = run_shell("timeout 400 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/cluster_group_failover.py " +
                               bootstrap() + " groups group " + client + pids + " 2>&1");
    EXPECT_EQ(rc, 0) << client << ": " << out;
    // {"first_commit_seconds": b}: about the lease time on a quiet machine
    // (docs/benchmarks.md); the bound here only says "it came".
    static const std::regex commit{R"("first_commit_seconds": ([0-9.]+))"};
    std::smatch match;
    ASSERT_TRUE(std::regex_search(out, match, commit)) << out;
    EXPECT_LT(std::stod(match[1]), 60.0) << out;
    // The new coordinator took the group's lease with a later epoch, the high part of its
    // generations: they went on growing rather than starting again from 1.
    for (const auto& [id, n] : nodes_) {
      if (!n->running()) continue;
      auto [described, json] = run_shell("timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --port " +
                                         std::to_string(n->port()) + " groups describe group --format json 2>&1");
      ASSERT_EQ(described, 0) << json;
      const auto group = nlohmann::json::parse(json, nullptr, false);
      ASSERT_FALSE(group.is_discarded()) << json;
      EXPECT_GE(group.value("generation", 0), 2 << 16) << json;
      break;
    }
  }

  temp_dir dir_;
  redis_server redis_;
  std::map<int, std::unique_ptr<server_process>> nodes_;
};

TEST_F(Cluster, EveryNodeListsEveryBrokerAndThePartitionsAreSpreadOverThem) {
  for (int id : {1, 2, 3}) start_node(id);
  // A topic created through one node is served by all three.
  create_topic(nodes_[1]->kafka_port(), "spread", 12);
  const auto m = settled("spread", 12, {1, 2, 3});
  ASSERT_EQ(m.brokers.size(), 3u) << m.text;
  for (int id : {1, 2, 3}) EXPECT_EQ(m.brokers.at(id), "127.0.0.1:" + std::to_string(nodes_[id]->kafka_port()));
  std::map<int, int> led;
  for (const auto& [p, leader] : m.leaders) ++led[leader];
  EXPECT_EQ(led.size(), 3u) << m.text;  // rendezvous hashing gives each node some of 12
  // Produce through the bootstrap list: librdkafka sends each partition to its leader.
  std::string lines;
  for (int i = 0; i < 120; ++i) lines += "k" + std::to_string(i) + ":v" + std::to_string(i) + "\\n";
  auto [rc, out] = run_shell("printf '" + lines + "' | timeout 60 kcat -b " + bootstrap() +
                                " -P -t spread -K: -X topic.partitioner=murmur2_random 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("timeout 60 kcat -b " + bootstrap() + " -C -t spread -o beginning -e -q -f '%s\\n' | sort -V | tr '\\n' ' '");
  std::string expected;
  for (int i = 0; i < 120; ++i) expected += "v" + std::to_string(i) + " ";
  EXPECT_EQ(out, expected);
  // Each node reports itself and what it owns.
  std::uint64_t owned = 0;
  for (int id : {1, 2, 3}) {
    const auto [status, metrics] = http_get(nodes_[id]->http_port(), "/metrics");
    ASSERT_EQ(status, 200);
    EXPECT_EQ(prometheus_value(metrics, "portask_cluster_node_id"), id);
    EXPECT_EQ(prometheus_value(metrics, "portask_cluster_live_nodes"), 3);
    const auto mine = prometheus_value(metrics, "portask_cluster_owned_partitions");
    EXPECT_EQ(mine, led[id]) << id;
    owned += static_cast<std::uint64_t>(mine);
  }
  EXPECT_EQ(owned, 12u);
  // DescribeLogDirs: each node lists the partitions it leads (their one replica), not all.
  for (int id : {1, 2, 3}) {
    raw_kafka k(nodes_[id]->kafka_port());
    msg::DescribeLogDirsRequest dirs;
    dirs.topics = std::nullopt;
    const auto res = call<msg::DescribeLogDirsResponse>(k, 35, 1, dirs, false);
    ASSERT_EQ(res.results.size(), 1u);
    std::set<int> listed;
    for (const auto& t : res.results[0].topics)
      if (t.name == "spread")
        for (const auto& p : t.partitions) listed.insert(p.partitionIndex);
    std::set<int> leads;
    for (const auto& [p, leader] : m.leaders)
      if (leader == id) leads.insert(p);
    EXPECT_EQ(listed, leads) << "node " << id;
  }
  // Any node describes the whole cluster.
  const auto [status, body] = http_get(nodes_[2]->http_port(), "/api/cluster");
  ASSERT_EQ(status, 200) << body;
  const auto view = nlohmann::json::parse(body);
  EXPECT_EQ(view["node_id"], 2);
  ASSERT_EQ(view["nodes"].size(), 3u) << body;
  std::size_t held = 0;
  for (const auto& p : view["partitions"]) held += p["topic"] == "spread" && p["held"].get<bool>();
  EXPECT_EQ(held, 12u) << body;
  for (const auto& n : view["nodes"]) {
    const int id = n["id"];
    EXPECT_EQ(n["kafka"]["PLAINTEXT"], "127.0.0.1:" + std::to_string(nodes_[id]->kafka_port())) << body;
    EXPECT_EQ(n["partitions"], led[id]) << body;
  }
  const auto [hs, health] = http_get(nodes_[3]->http_port(), "/health");
  EXPECT_NE(health.find("\"node_id\":3"), std::string::npos) << health;
  // The CLI's table of the same.
  std::tie(rc, out) = run_shell(std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(nodes_[1]->port()) +
                                " --http-port " + std::to_string(nodes_[1]->http_port()) + " cluster nodes 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("1 (this)"), std::string::npos) << out;
  EXPECT_NE(out.find("PLAINTEXT=127.0.0.1:" + std::to_string(nodes_[3]->kafka_port())), std::string::npos) << out;
  EXPECT_NE(out.find("cluster, 12 partitions, 0 without an owner"), std::string::npos) << out;
}

// KIP-951: a node that does not lead a partition answers Produce v10 and Fetch v12+ with
// NOT_LEADER_OR_FOLLOWER, the current leader and its epoch, and (Produce v10, Fetch v16)
// that leader's endpoint, so the client goes there without asking Metadata first.
TEST_F(Cluster, APartitionsRequestsToAnotherNodeNameItsCurrentLeader) {
  for (int id : {1, 2, 3}) start_node(id);
  create_topic(nodes_[1]->kafka_port(), "kip951", 6);
  const auto m = settled("kip951", 6, {1, 2, 3});
  const auto [partition, leader] = *m.leaders.begin();
  const int other = leader == 1 ? 2 : 1;
  raw_kafka c(nodes_[other]->kafka_port());
  const auto produced = call<msg::ProduceResponse>(
      c, 0, 10, produce_request("kip951", partition, record_batch_bytes("x", 1, kafka::compression_type::none)), true);
  ASSERT_EQ(produced.responses.size(), 1u);
  const auto& p = produced.responses[0].partitionResponses.at(0);
  EXPECT_EQ(p.errorCode, 6);  // NOT_LEADER_OR_FOLLOWER
  EXPECT_EQ(p.currentLeader.leaderId, leader);
  EXPECT_GT(p.currentLeader.leaderEpoch, 0);
  ASSERT_EQ(produced.nodeEndpoints.size(), 1u);
  EXPECT_EQ(produced.nodeEndpoints[0].nodeId, leader);
  EXPECT_EQ(produced.nodeEndpoints[0].port, nodes_[leader]->kafka_port());
  msg::FetchRequest f;
  f.replicaId = -1;
  f.maxBytes = 1 << 20;
  msg::FetchRequest::FetchTopic t;
  t.topic = "kip951";
  msg::FetchRequest::FetchTopic::FetchPartition fp;
  fp.partition = partition;
  fp.partitionMaxBytes = 1 << 20;
  t.partitions.push_back(fp);
  f.topics.push_back(t);
  const auto fetched = call<msg::FetchResponse>(c, 1, 12, f, true);
  const auto& fpart = fetched.responses.at(0).partitions.at(0);
  EXPECT_EQ(fpart.errorCode, 6);
  EXPECT_EQ(fpart.currentLeader.leaderId, leader);
  EXPECT_EQ(fpart.currentLeader.leaderEpoch, p.currentLeader.leaderEpoch);
  // The leader itself takes the write.
  raw_kafka l(nodes_[leader]->kafka_port());
  const auto stored = call<msg::ProduceResponse>(
      l, 0, 10, produce_request("kip951", partition, record_batch_bytes("x", 1, kafka::compression_type::none)), true);
  EXPECT_EQ(stored.responses.at(0).partitionResponses.at(0).errorCode, 0);
  EXPECT_TRUE(stored.nodeEndpoints.empty());
  // The leader checks the epoch a client names (KIP-320) against the lease's, the one
  // Metadata and the hints above report: that epoch reads, an older one is fenced, a newer
  // one unknown.
  const auto epoch = p.currentLeader.leaderEpoch;
  for (const auto& [theirs, want] : std::vector<std::pair<std::int32_t, std::int16_t>>{
           {epoch, 0}, {epoch - 1, 74}, {epoch + 1, 75}}) {
    auto at = f;
    at.topics[0].partitions[0].currentLeaderEpoch = theirs;
    EXPECT_EQ(call<msg::FetchResponse>(l, 1, 12, at, true).responses.at(0).partitions.at(0).errorCode, want)
        << "Fetch at epoch " << theirs << " (the lease's is " << epoch << ")";
    msg::ListOffsetsRequest lo;
    lo.replicaId = -1;
    lo.topics.push_back({"kip951", {{partition, theirs, -1, 1}}});
    const auto listed = call<msg::ListOffsetsResponse>(l, 2, 7, lo, true).topics.at(0).partitions.at(0);
    EXPECT_EQ(listed.errorCode, want) << "ListOffsets at epoch " << theirs;
    if (want == 0) {
      EXPECT_EQ(listed.leaderEpoch, epoch);
      // The batches read are served under the same epoch, so a consumer's position and the
      // offsets it commits carry the epoch Metadata and ListOffsets name.
      const auto read = call<msg::FetchResponse>(l, 1, 12, at, true).responses.at(0).partitions.at(0);
      ASSERT_TRUE(read.records);
      const auto batches = kafka::decode_record_batches(read.records->flat());
      ASSERT_TRUE(batches && !batches->empty());
      for (const auto& b : *batches) EXPECT_EQ(b.partition_leader_epoch, epoch);
    }
    // As in Kafka, the leader checks the epoch before the offset (a fetch past the log end
    // at a wrong epoch hears of the epoch), and a node holding no replica says
    // NOT_LEADER_OR_FOLLOWER whatever the epoch.
    EXPECT_EQ(call<msg::FetchResponse>(c, 1, 12, at, true).responses.at(0).partitions.at(0).errorCode, 6)
        << "Fetch from the other node at epoch " << theirs;
    EXPECT_EQ(call<msg::ListOffsetsResponse>(c, 2, 7, lo, true).topics.at(0).partitions.at(0).errorCode, 6)
        << "ListOffsets from the other node at epoch " << theirs;
    auto past_end = at;
    past_end.topics[0].partitions[0].fetchOffset = 1000;
    EXPECT_EQ(call<msg::FetchResponse>(l, 1, 12, past_end, true).responses.at(0).partitions.at(0).errorCode,
              want == 0 ? 1 : want)
        << "Fetch past the log end at epoch " << theirs;
  }
}

TEST_F(Cluster, ASecondNodeWithALiveNodesIdDoesNotStart) {
  start_node(7);
  server_process twin{redis_.url(), log_path(70)};
  EXPECT_FALSE(twin.start({"--node-id", "7"}));
  EXPECT_TRUE(wait_until([&] { return !twin.running(); }));
  EXPECT_NE(read_file(log_path(70)).find("node id 7 is in use by a live node"), std::string::npos)
      << read_file(log_path(70));
  // The last line says why in words, not as an errno's text ("Device or resource busy").
  EXPECT_NE(read_file(log_path(70)).find("cannot start: node id 7 is in use by a live node"), std::string::npos)
      << read_file(log_path(70));
  // A cluster needs the shared store.
  auto [rc, out] = run_shell(std::string(PORTASK_SERVER_BINARY) + " --node-id 1 --store memory 2>&1");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("needs the store every node shares"), std::string::npos) << out;
}

// A node restarted at once after a crash (systemd restarts within 100 ms) finds its
// predecessor's registration: it waits for it to run out instead of refusing to start.
TEST_F(Cluster, ANodeRestartedRightAfterACrashJoinsOnceItsOldRegistrationRunsOut) {
  for (int id : {1, 2}) start_node(id);
  create_topic(nodes_.begin()->second->kafka_port(), "restarted", 4);
  settled("restarted", 4, {1, 2});
  nodes_[2]->stop(SIGKILL);
  start_node(2);
  EXPECT_TRUE(nodes_[2]->running()) << read_file(log_path(2));
  settled("restarted", 4, {1, 2});
}

TEST_F(Cluster, AnIdempotentProducerLosesNothingWhileOwnersAreKilled) {
  for (int id : {1, 2, 3}) start_node(id);
  std::string pids;
  for (const auto& [id, n] : nodes_) pids += " " + std::to_string(id) + "=" + std::to_string(n->pid());
  auto [rc, out] = run_shell("timeout 600 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/cluster_failover.py " +
                             bootstrap() + " failover 6" + pids + " --kills 2 2>&1");
  EXPECT_EQ(rc, 0) << out << read_file(log_path(1)).substr(0, 4000);
  // {"produced": ..., "failover_seconds": [a, b], ...}
  static const std::regex seconds{R"("failover_seconds": \[([^\]]*)\])"};
  std::smatch match;
  ASSERT_TRUE(std::regex_search(out, match, seconds)) << out;
  std::istringstream list(match[1].str());
  std::string one;
  int measured = 0;
  while (std::getline(list, one, ',')) {
    ++measured;
    // A 3 s lease, then the survivor's next look: about 3-4 s on a quiet machine
    // (docs/benchmarks.md). The bound here only says "it came", on a slow shared machine.
    EXPECT_LT(std::stod(one), 30.0) << out;
  }
  EXPECT_EQ(measured, 2) << out;
}

TEST_F(Cluster, AConsumerGroupKeepsConsumingWhenItsCoordinatorDies) {
  group_failover("confluent");  // librdkafka
}

TEST_F(Cluster, AKafkaPythonGroupKeepsConsumingWhenItsCoordinatorDies) {
  group_failover("kafka-python");
}

TEST_F(Cluster, APausedOwnerIsFencedOutByTheStoreAndAppendsNothing) {
  for (int id : {1, 2, 3}) start_node(id);
  create_topic(nodes_.begin()->second->kafka_port(), "fenced", 12);
  auto m = settled("fenced", 12, {1, 2, 3});
  const int owner = m.leaders.at(0);
  auto& paused = *nodes_[owner];
  // One record through the owner, on a connection opened before the pause.
  raw_kafka c(paused.kafka_port());
  const auto first = call<msg::ProduceResponse>(c, 0, 7, produce_request("fenced", 0, record_batch_bytes("before-", 1, kafka::compression_type::none)), false);
  ASSERT_EQ(first.responses.at(0).partitionResponses.at(0).errorCode, 0);
  ASSERT_EQ(::kill(paused.pid(), SIGSTOP), 0);
  // Until all its threads have stopped, the node may still serve the request below, as the
  // lease holder it still is (seen on a loaded machine: the write stored and acknowledged).
  ASSERT_TRUE(wait_until([&] { return all_threads_stopped(paused.pid()); }, std::chrono::seconds(30)));
  // A produce request waits in the paused node's socket.
  c.send(0, 7, 4242, produce_request("fenced", 0, record_batch_bytes("zombie-", 1, kafka::compression_type::none)), false);
  // Its lease expires; a survivor takes the partition and acknowledges a write.
  std::vector<int> others;
  for (const auto& [id, n] : nodes_)
    if (id != owner) others.push_back(id);
  int successor = -1;
  ASSERT_TRUE(wait_until([&] {
    auto now = kcat_metadata(nodes_[others[0]]->kafka_port(), "fenced");
    successor = now.leaders.count(0) ? now.leaders.at(0) : -1;
    return successor >= 0 && successor != owner;
  }, std::chrono::seconds(60)));
  raw_kafka s(nodes_[successor]->kafka_port());
  ASSERT_TRUE(wait_until([&] {
    const auto r = call<msg::ProduceResponse>(s, 0, 7, produce_request("fenced", 0, record_batch_bytes("after-", 1, kafka::compression_type::none)), false);
    return r.responses.at(0).partitionResponses.at(0).errorCode == 0;
  }, std::chrono::seconds(30)));
  // The old owner wakes up: its waiting write is refused (the store checks the lease in the
  // same step as the append). (A later one might be accepted: once it is registered again,
  // rendezvous hashing may give it the partition back, under a new lease.)
  ASSERT_EQ(::kill(paused.pid(), SIGCONT), 0);
  std::int32_t correlation = 0;
  auto bytes = c.receive(correlation, false);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(correlation, 4242);
  const auto zombie = decode_as<msg::ProduceResponse>(*bytes, 7);
  EXPECT_EQ(zombie.responses.at(0).partitionResponses.at(0).errorCode, 6);  // NOT_LEADER_OR_FOLLOWER
  // The log holds exactly the acknowledged records, in order.
  auto [rc, out] = run_shell("timeout 60 kcat -b " + bootstrap() + " -C -t fenced -p 0 -o beginning -e -q -f '%s\\n' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "before-0\nafter-0\n");
  // The woken node rejoins: every node answers the same metadata again.
  settled("fenced", 12, {1, 2, 3});
}

TEST_F(Cluster, ANodeStoppedWithSigtermHandsItsPartitionsOverAtOnce) {
  for (int id : {1, 2, 3}) start_node(id);
  create_topic(nodes_.begin()->second->kafka_port(), "handover", 12);
  auto m = settled("handover", 12, {1, 2, 3});
  const int leaving = m.leaders.at(0);
  EXPECT_EQ(nodes_[leaving]->stop(SIGTERM), 0);
  const auto stopped = std::chrono::steady_clock::now();
  std::vector<int> rest;
  for (const auto& [id, n] : nodes_)
    if (id != leaving) rest.push_back(id);
  // Released, not expired: the survivors' next round (every second) takes them.
  m = settled("handover", 12, rest);
  const auto took = std::chrono::steady_clock::now() - stopped;
  for (const auto& [p, leader] : m.leaders) EXPECT_NE(leader, leaving);
  EXPECT_LT(took, std::chrono::seconds(30));  // ~1 s on a quiet machine; "it happened" here
  EXPECT_NE(read_file(log_path(leaving)).find("left the cluster"), std::string::npos);
  auto [rc, out] = run_shell("printf 'x\\n' | timeout 60 kcat -b " + bootstrap() + " -P -t handover -p 0 2>&1");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(Cluster, ANodeThatLosesTheStoreStopsAcknowledgingAndGivesItsLeasesUp) {
  for (int id : {1, 2}) start_node(id, {"--store-timeout-ms", "1000"});
  create_topic(nodes_.begin()->second->kafka_port(), "cut", 12);
  auto m = settled("cut", 12, {1, 2});
  const int owner = m.leaders.at(0);
  raw_kafka c(nodes_[owner]->kafka_port());
  auto produce = [&](const char* prefix) {
    return call<msg::ProduceResponse>(c, 0, 7, produce_request("cut", 0, record_batch_bytes(prefix, 1, kafka::compression_type::none)), false)
        .responses.at(0).partitionResponses.at(0).errorCode;
  };
  ASSERT_EQ(produce("up-"), 0);
  auto owned = [&](int id) {
    return prometheus_value(http_get(nodes_[id]->http_port(), "/metrics").second, "portask_cluster_owned_partitions");
  };
  ASSERT_GT(owned(owner), 0);
  redis_.pause();
  // Nothing is acknowledged without the store: a retriable error (REQUEST_TIMED_OUT,
  // KAFKA_STORAGE_ERROR or NOT_LEADER_OR_FOLLOWER once the leases are given up).
  const auto refused = produce("down-");
  EXPECT_TRUE(refused == 7 || refused == 56 || refused == 6) << refused;
  // Before the leases could expire in the store, each node stops acting on them.
  EXPECT_TRUE(wait_until([&] { return owned(1) == 0 && owned(2) == 0; }, std::chrono::seconds(60)));
  EXPECT_EQ(produce("down-"), 6);
  redis_.resume();
  // Back: the leases are taken again and writes are acknowledged.
  EXPECT_TRUE(wait_until([&] { return produce("back-") == 0; }, std::chrono::seconds(60)));
  auto [rc, out] = run_shell("timeout 60 kcat -b " + bootstrap() + " -C -t cut -p 0 -o beginning -e -q -f '%s\\n' 2>&1");
  // The write that timed out may or may not be stored (its answer said "unknown"); the one
  // refused once the lease was given up never reached the store.
  EXPECT_EQ(out.rfind("up-0\n", 0), 0u) << out;
  EXPECT_LE(std::count(out.begin(), out.end(), 'd'), 1) << out;
  EXPECT_NE(out.find("back-0\n"), std::string::npos) << out;
}

}  // namespace

// The native protocol names each partition's leader and each group's coordinator; the C++
// client and portask-cli, given any one node, send every request where it belongs and follow
// a partition to its new leader when its owner is killed: an idempotent producer loses and
// repeats nothing, and subscriptions move with their partitions.
TEST_F(Cluster, NativeClientsAndTheCliFollowLeadersThroughAFailover) {
  for (int id : {1, 2, 3}) start_node(id);
  create_topic(nodes_[1]->kafka_port(), "native", 6);
  const auto m = settled("native", 6, {1, 2, 3});

  client::options o;
  o.port = nodes_[1]->port();
  o.timeout = std::chrono::seconds(60);
  auto c = must(client::cluster_client::open(o), "open");
  ASSERT_TRUE(c.clustered());
  EXPECT_EQ(c.metadata().node_id, 1);
  EXPECT_EQ(c.metadata().nodes.size(), 3u);
  std::map<int, int> named;
  for (const auto& owner : c.metadata().owners)
    if (owner.topic == "native") {
      named[owner.partition] = owner.leader;
      EXPECT_GT(owner.leader_epoch, 0);
    }
  EXPECT_EQ(named, m.leaders);  // the same leaders as the Kafka Metadata names
  // A node that does not lead a partition refuses it (the client's cue to look again).
  for (const auto& [p, leader] : m.leaders)
    if (leader != 1) {
      auto plain = nodes_[1]->connect();
      auto refused = plain.publish("native", p, one_message("wrong node"));
      ASSERT_FALSE(client::ok(refused));
      EXPECT_EQ(client::error_of(refused).code, errc::not_leader);
      break;
    }

  // portask-cli through node 1 writes keyed lines to every partition, whoever leads it, and
  // reads them all back through node 2.
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --timeout 60000 --port ";
  auto run_cli = [&](int node, const std::string& args) {
    return run_shell("timeout 120 " + cli + std::to_string(nodes_[node]->port()) + " " + args + " 2>&1");
  };
  auto [made, made_out] = run_cli(1, "topics create viacli --partitions 6");
  ASSERT_EQ(made, 0) << made_out;
  auto cli_count = [&](int node) {
    auto [rc, out] = run_cli(node, "consume viacli --format '%s\\n'");
    EXPECT_EQ(rc, 0) << out;
    return std::count(out.begin(), out.end(), '\n');
  };
  auto [produced, produced_out] = run_shell("seq 1 60 | sed 's/.*/k&:v&/' | timeout 120 " + cli +
                                            std::to_string(nodes_[1]->port()) + " produce viacli -K : 2>&1");
  ASSERT_EQ(produced, 0) << produced_out;
  EXPECT_EQ(cli_count(2), 60);

  // Subscriptions to every partition, then an idempotent producer through node 1.
  std::map<std::uint32_t, std::int32_t> subscription_partition;
  for (std::int32_t p = 0; p < 6; ++p)
    subscription_partition[must(c.subscribe("native", p, 0, 1 << 20), "subscribe")] = p;
  auto producer = must(client::idempotent_producer::open(o, std::chrono::seconds(90)), "producer");
  std::map<std::int32_t, std::vector<std::string>> acked;
  auto produce_round = [&](const std::string& prefix) {
    for (int i = 0; i < 30; ++i) {
      const std::int32_t p = i % 6;
      const auto value = prefix + std::to_string(i);
      must(producer.publish("native", p, one_message(value)), "idempotent publish " + value);
      acked[p].push_back(value);
    }
  };
  produce_round("a-");
  // Kill a node other than the bootstrap one that leads something.
  int victim = -1;
  for (const auto& [p, leader] : m.leaders)
    if (leader != 1) victim = leader;
  ASSERT_GE(victim, 0);
  nodes_[victim]->stop(SIGKILL);
  produce_round("b-");  // each batch to the victim's partitions waits for their new leader

  // Every acknowledged value is stored once, in order, whoever leads the partition now.
  for (const auto& [p, values] : acked) EXPECT_EQ(stored_values(c, "native", p), values) << "partition " << p;
  // The subscriptions followed their partitions.
  std::map<std::int32_t, std::vector<std::string>> delivered;
  auto complete = [&] {
    for (const auto& [p, values] : acked)
      if (delivered[p].size() < values.size()) return false;
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!complete() && std::chrono::steady_clock::now() < deadline) {
    auto d = must(c.next_delivery(std::chrono::milliseconds(500)), "next delivery");
    if (!d) continue;
    for (const auto& msg : d->data.messages) delivered[subscription_partition.at(d->subscription_id)].push_back(msg.value.value_or(""));
    must(c.grant_credit(d->subscription_id, static_cast<std::uint32_t>(d->wire_bytes)), "credit");
  }
  for (const auto& [p, values] : acked) EXPECT_EQ(delivered[p], values) << "partition " << p;
  // portask-cli still reads every partition through node 1, the moved ones from their new leader.
  EXPECT_EQ(cli_count(1), 60);
}
