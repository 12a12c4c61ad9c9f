// /metrics of the real `portask` executable after real traffic, read by Prometheus's own
// tools: `promtool check metrics` (the linter Prometheus ships) and the official Python
// parser (every family typed and sampled, histograms cumulative, the documented families
// present).
#include <gtest/gtest.h>

#include <fstream>

#include "raw_kafka.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

namespace portask::test {
namespace {

// Traffic that gives every family the broker declares a series, then /metrics once the
// retention actor's data pass (the broker runs with a short interval) has measured it. Both
// checkers skip a family without samples (promtool drops it before linting), so a family the
// traffic does not reach goes unchecked: metrics_check.py fails on one. Native publishes and
// fetches (one that waits for data in vain), a Kafka request, and a group's committed offset
// for the topic, partition and lag series. A cluster node owns the partition and the group
// only after a lease round, so the first publish and the commit are retried until answered.
std::string metrics_after_traffic(const server_process& server) {
  auto c = server.connect();
  protocol::message_batch batch;
  for (int i = 0; i < 10; ++i) {
    protocol::message m;
    m.value = "v" + std::to_string(i);
    batch.messages.push_back(std::move(m));
  }
  EXPECT_TRUE(wait_until([&] { return client::ok(c.publish("metered", 0, batch)); }, std::chrono::seconds(60)));
  EXPECT_TRUE(client::ok(c.fetch("metered", 0, 0)));
  EXPECT_TRUE(client::ok(c.fetch("metered", 0, 10, 1 << 20, 20)));  // waits for data, in vain
  EXPECT_TRUE(wait_until([&] { return client::ok(c.commit("metering", "metered", 0, 4)); },
                         std::chrono::seconds(60)));
  raw_kafka k{server.kafka_port()};
  msg::ApiVersionsRequest versions;
  EXPECT_EQ(call<msg::ApiVersionsResponse>(k, 18, 0, versions, false).errorCode, 0);
  std::string body;
  EXPECT_TRUE(wait_until([&] {
    body = http_get(server.http_port(), "/metrics").second;
    return prometheus_value(body, "portask_consumer_group_total_lag{group=\"metering\"}") == 6;
  }, std::chrono::seconds(30))) << body;
  EXPECT_EQ(prometheus_value(body, "portask_consumer_group_lag{group=\"metering\",topic=\"metered\",partition=\"0\"}"), 6);
  EXPECT_GE(prometheus_value(body, "portask_fetch_wait_seconds_count"), 1);
  EXPECT_GE(prometheus_value(body, "portask_kafka_requests_total{api=\"ApiVersions\"}"), 1) << body;
  EXPECT_EQ(prometheus_value(body, "portask_listener_connections{listener=\"native\"}"), 1);
  EXPECT_EQ(prometheus_value(body, "portask_listener_connections{listener=\"kafka\"}"), 1);
  // At least the scrape's own (an earlier scrape's session may not have ended yet).
  EXPECT_GE(prometheus_value(body, "portask_listener_connections{listener=\"http\"}"), 1);
  return body;
}

// promtool's lint and the Python parser's checks (metrics_check.py) find nothing in `body`.
void expect_prometheus_accepts(const std::string& body, const std::string& dir) {
  const auto file = dir + "/metrics.txt";
  std::ofstream(file) << body;
  auto [rc, out] = run_shell("promtool check metrics < " + file + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool's lint findings:\n" << out;
  std::tie(rc, out) = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/metrics_check.py " +
                                file + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("metrics check passed"), std::string::npos) << out;
}

TEST(MetricsExposition, PromtoolAndThePythonParserAcceptIt) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--log-retention-check-interval-ms", "50"}));
  expect_prometheus_accepts(metrics_after_traffic(server), dir.path());
}

// A cluster node declares the cluster families besides (a cluster shares a RESP store).
TEST(MetricsExposition, PromtoolAndThePythonParserAcceptAClusterNode) {
  redis_server redis;
  ASSERT_TRUE(redis.start()) << "redis-server did not start";
  temp_dir dir;
  server_process server{redis.url(), dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--node-id", "1", "--log-retention-check-interval-ms", "50"}));
  const auto body = metrics_after_traffic(server);
  EXPECT_EQ(prometheus_value(body, "portask_cluster_node_id"), 1) << body;
  expect_prometheus_accepts(body, dir.path());
}

// Per-partition offsets and sizes, per-topic totals and consumer-group lag come from the
// retention actor's data pass; the cardinality guard cuts them and says how many it cut.
TEST(MetricsExposition, PartitionsTopicsAndGroupLagWithinTheGuard) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--log-retention-check-interval-ms", "50", "--metrics-max-partitions", "4",
                            "--metrics-max-topics", "2"}));
  auto c = server.connect();
  ASSERT_TRUE(client::ok(c.create_topic("alpha", 3)));
  ASSERT_TRUE(client::ok(c.create_topic("beta", 3)));
  for (std::int32_t p = 0; p < 3; ++p) {
    protocol::message_batch batch;
    for (int i = 0; i <= p; ++i) {
      protocol::message m;
      m.value = "v";
      batch.messages.push_back(std::move(m));
    }
    ASSERT_TRUE(client::ok(c.publish("alpha", p, batch)));
  }
  ASSERT_TRUE(client::ok(c.commit("billing", "alpha", 2, 1)));
  // The plain topic list next to /metrics (an HTTP request actor asks the registry).
  const auto [topics_status, topics] = http_get(server.http_port(), "/topics");
  EXPECT_EQ(topics_status, 200);
  EXPECT_NE(topics.find("{\"name\":\"alpha\",\"partitions\":"), std::string::npos) << topics;
  auto metrics = [&] { return http_get(server.http_port(), "/metrics").second; };
  const std::string lag = "portask_consumer_group_lag{group=\"billing\",topic=\"alpha\",partition=\"2\"}";
  ASSERT_TRUE(wait_until([&] { return prometheus_value(metrics(), lag) == 2; }, std::chrono::seconds(30)))
      << metrics();
  const auto text = metrics();
  EXPECT_EQ(prometheus_value(text, "portask_consumer_group_total_lag{group=\"billing\"}"), 2);
  EXPECT_EQ(prometheus_value(text, "portask_partition_log_end_offset{topic=\"alpha\",partition=\"1\"}"), 2);
  EXPECT_EQ(prometheus_value(text, "portask_topic_appended_messages_total{topic=\"alpha\"}"), 6);
  EXPECT_GT(prometheus_value(text, "portask_partition_stored_bytes{topic=\"alpha\",partition=\"2\"}"), 0);
  // Six partitions (plus __consumer_offsets) against a guard of four: the rest are counted.
  EXPECT_GE(prometheus_value(text, "portask_metrics_series_omitted{level=\"partition\"}"), 2) << text;
  EXPECT_EQ(text.find("topic=\"beta\",partition=\"2\""), std::string::npos) << text;
  EXPECT_GE(prometheus_value(text, "portask_produce_batch_records_count{protocol=\"portask\"}"), 3);
}

}  // namespace
}  // namespace portask::test
