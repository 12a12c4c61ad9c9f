// The framers that split a connection's byte stream into frames: whatever the sizes of the
// reads, every frame comes out whole and in order; a large frame is read into its own
// buffer and handed over without a copy; malformed streams fail at once and for good.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "actors/connections/transport/kafka_framer.hpp"
#include "actors/connections/transport/stream_framer.hpp"

using namespace portask;

namespace {

protocol::buffer native_frame(std::size_t payload_size, std::uint8_t fill) {
  protocol::buffer payload(payload_size);
  for (std::size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<std::uint8_t>(fill + i * 7);
  protocol::buffer out;
  protocol::append_frame(out, protocol::message_type::publish, 0, payload);
  return out;
}

protocol::buffer kafka_frame(std::size_t body_size, std::uint8_t fill) {
  protocol::buffer out(4 + body_size, fill);
  for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(body_size >> (24 - 8 * i));
  for (std::size_t i = 4; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(fill + i);
  return out;
}

struct outcome {
  std::vector<protocol::buffer> frames;
  std::error_code error;
};

// Feeds `stream` to `framer` as a socket would, in reads of at most `chunk` bytes (fewer
// when the framer asks for fewer), taking every whole frame after each read.
outcome feed(stream_framer& framer, const protocol::buffer& stream, std::size_t chunk) {
  outcome out;
  std::size_t pos = 0;
  while (pos < stream.size() && !out.error) {
    auto space = framer.prepare(std::min(chunk, stream.size() - pos));
    EXPECT_FALSE(space.empty());
    const auto n = std::min(space.size(), stream.size() - pos);
    std::memcpy(space.data(), stream.data() + pos, n);
    framer.commit(n);
    pos += n;
    for (;;) {
      auto f = framer.next();
      if (!f) {
        out.error = f.error();
        break;
      }
      if (!*f) break;
      out.frames.push_back(std::move(**f));
    }
  }
  return out;
}

}  // namespace

TEST(StreamFramer, NativeFramesComeOutWholeAndInOrderWhateverTheReadSizes) {
  // Small frames around large ones: frames just under and at the own-buffer size, one over
  // it, and one whose buffer grows several times while it arrives.
  const std::size_t at_limit = stream_framer::own_buffer_from - protocol::frame_header_size;
  const std::vector<std::size_t> payloads{100, 0, at_limit - 1, 5, at_limit, 7,
                                          200 * 1024, 3, (3u << 19) + 4096, 64};
  std::vector<protocol::buffer> frames;
  protocol::buffer stream;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    frames.push_back(native_frame(payloads[i], static_cast<std::uint8_t>(i)));
    stream.insert(stream.end(), frames.back().begin(), frames.back().end());
  }
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{65536},
                            stream.size()}) {
    portask_framer framer{protocol::frame_limits{}, false};
    auto got = feed(framer, stream, chunk);
    ASSERT_FALSE(got.error) << "reads of " << chunk << ": " << got.error.message();
    ASSERT_EQ(got.frames.size(), frames.size()) << "reads of " << chunk;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(got.frames[i], frames[i]) << "frame " << i << ", reads of " << chunk;
      // A frame handed over holds no more memory than its bytes.
      EXPECT_EQ(got.frames[i].capacity(), frames[i].size()) << "frame " << i << ", reads of " << chunk;
    }
    EXPECT_EQ(framer.buffered(), 0u);
  }
}

TEST(StreamFramer, ALargeFrameIsReadIntoTheBufferHandedOver) {
  const auto frame = native_frame(300 * 1024, 9);
  const auto next_frame = native_frame(10, 1);
  portask_framer framer{protocol::frame_limits{}, false};
  // The header and a little of the payload arrive first, with no frame yet.
  const std::size_t first = 100;
  auto space = framer.prepare(64 * 1024);
  std::memcpy(space.data(), frame.data(), first);
  framer.commit(first);
  ASSERT_FALSE(framer.next()->has_value());
  EXPECT_EQ(framer.buffered(), first);
  // From then on each read goes where the frame's bytes end up, and never past its end.
  std::size_t pos = first;
  const std::uint8_t* last_read = nullptr;
  std::size_t last_size = 0;
  while (pos < frame.size()) {
    space = framer.prepare(64 * 1024);
    ASSERT_LE(space.size(), frame.size() - pos);
    std::memcpy(space.data(), frame.data() + pos, space.size());
    framer.commit(space.size());
    last_read = space.data();
    last_size = space.size();
    pos += space.size();
    EXPECT_EQ(framer.buffered(), pos);
  }
  auto got = framer.next();
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, frame);
  // The last read's bytes are where it wrote them: the frame was not copied after it.
  EXPECT_EQ(last_read, (*got)->data() + (frame.size() - last_size));
  EXPECT_EQ(framer.buffered(), 0u);
  // The next frame is read as usual.
  auto rest = feed(framer, next_frame, 64 * 1024);
  ASSERT_EQ(rest.frames.size(), 1u);
  EXPECT_EQ(rest.frames[0], next_frame);
}

TEST(StreamFramer, AHeaderClaimingALargeFrameDoesNotMakeTheFramerHoldItsSize) {
  const auto frame = native_frame(8u << 20, 5);
  portask_framer framer{protocol::frame_limits{}, false};
  auto space = framer.prepare(64 * 1024);
  const std::size_t sent = protocol::frame_header_size + 100;
  std::memcpy(space.data(), frame.data(), sent);
  framer.commit(sent);
  ASSERT_FALSE(framer.next()->has_value());
  EXPECT_EQ(framer.buffered(), sent);
  // The read buffer and a read's worth ahead, not the 8 MiB the header claims.
  EXPECT_LE(framer.held(), 64u * 1024 + sent + stream_framer::own_buffer_ahead);
  // As the bytes come, what it holds follows them.
  std::size_t pos = sent;
  while (pos < (1u << 20)) {
    space = framer.prepare(64 * 1024);
    std::memcpy(space.data(), frame.data() + pos, space.size());
    framer.commit(space.size());
    pos += space.size();
  }
  EXPECT_LE(framer.held(), 64u * 1024 + 2 * pos);
}

