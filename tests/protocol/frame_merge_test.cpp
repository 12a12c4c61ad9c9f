#include "protocol/frame_merge.hpp"

#include <gtest/gtest.h>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"
#include "sample_batches.hpp"

using namespace portask;
using namespace portask::protocol;

namespace {

// A batch as the broker stores it: every message on the partition's topic and number, no
// offsets (the partition's base offset plus the index gives them), timestamps set.
message_batch stored_batch(int first, int n, std::int64_t ts_base) {
  message_batch b;
  for (int i = first; i < first + n; ++i) {
    auto m = test::sample_message(i);
    m.offset = no_offset;
    m.timestamp_ms = ts_base + 7 * i;
    if (i > first) m.topic.clear();  // inherits the batch's
    b.messages.push_back(std::move(m));
  }
  return b;
}

buffer frame_of(const message_batch& b, encoding e = {}) {
  codec_manager codecs;
  buffer out;
  EXPECT_FALSE(codecs.append_batch_frame(b, e, message_type::publish, out));
  return out;
}

message_batch decoded(const buffer& frame) {
  codec_manager codecs;
  auto view = decode_frame(frame);  // checks the CRC
  EXPECT_TRUE(view) << view.error().message();
  if (!view) return {};
  EXPECT_EQ(frame_size(*view), frame.size());
  auto b = codecs.decode(view->header.flags, view->payload);
  EXPECT_TRUE(b) << b.error().message();
  return b ? *b : message_batch{};
}

}  // namespace

TEST(FrameMerge, OneFrameHoldsEveryMessageInOrderWithItsOwnTimestamp) {
  // The later frames' timestamps lie before and after the first's base: deltas of both signs.
  const auto a = frame_of(stored_batch(0, 1, 1'700'000'000'000));
  const auto b = frame_of(stored_batch(1, 3, 1'699'999'999'000));
  const auto c = frame_of(stored_batch(4, 2, 1'700'000'123'456));
  const byte_view parts[] = {a, b, c};
  buffer merged{0xAA};  // appended after what the buffer holds
  ASSERT_FALSE(merge_frames(parts, merged));
  ASSERT_EQ(merged.front(), 0xAA);
  const buffer frame(merged.begin() + 1, merged.end());

  message_batch expected;
  for (const auto* f : {&a, &b, &c})
    for (auto m : decoded(*f).messages) expected.messages.push_back(std::move(m));
  const auto got = decoded(frame);
  ASSERT_EQ(got.messages.size(), 6u);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.messages[1].timestamp_ms, 1'699'999'999'000 + 7);
  // The merged batch is one the broker could have framed itself: stored as it is.
  auto view = decode_frame(frame);
  ASSERT_TRUE(view);
  auto scan = binary_codec::scan(view->payload);
  ASSERT_TRUE(scan);
  EXPECT_TRUE(scan->rebasable);
  EXPECT_EQ(scan->count, 6u);
  EXPECT_EQ(scan->max_timestamp_ms, 1'700'000'123'456 + 7 * 5);
  EXPECT_EQ(view->header.flags, decode_frame(a)->header.flags);
}

TEST(FrameMerge, OneFrameMergesIntoTheSameBytes) {
  const auto a = frame_of(stored_batch(0, 4, 1'700'000'000'000));
  const byte_view parts[] = {a};
  buffer merged;
  ASSERT_FALSE(merge_frames(parts, merged));
  EXPECT_EQ(merged, a);
}

TEST(FrameMerge, FramesItCannotMergeAreRefusedAndTheBufferIsLeftAsItWas) {
  const auto good = frame_of(stored_batch(0, 2, 1'700'000'000'000));
  const auto compressed =
      frame_of(stored_batch(2, 2, 1'700'000'000'000), {codec_id::binary, compression_id::lz4});
  const auto json = frame_of(stored_batch(2, 2, 1'700'000'000'000), {codec_id::json, compression_id::none});
  auto other_partition_batch = stored_batch(2, 1, 1'700'000'000'000);
  other_partition_batch.messages[0].partition = 4;
  const auto other_partition = frame_of(other_partition_batch);
  auto own_topic_batch = stored_batch(2, 2, 1'700'000'000'000);
  own_topic_batch.messages[1].topic = "elsewhere";  // a message naming its own topic
  const auto own_topic = frame_of(own_topic_batch);
  auto bad_crc = good;
  bad_crc.back() ^= 0x01;
  const buffer truncated(good.begin(), good.end() - 1);
  buffer two_frames = good;
  two_frames.insert(two_frames.end(), good.begin(), good.end());
  buffer fetch_frame;
  append_frame(fetch_frame, message_type::fetch, 0, byte_view{good}.subspan(frame_header_size));

  auto offset_batch = stored_batch(2, 1, 1'700'000'000'000);
  offset_batch.messages[0].offset = 17;  // a base offset of its own
  const auto other_offset = frame_of(offset_batch);
  auto unset_batch = stored_batch(2, 1, 0);
  unset_batch.messages[0].timestamp_ms = 0;  // unset, next to a batch whose are set
  const auto unset = frame_of(unset_batch);
  buffer priority_frame;
  {
    auto view = decode_frame(good);
    ASSERT_TRUE(view);
    append_frame(priority_frame, message_type::publish, view->header.flags | frame_flags::priority,
                 view->payload);
  }
  const std::pair<const char*, const buffer*> cases[] = {
      {"other base offset", &other_offset}, {"timestamps unset", &unset},
      {"other flags", &priority_frame},
      {"compressed", &compressed},     {"json", &json},       {"other partition", &other_partition},
      {"own topic", &own_topic},       {"bad crc", &bad_crc}, {"truncated", &truncated},
      {"two frames", &two_frames},     {"fetch frame", &fetch_frame}};
  for (const auto& [name, bad] : cases) {
    const byte_view parts[] = {good, *bad};
    buffer out{1, 2, 3};
    EXPECT_TRUE(merge_frames(parts, out)) << name;
    EXPECT_EQ(out, (buffer{1, 2, 3})) << name;
  }
  buffer out;
  EXPECT_TRUE(merge_frames({}, out));
  EXPECT_TRUE(out.empty());
}
