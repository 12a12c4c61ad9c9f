#include "actors/connections/http/http_auth.hpp"

#include "protocol/base64.hpp"

namespace portask {

http_verdict check_http_caller(access_control& access, std::string_view authorization,
                               const std::string& address) {
  if (!access.authorization()) return {};
  constexpr std::string_view scheme = "Basic ";
  if (authorization.empty()) return {401, "credentials required (HTTP Basic)"};
  if (authorization.size() <= scheme.size() || authorization.substr(0, scheme.size()) != scheme)
    return {401, "only HTTP Basic credentials are accepted"};
  if (!access.may_authenticate(address)) return {401, "too many failed authentications; try again later"};
  const auto decoded = protocol::base64_decode(authorization.substr(scheme.size()));
  const auto colon = decoded ? decoded->find(':') : std::string::npos;
  const auto snapshot = access.snapshot();
  if (colon == std::string::npos || !snapshot->loaded ||
      !snapshot->password_matches(decoded->substr(0, colon), decoded->substr(colon + 1))) {
    access.authentication_failed(address);
    return {401, "invalid credentials"};
  }
  const auto principal = "User:" + decoded->substr(0, colon);
  if (!snapshot->acls.is_super_user(principal)) return {403, principal + " is not a super user"};
  return {};
}

}  // namespace portask