TEST(StreamFramer, AWrongCrcInALargeFrameFailsTheStreamForGood) {
  auto frame = native_frame(100 * 1024, 3);
  frame[frame.size() / 2] ^= 0x40;
  portask_framer framer{protocol::frame_limits{}, false};
  auto got = feed(framer, frame, 4096);
  EXPECT_TRUE(got.frames.empty());
  EXPECT_EQ(got.error, make_error_code(errc::crc_mismatch));
  auto again = framer.next();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), make_error_code(errc::crc_mismatch));
}

TEST(StreamFramer, NativeGarbageAndOversizeAreRefusedFromTheFirstBytesThatShowThem) {
  {
    portask_framer framer{protocol::frame_limits{}, false};
    auto got = feed(framer, protocol::buffer{'G', 'E', 'T', ' '}, 1);
    EXPECT_EQ(got.error, make_error_code(errc::bad_magic));
  }
  {
    // A header that claims more than the limit: refused on the header, before any payload.
    auto frame = native_frame(2048, 1);
    portask_framer framer{protocol::frame_limits{1024}, false};
    auto got = feed(framer, protocol::buffer(frame.begin(), frame.begin() + protocol::frame_header_size), 64);
    EXPECT_EQ(got.error, make_error_code(errc::frame_too_large));
  }
}

TEST(StreamFramer, KafkaRequestsComeOutWholeAndBadSizesAreRefused) {
  std::vector<protocol::buffer> frames{kafka_frame(10, 1), kafka_frame(120 * 1024, 2), kafka_frame(50, 3)};
  protocol::buffer stream;
  for (const auto& f : frames) stream.insert(stream.end(), f.begin(), f.end());
  for (std::size_t chunk : {std::size_t{3}, std::size_t{65536}, stream.size()}) {
    kafka_framer framer{1u << 20, false};
    auto got = feed(framer, stream, chunk);
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_EQ(got.frames, frames) << "reads of " << chunk;
    EXPECT_EQ(framer.buffered(), 0u);
  }
  {
    // An empty frame is an error; a short one (a v0 SASL PLAIN token, "\0bob\0pw") is a frame.
    kafka_framer framer{1u << 20, false};
    EXPECT_EQ(feed(framer, kafka_frame(0, 0), 64).error, make_error_code(errc::malformed_payload));
    kafka_framer short_ok{1u << 20, false};
    auto got = feed(short_ok, kafka_frame(7, 0), 64);
    EXPECT_FALSE(got.error);
    EXPECT_EQ(got.frames.size(), 1u);
  }
  {
    kafka_framer framer{1u << 20, false};
    auto header = kafka_frame((1u << 20) + 1, 0);
    header.resize(4);
    EXPECT_EQ(feed(framer, header, 64).error, make_error_code(errc::frame_too_large));
  }
  {
    // The size is an INT32: a negative one is malformed at once, even under a limit above 2^31
    // (it used to wait for 4 GiB of body).
    kafka_framer framer{0xffffffffu, false};
    EXPECT_EQ(feed(framer, protocol::buffer{0xff, 0xff, 0xff, 0xf0}, 64).error,
              make_error_code(errc::malformed_payload));
    kafka_framer lowest{0xffffffffu, false};
    EXPECT_EQ(feed(lowest, protocol::buffer{0x80, 0, 0, 0}, 64).error, make_error_code(errc::malformed_payload));
  }
}

TEST(StreamFramer, KafkaFramesBeforeAuthenticationAreCappedAsInKafka) {
  const auto over = kafka_framer::max_before_authentication + 1;
  {
    // On a SASL listener: refused on the header before authentication...
    kafka_framer framer{1u << 20, true};
    auto header = kafka_frame(over, 0);
    header.resize(4);
    EXPECT_EQ(feed(framer, header, 64).error, make_error_code(errc::frame_too_large));
  }
  {
    // ... and a frame after authentication.
    kafka_framer framer{1u << 20, true};
    auto first = feed(framer, kafka_frame(100, 1), 64);
    ASSERT_FALSE(first.error);
    framer.authenticated();
    auto got = feed(framer, kafka_frame(over, 2), 65536);
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_EQ(got.frames.size(), 1u);
  }
  {
    // Without SASL the listener's limit holds from the start.
    kafka_framer framer{1u << 20, false};
    auto got = feed(framer, kafka_frame(over, 2), 65536);
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_EQ(got.frames.size(), 1u);
  }
}

TEST(StreamFramer, NativeFramesBeforeAuthenticationAreCapped) {
  const auto big = native_frame(portask_framer::max_before_authentication + 1, 1);
  {
    portask_framer framer{protocol::frame_limits{1u << 20}, true};
    auto got = feed(framer, protocol::buffer(big.begin(), big.begin() + protocol::frame_header_size), 64);
    EXPECT_EQ(got.error, make_error_code(errc::frame_too_large));
  }
  {
    portask_framer framer{protocol::frame_limits{1u << 20}, true};
    framer.authenticated();
    auto got = feed(framer, big, 65536);
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_EQ(got.frames.size(), 1u);
  }
}
