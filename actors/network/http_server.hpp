#pragma once
/// The HTTP endpoint (Boost.Beast) on the broker's Asio context:
///   GET /metrics  Prometheus text from the one metrics registry
///   GET /health   200 {"status":"ok",...} while the store answers, 503 otherwise
///   GET /topics   the topic list as JSON (small admin API)
/// Anything else is 404; a malformed request closes the connection.

#include <boost/asio.hpp>
#include <memory>

#include "actors/broker_context.hpp"

namespace portask {

class http_server : public std::enable_shared_from_this<http_server> {
 public:
  http_server(boost::asio::io_context& io, caf::actor_system& sys,
              std::shared_ptr<broker_context> ctx);
  expected<std::uint16_t> start(const listener_config& address);
  void stop();

 private:
  void accept();
  boost::asio::io_context& io_;
  caf::actor_system& sys_;
  std::shared_ptr<broker_context> ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace portask
