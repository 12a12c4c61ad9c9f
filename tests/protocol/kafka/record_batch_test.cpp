#include "protocol/kafka/record_batch.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "protocol/compression/compressors.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/kafka/message_set.hpp"

using namespace portask;
using namespace portask::protocol;
using namespace portask::protocol::kafka;

namespace {

record_batch sample(compression_type c, int n = 5) {
  record_batch b;
  b.base_offset = 100;
  b.partition_leader_epoch = 3;
  b.attributes = static_cast<std::int16_t>(c);
  b.base_timestamp = 1'700'000'000'000;
  b.max_timestamp = b.base_timestamp + n - 1;
  b.producer_id = 42;
  b.producer_epoch = 1;
  b.base_sequence = 7;
  for (int i = 0; i < n; ++i) {
    record r;
    r.offset_delta = i;
    r.timestamp_delta = i;
    r.key = "key-" + std::to_string(i);
    r.value = i == 2 ? std::nullopt : std::optional<std::string>(std::string(200, 'a' + static_cast<char>(i)));
    r.headers = {{"trace", std::string("t") + std::to_string(i)}, {"empty", std::nullopt}};
    b.records.push_back(r);
  }
  b.last_offset_delta = n - 1;
  return b;
}

}  // namespace

class RecordBatchCodec : public ::testing::TestWithParam<compression_type> {};

TEST_P(RecordBatchCodec, RoundTripsEveryFieldUnderEveryCompression) {
  const auto b = sample(GetParam());
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(b, bytes));
  std::size_t used = 0;
  auto back = decode_record_batch(bytes, used);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(used, bytes.size());
  EXPECT_EQ(*back, b);
  EXPECT_EQ(back->compression(), GetParam());
}

TEST_P(RecordBatchCodec, CorruptCompressedBodyIsAnErrorNotACrash) {
  if (GetParam() == compression_type::none) GTEST_SKIP();
  auto b = sample(GetParam());
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(b, bytes));
  // Damage the compressed records, then fix the CRC so only the body is wrong.
  for (std::size_t i = 61 + 4; i < bytes.size(); i += 9) bytes[i] ^= 0x5A;
  store_be32(bytes.data() + 17, crc32c(byte_view{bytes}.subspan(21)));
  std::size_t used = 0;
  auto r = decode_record_batch(bytes, used);
  EXPECT_FALSE(r);
}

TEST_P(RecordBatchCodec, DecodingIntoMessagesMatchesDecodingThenConverting) {
  const auto a = sample(GetParam(), 4), b = sample(GetParam(), 3);
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(a, bytes));
  auto second = b;
  second.base_offset = 104;
  ASSERT_FALSE(encode_record_batch(second, bytes));
  message_batch out;
  byte_view in{bytes};
  std::size_t used = 0;
  auto ha = decode_record_batch_into(in, used, "orders", 2, out);
  ASSERT_TRUE(ha) << ha.error().message();
  EXPECT_TRUE(ha->records.empty());
  EXPECT_EQ(ha->producer_id, 42);
  in = in.subspan(used);
  auto hb = decode_record_batch_into(in, used, "orders", 2, out);
  ASSERT_TRUE(hb);
  EXPECT_EQ(used, in.size());
  auto expected = to_messages(a, "orders", 2);
  for (auto& m : to_messages(second, "orders", 2).messages) expected.messages.push_back(m);
  expected.messages[4].topic.clear();  // only the batch's first message names the topic
  EXPECT_EQ(out, expected);
}

