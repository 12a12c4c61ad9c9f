#pragma once
/// Bounds-checked primitive encoders and decoders shared by the native payload formats and
/// the Kafka protocol: big-endian integers, unsigned LEB128 varints and zig-zag varints.
///
/// `wire_reader` never reads past its view: every getter returns false once the input runs
/// out (and stays failed), so a decoder can read a whole structure and check once at the end.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/bytes.hpp"

namespace portask::protocol {

inline constexpr std::uint64_t zigzag_encode(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline constexpr std::int64_t zigzag_decode(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

/// Two's-complement addition and subtraction, as Java's long arithmetic: deltas from hostile
/// input wrap instead of overflowing (undefined behaviour in C++), and any pair round-trips.
inline constexpr std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline constexpr std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

/// Appends to a buffer. Growth is the buffer's own; callers reserve when they know sizes.
class wire_writer {
 public:
  explicit wire_writer(buffer& out) noexcept : out_(&out) {}

  void u8(std::uint8_t v) { out_->push_back(v); }
  void u16(std::uint16_t v) { put_be(v, 2); }
  void u32(std::uint32_t v) { put_be(v, 4); }
  void u64(std::uint64_t v) { put_be(v, 8); }
  void uvarint(std::uint64_t v) {
    std::uint8_t tmp[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      tmp[n++] = static_cast<std::uint8_t>(v | 0x80);
      v >>= 7;
    }
    tmp[n++] = static_cast<std::uint8_t>(v);
    raw(tmp, n);
  }
  void varint(std::int64_t v) { uvarint(zigzag_encode(v)); }
  void raw(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }
  void raw(std::string_view s) { raw(s.data(), s.size()); }
  /// A u16 length, then the bytes (the native protocol's strings); cut at 65535 bytes.
  void str16(std::string_view s) {
    const auto n = std::min<std::size_t>(s.size(), 0xFFFF);
    u16(static_cast<std::uint16_t>(n));
    raw(s.substr(0, n));
  }
  /// Length (uvarint) then bytes.
  void bytes(std::string_view s) {
    uvarint(s.size());
    raw(s);
  }
  /// Nullable bytes: uvarint(len + 1), 0 meaning null.
  void nullable_bytes(const std::optional<std::string>& s) {
    if (!s) {
      uvarint(0);
      return;
    }
    uvarint(s->size() + 1);
    raw(*s);
  }
  std::size_t size() const noexcept { return out_->size(); }
  buffer& target() noexcept { return *out_; }

 private:
  // Written in place: copying a small stack array through vector::insert makes GCC 12 at -O3
  // report out-of-bounds copies that cannot happen (-Warray-bounds, -Wstringop-overflow).
  void put_be(std::uint64_t v, int n) {
    const auto at = out_->size();
    out_->resize(at + static_cast<std::size_t>(n));
    auto* p = out_->data() + at;
    for (int i = n - 1; i >= 0; --i) {
      p[i] = static_cast<std::uint8_t>(v);
      v >>= 8;
    }
  }
  buffer* out_;
};

/// Reads from a borrowed view. All getters return false on underflow or overflow.
class wire_reader {
 public:
  explicit wire_reader(byte_view in) noexcept : p_(in.data()), end_(in.data() + in.size()) {}

  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return p_ == end_; }
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  void fail() noexcept { ok_ = false; p_ = end_; }

  bool u8(std::uint8_t& v) noexcept {
    if (!need(1)) return false;
    v = *p_++;
    return true;
  }
  bool u16(std::uint16_t& v) noexcept {
    if (!need(2)) return false;
    v = load_be16(p_);
    p_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) noexcept {
    if (!need(4)) return false;
    v = load_be32(p_);
    p_ += 4;
    return true;
  }
  bool u64(std::uint64_t& v) noexcept {
    if (!need(8)) return false;
    v = load_be64(p_);
    p_ += 8;
    return true;
  }
  /// Unsigned LEB128, at most 10 bytes and no bits beyond 64.
  bool uvarint(std::uint64_t& v) noexcept {
    std::uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return fail_false();
      std::uint8_t b = *p_++;
      if (shift == 63 && b > 1) return fail_false();
      result |= std::uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift > 0) overlong_ = true;  // a 0 last byte: longer than needed
        v = result;
        return true;
      }
    }
    return fail_false();
  }
  bool varint(std::int64_t& v) noexcept {
    std::uint64_t u;
    if (!uvarint(u)) return false;
    v = zigzag_decode(u);
    return true;
  }
  /// A view of the next n bytes, consumed.
  bool raw(std::size_t n, byte_view& out) noexcept {
    if (!need(n)) return false;
    out = {p_, n};
    p_ += n;
    return true;
  }
  /// A u16 length, then the bytes.
  bool str16(std::string& out) {
    std::uint16_t n = 0;
    byte_view v;
    if (!u16(n) || !raw(n, v)) return false;
    out.assign(reinterpret_cast<const char*>(v.data()), v.size());
    return true;
  }
  bool bytes(std::string& out) {
    std::uint64_t n;
    byte_view v;
    if (!uvarint(n) || !raw_checked(n, v)) return false;
    out.assign(reinterpret_cast<const char*>(v.data()), v.size());
    return true;
  }
  bool nullable_bytes(std::optional<std::string>& out) {
    std::uint64_t n;
    if (!uvarint(n)) return false;
    if (n == 0) {
      out.reset();
      return true;
    }
    byte_view v;
    if (!raw_checked(n - 1, v)) return false;
    out.emplace(reinterpret_cast<const char*>(v.data()), v.size());
    return true;
  }
  /// Consumes a length-prefixed byte string without copying it (as bytes() would read it).
  bool skip_bytes() noexcept {
    std::uint64_t n;
    byte_view v;
    return uvarint(n) && raw_checked(n, v);
  }
  /// Consumes a nullable byte string without copying it (as nullable_bytes() would read it).
  bool skip_nullable_bytes() noexcept {
    std::uint64_t n;
    byte_view v;
    return uvarint(n) && (n == 0 || raw_checked(n - 1, v));
  }
  /// Whether a varint read so far was longer than its value needs (valid, but not how
  /// wire_writer writes it).
  bool read_overlong_varint() const noexcept { return overlong_; }
  /// Where the next byte would be read from.
  const std::uint8_t* position() const noexcept { return p_; }

 private:
  bool need(std::size_t n) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < n) return fail_false();
    return true;
  }
  bool raw_checked(std::uint64_t n, byte_view& out) noexcept {
    if (n > remaining()) return fail_false();
    return raw(static_cast<std::size_t>(n), out);
  }
  bool fail_false() noexcept {
    fail();
    return false;
  }
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  bool ok_ = true;
  bool overlong_ = false;
};

}  // namespace portask::protocol
