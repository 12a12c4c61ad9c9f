#pragma once
/// Binds a TCP listener and accepts clients, handing each socket to `on_client`. Shared by
/// every listener (native, Kafka, HTTP) so they fail alike:
///   - out of file descriptors (EMFILE/ENFILE) or kernel memory: accepting pauses 100 ms,
///     doubling to 1 s while it lasts, instead of spinning; one log line when an episode
///     starts and one when it ends (with the count of failed accepts); existing connections
///     and other listeners keep being served;
///   - other accept errors (a client that reset before accept): logged at debug, retried.

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/runtime/broker_config.hpp"
#include "actors/metrics/metrics.hpp"
#include "protocol/bytes.hpp"

namespace portask {

/// The address a listener on `host` binds: an IP literal as written, or a host name's first
/// address (getaddrinfo, either family: "localhost" may give 127.0.0.1 or ::1); `ec` says why
/// there is none. The config loader resolves every listener's host this way at startup, so
/// that a name that does not resolve is a configuration error.
boost::asio::ip::address listen_address(const std::string& host, boost::system::error_code& ec);

class accept_loop : public std::enable_shared_from_this<accept_loop> {
 public:
  using tcp = boost::asio::ip::tcp;
  accept_loop(boost::asio::io_context& io, std::string name, listener_kind kind,
              metrics_registry& metrics, std::function<void(tcp::socket)> on_client);

  /// Binds and starts accepting; returns the bound port (useful with port 0).
  expected<std::uint16_t> start(const listener_config& address);
  void stop();

 private:
  void accept();
  void on_error(const boost::system::error_code& ec);

  boost::asio::io_context& io_;
  std::string name_;
  listener_kind kind_;
  metrics_registry& metrics_;
  std::function<void(tcp::socket)> on_client_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_timer_;
  std::chrono::milliseconds backoff_{0};
  std::uint64_t failed_in_episode_ = 0;
  std::chrono::steady_clock::time_point episode_start_;
};

}  // namespace portask
