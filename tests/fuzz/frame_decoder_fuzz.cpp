// libFuzzer target: the native stream decoder and payload decoders, fed in random chunks;
// and the input as a binary batch, where the broker's scan must agree with decode and a
// batch kept as it came must store exactly the bytes decoding and encoding would give.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "protocol/codec_manager.hpp"
#include "protocol/codecs/binary_codec.hpp"
#include "protocol/frame_decoder.hpp"
#include "protocol/native_messages.hpp"

namespace {

using namespace portask::protocol;

void check_scan(byte_view in) {
  const binary_codec codec;
  const auto decoded = codec.decode(in);
  const auto scanned = binary_codec::scan(in);
  if (static_cast<bool>(decoded) != static_cast<bool>(scanned)) std::abort();
  if (!decoded) return;
  if (scanned->count != decoded->messages.size()) std::abort();
  if (!scanned->rebasable) return;
  const std::int64_t now = 1'800'000'000'000;
  const auto base = scanned->timestamps_unset ? now : scanned->base_timestamp_ms;
  buffer rebased;
  binary_codec::rebase(in, *scanned, "fuzz", 7, no_offset, base, rebased);
  message_batch normalised = *decoded;
  for (auto& m : normalised.messages) {
    m.topic = "fuzz";
    m.partition = 7;
    m.offset = no_offset;
    if (m.timestamp_ms == 0) m.timestamp_ms = now;
  }
  buffer encoded;
  if (codec.encode(normalised, encoded) || encoded != rebased) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_scan(byte_view{data, size});
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
      (void)codecs.decode_received(frame.header.flags, frame.payload);
      (void)native::decode_publish(frame.payload);
      (void)native::decode_fetch(frame.payload);
      (void)native::decode_topic_admin(frame.payload);
      (void)native::decode_deliver(frame.payload);
    }
  }
  (void)d.finish();
  return 0;
}
