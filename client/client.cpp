#include "client/client.hpp"
#include "client/deadline.hpp"
#include "client/socket_connect.hpp"
#include "client/tls_alert.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "protocol/security/crypto.hpp"
#include "protocol/security/scram.hpp"
#include "protocol/security/scram_client.hpp"
#include "protocol/security/tls_client.hpp"

namespace portask::client {

namespace native = protocol::native;
using protocol::buffer;
using protocol::message_type;

namespace {

// Pipelined publishes held back past this many bytes are sent at once (connection::flush).
constexpr std::size_t max_held_bytes = 64 * 1024;
// Request ids kept for Errors that may still come without a Response (publishes without
// acks, subscriptions ended by an Unsubscribe), and those Errors: the most recent this many.
constexpr std::size_t max_unacked_kept = 65536;

failure local(errc e, std::string text = {}, std::error_code network = {}) {
  return failure{e, text.empty() ? make_error_code(e).message() : std::move(text), is_retriable(e), 0, network};
}

std::error_code system_error(int e) { return {e, std::generic_category()}; }

/// A TLS connection lost with OpenSSL's error `e`: the system's reason `sys` when the loss
/// was a system call's (and it gave one), else a reset.
std::error_code tls_loss(int e, int sys) {
  return e == SSL_ERROR_SYSCALL && sys != 0 ? system_error(sys) : system_error(ECONNRESET);
}

/// The broker's TLS refused this client (its certificate, typically): no retry changes it.
failure refused_by_tls(const std::string& alert) {
  return local(errc::authentication_failed, "TLS: the broker refused the connection: " + alert);
}

class resolver_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolver"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

}  // namespace

failure outcome_unknown(failure f, const std::string& what, const std::string& maybe) {
  f.message = "the connection broke on a frame from the broker over this client's limit before the " + what +
              "'s answer was read, so its outcome is unknown" + (maybe.empty() ? "" : " (" + maybe + ")") + ": " +
              f.message;
  return f;
}

const std::error_category& resolver_category() noexcept {
  static const resolver_error_category instance;
  return instance;
}

result<connection> connection::open(const options& o) {
  // One deadline for the whole: each address tried, the handshake, authentication.
  const auto deadline = deadline_after(o.timeout);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const auto port = std::to_string(o.port);
  if (const int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0 || res == nullptr) {
    if (res != nullptr) freeaddrinfo(res);
    // A resolver that could not answer now (EAI_AGAIN, a system failure) may later; a name
    // that does not exist stays so.
    const bool temporary = rc == EAI_AGAIN || rc == EAI_SYSTEM;
    const auto why = rc == EAI_SYSTEM ? system_error(errno) : std::error_code(rc == 0 ? EAI_NONAME : rc, resolver_category());
    return local(temporary ? errc::storage_unavailable : errc::invalid_request,
                 "cannot resolve " + o.host + ": " + why.message(), why);
  }
  std::size_t addresses = 0;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) ++addresses;
  int fd = -1;
  int failed = ETIMEDOUT;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next, --addresses) {
    // Each address has its share of the time left, the last all of it: one that drops
    // packets must not take the time the next would need.
    const auto share = time_left(deadline) / addresses;
    fd = ::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) {
      failed = errno;
      continue;
    }
    if (connect_within(fd, ai->ai_addr, ai->ai_addrlen, share)) break;
    failed = errno;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return local(failed == ETIMEDOUT ? errc::timeout : errc::storage_unavailable,
                 "cannot connect to " + o.host + ":" + port + ": " + std::strerror(failed), system_error(failed));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A peer that vanished without a word (a host powered off) is found out eventually even
  // by a connection that only waits (a subscriber).
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  connection c{fd, o};
  if (o.tls)
    if (auto failed_tls = c.start_tls(deadline)) return *failed_tls;
  if (!o.user.empty()) {
    auto authenticated = c.authenticate(o.mechanism, o.user, o.password, deadline);
    if (!ok(authenticated)) return error_of(authenticated);
  }
  return c;
}

result<bool> connection::authenticate(const std::string& mechanism, const std::string& user,
                                      const std::string& password) {
  return authenticate(mechanism, user, password, deadline_after(opts_.timeout));
}

result<bool> connection::authenticate(const std::string& mechanism, const std::string& user,
                                      const std::string& password, std::chrono::steady_clock::time_point deadline) {
  namespace sec = protocol::security;
  struct answer {
    std::string token;
    bool done = false;
  };
  // The response's token is a view into the frame: copied out before the frame goes.
  auto step = [&](const std::string& token) -> result<answer> {
    buffer frame;
    native::encode(frame, native::authenticate_request{next_id(), mechanism, protocol::as_bytes(token)});
    // Each step (its send and its answer) has what is left until the deadline, not the
    // whole timeout again: a broker slow at every step must not stretch the exchange.
    const auto whole = std::exchange(opts_.timeout, std::max(time_left(deadline), std::chrono::milliseconds(1)));
    auto r = call<answer>(std::move(frame), [](protocol::byte_view body) -> expected<answer> {
      auto decoded = native::decode_authenticate_response(body);
      if (!decoded) return decoded.error();
      return answer{std::string(protocol::as_chars(decoded->token)), decoded->done};
    });
    opts_.timeout = whole;
    return r;
  };
  if (mechanism == "PLAIN") {
    auto r = step(std::string(1, '\0') + user + std::string(1, '\0') + password);
    if (!ok(r)) return error_of(r);
    if (!std::get<0>(r).done) return local(errc::authentication_failed, "the broker wants more than PLAIN's one step");
    return true;
  }
  const auto m = sec::scram_mechanism_named(mechanism);
  if (!m) return local(errc::invalid_request, "unknown SASL mechanism " + mechanism);
  sec::scram_client scram(*m, user, password);
  auto first = step(scram.client_first());
  if (!ok(first)) return error_of(first);
  auto final = scram.client_final(std::get<0>(first).token);
  if (!final) return local(errc::authentication_failed, "the broker's SCRAM message is malformed or does not continue our nonce");
  auto last = step(*final);
  if (!ok(last)) return error_of(last);
  if (!std::get<0>(last).done || scram.check_server_final(std::get<0>(last).token))
    return local(errc::authentication_failed, "the broker did not prove it knows the credential");
  return true;
}

