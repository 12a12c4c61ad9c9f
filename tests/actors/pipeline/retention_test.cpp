// Which retention a topic gets: its own retention.ms / retention.bytes, else the broker's
// defaults; none at all for a compacted topic.
#include "actors/pipeline/retention.hpp"

#include <gtest/gtest.h>

using namespace portask;

TEST(RetentionOf, BrokerDefaultsApplyToATopicWithoutOverrides) {
  broker_config config;
  config.log_retention_ms = 1000;
  config.log_retention_bytes = -1;
  const auto r = retention_of({}, config, 5000);
  EXPECT_EQ(r.older_than_ms, 4000) << "batches stamped before now - retention.ms go";
  EXPECT_EQ(r.keep_bytes, -1);
  EXPECT_TRUE(r.any());
}

TEST(RetentionOf, TopicOverridesWinAndMinusOneMeansUnlimited) {
  broker_config config;
  config.log_retention_ms = 1000;
  config.log_retention_bytes = 50;
  const auto r = retention_of({{"retention.ms", "-1"}, {"retention.bytes", "4096"}}, config, 5000);
  EXPECT_EQ(r.older_than_ms, -1);
  EXPECT_EQ(r.keep_bytes, 4096);
  const auto none = retention_of({{"retention.ms", "-1"}, {"retention.bytes", "-1"}}, config, 5000);
  EXPECT_FALSE(none.any());
}

// Any negative retention.bytes is unlimited, as in Kafka (which gives it no lower bound), the
// broker's default as much as a topic's own.
TEST(RetentionOf, AnyNegativeRetentionBytesMeansUnlimited) {
  broker_config config;
  config.log_retention_ms = -1;
  config.log_retention_bytes = 50;
  EXPECT_FALSE(retention_of({{"retention.bytes", "-5"}}, config, 5000).any());
  config.log_retention_bytes = -7;
  EXPECT_FALSE(retention_of({}, config, 5000).any());
}

TEST(RetentionOf, ARetentionLongerThanTheClockDeletesNothingByTime) {
  broker_config config;
  const auto r = retention_of({{"retention.ms", "9223372036854775807"}}, config, 5000);
  EXPECT_EQ(r.older_than_ms, 0);
}

TEST(RetentionOf, CompactedTopicsAreExemptUnlessTheyAlsoDelete) {
  broker_config config;
  config.log_retention_bytes = 10;
  EXPECT_FALSE(retention_of({{"cleanup.policy", "compact"}, {"retention.ms", "1"}}, config, 5000).any());
  EXPECT_TRUE(retention_of({{"cleanup.policy", "compact,delete"}}, config, 5000).any());
  EXPECT_TRUE(retention_of({{"cleanup.policy", "delete"}}, config, 5000).any());
}

TEST(RetentionLimits, ABatchGoesByAgeOrBySizeWhicheverRemovesMore) {
  storage::retention_limits limits;
  storage::stored_batch b;
  b.end_timestamp = 100;
  b.end_bytes = 300;
  EXPECT_FALSE(limits.removes(b, 1000)) << "no limits: nothing goes";
  limits.older_than_ms = 101;
  EXPECT_TRUE(limits.removes(b, 1000));
  limits.older_than_ms = 100;
  EXPECT_FALSE(limits.removes(b, 1000)) << "exactly at the cutoff it stays";
  limits.keep_bytes = 700;
  EXPECT_TRUE(limits.removes(b, 1000)) << "700 bytes follow it: still enough";
  limits.keep_bytes = 701;
  EXPECT_FALSE(limits.removes(b, 1000));
}
