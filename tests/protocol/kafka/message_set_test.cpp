// Message sets of magic 0 and 1 (Produce v0-2, Fetch v0-3): what the encoder writes reads
// back, compressed wrappers are unpacked, and every kind of damage is refused whole.
#include "protocol/kafka/message_set.hpp"

#include <gtest/gtest.h>
#include <lz4frame.h>

#include "protocol/crc32.hpp"
#include "protocol/error.hpp"
#include "protocol/kafka/batch_compression.hpp"
#include "protocol/kafka/record_batch.hpp"
#include "protocol/wire.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::kafka;

namespace {

// The broker's clock as the produce handler reads it: what log append time stamps.
constexpr std::int64_t append_time = 1'800'000'000'000;

message_batch sample(int n) {
  message_batch b;
  for (int i = 0; i < n; ++i) {
    message m;
    m.key = i == 1 ? std::nullopt : std::optional<std::string>("k" + std::to_string(i));
    m.value = i == 2 ? std::nullopt : std::optional<std::string>("value-" + std::to_string(i));
    m.timestamp_ms = 1'700'000'000'000 + i;
    m.headers = {{"dropped", std::string("by down-conversion")}};
    b.messages.push_back(m);
  }
  return b;
}

// One message of `magic` with the given attributes and value, written by hand.
buffer one_message(std::int8_t magic, std::uint8_t attributes, std::int64_t timestamp,
                   const std::string& value) {
  buffer body;
  wire_writer w{body};
  w.u8(static_cast<std::uint8_t>(magic));
  w.u8(attributes);
  if (magic == 1) w.u64(static_cast<std::uint64_t>(timestamp));
  w.u32(0xFFFFFFFFu);  // null key
  w.u32(static_cast<std::uint32_t>(value.size()));
  w.raw(value);
  buffer out;
  wire_writer o{out};
  o.u64(0);
  o.u32(static_cast<std::uint32_t>(body.size() + 4));
  o.u32(crc32(body));
  o.raw(body.data(), body.size());
  return out;
}

}  // namespace

TEST(MessageSet, EncodedMessagesOfBothMagicsReadBackWithKeysValuesAndNulls) {
  for (std::int8_t magic : {0, 1}) {
    buffer bytes;
    encode_message_set(sample(4), 10, magic, bytes);
    message_batch got;
    auto n = decode_message_set_into(bytes, "t", 3, append_time, got);
    ASSERT_TRUE(n) << n.error().message();
    ASSERT_EQ(*n, 4u);
    EXPECT_EQ(got.messages[0].topic, "t");
    EXPECT_EQ(got.messages[0].partition, 3);
    EXPECT_EQ(got.messages[0].key, "k0");
    EXPECT_EQ(got.messages[1].key, std::nullopt);
    EXPECT_EQ(got.messages[2].value, std::nullopt);
    EXPECT_EQ(got.messages[3].value, "value-3");
    EXPECT_TRUE(got.messages[3].headers.empty()) << "neither magic has headers";
    // Magic 1 carries the producer's timestamp; magic 0 has none, so the broker's append
    // time stands for it (Kafka stores -1).
    EXPECT_EQ(got.messages[3].timestamp_ms, magic == 1 ? 1'700'000'000'003 : append_time);
  }
}