std::optional<failure> connection::start_tls(std::chrono::steady_clock::time_point deadline) {
  std::string why;
  tls_ = protocol::security::tls_client::create(
      {opts_.tls_ca_file, opts_.tls_cert_file, opts_.tls_key_file, opts_.tls_server_name}, opts_.host, fd_, why);
  if (!tls_) return local(errc::authentication_failed, why);
  // Non-blocking from here: every wait is bounded (the handshake's by what is left of
  // opening, later ones by the request timeout).
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  for (;;) {
    const int rc = tls_->connect();
    if (rc == 1) return std::nullopt;
    const int e = SSL_get_error(tls_->ssl(), rc);
    if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && wait_socket(e == SSL_ERROR_WANT_WRITE, deadline))
      continue;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return local(errc::timeout, "TLS: handshake timed out", system_error(ETIMEDOUT));
    // Cut off before either side refused anything (a broker restarting, a reset): worth
    // another try. A certificate refused, a peer that speaks no TLS are not.
    const int sys = errno;
    const bool cut_off = e == SSL_ERROR_SYSCALL ||
                         (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    if (cut_off && SSL_get_verify_result(tls_->ssl()) == X509_V_OK) {
      ERR_clear_error();
      const auto reason = tls_loss(e, sys);
      return local(errc::storage_unavailable, "TLS: the connection ended during the handshake: " + reason.message(),
                   reason);
    }
    // An alert from the broker: a refusal of this client (with TLS 1.2 its certificate is
    // judged in the handshake; or the terms it offers), said as a refusal after the
    // handshake is; any other (internal_error, bad_record_mac, decode_error, ...) says the
    // connection broke, as after the handshake: a reset, the alert named, worth another try.
    if (const auto alert = e == SSL_ERROR_SSL ? alert_from_peer() : tls_alert{}; !alert.name.empty()) {
      ERR_clear_error();
      if (alert.refuses_client) return refused_by_tls(alert.name);
      const auto reset = system_error(ECONNRESET);
      return local(errc::storage_unavailable,
                   "TLS: the connection ended during the handshake: " + reset.message() + " (TLS: " + alert.name + ")",
                   reset);
    }
    // Failed here (the broker's certificate refused, a peer that speaks no TLS): final,
    // handshake_failure names why.
    return local(errc::authentication_failed, tls_->handshake_failure());
  }
}

bool connection::wait_socket(bool for_write, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd_, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
  for (;;) {
    // What is left, recomputed: each of the handshake's waits does not get the whole again.
    const int rc = ::poll(&p, 1, poll_timeout(time_left(deadline)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0 && time_left(deadline).count() > 0) continue;  // longer than one poll waits
    return rc > 0;
  }
}

connection::connection(int fd, options o)
    : fd_(fd),
      opts_(std::move(o)),
      decoder_(protocol::frame_limits{opts_.max_frame_bytes}),
      codecs_(std::make_unique<const protocol::codec_manager>(opts_.max_frame_bytes)) {}

connection::connection(connection&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      broken_(other.broken_),
      lost_(other.lost_),
      tls_failed_(other.tls_failed_),
      tls_alert_(std::move(other.tls_alert_)),
      unframed_(other.unframed_),
      subscribed_by_request_(std::move(other.subscribed_by_request_)),
      tls_(std::move(other.tls_)),
      opts_(std::move(other.opts_)),
      last_id_(other.last_id_),
      decoder_(std::move(other.decoder_)),
      codecs_(std::move(other.codecs_)),
      deliveries_(std::move(other.deliveries_)),
      assignments_(std::move(other.assignments_)),
      subscription_next_(std::move(other.subscription_next_)),
      ended_subscriptions_(std::move(other.ended_subscriptions_)),
      unacked_publishes_(std::move(other.unacked_publishes_)),
      publish_errors_(std::move(other.publish_errors_)),
      awaited_publishes_(std::move(other.awaited_publishes_)),
      group_errors_(std::move(other.group_errors_)),
      joined_(other.joined_),
      early_answers_(std::move(other.early_answers_)),
      held_(std::move(other.held_)) {}

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    send_held_before_closing();
    if (fd_ >= 0) ::close(fd_);
    tls_.reset();
    fd_ = std::exchange(other.fd_, -1);
    broken_ = other.broken_;
    lost_ = other.lost_;
    tls_failed_ = other.tls_failed_;
    tls_alert_ = std::move(other.tls_alert_);
    unframed_ = other.unframed_;
    subscribed_by_request_ = std::move(other.subscribed_by_request_);
    tls_ = std::move(other.tls_);
    opts_ = std::move(other.opts_);
    last_id_ = other.last_id_;
    decoder_ = std::move(other.decoder_);
    codecs_ = std::move(other.codecs_);
    deliveries_ = std::move(other.deliveries_);
    assignments_ = std::move(other.assignments_);
    subscription_next_ = std::move(other.subscription_next_);
    ended_subscriptions_ = std::move(other.ended_subscriptions_);
    unacked_publishes_ = std::move(other.unacked_publishes_);
    publish_errors_ = std::move(other.publish_errors_);
    awaited_publishes_ = std::move(other.awaited_publishes_);
    group_errors_ = std::move(other.group_errors_);
    joined_ = other.joined_;
    early_answers_ = std::move(other.early_answers_);
    held_ = std::move(other.held_);
  }
  return *this;
}

