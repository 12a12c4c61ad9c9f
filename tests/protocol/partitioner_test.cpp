#include "protocol/partitioner.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;

// Kafka's own murmur2 vectors (the Java client's Utils.murmur2 of these byte strings).
TEST(Partitioner, Murmur2MatchesKafkasValues) {
  EXPECT_EQ(kafka_murmur2("21"), -973932308);
  EXPECT_EQ(kafka_murmur2("foobar"), -790332482);
  EXPECT_EQ(kafka_murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(kafka_murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(kafka_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(kafka_murmur2("abc"), 479470107);
}

TEST(Partitioner, PartitionIsThePositiveHashModuloTheCount) {
  for (std::string key : {"", "a", "user1", "21", "foobar", "ünïcode"}) {
    const auto h = static_cast<std::uint32_t>(kafka_murmur2(key)) & 0x7fffffffu;
    for (std::int32_t n : {1, 3, 6, 7, 100}) {
      const auto p = partition_for_key(key, n);
      EXPECT_EQ(p, static_cast<std::int32_t>(h % static_cast<std::uint32_t>(n)));
      EXPECT_GE(p, 0);
      EXPECT_LT(p, n);
    }
  }
  EXPECT_EQ(partition_for_key("x", 0), 0);
}
