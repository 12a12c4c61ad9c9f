#pragma once
/// What one node knows of its cluster at one moment: the live nodes and who holds each
/// partition's lease. Immutable; the cluster actor publishes a new one after every lease
/// round (broker_context::cluster()), and whoever routes or answers metadata reads the
/// current one without a lock. A node outside a cluster has a view of itself alone, owning
/// everything, so that callers need no second code path.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/node_info.hpp"
#include "storage/log_store.hpp"

namespace portask {

struct cluster_view {
  /// This node; `clustered` false: a single node (id 0) that owns every partition and group.
  std::int32_t self = 0;
  std::string token;
  bool clustered = false;
  /// Live nodes by id (this one included once registered), and their ids in order.
  std::map<std::int32_t, node_info> nodes;
  std::vector<std::int32_t> live;
  /// Live nodes' registration tokens (this run's, for each id): a lease held under another
  /// token was taken by an earlier run of that node, which no longer serves it.
  std::map<std::int32_t, std::string> tokens;
  /// Partition lease holders as the last lease round saw them (held ones only).
  std::map<storage::topic_partition, storage::lease_holder> holders;
  /// Group lease holders, for the groups this node coordinates or has been asked to.
  std::map<std::string, storage::lease_holder> group_holders;
  /// Bumped by each published view.
  std::uint64_t version = 0;
  /// This node acts on the leases it holds until then: the store keeps them at least until
  /// the lease time after the round that renewed them began, and this node stops a margin
  /// before, whether or not its next round has come back.
  std::chrono::steady_clock::time_point owned_until = std::chrono::steady_clock::time_point::max();

  /// The partition's lease holder, or null when nobody holds it (as far as this node knows).
  const storage::lease_holder* holder(const storage::topic_partition& tp) const {
    auto it = holders.find(tp);
    return it == holders.end() ? nullptr : &it->second;
  }
  /// Whether this node may serve the partition: outside a cluster always; in one while it
  /// holds the lease (then `lease` says which).
  bool owns(const storage::topic_partition& tp, const storage::lease_holder** lease = nullptr) const {
    if (!clustered) return true;
    const auto* h = holder(tp);
    if (h == nullptr || h->node != self || h->token != token) return false;
    if (std::chrono::steady_clock::now() >= owned_until) return false;
    if (lease != nullptr) *lease = h;
    return true;
  }
  /// The node clients should send the partition's requests to: its lease holder while it
  /// may serve under that lease; -1 otherwise (Kafka's LEADER_NOT_AVAILABLE: the client asks
  /// again). -1 too for this node past owned_until, and for a lease held under a token that
  /// is not its holder's registered one (an earlier run of it): naming a node that answers
  /// NOT_LEADER would only send clients round in a loop.
  std::int32_t leader(const storage::topic_partition& tp) const;
  /// The partition's leader epoch as Kafka clients see it: its lease's epoch (0 outside a
  /// cluster; -1 while nobody holds it), also while leader() is -1 for it: the node that
  /// serves it checks the epochs clients name against it, and stamps its batches with it,
  /// until the partition stops there. (Kafka's Metadata and KIP-951 name no epoch with a
  /// leader of -1.)
  std::int32_t leader_epoch(const storage::topic_partition& tp) const;
  /// The node that should coordinate `group`, where FindCoordinator sends clients (the same
  /// on every node with the same live set). It takes the group's lease before it serves.
  std::int32_t coordinator(const std::string& group) const;
  /// The group's lease while this node holds it (then it coordinates the group); null
  /// otherwise. Outside a cluster a node coordinates every group, with no lease (null).
  const storage::lease_holder* group_lease(const std::string& group) const {
    auto it = group_holders.find(group);
    if (it == group_holders.end() || it->second.node != self || it->second.token != token) return nullptr;
    if (std::chrono::steady_clock::now() >= owned_until) return nullptr;
    return &it->second;
  }
  bool coordinates(const std::string& group) const { return !clustered || group_lease(group) != nullptr; }
  /// The lease leader() goes by: the holder's, while it may serve under it (as far as this
  /// node knows); null otherwise. In a cluster only.
  const storage::lease_holder* leading(const storage::topic_partition& tp) const {
    const auto* h = holder(tp);
    if (h == nullptr) return nullptr;
    if (h->node == self) return owns(tp) ? h : nullptr;
    auto registered = tokens.find(h->node);
    if (registered != tokens.end() && registered->second != h->token) return nullptr;
    return h;
  }
  /// A node's advertised endpoints; null for a node not (or no longer) live.
  const node_info* node(std::int32_t id) const {
    auto it = nodes.find(id);
    return it == nodes.end() ? nullptr : &it->second;
  }
};

/// The view of a node outside any cluster.
std::shared_ptr<const cluster_view> single_node_view();

/// The view a node publishes as it leaves the cluster, having released its leases and its
/// registration, or once it can no longer renew its leases (they have run out locally, the
/// store cannot be reached): `v` without the node among the live ones and without any lease
/// it held. It names the others as leaders and coordinators, never itself.
std::shared_ptr<cluster_view> leaving_view(const cluster_view& v);

}  // namespace portask
