#include "storage/resp_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portask::storage {

namespace {

std::string openssl_errors() {
  std::string text;
  while (const auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text;
}

bool is_ip_address(const std::string& s) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// A connect bounded by `timeout`: non-blocking connect, then wait for writability.
int connect_with_timeout(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                         std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const auto service = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0 || res == nullptr) {
    error = "cannot resolve " + host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      do rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      while (rc < 0 && errno == EINTR);
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error == 0) {
        rc = 0;
      } else {
        error = rc == 0 ? "connect timed out" : std::strerror(so_error ? so_error : errno);
        rc = -1;
      }
    } else if (rc != 0) {
      error = std::strerror(errno);
    }
    if (rc == 0) {
      fcntl(fd, F_SETFL, flags);  // blocking again; the socket timeouts bound each call
      break;
    }
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return -1;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  return fd;
}

}  // namespace

struct resp_connection::tls_state {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~tls_state() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
  }
};

std::unique_ptr<resp_connection> resp_connection::open(const std::string& host, std::uint16_t port,
                                                       const resp_tls_options& tls,
                                                       std::chrono::milliseconds timeout, std::string& error) {
  std::unique_ptr<resp_connection> c{new resp_connection};
  c->fd_ = connect_with_timeout(host, port, timeout, error);
  if (c->fd_ < 0) return nullptr;
  c->reader_ = redisReaderCreate();
  if (c->reader_ == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  if (!tls.enabled) return c;
  auto fail = [&](const std::string& what) -> std::unique_ptr<resp_connection> {
    const auto reasons = openssl_errors();
    error = "TLS: " + what + (reasons.empty() ? "" : ": " + reasons);
    return nullptr;
  };
  c->tls_ = std::make_unique<tls_state>();
  auto& t = *c->tls_;
  t.ctx = SSL_CTX_new(TLS_client_method());
  if (t.ctx == nullptr) return fail("no context");
  SSL_CTX_set_min_proto_version(t.ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, nullptr);
  if (!tls.ca_file.empty() ? SSL_CTX_load_verify_locations(t.ctx, tls.ca_file.c_str(), nullptr) != 1
                           : SSL_CTX_set_default_verify_paths(t.ctx) != 1)
    return fail("cannot load CA file '" + tls.ca_file + "'");
  if (!tls.cert_file.empty()) {
    const auto& key = tls.key_file.empty() ? tls.cert_file : tls.key_file;
    if (SSL_CTX_use_certificate_chain_file(t.ctx, tls.cert_file.c_str()) != 1)
      return fail("cannot use certificate '" + tls.cert_file + "'");
    if (SSL_CTX_use_PrivateKey_file(t.ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail("cannot use private key '" + key + "'");
  }
  t.ssl = SSL_new(t.ctx);
  if (t.ssl == nullptr || SSL_set_fd(t.ssl, c->fd_) != 1) return fail("no connection state");
  const auto& name = tls.server_name.empty() ? host : tls.server_name;
  if (is_ip_address(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t.ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(t.ssl, name.c_str());
    SSL_set1_host(t.ssl, name.c_str());
  }
  // Blocking with the socket timeouts: a stalled handshake fails instead of hanging.
  if (SSL_connect(t.ssl) != 1) {
    const long verify = SSL_get_verify_result(t.ssl);
    if (verify != X509_V_OK)
      return fail(std::string("server certificate refused: ") + X509_verify_cert_error_string(verify));
    return fail("handshake failed");
  }
  return c;
}

resp_connection::~resp_connection() {
  tls_.reset();
  if (reader_) redisReaderFree(static_cast<redisReader*>(reader_));
  if (fd_ >= 0) ::close(fd_);
}

void resp_connection::append(int argc, const char** argv, const std::size_t* lens) {
  char* cmd = nullptr;
  const int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
  if (n > 0) out_.append(cmd, static_cast<std::size_t>(n));
  if (cmd) redisFreeCommand(cmd);
}

bool resp_connection::flush() {
  std::size_t done = 0;
  while (done < out_.size()) {
    const auto left = out_.size() - done;
    long n = 0;
    if (tls_) {
      n = SSL_write(tls_->ssl, out_.data() + done, static_cast<int>(left));
      if (n <= 0) {
        const int e = SSL_get_error(tls_->ssl, static_cast<int>(n));
        const auto reasons = openssl_errors();
        error_ = "write failed: " + (e == SSL_ERROR_WANT_WRITE ? std::string("timed out")
                                     : !reasons.empty()        ? reasons
                                                               : std::string(std::strerror(errno)));
        return false;
      }
    } else {
      n = ::send(fd_, out_.data() + done, left, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = errno == EAGAIN ? "write timed out" : std::string("write failed: ") + std::strerror(errno);
        return false;
      }
    }
    done += static_cast<std::size_t>(n);
  }
  out_.clear();
  return true;
}

void* resp_connection::read_reply() {
  if (!out_.empty() && !flush()) return nullptr;
  auto* reader = static_cast<redisReader*>(reader_);
  char buf[16 * 1024];
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
      error_ = std::string("protocol error: ") + reader->errstr;
      return nullptr;
    }
    if (reply != nullptr) return reply;
    long n = 0;
    if (tls_) {
      n = SSL_read(tls_->ssl, buf, sizeof buf);
      if (n <= 0) {
        const int e = SSL_get_error(tls_->ssl, static_cast<int>(n));
        const auto reasons = openssl_errors();
        error_ = e == SSL_ERROR_WANT_READ     ? "read timed out"
                 : e == SSL_ERROR_ZERO_RETURN ? "server closed the connection"
                                              : "read failed: " + (reasons.empty() ? std::string(std::strerror(errno)) : reasons);
        return nullptr;
      }
    } else {
      n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n == 0 ? "server closed the connection"
                 : errno == EAGAIN ? "read timed out"
                                   : std::string("read failed: ") + std::strerror(errno);
        return nullptr;
      }
    }
    if (redisReaderFeed(reader, buf, static_cast<std::size_t>(n)) != REDIS_OK) {
      error_ = std::string("protocol error: ") + reader->errstr;
      return nullptr;
    }
  }
}

}  // namespace portask::storage
