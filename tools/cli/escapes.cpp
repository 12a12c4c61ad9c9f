#include "tools/cli/escapes.hpp"

namespace portask::cli {
namespace {

// The value of a hex digit; -1 for another character.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> unescape(std::string_view text, std::string& why) {
  static constexpr const char* escapes = "(escapes: \\t \\n \\r \\\\ \\xNN)";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) {
      why = std::string("a backslash ends it: write \\\\ for a backslash ") + escapes;
      return std::nullopt;
    }
    switch (text[i]) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      case 'x': {
        const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (high < 0 || low < 0) {
          why = std::string("\\x takes two hex digits ") + escapes;
          return std::nullopt;
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
        break;
      }
      default:
        why = "unknown escape \\" + std::string(1, text[i]) + " " + escapes;
        return std::nullopt;
    }
  }
  return out;
}

}  // namespace portask::cli
