#pragma once
/// A whole broker in one object: the store, the supervised actor runtime, and the Asio
/// side (native listener, HTTP). The server executable and the integration tests both use
/// it. Start returns once every listener is bound; stop shuts down in reverse order.

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "actors/runtime/broker_context.hpp"

namespace portask {

class broker {
 public:
  broker(caf::actor_system& sys, broker_config config);
  ~broker();
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  /// Called when the supervisor itself fails (it gave up restarting a child) or a cluster
  /// node's membership actor does: the node can no longer serve correctly. The executable
  /// stops the process with this reason; set it before start(). It runs as the failed
  /// actor ends, on that actor's thread (or on the thread calling start(), had it ended
  /// already), so it must not block; what it throws is logged, not propagated. The failure
  /// is logged either way.
  void on_fatal(std::function<void(const std::string& reason)> f) { on_fatal_ = std::move(f); }

  /// Binds the listeners and starts serving. Errors: invalid store URL, a port in use, in a
  /// cluster the store unreachable or the node id in use by a live node
  /// (join_error::node_id_in_use).
  std::error_code start();
  void stop();
  /// Reads every TLS listener's certificate, key and CA files again (SIGHUP); a listener
  /// whose files fail keeps what it has. Returns the number of listeners that failed.
  std::size_t reload_tls();

  std::uint16_t native_port() const noexcept { return ctx_ ? ctx_->native_port.load() : 0; }
  std::uint16_t kafka_port() const noexcept { return ctx_ ? ctx_->kafka_port.load() : 0; }
  std::uint16_t http_port() const noexcept { return ctx_ ? ctx_->http_port.load() : 0; }
  const std::shared_ptr<broker_context>& context() const noexcept { return ctx_; }
  const supervisor_actor& supervisor() const noexcept { return supervisor_; }
  /// The long-lived actors as the supervisor has them now (asks it and waits up to 5 s; an
  /// empty directory when it does not answer). For tests and tools: actors ask by message.
  actor_directory directory() const;

 private:
  struct io;
  caf::actor_system& sys_;
  broker_config config_;
  std::shared_ptr<broker_context> ctx_;
  supervisor_actor supervisor_;
  cluster_actor cluster_;  ///< in a cluster only
  std::function<void(const std::string&)> on_fatal_;
  std::unique_ptr<io> io_;
};

/// Makes the store factory for a config's `store` setting ("memory" or a RESP URL); a memory
/// store holds at most `memory_capacity` bytes (0: half the machine's or cgroup's memory).
expected<std::pair<storage::store_factory, std::string>> make_store_factory(
    const std::string& url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
    std::uint64_t memory_capacity = 0);

}  // namespace portask
