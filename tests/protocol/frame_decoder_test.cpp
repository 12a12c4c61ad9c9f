#include "protocol/frame_decoder.hpp"

#include <gtest/gtest.h>

using namespace portask;
using namespace portask::protocol;

namespace {

buffer frames(std::initializer_list<std::string_view> payloads) {
  buffer out;
  for (auto p : payloads) append_frame(out, message_type::publish, 0, as_bytes(p));
  return out;
}

// Drains every whole frame currently decodable; returns payloads, or the error text.
std::vector<std::string> drain(frame_decoder& d, std::error_code* error = nullptr) {
  std::vector<std::string> got;
  for (;;) {
    auto r = d.next();
    if (!r) {
      if (error) *error = r.error();
      return got;
    }
    if (!*r) return got;
    got.emplace_back(as_chars((*r)->payload));
  }
}

}  // namespace

TEST(FrameDecoder, ManyFramesInOneRead) {
  frame_decoder d;
  d.feed(frames({"one", "two", "", "three"}));
  EXPECT_EQ(drain(d), (std::vector<std::string>{"one", "two", "", "three"}));
  EXPECT_FALSE(d.finish());
}

TEST(FrameDecoder, OneByteAtATime) {
  const auto bytes = frames({"alpha", "beta"});
  frame_decoder d;
  std::vector<std::string> got;
  for (auto b : bytes) {
    d.feed(byte_view{&b, 1});
    for (auto& p : drain(d)) got.push_back(p);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, EveryChunkSplitYieldsTheSameFrames) {
  const auto bytes = frames({"first payload", "second", std::string(300, 'z')});
  for (std::size_t split = 1; split < bytes.size(); ++split) {
    frame_decoder d;
    d.feed(byte_view{bytes}.first(split));
    auto got = drain(d);
    d.feed(byte_view{bytes}.subspan(split));
    for (auto& p : drain(d)) got.push_back(p);
    ASSERT_EQ(got.size(), 3u) << "split at " << split;
    EXPECT_EQ(got[2], std::string(300, 'z'));
  }
}

TEST(FrameDecoder, PrepareCommitReadsInPlace) {
  const auto bytes = frames({"in place"});
  frame_decoder d;
  auto space = d.prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  d.commit(bytes.size());
  auto r = d.next();
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(as_chars((*r)->payload), "in place");
  // The payload view points into the decoder's buffer: nothing was copied out.
  EXPECT_EQ((*r)->payload.data(), space.data() + frame_header_size);
}

TEST(FrameDecoder, GarbageIsRejectedFromTheFirstBadByte) {
  frame_decoder d;
  d.feed(as_bytes("GET / HTTP/1.1"));
  std::error_code ec;
  drain(d, &ec);
  EXPECT_EQ(ec, errc::bad_magic);
}

TEST(FrameDecoder, ShortGarbageIsRejectedWithoutWaitingForAHeader) {
  frame_decoder d;
  d.feed(as_bytes("X"));
  std::error_code ec;
  drain(d, &ec);
  EXPECT_EQ(ec, errc::bad_magic);
}

TEST(FrameDecoder, ErrorsAreSticky) {
  auto bytes = frames({"good", "bad"});
  bytes.back() ^= 0xFF;  // corrupt the second payload
  frame_decoder d;
  d.feed(bytes);
  std::error_code ec;
  EXPECT_EQ(drain(d, &ec), std::vector<std::string>{"good"});
  EXPECT_EQ(ec, errc::crc_mismatch);
  d.feed(frames({"later"}));
  EXPECT_EQ(d.next().error(), errc::crc_mismatch);
}

TEST(FrameDecoder, OversizeLengthIsRejectedBeforeThePayloadArrivesAndKeptToBeSaid) {
  frame_decoder d{frame_limits{1024}};
  EXPECT_EQ(d.refused_length(), 0u);
  buffer header(frame_header_size);
  frame_header h;
  h.length = 1025;
  encode_header(h, std::span<std::uint8_t, frame_header_size>(header.data(), frame_header_size));
  d.feed(header);
  std::error_code ec;
  drain(d, &ec);
  EXPECT_EQ(ec, errc::frame_too_large);
  EXPECT_EQ(d.refused_length(), 1025u);  // the owner says how large it was
  d.reset();
  EXPECT_EQ(d.refused_length(), 0u);
}

TEST(FrameDecoder, EndOfStreamInsideAFrameIsTruncated) {
  const auto bytes = frames({"abcdef"});
  frame_decoder d;
  d.feed(byte_view{bytes}.first(bytes.size() - 2));
  EXPECT_TRUE(drain(d).empty());
  EXPECT_EQ(d.finish(), errc::truncated);
}

TEST(FrameDecoder, ResetClearsError) {
  frame_decoder d;
  d.feed(as_bytes("junk"));
  EXPECT_FALSE(d.next());
  d.reset();
  d.feed(frames({"ok"}));
  EXPECT_EQ(drain(d), std::vector<std::string>{"ok"});
}

TEST(FrameDecoder, BufferDoesNotGrowOverALongStream) {
  const auto one = frames({std::string(1000, 'q')});
  frame_decoder d;
  std::size_t max_cap = 0;
  for (int i = 0; i < 1000; ++i) {
    // Feed a frame and a half at a time so partial frames are carried over.
    d.feed(byte_view{one}.first(600));
    drain(d);
    d.feed(byte_view{one}.subspan(600));
    EXPECT_EQ(drain(d).size(), 1u);
    max_cap = std::max(max_cap, d.buffered());
  }
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_LE(max_cap, one.size());
}
