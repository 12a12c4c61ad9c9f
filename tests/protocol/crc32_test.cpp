#include "protocol/crc32.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;

TEST(Crc32, MatchesTheDesignTestVector) {
  EXPECT_EQ(crc32(as_bytes("portask-test-data")), 0xc39f357eu);
}

TEST(Crc32, EmptyInputIsZero) { EXPECT_EQ(crc32(byte_view{}), 0u); }

TEST(Crc32, IncrementalEqualsOneShot) {
  const std::string data = "portask-test-data";
  auto crc = crc32_update(0, as_bytes(std::string_view(data).substr(0, 5)));
  crc = crc32_update(crc, as_bytes(std::string_view(data).substr(5)));
  EXPECT_EQ(crc, 0xc39f357eu);
}

TEST(Crc32, KnownCheckValue) {
  // The standard CRC-32 check value for "123456789".
  EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);
}
