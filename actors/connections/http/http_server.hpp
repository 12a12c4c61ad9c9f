#pragma once
/// The HTTP endpoint (Boost.Beast) on the broker's Asio context:
///   GET /metrics  Prometheus text from the one metrics registry
///   GET /health   200 {"status":"ok",...} while the store answers, 503 otherwise; the kinds
///                 of actor in a crash loop in "crash_loop" either way
///   GET /topics   the topic list as JSON (small admin API)
/// Another method on these is 405, any other path 404; a request over the size limit gets
/// 413 (431 for its header; 413 also for a chunked body's framing past the read buffer's
/// bound) and a close, a malformed one a close. A client expecting 100-continue gets it once
/// the header passed the Host and credentials checks. Bounded like the other
/// listeners: the same connection caps with idle eviction (connection_table), the same
/// accept back-off (accept_loop), and a request (or the wait for the next one on a
/// keep-alive connection) must complete within the request timeout. With a TLS context it
/// serves HTTPS only (the handshake bounded by the request timeout too).
///
/// Shutdown: no actor ever holds a session (the actors answering requests hold it weakly and
/// post their answer through a gate the server closes), so stop_connections() closes every
/// session on the Asio thread and connections() reaches 0 without waiting on any actor; the
/// owner stops the Asio context once it has, and destroys the server before the context.

#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <vector>

#include "actors/runtime/broker_context.hpp"
#include "actors/connections/transport/accept_loop.hpp"
#include "actors/connections/transport/connection_table.hpp"
#include "actors/connections/transport/tls_context.hpp"

namespace portask {

/// The live sessions of one server, and the gate actors' answers pass (http_server.cpp).
struct http_sessions;

class http_server : public std::enable_shared_from_this<http_server> {
 public:
  /// `supervisor`: where requests find the registry, bridges and groups.
  http_server(boost::asio::io_context& io, caf::actor_system& sys,
              std::shared_ptr<broker_context> ctx, supervisor_actor supervisor,
              std::uint32_t max_connections,
              std::shared_ptr<tls_server_context> tls = nullptr);
  /// Closes the gate first: answers still on their way are dropped, and sessions that wait
  /// for one are let go while the context they belong to still exists.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  expected<std::uint16_t> start(const listener_config& address);
  /// Stops accepting.
  void stop();
  /// For broker shutdown, after stop(): from now on no actor's answer reaches a session, and
  /// every session is closed on the Asio thread (one waiting for an answer at once, the
  /// others as their aborted reads, writes or handshakes complete).
  void stop_connections();
  /// Sessions not yet destroyed (their sockets included).
  std::uint32_t connections() const;

 private:
  void on_client(boost::asio::ip::tcp::socket s);
  boost::asio::io_context& io_;
  caf::actor_system& sys_;
  std::shared_ptr<broker_context> ctx_;
  supervisor_actor supervisor_;
  std::shared_ptr<tls_server_context> tls_;
  std::shared_ptr<accept_loop> acceptor_;
  std::shared_ptr<connection_table> table_;
  std::shared_ptr<http_sessions> sessions_;
  /// The names the console and API answer to (host_check.hpp), worked out once.
  std::shared_ptr<const std::vector<std::string>> host_names_;
};

}  // namespace portask
