#include "protocol/crc32.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <vector>

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

// The design fixes the frame CRC as zlib's crc32: whatever computes it must give zlib's value
// for every length (the carry-less path folds 16-, 64- and 256-byte blocks and finishes the
// tail bytewise, so lengths around those sizes and unaligned starts are the risky ones) and
// must continue a running value across any split.
TEST(Crc32, EqualsZlibForEveryLengthAlignmentAndSplit) {
  std::mt19937 rng{20261202};
  std::vector<std::uint8_t> data(3 << 20);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());
  auto zlib = [&](std::size_t from, std::size_t n) {
    return static_cast<std::uint32_t>(::crc32(0, data.data() + from, static_cast<uInt>(n)));
  };
  for (std::size_t align = 0; align < 8; ++align)
    for (std::size_t n = 0; n <= 1100; ++n)
      ASSERT_EQ(crc32(byte_view{data.data() + align, n}), zlib(align, n)) << align << " " << n;
  ASSERT_EQ(crc32(byte_view{data.data() + 1, data.size() - 1}), zlib(1, data.size() - 1));
  for (std::size_t split : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{257},
                            std::size_t{4096}, data.size() / 2 + 3, data.size()}) {
    auto c = crc32_update(0, byte_view{data.data(), split});
    c = crc32_update(c, byte_view{data.data() + split, data.size() - split});
    ASSERT_EQ(c, zlib(0, data.size())) << split;
  }
}
