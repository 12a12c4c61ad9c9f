#include "protocol/utf8.hpp"

#include <cstdint>

namespace portask::protocol {
namespace {

// The length of the well-formed sequence `s` starts with (1 to 4), or 0 when it is none.
std::size_t sequence_length(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 1;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 2;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n >= s.size()) return 0;  // cut short
  for (std::size_t k = 1; k <= n; ++k) {
    const auto cc = static_cast<unsigned char>(s[k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n + 1;
}

// How many bytes at the start of `s`, which begins no well-formed sequence, Java's UTF-8
// decoder replaces with one U+FFFD: the lead byte with the continuation bytes after it that
// could still have made a sequence (Unicode's "maximal subpart"), at least one byte. Java
// bounds only E0's second byte, not ED's, so an encoded surrogate (ED A0..BF 80..BF) is one
// unit too.
std::size_t malformed_length(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;  // continuation bytes the lead byte asks for
  unsigned char low = 0x80, high = 0xbf;  // the range of the byte after it
  if (c >= 0xc2 && c <= 0xdf) {
    n = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    if (c == 0xe0) low = 0xa0;  // else overlong
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    if (c == 0xf0) low = 0x90;   // else overlong
    if (c == 0xf4) high = 0x8f;  // else past U+10FFFF
  }
  std::size_t k = 1;
  for (; k <= n && k < s.size(); ++k) {
    const auto cc = static_cast<unsigned char>(s[k]);
    if (cc < (k == 1 ? low : 0x80) || cc > (k == 1 ? high : 0xbf)) break;
  }
  return k;
}

}  // namespace

bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto n = sequence_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string valid_utf8(std::string_view s) {
  if (is_utf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    const auto n = sequence_length(s.substr(i));
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      i += malformed_length(s.substr(i));
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace portask::protocol
