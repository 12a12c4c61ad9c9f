#pragma once
/// SASL PLAIN (RFC 4616): one message, "authzid NUL authcid NUL passwd". Portask accepts an
/// empty authzid or one equal to the user name (no acting on behalf of another user); the
/// session checks that after the password, as Kafka's PlainSaslServer does.

#include <string>
#include <string_view>

#include "protocol/expected.hpp"

namespace portask::protocol::security {

struct plain_credentials {
  std::string username;
  std::string password;
  std::string authzid;  ///< empty when the client names no identity to act as
};

/// errc::authentication_failed for a message that is not exactly three NUL-separated fields
/// with a non-empty user and password, or fields over 255 bytes.
expected<plain_credentials> parse_plain(std::string_view message);

}  // namespace portask::protocol::security
