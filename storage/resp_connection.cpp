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
    if (rc == 0) break;  // non-blocking from here: every wait is a poll with a deadline
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  return fd;
}

}  // namespace

// hiredis's reader, with what the reply being read holds charged against a cap. hiredis makes
// a reply's objects as its bytes come (each element its redisReply, a string a copy of its
// bytes, an array the table of its elements, sized by the count its header announces) and
// keeps the bytes not parsed yet (a bulk string waits there whole): both count, so neither a
// long reply nor a header announcing a huge one makes the broker allocate past the cap. (A
// string is charged once, though it is in both for a moment, and hiredis keeps its buffer's
// allocation until the buffer empties: a connection can hold about twice the cap at a peak.)
struct resp_reader {
  redisReader* hiredis = nullptr;
  const redisReplyObjectFunctions* made_by = nullptr;  ///< hiredis's own object functions
  std::size_t max_bytes = 0;
  std::size_t objects = 0;  ///< bytes of the objects made for the reply being read
  bool over = false;        ///< an object was refused: the reply would pass max_bytes
  bool bad_count = false;   ///< an array was refused: its count was negative

  resp_reader() = default;
  resp_reader(const resp_reader&) = delete;
  resp_reader& operator=(const resp_reader&) = delete;
  ~resp_reader() {
    if (hiredis) redisReaderFree(hiredis);
  }
  std::size_t held() const noexcept { return objects + (hiredis->len - hiredis->pos); }
  /// Charges an object of `bytes` to the reply, `moved` of them bytes counted as not parsed
  /// until now (a string's own, which hiredis copies out of its buffer and then passes); false
  /// (it is not made, and hiredis fails the reply as out of memory) past the cap.
  bool charge(std::size_t bytes, std::size_t moved = 0) noexcept {
    const auto before = held() - std::min(held(), moved);
    if (bytes > max_bytes || before > max_bytes - bytes) {
      over = true;
      return false;
    }
    objects += bytes;
    return true;
  }
};

namespace {

resp_reader& reader_of(const redisReadTask* task) { return *static_cast<resp_reader*>(task->privdata); }

void* make_string(const redisReadTask* task, char* s, std::size_t len) {
  auto& r = reader_of(task);
  return r.charge(sizeof(redisReply) + len + 1, len) ? r.made_by->createString(task, s, len) : nullptr;
}

void* make_array(const redisReadTask* task, int elements) {
  auto& r = reader_of(task);
  // The nil array (-1) comes as make_nil. A count below it, or one past INT_MAX that hiredis
  // passed on wrapped round, would become an element count of no table, which the reply's
  // reader walks: refused. (Debian's hiredis 0.14.1 refuses both itself, with its
  // CVE-2021-32765 fix; this holds for a build without it.)
  if (elements < 0) {
    r.bad_count = true;
    return nullptr;
  }
  const auto table = static_cast<std::size_t>(elements) * sizeof(redisReply*);
  return r.charge(sizeof(redisReply) + table) ? r.made_by->createArray(task, elements) : nullptr;
}

void* make_integer(const redisReadTask* task, long long value) {
  auto& r = reader_of(task);
  return r.charge(sizeof(redisReply)) ? r.made_by->createInteger(task, value) : nullptr;
}

void* make_nil(const redisReadTask* task) {
  auto& r = reader_of(task);
  return r.charge(sizeof(redisReply)) ? r.made_by->createNil(task) : nullptr;
}

// hiredis takes a non-const table; this one is never changed.
redisReplyObjectFunctions capped_objects{make_string, make_array, make_integer, make_nil, freeReplyObject};

}  // namespace

