#include "protocol/kafka/crc32c.hpp"

#include <gtest/gtest.h>

using namespace portask::protocol;
using namespace portask::protocol::kafka;

TEST(Crc32c, StandardCheckValue) { EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u); }

TEST(Crc32c, Rfc3720Vectors) {
  buffer zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
    down[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down), 0x113FDB5Cu);
}

TEST(Crc32c, HardwareAndPortablePathsAgreeOnEveryLengthAndAlignment) {
  buffer data(1024);
  std::uint32_t x = 7;
  for (auto& b : data) b = static_cast<std::uint8_t>(x = x * 1664525u + 1013904223u);
  for (std::size_t offset = 0; offset < 8; ++offset)
    for (std::size_t len = 0; len < 300; len += 7) {
      const byte_view v = byte_view{data}.subspan(offset, len);
      EXPECT_EQ(crc32c(v), crc32c_portable(0, v)) << offset << "/" << len;
    }
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  const std::string s = "The quick brown fox jumps over the lazy dog";
  const auto whole = crc32c(as_bytes(s));
  auto part = crc32c_update(0, as_bytes(std::string_view(s).substr(0, 10)));
  part = crc32c_update(part, as_bytes(std::string_view(s).substr(10)));
  EXPECT_EQ(part, whole);
}
