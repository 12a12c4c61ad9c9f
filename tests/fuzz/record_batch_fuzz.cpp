// libFuzzer target: Kafka RecordBatch decoding (length, magic, CRC-32C, decompression,
// records), Produce's transcoding of batches into the binary codec, and message sets of
// magic 0/1. Any input must return a value or an error;
// never crash, hang or over-read.
#include <cstddef>
#include <cstdint>

#include "protocol/kafka/binary_transcode.hpp"
#include "protocol/kafka/crc32c.hpp"
#include "protocol/kafka/message_set.hpp"
#include "protocol/kafka/record_batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portask::protocol;
  std::size_t used = 0;
  auto one = kafka::decode_record_batch(byte_view{data, size}, used, 1u << 20);
  if (one) {
    // What decodes must encode again and decode to the same batch.
    buffer again;
    if (!kafka::encode_record_batch(*one, again)) {
      std::size_t used2 = 0;
      auto back = kafka::decode_record_batch(again, used2, 1u << 24);
      if (!back || !(back->records == one->records)) __builtin_trap();
    }
  }
  (void)kafka::decode_record_batches(byte_view{data, size}, 1u << 20);
  // The same bytes as a message set of magic 0/1 (Produce v0-2): a value or an error.
  message_batch legacy;
  (void)kafka::decode_message_set_into(byte_view{data, size}, "t", 0, 1, legacy, 1u << 20);
  (void)kafka::compressed_beside_others(byte_view{data, size});
  (void)kafka::mixed_magics(byte_view{data, size});
  // Produce's clearing of a log append time mark, in place: whatever the bytes, no over-read;
  // and the batches it counts are the same after it (a mark cleared moves no boundary).
  buffer marked(data, data + size);
  const auto whole = kafka::mark_create_time(marked);
  if (kafka::mark_create_time(marked) != whole) __builtin_trap();
  // The same bytes with a consistent length and CRC-32C, so the fuzzer reaches the
  // decompression and record parsing behind the checksum.
  if (size >= 61) {
    buffer fixed(data, data + size);
    fixed[16] = 2;  // magic
    store_be32(fixed.data() + 8, static_cast<std::uint32_t>(size - 12));
    store_be32(fixed.data() + 17, kafka::crc32c(byte_view{fixed}.subspan(21)));
    std::size_t used2 = 0, used3 = 0;
    auto records = kafka::decode_record_batch(fixed, used2, 1u << 20);
    // The produce path's decode must agree with it: same verdict, one message per record.
    message_batch msgs;
    auto into = kafka::decode_record_batch_into(fixed, used3, "t", 0, msgs, 1u << 20);
    if (records.has_value() != into.has_value()) __builtin_trap();
    if (records && msgs.messages.size() != records->records.size()) __builtin_trap();
    // Produce's binary transcoding takes a plain batch exactly when the decoder does (with
    // records), and then stores what encoding the decoded messages stores, every timestamp
    // kept (a Kafka record's 0 is not unset).
    buffer out;
    auto t = kafka::transcode_to_binary(fixed, 8, out);
    const bool plain = (load_be16(fixed.data() + 21) & kafka::batch_attributes::compression_mask) == 0;
    if (t.has_value() != (into && plain && !msgs.messages.empty())) __builtin_trap();
    if (t) {
      const auto payload = byte_view{out}.subspan(t->payload_at);
      auto scanned = binary_codec::scan(payload);
      if (!scanned) __builtin_trap();
      scanned->timestamps_unset = false;
      scanned->rebasable = true;
      if (!(*scanned == t->scan)) __builtin_trap();
      for (auto& m : msgs.messages) {
        m.topic.clear();
        m.offset = no_offset;
      }
      msgs.messages.front().topic = "t";
      buffer encoded, rebased;
      (void)binary_codec{}.encode(msgs, encoded);
      binary_codec::rebase(payload, t->scan, "t", 0, no_offset, t->scan.base_timestamp_ms, rebased);
      if (encoded != rebased) __builtin_trap();
    }
  }
  return 0;
}
