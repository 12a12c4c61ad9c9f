#include "actors/connections/transport/tcp_listener.hpp"

#include <caf/all.hpp>

#include "logging/loggers.hpp"

namespace portask {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp_listener::tcp_listener(asio::io_context& io, metrics_registry& metrics, options opts)
    : io_(io), metrics_(metrics), opts_(std::move(opts)),
      table_(std::make_shared<connection_table>(opts_.max_connections,
                                                opts_.max_connections_per_address)) {}

expected<std::uint16_t> tcp_listener::start() {
  // The accept loop holds the listener weakly: stopping the broker ends both.
  std::weak_ptr<tcp_listener> weak = shared_from_this();
  acceptor_ = std::make_shared<accept_loop>(io_, opts_.name, opts_.kind, metrics_,
                                            [weak](tcp::socket s) {
                                              if (auto self = weak.lock()) self->on_client(std::move(s));
                                            });
  return acceptor_->start(opts_.address);
}

void tcp_listener::stop() {
  if (acceptor_) acceptor_->stop();
}

void tcp_listener::stop_connections() {
  std::vector<caf::actor_addr> live;
  {
    std::lock_guard lock{live_mutex_};
    live.swap(live_);
    stopping_ = true;
  }
  for (const auto& addr : live)
    if (auto a = caf::actor_cast<caf::actor>(addr)) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

void tcp_listener::refuse(tcp::socket s, connection_limit why) {
  metrics_.connection_limited(opts_.kind, why);
  if (const auto n = refusals_.count(); n > 0) {
    const auto per_address = opts_.max_connections_per_address
                                 ? ", " + std::to_string(opts_.max_connections_per_address) + " per address"
                                 : std::string(", no separate cap per address");
    logging::net().warn("{} listener: refused {} client(s): {} (max {} per listener{}), none idle to evict",
                        opts_.name, n,
                        why == connection_limit::address_full ? "address at its connection cap"
                                                              : "connection cap reached",
                        opts_.max_connections, per_address);
  }
  auto sock = std::make_shared<tcp::socket>(std::move(s));
  // Over TLS the client could not read a plaintext rejection: it just sees the close.
  auto bytes = std::make_shared<protocol::buffer>(opts_.tls ? protocol::buffer{} : opts_.reject_bytes);
  asio::async_write(*sock, asio::buffer(*bytes), [sock, bytes](auto, std::size_t) {
    boost::system::error_code ignored;
    sock->shutdown(tcp::socket::shutdown_both, ignored);
    sock->close(ignored);
  });
}

void tcp_listener::on_client(tcp::socket s) {
  boost::system::error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) return;  // already gone
  switch (table_->admit(remote.address())) {
    case connection_table::verdict::listener_full: return refuse(std::move(s), connection_limit::listener_full);
    case connection_table::verdict::address_full: return refuse(std::move(s), connection_limit::address_full);
    case connection_table::verdict::admitted:
    case connection_table::verdict::admitted_after_eviction: break;
  }
  connections_.fetch_add(1);
  metrics_.listener_connection(opts_.kind, +1);
  // The session leaves the table when it is destroyed (its actor has let go of it).
  auto slot = std::make_shared<const limited_connection*>(nullptr);
  auto session = std::make_shared<tcp_session>(
      std::move(s), opts_.make_framer(), opts_.limits, opts_.kind, metrics_,
      [open = open_, table = table_, slot, metrics = &metrics_, kind = opts_.kind] {
        table->leave(*slot);
        open->fetch_sub(1);
        metrics->listener_connection(kind, -1);
      },
      opts_.tls ? opts_.tls->current() : nullptr, opts_.budget);
  *slot = session.get();
  table_->join(remote.address(), session);
  if (!opts_.tls) return launch(std::move(session));
  std::weak_ptr<tcp_listener> weak = shared_from_this();
  // The handshake's callback holds the session; after a failure it lets go and the session ends.
  session->handshake([weak, session](bool ok) mutable {
    auto self = weak.lock();
    if (ok && self) self->launch(std::move(session));
  });
}

void tcp_listener::launch(std::shared_ptr<tcp_session> session) {
  std::unique_lock lock{live_mutex_};
  // A TLS handshake that ends while the broker stops gets no actor: nothing would stop it.
  if (stopping_) {
    lock.unlock();
    session->close();
    return;
  }
  auto actor = opts_.spawn_connection(session);
  // Prune handles of connections that are gone, then remember this one.
  std::erase_if(live_, [](const caf::actor_addr& a) { return !caf::actor_cast<caf::actor>(a); });
  live_.push_back(actor.address());
  lock.unlock();
  session->start(std::move(actor));
}

}  // namespace portask
