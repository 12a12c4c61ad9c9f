// libFuzzer target: the native stream decoder and payload decoders, fed in random chunks.
#include <cstddef>
#include <cstdint>

#include "protocol/codec_manager.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/native_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portask::protocol;
  static const codec_manager codecs{1u << 20};
  frame_decoder d{frame_limits{1u << 20}};
  std::size_t pos = 0;
  while (pos < size) {
    const std::size_t chunk = 1 + data[pos] % 64;
    d.feed(byte_view{data + pos, std::min(chunk, size - pos)});
    pos += chunk;
    for (;;) {
      auto f = d.next();
      if (!f || !*f) break;
      const auto& frame = **f;
      (void)codecs.decode(frame.header.flags, frame.payload);
      (void)native::decode_publish(frame.payload);
      (void)native::decode_fetch(frame.payload);
      (void)native::decode_topic_admin(frame.payload);
      (void)native::decode_deliver(frame.payload);
    }
  }
  (void)d.finish();
  return 0;
}
