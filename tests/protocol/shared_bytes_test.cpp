#include "protocol/shared_bytes.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tests/protocol/byte_pattern.hpp"

using namespace portask::protocol;
using portask::test::byte_pattern;

TEST(SharedBytes, ACopyHoldsTheBytesAfterTheSourceIsGone) {
  shared_bytes s;
  EXPECT_FALSE(s);
  {
    auto src = byte_pattern(1000, 3);
    s = shared_bytes::copy_of(src);
    src.assign(src.size(), 0);
  }
  ASSERT_TRUE(s);
  EXPECT_EQ(s.size(), 1000u);
  EXPECT_EQ(s.to_buffer(), byte_pattern(1000, 3));
}

TEST(SharedBytes, CopiesShareNothingWithEachOtherAndSurviveTheirNeighbours) {
  std::vector<shared_bytes> kept;
  for (int i = 0; i < 2000; ++i) kept.push_back(shared_bytes::copy_of(byte_pattern(1 + i * 37 % 5000, static_cast<std::uint8_t>(i))));
  // Release every other copy: the rest still read back intact (their slab stays mapped).
  for (std::size_t i = 0; i < kept.size(); i += 2) kept[i] = {};
  for (std::size_t i = 1; i < kept.size(); i += 2)
    ASSERT_EQ(kept[i].to_buffer(), byte_pattern(1 + i * 37 % 5000, static_cast<std::uint8_t>(i))) << i;
}

TEST(SharedBytes, AdoptedBytesAreNotCopied) {
  auto src = byte_pattern(300, 1);
  const auto* at = src.data();
  auto s = shared_bytes::adopt(std::move(src));
  EXPECT_EQ(s.data(), at);
  EXPECT_EQ(s.to_buffer(), byte_pattern(300, 1));
  auto copy = s;  // owners share the bytes
  s = {};
  EXPECT_EQ(copy.data(), at);
  EXPECT_EQ(copy.size(), 300u);
}

TEST(SharedBytes, EmptyAndLargerThanASlabCopies) {
  auto empty = shared_bytes::copy_of({});
  EXPECT_TRUE(empty);
  EXPECT_TRUE(empty.empty());
  const auto big = byte_pattern((std::size_t{20} << 20) + 5, 9);  // larger than one slab
  auto b = shared_bytes::copy_of(big);
  EXPECT_EQ(b.size(), big.size());
  EXPECT_TRUE(b == shared_bytes::copy_of(big));
  EXPECT_FALSE(b == shared_bytes::copy_of(byte_pattern(big.size(), 10)));
}

TEST(SharedBytes, ThreadsCopyConcurrentlyAndHandCopiesToEachOther) {
  std::vector<shared_bytes> out(4 * 500);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &out] {
      for (int i = 0; i < 500; ++i)
        out[static_cast<std::size_t>(t * 500 + i)] =
            shared_bytes::copy_of(byte_pattern(64 + static_cast<std::size_t>(i) * 13, static_cast<std::uint8_t>(t)));
    });
  for (auto& th : threads) th.join();  // the copying threads are gone; their copies are not
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 500; ++i)
      ASSERT_EQ(out[static_cast<std::size_t>(t * 500 + i)].to_buffer(),
                byte_pattern(64 + static_cast<std::size_t>(i) * 13, static_cast<std::uint8_t>(t)));
}

TEST(SharedBytes, ASliceSharesTheBytesAndOutlivesTheWhole) {
  auto b = byte_pattern(1000, 3);
  const auto* data = b.data();
  shared_bytes part;
  {
    auto whole = shared_bytes::adopt(std::move(b));
    part = whole.slice(100, 50);
    EXPECT_EQ(part.data(), data + 100) << "a view, not a copy";
    EXPECT_EQ(whole.slice(990, 50).size(), 10u) << "clamped to the bytes there are";
    EXPECT_TRUE(whole.slice(2000, 5).empty());
  }
  ASSERT_EQ(part.size(), 50u);
  const auto expected = byte_pattern(1000, 3);
  EXPECT_TRUE(std::equal(part.view().begin(), part.view().end(), expected.begin() + 100));
}