// Under CreateTime a Kafka broker stores a magic-1 producer's timestamp as it came, 0 and -1
// included, also when the message is marked with log append time (Kafka 3.6+ converts it to a
// create-time batch with the timestamp the message reads with); the inner messages of a
// wrapper so marked read with, and keep, the wrapper's.
TEST(MessageSet, AMagic1TimestampIsKeptWhateverItIsAndALogAppendTimeWrapperGivesItsOwn) {
  constexpr std::uint8_t log_append_time = 0x08;
  for (std::int64_t ts : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{5}}) {
    message_batch got;
    auto n = decode_message_set_into(one_message(1, 0, ts, "x"), "t", 0, append_time, got);
    ASSERT_TRUE(n) << n.error().message();
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(got.messages[0].timestamp_ms, ts);
    got.messages.clear();
    n = decode_message_set_into(one_message(1, log_append_time, ts, "x"), "t", 0, append_time, got);
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(got.messages[0].timestamp_ms, ts) << "marked with log append time";
  }
  // A compressed wrapper marked with log append time gives its inner messages its timestamp.
  buffer inner;
  encode_message_set(sample(2), 0, 1, inner);
  buffer packed;
  ASSERT_FALSE(compress(compression_type::gzip, inner, packed));
  const auto stamped_gzip =
      static_cast<std::uint8_t>(static_cast<std::uint8_t>(compression_type::gzip) | log_append_time);
  constexpr std::int64_t wrapper_time = 1'750'000'000'000;
  const auto wrapper = one_message(1, stamped_gzip, wrapper_time, std::string(as_chars(packed)));
  message_batch got;
  auto n = decode_message_set_into(wrapper, "t", 0, append_time, got);
  ASSERT_TRUE(n) << n.error().message();
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(got.messages[0].timestamp_ms, wrapper_time);
  EXPECT_EQ(got.messages[1].timestamp_ms, wrapper_time);
  // Magic 0 has no timestamp: the broker's append time stands for it, so that its batch's
  // max timestamp is a real one (ListOffsets by time finds it).
  got.messages.clear();
  n = decode_message_set_into(one_message(0, 0, 0, "x"), "t", 0, append_time, got);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(got.messages[0].timestamp_ms, append_time);
}

// Kafka's broker takes a compressed wrapper from a producer only alone (LogValidator:
// "Compressed outer record has more than one batch"); uncompressed messages may be many.
TEST(MessageSet, ACompressedWrapperBesideOtherMessagesIsFound) {
  buffer inner;
  encode_message_set(sample(3), 0, 1, inner);
  buffer packed;
  ASSERT_FALSE(compress(compression_type::gzip, inner, packed));
  const auto wrapper = one_message(1, static_cast<std::uint8_t>(compression_type::gzip), 0,
                                   std::string(as_chars(packed)));
  buffer plain;
  encode_message_set(sample(2), 0, 1, plain);
  auto joined = [](const buffer& a, const buffer& b) {
    buffer out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  };
  EXPECT_FALSE(compressed_beside_others(plain)) << "uncompressed messages, many";
  EXPECT_FALSE(compressed_beside_others(wrapper)) << "a wrapper alone";
  EXPECT_FALSE(compressed_beside_others(buffer{}));
  EXPECT_TRUE(compressed_beside_others(joined(wrapper, wrapper)));
  EXPECT_TRUE(compressed_beside_others(joined(plain, wrapper)));
  EXPECT_TRUE(compressed_beside_others(joined(wrapper, one_message(0, 0, 0, "x"))));
  // Each of them reads as a set: the refusal is the produce path's, as Kafka's LogValidator's.
  message_batch got;
  EXPECT_TRUE(decode_message_set_into(joined(plain, wrapper), "t", 0, append_time, got));
}

