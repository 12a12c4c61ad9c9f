// The Kafka codes read errors become, per API family: Fetch answers only codes the Java
// consumer accepts (it throws on any other, ending the application's poll loop).
#include <gtest/gtest.h>

#include "actors/connections/kafka/error_codes.hpp"

using namespace portask;
using portask::kafka::error_code;

TEST(KafkaErrorCodes, FetchAnswersOnlyCodesConsumersRetryOrReport) {
  auto code = [](error_code c) { return static_cast<std::int16_t>(c); };
  EXPECT_EQ(kafka::to_kafka_fetch(errc::not_ready, 12), code(error_code::not_leader_or_follower));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::timeout, 12), code(error_code::kafka_storage_error));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::storage_unavailable, 6), code(error_code::kafka_storage_error));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::storage_unavailable, 5), code(error_code::not_leader_or_follower))
      << "KAFKA_STORAGE_ERROR is v6+";
  EXPECT_EQ(kafka::to_kafka_fetch(errc::offset_out_of_range, 4), code(error_code::offset_out_of_range));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::corrupt_stored_data, 11), code(error_code::corrupt_message));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::unknown_topic, 11), code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::not_leader, 11), code(error_code::not_leader_or_follower));
  EXPECT_EQ(kafka::to_kafka_fetch(errc::rebalance_in_progress, 11), code(error_code::unknown_server_error));
  // Everything else Fetch may hear.
  for (int e = 0; e < 64; ++e) {
    const auto got = kafka::to_kafka_fetch(static_cast<errc>(e), 12);
    EXPECT_TRUE(got == 0 || got == code(error_code::corrupt_message) ||
                got == code(error_code::unknown_topic_or_partition) ||
                got == code(error_code::offset_out_of_range) ||
                got == code(error_code::not_leader_or_follower) ||
                got == code(error_code::kafka_storage_error) || got == code(error_code::unknown_server_error))
        << "errc " << e << " -> " << got;
  }
}

// Metadata by name: a store that is down or slow (a topic's lookup or auto-creation failed, or
// a creation is being read back) is LEADER_NOT_AVAILABLE, which librdkafka waits out; on
// KAFKA_STORAGE_ERROR or REQUEST_TIMED_OUT it fails every message queued for the topic.
TEST(KafkaErrorCodes, MetadataAnswersAStoreThatPassesAsLeaderNotAvailableAndKeepsRefusals) {
  auto code = [](error_code c) { return static_cast<std::int16_t>(c); };
  EXPECT_EQ(kafka::to_kafka_metadata(errc::storage_unavailable), code(error_code::leader_not_available));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::timeout), code(error_code::leader_not_available));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::not_ready), code(error_code::leader_not_available));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::unknown_topic), code(error_code::unknown_topic_or_partition));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::topic_name_collision), code(error_code::invalid_topic_exception));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::invalid_request), code(error_code::invalid_request));
  EXPECT_EQ(kafka::to_kafka_metadata(errc::policy_violation), code(error_code::policy_violation));
}
