#include "protocol/security/plain.hpp"

namespace portask::protocol::security {

expected<plain_credentials> parse_plain(std::string_view message) {
  constexpr std::size_t max_field = 255;
  const auto first = message.find('\0');
  if (first == std::string_view::npos) return errc::authentication_failed;
  const auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return errc::authentication_failed;
  const auto authzid = message.substr(0, first);
  const auto user = message.substr(first + 1, second - first - 1);
  const auto password = message.substr(second + 1);
  if (password.find('\0') != std::string_view::npos || user.empty() || password.empty() ||
      user.size() > max_field || password.size() > max_field || authzid.size() > max_field)
    return errc::authentication_failed;
  return plain_credentials{std::string(user), std::string(password), std::string(authzid)};
}

}  // namespace portask::protocol::security
