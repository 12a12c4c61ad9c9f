#include "protocol/codec_manager.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/crc32.hpp"
#include "sample_batches.hpp"

using namespace portask;
using namespace portask::protocol;

namespace {
const codec_id all_codecs[] = {codec_id::binary, codec_id::json, codec_id::cbor, codec_id::msgpack};
const compression_id all_compressions[] = {compression_id::none, compression_id::gzip,
                                           compression_id::snappy, compression_id::lz4,
                                           compression_id::zstd};
}  // namespace

class CodecPair : public ::testing::TestWithParam<std::tuple<codec_id, compression_id>> {
 protected:
  encoding enc{std::get<0>(GetParam()), std::get<1>(GetParam())};
  codec_manager codecs;
};

TEST_P(CodecPair, RoundTripsEveryCaseThroughAFrame) {
  for (const auto& [name, batch] : test::codec_cases()) {
    buffer frame;
    ASSERT_FALSE(codecs.append_batch_frame(batch, enc, message_type::publish, frame)) << name;
    auto view = decode_frame(frame);
    ASSERT_TRUE(view) << name << ": " << view.error().message();
    // The frame describes itself: the flags alone say how to decode it.
    auto e = encoding_of(view->header.flags);
    ASSERT_TRUE(e);
    EXPECT_EQ(*e, enc);
    EXPECT_TRUE(view->header.flags & frame_flags::batch);
    EXPECT_EQ((view->header.flags & frame_flags::compressed) != 0,
              enc.compression != compression_id::none);
    auto back = codecs.decode(view->header.flags, view->payload);
    ASSERT_TRUE(back) << name << ": " << back.error().message();
    EXPECT_EQ(*back, batch) << name;
  }
}

TEST_P(CodecPair, MessagesWithoutATopicDecodeWithTheBatchTopic) {
  message_batch batch;
  batch.messages.resize(3);
  batch.messages[0].topic = "a-topic-name-longer-than-sso";
  batch.messages[2].topic = "another";  // named: kept
  for (auto& m : batch.messages) m.value = "v";
  buffer frame;
  ASSERT_FALSE(codecs.append_batch_frame(batch, enc, message_type::publish, frame));
  auto view = decode_frame(frame);
  ASSERT_TRUE(view);
  auto back = codecs.decode(view->header.flags, view->payload);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->messages.size(), 3u);
  EXPECT_EQ(back->messages[0].topic, "a-topic-name-longer-than-sso");
  EXPECT_EQ(back->messages[1].topic, "a-topic-name-longer-than-sso") << "empty: the batch's topic";
  EXPECT_EQ(back->messages[2].topic, "another");
}

