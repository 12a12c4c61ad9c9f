// libFuzzer target: Kafka request bodies as the broker decodes them. The first two bytes
// pick the API and version; the rest is the body.
#include <cstddef>
#include <cstdint>

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
  const auto version = static_cast<std::int16_t>(data[1] % 16);
  switch (data[0] % 8) {
    case 0: decode<msg::ProduceRequest>(body, version); break;
    case 1: decode<msg::FetchRequest>(body, version); break;
    case 2: decode<msg::MetadataRequest>(body, version); break;
    case 3: decode<msg::ApiVersionsRequest>(body, version); break;
    case 4: decode<msg::ListOffsetsRequest>(body, version); break;
    case 5: decode<msg::CreateTopicsRequest>(body, version); break;
    case 6: decode<msg::DeleteTopicsRequest>(body, version); break;
    default: decode<msg::RequestHeader>(body, version % 3); break;
  }
  return 0;
}
