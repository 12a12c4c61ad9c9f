#include "tools/cli/numbers.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace portask::cli {

std::optional<std::string> canonical_decimal(std::string_view text, std::int64_t min, std::int64_t max,
                                             std::string& why) {
  const std::string range = max == std::numeric_limits<std::int64_t>::max()
                                ? std::to_string(min) + " or more"
                                : std::to_string(min) + " to " + std::to_string(max);
  const bool negative = text.starts_with('-');
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    why = "'" + std::string(text) + "' is not a decimal integer (expected " + range + ")";
    return std::nullopt;
  }
  if (negative && min >= 0) {
    why = "'" + std::string(text) + "' is negative (expected " + range + ")";
    return std::nullopt;
  }
  // from_chars reads decimal only, whatever the leading zeros; the range check follows.
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < min || value > max) {
    why = "'" + std::string(text) + "' is out of range (expected " + range + ")";
    return std::nullopt;
  }
  return std::to_string(value);
}

}  // namespace portask::cli