TEST_P(CodecPair, GarbagePayloadIsAnErrorNotACrash) {
  const std::uint16_t flags = flags_for(enc) | frame_flags::batch;
  for (std::string_view junk : {std::string_view{}, std::string_view{"\x01"},
                                std::string_view{"{\"format\":1,\"messages\":[{}]}"},
                                std::string_view{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"}}) {
    auto r = codecs.decode(flags, as_bytes(junk));
    EXPECT_FALSE(r) << to_string(enc.codec) << "/" << to_string(enc.compression);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllPairs, CodecPair,
    ::testing::Combine(::testing::ValuesIn(all_codecs), ::testing::ValuesIn(all_compressions)),
    [](const auto& param_info) {
      return std::string(to_string(std::get<0>(param_info.param))) + "_" +
             std::string(to_string(std::get<1>(param_info.param)));
    });

// CBOR and MessagePack readers recurse per nesting level: a payload of a million nested
// one-element arrays (or maps) must be refused, not run the thread's stack out. JSON too.
TEST(CodecManager, DeeplyNestedDocumentsAreMalformedNotAStackOverflow) {
  codec_manager codecs;
  constexpr std::size_t depth = 1'000'000;
  struct deep {
    codec_id codec;
    std::string payload;
  };
  std::vector<deep> cases;
  cases.push_back({codec_id::cbor, std::string(depth, '\x81') + '\xF6'});      // [[[...null]]]
  cases.push_back({codec_id::cbor, std::string(depth, '\xA1')});                // {{...: truncated
  cases.push_back({codec_id::msgpack, std::string(depth, '\x91') + '\xC0'});   // [[[...nil]]]
  cases.push_back({codec_id::json, std::string(depth, '[') + std::string(depth, ']')});
  for (const auto& c : cases) {
    auto r = codecs.decode(flags_for({c.codec, compression_id::none}) | frame_flags::batch, as_bytes(c.payload));
    ASSERT_FALSE(r) << to_string(c.codec);
    EXPECT_EQ(r.error(), make_error_code(errc::malformed_payload)) << to_string(c.codec);
  }
  // A document as deep as a batch's still decodes (every codec's round trip covers it too).
  message_batch one;
  one.messages.push_back({});
  one.messages.back().topic = "t";
  one.messages.back().headers.push_back({"h", std::string("v")});
  for (auto codec : {codec_id::json, codec_id::cbor, codec_id::msgpack}) {
    buffer out;
    auto flags = codecs.encode(one, {codec, compression_id::none}, out);
    ASSERT_TRUE(flags) << to_string(codec);
    auto back = codecs.decode(*flags, out);
    ASSERT_TRUE(back) << to_string(codec);
    EXPECT_EQ(back->messages.at(0).headers.size(), 1u);
  }
}

// Empty messages cost a few bytes on the wire and far more decoded: a received batch is
// bounded by what it takes decoded (four times the payload bound), not by its payload alone.
TEST(CodecManager, ABatchOfManyTinyMessagesIsBoundedDecoded) {
  codec_manager codecs{64 * 1024};  // decoded: 256 KiB
  message_batch many, few;
  many.messages.resize(3000);  // binary: 6 bytes each on the wire; decoded, over 256 KiB
  few.messages.resize(100);
  for (auto* b : {&many, &few})
    for (auto& m : b->messages) m.topic = "t";
  for (auto codec : all_codecs)
    for (auto compression : {compression_id::none, compression_id::zstd}) {
      const encoding e{codec, compression};
      buffer out;
      auto flags = codecs.encode(many, e, out);
      if (!flags) continue;  // a text encoding of 3000 may not fit 64 KiB: nothing to decode
      auto back = codecs.decode_received(*flags, out);
      ASSERT_FALSE(back) << to_string(codec) << "/" << to_string(compression);
      EXPECT_EQ(back.error(), make_error_code(errc::decompressed_too_large)) << to_string(codec);
      // A stored batch (it got in through decode_received, or was kept as it came and
      // checked by its scan) decodes without that bound, as long as it inflates within one.
      if (compression == compression_id::none && out.size() <= 64 * 1024) {
        auto stored = codecs.decode(*flags, out);
        ASSERT_TRUE(stored) << to_string(codec);
        EXPECT_EQ(stored->messages.size(), 3000u);
      }
      buffer small;
      auto small_flags = codecs.encode(few, e, small);
      ASSERT_TRUE(small_flags) << to_string(codec);
      auto fine = codecs.decode_received(*small_flags, small);
      ASSERT_TRUE(fine) << to_string(codec) << "/" << to_string(compression);
      EXPECT_EQ(fine->messages.size(), 100u);
    }
}

TEST(CodecManager, FlagsRecordCodecAndCompressionInTheHighByte) {
  EXPECT_EQ(flags_for({codec_id::binary, compression_id::none}), 0x0000);
  EXPECT_EQ(flags_for({codec_id::json, compression_id::none}), 0x0100);
  EXPECT_EQ(flags_for({codec_id::msgpack, compression_id::zstd}), 0x4301);
}

TEST(CodecManager, InconsistentOrUnknownFlagsAreRejected) {
  EXPECT_EQ(encoding_of(0x0F00).error(), errc::unknown_codec);
  EXPECT_EQ(encoding_of(0x9001).error(), errc::unknown_compression);
  EXPECT_EQ(encoding_of(0x1000).error(), errc::malformed_payload);  // gzip id, bit clear
  EXPECT_EQ(encoding_of(0x0001).error(), errc::malformed_payload);  // bit set, no id
  EXPECT_EQ(encoding_of(frame_flags::encrypted).error(), errc::encrypted_unsupported);
  EXPECT_TRUE(encoding_of(frame_flags::batch | frame_flags::priority));
}

TEST(CodecManager, NamesParseBothWays) {
  for (auto c : all_codecs) EXPECT_EQ(parse_codec(to_string(c)), c);
  for (auto z : all_compressions) EXPECT_EQ(parse_compression(to_string(z)), z);
  EXPECT_FALSE(parse_codec("xml"));
  EXPECT_FALSE(parse_compression("brotli"));
}

TEST(CodecManager, DecompressionIsBoundedByTheConfiguredMaximum) {
  codec_manager small{64 * 1024};
  message_batch b;
  message m;
  m.topic = "t";
  m.value = std::string(1 << 20, 'z');
  b.messages.push_back(m);
  codec_manager big;
  buffer payload;
  auto flags = big.encode(b, {codec_id::binary, compression_id::zstd}, payload);
  ASSERT_TRUE(flags);
  EXPECT_LT(payload.size(), 64u * 1024);
  EXPECT_EQ(small.decode(*flags, payload).error(), errc::decompressed_too_large);
  EXPECT_TRUE(big.decode(*flags, payload));
}

// Every codec, uncompressed: encode()'s own check is the only one append_batch_frame relies on.
TEST(CodecManager, OversizeEncodedBatchIsRefused) {
  codec_manager small{1024};
  for (auto codec : {codec_id::binary, codec_id::json, codec_id::cbor, codec_id::msgpack}) {
    buffer out{1, 2, 3};
    EXPECT_EQ(small.append_batch_frame(test::sample_batch(100), {codec, compression_id::none},
                                       message_type::publish, out),
              errc::frame_too_large)
        << static_cast<int>(codec);
    EXPECT_EQ(out, (buffer{1, 2, 3})) << "a failed append leaves the buffer as it was";
  }
}

TEST(CodecManager, JsonIsReadableText) {
  codec_manager codecs;
  buffer out;
  ASSERT_TRUE(codecs.encode(test::sample_batch(1), {codec_id::json, compression_id::none}, out));
  const auto text = std::string(as_chars(out));
  EXPECT_NE(text.find("\"topic\":\"orders\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"partition\":3"), std::string::npos) << text;
}

// A client's batch stored as it came: the frame written in place, in the bytes before its
// messages (a native request's own headers), equals the frame built by copying.
TEST(CodecManager, ARebasedFrameBuiltInPlaceEqualsTheCopiedOne) {
  codec_manager codecs;
  message_batch b = test::sample_batch(5);
  for (auto& m : b.messages) {
    m.topic.clear();
    m.partition = 0;
    m.offset = no_offset;
  }
  buffer payload;
  ASSERT_FALSE(codecs.find(codec_id::binary)->encode(b, payload));
  auto s = binary_codec::scan(payload);
  ASSERT_TRUE(s && s->rebasable);

  buffer copied;
  ASSERT_FALSE(codecs.append_rebased_frame(payload, *s, "orders", 3, no_offset, 77,
                                           message_type::publish, copied));
  auto frame = decode_frame(copied);
  ASSERT_TRUE(frame) << "header and CRC check out";
  auto back = codecs.decode(frame->header.flags, frame->payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->messages.size(), 5u);
  EXPECT_EQ(back->messages[0].topic, "orders");
  EXPECT_EQ(back->messages[4].partition, 3);

  buffer request(40, 0xEE);  // a request's own headers, then the payload
  request.insert(request.end(), payload.begin(), payload.end());
  auto at = codecs.rebase_frame_in_place(request, 40, *s, "orders", 3, no_offset, 77,
                                         message_type::publish);
  ASSERT_TRUE(at);
  ASSERT_TRUE(*at);
  EXPECT_EQ(buffer(request.begin() + static_cast<std::ptrdiff_t>(**at), request.end()), copied);

  buffer cramped(4, 0xEE);  // too few bytes before the messages: the caller copies
  cramped.insert(cramped.end(), payload.begin(), payload.end());
  auto none = codecs.rebase_frame_in_place(cramped, 4, *s, "orders", 3, no_offset, 77,
                                           message_type::publish);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(buffer(cramped.begin() + 4, cramped.end()), payload) << "left as it was";
}

TEST(CodecManager, ARebasedFrameOverTheLimitIsRefused) {
  codec_manager codecs{200};
  message_batch b;
  message m;
  m.value = std::string(150, 'x');
  b.messages.push_back(m);
  buffer payload;
  ASSERT_FALSE(codecs.find(codec_id::binary)->encode(b, payload));
  auto s = binary_codec::scan(payload);
  ASSERT_TRUE(s && s->rebasable);
  const std::string long_topic(100, 't');  // the new header outgrows the limit
  buffer out;
  EXPECT_EQ(codecs.append_rebased_frame(payload, *s, long_topic, 0, no_offset, 1,
                                        message_type::publish, out),
            errc::frame_too_large);
  EXPECT_TRUE(out.empty());
  buffer request(200, 0);
  request.insert(request.end(), payload.begin(), payload.end());
  EXPECT_EQ(codecs.rebase_frame_in_place(request, 200, *s, long_topic, 0, no_offset, 1,
                                         message_type::publish).error(),
            errc::frame_too_large);
}

// A stored frame is read back inflating at most the payload bound: one that compresses under
// it but is larger plain would be stored and never read again. It is refused when encoded,
// before anything is stored; one exactly at the bound plain still round-trips.
TEST(CodecManager, ACompressedPayloadOverTheBoundUncompressedIsRefusedWhenEncoded) {
  constexpr std::size_t bound = 64 * 1024;
  codec_manager codecs{bound};
  const encoding zstd{codec_id::binary, compression_id::zstd};
  // One message whose binary payload is exactly `size` bytes (its value's length prefix is
  // the same size for every length tried here).
  auto batch_of_plain_size = [&](std::size_t size) {
    message_batch b;
    b.messages.emplace_back().topic = "t";
    b.messages.back().value = std::string(size - 200, 'z');
    buffer plain;
    EXPECT_FALSE(codecs.find(codec_id::binary)->encode(b, plain));
    b.messages.back().value->resize(size - 200 + size - plain.size());
    plain.clear();
    EXPECT_FALSE(codecs.find(codec_id::binary)->encode(b, plain));
    EXPECT_EQ(plain.size(), size);
    return b;
  };

  const auto at_bound = batch_of_plain_size(bound);
  buffer frame;
  ASSERT_FALSE(codecs.append_batch_frame(at_bound, zstd, message_type::publish, frame));
  auto view = decode_frame(frame);
  ASSERT_TRUE(view);
  EXPECT_LT(view->payload.size(), bound / 10) << "it compresses far under the bound";
  auto back = codecs.decode(view->header.flags, view->payload);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, at_bound);

  const auto over = batch_of_plain_size(bound + 1);
  buffer out{1, 2, 3};
  EXPECT_EQ(codecs.append_batch_frame(over, zstd, message_type::publish, out), errc::frame_too_large);
  EXPECT_EQ(out, (buffer{1, 2, 3})) << "a failed append leaves the buffer as it was";
  auto flags = codecs.encode(over, zstd, out);
  ASSERT_FALSE(flags);
  EXPECT_EQ(flags.error(), errc::frame_too_large);
  EXPECT_EQ(out, (buffer{1, 2, 3}));
  // Uncompressed, the same bound holds for encode() itself.
  flags = codecs.encode(over, {}, out);
  ASSERT_FALSE(flags);
  EXPECT_EQ(flags.error(), errc::frame_too_large);
  EXPECT_EQ(out, (buffer{1, 2, 3}));
}

// encode() bounds a payload before compression; bytes that do not compress grow as they are
// compressed, so a batch exactly at the bound plain is past it compressed, and a frame of it
// is refused as well (while uncompressed it fits).
TEST(CodecManager, ACompressedPayloadThatGrowsPastTheBoundIsRefused) {
  constexpr std::size_t bound = 64 * 1024;
  codec_manager codecs{bound};
  auto batch_of = [](std::size_t value_size) {
    message_batch b;
    b.messages.emplace_back().topic = "t";
    std::string value(value_size, '\0');
    std::uint32_t x = 12345;
    for (auto& c : value) {
      x = x * 1103515245 + 12345;
      c = static_cast<char>(x >> 16);
    }
    b.messages.back().value = std::move(value);
    return b;
  };
  auto plain_size = [&](const message_batch& b) {
    buffer plain;
    EXPECT_FALSE(codecs.find(codec_id::binary)->encode(b, plain));
    return plain.size();
  };
  // The value's length prefix is the same size for both lengths.
  auto at_bound = batch_of(bound - 200);
  at_bound = batch_of(bound - 200 + bound - plain_size(at_bound));
  ASSERT_EQ(plain_size(at_bound), bound);

  buffer frame;
  ASSERT_FALSE(codecs.append_batch_frame(at_bound, {}, message_type::publish, frame));
  EXPECT_EQ(frame.size(), frame_header_size + bound);
  for (auto z : {compression_id::gzip, compression_id::snappy, compression_id::lz4,
                 compression_id::zstd}) {
    const encoding e{codec_id::binary, z};
    buffer payload;
    ASSERT_TRUE(codecs.encode(at_bound, e, payload)) << to_string(z);
    ASSERT_GT(payload.size(), bound) << to_string(z) << ": the bytes do not compress";
    buffer out{1, 2, 3};
    EXPECT_EQ(codecs.append_batch_frame(at_bound, e, message_type::publish, out),
              errc::frame_too_large)
        << to_string(z);
    EXPECT_EQ(out, (buffer{1, 2, 3})) << to_string(z);
  }
}