void connection::send_held_before_closing() {
  // Publishes pipelined and never waited for still go, as far as the socket takes them now:
  // their sender may not need the answers, and the end of a connection must not wait on a
  // broker that stopped reading. (Over TLS they are flushed: each wait for the socket is
  // bounded by the request timeout.)
  if (fd_ < 0 || broken_ || held_.empty()) return;
  if (tls_)
    flush();
  else
    (void)::send(fd_, held_.data(), held_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  held_.clear();
}

connection::~connection() {
  send_held_before_closing();
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool connection::flush() {
  if (held_.empty()) return true;
  if (broken_) {  // what is held never leaves: its answers will not come either
    held_.clear();
    return false;
  }
  const bool sent = send_bytes(held_);
  held_.clear();
  // One large publish (a batch past max_held_bytes) is not kept allocated for good.
  if (held_.capacity() > 2 * max_held_bytes) buffer{}.swap(held_);
  return sent;
}

bool connection::write_all(protocol::byte_view bytes) {
  // What is held goes first: requests leave in the order they were made.
  return flush() && !broken_ && send_bytes(bytes);
}

failure connection::lost(const std::string& what) const {
  if (tls_alert_.refuses_client) return refused_by_tls(tls_alert_.name);
  const auto why = lost_ ? lost_ : system_error(ECONNABORTED);
  // Another alert (bad_record_mac, internal_error, ...) is a connection reset, named.
  const auto alert = tls_alert_.name.empty() ? std::string() : " (TLS: " + tls_alert_.name + ")";
  return local(why == std::errc::timed_out ? errc::timeout : errc::storage_unavailable,
               what + ": " + why.message() + alert, why);
}

bool connection::send_bytes(protocol::byte_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (tls_) {
      const int n = tls_->write(bytes.data() + done, static_cast<int>(bytes.size() - done));
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      const int sys = errno;
      const int e = SSL_get_error(tls_->ssl(), n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait_to_send(e == SSL_ERROR_WANT_WRITE)) continue;  // else lost_ says why not
      } else {
        if (e == SSL_ERROR_SSL) tls_alert_ = alert_from_peer();
        lost_ = tls_loss(e, sys);
        tls_failed_ = true;
        ERR_clear_error();
      }
      broken_ = true;
      return false;
    }
    const auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (wait_to_send(true)) continue;  // else lost_ says why not
    } else {
      lost_ = system_error(errno);
    }
    broken_ = true;
    return false;
  }
  return true;
}

