#pragma once
/// Kafka's primitive types, for the generated message classes: big-endian integers,
/// (compact) strings, bytes and arrays, UUIDs, unsigned varints for flexible versions.
/// Compact lengths are unsigned varints of N+1 (0 = null); classic ones are INT16 (strings)
/// or INT32 (bytes, arrays) with -1 for null. The reader never reads past its input.
/// Record fields (RecordBatches) are gather_bytes: a writer into a gather_bytes keeps their
/// shared pieces shared; a writer into a plain buffer copies them.
///
/// Lengths are bounded as in Kafka: a string holds at most max_string_bytes (its INT16
/// length; Kafka's generated code puts the same bound on compact strings), bytes, records
/// and arrays at most max_int32_length. The reader refuses a longer one; the writer throws
/// std::length_error before writing anything of it, since a length cut to its field would
/// misalign everything after it (the caller that encodes a response catches it).
///
/// A string is read as Kafka reads it, with Java's `new String(bytes, UTF_8)`: one that is
/// not UTF-8 has each malformed sequence replaced by U+FFFD (utf8.hpp), so a name a client
/// sends names what it would name on Kafka, and every client can decode it when it is listed
/// back. Bytes and records are read as they came.

#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "protocol/gather_bytes.hpp"
#include "protocol/utf8.hpp"
#include "protocol/wire.hpp"

namespace portask::protocol::kafka {

using uuid = std::array<std::uint8_t, 16>;

/// The longest string Kafka encodes or decodes (classic or compact).
inline constexpr std::size_t max_string_bytes = 0x7FFF;
/// The longest bytes, records or array (INT32 lengths).
inline constexpr std::size_t max_int32_length = 0x7FFFFFFF;

class writer {
 public:
  explicit writer(buffer& out) : w_(out) {}
  explicit writer(gather_bytes& out) : w_(out.owned()), gather_(&out) {}
  void i8(std::int8_t v) { w_.u8(static_cast<std::uint8_t>(v)); }
  void i16(std::int16_t v) { w_.u16(static_cast<std::uint16_t>(v)); }
  void u16(std::uint16_t v) { w_.u16(v); }
  void i32(std::int32_t v) { w_.u32(static_cast<std::uint32_t>(v)); }
  void i64(std::int64_t v) { w_.u64(static_cast<std::uint64_t>(v)); }
  void f64(double v) { w_.u64(std::bit_cast<std::uint64_t>(v)); }
  void boolean(bool v) { w_.u8(v ? 1 : 0); }
  void uvarint(std::uint64_t v) { w_.uvarint(v); }
  void raw(const buffer& b) { w_.raw(b.data(), b.size()); }
  void uuid_value(const uuid& u) { w_.raw(u.data(), u.size()); }

  void string(const std::string& s, bool flexible) {
    check_length(s.size(), max_string_bytes, "string");
    if (flexible)
      w_.uvarint(s.size() + 1);
    else
      w_.u16(static_cast<std::uint16_t>(s.size()));
    w_.raw(s);
  }
  void null_string(bool flexible) {
    if (flexible)
      w_.uvarint(0);
    else
      i16(-1);
  }
  void bytes(const std::string& s, bool flexible) {
    check_length(s.size(), max_int32_length, "bytes");
    if (flexible)
      w_.uvarint(s.size() + 1);
    else
      w_.u32(static_cast<std::uint32_t>(s.size()));
    w_.raw(s);
  }
  void null_bytes(bool flexible) {
    if (flexible)
      w_.uvarint(0);
    else
      i32(-1);
  }
  void records(const gather_bytes& r, bool flexible) {
    check_length(r.size(), max_int32_length, "records");
    if (flexible)
      w_.uvarint(r.size() + 1);
    else
      w_.u32(static_cast<std::uint32_t>(r.size()));
    if (!gather_) {
      r.for_each_segment([&](byte_view s) { w_.raw(s.data(), s.size()); });
      return;
    }
    gather_->append_gathered(r);
  }
  void array_length(std::size_t n, bool flexible) {
    check_length(n, max_int32_length, "array");
    if (flexible)
      w_.uvarint(n + 1);
    else
      w_.u32(static_cast<std::uint32_t>(n));
  }
  void null_array(bool flexible) { null_bytes(flexible); }

 private:
  static void check_length(std::size_t n, std::size_t max, const char* what) {
    if (n > max)
      throw std::length_error("a Kafka " + std::string(what) + " of " + std::to_string(n) +
                              " (at most " + std::to_string(max) + ")");
  }
  wire_writer w_;
  gather_bytes* gather_ = nullptr;  ///< where shared pieces go; null: copy them
};

class reader {
 public:
  explicit reader(byte_view in) : r_(in) {}
  bool ok() const noexcept { return r_.ok(); }
  bool at_end() const noexcept { return r_.at_end(); }
  std::size_t remaining() const noexcept { return r_.remaining(); }

