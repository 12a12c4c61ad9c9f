#include "protocol/codecs/binary_codec.hpp"

#include <gtest/gtest.h>

#include "protocol/wire.hpp"
#include "sample_batches.hpp"

using namespace portask;
using namespace portask::protocol;

namespace {
// A small deterministic generator for mutating payloads.
struct xorshift {
  std::uint64_t seed;
  std::uint64_t operator()() {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  }
};
}  // namespace

TEST(BinaryCodec, RoundTripsEveryCase) {
  binary_codec c;
  for (const auto& [name, batch] : test::codec_cases()) {
    buffer out;
    ASSERT_FALSE(c.encode(batch, out)) << name;
    auto back = c.decode(out);
    ASSERT_TRUE(back) << name << ": " << back.error().message();
    EXPECT_EQ(*back, batch) << name;
  }
}

TEST(BinaryCodec, IsCompactForSmallMessages) {
  // 100 messages with 100-byte values and short keys: the overhead per message stays small.
  message_batch b;
  for (int i = 0; i < 100; ++i) {
    message m;
    m.topic = "bench";
    m.key = "k" + std::to_string(i);
    m.value = std::string(100, 'x');
    m.timestamp_ms = 1'700'000'000'000 + i;
    b.messages.push_back(m);
  }
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(b, out));
  EXPECT_LT(out.size(), 100u * 115u);
}

TEST(BinaryCodec, AppendsAfterExistingBytes) {
  buffer out{9, 9};
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(2), out));
  EXPECT_EQ(out[0], 9);
  auto back = binary_codec{}.decode(byte_view{out}.subspan(2));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, test::sample_batch(2));
}

TEST(BinaryCodec, EveryTruncationIsAnErrorNeverACrash) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(3), out));
  for (std::size_t n = 0; n < out.size(); ++n)
    EXPECT_EQ(binary_codec{}.decode(byte_view{out}.first(n)).error(), errc::malformed_payload)
        << "prefix of " << n << " bytes";
}

TEST(BinaryCodec, TrailingBytesAreRejected) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(1), out));
  out.push_back(0);
  EXPECT_EQ(binary_codec{}.decode(out).error(), errc::malformed_payload);
}

TEST(BinaryCodec, UnknownFormatVersionIsRejected) {
  buffer out;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(1), out));
  auto bad_version = out;
  bad_version[0] = 2;
  EXPECT_FALSE(binary_codec{}.decode(bad_version));
}

TEST(BinaryCodec, HugeCountsDoNotAllocate) {
  // A count of 2^60 messages in a 20-byte payload must be refused before any reserve.
  buffer b;
  wire_writer w{b};
  w.u8(1);
  w.uvarint(std::uint64_t{1} << 60);
  w.bytes("t");
  w.varint(0);
  w.varint(0);
  w.varint(0);
  EXPECT_EQ(binary_codec{}.decode(b).error(), errc::malformed_payload);
}

TEST(BinaryCodec, RandomBytesNeverCrash) {
  xorshift next{0x9E3779B97F4A7C15ULL};
  buffer valid;
  ASSERT_FALSE(binary_codec{}.encode(test::sample_batch(4), valid));
  for (int round = 0; round < 5000; ++round) {
    buffer mutated = valid;
    for (int k = 0; k < 1 + static_cast<int>(next() % 4); ++k)
      mutated[next() % mutated.size()] = static_cast<std::uint8_t>(next());
    (void)binary_codec{}.decode(mutated);  // any result is fine; UB or a crash is not
  }
}

// -- scan and rebase: storing a client's batch without decoding it ---------------------------

