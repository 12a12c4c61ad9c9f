// Kafka's length limits at the edge, both ways: a string of 32767 bytes is written and read
// back, one byte more is refused by the writer (std::length_error, nothing written: a length
// cut to its INT16 field would misalign everything after it) and by the reader (a compact
// string's varint could say more). Strings are read as Kafka reads them (Java's UTF-8
// decoding), bytes as they came.
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// Kafka reads a STRING with Java's new String(bytes, UTF_8): a group or client id that is not
// UTF-8 becomes the UTF-8 text Kafka makes of it, one U+FFFD per malformed sequence, so the
// broker never holds a name a Kafka client cannot decode when it is listed back.
TEST(KafkaWire, AStringThatIsNotUtf8IsReadAsJavaReadsItAndAValidOneAsItCame) {
  const std::string fffd = "\xef\xbf\xbd";
  for (const bool flexible : {false, true}) {
    for (const auto& [sent, want] : std::vector<std::pair<std::string, std::string>>{
             {"bad\xff\xfe" "utf8", "bad" + fffd + fffd + "utf8"},
             {"cut\xe2\x82", "cut" + fffd},
             {"gr\xc3\xbcppe-\xe2\x82\xac", "gr\xc3\xbcppe-\xe2\x82\xac"},
             {std::string("nul\0", 4), std::string("nul\0", 4)}}) {
      buffer out;
      writer w{out};
      w.string(sent, flexible);
      w.string(sent, flexible);
      w.i32(7);
      reader r{out};
      std::string s;
      std::optional<std::string> nullable;
      std::int32_t after = 0;
      ASSERT_TRUE(r.string(s, flexible) && r.nullable_string(nullable, flexible) && r.i32(after) && r.at_end())
          << flexible;
      EXPECT_EQ(s, want) << flexible;
      EXPECT_EQ(nullable.value_or("(null)"), want) << flexible;
      EXPECT_EQ(after, 7) << "what follows is where it belongs";
    }
  }
}

// Bytes (a SASL token, a member's subscription) and records are the client's: read as they
// came, whatever they hold.
TEST(KafkaWire, BytesAndRecordsThatAreNotUtf8AreReadAsTheyCame) {
  const std::string raw = "\xff\xfe\xe2\x82\xc0\xaf";
  for (const bool flexible : {false, true}) {
    buffer out;
    writer w{out};
    w.bytes(raw, flexible);
    w.bytes(raw, flexible);
    w.records(gather_bytes(raw), flexible);
    reader r{out};
    std::string b;
    std::optional<std::string> nullable;
    std::optional<gather_bytes> records;
    ASSERT_TRUE(r.bytes(b, flexible) && r.nullable_bytes(nullable, flexible) &&
                r.nullable_records(records, flexible) && r.at_end())
        << flexible;
    EXPECT_EQ(b, raw) << flexible;
    EXPECT_EQ(nullable.value_or("(null)"), raw) << flexible;
    ASSERT_TRUE(records) << flexible;
    EXPECT_TRUE(*records == gather_bytes(raw)) << flexible;
  }
}

// The limit is on the bytes sent, as Kafka's: the longest string, every byte bad, is read
// (three times longer) and cannot be written back (the broker closes the connection rather
// than echo it, as Kafka's serializer fails on it).
TEST(KafkaWire, TheLongestStringThatIsNotUtf8IsReadLongerThanAKafkaStringHolds) {
  buffer in;
  writer w{in};
  w.string(std::string(max_string_bytes, '\x80'), false);
  reader r{in};
  std::string s;
  ASSERT_TRUE(r.string(s, false) && r.at_end());
  EXPECT_EQ(s.size(), 3 * max_string_bytes);
  buffer out;
  writer back{out};
  EXPECT_THROW(back.string(s, false), std::length_error);
}