// Kafka's broker takes a producer's set only when all its messages have the first one's magic
// (LogValidator.validateBatch): a set mixing 0 and 1, or a RecordBatch (2) after them, is
// found from the headers; it reads, the refusal being the produce path's.
TEST(MessageSet, MixedMagicsAreFound) {
  buffer zero, one, both;
  encode_message_set(sample(2), 0, 0, zero);
  encode_message_set(sample(2), 0, 1, one);
  EXPECT_FALSE(mixed_magics(zero));
  EXPECT_FALSE(mixed_magics(one));
  EXPECT_FALSE(mixed_magics(buffer{}));
  both = zero;
  both.insert(both.end(), one.begin(), one.end());
  auto mix = mixed_magics(both);
  ASSERT_TRUE(mix);
  EXPECT_EQ(mix->first, 0);
  EXPECT_EQ(mix->other, 1);
  message_batch got;
  EXPECT_TRUE(decode_message_set_into(both, "t", 0, append_time, got));
  // A message whose magic byte says 2, after magic-1 ones: a RecordBatch's, framed alike.
  auto with_batch = one;
  auto batch = one_message(1, 0, 0, "x");
  batch[16] = 2;
  with_batch.insert(with_batch.end(), batch.begin(), batch.end());
  mix = mixed_magics(with_batch);
  ASSERT_TRUE(mix);
  EXPECT_EQ(mix->first, 1);
  EXPECT_EQ(mix->other, 2);
  // One not whole is no message: Kafka's reading stops there.
  auto cut = one;
  const auto other = one_message(0, 0, 0, "x");
  cut.insert(cut.end(), other.begin(), other.end() - 1);
  EXPECT_FALSE(mixed_magics(cut));
}

