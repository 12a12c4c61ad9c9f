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
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <iterator>
#include <new>

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
  // A command is an array of bulk strings: *<argc>\r\n, then $<len>\r\n<bytes>\r\n each.
  auto put_count = [this](char kind, std::size_t n) {
    char digits[24];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), n).ptr;
    out_ += kind;
    out_.append(digits, end);
    out_ += "\r\n";
  };
  try {
    put_count('*', static_cast<std::size_t>(argc));
    for (int i = 0; i < argc; ++i) {
      put_count('$', lens[i]);
      if (lens[i] >= referenced_arg_bytes && !tls_)
        referenced_.push_back({out_.size(), argv[i], lens[i]});
      else
        out_.append(argv[i], lens[i]);
      out_ += "\r\n";
    }
  } catch (const std::bad_alloc&) {
    format_failed_ = true;  // the pipeline fails rather than lose a reply
  }
}

// Sends out_ with the referenced arguments in their places, in as few system calls as the
// kernel takes them.
bool resp_connection::flush_gathered() {
  std::vector<iovec> pieces;
  try {
    pieces.reserve(referenced_.size() * 2 + 1);
  } catch (const std::bad_alloc&) {
    error_ = "cannot send the commands (out of memory)";
    return false;
  }
  std::size_t from = 0;
  auto add = [&](const char* p, std::size_t n) {
    if (n > 0) pieces.push_back({const_cast<char*>(p), n});
  };
  for (const auto& r : referenced_) {
    add(out_.data() + from, r.at - from);
    add(r.data, r.size);
    from = r.at;
  }
  add(out_.data() + from, out_.size() - from);
  std::size_t next = 0;
  while (next < pieces.size()) {
    msghdr m{};
    m.msg_iov = pieces.data() + next;
    m.msg_iovlen = std::min<std::size_t>(pieces.size() - next, IOV_MAX);
    const long n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = errno == EAGAIN ? "write timed out" : std::string("write failed: ") + std::strerror(errno);
      return false;
    }
    auto sent = static_cast<std::size_t>(n);
    while (sent > 0 && sent >= pieces[next].iov_len) sent -= pieces[next++].iov_len;
    if (sent > 0) {
      pieces[next].iov_base = static_cast<char*>(pieces[next].iov_base) + sent;
      pieces[next].iov_len -= sent;
    }
  }
  out_.clear();
  referenced_.clear();
  return true;
}

bool resp_connection::flush() {
  if (!referenced_.empty()) return flush_gathered();
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