TEST_P(RecordBatchCodec, AFailedDecodeIntoMessagesLeavesTheBatchAsItWas) {
  buffer good, bad;
  ASSERT_FALSE(encode_record_batch(sample(GetParam(), 2), good));
  ASSERT_FALSE(encode_record_batch(sample(GetParam(), 3), bad));
  bad[bad.size() - 1] ^= 0x01;  // CRC mismatch
  message_batch out;
  std::size_t used = 0;
  ASSERT_TRUE(decode_record_batch_into(good, used, "t", 0, out));
  const auto before = out;
  EXPECT_EQ(decode_record_batch_into(bad, used, "t", 0, out).error(), errc::crc_mismatch);
  EXPECT_EQ(out, before);
  // A record count (and offset range) that lies about the records: refused after parsing
  // started.
  auto lying = sample(compression_type::none, 2);
  buffer l;
  ASSERT_FALSE(encode_record_batch(lying, l));
  store_be32(l.data() + 23, 2);
  store_be32(l.data() + 57, 3);
  store_be32(l.data() + 17, crc32c(byte_view{l}.subspan(21)));
  EXPECT_FALSE(decode_record_batch_into(l, used, "t", 0, out));
  EXPECT_EQ(out, before);
}

INSTANTIATE_TEST_SUITE_P(All, RecordBatchCodec,
                         ::testing::Values(compression_type::none, compression_type::gzip,
                                           compression_type::snappy, compression_type::lz4,
                                           compression_type::zstd));

TEST(RecordBatch, HeaderLayoutAndCrcCoverage) {
  auto b = sample(compression_type::none, 1);
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(b, bytes));
  EXPECT_EQ(load_be64(bytes.data()), 100u);                         // base offset
  EXPECT_EQ(load_be32(bytes.data() + 8), bytes.size() - 12);        // batch length
  EXPECT_EQ(bytes[16], 2);                                          // magic
  EXPECT_EQ(load_be32(bytes.data() + 17), crc32c(byte_view{bytes}.subspan(21)));
  EXPECT_EQ(load_be32(bytes.data() + 57), 1u);                      // record count
  // The base offset and leader epoch are outside the CRC: a broker may rewrite them.
  store_be64(bytes.data(), 5000);
  store_be32(bytes.data() + 12, 9);
  std::size_t used = 0;
  auto back = decode_record_batch(bytes, used);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->base_offset, 5000);
}

TEST(RecordBatch, BadCrcIsCrcMismatch) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none), bytes));
  bytes[70] ^= 1;
  std::size_t used = 0;
  EXPECT_EQ(decode_record_batch(bytes, used).error(), errc::crc_mismatch);
}

TEST(RecordBatch, OlderMagicIsUnsupported) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none), bytes));
  bytes[16] = 1;
  std::size_t used = 0;
  EXPECT_EQ(decode_record_batch(bytes, used).error(), errc::unsupported_version);
}

// Kafka reads a message's magic at byte 16 whatever its format (ByteBufferLogInputStream), and
// Produce v3+ refuses magic 0/1 as not allowed (INVALID_RECORD), not as damage: a message of
// an older magic shorter than a v2 batch's header is unsupported, not truncated (which the
// produce path answers CORRUPT_MESSAGE, retried by producers until their delivery timeout).
TEST(RecordBatch, AShortMessageOfAnOlderMagicIsUnsupportedNotTruncated) {
  message_batch one;
  one.messages.emplace_back().value = "x";
  for (std::int8_t magic : {0, 1}) {
    buffer bytes;
    encode_message_set(one, 0, magic, bytes);
    ASSERT_LT(bytes.size(), record_batch_overhead) << static_cast<int>(magic);
    std::size_t used = 0;
    EXPECT_EQ(decode_record_batch(bytes, used).error(), errc::unsupported_version) << static_cast<int>(magic);
    EXPECT_EQ(decode_record_batches(bytes).error(), errc::unsupported_version) << static_cast<int>(magic);
  }
  // A v2 batch cut short after its magic is still truncated.
  buffer batch;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none), batch));
  std::size_t used = 0;
  EXPECT_EQ(decode_record_batch(byte_view{batch}.first(40), used).error(), errc::truncated);
}

