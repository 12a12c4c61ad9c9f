// The receive buffer under the stream decoders: bytes survive the moves that keep it small,
// and a buffer that was emptied is reused from its front.

#include <gtest/gtest.h>

#include <cstring>
#include <string_view>

#include "protocol/stream_buffer.hpp"

using namespace portask::protocol;

namespace {

void put(stream_buffer& in, std::string_view bytes) {
  auto space = in.prepare(bytes.size());
  ASSERT_EQ(space.size(), bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  in.commit(bytes.size());
}

std::string_view text(const stream_buffer& in) {
  return {reinterpret_cast<const char*>(in.data().data()), in.size()};
}

}  // namespace

TEST(StreamBuffer, KeepsUnconsumedBytesInOrderAcrossGrowthAndMoves) {
  stream_buffer in;
  put(in, "hello ");
  put(in, "world");
  EXPECT_EQ(text(in), "hello world");
  in.consume(6);
  EXPECT_EQ(text(in), "world");
  // More than the space left: the unconsumed bytes move to the front, then the buffer grows.
  const std::string more(100, 'x');
  put(in, more);
  EXPECT_EQ(text(in), "world" + more);
  in.consume(in.size());
  EXPECT_EQ(in.size(), 0u);
}

TEST(StreamBuffer, AnEmptiedBufferIsReusedFromItsFront) {
  stream_buffer in;
  const auto* front = in.prepare(64).data();
  in.commit(10);
  in.consume(10);
  EXPECT_EQ(in.prepare(64).data(), front);
  // An empty buffer larger than the idle limit is given back and a small one taken.
  in.prepare(stream_buffer::idle_limit + 1);
  in.commit(stream_buffer::idle_limit + 1);
  in.consume(stream_buffer::idle_limit + 1);
  EXPECT_GT(in.capacity(), stream_buffer::idle_limit);
  auto space = in.prepare(16);
  EXPECT_EQ(space.size(), 16u);
  EXPECT_LT(in.capacity(), stream_buffer::idle_limit);
  put(in, "abc");
  EXPECT_EQ(text(in), "abc");
}
