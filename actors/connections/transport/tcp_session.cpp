#include "actors/connections/transport/tcp_session.hpp"

#include "actors/connections/transport/peer_address.hpp"

#include <caf/send.hpp>

#include <array>

#include "actors/interfaces.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/tls_context.hpp"
#include "logging/loggers.hpp"

namespace portask {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr std::size_t read_chunk = 64 * 1024;

namespace {

// How often a session checks its deadlines: an eighth of the shorter timeout (a timeout
// fires at most 12.5% late), between 10 ms and 5 s.
std::chrono::milliseconds tick_of(const session_limits& l) {
  std::chrono::milliseconds shortest = 0ms;
  for (auto t : {l.request_timeout, l.idle_timeout})
    if (t > 0ms && (shortest == 0ms || t < shortest)) shortest = t;
  if (shortest == 0ms) return 0ms;
  return std::clamp<std::chrono::milliseconds>(shortest / 8, 10ms, 5000ms);
}

}  // namespace

tcp_session::tcp_session(tcp::socket socket, std::unique_ptr<stream_framer> framer,
                         session_limits limits, listener_kind kind, metrics_registry& metrics,
                         std::function<void()> on_destroy,
                         std::shared_ptr<asio::ssl::context> tls,
                         std::shared_ptr<request_budget> budget)
    : on_destroy_{std::move(on_destroy)},
      socket_(std::move(socket)),
      tls_context_(std::move(tls)),
      strand_(asio::make_strand(socket_.get_executor())),
      timer_(strand_),
      framer_(std::move(framer)),
      limits_(limits),
      kind_(kind),
      metrics_(metrics),
      inflight_bytes_(std::move(budget)) {
  touch();
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : canonical_address(ep.address()).to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(tcp::no_delay(true), ec);
  if (tls_context_) tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_context_);
}

tcp_session::~tcp_session() = default;

void tcp_session::handshake(std::function<void(bool)> done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    // A client that connects and never finishes its handshake is a partial request.
    self->partial_.store(true, std::memory_order_relaxed);
    self->partial_since_ = clock_type::now();
    self->arm_timer();
    // OpenSSL keeps no peer certificate it refused: its subject is taken while it is checked.
    auto refused_subject = std::make_shared<std::string>();
    self->tls_->set_verify_callback(remember_refused_subject(refused_subject));
    self->tls_->async_handshake(
        asio::ssl::stream_base::server,
        asio::bind_executor(self->strand_, [self, done = std::move(done),
                                            refused_subject](const boost::system::error_code& ec) {
          self->partial_.store(false, std::memory_order_relaxed);
          self->partial_since_.reset();
          if (ec || self->closed_) {
            if (!self->closed_) {
              static std::array<log_limiter, 3> limiters;
              if (const auto n = limiters[static_cast<std::size_t>(self->kind_)].count(); n > 0)
                logging::net().info("{} connection {}: TLS handshake failed: {}{}; closing{}",
                                    to_string(self->kind_), self->peer_, ec.message(),
                                    tls_refusal(self->tls_->native_handle(), *refused_subject),
                                    n > 1 ? fmt::format(" (and {} more since the last such line)", n - 1) : "");
              self->metrics_.connection_limited(self->kind_, connection_limit::tls_handshake);
            }
            self->read_stopped_ = true;  // no actor to tell
            self->shutdown();
            return done(false);
          }
          self->touch();
          self->tls_principal_ = tls_peer_principal(self->tls_->native_handle());
          done(true);
        }));
  });
}

void tcp_session::start(connection_actor actor) {
  asio::post(strand_, [self = shared_from_this(), actor = std::move(actor)]() mutable {
    self->actor_ = std::move(actor);
    if (self->closed_) {
      caf::anon_send(self->actor_, closed_atom::value);
      return;
    }
    self->arm_timer();
    self->read();
  });
}

void tcp_session::touch() noexcept {
  last_active_ns_.store(clock_type::now().time_since_epoch().count(), std::memory_order_relaxed);
}

clock_type::time_point tcp_session::last_active() const noexcept {
  return clock_type::time_point{clock_type::duration{last_active_ns_.load(std::memory_order_relaxed)}};
}

