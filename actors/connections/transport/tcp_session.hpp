#pragma once
/// One TCP connection on the Asio side. It only moves bytes: reads into its framer, sends
/// each whole frame to its connection actor (anon_send), and writes what the actor posts
/// back, in order. All socket work runs on the session's strand; the actor never touches
/// the socket, and the session never blocks a CAF thread.
///
/// Bounded whatever the client does (the limits in session_limits):
///   - In: every frame handed to the actor is in flight until the answer to it is written.
///     Past the in-flight requests or bytes, while the queued output is over its cap, or
///     while the broker-wide request_budget is spent (past its headroom, for a connection
///     holding none of it), the session hands over no more frames and stops reading: the rest
///     waits in the socket, so a client that pipelines faster than the broker answers, or
///     than it reads its own answers, is slowed down instead of growing broker memory.
///     Waiting for the budget, it is woken when there is room again, not polled.
///   - Out: bytes queued for the socket are counted (queued_output()); actors that push
///     without a request (subscriptions) check it and ask to be told when it has drained.
///   - Time: a frame not complete `request_timeout` after its first byte (a stalled or
///     dribbling client) closes the connection; so does `idle_timeout` with nothing in
///     flight, nothing held open by the actor, and no bytes moving, or with a write that
///     has not completed for that long (a client that stopped reading). One Asio timer per
///     session, ticking at a fraction of the shorter timeout.
///
/// On a TLS listener the session first completes the TLS handshake (handshake(); bounded by
/// the request timeout, failures logged at most once a second per reason), then works as
/// above over the encrypted stream; the connection actor is spawned only after a handshake
/// that succeeded, and finds the principal of a verified client certificate in
/// tls_principal().

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "actors/interfaces.hpp"
#include "actors/metrics/metrics.hpp"
#include "actors/connections/transport/connection_table.hpp"
#include "actors/connections/transport/request_budget.hpp"
#include "actors/connections/transport/stream_framer.hpp"
#include "protocol/gather_bytes.hpp"

namespace portask {

struct session_limits {
  std::chrono::milliseconds request_timeout{30000};  ///< 0: none
  std::chrono::milliseconds idle_timeout{600000};    ///< 0: none
  std::uint64_t max_inflight_bytes = 64u << 20;
  std::uint32_t max_inflight_requests = 256;
  std::uint64_t max_queued_output = 16u << 20;
};

class tcp_session : public limited_connection,
                    public request_budget::waiter,
                    public std::enable_shared_from_this<tcp_session> {
 public:
  using tcp = boost::asio::ip::tcp;

  /// `tls`: the listener's TLS context, or null for plaintext. `budget`: the broker-wide
  /// request budget this connection's requests in flight count against, or null for none.
  tcp_session(tcp::socket socket, std::unique_ptr<stream_framer> framer, session_limits limits,
              listener_kind kind, metrics_registry& metrics, std::function<void()> on_destroy,
              std::shared_ptr<boost::asio::ssl::context> tls = nullptr,
              std::shared_ptr<request_budget> budget = nullptr);
  ~tcp_session() override;

  /// TLS sessions only, before start(): runs the server handshake, then calls `done`
  /// (on the session's strand) with whether it succeeded; a failed one has closed.
  void handshake(std::function<void(bool)> done);
  /// "User:<subject>" of a verified client certificate, or empty.
  const std::string& tls_principal() const noexcept { return tls_principal_; }

  /// Starts reading; the frames completed by one read go to `actor` together, in order, as
  /// (frame_atom, vector of buffers): one message and one wake-up for a client's pipelined
  /// requests, which the actor can then serve as a burst. End of stream or a socket
  /// error as (closed_atom); a framing error as (closed_atom, errc) after which reading
  /// stops (the actor answers and calls close_after_writes).
  void start(connection_actor actor);

  // -- called from any thread (posted to the strand) -----------------------------------------
  /// Queues bytes; once written, the request of `release` bytes is no longer in flight (0:
  /// a push that answers no request). Shared pieces are written from where they are.
  /// `requests`: how many requests the bytes answer, when they gather several answers
  /// (`release` is then their sizes summed).
  void send(protocol::gather_bytes bytes, std::uint64_t release = 0, std::uint32_t requests = 1);
  /// Ends a request without writing anything (acks=0 requests).
  void release(std::uint64_t bytes);
  /// Reads no more: the connection is ending, and waits only for its answers to be written.
  /// What the client sends from now on is read and thrown away (left unread, it would make
  /// the close a reset that drops the answers), and a frame it has begun no longer counts
  /// against the request timeout. Writes go on.
  void stop_reading();
  /// Closes once everything queued is written.
  void close_after_writes();
  /// Closes now.
  void close();
  /// Bytes queued for the socket and not yet written.
  std::uint64_t queued_output() const noexcept { return queued_.load(std::memory_order_relaxed); }
  const session_limits& limits() const noexcept { return limits_; }
  /// The actor is told (drained_atom) once the queued output is at most `at_most` bytes.
  void notify_when_drained(std::uint64_t at_most);
  /// While held, the connection is not idle (open subscriptions or group memberships).
  void hold(bool held) noexcept { held_.store(held, std::memory_order_relaxed); }
  /// The peer has authenticated: lifts the framer's limit for unauthenticated peers.
  void authenticated() noexcept { framer_->authenticated(); }

  const std::string& peer() const noexcept { return peer_; }

  // -- limited_connection ------------------------------------------------------------------
  bool idle() const noexcept override;
  std::chrono::steady_clock::time_point last_active() const noexcept override;
  void evict() override;

  // -- request_budget::waiter ----------------------------------------------------------------
  void budget_available() override;

 private:
  void read();
  void discard();
  void on_discarded(const boost::system::error_code& ec, std::size_t n);
  void on_read(const boost::system::error_code& ec, std::size_t n);
  /// Hands whole frames to the actor while the limits allow; false after a framing error.
  bool deliver();
  bool over_limits() const noexcept;
  /// Stops reading until resume(); waits in the budget's line when it is the budget that stops it.
  void pause_reading();
  /// `woken`: by the budget, so a session that finds the room taken waits at the front again.
  void wait_for_budget(bool woken = false);
  /// Delivers and reads again once the limits allow. `woken`: as for wait_for_budget().
  void resume(bool woken = false);
  void note_output_pause();
  void write();
  void do_release(std::uint64_t bytes, std::uint32_t requests = 1);
  void shutdown();
  void touch() noexcept;
  void arm_timer();
  void on_tick();
  void close_for(connection_limit why, std::string_view what);
  /// Runs `f` with the stream that carries the protocol: the TLS stream or the socket.
  template <class F>
  void on_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }

  /// Runs the listener's callback when the session is gone. Declared first, so it runs after
  /// every other member is destroyed: the broker tears down the Asio context once the count
  /// this callback lowers reaches zero, and the socket and the timer must not outlive it.
  struct on_destroy_call {
    std::function<void()> f;
    ~on_destroy_call() {
      if (f) f();
    }
  };
  on_destroy_call on_destroy_;
  tcp::socket socket_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;  ///< kept alive for tls_
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;
  std::string tls_principal_;
  boost::asio::strand<tcp::socket::executor_type> strand_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<stream_framer> framer_;
  static constexpr std::size_t discard_chunk = 16 * 1024;
  std::unique_ptr<std::array<char, discard_chunk>> scratch_;  ///< discard()'s, made on first use
  connection_actor actor_;
  std::string peer_;
  session_limits limits_;
  listener_kind kind_;
  metrics_registry& metrics_;
  /// Bytes of the requests in flight, this connection's part of the broker-wide budget:
  /// given back as answers are written, and all of it when the connection closes (shutdown)
  /// or the session goes.
  request_budget::share inflight_bytes_;
  std::atomic<std::uint32_t> inflight_requests_{0};
  std::atomic<std::uint64_t> queued_{0};
  std::atomic<bool> held_{false};
  std::atomic<bool> partial_{false};  ///< a frame's first bytes are buffered, not the rest
  std::atomic<std::int64_t> last_active_ns_;
  std::optional<std::chrono::steady_clock::time_point> partial_since_;
  std::chrono::steady_clock::time_point write_started_{};
  bool reading_ = false;
  bool read_paused_ = false;
  bool read_stopped_ = false;
  bool writing_ = false;
  bool close_when_flushed_ = false;
  bool closed_ = false;
  bool drain_waiter_ = false;
  bool budget_waiting_ = false;  ///< in the budget's line (until woken)
  bool timer_armed_ = false;
  std::uint64_t drain_threshold_ = 0;
  bool output_paused_ = false;
  struct pending_write {
    protocol::gather_bytes bytes;
    std::uint64_t release;
    std::uint32_t requests;
  };
  std::deque<pending_write> writes_;
  std::vector<pending_write> in_write_;
};

}  // namespace portask
