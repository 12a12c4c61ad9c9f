#include "actors/network/tcp_listener.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace portask {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp_listener::tcp_listener(asio::io_context& io, options opts)
    : io_(io), opts_(std::move(opts)), acceptor_(io) {}

expected<std::uint16_t> tcp_listener::start() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(opts_.address.host, ec);
  if (ec) {
    spdlog::error("{} listener: bad address '{}': {}", opts_.name, opts_.address.host, ec.message());
    return errc::invalid_request;
  }
  tcp::endpoint ep{addr, opts_.address.port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("{} listener: cannot listen on {}:{}: {}", opts_.name, opts_.address.host,
                  opts_.address.port, ec.message());
    return errc::internal;
  }
  const auto port = acceptor_.local_endpoint().port();
  spdlog::info("{} listener on {}:{}", opts_.name, opts_.address.host, port);
  accept();
  return port;
}

void tcp_listener::stop() {
  asio::post(io_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
  });
}

void tcp_listener::stop_connections() {
  std::vector<caf::actor_addr> live;
  {
    std::lock_guard lock{live_mutex_};
    live.swap(live_);
  }
  for (const auto& addr : live)
    if (auto a = caf::actor_cast<caf::actor>(addr)) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

void tcp_listener::accept() {
  acceptor_.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    if (ec) {
      if (ec != asio::error::operation_aborted) {
        spdlog::warn("{} listener: accept failed: {}", self->opts_.name, ec.message());
        self->accept();
      }
      return;
    }
    if (self->connections_.load() >= self->opts_.max_connections) {
      spdlog::warn("{} listener: connection limit {} reached; refusing a client",
                   self->opts_.name, self->opts_.max_connections);
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto bytes = std::make_shared<protocol::buffer>(self->opts_.reject_bytes);
      asio::async_write(*sock, asio::buffer(*bytes), [sock, bytes](auto, std::size_t) {
        boost::system::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
        sock->close(ignored);
      });
      self->accept();
      return;
    }
    self->connections_.fetch_add(1);
    auto session = std::make_shared<tcp_session>(
        std::move(s), self->opts_.make_framer(), self->opts_.max_inflight_bytes,
        [open = self->open_] { open->fetch_sub(1); });
    auto actor = self->opts_.spawn_connection(session);
    {
      std::lock_guard lock{self->live_mutex_};
      // Prune handles of connections that are gone, then remember this one.
      std::erase_if(self->live_, [](const caf::actor_addr& a) { return !caf::actor_cast<caf::actor>(a); });
      self->live_.push_back(actor.address());
    }
    session->start(std::move(actor));
    self->accept();
  });
}

}  // namespace portask