// Kafka frames every format alike before it asks which one a frame is
// (ByteBufferLogInputStream.nextBatchSize): a length under a magic-0 message's overhead (14)
// or a magic no format has (outside 0-2) is a corrupt record (CORRUPT_MESSAGE), as soon as
// the bytes reach it, however short they are: damage (truncated), not a magic Kafka does not
// allow here (unsupported_version, which the produce path answers INVALID_RECORD).
TEST(RecordBatch, AMagicNoFormatHasOrALengthUnderAnyMessagesIsDamage) {
  message_batch one;
  one.messages.emplace_back().value = "x";
  buffer message;
  encode_message_set(one, 0, 1, message);
  ASSERT_LT(message.size(), record_batch_overhead);
  std::size_t used = 0;
  for (const int magic : {3, 0x7F, 0x80, 0xFF}) {
    auto odd = message;
    odd[16] = static_cast<std::uint8_t>(magic);
    EXPECT_EQ(decode_record_batch(odd, used).error(), errc::truncated) << magic;
    EXPECT_EQ(decode_record_batch(byte_view{odd}.first(17), used).error(), errc::truncated) << magic;
    EXPECT_EQ(decode_record_batches(odd).error(), errc::truncated) << magic;
  }
  buffer batch;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none), batch));
  batch[16] = 3;
  EXPECT_EQ(decode_record_batch(batch, used).error(), errc::truncated) << "a whole batch's header too";
  for (const std::uint32_t length : {0u, 13u, 0xFFFFFFFFu}) {
    auto short_one = message;
    store_be32(short_one.data() + 8, length);
    EXPECT_EQ(decode_record_batch(short_one, used).error(), errc::truncated) << length;
    EXPECT_EQ(decode_record_batch(byte_view{short_one}.first(12), used).error(), errc::truncated) << length;
  }
  // From 14 on, magic 0 or 1 is a message Kafka does not allow here.
  auto least = message;
  store_be32(least.data() + 8, 14);
  EXPECT_EQ(decode_record_batch(least, used).error(), errc::unsupported_version);
}

TEST(RecordBatch, EveryTruncationIsAnError) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none, 2), bytes));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::size_t used = 0;
    EXPECT_FALSE(decode_record_batch(byte_view{bytes}.first(n), used)) << n;
  }
}

// The header agrees with itself (count = lastOffsetDelta + 1) but not with the records.
TEST(RecordBatch, LyingRecordCountIsRefused) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none, 2), bytes));
  for (std::uint32_t count : {1u, 3u, 0x7FFFFFFFu}) {
    store_be32(bytes.data() + 23, count - 1);
    store_be32(bytes.data() + 57, count);
    store_be32(bytes.data() + 17, crc32c(byte_view{bytes}.subspan(21)));
    std::size_t used = 0;
    EXPECT_EQ(decode_record_batch(bytes, used).error(), errc::malformed_payload) << count;
  }
}

namespace {

// `b` encoded, then its lastOffsetDelta and record count set as given (CRC-32C fixed up).
buffer with_header_counts(const record_batch& b, std::int32_t last_offset_delta, std::int32_t count) {
  buffer bytes;
  EXPECT_FALSE(encode_record_batch(b, bytes));
  store_be32(bytes.data() + 23, static_cast<std::uint32_t>(last_offset_delta));
  store_be32(bytes.data() + 57, static_cast<std::uint32_t>(count));
  store_be32(bytes.data() + 17, crc32c(byte_view{bytes}.subspan(21)));
  return bytes;
}

}  // namespace

