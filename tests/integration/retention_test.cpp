// The data lifecycle against the real `portask` executable (docs/operations.md, "Retention
// and memory"): retention by time and size, DeleteRecords from every door (a real Kafka admin
// client, the native protocol, portask-cli), the log start surviving a restart on redis, a
// memory store that stays bounded, and idle partitions that stop and come back.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "raw_kafka.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

namespace portask::test {
namespace {

using namespace std::chrono_literals;

protocol::message_batch values(const std::string& prefix, int n, std::size_t size = 0) {
  protocol::message_batch b;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.value = prefix + std::to_string(i) + std::string(size, 'v');
    b.messages.push_back(std::move(m));
  }
  return b;
}

class Retention : public ::testing::Test {
 protected:
  double metric(const std::string& series) {
    return prometheus_value(http_get(server.http_port(), "/metrics").second, series);
  }
  long rss_kib() { return proc_status_kib(server.pid(), "VmRSS"); }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(server.kafka_port()); }

  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
};

TEST_F(Retention, KafkaPythonSeesConfigsValidatedAndRetentionByTimeAndSize) {
  ASSERT_TRUE(server.start({"--log-retention-check-interval-ms", "100"}));
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_retention.py " +
                             bootstrap() + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("retention checks passed"), std::string::npos) << out;
  EXPECT_GT(metric("portask_records_deleted_total"), 20);
}

TEST_F(Retention, KafkaPythonSeesCompactedTopicsKeepTheNewestRecordOfEachKey) {
  ASSERT_TRUE(server.start({"--log-retention-check-interval-ms", "100"}));
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_compaction.py " +
                             bootstrap() + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("compaction checks passed"), std::string::npos) << out;
  EXPECT_GE(metric("portask_records_compacted_total"), 45) << "47 of changelog's, and commits";
}

TEST_F(Retention, KafkajsAdminDeletesRecords) {
  std::ifstream installed(PORTASK_KAFKAJS_DIR "/node_modules/kafkajs/package.json");
  ASSERT_TRUE(installed) << "kafkajs is not installed: run tools/setup --test";
  ASSERT_TRUE(server.start());
  auto [rc, out] = run_shell("node " PORTASK_KAFKAJS_DIR "/delete_records.js " + bootstrap() +
                             " erased 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("kafkajs delete records: checked"), std::string::npos) << out;
}

TEST_F(Retention, NativeClientAndCliDeleteRecords) {
  ASSERT_TRUE(server.start());
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.create_topic("cut", 2)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client::ok(c.publish("cut", 0, values("m", 5))));
  auto cut = c.delete_records("cut", 0, 7);
  ASSERT_TRUE(client::ok(cut)) << client::error_of(cut).message;
  EXPECT_EQ(std::get<0>(cut).log_start, 7);
  EXPECT_EQ(std::get<0>(cut).high_watermark, 15);
  auto below = c.fetch("cut", 0, 3);
  ASSERT_FALSE(client::ok(below));
  EXPECT_EQ(client::error_of(below).code, errc::offset_out_of_range);
  auto from = c.fetch("cut", 0, 7);
  ASSERT_TRUE(client::ok(from));
  ASSERT_FALSE(std::get<0>(from).messages.empty());
  EXPECT_EQ(std::get<0>(from).messages.front().value, "m2") << "record 7 is the third of its batch";
  EXPECT_EQ(std::get<0>(from).log_start, 7);
  auto past = c.delete_records("cut", 0, 16);
  ASSERT_FALSE(client::ok(past));
  EXPECT_EQ(client::error_of(past).code, errc::offset_out_of_range);
  auto unknown = c.delete_records("nope", 0, 1);
  ASSERT_FALSE(client::ok(unknown));
  EXPECT_EQ(client::error_of(unknown).code, errc::unknown_topic);

  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port());
  auto [rc, out] = run_shell(cli + " topics delete-records cut --partition 0 --offset 12 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("cut partition 0: log start 12, high watermark 15"), std::string::npos) << out;
  auto [rc_all, out_all] = run_shell(cli + " topics delete-records cut --offset -1 2>&1");
  EXPECT_EQ(rc_all, 0) << out_all;
  EXPECT_NE(out_all.find("cut partition 0: log start 15"), std::string::npos) << out_all;
  EXPECT_NE(out_all.find("cut partition 1: log start 0, high watermark 0"), std::string::npos) << out_all;
  auto [rc_bad, out_bad] = run_shell(cli + " topics delete-records cut --offset -7 2>&1");
  EXPECT_NE(rc_bad, 0) << out_bad;
  auto [rc_far, out_far] = run_shell(cli + " topics delete-records cut --partition 0 --offset 99 2>&1");
  EXPECT_EQ(rc_far, 1) << out_far;
  EXPECT_NE(out_far.find("out of range"), std::string::npos) << out_far;
  auto d = c.describe_topic("cut");
  ASSERT_TRUE(client::ok(d));
  EXPECT_EQ(std::get<0>(d).partition_states.at(0).log_start, 15);
}

