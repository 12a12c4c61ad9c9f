#include "protocol/frame.hpp"

#include <gtest/gtest.h>

#include <set>

#include "protocol/crc32.hpp"

using namespace portask;
using namespace portask::protocol;

namespace {
buffer make_frame(std::string_view payload, message_type type = message_type::publish,
                  std::uint16_t flags = 0) {
  buffer out;
  append_frame(out, type, flags, as_bytes(payload));
  return out;
}
}  // namespace

TEST(Frame, HeaderLayoutIsBigEndianWithMagicVersionTypeFlagsLengthCrc) {
  const auto f = make_frame("portask-test-data", message_type::fetch, 0x1234);
  ASSERT_EQ(f.size(), frame_header_size + 17);
  EXPECT_EQ((buffer{f.begin(), f.begin() + 4}), (buffer{'P', 'O', 'R', 'T'}));
  EXPECT_EQ(f[4], 1);
  EXPECT_EQ(f[5], 0x03);
  EXPECT_EQ(f[6], 0x12);
  EXPECT_EQ(f[7], 0x34);
  EXPECT_EQ(load_be32(&f[8]), 17u);
  EXPECT_EQ(load_be32(&f[12]), 0xc39f357eu);
  EXPECT_EQ(as_chars(byte_view{f}.subspan(16)), "portask-test-data");
}

TEST(Frame, EncodeDecodeRoundTrip) {
  const auto f = make_frame("hello", message_type::response, frame_flags::batch);
  auto v = decode_frame(f);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->header.type, message_type::response);
  EXPECT_EQ(v->header.flags, frame_flags::batch);
  EXPECT_EQ(v->header.length, 5u);
  EXPECT_EQ(as_chars(v->payload), "hello");
  EXPECT_EQ(frame_size(*v), f.size());
}

TEST(Frame, EmptyPayloadIsValid) {
  const auto f = make_frame("", message_type::heartbeat);
  auto v = decode_frame(f);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->header.length, 0u);
  EXPECT_TRUE(v->payload.empty());
}

TEST(Frame, EveryDefinedTypeIsKnownAndNothingElse) {
  for (int t = 0; t < 256; ++t) {
    const bool defined = t >= 0x01 && t <= 0x17;
    EXPECT_EQ(is_known_type(static_cast<std::uint8_t>(t)), defined) << t;
  }
}

TEST(Frame, BadMagicIsRejected) {
  auto f = make_frame("x");
  f[0] = 'X';
  EXPECT_EQ(decode_frame(f).error(), errc::bad_magic);
}

TEST(Frame, UnsupportedVersionIsRejected) {
  auto f = make_frame("x");
  f[4] = 2;
  EXPECT_EQ(decode_frame(f).error(), errc::unsupported_version);
}

TEST(Frame, UnknownTypeIsRejected) {
  auto f = make_frame("x");
  f[5] = 0x7F;
  EXPECT_EQ(decode_frame(f).error(), errc::unknown_type);
  f[5] = 0x00;
  EXPECT_EQ(decode_frame(f).error(), errc::unknown_type);
}

TEST(Frame, LengthOverTheConfiguredMaximumIsRejected) {
  auto f = make_frame(std::string(100, 'a'));
  EXPECT_EQ(decode_frame(f, frame_limits{99}).error(), errc::frame_too_large);
  EXPECT_TRUE(decode_frame(f, frame_limits{100}));
}

TEST(Frame, DefaultMaximumIsSixteenMebibytes) {
  buffer header(frame_header_size);
  frame_header h;
  h.length = 16u * 1024 * 1024 + 1;
  encode_header(h, std::span<std::uint8_t, frame_header_size>(header.data(), frame_header_size));
  EXPECT_EQ(decode_header(header).error(), errc::frame_too_large);
  h.length = 16u * 1024 * 1024;
  encode_header(h, std::span<std::uint8_t, frame_header_size>(header.data(), frame_header_size));
  EXPECT_TRUE(decode_header(header));
}

TEST(Frame, CrcMismatchIsRejected) {
  auto f = make_frame("payload");
  f.back() ^= 0x01;
  EXPECT_EQ(decode_frame(f).error(), errc::crc_mismatch);
}

TEST(Frame, TruncatedHeaderAndTruncatedPayloadAreRejected) {
  const auto f = make_frame("payload");
  EXPECT_EQ(decode_frame(byte_view{f}.first(10)).error(), errc::truncated);
  EXPECT_EQ(decode_frame(byte_view{f}.first(f.size() - 1)).error(), errc::truncated);
  EXPECT_EQ(decode_frame(byte_view{}).error(), errc::truncated);
}

TEST(Frame, HeaderPrefixCheckCatchesGarbageEarly) {
  EXPECT_FALSE(check_header_prefix(as_bytes("PO")));
  EXPECT_EQ(check_header_prefix(as_bytes("GET ")), errc::bad_magic);
  EXPECT_EQ(check_header_prefix(as_bytes("PORT\x09")), errc::unsupported_version);
}

TEST(Frame, ErrorsAreDistinctAndDescribed) {
  const errc all[] = {errc::bad_magic, errc::unsupported_version, errc::unknown_type,
                      errc::frame_too_large, errc::crc_mismatch, errc::truncated};
  std::set<std::string> messages;
  for (auto e : all) messages.insert(make_error_code(e).message());
  EXPECT_EQ(messages.size(), std::size(all));
  EXPECT_EQ(to_string(errc::crc_mismatch), "crc_mismatch");
  EXPECT_TRUE(is_retriable(errc::storage_unavailable));
  EXPECT_FALSE(is_retriable(errc::crc_mismatch));
}

TEST(Frame, BuildInPlaceMatchesAppend) {
  buffer a;
  append_frame(a, message_type::publish, frame_flags::priority, as_bytes("abc"));
  buffer b{0xEE};  // frames can be appended after existing bytes
  const auto pos = begin_frame(b);
  b.insert(b.end(), {'a', 'b', 'c'});
  finish_frame(b, pos, message_type::publish, frame_flags::priority);
  EXPECT_EQ(buffer(b.begin() + 1, b.end()), a);
}