// Kafka's checks of a client's batch header (LogValidator.validateBatch): INVALID_RECORD for
// a record count of 0 or less, one that differs from the offset range, and a producer id
// without a sequence. The idempotence window counts a batch by its offset range and a
// restarted store by its record count, so the two must agree. Refused before inflating.
TEST(RecordBatch, AHeaderKafkaRefusesIsInvalidRecord) {
  struct bad_case {
    const char* name;
    buffer bytes;
  };
  std::vector<bad_case> cases;
  for (auto c : {compression_type::none, compression_type::zstd}) {
    const auto b = sample(c, 3);
    cases.push_back({"count below the offset range", with_header_counts(b, 3, 3)});
    cases.push_back({"count above the offset range", with_header_counts(b, 1, 3)});
    cases.push_back({"count 0", with_header_counts(b, 2, 0)});
    cases.push_back({"negative count", with_header_counts(b, 2, -3)});
    auto unsequenced = b;
    unsequenced.base_sequence = -1;  // producer id 42
    cases.push_back({"producer id without a sequence", with_header_counts(unsequenced, 2, 3)});
  }
  record_batch empty;  // no records: count 0, lastOffsetDelta -1 (or 0)
  empty.last_offset_delta = -1;
  cases.push_back({"empty batch", with_header_counts(empty, -1, 0)});
  cases.push_back({"empty batch of range 1", with_header_counts(empty, 0, 0)});
  for (const auto& c : cases) {
    std::size_t used = 0;
    EXPECT_EQ(decode_record_batch(c.bytes, used).error(), errc::invalid_record) << c.name;
    message_batch out;
    decompression_budget budget{1u << 20, 1u << 20};
    EXPECT_EQ(decode_record_batch_into(c.bytes, used, "t", 0, out, budget).error(),
              errc::invalid_record)
        << c.name;
    EXPECT_EQ(budget.left, 1u << 20) << c.name << ": nothing inflated";
    EXPECT_TRUE(out.messages.empty()) << c.name;
  }
  // The same batches with the header right are taken; without a producer, no sequence is.
  for (auto c : {compression_type::none, compression_type::zstd}) {
    auto b = sample(c, 3);
    std::size_t used = 0;
    EXPECT_TRUE(decode_record_batch(with_header_counts(b, 2, 3), used));
    b.producer_id = -1;
    b.producer_epoch = -1;
    b.base_sequence = -1;
    EXPECT_TRUE(decode_record_batch(with_header_counts(b, 2, 3), used));
  }
}

TEST(RecordBatch, LyingLengthIsTruncated) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none, 2), bytes));
  store_be32(bytes.data() + 8, static_cast<std::uint32_t>(bytes.size()));  // 12 bytes too long
  std::size_t used = 0;
  EXPECT_EQ(decode_record_batch(bytes, used).error(), errc::truncated);
}

TEST(RecordBatch, SeveralBatchesInOneRecordsField) {
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::lz4, 3), bytes));
  ASSERT_FALSE(encode_record_batch(sample(compression_type::zstd, 4), bytes));
  auto all = decode_record_batches(bytes);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].records.size(), 4u);
  bytes.pop_back();
  EXPECT_FALSE(decode_record_batches(bytes)) << "a partial batch in a produce request is an error";
}

TEST(RecordBatch, RawSnappyWithoutXerialFramingIsAccepted) {
  // librdkafka may send plain snappy blocks; Java clients send xerial framing. Both decode.
  auto b = sample(compression_type::none, 2);
  buffer plain_batch;
  ASSERT_FALSE(encode_record_batch(b, plain_batch));
  const byte_view records = byte_view{plain_batch}.subspan(61);
  buffer bytes(plain_batch.begin(), plain_batch.begin() + 61);
  ASSERT_FALSE(snappy_compressor{}.compress(records, bytes));
  store_be16(bytes.data() + 21, static_cast<std::uint16_t>(compression_type::snappy));
  store_be32(bytes.data() + 8, static_cast<std::uint32_t>(bytes.size() - 12));
  store_be32(bytes.data() + 17, crc32c(byte_view{bytes}.subspan(21)));
  std::size_t used = 0;
  auto back = decode_record_batch(bytes, used);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->records, b.records);
}

TEST(RecordBatch, ConvertsToAndFromPortaskMessagesLosslessly) {
  auto b = sample(compression_type::none, 4);
  auto msgs = to_messages(b, "orders", 2);
  ASSERT_EQ(msgs.messages.size(), 4u);
  EXPECT_EQ(msgs.messages[1].offset, 101);
  EXPECT_EQ(msgs.messages[1].timestamp_ms, 1'700'000'000'001);
  EXPECT_EQ(msgs.messages[2].value, std::nullopt) << "a tombstone stays null";
  EXPECT_EQ(msgs.messages[3].headers.at(1).value, std::nullopt);
  auto again = from_messages(msgs, 100);
  EXPECT_EQ(again.records, b.records);
  EXPECT_EQ(again.base_timestamp, b.base_timestamp);
  EXPECT_EQ(again.max_timestamp, b.max_timestamp);
}

