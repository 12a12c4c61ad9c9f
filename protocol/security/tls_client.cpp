#include "protocol/security/tls_client.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace portask::protocol::security {

namespace {

bool is_ip_address(const std::string& s) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// Blocks SIGPIPE on this thread while alive; one raised meanwhile is taken before unblocking
// (unless it was pending already), so a write to a closed socket fails with EPIPE instead.
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~sigpipe_guard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec none{};
      sigtimedwait(&pipe_, nullptr, &none);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace

int tls_client::connect() {
  ERR_clear_error();
  sigpipe_guard guard;
  return SSL_connect(ssl_);
}

int tls_client::read(void* data, int size) {
  ERR_clear_error();
  sigpipe_guard guard;
  return SSL_read(ssl_, data, size);
}

int tls_client::write(const void* data, int size) {
  ERR_clear_error();
  sigpipe_guard guard;
  return SSL_write(ssl_, data, size);
}

int tls_client::peek(void* data, int size) {
  ERR_clear_error();
  sigpipe_guard guard;
  return SSL_peek(ssl_, data, size);
}

std::string openssl_error_text() {
  std::string text;
  while (const auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text;
}

std::unique_ptr<tls_client> tls_client::create(const tls_client_settings& s, const std::string& host, int fd,
                                               std::string& error) {
  std::unique_ptr<tls_client> c{new tls_client};
  auto fail = [&](const std::string& what) -> std::unique_ptr<tls_client> {
    const auto reasons = openssl_error_text();
    error = "TLS: " + what + (reasons.empty() ? "" : ": " + reasons);
    return nullptr;
  };
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) return fail("no context");
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(c->ctx_, SSL_VERIFY_PEER, nullptr);
  if (!s.ca_file.empty() ? SSL_CTX_load_verify_locations(c->ctx_, s.ca_file.c_str(), nullptr) != 1
                         : SSL_CTX_set_default_verify_paths(c->ctx_) != 1)
    return fail(s.ca_file.empty() ? "cannot load the system's CAs" : "cannot load CA file '" + s.ca_file + "'");
  if (!s.cert_file.empty()) {
    const auto& key = s.key_file.empty() ? s.cert_file : s.key_file;
    if (SSL_CTX_use_certificate_chain_file(c->ctx_, s.cert_file.c_str()) != 1)
      return fail("cannot use certificate '" + s.cert_file + "'");
    if (SSL_CTX_use_PrivateKey_file(c->ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->ctx_) != 1)
      return fail("cannot use private key '" + key + "'");
  }
  c->ssl_ = SSL_new(c->ctx_);
  if (c->ssl_ == nullptr || SSL_set_fd(c->ssl_, fd) != 1) return fail("no connection state");
  const auto& name = s.server_name.empty() ? host : s.server_name;
  if (is_ip_address(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl_), name.c_str());
  } else {
    SSL_set_tlsext_host_name(c->ssl_, name.c_str());
    SSL_set1_host(c->ssl_, name.c_str());
  }
  return c;
}

tls_client::~tls_client() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
}

std::string tls_client::handshake_failure() const {
  const long verify = SSL_get_verify_result(ssl_);
  const auto reasons = openssl_error_text();
  if (verify != X509_V_OK)
    return std::string("TLS: server certificate refused: ") + X509_verify_cert_error_string(verify);
  return "TLS: handshake failed" + (reasons.empty() ? std::string{} : ": " + reasons);
}

}  // namespace portask::protocol::security
