#include "protocol/frame_merge.hpp"

#include <algorithm>

#include "protocol/codec_manager.hpp"
#include "protocol/codecs/binary_codec.hpp"
#include "protocol/codecs/binary_message.hpp"
#include "protocol/error.hpp"
#include "protocol/frame.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol {
namespace {

struct batch_identity {
  byte_view topic;
  std::int64_t partition = 0;
  std::int64_t base_offset = 0;
};

// The topic, partition and base offset a binary batch's header names (scan() checks the
// rest of it).
bool read_identity(byte_view payload, batch_identity& id) {
  wire_reader r{payload};
  std::uint8_t version = 0;
  std::uint64_t count = 0;
  return r.u8(version) && r.uvarint(count) && binary_message::read_bytes(r, id.topic) &&
         r.varint(id.partition) && r.varint(id.base_offset);
}

}  // namespace

std::error_code merge_frames(std::span<const byte_view> frames, buffer& out) {
  if (frames.empty()) return errc::invalid_request;
  struct part {
    byte_view payload;
    binary_batch_scan scan;
  };
  std::vector<part> parts;
  parts.reserve(frames.size());
  std::uint16_t flags = 0;
  batch_identity first;
  std::uint64_t count = 0;
  std::size_t bytes = 0;
  for (const auto& f : frames) {
    auto view = decode_frame(f);
    if (!view) return view.error();
    if (view->header.type != message_type::publish || frame_size(*view) != f.size())
      return errc::invalid_request;
    auto enc = encoding_of(view->header.flags);
    if (!enc) return enc.error();
    if (*enc != encoding{}) return errc::invalid_request;  // binary, uncompressed only
    auto scan = binary_codec::scan(view->payload);
    if (!scan) return scan.error();
    if (!scan->rebasable) return errc::invalid_request;
    batch_identity id;
    if (!read_identity(view->payload, id)) return errc::malformed_payload;
    if (parts.empty()) {
      flags = view->header.flags;
      first = id;
    } else if (!std::ranges::equal(id.topic, first.topic) || id.partition != first.partition ||
               id.base_offset != first.base_offset || view->header.flags != flags ||
               scan->timestamps_unset != parts.front().scan.timestamps_unset) {
      // Another partition's batch, or one whose messages would read differently under the
      // first's header: offsets (each message inherits the base), flags (priority), or
      // timestamps set next to unset ones (a broker stamps the unset ones of a batch).
      return errc::invalid_request;
    }
    count += scan->count;
    bytes += view->payload.size();
    parts.push_back({view->payload, *scan});
  }
  if (count > UINT32_MAX) return errc::invalid_request;

  const std::size_t start = out.size();
  // Re-based timestamp deltas may take more bytes than they did: room for a few each.
  out.reserve(start + frame_header_size + 32 + first.topic.size() + bytes + count * 4);
  const std::size_t pos = begin_frame(out);
  binary_batch_scan whole = parts.front().scan;
  whole.count = static_cast<std::uint32_t>(count);
  whole.headers = 0;
  for (const auto& p : parts) whole.headers += p.scan.headers;
  const auto base_ts = parts.front().scan.base_timestamp_ms;
  binary_codec::write_header(whole, as_chars(first.topic), static_cast<std::int32_t>(first.partition),
                             first.base_offset, base_ts, out);
  for (const auto& p : parts)
    if (!binary_codec::append_messages(p.payload, p.scan, base_ts, out)) {
      out.resize(start);
      return errc::malformed_payload;
    }
  finish_frame(out, pos, message_type::publish, flags);
  return {};
}

}  // namespace portask::protocol