// Found by record_batch_fuzz: a base timestamp near INT64_MAX plus a record's delta
// overflowed (undefined behaviour). It wraps, as Java's long arithmetic does.
TEST(RecordBatchCodec, HostileBaseTimestampsAndDeltasWrapInsteadOfOverflowing) {
  record_batch b;
  b.base_timestamp = std::numeric_limits<std::int64_t>::max();
  b.max_timestamp = b.base_timestamp;
  record r0;
  r0.value = "a";
  record r1;
  r1.offset_delta = 1;
  r1.timestamp_delta = 1000;
  r1.value = "b";
  b.records = {r0, r1};
  buffer bytes;
  ASSERT_FALSE(encode_record_batch(b, bytes));
  std::size_t used = 0;
  message_batch msgs;
  auto decoded = decode_record_batch_into(bytes, used, "t", 0, msgs, 1u << 20);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(msgs.messages.size(), 2u);
  EXPECT_EQ(msgs.messages[1].timestamp_ms, std::numeric_limits<std::int64_t>::min() + 999);
  // And back: the deltas between such timestamps wrap too.
  auto again = from_messages(msgs, 0);
  EXPECT_EQ(again.records.at(1).timestamp_delta, 1000);
}

// A producer's batches served again from memory: only the fields outside the CRC-32C change
// (base offset, leader epoch), so each still decodes, checksum and all, at its new offset.
TEST(RecordBatchRebase, SetsConsecutiveBaseOffsetsAndKeepsTheChecksumValid) {
  auto first = sample(compression_type::none, 3);
  auto second = sample(compression_type::lz4, 2);
  first.base_offset = second.base_offset = 0;  // as producers send them
  buffer sent;
  ASSERT_FALSE(encode_record_batch(first, sent));
  ASSERT_FALSE(encode_record_batch(second, sent));

  gather_bytes out{buffer{std::uint8_t{9}}};  // appended after what is there
  ASSERT_TRUE(append_rebased(shared_bytes::adopt(buffer(sent)), 500, 0, out));
  ASSERT_EQ(out.size(), sent.size() + 1);
  const auto flat = out.flat();
  std::size_t used = 0;
  auto a = decode_record_batch(byte_view{flat}.subspan(1), used);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->base_offset, 500);
  EXPECT_EQ(a->partition_leader_epoch, 0);
  EXPECT_EQ(a->records, first.records);
  std::size_t used2 = 0;
  auto b = decode_record_batch(byte_view{flat}.subspan(1 + used), used2);
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->base_offset, 503);
  EXPECT_EQ(b->compression(), compression_type::lz4);
  EXPECT_EQ(b->records, second.records);
}

