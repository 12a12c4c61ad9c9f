#pragma once
/// The client side of a SCRAM exchange (RFC 5802), for Portask's C++ client and CLI: it
/// checks that the server continued the client's nonce, names an iteration count Kafka
/// allows, and proves it knows the password (server-final's signature).

#include <string>
#include <string_view>

#include "protocol/expected.hpp"
#include "protocol/security/scram.hpp"

namespace portask::protocol::security {

class scram_client {
 public:
  /// `nonce`: empty for a fresh random one (tests pass their own).
  scram_client(scram_mechanism m, std::string username, std::string password, std::string nonce = {});

  std::string client_first() const;
  /// client-final-message for the server's server-first-message; errc::authentication_failed
  /// when that message is malformed or does not continue the client's nonce.
  expected<std::string> client_final(std::string_view server_first);
  /// Whether the server-final-message proves the server holds the user's credential.
  std::error_code check_server_final(std::string_view server_final) const;

 private:
  scram_mechanism mechanism_;
  std::string username_;
  std::string password_;
  std::string nonce_;
  std::string auth_message_;
  std::string server_key_;
};

/// saslname escaping of a user name (',' as "=2C", '=' as "=3D").
std::string encode_saslname(std::string_view name);

}  // namespace portask::protocol::security
