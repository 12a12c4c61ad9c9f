#pragma once
/// The TLS side of one listener: an OpenSSL server context built from its tls_config
/// (certificate chain, key, CA, client authentication; TLS 1.2 at least, no renegotiation),
/// replaced whole on reload. A session takes the context current when it is accepted, so a
/// reload never touches a handshake in progress, and a reload that fails (a missing or
/// mismatched file, an expired certificate) keeps the context in use.

#include <boost/asio/ssl.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "actors/runtime/broker_config.hpp"

namespace portask {

class tls_server_context {
 public:
  tls_server_context(std::string listener, tls_config config);

  /// Reads the files (again). On failure the reason, with the file and OpenSSL's words,
  /// and the context in use (if any) stays. A certificate that has expired fails a reload
  /// but not the first load, which takes it (the broker starts): out_of_date() then says why.
  /// That is Portask's rule, on every listener; Kafka checks a keystore's dates (by a
  /// handshake against its truststore) on its inter-broker listener only, at startup and on
  /// an update, and elsewhere checks an update only for the same subjects and subject
  /// alternative names. A certificate not valid yet is taken by a reload too (it becomes
  /// valid by itself; a rotation tool signals once), and out_of_date() says so.
  std::optional<std::string> reload();
  /// Why the certificate in use was outside its validity period when it was loaded ("has
  /// expired (valid from ... to ...)"); empty when it was within it, or before the first load.
  std::string out_of_date() const;
  /// The context new connections use; null before the first successful load.
  std::shared_ptr<boost::asio::ssl::context> current() const;
  const std::string& listener() const noexcept { return listener_; }

 private:
  std::string listener_;
  tls_config config_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::string out_of_date_;
};

/// "User:" + the subject of the peer's verified certificate as Kafka writes it (Java's
/// X500Principal.getName(), see x500_principal_name), "User:" for an empty subject (as
/// Kafka); empty without one, or for a subject that cannot be written.
std::string tls_peer_principal(SSL* ssl);
/// The subject of `cert` in RFC 2253 form, as Java's X500Principal.getName() writes it
/// (Kafka's principal): "CN=alice,O=Portask"; empty if it cannot be printed.
std::string tls_subject(X509* cert);

/// A session's verify callback: it keeps OpenSSL's verdict and writes to *refused_subject the
/// subject of the first certificate refused (OpenSSL keeps none it refused), for tls_refusal.
std::function<bool(bool, boost::asio::ssl::verify_context&)> remember_refused_subject(
    std::shared_ptr<std::string> refused_subject);
/// Why a client certificate was refused, for a failed handshake's log line: OpenSSL's reason
/// and the certificate's subject (" (unable to get local issuer certificate; client
/// certificate CN=mallory,O=Portask)"); empty when no certificate failed verification.
std::string tls_refusal(SSL* ssl, const std::string& refused_subject);

}  // namespace portask
