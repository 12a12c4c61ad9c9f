#include "actors/connections/transport/tls_context.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>

#include "actors/connections/transport/log_text.hpp"
#include "actors/connections/transport/x500_principal_name.hpp"

namespace portask {

namespace ssl = boost::asio::ssl;

namespace {

std::string failed(const std::string& what, const std::string& file, const boost::system::error_code& ec) {
  return what + " '" + file + "': " + ec.message();
}

// "2020-02-01 00:00:00 UTC"; "?" for a time OpenSSL cannot read.
std::string utc(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char out[96];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return out;
}

// A certificate outside its validity period now.
struct validity_problem {
  std::string why;  ///< the file, its state and its dates; empty when it is within it
  bool expired = false;  ///< rather than not valid yet
};

// Empty `why` when `cert` is within its validity period (or OpenSSL cannot compare its dates).
validity_problem check_validity(X509* cert, const std::string& file) {
  if (cert == nullptr) return {};
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  const bool expired = X509_cmp_current_time(not_after) < 0;
  if (!expired && X509_cmp_current_time(not_before) <= 0) return {};
  return {"certificate '" + file + "' " + (expired ? "has expired" : "is not valid yet") + " (valid from " +
              utc(not_before) + " to " + utc(not_after) + ")",
          expired};
}

}  // namespace

tls_server_context::tls_server_context(std::string listener, tls_config config)
    : listener_(std::move(listener)), config_(std::move(config)) {}

std::shared_ptr<ssl::context> tls_server_context::current() const {
  std::lock_guard lock{mutex_};
  return current_;
}

std::string tls_server_context::out_of_date() const {
  std::lock_guard lock{mutex_};
  return out_of_date_;
}

std::optional<std::string> tls_server_context::reload() {
  // Whatever this leaves in the thread's OpenSSL error queue would misreport a later call.
  struct clear_errors {
    ~clear_errors() { ERR_clear_error(); }
  } clear_on_return;
  ERR_clear_error();
  auto c = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = c->native_handle();
  // TLS 1.2 and 1.3 only; a client cannot renegotiate (a classic way to burn server CPU).
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_NO_COMPRESSION);
  boost::system::error_code ec;
  if (config_.certificate_file.empty()) return "no certificate file (tls cert_file)";
  if (config_.key_file.empty()) return "no private key file (tls key_file)";
  c->use_certificate_chain_file(config_.certificate_file, ec);
  if (ec) return failed("cannot use certificate chain", config_.certificate_file, ec);
  c->use_private_key_file(config_.key_file, ssl::context::pem, ec);
  if (ec) return failed("cannot use private key", config_.key_file, ec);
  if (SSL_CTX_check_private_key(native) != 1)
    return "private key '" + config_.key_file + "' does not match certificate '" +
           config_.certificate_file + "'";
  // A certificate outside its validity period: every client refuses it, and the broker sees
  // only their alerts ("certificate expired"), which read like the clients' problem.
  auto invalid = check_validity(SSL_CTX_get0_certificate(native), config_.certificate_file);
  if (config_.client_auth != tls_client_auth::none) {
    if (config_.ca_file.empty()) return "client authentication needs a CA file (tls ca_file)";
    c->load_verify_file(config_.ca_file, ec);
    if (ec) return failed("cannot load CA file", config_.ca_file, ec);
    // Tells clients which CAs their certificate must come from.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config_.ca_file.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    c->set_verify_mode(config_.client_auth == tls_client_auth::required
                           ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                           : ssl::verify_peer,
                       ec);
    // Session resumption with client certificates needs a context id.
    static constexpr unsigned char id[] = "portask";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
  } else if (!config_.ca_file.empty()) {
    return "a CA file is set but client authentication is none (set client_auth)";
  }
  std::lock_guard lock{mutex_};
  // An expired certificate will not get better, and the one in use may still be good. One not
  // valid yet will (an issuer's clock a few seconds ahead), and refusing it would leave the
  // old one in use, perhaps expired, for good: a rotation tool signals once.
  if (current_ && invalid.expired) return invalid.why;
  current_ = std::move(c);
  out_of_date_ = std::move(invalid.why);
  return std::nullopt;
}

std::string tls_peer_principal(SSL* ssl) {
  if (ssl == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  // An empty subject is valid (a certificate naming its holder in subjectAltName only): Kafka
  // makes it "User:" with an empty name, not ANONYMOUS.
  if (X509_NAME_entry_count(X509_get_subject_name(cert)) == 0) return "User:";
  const auto subject = tls_subject(cert);
  return subject.empty() ? std::string{} : "User:" + subject;
}

std::string tls_subject(X509* cert) {
  if (cert == nullptr) return {};
  return x500_principal_name(X509_get_subject_name(cert));
}

std::function<bool(bool, ssl::verify_context&)> remember_refused_subject(
    std::shared_ptr<std::string> refused_subject) {
  return [refused_subject = std::move(refused_subject)](bool preverified, ssl::verify_context& v) {
    if (!preverified && refused_subject->empty()) {
      // The certificate is the client's, unverified: formatting it must not throw through
      // OpenSSL's C frames (the subject is only for the log line), nor leave errors in the
      // thread's queue that Asio would report as the handshake's.
      ERR_set_mark();
      try {
        *refused_subject = tls_subject(X509_STORE_CTX_get0_cert(v.native_handle()));
      } catch (...) {
        refused_subject->clear();
      }
      ERR_pop_to_mark();
    }
    return preverified;  // OpenSSL's own verdict stands
  };
}

std::string tls_refusal(SSL* ssl, const std::string& refused_subject) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return {};
  std::string why = std::string(" (") + X509_verify_cert_error_string(result);
  if (!refused_subject.empty()) why += "; client certificate " + printable(refused_subject, 255);
  return why + ")";
}

}  // namespace portask