TEST_F(Retention, RecordsOfACompactOnlyTopicAreNotDeletedAsInKafka) {
  ASSERT_TRUE(server.start());
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.create_topic("keyed", 1, {{"cleanup.policy", "compact"}})));
  auto batch = values("v", 4);
  for (std::size_t i = 0; i < batch.messages.size(); ++i) batch.messages[i].key = "k" + std::to_string(i);
  ASSERT_TRUE(client::ok(c.publish("keyed", 0, batch)));
  // Compaction alone shortens it: DeleteRecords is a policy violation, and nothing moves.
  auto refused = c.delete_records("keyed", 0, 2);
  ASSERT_FALSE(client::ok(refused));
  EXPECT_EQ(client::error_of(refused).code, errc::policy_violation);
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server.port());
  auto [rc, out] = run_shell(cli + " topics delete-records keyed --partition 0 --offset 3 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("cleanup policy"), std::string::npos) << out;
  auto kept = c.fetch("keyed", 0, 0);
  ASSERT_TRUE(client::ok(kept));
  EXPECT_EQ(std::get<0>(kept).log_start, 0);
  // With delete in its policy too, records are deleted at once (the running partition
  // follows the change).
  ASSERT_TRUE(client::ok(c.alter_topic_config("keyed", {{"cleanup.policy", "compact,delete"}})));
  auto cut = c.delete_records("keyed", 0, 2);
  ASSERT_TRUE(client::ok(cut)) << client::error_of(cut).message;
  EXPECT_EQ(std::get<0>(cut).log_start, 2);
}

TEST(RetentionOnRedis, TheLogStartSurvivesABrokerRestartAndRetentionTrimsTheStream) {
  redis_server redis;
  ASSERT_TRUE(redis.start());
  temp_dir dir;
  {
    server_process broker{redis.url(), dir.path() + "/first.log"};
    ASSERT_TRUE(broker.start());
    auto c = broker.connect();
    ASSERT_TRUE(client::ok(c.create_topic("kept", 1)));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(client::ok(c.publish("kept", 0, values("r", 10))));
    auto cut = c.delete_records("kept", 0, 25);
    ASSERT_TRUE(client::ok(cut)) << client::error_of(cut).message;
    EXPECT_EQ(std::get<0>(cut).log_start, 25);
    broker.stop(SIGTERM);
  }
  server_process broker{redis.url(), dir.path() + "/second.log"};
  ASSERT_TRUE(broker.start({"--log-retention-check-interval-ms", "100"}));
  auto c = broker.connect();
  auto b = c.list_offsets("kept", 0);
  ASSERT_TRUE(client::ok(b));
  EXPECT_EQ(std::get<0>(b).log_start, 25) << "the log start is kept in the store";
  EXPECT_EQ(std::get<0>(b).high_watermark, 40);
  auto next = c.publish("kept", 0, values("after", 1));
  ASSERT_TRUE(client::ok(next));
  EXPECT_EQ(std::get<0>(next).base_offset, 40);
  // Retention trims the stream itself (XTRIM): retention.bytes=0 removes every batch.
  ASSERT_TRUE(client::ok(c.create_topic("trimmed", 1, {{"retention.bytes", "0"}})));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client::ok(c.publish("trimmed", 0, values("t", 2))));
  ASSERT_TRUE(wait_until([&] {
    auto o = c.list_offsets("trimmed", 0);
    return client::ok(o) && std::get<0>(o).log_start == 10;
  }, 60s)) << "retention.bytes=0 removes every batch";
  // The log start moves first; the stream's trim follows from the writer.
  std::string len;
  EXPECT_TRUE(wait_until([&] {
    int rc = 0;
    std::tie(rc, len) = run_shell("redis-cli -p " + std::to_string(redis.port()) +
                                  " XLEN 'portask:{trimmed:0}:log'");
    return rc == 0 && len == "0\n";
  }, 30s)) << "the batches left the stream; XLEN: " << len;
}