bool connection::wait_to_send(bool for_write) {
  // The wait is for progress: reading meanwhile does not start it again.
  const auto deadline = deadline_after(opts_.timeout);
  // What is read meanwhile stays unparsed in the decoder: past a few frames' worth the
  // broker is left to wait for us (its own backpressure: it stops reading), rather than our
  // memory growing with the wait. TLS that needs to read to write is always let read.
  const std::size_t read_ahead = 4 * static_cast<std::size_t>(opts_.max_frame_bytes);
  for (;;) {
    const auto left = time_left(deadline);
    const bool take_input = !for_write || decoder_.buffered() < read_ahead;
    pollfd p{fd_, static_cast<short>((for_write ? POLLOUT : 0) | (take_input ? POLLIN : 0)), 0};
    const int rc = ::poll(&p, 1, poll_timeout(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      lost_ = system_error(errno);
      return false;
    }
    if (rc == 0) {
      if (left.count() > 0) continue;
      lost_ = system_error(ETIMEDOUT);  // the broker read nothing for a whole request timeout
      return false;
    }
    // The broker ended the connection (its refusal of a frame over its limit is an Error,
    // then the close): what it sent before is read now, while it can be. The write would fail
    // first otherwise, and over TLS that failure is fatal: OpenSSL may not read after it, so
    // salvage would not find the Error. Nothing arrives after the end: no more is read than
    // the socket holds.
    if ((p.revents & POLLIN) != 0 && (p.revents & (POLLERR | POLLHUP)) != 0) {
      for (;;) {
        const auto got = read_available();
        if (!got) return false;      // lost_ says why
        if (*got == 0) return true;  // all read: the next write reports the error
      }
    }
    // Room, or an error the next write reports.
    if (for_write && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0) return true;
    if ((p.revents & POLLIN) == 0) return true;
    if (!read_available().has_value()) return false;
    if (!for_write) return true;  // TLS wanted to read: the write is tried again
  }
}

std::optional<std::size_t> connection::read_available() {
  // After a fatal error OpenSSL must not be called again on the connection; lost_ says why.
  if (tls_failed_) return std::nullopt;
  auto space = decoder_.prepare(64 * 1024);
  if (tls_) {
    const int n = tls_->read(space.data(), static_cast<int>(space.size()));
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    const int e = SSL_get_error(tls_->ssl(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;  // e.g. a session ticket
    const int sys = errno;
    // With TLS 1.3 a broker that refuses our certificate says so here, at the first read
    // after the handshake: an alert refusing this client, not a connection lost.
    if (e == SSL_ERROR_SSL) tls_alert_ = alert_from_peer();
    ERR_clear_error();
    lost_ = tls_loss(e, n < 0 ? sys : 0);
    tls_failed_ = true;
    return std::nullopt;
  }
  for (;;) {
    const auto n = ::recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    lost_ = n == 0 ? system_error(ECONNRESET) : system_error(errno);  // 0: the broker closed it
    return std::nullopt;
  }
}

bool connection::send_raw(protocol::byte_view bytes) { return write_all(bytes); }

result<buffer> connection::read_frame(std::chrono::milliseconds wait, bool* timed_out) {
  if (timed_out) *timed_out = false;
  if (broken_) return lost("connection closed after a failure");
  bool waited_out = false;
  auto f = read_frame_once(wait, &waited_out);
  if (timed_out) *timed_out = waited_out;
  if (!ok(f) && !waited_out) broken_ = true;
  return f;
}

bool connection::has_pending() const {
  return has_pending_deliveries() || !assignments_.empty() || !group_errors_.empty() || !early_answers_.empty();
}

bool connection::has_pending_deliveries() const {
  return !deliveries_.empty() || decoder_.buffered() > unframed_ || (tls_ && !tls_failed_ && SSL_pending(tls_->ssl()) > 0);
}

bool connection::subscribed(std::uint32_t subscription_id) const {
  return std::any_of(subscribed_by_request_.begin(), subscribed_by_request_.end(),
                     [&](const auto& e) { return e.second == subscription_id; });
}

result<buffer> connection::read_frame_once(std::chrono::milliseconds wait, bool* timed_out) {
  if (timed_out) *timed_out = false;
  const auto deadline = deadline_after(wait);
  for (;;) {
    auto held = held_frame();
    if (!ok(held)) return error_of(held);
    if (auto& frame = std::get<0>(held)) return std::move(*frame);
    // Nothing here to read: what is held back goes out before waiting for an answer to it
    // (unless the connection failed: then only what arrived is read). What arrives while it
    // goes is read into the decoder, and looked at first.
    if (!broken_) {
      const auto had = decoder_.buffered();
      if (!flush()) return lost("write failed");
      if (decoder_.buffered() != had) continue;
    }
    const auto left = time_left(deadline);
    // Decrypted bytes already buffered by OpenSSL do not show on the socket. Once the time is
    // up nothing is waited for: what has arrived is read below.
    if (left.count() > 0 && (!tls_ || tls_failed_ || SSL_pending(tls_->ssl()) == 0)) {
      pollfd p{fd_, POLLIN, 0};
      const int rc = ::poll(&p, 1, poll_timeout(left));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) continue;  // once the time is up, a last read below
    }
    const auto got = read_available();
    if (!got) return lost(lost_ == std::errc::connection_reset ? "connection closed by broker" : "read failed");
    // Time is up, but what has already arrived is still read, for as long as reads bring
    // some: a short or zero wait must not miss a frame sitting in the socket, however large,
    // nor the frames behind it (a reader after a failure looks for an answer there).
    if (*got == 0 && left.count() <= 0) {
      if (timed_out) *timed_out = true;
      return local(errc::timeout);
    }
  }
}

result<std::optional<buffer>> connection::held_frame() {
  auto f = decoder_.next();
  if (!f) return bad_frame(f.error());
  if (!*f) {
    unframed_ = decoder_.buffered();
    return std::optional<buffer>{};
  }
  unframed_ = 0;
  const auto& v = **f;
  return std::optional<buffer>{buffer(v.payload.data() - protocol::frame_header_size, v.payload.data() + v.payload.size())};
}

failure connection::bad_frame(std::error_code why) const {
  // Larger than this client takes (a record stored under a broker's larger limit): every
  // connection would refuse it again, so the caller is told which limit to raise.
  if (why == errc::frame_too_large)
    return local(errc::frame_too_large,
                 "frame of " + std::to_string(decoder_.refused_length()) +
                     " bytes from the broker exceeds the client's limit of " + std::to_string(opts_.max_frame_bytes),
                 system_error(EMSGSIZE));
  return local(static_cast<errc>(why.value()), "bad frame from broker: " + why.message());
}

result<buffer> connection::receive_frame(std::chrono::milliseconds wait) {
  return read_frame(wait, nullptr);
}

namespace {
// The request id an answer frame (Response or Error) names; nothing for other frames.
std::optional<std::uint32_t> answer_id(const buffer& bytes) {
  const auto type = static_cast<message_type>(bytes[5]);
  if (type != message_type::response && type != message_type::error) return std::nullopt;
  if (bytes.size() < protocol::frame_header_size + 4) return std::nullopt;
  return protocol::load_be32(bytes.data() + protocol::frame_header_size);
}

protocol::byte_view payload_of(const buffer& bytes) {
  return {bytes.data() + protocol::frame_header_size, bytes.size() - protocol::frame_header_size};
}

// Kept for a reader who may never come: the latest max_unacked_kept, not memory without end.
void keep_latest(std::deque<failure>& kept, failure f) {
  kept.push_back(std::move(f));
  if (kept.size() > max_unacked_kept) kept.pop_front();
}
}  // namespace

bool connection::stash_early_answer(buffer& bytes) {
  const auto id = answer_id(bytes);
  if (!id || std::find(awaited_publishes_.begin(), awaited_publishes_.end(), *id) == awaited_publishes_.end())
    return false;
  early_answers_[*id] = std::move(bytes);
  return true;
}

void connection::answered_up_to(std::uint32_t answered) {
  unacked_publishes_.erase(unacked_publishes_.begin(), unacked_publishes_.lower_bound(answered));
}

bool connection::keep_for_its_reader(std::uint32_t request_id, failure& f) {
  // The end of a subscription (an Error naming its Subscribe): for next_delivery, behind the
  // deliveries that came before it (where the subscription stands still filters them).
  if (auto it = subscribed_by_request_.find(request_id); it != subscribed_by_request_.end()) {
    f.subscription_id = it->second;
    subscribed_by_request_.erase(it);
    deliveries_.emplace_back(std::move(f));
    return true;
  }
  if (ended_subscriptions_.erase(request_id) > 0) return true;  // unsubscribed already
  if (unacked_publishes_.erase(request_id) > 0) {
    keep_latest(publish_errors_, std::move(f));
    return true;
  }
  // Of request id 0 after a join, other than a refused connection: a membership ended.
  if (request_id == 0 && joined_ && static_cast<int>(f.code) >= 32 &&
      f.code != errc::too_many_connections) {
    group_errors_.push_back(std::move(f));
    return true;
  }
  return false;
}

std::optional<failure> connection::set_aside(buffer& bytes) {
  if (stash_push(bytes) || stash_early_answer(bytes)) return std::nullopt;
  const auto type = static_cast<message_type>(bytes[5]);
  if (type != message_type::error && type != message_type::response) return std::nullopt;  // a push unknown here
  const auto id = answer_id(bytes).value_or(0);
  if (type == message_type::error) {
    auto e = native::decode_error(payload_of(bytes));
    if (!e) {
      broken_ = true;
      return local(errc::malformed_payload, "malformed error frame");
    }
    failure f{static_cast<errc>(e->code), e->message, e->retriable};
    if (keep_for_its_reader(e->request_id, f)) return std::nullopt;
    broken_ = true;
    // Of request 0: a framing error, a connection refused; the broker ends the connection.
    if (e->request_id == 0) return f;
  }
  broken_ = true;  // every later answer would be taken for the wrong request's
  return local(errc::malformed_payload, "an answer to request " + std::to_string(id) + ", which no call waits for");
}

std::optional<failure> connection::salvage(std::uint32_t request_id) {
  // Ended by our own clock (a write or an answer that timed out), the connection may still
  // be live: a broker we had stopped reading pushes again as soon as we read, and reading
  // until a read finds nothing could then take its pushes without end. Only what the decoder
  // holds is looked at then (at most wait_to_send's read-ahead and one read).
  const bool read_socket = lost_ != std::errc::timed_out;
  std::optional<failure> refused;
  while (fd_ >= 0 && (request_id == 0 || !early_answers_.contains(request_id))) {
    buffer bytes;
    if (read_socket) {
      auto f = read_frame_once(std::chrono::milliseconds(0), nullptr);
      if (!ok(f)) break;  // all that had arrived is read, or it cannot be read
      bytes = std::move(std::get<0>(f));
    } else {
      auto f = held_frame();
      if (!ok(f) || !std::get<0>(f)) break;  // all the decoder held is taken
      bytes = std::move(*std::get<0>(f));
    }
    if (request_id != 0 && answer_id(bytes) == request_id) {
      early_answers_[request_id] = std::move(bytes);
      continue;
    }
    // The connection is over: what fits nowhere does not matter now, except the broker's
    // refusal of a frame over its limit (set_aside returns an Error of request 0 as the
    // broker sent it): the fate of the request it cut off, which no retry would change. Its
    // other reasons (too many connections, a malformed stream) end the connection, not a
    // request: that is lost, and worth another try.
    if (auto why = set_aside(bytes); why && why->code == errc::frame_too_large && !refused) refused = std::move(why);
  }
  return refused;
}

failure connection::write_failed(bool was_usable) {
  // The broker refuses a frame as it closes the connection. One that had failed before is not
  // read here; after a write that timed out (the broker read nothing), salvage takes only what
  // was read already. (Answers to publishes are looked for by their reader.)
  if (!was_usable) return lost("write failed");
  if (auto why = salvage(0)) return *why;
  return lost("write failed");
}

result<std::pair<native::response_header, buffer>> connection::wait_response(
    std::uint32_t request_id, std::chrono::milliseconds wait) {
  // One wait for the call: frames pushed meanwhile do not start it again.
  const auto deadline = deadline_after(wait.count() > 0 ? wait : opts_.timeout);
  // Once the connection failed: how (a read's failure), or the broker's refusal of a frame.
  std::optional<failure> failed;
  bool salvaged = false;
  for (;;) {
    buffer bytes;
    if (auto early = early_answers_.find(request_id); early != early_answers_.end()) {
      bytes = std::move(early->second);  // read meanwhile by another call
      early_answers_.erase(early);
    } else if (broken_ && !salvaged) {
      // The connection failed (before this call, or as it wrote what was held back): an
      // answer that had arrived before is still this request's.
      salvaged = true;
      if (auto why = salvage(request_id)) failed = std::move(why);
      continue;
    } else if (broken_) {
      return failed ? *failed : lost("the connection failed before the answer came");
    } else {
      bool timed_out = false;
      auto f = read_frame(time_left(deadline), &timed_out);
      if (!ok(f) && timed_out) {
        broken_ = true;  // a late answer would be taken for the next request's
        // Ended by our own clock, not by the broker: later calls on it say so too.
        lost_ = system_error(ETIMEDOUT);
        return lost("no answer in time");
      }
      if (!ok(f)) {  // the connection is unusable now
        failed = error_of(f);
        continue;
      }
      bytes = std::move(std::get<0>(f));
    }
    if (answer_id(bytes) != request_id) {
      // Pushes, other answers kept for their readers; anything else is a failure.
      if (auto why = set_aside(bytes)) return *why;
      continue;
    }
    const auto payload = payload_of(bytes);
    if (static_cast<message_type>(bytes[5]) == message_type::error) {
      auto e = native::decode_error(payload);
      if (!e) {
        broken_ = true;
        return local(errc::malformed_payload, "malformed error frame");
      }
      answered_up_to(request_id);
      return failure{static_cast<errc>(e->code), e->message, e->retriable};
    }
    protocol::byte_view body;
    auto h = native::decode_response_header(payload, body);
    if (!h) {
      broken_ = true;
      return local(errc::malformed_payload, "malformed response");
    }
    answered_up_to(request_id);
    // Keep only the body.
    buffer out(body.begin(), body.end());
    return std::pair{*h, std::move(out)};
  }
}

template <class T, class Decode>
result<T> connection::call(buffer request, Decode decode) {
  // Every request's payload starts with its id (docs/protocol.md).
  std::uint32_t id = 0;
  if (request.size() >= protocol::frame_header_size + 4)
    id = protocol::load_be32(request.data() + protocol::frame_header_size);
  const bool was_usable = usable();
  if (!write_all(request)) return write_failed(was_usable);
  auto r = wait_response(id);
  if (!ok(r)) return error_of(r);
  auto v = decode(protocol::byte_view{std::get<0>(r).second});
  if (!v) return local(errc::malformed_payload, "malformed response body");
  return T(std::move(*v));
}

namespace {
expected<bool> empty_body(protocol::byte_view body) {
  if (!body.empty()) return errc::malformed_payload;
  return true;
}
}  // namespace

result<std::uint32_t> connection::send_publish(const std::string& topic, std::int32_t partition,
                                               const protocol::message_batch& batch, bool acks,
                                               const native::publish_producer& producer) {
  scratch_.clear();
  auto flags = codecs_->encode(batch, opts_.encoding, scratch_);
  if (!flags) return local(static_cast<errc>(flags.error().value()));
  native::publish_request req;
  req.request_id = next_id();
  req.acks = acks ? 1 : 0;
  req.topic = topic;
  req.partition = partition;
  req.producer = producer;
  req.batch = scratch_;
  const bool was_usable = usable();
  if (acks) {
    // Held back with the others pipelined before it (flush()).
    native::encode(held_, req, *flags);
    awaited_publishes_.push_back(req.request_id);
    if (held_.size() >= max_held_bytes && !flush()) {
      awaited_publishes_.pop_back();  // not sent whole (it went last): no answer comes
      return write_failed(was_usable);
    }
    return req.request_id;
  }
  buffer frame;
  frame.reserve(scratch_.size() + 64 + topic.size());
  native::encode(frame, req, *flags);
  if (!write_all(frame)) return write_failed(was_usable);
  unacked_publishes_.insert(req.request_id);
  // A publisher that never waits for anything: the oldest are forgotten (an Error for one
  // of them then ends the connection as out of step, rather than memory growing).
  if (unacked_publishes_.size() > max_unacked_kept) unacked_publishes_.erase(unacked_publishes_.begin());
  // Nobody may read this connection otherwise: the broker's Errors would fill the socket
  // until the broker stopped reading our publishes.
  read_arrived();
  return req.request_id;
}

void connection::read_arrived() {
  while (usable()) {
    bool timed_out = false;
    auto f = read_frame(std::chrono::milliseconds(0), &timed_out);
    if (!ok(f)) {
      if (!timed_out) keep_latest(publish_errors_, error_of(f));
      return;
    }
    auto bytes = std::move(std::get<0>(f));
    if (auto why = set_aside(bytes)) {
      keep_latest(publish_errors_, std::move(*why));
      return;
    }
  }
}

std::optional<failure> connection::next_publish_error() {
  if (publish_errors_.empty()) read_arrived();
  if (publish_errors_.empty()) return std::nullopt;
  auto f = std::move(publish_errors_.front());
  publish_errors_.pop_front();
  return f;
}

result<native::publish_response> connection::receive_publish() {
  if (awaited_publishes_.empty()) return local(errc::invalid_request, "no publish awaits a response");
  return receive_publish(awaited_publishes_.front());
}

result<native::publish_response> connection::receive_publish(std::uint32_t request_id) {
  // No longer awaited by anyone else: its answer, when another reader meets it, is out of
  // step unless it is this one's (wait_response takes it).
  if (std::erase(awaited_publishes_, request_id) == 0)
    return local(errc::invalid_request, "publish " + std::to_string(request_id) + " awaits no response");
  return publish_answer(request_id);
}

result<native::publish_response> connection::publish_answer(std::uint32_t request_id) {
  auto r = wait_response(request_id);
  if (!ok(r)) return error_of(r);
  auto p = native::decode_publish_response(std::get<0>(r).second);
  if (!p) return local(errc::malformed_payload);
  return *p;
}

result<native::publish_response> connection::publish(const std::string& topic, std::int32_t partition,
                                                      const protocol::message_batch& batch,
                                                      const native::publish_producer& producer) {
  auto sent = send_publish(topic, partition, batch, true, producer);
  if (!ok(sent)) return error_of(sent);
  // Its own answer, not the oldest awaited: publishes pipelined before it keep theirs for
  // receive_publish (wait_response sets them aside while they are still awaited).
  return receive_publish(std::get<0>(sent));
}

result<native::init_producer_response> connection::init_producer(std::int64_t id,
                                                                 std::int16_t epoch) {
  buffer frame;
  native::encode(frame, native::init_producer_request{next_id(), id, epoch});
  return call<native::init_producer_response>(std::move(frame),
                                              native::decode_init_producer_response);
}

result<fetched> connection::decode_fetched(const native::fetch_response& f, std::int64_t from) {
  fetched out;
  out.partition = f.partition;
  out.high_watermark = f.high_watermark;
  out.log_start = f.log_start;
  out.next_offset = from;
  for (const auto& b : f.batches) {
    // Verify the stored frame end to end (CRC computed by the broker when it was stored).
    auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
    if (!frame) return local(errc::corrupt_stored_data, "stored frame failed its check");
    auto batch = codecs_->decode(frame->header.flags, frame->payload);
    if (!batch) return local(static_cast<errc>(batch.error().value()));
    for (std::size_t i = 0; i < batch->messages.size(); ++i) {
      auto& m = batch->messages[i];
      m.offset = b.base_offset + static_cast<std::int64_t>(i);
      // A batch is returned whole: what lies before the reader's offset, or before the log
      // start (DeleteRecords may move it into a stored batch; -2 means it), is not handed out.
      if ((from >= 0 && m.offset < from) || m.offset < f.log_start) continue;
      out.messages.push_back(std::move(m));
    }
    out.next_offset = b.base_offset + b.record_count;
  }
  return out;
}

result<fetched> connection::fetch(const std::string& topic, std::int32_t partition,
                                  std::int64_t offset, std::uint32_t max_bytes,
                                  std::uint32_t max_wait_ms) {
  native::fetch_request req{next_id(), topic, partition, offset, max_bytes, max_wait_ms};
  buffer frame;
  native::encode(frame, req);
  const bool was_usable = usable();
  if (!write_all(frame)) return write_failed(was_usable);
  // A long poll is answered after up to max_wait_ms (the broker caps it), then the answer
  // has the request timeout to arrive.
  const auto long_poll = std::chrono::milliseconds(std::min<std::uint32_t>(max_wait_ms, 60'000));
  auto r = wait_response(req.request_id, opts_.timeout < std::chrono::milliseconds::max() - long_poll
                                             ? opts_.timeout + long_poll
                                             : std::chrono::milliseconds::max());
  if (!ok(r)) return error_of(r);
  auto f = native::decode_fetch_response(std::get<0>(r).second);
  if (!f) return local(errc::malformed_payload);
  auto out = decode_fetched(*f, offset);
  if (ok(out) && std::get<0>(out).messages.empty() && offset < 0)
    std::get<0>(out).next_offset = offset == -1 ? f->high_watermark : f->log_start;
  return out;
}

result<bool> connection::create_topic(const std::string& topic, std::int32_t partitions,
                                      std::vector<native::config_entry> configs) {
  buffer frame;
  native::encode(frame, native::topic_admin_request{next_id(), native::admin_op::create, topic,
                                                    partitions, std::move(configs)});
  return call<bool>(std::move(frame), empty_body);
}

result<bool> connection::delete_topic(const std::string& topic) {
  buffer frame;
  native::encode(frame, native::topic_admin_request{next_id(), native::admin_op::remove, topic, 0, {}});
  return call<bool>(std::move(frame), empty_body);
}

result<std::vector<native::topic_summary>> connection::list_topics() {
  buffer frame;
  native::encode(frame, native::topic_admin_request{next_id(), native::admin_op::list, {}, 0, {}});
  return call<std::vector<native::topic_summary>>(std::move(frame), native::decode_topic_list);
}

result<native::topic_detail> connection::describe_topic(const std::string& topic) {
  buffer frame;
  native::encode(frame,
                 native::topic_admin_request{next_id(), native::admin_op::describe, topic, 0, {}});
  return call<native::topic_detail>(std::move(frame), native::decode_topic_detail);
}

result<bool> connection::alter_topic_config(const std::string& topic,
                                            std::vector<native::config_entry> configs) {
  buffer frame;
  native::encode(frame, native::topic_admin_request{next_id(), native::admin_op::alter_config,
                                                    topic, 0, std::move(configs)});
  return call<bool>(std::move(frame), empty_body);
}

result<bool> connection::add_partitions(const std::string& topic, std::int32_t total) {
  buffer frame;
  native::encode(frame, native::topic_admin_request{next_id(), native::admin_op::add_partitions,
                                                    topic, total, {}});
  return call<bool>(std::move(frame), empty_body);
}

result<std::vector<native::group_summary>> connection::list_groups() {
  buffer frame;
  native::encode(frame, native::group_admin_request{next_id(), native::group_op::list, {}});
  return call<std::vector<native::group_summary>>(std::move(frame), native::decode_group_list);
}

result<native::group_detail> connection::describe_group(const std::string& group) {
  buffer frame;
  native::encode(frame, native::group_admin_request{next_id(), native::group_op::describe, group});
  return call<native::group_detail>(std::move(frame), native::decode_group_detail);
}

result<bool> connection::delete_group(const std::string& group) {
  buffer frame;
  native::encode(frame, native::group_admin_request{next_id(), native::group_op::remove, group});
  return call<bool>(std::move(frame), empty_body);
}

native::user_admin_request connection::user_admin(native::user_op op, const std::string& user,
                                                  const std::string& mechanism) {
  native::user_admin_request req{};
  req.request_id = next_id();
  req.op = op;
  req.user = user;
  req.mechanism = mechanism;
  return req;
}

result<std::vector<native::user_credential_info>> connection::list_users() {
  buffer frame;
  native::encode(frame, user_admin(native::user_op::list, {}, {}));
  return call<std::vector<native::user_credential_info>>(std::move(frame), native::decode_user_list);
}

result<bool> connection::upsert_user(const std::string& user, const std::string& password,
                                     const std::string& mechanism, std::int32_t iterations) {
  namespace sec = protocol::security;
  const auto m = sec::scram_mechanism_named(mechanism);
  if (!m) return local(errc::invalid_request, "unknown SCRAM mechanism " + mechanism);
  // Hi(password, salt, i) as RFC 5802 defines it: the broker derives its keys from this.
  const auto salt = sec::random_bytes(24);
  const auto salted = sec::pbkdf2(sec::hash_of(*m), password, salt, iterations);
  buffer frame;
  auto req = user_admin(native::user_op::upsert, user, mechanism);
  req.iterations = iterations;
  req.salt = protocol::as_bytes(salt);
  req.salted_password = protocol::as_bytes(salted);
  native::encode(frame, req);
  return call<bool>(std::move(frame), empty_body);
}

result<bool> connection::delete_user(const std::string& user, const std::string& mechanism) {
  buffer frame;
  native::encode(frame, user_admin(native::user_op::remove, user, mechanism));
  return call<bool>(std::move(frame), empty_body);
}

result<std::vector<native::acl_entry>> connection::acl_call(native::acl_op op, std::vector<native::acl_entry> entries) {
  buffer frame;
  native::encode(frame, native::acl_admin_request{next_id(), op, std::move(entries)});
  return call<std::vector<native::acl_entry>>(std::move(frame), native::decode_acl_list);
}

result<std::vector<native::acl_entry>> connection::list_acls(std::vector<native::acl_entry> filters) {
  return acl_call(native::acl_op::list, std::move(filters));
}

result<bool> connection::create_acls(std::vector<native::acl_entry> bindings) {
  auto r = acl_call(native::acl_op::create, std::move(bindings));
  if (!ok(r)) return error_of(r);
  return true;
}

result<std::vector<native::acl_entry>> connection::delete_acls(std::vector<native::acl_entry> filters) {
  return acl_call(native::acl_op::remove, std::move(filters));
}

result<native::metadata_response> connection::metadata(std::vector<std::string> groups) {
  buffer frame;
  if (groups.size() > UINT16_MAX) groups.resize(UINT16_MAX);
  native::encode_metadata_request(frame, native::metadata_request{next_id(), true, std::move(groups)});
  return call<native::metadata_response>(std::move(frame), native::decode_metadata_response);
}

result<bool> connection::commit(const std::string& consumer, const std::string& topic,
                                std::int32_t partition, std::int64_t offset,
                                const std::string& metadata, const std::string& member_id,
                                std::int32_t generation) {
  buffer frame;
  native::encode(frame, native::ack_request{next_id(), consumer, topic, partition, offset, metadata,
                                            member_id, generation});
  return call<bool>(std::move(frame), empty_body);
}

result<native::offset_fetch_response> connection::committed(const std::string& consumer,
                                                            const std::string& topic,
                                                            std::int32_t partition) {
  buffer frame;
  native::encode(frame, native::offset_fetch_request{next_id(), consumer, topic, partition});
  return call<native::offset_fetch_response>(std::move(frame),
                                             native::decode_offset_fetch_response);
}

result<native::list_offsets_response> connection::list_offsets(const std::string& topic,
                                                               std::int32_t partition) {
  buffer frame;
  native::encode(frame, native::list_offsets_request{next_id(), topic, partition, std::nullopt});
  return call<native::list_offsets_response>(std::move(frame),
                                             native::decode_list_offsets_response);
}

result<native::list_offsets_response> connection::offset_for_time(const std::string& topic,
                                                                  std::int32_t partition,
                                                                  std::int64_t timestamp_ms) {
  buffer frame;
  native::encode(frame, native::list_offsets_request{next_id(), topic, partition, timestamp_ms});
  return call<native::list_offsets_response>(std::move(frame),
                                             native::decode_list_offsets_response);
}

result<native::list_offsets_response> connection::delete_records(const std::string& topic,
                                                                 std::int32_t partition,
                                                                 std::int64_t offset) {
  buffer frame;
  native::encode(frame, native::delete_records_request{next_id(), topic, partition, offset});
  return call<native::list_offsets_response>(std::move(frame),
                                             native::decode_list_offsets_response);
}

result<std::int64_t> connection::heartbeat() {
  buffer frame;
  native::encode_heartbeat(frame, next_id());
  return call<std::int64_t>(std::move(frame), native::decode_heartbeat_response);
}

result<std::uint32_t> connection::subscribe(const std::string& topic, std::int32_t partition,
                                            std::int64_t offset, std::uint32_t credit_bytes) {
  buffer frame;
  const auto request_id = next_id();
  native::encode(frame, native::subscribe_request{request_id, topic, partition, offset, credit_bytes});
  auto id = call<std::uint32_t>(std::move(frame), native::decode_subscribe_response);
  if (ok(id)) {
    subscribed_by_request_[request_id] = std::get<0>(id);
    subscription_next_[std::get<0>(id)] = offset >= 0 ? offset : -1;
  }
  return id;
}

result<bool> connection::grant_credit(std::uint32_t subscription_id, std::uint32_t bytes) {
  buffer frame;
  native::encode(frame, native::credit_request{next_id(), subscription_id, bytes});
  return call<bool>(std::move(frame), empty_body);
}

result<bool> connection::unsubscribe(std::uint32_t subscription_id) {
  buffer frame;
  native::encode(frame, native::unsubscribe_request{next_id(), subscription_id});
  // Its ending Error may still come (it crossed this request): it names a request no
  // longer known as a subscription's, so it is kept as the end of one, not taken for an
  // answer.
  for (auto& [request, id] : subscribed_by_request_)
    if (id == subscription_id) ended_subscriptions_.insert(request);
  if (ended_subscriptions_.size() > max_unacked_kept) ended_subscriptions_.erase(ended_subscriptions_.begin());
  std::erase_if(subscribed_by_request_, [&](const auto& e) { return e.second == subscription_id; });
  subscription_next_.erase(subscription_id);
  return call<bool>(std::move(frame), empty_body);
}

result<std::optional<delivery>> connection::next_delivery(std::chrono::milliseconds wait) {
  // One wait for the call: other frames arriving meanwhile do not start it again.
  const auto deadline = deadline_after(wait);
  while (deliveries_.empty()) {
    bool timed_out = false;
    auto f = read_frame(time_left(deadline), &timed_out);
    if (!ok(f)) {
      if (timed_out) return std::optional<delivery>{};
      return error_of(f);
    }
    // Answers to pipelined publishes are kept for receive_publish, an assignment for
    // next_assignment; an answer no call waits for puts the connection out of step.
    auto bytes = std::move(std::get<0>(f));
    if (auto why = set_aside(bytes)) return *why;
  }
  auto pushed = std::move(deliveries_.front());
  deliveries_.pop_front();
  if (auto* end = std::get_if<failure>(&pushed)) {  // a subscription's end is this reader's
    subscription_next_.erase(end->subscription_id);  // the deliveries before it are taken
    return std::move(*end);
  }
  const auto& bytes = std::get<buffer>(pushed);
  auto d = native::decode_deliver(payload_of(bytes));
  if (!d) return local(errc::malformed_payload, "malformed deliver frame");
  // Records below where the subscription stands are not delivered again: its first
  // delivery is the stored batch holding its start offset, whole.
  auto next = subscription_next_.find(d->subscription_id);
  auto data = decode_fetched(d->body, next == subscription_next_.end() ? -1 : next->second);
  if (!ok(data)) return error_of(data);
  if (next != subscription_next_.end()) next->second = std::get<0>(data).next_offset;
  return std::optional<delivery>{delivery{d->subscription_id, std::move(std::get<0>(data)), bytes.size()}};
}

bool connection::stash_push(buffer& bytes) {
  const auto type = static_cast<message_type>(bytes[5]);
  if (type == message_type::deliver) {
    deliveries_.push_back(std::move(bytes));
    return true;
  }
  if (type == message_type::group_assignment) {
    auto a = native::decode_group_assignment(payload_of(bytes));
    if (a)
      assignments_.push_back(std::move(*a));
    else  // the member would wait for an assignment that came
      group_errors_.push_back(local(errc::malformed_payload, "malformed group assignment"));
    return true;
  }
  return false;
}

result<std::uint32_t> connection::join_group(const std::string& group,
                                             const std::vector<std::string>& topics,
                                             protocol::assignment_strategy strategy,
                                             std::uint32_t session_timeout_ms) {
  buffer frame;
  native::encode(frame, native::group_join_request{next_id(), group,
                                                   static_cast<std::uint8_t>(strategy),
                                                   session_timeout_ms, topics});
  auto id = call<std::uint32_t>(std::move(frame), native::decode_group_join_response);
  if (ok(id)) joined_ = true;
  return id;
}

result<bool> connection::leave_group(std::uint32_t membership_id) {
  buffer frame;
  native::encode(frame, native::group_leave_request{next_id(), membership_id});
  return call<bool>(std::move(frame), empty_body);
}

result<std::optional<native::group_assignment>> connection::next_assignment(
    std::chrono::milliseconds wait) {
  const auto deadline = deadline_after(wait);
  for (;;) {
    if (!group_errors_.empty()) {  // a membership's end is this reader's
      auto f = std::move(group_errors_.front());
      group_errors_.pop_front();
      return f;
    }
    if (!assignments_.empty()) break;
    // With no time left, what has already arrived is still read (read_frame reads it).
    bool timed_out = false;
    auto f = read_frame(time_left(deadline), &timed_out);
    if (!ok(f)) {
      if (timed_out) return std::optional<native::group_assignment>{};
      return error_of(f);
    }
    auto bytes = std::move(std::get<0>(f));
    if (auto why = set_aside(bytes)) return *why;
  }
  auto a = std::move(assignments_.front());
  assignments_.pop_front();
  return std::optional<native::group_assignment>{std::move(a)};
}

}  // namespace portask::client
