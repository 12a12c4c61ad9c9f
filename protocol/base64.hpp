#pragma once
/// Standard base64 (RFC 4648, with padding), used to carry byte strings in JSON.

#include <optional>
#include <string>
#include <string_view>

namespace portask::protocol {

std::string base64_encode(std::string_view in);
/// std::nullopt on any character outside the alphabet or wrong padding.
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace portask::protocol
