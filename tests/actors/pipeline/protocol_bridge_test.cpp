// The bridge's framing step, without actors: what any protocol's batch becomes in storage.
#include "actors/pipeline/protocol_bridge.hpp"

#include <gtest/gtest.h>

#include "protocol/crc32.hpp"
#include "protocol/kafka/binary_transcode.hpp"
#include "storage/memory_store.hpp"

using namespace portask;

namespace {
std::shared_ptr<broker_context> context(const std::string& codec, const std::string& compression,
                                        const std::string& store_kind = "memory") {
  broker_config cfg;
  cfg.storage_codec = codec;
  cfg.storage_compression = compression;
  return std::make_shared<broker_context>(cfg, storage::memory_store::factory(), store_kind);
}

// `decoded` as a client's request carries it, kept encoded: the request's own headers, then
// the binary batch, with the scan the connection makes of it.
publish_batch kept_encoded(const broker_context& ctx, const publish_batch& decoded) {
  publish_batch kept = decoded;
  kept.batch = {};
  kept.encoded.assign(48, 0xEE);
  kept.encoded_at = kept.encoded.size();
  EXPECT_FALSE(ctx.codecs.find(protocol::codec_id::binary)->encode(decoded.batch, kept.encoded));
  auto scan = protocol::binary_codec::scan(protocol::byte_view{kept.encoded}.subspan(kept.encoded_at));
  EXPECT_TRUE(scan && scan->rebasable);
  if (scan) kept.encoded_scan = *scan;
  return kept;
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
    // 0: unset in the native protocol (the broker stamps it), a timestamp in Kafka's.
    m.timestamp_ms = i == 1 ? 0 : 1000 + i;
    pb.batch.messages.push_back(m);
  }
  return pb;
}
}  // namespace

TEST(ProtocolBridge, FramesABatchIntoAPortaskFrameWithCrc) {
  auto ctx = context("binary", "none");
  auto pb = sample(protocol_kind::portask);
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
  // Every record stamped: a 0 reads differently (OnlyANativeBatchHasItsZeroTimestampsStamped).
  for (auto* pb : {&a, &b}) pb->batch.messages[1].timestamp_ms = 1001;
  auto fa = frame_batch(*ctx, a, 7);
  auto fbk = frame_batch(*ctx, b, 7);
  ASSERT_TRUE(fa && fbk);
  EXPECT_EQ(fa->frame.to_buffer(), fbk->frame.to_buffer()) << "one format, whatever protocol brought the batch";
}

// A timestamp of 0 is the native protocol's "unset": the broker's receive time stands for
// it (for any source but Kafka). Kafka has no such convention (its "none" is -1): a Kafka
// record stamped 0 keeps its 0, as a Kafka broker keeps it under CreateTime.
TEST(ProtocolBridge, OnlyANativeBatchHasItsZeroTimestampsStamped) {
  auto ctx = context("binary", "none");
  for (auto source : {protocol_kind::portask, protocol_kind::http, protocol_kind::kafka}) {
    auto pb = sample(source);
    auto fb = frame_batch(*ctx, pb, 5000);
    ASSERT_TRUE(fb) << to_string(source);
    auto frame = protocol::decode_frame(fb->frame);
    ASSERT_TRUE(frame);
    auto back = ctx->codecs.decode(frame->header.flags, frame->payload);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->messages.size(), 3u);
    const bool kafka = source == protocol_kind::kafka;
    EXPECT_EQ(back->messages[0].timestamp_ms, 1000) << to_string(source);
    EXPECT_EQ(back->messages[1].timestamp_ms, kafka ? 0 : 5000) << to_string(source);
    EXPECT_EQ(back->messages[2].timestamp_ms, 1002) << to_string(source);
    EXPECT_EQ(fb->max_timestamp, kafka ? 1002 : 5000) << to_string(source);
  }
}

// A Kafka batch whose every record is stamped 0, decoded (as a compressed batch is) or
// transcoded from a plain one (as produce.cpp does), is stored so, and the batch counts as
// old as the epoch for retention.ms, as in Kafka (only -1 counts from the append).
TEST(ProtocolBridge, AKafkaBatchStampedZeroIsStoredAsStamped) {
  protocol::kafka::record_batch rb;  // base and max timestamps 0
  for (int i = 0; i < 3; ++i) {
    protocol::kafka::record r;
    r.offset_delta = i;
    r.value = "v" + std::to_string(i);
    rb.records.push_back(std::move(r));
  }
  protocol::buffer records;
  ASSERT_FALSE(protocol::kafka::encode_record_batch(rb, records));
  for (const char* kind : {"memory", "redis"}) {
    auto ctx = context("binary", "none", kind);
    publish_batch decoded;
    decoded.tp = {"orders", 0};
    decoded.source = protocol_kind::kafka;
    ASSERT_TRUE(protocol::kafka::decode_record_batches_into(records, decoded.tp.topic, 0, decoded.batch));
    publish_batch kept;
    kept.tp = decoded.tp;
    kept.source = protocol_kind::kafka;
    auto t = protocol::kafka::transcode_to_binary(
        records, protocol::frame_header_size + 32 + kept.tp.topic.size(), kept.encoded);
    ASSERT_TRUE(t);
    kept.encoded_at = t->payload_at;
    kept.encoded_scan = t->scan;
    auto from_decoded = frame_batch(*ctx, decoded, 5000);
    auto from_kept = frame_batch(*ctx, kept, 5000);
    ASSERT_TRUE(from_decoded && from_kept) << kind;
    EXPECT_EQ(from_kept->frame.to_buffer(), from_decoded->frame.to_buffer()) << kind;
    for (const auto* fb : {&*from_decoded, &*from_kept}) {
      EXPECT_EQ(fb->max_timestamp, 0) << kind;
      auto frame = protocol::decode_frame(fb->frame);
      ASSERT_TRUE(frame);
      auto back = ctx->codecs.decode(frame->header.flags, frame->payload);
      ASSERT_TRUE(back);
      ASSERT_EQ(back->messages.size(), 3u);
      for (const auto& m : back->messages) EXPECT_EQ(m.timestamp_ms, 0) << kind;
    }
  }
}

