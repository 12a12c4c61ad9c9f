#pragma once
/// What every actor of one broker shares: configuration, the metrics registry, the codec
/// manager, the store factory, the listeners' ports, and published snapshots (the cluster
/// view, the access rules). No actor handles: an actor finds its collaborators in its own
/// copy of the supervisor's actor_directory (interfaces.hpp), given at spawn and updated by
/// message when one restarts.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "actors/cluster/cluster_view.hpp"
#include "actors/runtime/broker_config.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics/metrics.hpp"
#include "actors/pipeline/tail_budget.hpp"
#include "actors/security/access_control.hpp"
#include "protocol/codec_manager.hpp"

namespace portask {

/// One Kafka listener as its clients see it: what Metadata, FindCoordinator and
/// DescribeCluster name, and whether it authenticates.
struct kafka_endpoint {
  std::string name;
  std::string advertised_host;
  std::atomic<std::uint16_t> advertised_port{0};  ///< set once bound, before any client
  bool sasl = false;
};

class broker_context {
 public:
  broker_context(broker_config config, storage::store_factory factory, std::string store_kind);

  const broker_config config;
  metrics_registry metrics;
  const protocol::codec_manager codecs;
  const protocol::encoding storage_encoding;
  const storage::store_factory store_factory;
  const std::string store_kind;
  /// The embedded memory store keeps every frame for the broker's lifetime: frames are then
  /// carved from pre-faulted slabs (shared_bytes::copy_of). Frames bound for a remote store
  /// only pass through the tails, and heap memory they release is reused warm.
  const bool frames_stay_in_process;
  /// A remote store's writes wait on the network: its writers get threads of their own. The
  /// memory store's writes wait on no I/O, only on its mutex (held for map updates; frees and
  /// CRC checks happen outside it): its writers run on the scheduler, which saves two thread
  /// hand-overs per write.
  const bool writes_wait_on_io;
  /// The partitions' tails share config.partition_tail_budget_bytes, at most 8 MiB each.
  static constexpr std::size_t max_tail_bytes_per_partition = 8u * 1024 * 1024;
  tail_budget tails;
  /// Batches a partition queues while recovering before it refuses more (backpressure).
  std::size_t partition_queue_limit = 10000;

  /// Ports actually bound (a configured port 0 picks a free one); 0 until listening.
  std::atomic<std::uint16_t> native_port{0};
  std::atomic<std::uint16_t> kafka_port{0};
  std::atomic<std::uint16_t> http_port{0};
  /// Every Kafka listener (the first one first); filled while the broker starts, before any
  /// client connects, and not changed after.
  std::vector<std::shared_ptr<kafka_endpoint>> kafka_endpoints;
  /// Idempotent producer ids, handed out from blocks reserved in the store (INCRBY), so no
  /// two producers ever share an id, across restarts and across nodes.
  class producer_id_pool {
   public:
    static constexpr std::int64_t block = 1000;
    std::optional<std::int64_t> take();
    void add_block(std::int64_t first, std::int64_t count);
    /// Whether `id` is in this node's block and not handed out yet: the store counts it
    /// allocated, but no producer has it, so no client may claim it.
    bool reserved_here(std::int64_t id);

   private:
    std::mutex mutex_;
    std::int64_t next_ = 0;
    std::int64_t end_ = 0;
  };
  producer_id_pool producer_ids;

  /// Credentials and ACLs as connections read them (security/access_control.hpp).
  access_control access;

  /// Subscribers to OnMessage hooks; the bridge skips building events while this is 0.
  std::atomic<int> message_hook_subscribers{0};
  /// Ids for cancellable long polls (fetch_request::poll_id), unique within this node.
  std::atomic<std::uint64_t> next_poll_id{1};
  /// Bumped by the topic registry whenever a topic is created, grown or deleted, so that
  /// connections' caches of topic facts know when to forget them.
  std::atomic<std::uint64_t> topic_changes{0};
  /// Topic-record writes a topic store (topic_registry.cpp) is inside. A registry restarted
  /// while its predecessor's topic store is still inside one (it finishes the blocking call
  /// before it hears of the exit) waits with its first read of the topics until the write
  /// has landed, so that it never starts from a list the write then changes.
  std::atomic<int> topic_writes_in_flight{0};

  /// The cluster as this node sees it (cluster/cluster_view.hpp): replaced after every lease
  /// round by the cluster actor; a single node's view outside a cluster.
  std::shared_ptr<const cluster_view> cluster() const { return cluster_.load(std::memory_order_acquire); }
  void publish_cluster(std::shared_ptr<const cluster_view> v) {
    cluster_.store(std::move(v), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const cluster_view>> cluster_{single_node_view()};
};

}  // namespace portask