bool tcp_session::idle() const noexcept {
  return inflight_requests_.load(std::memory_order_relaxed) == 0 && queued_output() == 0 &&
         !held_.load(std::memory_order_relaxed) && !partial_.load(std::memory_order_relaxed);
}

bool tcp_session::over_limits() const noexcept {
  return inflight_bytes_.bytes() > limits_.max_inflight_bytes ||
         inflight_requests_.load(std::memory_order_relaxed) >= limits_.max_inflight_requests ||
         queued_output() > limits_.max_queued_output || !inflight_bytes_.may_take();
}

void tcp_session::read() {
  if (reading_ || read_stopped_ || closed_) return;
  if (over_limits()) return pause_reading();
  reading_ = true;
  auto space = framer_->prepare(read_chunk);
  on_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(space.data(), space.size()),
        asio::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t n) {
          self->on_read(ec, n);
        }));
  });
}

void tcp_session::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
        ec != asio::error::connection_reset && ec != asio::ssl::error::stream_truncated)
      logging::net().debug("{}: read error: {}", peer_, ec.message());
    read_stopped_ = true;
    caf::anon_send(actor_, closed_atom::value);
    return;
  }
  // Bytes that arrived after stop_reading(): the connection serves nothing more.
  if (read_stopped_) return discard();
  touch();
  framer_->commit(n);
  if (!deliver()) return discard();
  read();
}

// Once reading has stopped with answers still to write, what the client sends is read and
// thrown away rather than left unread: a socket closed with unread bytes is reset by the
// kernel, which drops the answers not yet sent, the very answers the closing connection waits
// to write. The bytes go to a scratch buffer of the session's own, not the framer's space
// (which may be empty, a read of nothing completing at once, for ever).
void tcp_session::discard() {
  if (reading_ || closed_) return;
  if (!scratch_) scratch_ = std::make_unique<std::array<char, discard_chunk>>();
  reading_ = true;
  on_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(*scratch_),
        asio::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t n) {
          self->on_discarded(ec, n);
        }));
  });
}

// The client's end or a socket error ends the discarding, and tells the actor nothing: it is
// closing already, on its answers or its deadline, and the requests held before the bad bytes
// are still to be served.
void tcp_session::on_discarded(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (ec || n == 0) return;
  discard();
}

bool tcp_session::deliver() {
  std::vector<protocol::buffer> frames;
  auto send_frames = [&] {
    if (!frames.empty()) caf::anon_send(actor_, frame_atom::value, std::move(frames));
  };
  while (!over_limits()) {
    auto f = framer_->next();
    if (!f) {
      // A client can send such bytes at will (and connect again): one line a second.
      static log_limiter framing_errors;
      if (const auto events = framing_errors.count(); events > 0)
        logging::net().warn("{}: closing after framing error: {}{}", peer_, f.error().message(),
                            more_since_last_line(events));
      read_stopped_ = true;
      partial_.store(false, std::memory_order_relaxed);
      send_frames();  // the requests before the bad bytes are served
      caf::anon_send(actor_, closed_atom::value, static_cast<errc>(f.error().value()));
      return false;
    }
    if (!*f) break;
    inflight_bytes_.take((*f)->size());
    inflight_requests_.fetch_add(1, std::memory_order_relaxed);
    frames.push_back(std::move(**f));
  }
  const bool completed = !frames.empty();
  send_frames();
  // The request timeout runs from the first byte of a frame the client has not finished.
  const bool partial = framer_->buffered() > 0 && !over_limits();
  partial_.store(framer_->buffered() > 0, std::memory_order_relaxed);
  if (!partial)
    partial_since_.reset();
  else if (completed || !partial_since_)
    partial_since_ = clock_type::now();
  return true;
}

// Counts each time the client's unread output (not the broker's own work) holds reading.
void tcp_session::note_output_pause() {
  const bool full = queued_output() > limits_.max_queued_output;
  if (full && !output_paused_) metrics_.connection_limited(kind_, connection_limit::output_full);
  output_paused_ = full;
}

void tcp_session::pause_reading() {
  note_output_pause();
  read_paused_ = true;
  partial_since_.reset();  // waiting on the broker, not on the client
  wait_for_budget();
}

