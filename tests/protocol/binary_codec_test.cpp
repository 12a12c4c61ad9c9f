#include "protocol/codecs/binary_codec.hpp"

#include <gtest/gtest.h>

#include "protocol/wire.hpp"
#include "sample_batches.hpp"

using namespace portask;
using namespace portask::protocol;

TEST(BinaryCodec, RoundTripsEveryCase) {
  binary_codec c;
  for (const auto& [name, batch] : test::codec_cases()) {
    buffer out;
    ASSERT_FALSE(c.encode(batch, out)) << name;
    auto back = c.decode(out);
    ASSERT_TRUE(back) << name << ": " << back.error().message();
    EXPECT_EQ(*back, batch) << name;
  }
}

TEST(BinaryCodec, IsCompactForSmallMessages) {
  // 100 messages with 100-byte values and short keys: the overhead per message stays small.
  message_batch b;
  for (int i = 0; i < 100; ++i) {
    message m;
    m.topic = "bench";
    m.key = "k" + std::to_string(i);
    m.value = std::string(100, 'x');
    m.timestamp_ms = 1'700'000'000'000 + i;
    b.messages.push_back(m);
  }
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(b, out));
  EXPECT_LT(out.size(), 100u * 115u);
}

TEST(BinaryCodec, AppendsAfterExistingBytes) {
  buffer out{9, 9};
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(2), out));
  EXPECT_EQ(out[0], 9);
  auto back = binary_codec{}.decode(byte_view{out}.subspan(2));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, test::sample_batch(2));
}

TEST(BinaryCodec, EveryTruncationIsAnErrorNeverACrash) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(3), out));
  for (std::size_t n = 0; n < out.size(); ++n)
    EXPECT_EQ(binary_codec{}.decode(byte_view{out}.first(n)).error(), errc::malformed_payload)
        << "prefix of " << n << " bytes";
}

TEST(BinaryCodec, TrailingBytesAreRejected) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(1), out));
  out.push_back(0);
  EXPECT_EQ(binary_codec{}.decode(out).error(), errc::malformed_payload);
}

TEST(BinaryCodec, UnknownFormatVersionIsRejected) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(1), out));
  auto bad_version = out;
  bad_version[0] = 2;
  EXPECT_FALSE(binary_codec{}.decode(bad_version));
}

TEST(BinaryCodec, HugeCountsDoNotAllocate) {
  // A count of 2^60 messages in a 20-byte payload must be refused before any reserve.
  buffer b;
  wire_writer w{b};
  w.u8(1);
  w.uvarint(std::uint64_t{1} << 60);
  w.bytes("t");
  w.varint(0);
  w.varint(0);
  w.varint(0);
  EXPECT_EQ(binary_codec{}.decode(b).error(), errc::malformed_payload);
}

TEST(BinaryCodec, RandomBytesNeverCrash) {
  std::uint64_t seed = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  buffer valid;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(4), valid));
  for (int round = 0; round < 5000; ++round) {
    buffer mutated = valid;
    for (int k = 0; k < 1 + static_cast<int>(next() % 4); ++k)
      mutated[next() % mutated.size()] = static_cast<std::uint8_t>(next());
    (void)binary_codec{}.decode(mutated);  // any result is fine; UB or a crash is not
  }
}
