// Walks every generated Kafka message at every version it supports: decode(encode(x)) == x
// for a sample that sets every field the version carries, and every truncation fails.
#include <gtest/gtest.h>

#include "portask/kafka/kafka_messages.hpp"

using namespace portask::protocol;
using namespace portask::protocol::kafka;

namespace {
int versions_checked = 0;
}

TEST(GeneratedKafkaMessages, EveryMessageRoundTripsAtEveryVersion) {
  int messages = 0;
  messages::for_each_message([&](auto prototype, const char* name, std::int16_t lo, std::int16_t hi) {
    using T = decltype(prototype);
    ++messages;
    for (std::int16_t v = lo; v <= hi; ++v) {
      T x;
      x.fill_sample(v, 3);
      buffer bytes;
      writer w{bytes};
      x.encode(w, v);
      T y;
      reader r{bytes};
      ASSERT_TRUE(y.decode(r, v)) << name << " v" << v;
      EXPECT_TRUE(r.at_end()) << name << " v" << v << ": bytes left over";
      EXPECT_TRUE(x == y) << name << " v" << v;
      // A default instance round-trips too (nothing optional is written by accident).
      T d;
      buffer dbytes;
      writer dw{dbytes};
      d.encode(dw, v);
      T d2;
      reader dr{dbytes};
      EXPECT_TRUE(d2.decode(dr, v) && d == d2) << name << " v" << v << " (defaults)";
      // An array count is checked against the smallest element: that must never be more
      // than what a real (here: default) instance takes, or valid requests are refused.
      EXPECT_LE(T::min_wire_size(v), dbytes.size()) << name << " v" << v;
      // Every strict prefix of the encoding is refused, never read past.
      for (std::size_t n = 0; n < bytes.size(); ++n) {
        T t;
        reader tr{byte_view{bytes}.first(n)};
        const bool ok = t.decode(tr, v);
        EXPECT_FALSE(ok && tr.at_end() && t == x) << name << " v" << v << " prefix " << n;
      }
      ++versions_checked;
    }
  });
  EXPECT_EQ(messages, 74);  // every schema in protocol/kafka/schema
  EXPECT_GT(versions_checked, 300);
}

TEST(GeneratedKafkaMessages, ApiVersionsRequestV3IsCompactWithTaggedFields) {
  messages::ApiVersionsRequest req;
  req.clientSoftwareName = "a";
  req.clientSoftwareVersion = "b";
  buffer bytes;
  writer w{bytes};
  req.encode(w, 3);
  // compact strings (length + 1) and an empty tagged-field section
  EXPECT_EQ(bytes, (buffer{0x02, 'a', 0x02, 'b', 0x00}));
  buffer v0;
  writer w0{v0};
  req.encode(w0, 0);
  EXPECT_TRUE(v0.empty()) << "version 0 carries no fields";
}

TEST(GeneratedKafkaMessages, UnknownTaggedFieldsAreSkipped) {
  // Flexible ApiVersionsRequest v3 with a tagged field (tag 9, 2 bytes) nobody defined.
  const buffer bytes{0x02, 'a', 0x02, 'b', 0x01, 0x09, 0x02, 0xAA, 0xBB};
  messages::ApiVersionsRequest req;
  reader r{bytes};
  ASSERT_TRUE(req.decode(r, 3));
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(req.clientSoftwareName, "a");
}

TEST(GeneratedKafkaMessages, NullWhereTheVersionForbidsItIsRefused) {
  // MetadataRequest v0: Topics is an INT32-length array; v0 does not allow null (-1).
  const buffer bytes{0xFF, 0xFF, 0xFF, 0xFF};
  messages::MetadataRequest req;
  reader r{bytes};
  EXPECT_FALSE(req.decode(r, 0));
  // From v1 a null array means "all topics".
  messages::MetadataRequest req1;
  reader r1{bytes};
  ASSERT_TRUE(req1.decode(r1, 1));
  EXPECT_FALSE(req1.topics.has_value());
}

// A count larger than the bytes left could hold is refused before anything is allocated for
// it; the most the bytes could hold (every element at its smallest) is read.
TEST(GeneratedKafkaMessages, ArrayCountsAreBoundedByTheSmallestElement) {
  // CreateTopicsRequest v4: each topic at its smallest is 16 bytes (empty name, two ints,
  // two empty arrays); then timeoutMs and validateOnly.
  static constexpr std::size_t topics = 1000;
  auto request = [](std::uint32_t count) {
    buffer b;
    writer w{b};
    w.i32(static_cast<std::int32_t>(count));
    b.resize(b.size() + topics * 16 + 5, 0);
    return b;
  };
  EXPECT_EQ(messages::CreateTopicsRequest::CreatableTopic::min_wire_size(4), 16u);
  {
    const auto bytes = request(topics);
    messages::CreateTopicsRequest req;
    reader r{bytes};
    ASSERT_TRUE(req.decode(r, 4));
    EXPECT_TRUE(r.at_end());
    EXPECT_EQ(req.topics.size(), topics);
  }
  for (const std::uint32_t claimed : {std::uint32_t{topics + 1}, std::uint32_t{16'000'000}}) {
    const auto bytes = request(claimed);
    messages::CreateTopicsRequest req;
    reader r{bytes};
    EXPECT_FALSE(req.decode(r, 4)) << claimed;
    EXPECT_TRUE(req.topics.empty()) << claimed << ": nothing allocated for a count that cannot fit";
  }
}
