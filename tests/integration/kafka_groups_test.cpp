// Consumer groups with real clients against the real `portask` executable on redis-server:
// kafka-python members as processes (one killed, the others take over), a broker restart
// in the middle of consumption (the member resumes from its committed offsets), kcat -G,
// and kafkajs (when its pinned npm install is present).
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>

#include "group_workers.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;
using namespace std::chrono_literals;

namespace {

class KafkaGroupClients : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start());
    server_ = std::make_unique<server_process>(redis_.url(), dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start({"--group-initial-rebalance-delay-ms", "500"}));
    bootstrap_ = "127.0.0.1:" + std::to_string(server_->kafka_port());
  }
  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& name : {"portask.log", "w0.log", "w1.log", "w2.log", "w0.err", "w1.err", "w2.err"}) {
      std::ifstream in(dir_.path() + "/" + name);
      if (in) std::cerr << "--- " << name << " ---\n" << in.rdbuf() << "\n";
    }
  }

  // `per_partition` messages on each of 6 partitions, published natively.
  void fill_topic(const std::string& topic, int per_partition) {
    auto native = server_->connect();
    ASSERT_TRUE(client::ok(native.create_topic(topic, 6)));
    for (std::int32_t p = 0; p < 6; ++p) {
      protocol::message_batch b;
      for (int i = 0; i < per_partition; ++i) {
        protocol::message m;
        m.key = "k" + std::to_string(i);
        m.value = "m" + std::to_string(p) + "-" + std::to_string(i);
        b.messages.push_back(m);
      }
      ASSERT_TRUE(client::ok(native.publish(topic, p, b)));
    }
  }
  std::string out(int i) const { return dir_.path() + "/w" + std::to_string(i) + ".log"; }
  std::string err(int i) const { return dir_.path() + "/w" + std::to_string(i) + ".err"; }
  std::vector<worker_log> logs(int n) const {
    std::vector<worker_log> l;
    for (int i = 0; i < n; ++i) l.push_back(read_worker_log(out(i)));
    return l;
  }

  // Three members split a 6-partition topic; member 2 gets `signal` (SIGKILL: a crash, no
  // LeaveGroup; SIGTERM: a clean leave). The other two must take over and finish the topic.
  void split_then_lose_a_member(const std::function<std::vector<std::string>(int)>& argv, int signal) {
    constexpr int per_partition = 100, total = 600;
    fill_topic("orders", per_partition);
    std::vector<child_process> workers;
    for (int i = 0; i < 3; ++i) workers.emplace_back(argv(i), err(i));
    ASSERT_TRUE(wait_until(
        [&] {
          auto l = logs(3);
          std::set<std::int32_t> all;
          for (const auto& w : l) {
            if (w.assignment.size() != 2) return false;
            all.insert(w.assignment.begin(), w.assignment.end());
          }
          return all.size() == 6 && deliveries(l).size() >= 60;
        },
        60s))
        << "three members, two partitions each";
    workers[2].stop(signal);
    ASSERT_FALSE(workers[2].running());
    const auto committed_by_lost = read_worker_log(out(2)).committed;
    ASSERT_TRUE(wait_until(
        [&] {
          auto l = logs(3);
          std::set<std::int32_t> all;
          for (int i = 0; i < 2; ++i) all.insert(l[i].assignment.begin(), l[i].assignment.end());
          return all.size() == 6;
        },
        30s))
        << "the survivors take over every partition";
    ASSERT_TRUE(wait_until([&] { return deliveries(logs(3)).size() == total; }, 90s))
        << "every message processed; got " << deliveries(logs(3)).size();
    const auto seen = deliveries(logs(3));
    for (const auto& v : unjustified_redeliveries(seen, committed_by_lost)) ADD_FAILURE() << v;
    // Values are the ones stored at those offsets.
    for (const auto& w : logs(3))
      for (const auto& r : w.records)
        EXPECT_EQ(r.value, "m" + std::to_string(r.partition) + "-" + std::to_string(r.offset));
    // The group's committed offsets reach the end of every partition (seen natively).
    auto native = server_->connect();
    EXPECT_TRUE(wait_until(
        [&] {
          for (std::int32_t p = 0; p < 6; ++p) {
            auto c = native.committed("workers", "orders", p);
            if (!client::ok(c) || std::get<0>(c).offset != per_partition) return false;
          }
          return true;
        },
        20s));
    for (int i = 0; i < 2; ++i) workers[i].stop(SIGTERM);
  }

  temp_dir dir_;
  redis_server redis_;
  std::unique_ptr<server_process> server_;
  std::string bootstrap_;
};

