#pragma once
// Test support: a throw-away PKI made with the openssl command line in a directory: a CA, a
// server certificate for 127.0.0.1 / localhost, client certificates issued by the CA
// (alice, bob, and one with an empty subject) and one from a CA nobody trusts (mallory). EC
// P-256 keys: quick to make.

#include <string>

namespace portask::test {

struct tls_files {
  std::string ca;            ///< the trusted CA's certificate
  std::string server_cert;   ///< CN=localhost, SAN IP:127.0.0.1, DNS:localhost
  std::string server_key;
  std::string alice_cert;    ///< subject O=Portask, CN=alice -> "User:CN=alice,O=Portask"
  std::string alice_key;
  std::string bob_cert;      ///< subject O=Portask, CN=bob
  std::string bob_key;
  std::string mallory_cert;  ///< issued by an untrusted CA
  std::string mallory_key;
  std::string other_server_cert;  ///< a second server certificate (CN=reloaded), for reloads
  std::string other_server_key;
  std::string nameless_cert;  ///< issued by the CA with an empty subject (a SAN only) -> "User:"
  std::string nameless_key;
};

/// Makes every file in `dir`; empty paths (and a message on stderr) when openssl fails.
tls_files make_tls_files(const std::string& dir);

/// A server certificate like server_cert (CN=`name`, the same subjectAltName, issued by the CA
/// make_tls_files made in `dir`) valid only from `not_before` to `not_after` (openssl ca's
/// YYYYMMDDHHMMSSZ): one that has expired, or is not valid yet. Its key is <dir>/<name>.key.
/// The certificate's path; empty (and a message on stderr) when openssl fails.
std::string issue_dated_server_cert(const std::string& dir, const std::string& name, const std::string& not_before,
                                    const std::string& not_after);

}  // namespace portask::test