std::unique_ptr<resp_connection> resp_connection::open(const std::string& host, std::uint16_t port,
                                                       const resp_tls_options& tls,
                                                       std::chrono::milliseconds timeout, std::string& error,
                                                       std::size_t max_reply_bytes) {
  std::unique_ptr<resp_connection> c{new resp_connection};
  c->timeout_ = timeout;
  c->fd_ = connect_with_timeout(host, port, timeout, error);
  if (c->fd_ < 0) return nullptr;
  c->reader_ = std::make_unique<resp_reader>();
  auto& reader = *c->reader_;
  reader.hiredis = redisReaderCreate();
  if (reader.hiredis == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  reader.made_by = reader.hiredis->fn;
  reader.hiredis->fn = &capped_objects;
  reader.hiredis->privdata = &reader;
  reader.max_bytes = max_reply_bytes;
  if (!tls.enabled) return c;
  c->tls_ = protocol::security::tls_client::create(tls, host, c->fd_, error);
  if (!c->tls_) return nullptr;
  if (!c->handshake({clock::now() + timeout})) {
    error = c->error_;
    return nullptr;
  }
  return c;
}

resp_connection::~resp_connection() {
  tls_.reset();
  reader_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool resp_connection::timed_out(const char* what) {
  error_ = std::string(what) + " timed out after " + std::to_string(timeout_.count()) + " ms";
  return false;
}

void resp_connection::progressed(deadline& d, std::size_t bytes) const {
  d.moved += bytes;
  if (d.moved < progress_bytes) return;
  d.moved %= progress_bytes;
  d.at = std::max(d.at, clock::now() + timeout_);
}

bool resp_connection::wait(bool for_write, const deadline& d, const char* what) {
  pollfd p{fd_, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    // What is left, recomputed: the waits of one call share its deadline.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(d.at - clock::now()).count();
    if (left <= 0) return timed_out(what);
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (rc > 0) return true;  // ready, or an error the next call reports
    if (rc < 0 && errno != EINTR) {
      error_ = std::string("poll failed: ") + std::strerror(errno);
      return false;
    }
  }
}

bool resp_connection::handshake(const deadline& d) {
  for (;;) {
    const int rc = tls_->connect();
    if (rc == 1) return true;
    const int e = SSL_get_error(tls_->ssl(), rc);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      error_ = tls_->handshake_failure();
      return false;
    }
    if (!wait(e == SSL_ERROR_WANT_WRITE, d, "TLS: the handshake")) return false;
  }
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
bool resp_connection::flush_gathered(deadline& d) {
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
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait(true, d, "write")) return false;
      continue;
    }
    if (n <= 0) {
      error_ = std::string("write failed: ") + std::strerror(errno);
      return false;
    }
    auto sent = static_cast<std::size_t>(n);
    progressed(d, sent);
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

bool resp_connection::flush(deadline& d) {
  if (!referenced_.empty()) return flush_gathered(d);
  std::size_t done = 0;
  while (done < out_.size()) {
    // After a WANT_* OpenSSL needs the same bytes again: done has not moved, so they are.
    const auto left = std::min<std::size_t>(out_.size() - done, INT_MAX);
    if (tls_) {
      const int n = tls_->write(out_.data() + done, static_cast<int>(left));
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        progressed(d, static_cast<std::size_t>(n));
        continue;
      }
      const int e = SSL_get_error(tls_->ssl(), n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait(e == SSL_ERROR_WANT_WRITE, d, "write")) return false;
        continue;
      }
      const auto reasons = protocol::security::openssl_error_text();
      error_ = "write failed: " + (!reasons.empty() ? reasons : std::string(std::strerror(errno)));
      return false;
    }
    const long n = ::send(fd_, out_.data() + done, left, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      progressed(d, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait(true, d, "write")) return false;
      continue;
    }
    error_ = std::string("write failed: ") + std::strerror(errno);
    return false;
  }
  out_.clear();
  return true;
}

void* resp_connection::read_reply() {
  if (broken_) return nullptr;  // error_ still says why
  // One deadline for the whole call, put off only by progress_bytes moved: each wait has what
  // is left of it, so a server that trickles its reply (or takes our command slowly) cannot
  // stretch the call, while one that keeps a large transfer moving can finish it.
  deadline d{clock::now() + timeout_};
  void* reply = exchange(d);
  broken_ = reply == nullptr;
  return reply;
}