// Runs a kafka-python check script against a broker on a fresh redis-server, checking
// every 100 ms; returns the length of the stream of `topic`'s partition 0 afterwards.
int run_script_on_redis(const std::string& script, const std::string& passed, const std::string& topic) {
  redis_server redis;
  EXPECT_TRUE(redis.start());
  temp_dir dir;
  server_process broker{redis.url(), dir.path() + "/broker.log"};
  EXPECT_TRUE(broker.start({"--log-retention-check-interval-ms", "100"}));
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/" + script + " 127.0.0.1:" +
                             std::to_string(broker.kafka_port()) + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(passed), std::string::npos) << out;
  auto [xrc, len] = run_shell("redis-cli -p " + std::to_string(redis.port()) + " XLEN 'portask:{" +
                              topic + ":0}:log'");
  EXPECT_EQ(xrc, 0);
  return xrc == 0 ? std::stoi(len) : -1;
}

TEST(RetentionOnRedis, KafkaPythonSeesRetentionByTimeAndSizeOnTheStream) {
  EXPECT_LE(run_script_on_redis("kafka_python_retention.py", "retention checks passed", "aged"), 10)
      << "the expired batches left the stream";
}

TEST(RetentionOnRedis, KafkaPythonSeesCompactedTopicsOnTheStream) {
  EXPECT_LE(run_script_on_redis("kafka_python_compaction.py", "compaction checks passed", "changelog"), 6)
      << "the stream holds what is left: 6 records, sent one batch each";
}

TEST_F(Retention, TheMemoryStoreStaysBoundedWhileTakingTenTimesItsRetention) {
  small_asan_quarantine();
  ASSERT_TRUE(server.start({"--log-retention-check-interval-ms", "100", "--log-retention-bytes",
                            std::to_string(8u << 20)}));
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.create_topic("flow", 1)));
  const auto batch = values("b", 64, 4000);  // about 256 KiB
  auto send = [&](int batches) {
    for (int i = 0; i < batches; ++i) {
      auto r = c.publish("flow", 0, batch);
      if (!client::ok(r)) return false;
    }
    return true;
  };
  ASSERT_TRUE(send(128));  // 32 MiB: the slabs and caches are warm
  const long warm = rss_kib();
  // 256 MiB more: 32 times the retention. In rounds of 8 MiB, each after retention has
  // caught up with the last (retention runs on a timer; on a loaded machine a producer at
  // full speed outruns it for a while, which is not what this measures).
  for (int round = 0; round < 32; ++round) {
    ASSERT_TRUE(send(32));
    ASSERT_TRUE(wait_until(
        [&] { return metric("portask_memory_store_used_bytes") < 24.0 * (1 << 20); }, 30s))
        << "retention did not catch up in round " << round;
  }
  const long after = rss_kib();
  std::printf("RSS: %ld KiB after 32 MiB, %ld KiB after 256 MiB more\n", warm, after);
  auto b = c.list_offsets("flow", 0);
  ASSERT_TRUE(client::ok(b));
  EXPECT_GT(std::get<0>(b).log_start, 0);
  // Bounded, not flat: stored frames live in 16 MiB slabs (protocol/shared_bytes.cpp), one
  // being filled per thread that copies frames, plus those still holding retained frames,
  // and up to four freed ones kept mapped for reuse, so up to about 100 MiB of slabs is
  // normal here. A release repeat run measured 97 MiB of growth once, against a bound of
  // 96 MiB: the bound is half of what no retention would add.
  EXPECT_LT(after - warm, 128L * 1024) << "RSS warm " << warm << " KiB, after " << after
                                       << " KiB; without retention it grows by 256 MiB";
  ASSERT_TRUE(wait_until([&] { return metric("portask_memory_store_used_bytes") > 0; }, 30s));
  // Retention runs every 100 ms: what arrived since the last pass (tens of MiB at full speed)
  // is on top of the 8 MiB kept until the next pass trims it.
  double used = 0;
  EXPECT_TRUE(wait_until([&] {
    used = metric("portask_memory_store_used_bytes");
    return used < 24.0 * (1 << 20);
  }, 30s)) << "memory store used bytes " << used;
  EXPECT_GT(metric("portask_topic_stored_bytes{topic=\"flow\"}"), 0);
}

