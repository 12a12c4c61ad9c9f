#include "storage/resp_connection.hpp"

#include "protocol/security/tls_client.hpp"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portask::storage {

namespace {

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
  c->tls_ = protocol::security::tls_client::create(tls, host, c->fd_, error);
  if (!c->tls_) return nullptr;
  // Blocking with the socket timeouts: a stalled handshake fails instead of hanging.
  if (c->tls_->connect() != 1) {
    error = c->tls_->handshake_failure();
    return nullptr;
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
  if (n > 0)
    out_.append(cmd, static_cast<std::size_t>(n));
  else
    format_failed_ = true;  // out of memory: the pipeline fails rather than lose a reply
  if (cmd) redisFreeCommand(cmd);
}

bool resp_connection::flush() {
  std::size_t done = 0;
  while (done < out_.size()) {
    const auto left = out_.size() - done;
    long n = 0;
    if (tls_) {
      n = tls_->write(out_.data() + done, static_cast<int>(left));
      if (n <= 0) {
        const int e = SSL_get_error(tls_->ssl(), static_cast<int>(n));
        const auto reasons = protocol::security::openssl_error_text();
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
  if (format_failed_) {
    error_ = "cannot format a command (out of memory)";
    return nullptr;
  }
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
      n = tls_->read(buf, sizeof buf);
      if (n <= 0) {
        const int e = SSL_get_error(tls_->ssl(), static_cast<int>(n));
        const auto reasons = protocol::security::openssl_error_text();
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
