#pragma once
/// Accepts TCP connections for one protocol (accept_loop). Each client is admitted by the
/// listener's connection_table (caps per listener and per address, evicting the least
/// recently active idle connection before refusing); an admitted one gets a tcp_session with
/// the protocol's framer and that protocol's connection actor. A refused one gets the
/// protocol's rejection bytes (if any) and is closed. On a TLS listener the connection actor
/// is spawned once the session's handshake has succeeded.

#include <atomic>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/runtime/broker_config.hpp"
#include "actors/connections/transport/accept_loop.hpp"
#include "actors/connections/transport/connection_table.hpp"
#include "actors/connections/transport/log_limiter.hpp"
#include "actors/connections/transport/tcp_session.hpp"
#include "actors/connections/transport/tls_context.hpp"

namespace portask {

class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
 public:
  struct options {
    std::string name;  ///< for logs: "native", "kafka"
    listener_kind kind = listener_kind::native;
    listener_config address;
    std::uint32_t max_connections = 1024;
    std::uint32_t max_connections_per_address = 0;  ///< 0: only max_connections
    session_limits limits;
    std::function<std::unique_ptr<stream_framer>()> make_framer;
    std::function<connection_actor(std::shared_ptr<tcp_session>)> spawn_connection;
    protocol::buffer reject_bytes;  ///< written before closing a connection over the limit
    std::shared_ptr<tls_server_context> tls;  ///< null: plaintext
    /// The broker-wide request budget, shared with the other listeners (null: none).
    std::shared_ptr<request_budget> budget;
  };

  tcp_listener(boost::asio::io_context& io, metrics_registry& metrics, options opts);

  /// Binds and starts accepting; returns the bound port (useful with port 0).
  expected<std::uint16_t> start();
  void stop();
  /// Stops every live connection actor (which closes its socket). For broker shutdown.
  void stop_connections();
  std::uint32_t connections() const noexcept { return connections_.load(); }

 private:
  void on_client(boost::asio::ip::tcp::socket s);
  void refuse(boost::asio::ip::tcp::socket s, connection_limit why);
  void launch(std::shared_ptr<tcp_session> session);

  boost::asio::io_context& io_;
  metrics_registry& metrics_;
  options opts_;
  std::shared_ptr<accept_loop> acceptor_;
  std::shared_ptr<connection_table> table_;
  std::shared_ptr<std::atomic<std::uint32_t>> open_ = std::make_shared<std::atomic<std::uint32_t>>(0);
  std::atomic<std::uint32_t>& connections_ = *open_;
  std::mutex live_mutex_;
  std::vector<caf::actor_addr> live_;  ///< connection actors, pruned as they exit
  bool stopping_ = false;              ///< under live_mutex_: no more actors (handshakes ending)
  log_limiter refusals_;
};

}  // namespace portask
