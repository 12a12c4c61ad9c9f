#include "protocol/kafka/consumer_protocol.hpp"

#include <gtest/gtest.h>

#include "protocol/kafka/kafka_wire.hpp"

using namespace portask::protocol;

namespace {

buffer assignment(std::int16_t version) {
  buffer out;
  kafka::writer w{out};
  w.i16(version);
  w.i32(2);
  w.string("orders", false);
  w.i32(2);
  w.i32(0);
  w.i32(3);
  w.string("audit", false);
  w.i32(1);
  w.i32(5);
  w.i32(-1);  // null user data
  return out;
}

}  // namespace

TEST(ConsumerProtocol, DecodesEveryVersionsAssignedPartitions) {
  const std::vector<std::pair<std::string, std::int32_t>> want{
      {"orders", 0}, {"orders", 3}, {"audit", 5}};
  for (std::int16_t v = 0; v <= 3; ++v)
    EXPECT_EQ(kafka::decode_consumer_assignment(assignment(v)).value(), want) << v;
}

TEST(ConsumerProtocol, RefusesTruncatedAndOversizedAssignments) {
  const auto bytes = assignment(1);
  // Cut inside the partition lists: refused (the user data after them is optional to read).
  for (std::size_t cut = 0; cut < bytes.size() - 4; ++cut)
    EXPECT_FALSE(kafka::decode_consumer_assignment(byte_view(bytes).first(cut))) << cut;
  buffer huge;
  kafka::writer w{huge};
  w.i16(0);
  w.i32(1'000'000);  // more topics than the bytes can hold
  EXPECT_FALSE(kafka::decode_consumer_assignment(huge));
}

TEST(ConsumerProtocol, DecodesEveryVersionsSubscribedTopicsAndRefusesTruncatedOnes) {
  for (std::int16_t v = 0; v <= 3; ++v) {
    buffer out;
    kafka::writer w{out};
    w.i16(v);
    w.i32(2);
    w.string("orders", false);
    w.string("audit", false);
    w.i32(-1);  // null user data; later versions' fields follow and are not read
    if (v >= 1) w.i32(0);  // no owned partitions
    if (v >= 2) w.i32(7);  // generation
    EXPECT_EQ(kafka::decode_consumer_subscription(out).value(),
              (std::vector<std::string>{"orders", "audit"}))
        << v;
    // Cut inside the topic list: refused.
    for (std::size_t cut = 0; cut < 2 + 4 + 2 + 6 + 2 + 5; ++cut)
      EXPECT_FALSE(kafka::decode_consumer_subscription(byte_view(out).first(cut))) << v << " " << cut;
  }
  buffer huge;
  kafka::writer w{huge};
  w.i16(0);
  w.i32(1'000'000);
  EXPECT_FALSE(kafka::decode_consumer_subscription(huge));
}