std::vector<std::string> python_worker(const std::string& bootstrap, const std::string& outfile,
                                       int delay_ms) {
  return {"/usr/bin/python3", PORTASK_TEST_SOURCE_DIR "/kafka_python_group_worker.py", bootstrap,
          "orders", "workers", outfile, std::to_string(delay_ms)};
}

std::vector<std::string> kafkajs_worker(const std::string& bootstrap, const std::string& outfile,
                                        int delay_ms) {
  return {"/usr/bin/node", PORTASK_KAFKAJS_DIR "/group_worker.js", bootstrap, "orders", "workers",
          outfile, std::to_string(delay_ms)};
}

}  // namespace

TEST_F(KafkaGroupClients, KafkajsMembersSplitPartitionsAndSurviveALeavingMember) {
  std::ifstream installed(PORTASK_KAFKAJS_DIR "/node_modules/kafkajs/package.json");
  ASSERT_TRUE(installed) << "kafkajs is not installed: run tools/setup --test";
  split_then_lose_a_member([&](int i) { return kafkajs_worker(bootstrap_, out(i), 15); }, SIGTERM);
  EXPECT_TRUE(read_worker_log(out(2)).closed) << "the member left cleanly";
}

TEST_F(KafkaGroupClients, KafkaPythonMembersSplitPartitionsAndSurviveAKilledMember) {
  split_then_lose_a_member([&](int i) { return python_worker(bootstrap_, out(i), 15); }, SIGKILL);
}

TEST_F(KafkaGroupClients, KafkaPythonResumesFromCommittedOffsetsAfterABrokerRestart) {
  fill_topic("orders", 50);
  child_process worker(python_worker(bootstrap_, out(0), 10), err(0));
  ASSERT_TRUE(wait_until([&] { return deliveries(logs(1)).size() >= 100; }, 60s));
  // SIGKILL the broker mid-consumption and start it again on the same ports and store.
  server_->stop(SIGKILL);
  ASSERT_FALSE(server_->running());
  const auto before = read_worker_log(out(0));
  ASSERT_TRUE(server_->start({"--group-initial-rebalance-delay-ms", "500"}));
  ASSERT_TRUE(wait_until([&] { return deliveries(logs(1)).size() == 300; }, 90s))
      << "got " << deliveries(logs(1)).size();
  const auto after = read_worker_log(out(0));
  for (const auto& v : unjustified_redeliveries(deliveries({after}), before.committed)) ADD_FAILURE() << v;
  // It resumed where it had committed: the first record it processed after the restart in
  // each partition is at most its committed offset (nothing skipped).
  std::map<std::int32_t, std::int64_t> first_after;
  for (std::size_t i = before.records.size(); i < after.records.size(); ++i)
    first_after.emplace(after.records[i].partition, after.records[i].offset);
  for (const auto& [p, o] : first_after) {
    auto c = before.committed.find(p);
    EXPECT_LE(o, c == before.committed.end() ? 0 : c->second) << "partition " << p;
  }
  worker.stop(SIGTERM);
}

TEST_F(KafkaGroupClients, KcatConsumesInAGroupAndCommits) {
  fill_topic("orders", 5);
  const std::string consume = "timeout 60 kcat -b " + bootstrap_ +
                              " -X auto.offset.reset=earliest -G kcat-group orders -e -q -f '%p %o %s\\n' 2>&1";
  auto [rc, first] = run_shell(consume);
  ASSERT_EQ(rc, 0) << first;
  std::set<std::string> lines;
  std::istringstream in(first);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.insert(l);
  EXPECT_EQ(lines.size(), 30u) << first;
  EXPECT_TRUE(lines.count("4 2 m4-2")) << first;
  // The second run starts from the committed offsets: nothing new.
  auto [rc2, second] = run_shell(consume);
  EXPECT_EQ(rc2, 0);
  EXPECT_EQ(second, "") << "kcat committed its offsets";
}