TEST(ProtocolBridge, AnEmptyBatchIsRefused) {
  auto ctx = context("binary", "none");
  publish_batch pb;
  pb.tp = {"t", 0};
  EXPECT_EQ(frame_batch(*ctx, pb, 1).error(), errc::invalid_request);
}

// A native batch in the store's own encoding is kept as it came and framed without being
// decoded: the stored frame must be byte for byte the one the decoded batch gives, whether it
// is copied (the memory store keeps it) or written in place into the request's bytes (it
// passes through to a remote store).
TEST(ProtocolBridge, AKeptEncodedBatchIsStoredAsTheDecodedOneWouldBe) {
  for (const char* kind : {"memory", "redis"}) {
    for (bool stamped : {true, false}) {
      auto ctx = context("binary", "none", kind);
      publish_batch decoded;
      decoded.tp = {"orders", 2};
      for (int i = 0; i < 4; ++i) {
        protocol::message m;
        m.key = "k" + std::to_string(i);
        m.value = std::string(30, static_cast<char>('a' + i));
        m.timestamp_ms = stamped ? 1000 + i : 0;
        decoded.batch.messages.push_back(m);
      }
      // The request as a client frames it: its own headers, then the encoded batch.
      publish_batch kept = kept_encoded(*ctx, decoded);
      EXPECT_EQ(kept.record_count(), 4u);

      auto from_decoded = frame_batch(*ctx, decoded, 5000);
      const auto* request_bytes = kept.encoded.data();
      const auto request_size = kept.encoded.size();
      auto from_kept = frame_batch(*ctx, kept, 5000);
      ASSERT_TRUE(from_decoded && from_kept) << kind;
      // Passing through to a remote store, the frame is the request's own bytes (no copy).
      const bool in_place = from_kept->frame.data() >= request_bytes &&
                            from_kept->frame.data() < request_bytes + request_size;
      EXPECT_EQ(in_place, std::string(kind) == "redis") << kind;
      EXPECT_EQ(from_kept->frame.to_buffer(), from_decoded->frame.to_buffer()) << kind << stamped;
      EXPECT_EQ(from_kept->record_count, 4u);
      EXPECT_EQ(from_kept->max_timestamp, from_decoded->max_timestamp) << kind << stamped;
    }
  }
}

// Records without a timestamp (Kafka's -1) keep it, and their batch counts as appended now
// for retention: with a stored time of 0 the next retention pass would delete them.
TEST(ProtocolBridge, RecordsWithoutATimestampAreKeptFromTheirAppend) {
  auto ctx = context("binary", "none", "redis");
  publish_batch decoded;
  decoded.tp = {"orders", 0};
  for (int i = 0; i < 3; ++i) {
    protocol::message m;
    m.value = "v" + std::to_string(i);
    m.timestamp_ms = -1;
    decoded.batch.messages.push_back(m);
  }
  publish_batch kept = kept_encoded(*ctx, decoded);
  for (auto* pb : {&decoded, &kept}) {
    auto fb = frame_batch(*ctx, *pb, 5000);
    ASSERT_TRUE(fb);
    EXPECT_EQ(fb->max_timestamp, 5000);
    auto frame = protocol::decode_frame(fb->frame);
    ASSERT_TRUE(frame);
    auto back = ctx->codecs.decode(frame->header.flags, frame->payload);
    ASSERT_TRUE(back);
    for (const auto& m : back->messages) EXPECT_EQ(m.timestamp_ms, -1) << "served as it came";
  }
}

TEST(ProtocolBridge, AKeptEncodedBatchWithoutRoomForTheHeadersIsCopied) {
  auto ctx = context("binary", "none", "redis");
  publish_batch kept;
  kept.tp = {std::string(200, 't'), 0};  // a header longer than the request's own
  protocol::message_batch b;
  protocol::message m;
  m.value = "v";
  m.timestamp_ms = 9;
  b.messages.push_back(m);
  ASSERT_FALSE(ctx->codecs.find(protocol::codec_id::binary)->encode(b, kept.encoded));
  kept.encoded_scan = *protocol::binary_codec::scan(kept.encoded);
  publish_batch decoded;
  decoded.tp = kept.tp;
  decoded.batch = b;
  auto framed = frame_batch(*ctx, kept, 1);
  auto expected = frame_batch(*ctx, decoded, 1);
  ASSERT_TRUE(framed && expected);
  EXPECT_EQ(framed->frame.to_buffer(), expected->frame.to_buffer());
  auto frame = protocol::decode_frame(framed->frame);
  ASSERT_TRUE(frame);
  auto back = ctx->codecs.decode(frame->header.flags, frame->payload);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->messages.size(), 1u);
  EXPECT_EQ(back->messages[0].topic, kept.tp.topic);
}
