#include "actors/metrics/metrics.hpp"
#include "actors/metrics/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace portask;
using namespace std::chrono_literals;

TEST(Metrics, CountsPerProtocolInOneRegistry) {
  metrics_registry m;
  m.messages_in(protocol_kind::portask, 10, 1000);
  m.messages_in(protocol_kind::kafka, 3, 300);
  m.messages_in(protocol_kind::portask, 5, 500);
  EXPECT_EQ(m.messages_in_total(protocol_kind::portask), 15u);
  EXPECT_EQ(m.messages_in_total(protocol_kind::kafka), 3u);
  EXPECT_EQ(m.bytes_in_total(protocol_kind::portask), 1500u);
}

TEST(Metrics, HttpIsASeriesOfWhatIsServedOnly) {
  metrics_registry m;
  m.messages_out(protocol_kind::http, 7, 700);
  EXPECT_EQ(m.messages_out_total(protocol_kind::http), 7u);
  const auto text = m.render_prometheus();
  EXPECT_NE(text.find("portask_messages_out_total{protocol=\"http\"} 7"), std::string::npos);
  EXPECT_NE(text.find("portask_bytes_out_total{protocol=\"http\"} 700"), std::string::npos);
  // Its connections are the listener's series; no empty protocol series says otherwise.
  EXPECT_EQ(text.find("portask_open_connections{protocol=\"http\"}"), std::string::npos);
  EXPECT_EQ(text.find("portask_messages_in_total{protocol=\"http\"}"), std::string::npos);
}

TEST(Metrics, RequestLatencyQuantilesAndErrors) {
  metrics_registry m;
  for (int i = 0; i < 99; ++i) m.request(protocol_kind::portask, request_kind::publish, 100us, false);
  m.request(protocol_kind::portask, request_kind::publish, 50ms, true);
  EXPECT_EQ(m.requests_total(protocol_kind::portask, request_kind::publish), 100u);
  EXPECT_EQ(m.errors_total(protocol_kind::portask, request_kind::publish), 1u);
  const auto text = m.render_prometheus();
  EXPECT_NE(text.find("portask_requests_total{protocol=\"portask\",request=\"publish\"} 100"),
            std::string::npos);
  EXPECT_NE(text.find("portask_request_errors_total{protocol=\"portask\",request=\"publish\"} 1"),
            std::string::npos);
}

TEST(Metrics, HistogramQuantileIsTheBucketBound) {
  latency_histogram h;
  for (int i = 0; i < 990; ++i) h.record(3us);
  for (int i = 0; i < 10; ++i) h.record(5000us);
  EXPECT_EQ(h.quantile(0.5), 3u);      // bucket [2,4)
  EXPECT_EQ(h.quantile(0.99), 3u);
  EXPECT_EQ(h.quantile(0.999), 8191u);  // bucket [4096, 8192)
  EXPECT_EQ(h.count(), 1000u);
}

TEST(Metrics, PrometheusTextHasTypesAndConnections) {
  metrics_registry m;
  m.connection_opened(protocol_kind::portask);
  m.connection_opened(protocol_kind::portask);
  m.connection_closed(protocol_kind::portask);
  const auto text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE portask_messages_in_total counter"), std::string::npos);
  EXPECT_NE(text.find("portask_open_connections{protocol=\"portask\"} 1"), std::string::npos);
  EXPECT_NE(text.find("portask_connections_total{protocol=\"portask\"} 2"), std::string::npos);
  EXPECT_NE(text.find("portask_store_up 1"), std::string::npos) << text.substr(text.size() > 600 ? text.size() - 600 : 0);
}

// Label values are UTF-8 in the exposition format: a group id a client chose that is not
// would make a scraper refuse the whole page, so it is repaired (U+FFFD), and escaped.
TEST(Metrics, LabelValuesAreValidUtf8WhateverTheNameWas) {
  prometheus_text t;
  t.family("portask_test_items", "items", prometheus_text::kind::gauge);
  t.sample({{"group", std::string("g\xff\"x\n")}}, std::uint64_t{1});
  const auto text = std::move(t).str();
  EXPECT_NE(text.find("portask_test_items{group=\"g\xef\xbf\xbd\\\"x\\n\"} 1\n"), std::string::npos) << text;
}

