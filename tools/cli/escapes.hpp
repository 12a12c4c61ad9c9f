#pragma once
/// The escapes portask-cli reads in the text of its options (produce -K, a consume --format
/// template): kcat's \t, \n and \xNN, plus \r and \\ (a backslash). \x takes exactly two hex
/// digits (\x00 included; kcat's takes as many as follow and keeps the low byte). Any other
/// character stands for itself. A backslash before anything else is refused (kcat keeps it):
/// '\T' for '\t' would stand for a backslash and a T, never for a tab.

#include <optional>
#include <string>
#include <string_view>

namespace portask::cli {

/// The bytes `text` stands for; nothing when it holds a backslash that starts no escape
/// above, with `why` saying what is wrong.
std::optional<std::string> unescape(std::string_view text, std::string& why);

}  // namespace portask::cli
