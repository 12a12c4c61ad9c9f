#include "actors/connections/transport/accept_loop.hpp"

#include "logging/loggers.hpp"

namespace portask {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto first_backoff = 100ms;
constexpr auto max_backoff = 1000ms;

// Errors that say the process (or system) cannot take another socket right now: retrying at
// once would only fail again.
bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

asio::ip::address listen_address(const std::string& host, boost::system::error_code& ec) {
  auto addr = asio::ip::make_address(host, ec);
  if (!ec || host.empty()) return addr;
  // No AI_ADDRCONFIG: it would hide a name's loopback addresses on a machine whose only
  // interface is the loopback one.
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  const auto found = resolver.resolve(host, "0", asio::ip::resolver_base::numeric_service, ec);
  if (ec) return {};
  if (found.empty()) {
    ec = asio::error::host_not_found;
    return {};
  }
  return found.begin()->endpoint().address();
}

accept_loop::accept_loop(asio::io_context& io, std::string name, listener_kind kind,
                         metrics_registry& metrics, std::function<void(tcp::socket)> on_client)
    : io_(io), name_(std::move(name)), kind_(kind), metrics_(metrics),
      on_client_(std::move(on_client)), acceptor_(io), backoff_timer_(io) {}

expected<std::uint16_t> accept_loop::start(const listener_config& address) {
  boost::system::error_code ec;
  const auto addr = listen_address(address.host, ec);
  if (ec) {
    logging::net().error("{} listener: bad address '{}': {}", name_, address.host, ec.message());
    return std::error_code(ec);  // the cause itself, for the "cannot start" line
  }
  // A host name is logged with the address it resolved to.
  const auto shown = addr.to_string() == address.host ? address.host : address.host + " (" + addr.to_string() + ")";
  tcp::endpoint ep{addr, address.port};
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    logging::net().error("{} listener: cannot listen on {}:{}: {}", name_, shown, address.port,
                  ec.message());
    return std::error_code(ec);  // e.g. "Address already in use", not "internal error"
  }
  const auto port = acceptor_.local_endpoint().port();
  logging::net().info("{} listener on {}:{}", name_, shown, port);
  accept();
  return port;
}

void accept_loop::stop() {
  asio::post(io_, [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_timer_.cancel();
  });
}

void accept_loop::accept() {
  acceptor_.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) return self->on_error(ec);
    if (self->failed_in_episode_ > 0) {
      const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - self->episode_start_);
      logging::net().warn("{} listener: accepting again after {} failed accepts over {} ms", self->name_,
                   self->failed_in_episode_, lasted.count());
      self->failed_in_episode_ = 0;
      self->backoff_ = 0ms;
    }
    self->on_client_(std::move(s));
    self->accept();
  });
}

void accept_loop::on_error(const boost::system::error_code& ec) {
  if (!out_of_resources(ec)) {
    // A client gone before its accept completed, and the like: nothing to wait for.
    logging::net().debug("{} listener: accept failed: {}", name_, ec.message());
    return accept();
  }
  if (failed_in_episode_++ == 0) {
    episode_start_ = std::chrono::steady_clock::now();
    metrics_.connection_limited(kind_, connection_limit::accept_backoff);
    logging::net().error("{} listener: cannot accept: {}; pausing accepts (up to {} ms at a time) "
                  "while existing connections are served",
                  name_, ec.message(), max_backoff.count());
  }
  backoff_ = backoff_ == 0ms ? first_backoff : std::min(backoff_ * 2, max_backoff);
  backoff_timer_.expires_after(backoff_);
  backoff_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (e || !self->acceptor_.is_open()) return;
    self->accept();
  });
}

}  // namespace portask
