#pragma once
/// Delimiters as portask-cli reads them from its options (produce -K), with the escapes of
/// kcat's -K and -D: \t a tab, \n a newline, \r a carriage return, \\ a backslash, \xNN the
/// byte of two hex digits (\x00 included); any other character stands for itself. A
/// backslash before anything else is refused rather than kept: '\T' for '\t' would split at
/// a backslash and a T, never at a tab.

#include <optional>
#include <string>
#include <string_view>

namespace portask::cli {

/// The bytes `text` stands for; nothing when it is empty (a delimiter that never splits) or
/// holds a backslash that starts no escape above, with `why` saying what is wrong.
std::optional<std::string> parse_delimiter(std::string_view text, std::string& why);

}  // namespace portask::cli
