#pragma once
/// SASL PLAIN (RFC 4616): one message, "authzid NUL authcid NUL passwd". Portask accepts an
/// empty authzid or one equal to the user name (no acting on behalf of another user).

#include <string>
#include <string_view>

#include "protocol/expected.hpp"

namespace portask::protocol::security {

struct plain_credentials {
  std::string username;
  std::string password;
};

/// errc::authentication_failed for a message that is not exactly three NUL-separated fields
/// with a non-empty user and password, fields over 255 bytes, or a foreign authzid.
expected<plain_credentials> parse_plain(std::string_view message);

}  // namespace portask::protocol::security
