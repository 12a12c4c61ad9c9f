// libFuzzer target: Kafka message bodies as the broker decodes them, for every generated
// message. The first two bytes pick the message and its version; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "portask/kafka/kafka_messages.hpp"

namespace msg = portask::protocol::kafka::messages;
using portask::protocol::byte_view;
using portask::protocol::kafka::reader;

namespace {
template <class T>
void decode(byte_view body, std::int16_t version) {
  T value;
  reader r{body};
  (void)value.decode(r, version);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const byte_view body{data + 2, size - 2};
  // Every generated message (requests, responses, the header), at one of its versions.
  int count = 0;
  msg::for_each_message([&](const auto&, const char*, std::int16_t, std::int16_t) { ++count; });
  const int pick = data[0] % count;
  int index = 0;
  msg::for_each_message([&](const auto& sample, const char*, std::int16_t lo, std::int16_t hi) {
    if (index++ != pick) return;
    const auto version = static_cast<std::int16_t>(lo + data[1] % (hi - lo + 1));
    decode<std::decay_t<decltype(sample)>>(body, version);
  });
  return 0;
}
