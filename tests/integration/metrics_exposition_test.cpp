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
  const auto [status, body] = http_get(server.http_port(), "/metrics");
  ASSERT_EQ(status, 200);
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

}  // namespace
}  // namespace portask::test
