#pragma once
/// Integers as portask-cli reads them from its options: an optional '-' and decimal digits,
/// nothing else. CLI11 converts integers with strtoll/strtoull in base 0, so on its own it
/// reads "010" as 8 and "0x10" as 16, and gives an unsigned option "-1" as its largest value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portask::cli {

/// `text` as a decimal integer within [min, max], written without leading zeros (so that a
/// base-0 reader cannot take it for octal); nothing when it is not one, with `why` saying
/// what is wrong.
std::optional<std::string> canonical_decimal(std::string_view text, std::int64_t min, std::int64_t max,
                                             std::string& why);

}  // namespace portask::cli