  bool i8(std::int8_t& v) { return get<std::uint8_t>(v, [&](auto& u) { return r_.u8(u); }); }
  bool i16(std::int16_t& v) { return get<std::uint16_t>(v, [&](auto& u) { return r_.u16(u); }); }
  bool u16(std::uint16_t& v) { return r_.u16(v); }
  bool i32(std::int32_t& v) { return get<std::uint32_t>(v, [&](auto& u) { return r_.u32(u); }); }
  bool i64(std::int64_t& v) { return get<std::uint64_t>(v, [&](auto& u) { return r_.u64(u); }); }
  bool f64(double& v) {
    std::uint64_t u = 0;
    if (!r_.u64(u)) return false;
    v = std::bit_cast<double>(u);
    return true;
  }
  bool boolean(bool& v) {
    std::uint8_t u = 0;
    if (!r_.u8(u)) return false;
    v = u != 0;
    return true;
  }
  bool uvarint(std::uint64_t& v) { return r_.uvarint(v); }
  bool raw(std::size_t n, byte_view& out) { return r_.raw(n, out); }
  bool uuid_value(uuid& u) {
    byte_view b;
    if (!r_.raw(u.size(), b)) return false;
    std::memcpy(u.data(), b.data(), u.size());
    return true;
  }

  /// Length of a string, bytes or array; -1 for null.
  bool length(std::int64_t& n, bool flexible, bool wide) {
    if (flexible) {
      std::uint64_t u = 0;
      if (!r_.uvarint(u) || u > 0x7FFFFFFF) return fail();
      n = static_cast<std::int64_t>(u) - 1;
      return true;
    }
    if (wide) {
      std::int32_t v = 0;
      if (!i32(v) || v < -1) return fail();
      n = v;
      return true;
    }
    std::int16_t v = 0;
    if (!i16(v) || v < -1) return fail();
    n = v;
    return true;
  }
  bool array_length(std::int64_t& n, bool flexible) { return length(n, flexible, true); }

  bool nullable_string(std::optional<std::string>& s, bool flexible) {
    return nullable(s, flexible, false);
  }
  bool string(std::string& s, bool flexible) {
    std::optional<std::string> o;
    if (!nullable(o, flexible, false) || !o) return fail();
    s = std::move(*o);
    return true;
  }
  bool nullable_bytes(std::optional<std::string>& s, bool flexible) {
    return nullable(s, flexible, true);
  }
  bool bytes(std::string& s, bool flexible) {
    std::optional<std::string> o;
    if (!nullable(o, flexible, true) || !o) return fail();
    s = std::move(*o);
    return true;
  }
  bool nullable_records(std::optional<gather_bytes>& g, bool flexible) {
    std::int64_t n = 0;
    if (!length(n, flexible, true)) return false;
    if (n < 0) {
      g.reset();
      return true;
    }
    byte_view b;
    if (!r_.raw(static_cast<std::size_t>(n), b)) return false;
    g.emplace(buffer(b.begin(), b.end()));
    return true;
  }
  bool records(gather_bytes& g, bool flexible) {
    std::optional<gather_bytes> o;
    if (!nullable_records(o, flexible) || !o) return fail();
    g = std::move(*o);
    return true;
  }

 private:
  template <class U, class T, class F>
  bool get(T& v, F&& f) {
    U u{};
    if (!f(u)) return false;
    v = static_cast<T>(u);
    return true;
  }
  bool nullable(std::optional<std::string>& s, bool flexible, bool wide) {
    std::int64_t n = 0;
    if (!length(n, flexible, wide)) return false;
    // A compact string's varint could say more; Kafka refuses that, and so a UTF-8 string
    // read here can always be written back.
    if (!wide && n > static_cast<std::int64_t>(max_string_bytes)) return fail();
    if (n < 0) {
      s.reset();
      return true;
    }
    byte_view b;
    if (!r_.raw(static_cast<std::size_t>(n), b)) return false;
    const auto text = as_chars(b);
    // The limit above is on the bytes sent, as Kafka's: a string that is not UTF-8 may read
    // longer (three bytes for each U+FFFD). Echoed back past max_string_bytes, it makes the
    // writer throw std::length_error, on which the broker closes the connection instead of
    // answering, as Kafka's serializer fails on such a string.
    if (wide || is_utf8(text))
      s.emplace(text);
    else
      s.emplace(valid_utf8(text));
    return true;
  }
  bool fail() {
    r_.fail();
    return false;
  }
  wire_reader r_;
};

}  // namespace portask::protocol::kafka
