#include "protocol/frame.hpp"

#include "protocol/crc32.hpp"

namespace portask::protocol {

// The switch over every type is generated with the enum (portask/native/native_types.hpp).
bool is_known_type(std::uint8_t type) noexcept { return schema_tables::known_type(type); }

std::string_view to_string(message_type t) noexcept {
  const std::string_view name = schema_tables::type_name(t);
  return name.empty() ? "unknown" : name;
}

void encode_header(const frame_header& h,
                   std::span<std::uint8_t, frame_header_size> out) noexcept {
  std::uint8_t* p = out.data();
  store_be32(p, frame_magic);
  p[4] = h.version;
  p[5] = static_cast<std::uint8_t>(h.type);
  store_be16(p + 6, h.flags);
  store_be32(p + 8, h.length);
  store_be32(p + 12, h.crc);
}

std::error_code check_header_prefix(byte_view prefix) noexcept {
  const std::size_t n = prefix.size() < 4 ? prefix.size() : 4;
  for (std::size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<std::uint8_t>(frame_magic >> (24 - 8 * i));  // big-endian
    if (prefix[i] != byte) return errc::bad_magic;
  }
  if (prefix.size() > 4 && prefix[4] != frame_version) return errc::unsupported_version;
  if (prefix.size() > 5 && !is_known_type(prefix[5])) return errc::unknown_type;
  return {};
}

expected<frame_header> decode_header(byte_view in, const frame_limits& limits) {
  if (auto ec = check_header_prefix(in.first(in.size() < frame_header_size ? in.size()
                                                                            : frame_header_size)))
    return ec;
  if (in.size() < frame_header_size) return errc::truncated;
  frame_header h;
  h.version = in[4];
  h.type = static_cast<message_type>(in[5]);
  h.flags = load_be16(in.data() + 6);
  h.length = load_be32(in.data() + 8);
  h.crc = load_be32(in.data() + 12);
  if (h.length > limits.max_payload) return errc::frame_too_large;
  return h;
}

expected<frame_view> decode_frame(byte_view in, const frame_limits& limits) {
  auto h = decode_header(in, limits);
  if (!h) return h.error();
  if (in.size() - frame_header_size < h->length) return errc::truncated;
  byte_view payload = in.subspan(frame_header_size, h->length);
  if (crc32(payload) != h->crc) return errc::crc_mismatch;
  return frame_view{*h, payload};
}

void append_frame(buffer& out, message_type type, std::uint16_t flags, byte_view payload) {
  const std::size_t pos = begin_frame(out);
  out.insert(out.end(), payload.begin(), payload.end());
  finish_frame(out, pos, type, flags);
}

std::size_t begin_frame(buffer& out) {
  const std::size_t pos = out.size();
  out.resize(pos + frame_header_size);
  return pos;
}

void finish_frame(buffer& out, std::size_t header_pos, message_type type, std::uint16_t flags) {
  byte_view payload{out.data() + header_pos + frame_header_size,
                    out.size() - header_pos - frame_header_size};
  frame_header h;
  h.type = type;
  h.flags = flags;
  h.length = static_cast<std::uint32_t>(payload.size());
  h.crc = crc32(payload);
  encode_header(h, std::span<std::uint8_t, frame_header_size>(out.data() + header_pos,
                                                              frame_header_size));
}

}  // namespace portask::protocol
