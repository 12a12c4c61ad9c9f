#include "protocol/compression/compressors.hpp"

#include <gtest/gtest.h>

#include <memory>

using namespace portask;
using namespace portask::protocol;

namespace {

std::vector<std::unique_ptr<compressor>> all_compressors() {
  std::vector<std::unique_ptr<compressor>> v;
  v.push_back(std::make_unique<gzip_compressor>());
  v.push_back(std::make_unique<snappy_compressor>());
  v.push_back(std::make_unique<lz4_compressor>());
  v.push_back(std::make_unique<zstd_compressor>());
  return v;
}

buffer to_buffer(std::string_view s) { return buffer(s.begin(), s.end()); }

// Bytes that do not compress, so a frame of them is long and cut in the middle of a block.
std::string noise(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

}  // namespace

class Compression : public ::testing::TestWithParam<int> {
 protected:
  std::unique_ptr<compressor> z = std::move(all_compressors()[static_cast<std::size_t>(GetParam())]);
};

TEST_P(Compression, RoundTripsEmptySmallAndLargeInputs) {
  const std::string random = noise(300'000);
  for (const std::string& input :
       {std::string{}, std::string{"a"}, std::string(1 << 20, 'r'), random}) {
    buffer packed;
    ASSERT_FALSE(z->compress(as_bytes(input), packed));
    buffer plain;
    ASSERT_FALSE(z->decompress(packed, plain, 16u << 20)) << to_string(z->id());
    EXPECT_EQ(as_chars(plain), input) << to_string(z->id()) << " size " << input.size();
  }
}

TEST_P(Compression, RepetitiveInputShrinks) {
  const std::string input(100'000, 'a');
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes(input), packed));
  EXPECT_LT(packed.size(), input.size() / 10);
}

TEST_P(Compression, OutputBeyondTheLimitIsRefused) {
  // A "bomb": 4 MiB of zeros compresses to a few KiB; with a 1 MiB limit it must be refused.
  const std::string input(4u << 20, '\0');
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes(input), packed));
  buffer plain;
  EXPECT_EQ(z->decompress(packed, plain, 1u << 20), errc::decompressed_too_large);
  EXPECT_TRUE(plain.empty()) << "nothing is left behind on failure";
  // Exactly at the limit is fine.
  EXPECT_FALSE(z->decompress(packed, plain, 4u << 20));
}

TEST_P(Compression, CorruptOrTruncatedInputIsAnError) {
  const std::string input = "The quick brown fox jumps over the lazy dog, again and again and again";
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes(input), packed));
  buffer plain;
  EXPECT_TRUE(z->decompress(byte_view{packed}.first(packed.size() / 2), plain, 1 << 20))
      << to_string(z->id()) << ": truncated input must fail";
  EXPECT_TRUE(plain.empty());
  EXPECT_TRUE(z->decompress(to_buffer("definitely not compressed data"), plain, 1 << 20));
  EXPECT_TRUE(z->decompress(byte_view{}, plain, 1 << 20)) << to_string(z->id());
}

// lz4 and zstd keep one decoder per thread between calls: a call that stopped inside a
// frame (input cut short, output over the limit) must leave nothing in it for the next call
// on the thread, which would otherwise read its frame as the rest of the unfinished one.
TEST_P(Compression, AFrameAfterAnUnfinishedOneDecodes) {
  const std::string input = noise(100'000);
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes(input), packed));
  buffer plain;
  ASSERT_TRUE(z->decompress(byte_view{packed}.first(packed.size() / 2), plain, 1 << 20))
      << to_string(z->id());
  ASSERT_FALSE(z->decompress(packed, plain, 1 << 20)) << to_string(z->id()) << " after truncated";
  EXPECT_EQ(as_chars(plain), input) << to_string(z->id()) << " after truncated";
  plain.clear();
  ASSERT_EQ(z->decompress(packed, plain, input.size() / 2), errc::decompressed_too_large)
      << to_string(z->id());
  ASSERT_FALSE(z->decompress(packed, plain, 1 << 20)) << to_string(z->id()) << " after too large";
  EXPECT_EQ(as_chars(plain), input) << to_string(z->id()) << " after too large";
}