namespace {

// A batch as a native client sends it: messages inherit the header's topic and partition
// and carry no offsets.
message_batch client_batch(int n, bool stamped) {
  message_batch b;
  for (int i = 0; i < n; ++i) {
    message m;
    if (i == 0) m.topic = "client-topic";
    m.partition = -1;
    m.key = "k" + std::to_string(i);
    if (i != 1) m.value = std::string(40 + i, 'v');  // one null value
    if (i == 2) m.headers = {{"h", std::string("x")}, {"n", std::nullopt}};
    if (i == 3) m.expires_at_ms = 99;
    m.priority = static_cast<std::uint8_t>(i % 3);
    m.id = static_cast<std::uint64_t>(i) * 7;
    m.timestamp_ms = stamped ? 1'700'000'000'000 + (i % 2 == 0 ? i : -i) : 0;
    b.messages.push_back(m);
  }
  return b;
}

// What the broker stores for it: topic, partition and no offsets are the broker's, unset
// timestamps become `now`.
message_batch normalised(message_batch b, const std::string& topic, std::int32_t partition,
                         std::int64_t now) {
  for (auto& m : b.messages) {
    m.topic = topic;
    m.partition = partition;
    m.offset = no_offset;
    if (m.timestamp_ms == 0) m.timestamp_ms = now;
  }
  return b;
}

}  // namespace

TEST(BinaryCodec, AScanAcceptsExactlyWhatDecodeAccepts) {
  xorshift next{0xD1B54A32D192ED03ULL};
  std::vector<buffer> inputs;
  for (const auto& [name, batch] : test::codec_cases()) {
    buffer out;
    ASSERT_FALSE(binary_codec{}.encode(batch, out)) << name;
    inputs.push_back(out);
  }
  buffer valid;
  ASSERT_FALSE(binary_codec{}.encode(client_batch(6, true), valid));
  for (std::size_t n = 0; n <= valid.size(); ++n) inputs.emplace_back(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
  for (int round = 0; round < 20000; ++round) {
    buffer mutated = valid;
    for (int k = 0; k < 1 + static_cast<int>(next() % 4); ++k)
      mutated[next() % mutated.size()] = static_cast<std::uint8_t>(next());
    inputs.push_back(std::move(mutated));
  }
  int accepted = 0, rebased = 0;
  for (const auto& in : inputs) {
    const auto decoded = binary_codec{}.decode(in);
    const auto scanned = binary_codec::scan(in);
    ASSERT_EQ(static_cast<bool>(decoded), static_cast<bool>(scanned));
    if (!decoded) {
      EXPECT_EQ(scanned.error(), decoded.error());
      continue;
    }
    ++accepted;
    ASSERT_EQ(scanned->count, decoded->messages.size());
    // The largest, negative when every one is (a Kafka record's 0 then tells from none).
    std::int64_t max_ts = decoded->messages.empty() ? 0 : decoded->messages.front().timestamp_ms;
    bool all_unset = !decoded->messages.empty(), keyless = false;
    for (const auto& m : decoded->messages) {
      max_ts = std::max(max_ts, m.timestamp_ms);
      all_unset = all_unset && m.timestamp_ms == 0;
      keyless = keyless || !m.key;
    }
    EXPECT_EQ(scanned->max_timestamp_ms, max_ts);
    EXPECT_EQ(scanned->timestamps_unset, all_unset);
    EXPECT_EQ(scanned->keyless, keyless);
    if (!scanned->rebasable) continue;
    // Kept bytes under a new header are exactly what the broker would have encoded.
    ++rebased;
    const std::int64_t now = 1'800'000'000'000;
    buffer out;
    binary_codec::rebase(in, *scanned, "n", 4, no_offset,
                         scanned->timestamps_unset ? now : scanned->base_timestamp_ms, out);
    buffer expected;
    ASSERT_FALSE(binary_codec{}.encode(normalised(*decoded, "n", 4, now), expected));
    ASSERT_EQ(out, expected);
  }
  EXPECT_GT(accepted, 10) << "the comparison covered accepted payloads too";
  EXPECT_GT(rebased, 10) << "and rebasable ones";
}

// A broker keeps records without a timestamp (Kafka's -1) for retention.ms from their
// append, but a Kafka record stamped 0 by its own: the scan's max tells them apart.
TEST(BinaryCodec, AScanOfMessagesWithoutTimestampsHasANegativeMax) {
  for (std::int64_t ts : {std::int64_t{-1}, std::int64_t{-5}}) {
    message_batch b;
    for (int i = 0; i < 3; ++i) {
      message m;
      m.topic = i == 0 ? "t" : "";
      m.value = "v";
      m.timestamp_ms = i == 1 ? -1 : ts;
      b.messages.push_back(m);
    }
    buffer out;
    ASSERT_FALSE(binary_codec{}.encode(b, out));
    auto s = binary_codec::scan(out);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->max_timestamp_ms, -1) << ts;
    EXPECT_FALSE(s->timestamps_unset);
  }
}