// Only the budget needs waking: the other limits are lifted by this session's own writes,
// which resume it. With room again by the time the line is joined, it resumes at once.
void tcp_session::wait_for_budget(bool woken) {
  auto* budget = inflight_bytes_.budget();
  if (budget == nullptr || budget_waiting_ || inflight_bytes_.may_take()) return;
  if (budget->wait(weak_from_this(), woken, inflight_bytes_.holds_nothing()))
    budget_waiting_ = true;
  else
    asio::post(strand_, [self = shared_from_this()] { self->resume(); });
}

void tcp_session::budget_available() {
  asio::post(strand_, [self = shared_from_this()] {
    self->budget_waiting_ = false;
    self->resume(true);
    // Whatever it took (nothing, if it has closed, is held by its own limits, or found the
    // room taken and waits at the front again), the room left is the next waiter's.
    if (auto* budget = self->inflight_bytes_.budget()) budget->pass_on();
  });
}

void tcp_session::resume(bool woken) {
  if (!read_paused_ || closed_ || read_stopped_) return;
  if (over_limits()) {
    note_output_pause();
    return wait_for_budget(woken);
  }
  read_paused_ = false;
  if (deliver())
    read();
  else
    discard();
}

void tcp_session::send(protocol::gather_bytes bytes, std::uint64_t release,
                       std::uint32_t requests) {
  // Counted now, on the caller's thread, so an actor deciding how much more to queue sees it.
  queued_.fetch_add(bytes.size(), std::memory_order_relaxed);
  asio::post(strand_, [self = shared_from_this(), b = std::move(bytes), release,
                       requests]() mutable {
    if (self->closed_) {
      self->queued_.fetch_sub(b.size(), std::memory_order_relaxed);
      return;
    }
    self->writes_.push_back({std::move(b), release, requests});
    self->write();
  });
}

void tcp_session::release(std::uint64_t bytes) {
  asio::post(strand_, [self = shared_from_this(), bytes] { self->do_release(bytes); });
}

void tcp_session::do_release(std::uint64_t bytes, std::uint32_t requests) {
  inflight_bytes_.give_back(bytes);
  if (bytes > 0) {
    const auto in_flight = inflight_requests_.load(std::memory_order_relaxed);
    inflight_requests_.fetch_sub(std::min(requests, in_flight), std::memory_order_relaxed);
  }
  resume();
}

void tcp_session::notify_when_drained(std::uint64_t at_most) {
  asio::post(strand_, [self = shared_from_this(), at_most] {
    if (self->closed_) return;
    if (self->queued_output() <= at_most) {
      caf::anon_send(self->actor_, drained_atom::value);
    } else {
      self->drain_waiter_ = true;
      self->drain_threshold_ = at_most;
    }
  });
}

void tcp_session::write() {
  if (writing_ || closed_) return;
  if (writes_.empty()) {
    if (close_when_flushed_) shutdown();
    return;
  }
  // Gather everything queued into one write.
  writing_ = true;
  write_started_ = clock_type::now();
  in_write_.clear();
  std::vector<asio::const_buffer> buffers;
  while (!writes_.empty() && buffers.size() < 64) {
    in_write_.push_back(std::move(writes_.front()));
    writes_.pop_front();
    in_write_.back().bytes.for_each_segment(
        [&](protocol::byte_view s) { buffers.emplace_back(s.data(), s.size()); });
  }
  on_stream([&](auto& stream) {
  asio::async_write(stream, buffers,
                    asio::bind_executor(strand_, [self = shared_from_this()](auto ec, std::size_t) {
                      self->writing_ = false;
                      std::uint64_t written = 0;
                      for (const auto& w : self->in_write_) written += w.bytes.size();
                      self->queued_.fetch_sub(written, std::memory_order_relaxed);
                      if (ec) {
                        logging::net().debug("{}: write error: {}", self->peer_, ec.message());
                        self->in_write_.clear();  // nor hold the tail memory they share
                        self->shutdown();
                        return;
                      }
                      self->touch();
                      for (const auto& w : self->in_write_)
                        if (w.release) self->do_release(w.release, w.requests);
                      self->in_write_.clear();
                      if (self->drain_waiter_ && self->queued_output() <= self->drain_threshold_) {
                        self->drain_waiter_ = false;
                        caf::anon_send(self->actor_, drained_atom::value);
                      }
                      self->resume();
                      self->write();
                    }));
  });
}

