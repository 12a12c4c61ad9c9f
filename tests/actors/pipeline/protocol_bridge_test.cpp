// The bridge's framing step, without actors: what any protocol's batch becomes in storage.
#include "actors/pipeline/protocol_bridge.hpp"

#include <gtest/gtest.h>

#include "protocol/crc32.hpp"
#include "storage/memory_store.hpp"

using namespace portask;

namespace {
std::shared_ptr<broker_context> context(const std::string& codec, const std::string& compression) {
  broker_config cfg;
  cfg.storage_codec = codec;
  cfg.storage_compression = compression;
  return std::make_shared<broker_context>(cfg, storage::memory_store::factory(), "memory");
}

publish_batch sample(protocol_kind source) {
  publish_batch pb;
  pb.tp = {"orders", 2};
  pb.source = source;
  for (int i = 0; i < 3; ++i) {
    protocol::message m;
    m.topic = "ignored";      // the broker decides topic, partition and offsets
    m.partition = 99;
    m.offset = 1234;
    m.key = "k" + std::to_string(i);
    m.value = "v" + std::to_string(i);
    m.headers = {{"h", std::string("x")}};
    m.timestamp_ms = i == 1 ? 0 : 1000 + i;  // 0: the broker stamps it
    pb.batch.messages.push_back(m);
  }
  return pb;
}
}  // namespace

TEST(ProtocolBridge, FramesABatchIntoAPortaskFrameWithCrc) {
  auto ctx = context("binary", "none");
  auto pb = sample(protocol_kind::kafka);
  auto fb = frame_batch(*ctx, pb, 5000);
  ASSERT_TRUE(fb);
  EXPECT_EQ(fb->record_count, 3u);
  EXPECT_EQ(fb->max_timestamp, 5000);
  auto frame = protocol::decode_frame(fb->frame);
  ASSERT_TRUE(frame) << "magic, version, type and CRC32 check out";
  EXPECT_EQ(frame->header.type, protocol::message_type::publish);
  EXPECT_TRUE(frame->header.flags & protocol::frame_flags::batch);
  EXPECT_EQ(protocol::crc32(frame->payload), frame->header.crc);
  auto back = ctx->codecs.decode(frame->header.flags, frame->payload);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->messages.size(), 3u);
  for (const auto& m : back->messages) {
    EXPECT_EQ(m.topic, "orders");
    EXPECT_EQ(m.partition, 2);
    EXPECT_EQ(m.offset, protocol::no_offset) << "offsets come from the partition";
  }
  EXPECT_EQ(back->messages[1].timestamp_ms, 5000);
  EXPECT_EQ(back->messages[2].key, "k2");
  EXPECT_EQ(back->messages[2].headers.at(0).value, "x");
}

TEST(ProtocolBridge, TheConfiguredStorageEncodingIsRecordedInTheFrame) {
  auto ctx = context("msgpack", "zstd");
  auto pb = sample(protocol_kind::portask);
  auto fb = frame_batch(*ctx, pb, 1);
  ASSERT_TRUE(fb);
  auto frame = protocol::decode_frame(fb->frame);
  ASSERT_TRUE(frame);
  auto e = protocol::encoding_of(frame->header.flags);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->codec, protocol::codec_id::msgpack);
  EXPECT_EQ(e->compression, protocol::compression_id::zstd);
  EXPECT_TRUE(ctx->codecs.decode(frame->header.flags, frame->payload));
}

TEST(ProtocolBridge, BothProtocolsProduceTheSameStoredBytes) {
  auto ctx = context("binary", "none");
  auto a = sample(protocol_kind::portask);
  auto b = sample(protocol_kind::kafka);
  auto fa = frame_batch(*ctx, a, 7);
  auto fbk = frame_batch(*ctx, b, 7);
  ASSERT_TRUE(fa && fbk);
  EXPECT_EQ(fa->frame.to_buffer(), fbk->frame.to_buffer()) << "one format, whatever protocol brought the batch";
}

TEST(ProtocolBridge, AnEmptyBatchIsRefused) {
  auto ctx = context("binary", "none");
  publish_batch pb;
  pb.tp = {"t", 0};
  EXPECT_EQ(frame_batch(*ctx, pb, 1).error(), errc::invalid_request);
}
