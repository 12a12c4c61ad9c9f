#include "tests/client/stub_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <stdexcept>

#include "protocol/codec_manager.hpp"
#include "protocol/frame.hpp"

namespace portask::test {

namespace native = protocol::native;

std::optional<protocol::buffer> stub_peer::next_frame(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto f = decoder_.next();
    if (!f) return std::nullopt;
    if (*f) {
      const auto& v = **f;
      return protocol::buffer(v.payload.data() - protocol::frame_header_size, v.payload.data() + v.payload.size());
    }
    if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) continue;
    }
    auto space = decoder_.prepare(64 * 1024);
    const auto n = ssl_ != nullptr ? SSL_read(ssl_, space.data(), static_cast<int>(space.size()))
                                   : ::recv(fd_, space.data(), space.size(), 0);
    if (n <= 0) {
      if (ssl_ == nullptr && n < 0 && errno == EINTR) continue;
      return std::nullopt;
    }
    decoder_.commit(static_cast<std::size_t>(n));
  }
}

bool stub_peer::send(protocol::byte_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data() + done, static_cast<int>(bytes.size() - done))
                                   : ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      if (ssl_ == nullptr && n < 0 && errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void stub_peer::close() { ::shutdown(fd_, SHUT_RDWR); }

void stub_peer::reset() {
  // Connecting a TCP socket to no address aborts its connection, with a reset, and keeps the
  // descriptor (the stub_broker closes it at its end; another file must not get its number).
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  (void)::connect(fd_, &unspecified, sizeof unspecified);
}

void stub_peer::limit_buffers(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

stub_broker::stub_broker(handler h, stub_tls tls, const std::string& address) : handler_(std::move(h)) {
  if (!tls.cert_file.empty()) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      if (ctx_ != nullptr) SSL_CTX_free(ctx_);
      throw std::runtime_error("stub_broker: cannot use the certificate " + tls.cert_file);
    }
    if (!tls.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, tls.client_ca_file.c_str(), nullptr) != 1) {
        SSL_CTX_free(ctx_);
        throw std::runtime_error("stub_broker: cannot use the CA file " + tls.client_ca_file);
      }
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  socklen_t len = sizeof addr;
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener_ < 0 || ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1 ||
      ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener_ >= 0) ::close(listener_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    throw std::runtime_error("stub_broker: cannot listen on " + address);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

stub_broker::~stub_broker() {
  // shutdown() wakes the accept() and every read or write the handlers wait in.
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  ::close(listener_);
  std::vector<std::unique_ptr<served>> peers;
  {
    std::lock_guard lock{mutex_};
    peers.swap(peers_);
  }
  for (auto& p : peers) ::shutdown(p->fd, SHUT_RDWR);
  for (auto& p : peers) {
    p->thread.join();
    if (p->ssl != nullptr) SSL_free(p->ssl);
    ::close(p->fd);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

void stub_broker::accept_loop() {
  // A client gone while the stub writes must not end the test process (SSL_write has no
  // MSG_NOSIGNAL): SIGPIPE is blocked on the stub's threads only (each serving thread
  // inherits this one's mask), the write then fails with EPIPE. The rest of the process
  // keeps the default, so a SIGPIPE the client raised would still show.
  sigset_t sigpipe_only;
  sigemptyset(&sigpipe_only);
  sigaddset(&sigpipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe_only, nullptr);
  for (std::size_t index = 0;; ++index) {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    auto s = std::make_unique<served>();
    s->fd = fd;
    if (ctx_ != nullptr) {
      s->ssl = SSL_new(ctx_);
      SSL_set_fd(s->ssl, fd);
    }
    s->peer = std::make_unique<stub_peer>(fd, s->ssl, index);
    auto& peer = *s->peer;
    std::lock_guard lock{mutex_};
    s->thread = std::thread([this, &peer, ssl = s->ssl] { serve(peer, ssl); });
    peers_.push_back(std::move(s));
  }
}

void stub_broker::serve(stub_peer& peer, SSL* ssl) {
  // A client that refuses the certificate ends the handshake: nothing to serve then.
  if (ssl == nullptr || SSL_accept(ssl) == 1) handler_(peer);
  // The client sees the end once the handler is done.
  peer.close();
}

// -- frames for handlers ---------------------------------------------------------------------

protocol::message_type type_of(const protocol::buffer& frame) {
  return static_cast<protocol::message_type>(frame[5]);
}

protocol::byte_view payload_of(const protocol::buffer& frame) {
  return {frame.data() + protocol::frame_header_size, frame.size() - protocol::frame_header_size};
}

std::uint32_t request_id_of(const protocol::buffer& frame) { return native::peek_request_id(payload_of(frame)); }

protocol::buffer response_to(const protocol::buffer& request, const std::function<void(protocol::buffer&)>& body) {
  protocol::buffer out;
  const auto pos = native::begin_response(out, {request_id_of(request), type_of(request)});
  if (body) body(out);
  protocol::finish_frame(out, pos, protocol::message_type::response, 0);
  return out;
}

protocol::buffer error_frame(std::uint32_t request_id, errc code, const std::string& message) {
  protocol::buffer out;
  native::encode(out, native::error_response{request_id, static_cast<std::uint16_t>(code), is_retriable(code), message});
  return out;
}

protocol::buffer publish_answer(const protocol::buffer& request, std::int64_t base_offset) {
  auto p = native::decode_publish(payload_of(request));
  if (!p) throw std::runtime_error("stub_broker: not a publish");
  const auto partition = p->partition;
  return response_to(request, [&](protocol::buffer& out) {
    native::encode_body(out, native::publish_response{partition, base_offset, 1});
  });
}

protocol::buffer deliver_frame(std::uint32_t subscription_id, std::int64_t base_offset,
                               const protocol::message_batch& batch, std::int64_t log_start) {
  protocol::buffer stored;
  const protocol::codec_manager codecs(64u << 20);
  if (codecs.append_batch_frame(batch, protocol::encoding{}, protocol::message_type::publish, stored))
    throw std::runtime_error("stub_broker: cannot encode a batch");
  native::deliver d;
  d.subscription_id = subscription_id;
  d.body.high_watermark = base_offset + static_cast<std::int64_t>(batch.messages.size());
  d.body.log_start = log_start;
  d.body.batches.push_back({base_offset, static_cast<std::uint32_t>(batch.messages.size()), stored});
  protocol::buffer out;
  native::encode(out, d);
  return out;
}

protocol::message_batch batch_of(const std::string& prefix, int n, std::size_t value_bytes) {
  protocol::message_batch b;
  for (int i = 0; i < n; ++i) {
    protocol::message m;
    m.value = prefix + std::to_string(i) + std::string(value_bytes, 'x');
    b.messages.push_back(std::move(m));
  }
  return b;
}

}  // namespace portask::test
