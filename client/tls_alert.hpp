#pragma once
/// The fatal TLS alerts a broker sends, as OpenSSL reports them once a call failed with
/// SSL_ERROR_SSL, and which of them refuse this client. A refusal (its certificate, its
/// access, the terms it offers) is authentication_failed, not retried: every connection
/// would meet it again. Any other alert (bad_record_mac, record_overflow, decode_error,
/// internal_error, user_canceled, ...), in the handshake or after it, says the connection
/// broke, not that this client is unwelcome: a retriable reset.

#include <string>

namespace portask::client {

/// A fatal alert received from the broker.
struct tls_alert {
  /// As OpenSSL names it ("tlsv13 alert certificate required"); empty: no alert received.
  std::string name;
  /// The broker refused this client: its certificate (bad, unsupported, revoked, expired,
  /// unknown, of a CA it does not trust, none where one is required), its access
  /// (access_denied), its proof of holding the certificate's key (decrypt_error), or the
  /// terms it offers: no protocol version or cipher the broker takes (protocol_version,
  /// handshake_failure, which is also TLS 1.2's answer to a certificate missing), or none
  /// strong enough for it (insufficient_security).
  bool refuses_client = false;
};

/// The alert that OpenSSL's error `e` (from ERR_get_error and its kin) reports received from
/// the peer; none (an empty name) when `e` is no such error.
tls_alert alert_received(unsigned long e);

/// The alert received at either end of the calling thread's OpenSSL error queue, which is
/// left as it is; none when neither is one.
tls_alert alert_from_peer();

}  // namespace portask::client
