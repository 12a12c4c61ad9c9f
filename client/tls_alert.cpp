#include "client/tls_alert.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace portask::client {

namespace {

/// OpenSSL's reasons for the alerts that refuse this client (SSL_R_*_ALERT_*).
bool refuses_client(int reason) {
  switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    // The terms it offers, the same on every connection.
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
      return true;
    default:
      return false;
  }
}

}  // namespace

tls_alert alert_received(unsigned long e) {
  // OpenSSL reports an alert received as its reason SSL_AD_REASON_OFFSET + the alert's code.
  const int reason = ERR_GET_REASON(e);
  const int alert = reason - SSL_AD_REASON_OFFSET;
  if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL || alert < 0 || alert > 255) return {};
  const char* text = ERR_reason_error_string(e);
  return {text != nullptr ? text : "alert " + std::to_string(alert), refuses_client(reason)};
}

tls_alert alert_from_peer() {
  for (const auto e : {ERR_peek_error(), ERR_peek_last_error()})
    if (auto alert = alert_received(e); !alert.name.empty()) return alert;
  return {};
}

}  // namespace portask::client
