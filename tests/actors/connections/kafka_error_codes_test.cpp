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
