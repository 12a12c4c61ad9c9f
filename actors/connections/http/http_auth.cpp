#include "actors/connections/http/http_auth.hpp"

#include <algorithm>

#include "protocol/base64.hpp"

namespace portask {

http_verdict check_http_caller(access_control& access, std::string_view authorization,
                               const std::string& address) {
  if (!access.authorization()) return {};
  constexpr std::string_view scheme = "basic ";
  if (authorization.empty()) return {401, "credentials required (HTTP Basic)"};
  // The scheme's name is case-insensitive, and one space or more comes before the
  // credentials (RFC 9110, 11.4: auth-scheme 1*SP token68).
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  const bool basic = authorization.size() >= scheme.size() &&
                     std::equal(scheme.begin(), scheme.end(), authorization.begin(),
                                [&](char a, char b) { return a == lower(b); });
  const auto credentials = basic ? authorization.find_first_not_of(' ', scheme.size()) : std::string_view::npos;
  if (credentials == std::string_view::npos) return {401, "only HTTP Basic credentials are accepted"};
  // Not 401, whose challenge makes a browser ask again at once.
  if (!access.may_authenticate(address)) return {429, "too many failed authentications; try again later"};
  // Base64 with its padding, as RFC 7617 has it (Go's and Python's decoders insist on it too):
  // without, it does not decode, and the credentials are invalid.
  const auto decoded = protocol::base64_decode(authorization.substr(credentials));
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  const auto snapshot = access.snapshot();
  // Credentials not loaded yet (the broker is starting): the caller is not wrong, the broker
  // is not ready.
  if (!snapshot->loaded) return {503, "credentials are not loaded yet; try again"};
  // A console or a scraper sends the same credentials on every request: a password verified
  // recently is not derived again (password_cache.hpp).
  if (colon == std::string::npos ||
      !access.passwords().matches(*snapshot, decoded->substr(0, colon),
                                  std::string_view(*decoded).substr(colon + 1))) {
    access.authentication_failed(address);
    return {401, "invalid credentials"};
  }
  const auto principal = "User:" + decoded->substr(0, colon);
  if (!snapshot->acls.is_super_user(principal)) return {403, principal + " is not a super user"};
  return {};
}

}  // namespace portask
