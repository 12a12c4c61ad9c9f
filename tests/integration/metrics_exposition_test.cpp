// /metrics of the real `portask` executable after real traffic, read by Prometheus's own
// tools: `promtool check metrics` (the linter Prometheus ships) and the official Python
// parser (every family typed, histograms cumulative, the documented families present).
#include <gtest/gtest.h>

#include <fstream>

#include "server_process.hpp"

namespace portask::test {
namespace {

TEST(MetricsExposition, PromtoolAndThePythonParserAcceptIt) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start());
  auto c = server.connect();
  protocol::message_batch batch;
  for (int i = 0; i < 10; ++i) {
    protocol::message m;
    m.value = "v" + std::to_string(i);
    batch.messages.push_back(std::move(m));
  }
  ASSERT_TRUE(client::ok(c.publish("metered", 0, batch)));
  ASSERT_TRUE(client::ok(c.fetch("metered", 0, 0)));
  ASSERT_TRUE(client::ok(c.fetch("metered", 0, 10, 1 << 20, 20)));  // waits for data, in vain
  const auto [status, body] = http_get(server.http_port(), "/metrics");
  ASSERT_EQ(status, 200);
  EXPECT_GE(prometheus_value(body, "portask_fetch_wait_seconds_count"), 1);
  EXPECT_EQ(prometheus_value(body, "portask_listener_connections{listener=\"native\"}"), 1);
  EXPECT_EQ(prometheus_value(body, "portask_listener_connections{listener=\"http\"}"), 1);
  const auto file = dir.path() + "/metrics.txt";
  std::ofstream(file) << body;

  auto [rc, out] = run_shell("promtool check metrics < " + file + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool's lint findings:\n" << out;
  std::tie(rc, out) = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/metrics_check.py " +
                                file + " 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("metrics check passed"), std::string::npos) << out;
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
  EXPECT_EQ(prometheus_value(text, "portask_consumer_group_lag_sum{group=\"billing\"}"), 2);
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
