#include "protocol/wire.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace portask::protocol;

TEST(Wire, ZigzagMapsSmallMagnitudesToSmallCodes) {
  EXPECT_EQ(zigzag_encode(0), 0u);
  EXPECT_EQ(zigzag_encode(-1), 1u);
  EXPECT_EQ(zigzag_encode(1), 2u);
  EXPECT_EQ(zigzag_encode(-2), 3u);
  for (std::int64_t v : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-300},
                         std::int64_t{300}, std::numeric_limits<std::int64_t>::max()})
    EXPECT_EQ(zigzag_decode(zigzag_encode(v)), v);
}

TEST(Wire, VarintsRoundTripAtEveryWidth) {
  buffer b;
  wire_writer w{b};
  std::vector<std::uint64_t> values;
  for (int shift = 0; shift < 64; ++shift) values.push_back(std::uint64_t{1} << shift);
  values.push_back(std::numeric_limits<std::uint64_t>::max());
  for (auto v : values) w.uvarint(v);
  wire_reader r{b};
  for (auto v : values) {
    std::uint64_t got = 0;
    ASSERT_TRUE(r.uvarint(got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.at_end());
}

TEST(Wire, VarintEncodingOf300IsTwoBytes) {
  buffer b;
  wire_writer{b}.uvarint(300);
  EXPECT_EQ(b, (buffer{0xAC, 0x02}));
}

TEST(Wire, OverlongVarintIsRejected) {
  const buffer eleven(11, 0x80);
  wire_reader r{eleven};
  std::uint64_t v = 0;
  EXPECT_FALSE(r.uvarint(v));
  EXPECT_FALSE(r.ok());
}

TEST(Wire, VarintOverflowingSixtyFourBitsIsRejected) {
  buffer b(9, 0xFF);
  b.push_back(0x02);  // the tenth byte may only carry one bit
  wire_reader r{b};
  std::uint64_t v = 0;
  EXPECT_FALSE(r.uvarint(v));
}

TEST(Wire, ReaderFailsInsteadOfReadingPastTheEnd) {
  const buffer b{0x01, 0x02, 0x03};
  wire_reader r{b};
  std::uint32_t v = 0;
  EXPECT_FALSE(r.u32(v));
  EXPECT_FALSE(r.ok());
  std::uint8_t x = 0;
  EXPECT_FALSE(r.u8(x)) << "a failed reader stays failed";
}

TEST(Wire, LengthPrefixLargerThanInputIsRejected) {
  buffer b;
  wire_writer w{b};
  w.uvarint(1000);
  w.raw("abc");
  wire_reader r{b};
  std::string s;
  EXPECT_FALSE(r.bytes(s));
}

TEST(Wire, NullableBytesDistinguishNullFromEmpty) {
  buffer b;
  wire_writer w{b};
  w.nullable_bytes(std::nullopt);
  w.nullable_bytes(std::string{});
  w.nullable_bytes(std::string{"x"});
  wire_reader r{b};
  std::optional<std::string> a, e, x;
  ASSERT_TRUE(r.nullable_bytes(a) && r.nullable_bytes(e) && r.nullable_bytes(x));
  EXPECT_FALSE(a.has_value());
  ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(e->empty());
  EXPECT_EQ(x, "x");
}

TEST(Wire, BigEndianIntegers) {
  buffer b;
  wire_writer w{b};
  w.u16(0x0102);
  w.u32(0x03040506);
  w.u64(0x0708090A0B0C0D0EULL);
  EXPECT_EQ(b, (buffer{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  wire_reader r{b};
  std::uint16_t a = 0;
  std::uint32_t c = 0;
  std::uint64_t d = 0;
  ASSERT_TRUE(r.u16(a) && r.u32(c) && r.u64(d));
  EXPECT_EQ(a, 0x0102);
  EXPECT_EQ(c, 0x03040506u);
  EXPECT_EQ(d, 0x0708090A0B0C0D0EULL);
}

TEST(Wire, Str16IsALengthAndTheBytesCutAtTheU16Maximum) {
  buffer b;
  wire_writer w{b};
  w.str16("abc");
  w.str16(std::string(70000, 'x'));
  ASSERT_EQ(b.size(), 2u + 3u + 2u + 65535u);
  wire_reader r{b};
  std::string s;
  ASSERT_TRUE(r.str16(s));
  EXPECT_EQ(s, "abc");
  ASSERT_TRUE(r.str16(s));
  EXPECT_EQ(s.size(), 65535u);
  EXPECT_TRUE(r.at_end());
  const std::uint8_t short_input[] = {0, 5, 'a', 'b'};
  wire_reader t{byte_view{short_input}};
  EXPECT_FALSE(t.str16(s));
  EXPECT_FALSE(t.ok());
}