bool resp_connection::still_open() {
  if (broken_) return false;  // error_ still says why
  auto closed = [this](std::string why) {
    error_ = std::move(why);
    broken_ = true;
    return false;
  };
  // A reply's bytes hiredis holds unparsed, beyond the replies taken: out of step.
  static constexpr const char* unasked = "the server sent bytes no command asked for";
  if (reader_->hiredis->pos < reader_->hiredis->len) return closed(unasked);
  char byte = 0;
  const long n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  const bool quiet = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  // The usual answer, in one system call: nothing has come, and OpenSSL holds nothing either.
  if (quiet && (!tls_ || SSL_has_pending(tls_->ssl()) == 0)) return true;
  if (n == 0) return closed("server closed the connection");
  if (n < 0 && !quiet) return closed(std::string("connection failed: ") + std::strerror(errno));
  if (!tls_) return closed(unasked);
  // Over TLS the bytes may be records that carry no data (a TLS 1.3 session ticket, which
  // OpenSSL takes in its stride) or the server's close_notify: OpenSSL reads them to tell.
  const int r = tls_->peek(&byte, 1);
  if (r > 0) return closed(unasked);
  const int e = SSL_get_error(tls_->ssl(), r);
  if (e == SSL_ERROR_WANT_READ) return true;
  if (e == SSL_ERROR_ZERO_RETURN) return closed("server closed the connection");
  const auto reasons = protocol::security::openssl_error_text();
  return closed("connection failed: " + (reasons.empty() ? std::string(std::strerror(errno)) : reasons));
}

void* resp_connection::exchange(deadline& d) {
  if (format_failed_) {
    error_ = "cannot format a command (out of memory)";
    return nullptr;
  }
  // Right after a send the reply is not there yet: reading first would only fail (EAGAIN,
  // or OpenSSL's WANT_READ) and cost a system call per round trip, so the first read waits
  // for the socket, unless bytes are buffered in OpenSSL already, which poll cannot see.
  bool sent = false;
  if (!out_.empty()) {
    if (!flush(d)) return nullptr;
    sent = true;
  }
  auto& reader = *reader_;
  reader.objects = 0;  // a reply starts here: the one before was taken whole
  auto too_large = [&] {
    error_ = "reply larger than " + std::to_string(reader.max_bytes) + " bytes";
    return nullptr;
  };
  char buf[16 * 1024];
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader.hiredis, &reply) != REDIS_OK) {
      if (reader.over) return too_large();
      error_ = reader.bad_count ? std::string("protocol error: an array of a negative count")
                                : std::string("protocol error: ") + reader.hiredis->errstr;
      return nullptr;
    }
    if (reply != nullptr) return reply;
    if (reader.held() > reader.max_bytes) return too_large();
    // Also when the bytes keep coming without a wait: the deadline is for the whole reply.
    if (clock::now() >= d.at) {
      timed_out("read");
      return nullptr;
    }
    if (sent) {
      sent = false;
      if ((!tls_ || SSL_has_pending(tls_->ssl()) == 0) && !wait(false, d, "read")) return nullptr;
    }
    long n = 0;
    if (tls_) {
      n = tls_->read(buf, sizeof buf);
      if (n <= 0) {
        const int e = SSL_get_error(tls_->ssl(), static_cast<int>(n));
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
          if (!wait(e == SSL_ERROR_WANT_WRITE, d, "read")) return nullptr;
          continue;
        }
        const auto reasons = protocol::security::openssl_error_text();
        error_ = e == SSL_ERROR_ZERO_RETURN
                     ? "server closed the connection"
                     : "read failed: " + (reasons.empty() ? std::string(std::strerror(errno)) : reasons);
        return nullptr;
      }
    } else {
      n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(false, d, "read")) return nullptr;
        continue;
      }
      if (n <= 0) {
        error_ = n == 0 ? "server closed the connection" : std::string("read failed: ") + std::strerror(errno);
        return nullptr;
      }
    }
    progressed(d, static_cast<std::size_t>(n));
    if (redisReaderFeed(reader.hiredis, buf, static_cast<std::size_t>(n)) != REDIS_OK) {
      error_ = std::string("protocol error: ") + reader.hiredis->errstr;
      return nullptr;
    }
  }
}

}  // namespace portask::storage
