// Which TLS alerts from the broker refuse this client (its certificate, its access, the terms it
// offers: authentication_failed, not retried) and which are a connection broken (a retriable
// reset): OpenSSL's errors as the client meets them.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client/tls_alert.hpp"

using portask::client::alert_from_peer;
using portask::client::alert_received;

namespace {

unsigned long ssl_error(int reason) { return ERR_PACK(ERR_LIB_SSL, 0, reason); }

}  // namespace

// Given the alerts against this client's certificate or access, when received, then each
// refuses the client, named.
TEST(TlsAlert, CertificateAndAccessAlertsRefuseTheClient) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
  for (const int reason :
       {SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
        SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED,
        SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN, SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_TLSV1_ALERT_ACCESS_DENIED,
        SSL_R_TLSV1_ALERT_DECRYPT_ERROR, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED}) {
    const auto a = alert_received(ssl_error(reason));
    EXPECT_TRUE(a.refuses_client) << reason << " " << a.name;
    EXPECT_FALSE(a.name.empty()) << reason;
  }
  EXPECT_EQ(alert_received(ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)).name,
            "tlsv13 alert certificate required");
  EXPECT_EQ(alert_received(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA)).name, "tlsv1 alert unknown ca");
}

// Given the alerts by which the broker takes none of the terms this client offers (no protocol
// version or cipher in common, none strong enough), when received, then each refuses the
// client, named: every connection offers the same terms. (The handshake took them as final
// already; after it they were taken for a broken connection, retried in vain.)
TEST(TlsAlert, AlertsAgainstTheTermsOfferedRefuseTheClient) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
  for (const int reason : {SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION,
                           SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY}) {
    const auto a = alert_received(ssl_error(reason));
    EXPECT_TRUE(a.refuses_client) << reason << " " << a.name;
    EXPECT_FALSE(a.name.empty()) << reason;
  }
  EXPECT_EQ(alert_received(ssl_error(SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)).name, "tlsv1 alert protocol version");
}

// Given alerts that say the connection broke (a record corrupted or too long, a message out of
// place or malformed, the broker's own failure, a close it cancelled), when received, then
// each is an alert, named, that does not refuse the client: another connection may pass.
TEST(TlsAlert, OtherAlertsDoNotRefuseTheClient) {
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
  for (const int reason :
       {SSL_R_SSLV3_ALERT_BAD_RECORD_MAC, SSL_R_TLSV1_ALERT_DECRYPTION_FAILED, SSL_R_TLSV1_ALERT_RECORD_OVERFLOW,
        SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE, SSL_R_TLSV1_ALERT_DECODE_ERROR, SSL_R_TLSV1_ALERT_INTERNAL_ERROR,
        SSL_R_TLSV1_ALERT_USER_CANCELLED}) {
    const auto a = alert_received(ssl_error(reason));
    EXPECT_FALSE(a.refuses_client) << reason << " " << a.name;
    EXPECT_FALSE(a.name.empty()) << reason;
  }
  EXPECT_EQ(alert_received(ssl_error(SSL_R_TLSV1_ALERT_INTERNAL_ERROR)).name, "tlsv1 alert internal error");
}

// Given errors that are no alert received (none, a local TLS failure, another library's), then
// no alert is reported.
TEST(TlsAlert, ErrorsThatAreNoAlertReceivedAreNone) {
  for (const auto e : {0UL, ssl_error(SSL_R_UNEXPECTED_EOF_WHILE_READING), ssl_error(SSL_R_WRONG_VERSION_NUMBER),
                       ERR_PACK(ERR_LIB_X509, 0, SSL_R_TLSV1_ALERT_UNKNOWN_CA)}) {
    const auto a = alert_received(e);
    EXPECT_TRUE(a.name.empty()) << e << " " << a.name;
    EXPECT_FALSE(a.refuses_client) << e;
  }
}

// Given an alert on the thread's error queue behind another error, when the client looks, then
// it finds it and leaves the queue as it was.
TEST(TlsAlert, TheAlertIsFoundOnTheErrorQueueWhichIsLeftAsItIs) {
  ERR_clear_error();
  EXPECT_TRUE(alert_from_peer().name.empty());
  ERR_raise(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER);
  ERR_raise(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED);
  EXPECT_TRUE(alert_from_peer().refuses_client);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_WRONG_VERSION_NUMBER);
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED);
  ERR_clear_error();
  ERR_raise(ERR_LIB_SSL, SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
  const auto a = alert_from_peer();
  EXPECT_FALSE(a.name.empty());
  EXPECT_FALSE(a.refuses_client);
  ERR_clear_error();
}
