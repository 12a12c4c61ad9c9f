#include "tools/cli/delimiter.hpp"

#include "tools/cli/escapes.hpp"

namespace portask::cli {

std::optional<std::string> parse_delimiter(std::string_view text, std::string& why) {
  if (text.empty()) {
    why = "an empty delimiter never splits anything (leave the option out for no key)";
    return std::nullopt;
  }
  return unescape(text, why);
}

}  // namespace portask::cli