// A large batch is not copied: past its first 16 bytes (offset, length, leader epoch) the
// answer refers to the stored bytes themselves; a short one is copied whole.
TEST(RecordBatchRebase, SharesTheBytesOfLargeBatchesAndCopiesShortOnes) {
  auto big = sample(compression_type::none, 2);
  big.records[0].value = std::string(10'000, 'v');
  auto small = sample(compression_type::none, 1);
  big.base_offset = small.base_offset = 0;
  buffer sent;
  ASSERT_FALSE(encode_record_batch(small, sent));
  const auto small_size = sent.size();
  ASSERT_FALSE(encode_record_batch(big, sent));
  ASSERT_FALSE(encode_record_batch(small, sent));
  const auto stored = shared_bytes::adopt(buffer(sent));

  gather_bytes out;
  ASSERT_TRUE(append_rebased(stored, 10, 4, out));
  ASSERT_EQ(out.pieces().size(), 1u) << "the big batch only";
  const auto& piece = out.pieces()[0];
  EXPECT_EQ(piece.bytes.data(), stored.data() + small_size + 16) << "the stored bytes, not a copy";
  EXPECT_EQ(piece.at, small_size + 16);
  EXPECT_EQ(out.owned().size(), 2 * small_size + 16);
  auto batches = decode_record_batches(out.flat());
  ASSERT_TRUE(batches) << batches.error().message();
  ASSERT_EQ(batches->size(), 3u);
  EXPECT_EQ((*batches)[0].base_offset, 10);
  EXPECT_EQ((*batches)[1].base_offset, 11);
  EXPECT_EQ((*batches)[1].partition_leader_epoch, 4);
  EXPECT_EQ((*batches)[1].records, big.records);
  EXPECT_EQ((*batches)[2].base_offset, 13);
  EXPECT_EQ(load_be64(stored.data() + small_size), 0u) << "the stored batch itself is unchanged";
  EXPECT_EQ(load_be64(out.flat().data() + small_size), 11u) << "the answer's copy is rebased";
}

TEST(RecordBatchRebase, RefusesWhatIsNotWholeV2Batches) {
  buffer sent;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none, 2), sent));
  const auto stored = shared_bytes::adopt(buffer(sent));
  gather_bytes out{buffer{std::uint8_t{7}}};
  EXPECT_FALSE(append_rebased(stored.slice(0, sent.size() - 1), 0, 0, out));
  EXPECT_FALSE(append_rebased(stored.slice(0, 30), 0, 0, out));
  EXPECT_FALSE(append_rebased(shared_bytes{}, 0, 0, out));
  auto wrong_magic = sent;
  wrong_magic[16] = 1;
  EXPECT_FALSE(append_rebased(shared_bytes::adopt(std::move(wrong_magic)), 0, 0, out));
  // A good batch followed by a bad one: refused whole.
  auto good_then_bad = sent;
  good_then_bad.insert(good_then_bad.end(), sent.begin(), sent.begin() + 40);
  EXPECT_FALSE(append_rebased(shared_bytes::adopt(std::move(good_then_bad)), 0, 0, out));
  EXPECT_EQ(out, gather_bytes{buffer{std::uint8_t{7}}}) << "nothing is appended on refusal";
  EXPECT_TRUE(out.pieces().empty());
}

