#pragma once
/// Delimiters as portask-cli reads them from its options (produce -K), with the escapes of
/// tools/cli/escapes.hpp: kcat's \t \n \xNN, plus \r and \\; \x takes exactly two hex
/// digits; an unknown escape is refused (kcat keeps it, splitting where nobody meant to).

#include <optional>
#include <string>
#include <string_view>

namespace portask::cli {

/// The bytes `text` stands for; nothing when it is empty (a delimiter that never splits) or
/// holds a backslash that starts no escape, with `why` saying what is wrong.
std::optional<std::string> parse_delimiter(std::string_view text, std::string& why);

}  // namespace portask::cli