// Kafka's reading of a set finds a message of a magic no format has, or one shorter than any
// message, corrupt (CorruptRecordException: CORRUPT_MESSAGE): damage (truncated), alone or
// after others, not an unsupported version (which the produce path answers INVALID_RECORD);
// mixed_magics reports no mix with it. Inside a wrapper any magic but the wrapper's is
// refused as LogValidator refuses it (malformed_payload: INVALID_RECORD).
TEST(MessageSet, AMagicNoFormatHasOrASizeUnderAnyMessagesIsDamage) {
  buffer ones;
  encode_message_set(sample(2), 0, 1, ones);
  for (const int magic : {3, 7, 0xFF}) {
    auto odd = one_message(1, 0, 0, "x");
    odd[16] = static_cast<std::uint8_t>(magic);
    auto after = ones;
    after.insert(after.end(), odd.begin(), odd.end());
    for (const auto& set : {odd, after}) {
      message_batch out;
      auto r = decode_message_set_into(set, "t", 0, append_time, out);
      ASSERT_FALSE(r) << magic;
      EXPECT_EQ(r.error(), make_error_code(errc::truncated)) << magic;
      EXPECT_TRUE(out.messages.empty());
    }
    EXPECT_FALSE(mixed_magics(after)) << magic;
  }
  auto short_one = one_message(1, 0, 0, "x");
  store_be32(short_one.data() + 8, 13);
  message_batch out;
  auto r = decode_message_set_into(short_one, "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));

  auto inner = one_message(1, 0, 0, "x");
  inner[16] = 7;
  buffer packed;
  ASSERT_FALSE(compress(compression_type::gzip, inner, packed));
  const auto gzip = static_cast<std::uint8_t>(compression_type::gzip);
  r = decode_message_set_into(one_message(1, gzip, 0, std::string(as_chars(packed))), "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::malformed_payload));
}

// A RecordBatch after messages (framed alike) makes a set Kafka refuses for mixing magics,
// but only once every message and batch in it has passed its checksum, as Kafka checks them
// all first (UnifiedLog.analyzeAndValidateRecords, then LogValidator): a damaged batch, or a
// damaged message after an intact one, is crc_mismatch (CORRUPT_MESSAGE); all intact,
// unsupported_version (the produce path's INVALID_RECORD, for the mix).
TEST(MessageSet, ARecordBatchAmongMessagesIsCheckedForDamageBeforeTheMix) {
  buffer ones, batch;
  encode_message_set(sample(2), 0, 1, ones);
  ASSERT_FALSE(encode_record_batch(from_messages(sample(2), 0), batch));
  auto damaged_batch = batch;
  damaged_batch.back() ^= 0x01;  // its CRC-32C no longer matches
  auto damaged_ones = ones;
  damaged_ones.back() ^= 0x01;  // the last message's CRC-32 no longer matches
  auto join = [](std::initializer_list<buffer> parts) {
    buffer out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  for (const auto& set : {join({ones, damaged_batch}), join({ones, batch, damaged_ones}), join({batch, damaged_ones})}) {
    message_batch out;
    auto r = decode_message_set_into(set, "t", 0, append_time, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(errc::crc_mismatch));
    EXPECT_TRUE(out.messages.empty());
  }
  // A batch header cut short (under a batch's header) is damage too.
  buffer stub(12 + 14, 0);
  store_be32(stub.data() + 8, 14);
  stub[16] = 2;
  message_batch out;
  auto r = decode_message_set_into(join({ones, stub}), "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::crc_mismatch));
  for (const auto& set : {join({ones, batch}), join({ones, batch, ones}), join({batch, ones})}) {
    r = decode_message_set_into(set, "t", 0, append_time, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(errc::unsupported_version));
    EXPECT_TRUE(out.messages.empty());
  }
}

// Kafka's LogValidator refuses an inner message whose magic is not its wrapper's
// (INVALID_RECORD): a magic-1 wrapper holding magic-0 messages, or the other way round.
TEST(MessageSet, AWrapperHoldingMessagesOfTheOtherMagicIsRefused) {
  for (std::int8_t wrapper_magic : {0, 1}) {
    const std::int8_t inner_magic = wrapper_magic == 0 ? 1 : 0;
    buffer inner, packed;
    encode_message_set(sample(2), 0, inner_magic, inner);
    ASSERT_FALSE(compress(compression_type::gzip, inner, packed));
    const auto gzip = static_cast<std::uint8_t>(compression_type::gzip);
    message_batch out;
    auto r = decode_message_set_into(one_message(wrapper_magic, gzip, 0, std::string(as_chars(packed))), "t",
                                     0, append_time, out);
    ASSERT_FALSE(r) << static_cast<int>(wrapper_magic);
    EXPECT_EQ(r.error(), make_error_code(errc::malformed_payload));
    EXPECT_TRUE(out.messages.empty());
    // Its own magic inside reads.
    inner.clear();
    packed.clear();
    encode_message_set(sample(2), 0, wrapper_magic, inner);
    ASSERT_FALSE(compress(compression_type::gzip, inner, packed));
    r = decode_message_set_into(one_message(wrapper_magic, gzip, 0, std::string(as_chars(packed))), "t", 0,
                                append_time, out);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 2u);
  }
}

TEST(MessageSet, OffsetsAreWrittenFromTheBaseOffset) {
  buffer bytes;
  encode_message_set(sample(3), 41, 1, bytes);
  wire_reader r{bytes};
  for (std::uint64_t want = 41; want < 44; ++want) {
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
    byte_view skip;
    ASSERT_TRUE(r.u64(offset) && r.u32(size) && r.raw(size, skip));
    EXPECT_EQ(offset, want);
  }
  EXPECT_TRUE(r.at_end());
}

TEST(MessageSet, ACompressedWrapperIsUnpackedIntoItsInnerMessages) {
  for (auto codec : {compression_type::gzip, compression_type::snappy, compression_type::lz4}) {
    buffer inner;
    encode_message_set(sample(5), 0, 1, inner);
    buffer packed;
    ASSERT_FALSE(compress(codec, inner, packed));
    const auto wrapper = one_message(1, static_cast<std::uint8_t>(codec), 1'700'000'000'999,
                                     std::string(as_chars(packed)));
    message_batch got;
    auto n = decode_message_set_into(wrapper, "t", 0, append_time, got);
    ASSERT_TRUE(n) << static_cast<int>(codec) << ": " << n.error().message();
    ASSERT_EQ(*n, 5u);
    EXPECT_EQ(got.messages[4].value, "value-4");
    EXPECT_EQ(got.messages[4].timestamp_ms, 1'700'000'000'004);
  }
}

TEST(MessageSet, DamageIsRefusedAndLeavesTheOutputAsItWas) {
  buffer good;
  encode_message_set(sample(2), 0, 0, good);
  message_batch out;
  out.messages.resize(1);  // something already there stays untouched

  auto bad_crc = good;
  bad_crc.back() ^= 0x01;
  auto r = decode_message_set_into(bad_crc, "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::crc_mismatch));

  buffer truncated(good.begin(), good.end() - 3);
  r = decode_message_set_into(truncated, "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::truncated));

  auto magic2 = one_message(1, 0, 0, "x");
  magic2[16] = 2;  // offset 8 + size 4 + crc 4: the magic byte
  r = decode_message_set_into(magic2, "t", 0, append_time, out);
  ASSERT_FALSE(r);

  // A compressed wrapper inside a compressed wrapper: Kafka refuses it, so do we.
  buffer inner_packed;
  const auto inner = one_message(1, 0, 0, "x");
  ASSERT_FALSE(compress(compression_type::gzip, inner, inner_packed));
  const auto level1 = one_message(1, 1, 0, std::string(as_chars(inner_packed)));
  buffer outer_packed;
  ASSERT_FALSE(compress(compression_type::gzip, level1, outer_packed));
  r = decode_message_set_into(one_message(1, 1, 0, std::string(as_chars(outer_packed))), "t", 0, append_time, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::malformed_payload));

  // A bomb: decompression stops at the bound.
  message_batch big;
  big.messages.emplace_back().value = std::string(1u << 20, '\0');
  buffer set, bomb;
  encode_message_set(big, 0, 1, set);
  ASSERT_FALSE(compress(compression_type::gzip, set, bomb));
  r = decode_message_set_into(one_message(1, 1, 0, std::string(as_chars(bomb))), "t", 0, append_time, out, 4096);
  ASSERT_FALSE(r);
  EXPECT_EQ(out.messages.size(), 1u);
}

// Clients of magic 0 (before Kafka 0.10) computed the lz4 frame's header checksum over the
// magic number as well as the frame descriptor (KAFKA-3160); Kafka skips that check at
// magic 0 and checks it from magic 1 on, and so does the broker.
TEST(MessageSet, AMagic0Lz4WrapperWithTheLegacyHeaderChecksumDecodes) {
  buffer inner;
  encode_message_set(sample(3), 0, 0, inner);
  // As those clients framed it: 64 KiB independent blocks, no checksums, no content size.
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  std::string frame(LZ4F_compressFrameBound(inner.size(), &prefs), '\0');
  const auto n = LZ4F_compressFrame(frame.data(), frame.size(), inner.data(), inner.size(), &prefs);
  ASSERT_FALSE(LZ4F_isError(n));
  frame.resize(n);
  // Magic 04 22 4D 18, FLG 0x60, BD 0x40, then HC: (xxh32(FLG BD) >> 8) & 0xFF = 0x82.
  ASSERT_EQ(frame.substr(4, 3), std::string("\x60\x40\x82"));
  const auto lz4 = static_cast<std::uint8_t>(compression_type::lz4);

  // The right checksum reads at magic 0 as well.
  message_batch got;
  auto r = decode_message_set_into(one_message(0, lz4, 0, frame), "t", 0, append_time, got);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 3u);

  // The legacy one: (xxh32(04 22 4D 18 60 40) >> 8) & 0xFF, computed with the reference
  // xxHash, is 0x1A.
  auto legacy = frame;
  legacy[6] = '\x1A';
  got.messages.clear();
  r = decode_message_set_into(one_message(0, lz4, 0, legacy), "t", 0, append_time, got);
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(*r, 3u);
  EXPECT_EQ(got.messages[2].value, std::nullopt);
  EXPECT_EQ(got.messages[0].value, "value-0");

  // From magic 1 on the checksum is checked: a wrong one is damage.
  auto corrupt = frame;
  corrupt[6] = '\x1A';
  got.messages.clear();
  r = decode_message_set_into(one_message(1, lz4, 0, corrupt), "t", 0, append_time, got);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::decompression_failed));
  EXPECT_TRUE(got.messages.empty());
}
