#pragma once
// Batches that exercise every field of the message model; shared by the codec tests.

#include <limits>
#include <string>

#include "protocol/message.hpp"

namespace portask::protocol::test {

inline message sample_message(int i) {
  message m;
  m.id = static_cast<std::uint64_t>(1000 + i);
  m.topic = "orders";
  m.partition = 3;
  m.key = "key-" + std::to_string(i);
  m.value = "value " + std::to_string(i);
  m.headers = {{"trace", std::string("abc")}, {"null-header", std::nullopt}};
  m.timestamp_ms = 1'700'000'000'000 + i;
  m.priority = static_cast<std::uint8_t>(i % 3);
  m.expires_at_ms = i % 2 ? 1'800'000'000'000 : no_expiry;
  m.offset = 42 + i;
  return m;
}

inline message_batch sample_batch(int n) {
  message_batch b;
  for (int i = 0; i < n; ++i) b.messages.push_back(sample_message(i));
  return b;
}

/// Named cases: the interesting shapes a codec must round-trip exactly.
inline std::vector<std::pair<std::string, message_batch>> codec_cases() {
  std::vector<std::pair<std::string, message_batch>> cases;
  cases.emplace_back("empty_batch", message_batch{});
  cases.emplace_back("typical", sample_batch(10));

  message_batch empties;
  message e;
  e.topic = "t";
  e.key = std::string{};
  e.value = std::string{};
  empties.messages.push_back(e);
  message nulls;
  nulls.topic = "t";
  empties.messages.push_back(nulls);  // null key, null value (tombstone)
  cases.emplace_back("empty_and_null_values", empties);

  message_batch binary;
  message b;
  b.topic = "bin";
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  b.key = all;
  b.value = std::string("\0\xff\x80zero", 7);
  b.headers = {{std::string("\0k", 2), all}};
  binary.messages.push_back(b);
  cases.emplace_back("binary_keys", binary);

  message_batch large;
  message l;
  l.topic = "large";
  l.value = std::string(1 << 20, 'L');
  large.messages.push_back(l);
  cases.emplace_back("large_value", large);

  message_batch headers;
  message h;
  h.topic = "hdr";
  for (int i = 0; i < 500; ++i)
    h.headers.push_back({"h" + std::to_string(i), std::string(static_cast<std::size_t>(i), 'v')});
  headers.messages.push_back(h);
  cases.emplace_back("many_headers", headers);

  message_batch mixed;  // several topics, partitions and extreme numbers in one batch
  for (int i = 0; i < 4; ++i) {
    message m = sample_message(i);
    m.topic = "topic-" + std::to_string(i % 2);
    m.partition = i == 3 ? -7 : i;
    m.offset = i == 2 ? std::numeric_limits<std::int64_t>::max() : no_offset;
    m.timestamp_ms = i == 1 ? std::numeric_limits<std::int64_t>::min() : 5;
    m.id = std::numeric_limits<std::uint64_t>::max();
    m.priority = 255;
    mixed.messages.push_back(m);
  }
  cases.emplace_back("mixed_topics_and_extremes", mixed);
  return cases;
}

}  // namespace portask::protocol::test