TEST_F(Retention, AFullMemoryStoreGivesRetriableErrorsNotACrash) {
  ASSERT_TRUE(server.start({"--memory-store-max-bytes", std::to_string(1u << 20)}));
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.create_topic("full", 1)));
  const auto batch = values("f", 16, 4000);  // about 64 KiB
  client::failure refused;
  int stored = 0;
  for (; stored < 64; ++stored) {
    auto r = c.publish("full", 0, batch);
    if (!client::ok(r)) {
      refused = client::error_of(r);
      break;
    }
  }
  EXPECT_GE(stored, 10);
  EXPECT_LT(stored, 17) << "1 MiB holds about 16 batches";
  EXPECT_EQ(refused.code, errc::storage_full) << refused.message;
  EXPECT_TRUE(refused.retriable);
  // Kafka producers hear KAFKA_STORAGE_ERROR (56), which they retry. (The batch is larger
  // than the room a refused 64 KiB batch may have left.)
  raw_kafka k{server.kafka_port()};
  auto res = call<msg::ProduceResponse>(
      k, 0, 7, produce_request("full", 0, record_batch_bytes("k", 5000, kafka::compression_type::none)), false);
  EXPECT_EQ(res.responses.at(0).partitionResponses.at(0).errorCode, 56);
  // Room freed by deletion is used again.
  ASSERT_TRUE(client::ok(c.delete_records("full", 0, -1)));
  EXPECT_TRUE(client::ok(c.publish("full", 0, batch)));
  EXPECT_TRUE(server.running());
}

TEST_F(Retention, PartitionsStoppingUnderTrafficAnswerEveryRequestInOrder) {
  // Partitions stop after 1 ms without a request: published to round-robin, 64 at a time,
  // a partition is often idle between two of its publishes, so publishes and fetches reach
  // partitions that are stopping or have just stopped. Each must be answered (by the
  // partition or its successor, never refused) and stored in order.
  ASSERT_TRUE(server.start({"--partition-idle-ms", "1"}));
  auto c = server.connect();
  constexpr int partitions = 64, rounds = 40;
  ASSERT_TRUE(client::ok(c.create_topic("churn", partitions)));
  for (int r = 0; r < rounds; ++r) {
    for (int p = 0; p < partitions; ++p)
      ASSERT_TRUE(client::ok(c.send_publish("churn", p, values("r" + std::to_string(r) + "-", 1))));
    for (int p = 0; p < partitions; ++p) {
      auto answer = c.receive_publish();
      ASSERT_TRUE(client::ok(answer)) << "round " << r << ", partition " << p << ": "
                                      << client::error_of(answer).message;
      EXPECT_EQ(std::get<0>(answer).partition, p);
      EXPECT_EQ(std::get<0>(answer).base_offset, r) << "partition " << p;
    }
  }
  ASSERT_TRUE(wait_until([&] { return metric("portask_partitions_passivated_total") >= 1; }, 30s));
  for (int p = 0; p < partitions; ++p) {
    auto f = c.fetch("churn", p, 0);
    ASSERT_TRUE(client::ok(f)) << p << ": " << client::error_of(f).message;
    const auto& got = std::get<0>(f).messages;
    ASSERT_EQ(got.size(), static_cast<std::size_t>(rounds)) << p;
    for (int r = 0; r < rounds; ++r) EXPECT_EQ(got[r].value, "r" + std::to_string(r) + "-0") << p;
  }
  std::printf("%.0f partition stops during the run\n", metric("portask_partitions_passivated_total"));
}

