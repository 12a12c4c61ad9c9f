#pragma once
/// Accepts TCP connections for one protocol on an Asio io_context. For each accepted socket
/// it creates a tcp_session with the protocol's framer and spawns that protocol's connection
/// actor. Over the connection limit it writes the protocol's rejection bytes (if any) and
/// closes.

#include <atomic>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/broker_config.hpp"
#include "actors/network/tcp_session.hpp"

namespace portask {

class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
 public:
  struct options {
    std::string name;  ///< for logs: "native", "kafka"
    listener_config address;
    std::uint32_t max_connections = 1024;
    std::uint64_t max_inflight_bytes = 64u * 1024 * 1024;
    std::function<std::unique_ptr<stream_framer>()> make_framer;
    std::function<caf::actor(std::shared_ptr<tcp_session>)> spawn_connection;
    protocol::buffer reject_bytes;  ///< written before closing a connection over the limit
  };

  tcp_listener(boost::asio::io_context& io, options opts);

  /// Binds and starts accepting; returns the bound port (useful with port 0).
  expected<std::uint16_t> start();
  void stop();
  /// Stops every live connection actor (which closes its socket). For broker shutdown.
  void stop_connections();
  std::uint32_t connections() const noexcept { return connections_.load(); }

 private:
  void accept();

  boost::asio::io_context& io_;
  options opts_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::atomic<std::uint32_t>> open_ = std::make_shared<std::atomic<std::uint32_t>>(0);
  std::atomic<std::uint32_t>& connections_ = *open_;
  std::mutex live_mutex_;
  std::vector<caf::actor_addr> live_;  ///< connection actors, pruned as they exit
};

}  // namespace portask
