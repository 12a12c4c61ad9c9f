#pragma once
/// A cluster node's membership and partition leases (docs/cluster.md). Detached: it calls
/// the store synchronously, once per round, with its own connection.
///
/// Every round (cluster.renew_ms; sooner while a partition this node should own is still
/// held by another, or when another node's registration is about to run out without having
/// been renewed) it renews the node's registration, reads the live nodes and the topics,
/// and runs one lease round: it wants the partitions that rendezvous hashing gives it among
/// the live nodes and drops every other (a drop releases only a lease it holds: one it no
/// longer should hold, a node joined, or one held without its view showing it). The new
/// view is published to broker_context::cluster(); partitions it lost are stopped through
/// the registry. When the store cannot be reached, the node gives its leases up locally
/// before they could expire in the store (it stops acknowledging rather than act on leases
/// it can no longer renew), and its view stops listing it among the live nodes (it names the
/// others as coordinators, never itself); its appends are fenced in the store either way.
/// When lease rounds have kept failing (two or more in a row, none succeeding for a lease
/// time) it stops renewing its registration, so that the others take over its share, until
/// a lease round succeeds again; the round right after that registers it again.

#include <system_error>

#include "actors/runtime/broker_context.hpp"

namespace portask {

/// Why a node cannot join its cluster at start, as broker::start returns it (the store's
/// own error when it cannot be reached): the process says it in words as it exits.
enum class join_error {
  node_id_in_use = 1,  ///< a live node (another process) is registered under this node's id
};
const std::error_category& join_error_category() noexcept;
inline std::error_code make_error_code(join_error e) noexcept {
  return {static_cast<int>(e), join_error_category()};
}

/// Registers this node once, synchronously, with a logged reason when it cannot:
/// join_error::node_id_in_use when its id is in use by a live node, the store's error when
/// the store cannot be reached. `self` is what registered.
std::error_code register_cluster_node(storage::log_store& store, const cluster_config& config,
                                      const storage::node_registration& self);
/// The reason a node does not start when its id is taken.
void log_node_id_taken(std::int32_t node, const cluster_config& config);

/// The bound on each store call of a lease round: well below the lease.
inline std::chrono::milliseconds cluster_round_timeout(const broker_config& c) {
  return std::chrono::milliseconds(std::min(c.store_timeout_ms, std::max(10u, c.cluster.lease_ms / 4)));
}

/// `store`: its own connection, with calls bounded well below the lease (a round that waits
/// on a store that does not answer must not outlast the leases it means to renew).
/// `supervisor`: where it finds the registry (and registers itself for the others).
cluster_actor spawn_cluster_actor(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
                                  supervisor_actor supervisor, storage::node_registration self,
                                  storage::store_factory store);

}  // namespace portask

template <>
struct std::is_error_code_enum<portask::join_error> : std::true_type {};