TEST_F(Retention, IdlePartitionsStopAndAreServedAgainOnDemand) {
  small_asan_quarantine();
  // One malloc arena in the broker: with one per thread, what a round of partitions frees in
  // one thread's arena is not reused by allocations landing in another's, and how the
  // allocations spread over the threads varies with the machine's load (RSS after a second
  // round ranged from 1.05 to 1.43 times the first with glibc's default, one core busy).
  // This test is about what the broker gives back, not about that spread. (A broker built
  // with jemalloc ignores the setting; there the second round cost 0.08-0.26 of the first in
  // release runs with one core busy.)
  ::setenv("MALLOC_ARENA_MAX", "1", 1);
  const bool started_ok =
      server.start({"--partition-idle-ms", "500", "--log-retention-check-interval-ms", "200"});
  ::unsetenv("MALLOC_ARENA_MAX");
  ASSERT_TRUE(started_ok);
  auto c = server.connect();
  constexpr int partitions = 10000;
  ASSERT_TRUE(client::ok(c.create_topic("wide", partitions)));
  const long created = rss_kib();
  ASSERT_GT(created, 0);
  auto touch_all = [&] {
    for (int p = 0; p < partitions; ++p)
      if (!client::ok(c.publish("wide", p, values("p" + std::to_string(p) + "-", 1)))) return false;
    return true;
  };
  ASSERT_TRUE(touch_all());
  const long touched = rss_kib();
  ASSERT_GT(touched, 0);
  ASSERT_TRUE(wait_until([&] { return metric("portask_partitions_passivated_total") >= partitions; }, 120s))
      << metric("portask_partitions_passivated_total");
  ASSERT_TRUE(wait_until([&] { return metric("portask_partitions_live") < 10; }, 30s))
      << metric("portask_partitions_live");
  const long idle = rss_kib();
  std::printf("RSS: %ld KiB with 10,000 live partitions, %ld KiB once they stopped\n", touched, idle);
  // What the broker holds for them is gone (under ASan the allocator keeps the pages, so RSS
  // is not the measure here; docs/benchmarks.md has the release build's figures).
  ASSERT_TRUE(wait_until([&] { return metric("portask_partition_tail_bytes") == 0; }, 30s))
      << metric("portask_partition_tail_bytes");
  // Each comes back on demand, from the store, with its data and its offsets.
  for (int p = 0; p < partitions; p += 97) {
    auto f = c.fetch("wide", p, 0);
    ASSERT_TRUE(client::ok(f)) << p << ": " << client::error_of(f).message;
    ASSERT_EQ(std::get<0>(f).messages.size(), 1u) << p;
    EXPECT_EQ(std::get<0>(f).messages[0].value, "p" + std::to_string(p) + "-0");
  }
  ASSERT_TRUE(touch_all());  // every partition again: offsets continue
  auto again = c.fetch("wide", 4321, 0);
  ASSERT_TRUE(client::ok(again));
  EXPECT_EQ(std::get<0>(again).high_watermark, 2);
  const long retouched = rss_kib();
  ASSERT_GT(retouched, 0);
  std::printf("RSS: %ld KiB with the topic created, %ld KiB after touching 10,000 partitions, "
              "%ld KiB after touching them again\n", created, touched, retouched);
  // Had the stopped partitions kept their memory, the second round would cost what the first
  // did. It may cost a little: the store keeps the second round's messages.
  EXPECT_LT(retouched - touched, (touched - created) / 2)
      << "a second round over 10,000 partitions reuses what the first gave back (" << created
      << " KiB with the topic created, " << touched << " KiB, then " << retouched << " KiB)";
}

}  // namespace
}  // namespace portask::test