// Two names that are not UTF-8 may be repaired to one label value: the page keeps one series
// per label set (a scraper refuses a page that repeats one), in every family.
TEST(Metrics, NamesRepairedAlikeGiveOneSeries) {
  prometheus_text t;
  t.family("portask_test_lag", "lag", prometheus_text::kind::gauge);
  t.sample({{"group", std::string("g\xff")}}, std::uint64_t{1});
  t.sample({{"group", std::string("g\xfe")}}, std::uint64_t{2});
  t.sample({{"group", std::string("h")}}, std::uint64_t{3});
  t.family("portask_test_other", "other", prometheus_text::kind::gauge);
  t.sample({{"group", std::string("g\xfe")}}, std::uint64_t{4});
  const auto text = std::move(t).str();
  EXPECT_NE(text.find("portask_test_lag{group=\"g\xef\xbf\xbd\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("portask_test_lag{group=\"g\xef\xbf\xbd\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_test_lag{group=\"h\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_test_other{group=\"g\xef\xbf\xbd\"} 4\n"), std::string::npos) << text;
}

// The supervisor declares its kinds of actor at start: each has its series from 0, so a
// first restart is an increase a rate() sees.
TEST(Metrics, SupervisedKindsHaveRestartAndCrashLoopSeriesFromTheStart) {
  metrics_registry m;
  m.supervised_kind(0, "writer");
  m.supervised_kind(2, "bridge");
  auto text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE portask_actor_restarts_total counter"), std::string::npos);
  EXPECT_NE(text.find("# TYPE portask_actor_crash_loop gauge"), std::string::npos);
  EXPECT_NE(text.find("portask_actor_restarts_total{kind=\"bridge\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_actor_crash_loop{kind=\"writer\"} 0\n"), std::string::npos) << text;
  EXPECT_TRUE(m.crash_looping().empty());

  m.actor_restarted(2);
  m.actor_restarted(2);
  m.crash_loops(2, 2);  // two bridges in a crash loop
  EXPECT_EQ(m.actor_restarts_total(2), 2u);
  EXPECT_EQ(m.actor_restarts_total(0), 0u);
  EXPECT_EQ(m.crash_loops(2), 2u);
  EXPECT_EQ(m.crash_looping(), std::vector<std::string>{"bridge"});
  text = m.render_prometheus();
  EXPECT_NE(text.find("portask_actor_restarts_total{kind=\"bridge\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_actor_crash_loop{kind=\"bridge\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portask_actor_crash_loop{kind=\"writer\"} 0\n"), std::string::npos) << text;
  m.crash_loops(2, 0);
  EXPECT_TRUE(m.crash_looping().empty());
  // A slot past the table is no kind: ignored, not written out of bounds.
  m.actor_restarted(metrics_registry::supervised_kinds);
  m.crash_loops(metrics_registry::supervised_kinds, 1);
  EXPECT_EQ(m.actor_restarts_total(metrics_registry::supervised_kinds), 0u);
  EXPECT_EQ(m.crash_loops(metrics_registry::supervised_kinds), 0u);
}

TEST(Metrics, HookEventsDroppedIsACounter) {
  metrics_registry m;
  EXPECT_NE(m.render_prometheus().find("portask_hook_events_dropped_total 0\n"), std::string::npos);
  m.hook_event_dropped();
  m.hook_event_dropped();
  EXPECT_EQ(m.hook_events_dropped_total(), 2u);
  const auto text = m.render_prometheus();
  EXPECT_NE(text.find("# TYPE portask_hook_events_dropped_total counter"), std::string::npos);
  EXPECT_NE(text.find("portask_hook_events_dropped_total 2\n"), std::string::npos) << text;
}