void tcp_session::stop_reading() {
  asio::post(strand_, [self = shared_from_this()] {
    self->read_stopped_ = true;
    self->partial_.store(false, std::memory_order_relaxed);
    self->partial_since_.reset();
    self->discard();
  });
}

void tcp_session::close_after_writes() {
  asio::post(strand_, [self = shared_from_this()] {
    self->close_when_flushed_ = true;
    if (!self->writing_) self->write();
  });
}

void tcp_session::close() {
  asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
}

void tcp_session::evict() {
  asio::post(strand_, [self = shared_from_this()] {
    self->close_for(connection_limit::evicted_idle, "idle; evicted to admit a new client");
  });
}

void tcp_session::close_for(connection_limit why, std::string_view what) {
  if (closed_) return;
  metrics_.connection_limited(kind_, why);
  // Per reason, at most one line a second (a slowloris attack is hundreds of these).
  static std::array<log_limiter, static_cast<std::size_t>(connection_limit::count_)> limiters;
  if (const auto n = limiters[static_cast<std::size_t>(why)].count(); n > 0) {
    if (n == 1)
      logging::net().info("{} connection {}: {}; closing", to_string(kind_), peer_, what);
    else
      logging::net().info("{} connection {}: {}; closing (and {} more since the last such line)",
                   to_string(kind_), peer_, what, n - 1);
  }
  shutdown();
}

void tcp_session::arm_timer() {
  const auto tick = tick_of(limits_);
  if (tick == 0ms || closed_ || timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_after(tick);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->timer_armed_ = false;
    if (!ec) self->on_tick();
  });
}

void tcp_session::on_tick() {
  if (closed_) return;
  const auto now = clock_type::now();
  // A TLS handshake (the only time a session has no actor yet) is bounded even without a
  // request timeout: by the idle timeout then.
  const auto partial_limit = limits_.request_timeout > 0ms ? limits_.request_timeout
                             : !actor_                     ? limits_.idle_timeout
                                                           : 0ms;
  if (partial_limit > 0ms && partial_since_ && now - *partial_since_ >= partial_limit)
    return close_for(connection_limit::request_timeout,
                     fmt::format("{} within {} ms of its first byte",
                                 actor_ ? "no whole request" : "no TLS handshake", partial_limit.count()));
  if (limits_.idle_timeout > 0ms && now - last_active() >= limits_.idle_timeout) {
    // Nothing moved either way for the idle timeout: either nothing is going on, or the
    // client has stopped reading what is queued for it (Kafka closes both alike).
    if (writing_ && now - write_started_ >= limits_.idle_timeout)
      return close_for(connection_limit::idle_timeout,
                       fmt::format("has not read its answers for {} ms", limits_.idle_timeout.count()));
    if (!read_paused_ && idle())
      return close_for(connection_limit::idle_timeout,
                       fmt::format("idle for {} ms", limits_.idle_timeout.count()));
  }
  arm_timer();
}

void tcp_session::shutdown() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  std::uint64_t dropped = 0;
  for (const auto& w : writes_) dropped += w.bytes.size();
  queued_.fetch_sub(dropped, std::memory_order_relaxed);
  writes_.clear();
  // Out of the budget's line first, so the bytes given back next wake another connection.
  if (budget_waiting_) {
    budget_waiting_ = false;
    if (auto* budget = inflight_bytes_.budget()) budget->leave(weak_from_this());
  }
  // No answer can be written now: the requests still in flight give their budget back.
  inflight_bytes_.give_back_all();
  if (!read_stopped_) {
    read_stopped_ = true;
    // A pending read completes with operation_aborted and reports closed; if none is
    // pending, report here (a session whose handshake is running has no actor yet).
    if (!reading_ && actor_) caf::anon_send(actor_, closed_atom::value);
  }
}

}  // namespace portask
