#include "protocol/gather_bytes.hpp"

#include <gtest/gtest.h>

#include "protocol/kafka/kafka_wire.hpp"
#include "tests/protocol/byte_pattern.hpp"

using namespace portask::protocol;
using portask::test::byte_pattern;

namespace {

buffer joined(std::initializer_list<const buffer*> parts) {
  buffer out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

}  // namespace

TEST(GatherBytes, LargeSharedBytesAreReferencedAndShortOnesCopied) {
  const auto head = byte_pattern(10, 1);
  const auto big = byte_pattern(gather_bytes::min_shared_piece, 2);
  const auto small = byte_pattern(gather_bytes::min_shared_piece - 1, 3);
  const auto tail = byte_pattern(5, 4);
  const auto shared_big = shared_bytes::adopt(buffer(big));
  gather_bytes g;
  g.append(head);
  g.append_shared(shared_big);
  g.append_shared(shared_bytes::adopt(buffer(small)));
  g.append(tail);
  ASSERT_EQ(g.pieces().size(), 1u);
  EXPECT_EQ(g.pieces()[0].bytes.data(), shared_big.data());
  EXPECT_EQ(g.pieces()[0].at, head.size());
  EXPECT_EQ(g.owned().size(), head.size() + small.size() + tail.size());
  EXPECT_EQ(g.size(), head.size() + big.size() + small.size() + tail.size());
  EXPECT_EQ(g.flat(), joined({&head, &big, &small, &tail}));
  std::vector<std::size_t> segments;
  g.for_each_segment([&](byte_view s) { segments.push_back(s.size()); });
  EXPECT_EQ(segments, (std::vector<std::size_t>{head.size(), big.size(), small.size() + tail.size()}));
}

TEST(GatherBytes, SharedBytesOutliveTheirOtherOwners) {
  gather_bytes g;
  {
    const auto big = shared_bytes::adopt(byte_pattern(20'000, 9));
    g.append_shared(big);
  }
  EXPECT_EQ(g.flat(), byte_pattern(20'000, 9));
}

TEST(GatherBytes, AppendingAnotherKeepsItsPiecesInPlace) {
  const auto a = byte_pattern(6000, 1), b = byte_pattern(7000, 2), c = byte_pattern(3, 3), d = byte_pattern(4, 4);
  gather_bytes inner;
  inner.append(c);
  inner.append_shared(shared_bytes::adopt(buffer(b)));
  inner.append(d);
  gather_bytes outer;
  outer.append(d);
  outer.append_shared(shared_bytes::adopt(buffer(a)));
  outer.append_gathered(inner);
  outer.append(c);
  EXPECT_EQ(outer.pieces().size(), 2u);
  EXPECT_EQ(outer.flat(), joined({&d, &a, &c, &b, &d, &c}));
}

TEST(GatherBytes, EqualityIsByContentNotBySplit) {
  const auto big = byte_pattern(9000, 5);
  gather_bytes shared;
  shared.append_shared(shared_bytes::adopt(buffer(big)));
  gather_bytes owned{buffer(big)};
  EXPECT_EQ(shared, owned);
  auto other = big;
  other.back() ^= 1;
  EXPECT_FALSE(shared == gather_bytes{buffer(other)});
  EXPECT_FALSE(shared == gather_bytes{});
  EXPECT_TRUE(gather_bytes{}.empty());
}

// A Kafka record field written into a gather_bytes keeps its pieces shared; written into a
// plain buffer it is copied; both give the same bytes, length prefix included.
TEST(GatherBytes, AKafkaWriterSharesRecordPiecesOnlyWhenWritingIntoGatherBytes) {
  gather_bytes records;
  records.append(byte_pattern(16, 7));
  records.append_shared(shared_bytes::adopt(byte_pattern(50'000, 8)));
  for (bool flexible : {false, true}) {
    gather_bytes gathered;
    kafka::writer gw{gathered};
    gw.i32(7);
    gw.records(records, flexible);
    gw.i16(1);
    EXPECT_EQ(gathered.pieces().size(), 1u);

    buffer plain;
    kafka::writer pw{plain};
    pw.i32(7);
    pw.records(records, flexible);
    pw.i16(1);
    EXPECT_EQ(gathered.flat(), plain);

    kafka::reader r{plain};
    std::int32_t i = 0;
    gather_bytes back;
    std::int16_t j = 0;
    ASSERT_TRUE(r.i32(i) && r.records(back, flexible) && r.i16(j));
    EXPECT_EQ(back, records);
    EXPECT_TRUE(back.pieces().empty()) << "decoded records are owned";
    EXPECT_EQ(j, 1);
  }
}