// An error inside a frame (a block declaring more than the frame's block size) stops lz4's
// decoder mid-frame, in a state no reset-free next call could use.
TEST(Lz4Compression, AFrameAfterOneThatFailedMidwayDecodes) {
  const lz4_compressor z;
  const std::string input = noise(100'000);
  buffer packed;
  ASSERT_FALSE(z.compress(as_bytes(input), packed));
  // magic (4) | FLG | BD | content size (8) | HC, then blocks of at most 64 KiB, each after
  // its 4-byte size (high bit: stored uncompressed, as noise is).
  constexpr std::size_t header = 15, second_block = header + 4 + 65536;
  ASSERT_GT(packed.size(), second_block + 4);
  ASSERT_EQ(packed[5] >> 4, 4) << "64 KiB blocks";
  ASSERT_EQ(buffer(packed.begin() + header, packed.begin() + header + 4),
            (buffer{0x00, 0x00, 0x01, 0x80}))
      << "the first block: 64 KiB stored as they are";
  buffer broken = packed;
  broken[second_block + 2] = 0x7F;  // a size far past 64 KiB
  buffer plain;
  EXPECT_TRUE(z.decompress(broken, plain, 1 << 20));
  plain.clear();
  ASSERT_FALSE(z.decompress(packed, plain, 1 << 20));
  EXPECT_EQ(as_chars(plain), input);
}

TEST_P(Compression, TrailingGarbageIsAnError) {
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes("payload payload payload"), packed));
  if (z->id() == compression_id::snappy) GTEST_SKIP() << "a raw snappy block has no end marker";
  packed.push_back(0x42);
  buffer plain;
  EXPECT_TRUE(z->decompress(packed, plain, 1 << 20));
}

// No limit at all (SIZE_MAX): the room for one byte past it must not wrap to nothing.
TEST_P(Compression, AnUnboundedLimitStillDecodes) {
  const std::string input(200'000, 'q');
  buffer packed;
  ASSERT_FALSE(z->compress(as_bytes(input), packed));
  buffer plain;
  ASSERT_FALSE(z->decompress(packed, plain, SIZE_MAX)) << to_string(z->id());
  EXPECT_EQ(as_chars(plain), input) << to_string(z->id());
}

INSTANTIATE_TEST_SUITE_P(All, Compression, ::testing::Range(0, 4), [](const auto& param_info) {
  return std::string(to_string(all_compressors()[static_cast<std::size_t>(param_info.param)]->id()));
});

// A dozen bytes can declare a 128 MiB window, which the decoder would allocate before reading
// a block: a window past what the call may produce, and past what the standard levels
// declare, is refused as too large to inflate.
TEST(ZstdCompression, AFrameDeclaringAHugeWindowIsRefused) {
  // Magic; frame header descriptor 0 (no single segment, content size or checksum); window
  // descriptor exponent 17: 2^(10 + 17) bytes; one last raw block of one byte.
  const buffer frame{0x28, 0xB5, 0x2F, 0xFD, 0x00, 17 << 3, 0x09, 0x00, 0x00, 'x'};
  buffer plain;
  EXPECT_EQ(zstd_compressor{}.decompress(frame, plain, 1u << 20), errc::decompressed_too_large);
  EXPECT_TRUE(plain.empty());
  // The same frame declaring a window of 1 MiB (exponent 10) is well formed and decodes.
  auto modest = frame;
  modest[5] = 10 << 3;
  ASSERT_FALSE(zstd_compressor{}.decompress(modest, plain, 1u << 20));
  EXPECT_EQ(as_chars(plain), "x");
}