TEST(BinaryCodec, ARebasedBatchDecodesAsTheNormalisedBatch) {
  for (bool stamped : {true, false}) {
    const auto batch = client_batch(7, stamped);
    buffer in;
    ASSERT_FALSE(binary_codec{}.encode(batch, in));
    auto s = binary_codec::scan(in);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->rebasable) << stamped;
    EXPECT_EQ(s->count, 7u);
    EXPECT_EQ(s->timestamps_unset, !stamped);
    const std::int64_t now = 1'800'000'000'000;
    buffer out = {0xAA, 0xBB};  // appended after what is there
    binary_codec::rebase(in, *s, "orders", 5, no_offset, stamped ? s->base_timestamp_ms : now, out);
    EXPECT_EQ(out[0], 0xAA);
    auto back = binary_codec{}.decode(byte_view{out}.subspan(2));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, normalised(batch, "orders", 5, now)) << stamped;
    // The same bytes as encoding the normalised batch: one stored format either way.
    buffer encoded;
    ASSERT_FALSE(binary_codec{}.encode(normalised(batch, "orders", 5, now), encoded));
    EXPECT_EQ(buffer(out.begin() + 2, out.end()), encoded);
  }
}

TEST(BinaryCodec, BatchesWhoseMessagesNeedRewritingAreNotRebasable) {
  auto check = [](message_batch b, const char* why) {
    buffer in;
    ASSERT_FALSE(binary_codec{}.encode(b, in));
    auto s = binary_codec::scan(in);
    ASSERT_TRUE(s) << why;
    EXPECT_FALSE(s->rebasable) << why;
  };
  auto b = client_batch(4, true);
  b.messages[2].topic = "elsewhere";
  check(b, "a message names another topic");
  b = client_batch(4, true);
  b.messages[3].partition = 8;
  check(b, "a message names another partition");
  b = client_batch(4, true);
  b.messages[1].offset = 17;
  check(b, "a message carries its own offset");
  b = client_batch(4, true);
  b.messages[2].timestamp_ms = 0;
  check(b, "some timestamps set, some not");
  b = client_batch(4, false);
  for (auto& m : b.messages) m.timestamp_ms = 5;
  b.messages[0].timestamp_ms = 0;  // base 0, others set
  check(b, "the first unset, the others set");

  // Valid encodings encode() would not write: kept as they are, the stored bytes would differ.
  auto check_bytes = [](buffer in, const char* why) {
    ASSERT_TRUE(binary_codec{}.decode(in)) << why;
    auto s = binary_codec::scan(in);
    ASSERT_TRUE(s) << why;
    EXPECT_FALSE(s->rebasable) << why;
  };
  // version, count 1, topic "", partition 0, base offset -1 (zigzag 1), base timestamp 10
  const buffer header = {binary_codec::format_version, 1, 0, 0, 1, 20};
  auto with = [&](std::initializer_list<std::uint8_t> message) {
    buffer in = header;
    in.insert(in.end(), message);
    return in;
  };
  // attrs value, id 0, offset delta 0, timestamp delta 0, priority 0, value "x", no headers
  EXPECT_TRUE(binary_codec::scan(with({0x02, 0, 0, 0, 0, 1, 'x', 0}))->rebasable);
  check_bytes(with({0x02, 0x80, 0x00, 0, 0, 0, 1, 'x', 0}), "an id in two bytes");
  check_bytes(with({0x02, 0, 0, 2, 0, 1, 'x', 0}), "the first timestamp is not the base");
  check_bytes(with({0x06, 0, 0, 0, 0, 0, 1, 'x', 0}), "an expiry of 0 written out");
  check_bytes(with({0x02, 0, 0, 0, 0, 0x81, 0x00, 'x', 0}), "a value length in two bytes");
}
