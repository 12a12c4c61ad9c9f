// Kafka's length limits at the edge, both ways: a string of 32767 bytes is written and read
// back, one byte more is refused by the writer (std::length_error, nothing written: a length
// cut to its INT16 field would misalign everything after it) and by the reader (a compact
// string's varint could say more).
#include <gtest/gtest.h>

#include <stdexcept>

#include "portask/kafka/kafka_messages.hpp"
#include "protocol/kafka/kafka_wire.hpp"

using namespace portask::protocol;
using namespace portask::protocol::kafka;

TEST(KafkaWire, TheLongestStringIsWrittenAndReadBackInBothEncodings) {
  const std::string longest(max_string_bytes, 's');
  for (const bool flexible : {false, true}) {
    buffer out;
    writer w{out};
    w.string(longest, flexible);
    w.i32(7);  // what follows is where it belongs
    reader r{out};
    std::string back;
    std::int32_t after = 0;
    ASSERT_TRUE(r.string(back, flexible)) << flexible;
    ASSERT_TRUE(r.i32(after) && r.at_end()) << flexible;
    EXPECT_EQ(back, longest);
    EXPECT_EQ(after, 7);
  }
}

TEST(KafkaWire, AStringOneByteLongerIsRefusedBeforeAnythingIsWritten) {
  const std::string too_long(max_string_bytes + 1, 's');
  for (const bool flexible : {false, true}) {
    buffer out;
    writer w{out};
    w.i32(1);
    EXPECT_THROW(w.string(too_long, flexible), std::length_error) << flexible;
    EXPECT_EQ(out.size(), 4u) << "no length and no bytes of it were written";
  }
}

TEST(KafkaWire, TheReaderRefusesACompactStringLongerThanKafkaAllows) {
  for (const std::size_t n : {max_string_bytes, max_string_bytes + 1}) {
    buffer in;
    wire_writer raw{in};
    raw.uvarint(n + 1);  // compact: N+1
    raw.raw(std::string(n, 'c'));
    reader r{in};
    std::string s;
    std::optional<std::string> nullable;
    reader again{in};
    EXPECT_EQ(r.string(s, true), n == max_string_bytes) << n;
    EXPECT_EQ(again.nullable_string(nullable, true), n == max_string_bytes) << n;
  }
}

TEST(KafkaWire, AnArrayLongerThanAnInt32LengthIsRefused) {
  buffer out;
  writer w{out};
  w.array_length(max_int32_length, false);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_THROW(w.array_length(max_int32_length + 1, false), std::length_error);
  EXPECT_THROW(w.array_length(max_int32_length + 1, true), std::length_error);
  EXPECT_EQ(out.size(), 4u);
}

// The response that broke Kafka clients: ListGroups naming a group id they cannot decode.
TEST(KafkaWire, AListGroupsResponseWithAnIdTooLongForKafkaIsNotEncoded) {
  for (const std::int16_t v : {std::int16_t{0}, std::int16_t{3}}) {
    messages::ListGroupsResponse res;
    res.groups.push_back({std::string(max_string_bytes, 'g'), "consumer", "Empty", "classic"});
    buffer ok;
    writer w{ok};
    res.encode(w, v);
    messages::ListGroupsResponse back;
    reader r{ok};
    ASSERT_TRUE(back.decode(r, v) && r.at_end()) << v;
    EXPECT_EQ(back.groups.at(0).groupId, res.groups.at(0).groupId) << v;
    res.groups.push_back({std::string(max_string_bytes + 1, 'g'), "consumer", "Empty", "classic"});
    buffer refused;
    writer rw{refused};
    EXPECT_THROW(res.encode(rw, v), std::length_error) << v;
  }
}