// A producer's batch marked with log append time, appended to a CreateTime topic, is marked
// create time as Kafka marks it (setMaxTimestamp(CREATE_TIME, ...)): the CRC-32C computed
// again, every other byte as sent, so each record reads back with its own timestamp and not
// the batch's max. A batch whose CRC does not match is left for the decode to refuse.
TEST(RecordBatch, ALogAppendTimeMarkIsClearedAndTheChecksumComputedAgain) {
  for (auto c : {compression_type::none, compression_type::gzip}) {
    buffer unmarked;
    ASSERT_FALSE(encode_record_batch(sample(c, 3), unmarked));
    auto marked = sample(c, 3);
    marked.attributes = static_cast<std::int16_t>(marked.attributes | batch_attributes::log_append_time);
    buffer bytes;
    ASSERT_FALSE(encode_record_batch(marked, bytes));
    ASSERT_FALSE(encode_record_batch(marked, bytes));  // a second batch, marked too
    std::size_t used = 0;
    auto as_sent = decode_record_batch(bytes, used);
    ASSERT_TRUE(as_sent) << as_sent.error().message();
    EXPECT_EQ(to_messages(*as_sent, "t", 0).messages.front().timestamp_ms, as_sent->max_timestamp)
        << "as sent, every record reads with the max timestamp";

    EXPECT_EQ(mark_create_time(bytes), 2u);
    ASSERT_EQ(bytes.size(), 2 * unmarked.size());
    EXPECT_TRUE(std::equal(unmarked.begin(), unmarked.end(), bytes.begin()))
        << "the first batch: as if sent unmarked, CRC-32C included";
    EXPECT_TRUE(std::equal(unmarked.begin(), unmarked.end(), bytes.begin() + static_cast<std::ptrdiff_t>(unmarked.size())))
        << "the second too";
    auto all = decode_record_batches(bytes);
    ASSERT_TRUE(all) << all.error().message();
    const auto msgs = to_messages(all->front(), "t", 0);
    ASSERT_EQ(msgs.messages.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_EQ(msgs.messages[i].timestamp_ms, 1'700'000'000'000 + static_cast<std::int64_t>(i));
    EXPECT_EQ(all->front().max_timestamp, 1'700'000'000'002) << "the max timestamp as sent";

    // Damaged: left as it came, so the decode still finds the CRC-32C wrong.
    buffer damaged;
    ASSERT_FALSE(encode_record_batch(marked, damaged));
    damaged.back() ^= 0x01;
    const auto before = damaged;
    mark_create_time(damaged);
    EXPECT_EQ(damaged, before);
    EXPECT_EQ(decode_record_batch(damaged, used).error(), errc::crc_mismatch);
  }
  // Not whole, or not v2: nothing is touched.
  auto marked = sample(compression_type::none, 2);
  marked.attributes = batch_attributes::log_append_time;
  buffer whole;
  ASSERT_FALSE(encode_record_batch(marked, whole));
  buffer cut(whole.begin(), whole.end() - 1);
  const auto cut_before = cut;
  mark_create_time(cut);
  EXPECT_EQ(cut, cut_before);
  auto magic1 = whole;
  magic1[16] = 1;
  const auto magic1_before = magic1;
  mark_create_time(magic1);
  EXPECT_EQ(magic1, magic1_before);
}

// Produce v3+ takes one batch per partition, and Kafka counts them before it checks one
// (ProduceRequest.validateRecords): by the length and magic at their places alone, whatever
// the CRC-32C or the records say, up to the first that is not whole. mark_create_time's
// count is that one, so that Produce refuses more than one batch without reading any.
TEST(RecordBatch, MarkCreateTimeCountsTheWholeBatchesFromTheirHeadersAlone) {
  buffer one;
  ASSERT_FALSE(encode_record_batch(sample(compression_type::none, 2), one));
  auto join = [](std::initializer_list<buffer> parts) {
    buffer out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  buffer none;
  EXPECT_EQ(mark_create_time(none), 0u);
  auto single = one;
  EXPECT_EQ(mark_create_time(single), 1u);
  auto two = join({one, one});
  EXPECT_EQ(mark_create_time(two), 2u);
  auto damaged = one;
  damaged.back() ^= 0x01;  // its CRC-32C no longer matches
  auto first_damaged = join({damaged, one});
  EXPECT_EQ(mark_create_time(first_damaged), 2u) << "a damaged batch counts";
  auto second_damaged = join({one, damaged});
  EXPECT_EQ(mark_create_time(second_damaged), 2u);
  auto magic1 = one;
  magic1[16] = 1;
  auto with_magic1 = join({one, magic1});
  EXPECT_EQ(mark_create_time(with_magic1), 2u) << "any magic Kafka knows counts";
  // Not whole, or no batch Kafka frames (a magic it does not know, a length shorter than
  // any message): the count stops there.
  auto cut = join({one, one});
  cut.pop_back();
  EXPECT_EQ(mark_create_time(cut), 1u);
  auto magic3 = one;
  magic3[16] = 3;
  auto with_magic3 = join({one, magic3, one});
  EXPECT_EQ(mark_create_time(with_magic3), 1u);
  auto too_short = one;
  store_be32(too_short.data() + 8, 13);
  auto with_too_short = join({one, too_short});
  EXPECT_EQ(mark_create_time(with_too_short), 1u);
  // A v2 batch shorter than a batch's header is framed, and counted, as Kafka frames it.
  buffer stub(12 + 14, 0);
  store_be32(stub.data() + 8, 14);
  stub[16] = 2;
  auto with_stub = join({one, stub});
  EXPECT_EQ(mark_create_time(with_stub), 2u);
}
