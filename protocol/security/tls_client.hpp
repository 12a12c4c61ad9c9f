#pragma once
/// The client side of a TLS connection, shared by the native C++ client and the store's
/// connection (rediss://): an OpenSSL context and connection state for one socket, TLS 1.2 at
/// least, the server's certificate checked against `ca_file` (empty: the system's CAs) and
/// for `server_name` (a host name, or an IP address matched as one), a client certificate
/// when given. The caller owns the socket and runs the handshake (SSL_connect) its own way.

#include <openssl/types.h>

#include <memory>
#include <string>

namespace portask::protocol::security {

struct tls_client_settings {
  std::string ca_file;
  std::string cert_file;    ///< PEM; for servers that ask for a client certificate
  std::string key_file;     ///< PEM; empty: in cert_file
  std::string server_name;  ///< checked against the certificate; empty: the host connected to
};

class tls_client {
 public:
  /// Ready for SSL_connect on `fd`; null with the reason in `error` when a file is unusable.
  static std::unique_ptr<tls_client> create(const tls_client_settings& s, const std::string& host, int fd,
                                            std::string& error);
  ~tls_client();
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;

  SSL* ssl() const noexcept { return ssl_; }
  /// SSL_connect, SSL_read and SSL_write with the thread's OpenSSL error queue cleared first
  /// (a stale entry would turn SSL_get_error's answer into SSL_ERROR_SSL) and SIGPIPE kept
  /// from killing the process when the peer has gone (OpenSSL writes without MSG_NOSIGNAL).
  /// The results are OpenSSL's, for SSL_get_error.
  int connect();
  int read(void* data, int size);
  int write(const void* data, int size);
  /// SSL_peek, the same way: reads records as SSL_read does (a session ticket, the peer's
  /// close_notify) but leaves the data they carry for the next read.
  int peek(void* data, int size);
  /// Why the handshake failed: the refused certificate's reason, else OpenSSL's errors.
  std::string handshake_failure() const;

 private:
  tls_client() = default;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

/// OpenSSL's reasons for the last failures on this thread (and clears its error queue); empty
/// when there are none.
std::string openssl_error_text();

}  // namespace portask::protocol::security
