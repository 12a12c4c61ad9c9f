#pragma once
/// The one metrics registry of a broker: every protocol's traffic is counted here, in the
/// same series, labelled by protocol. Lock-free (relaxed atomics) so any thread can record on
/// the hot path; rendered as Prometheus text for GET /metrics. Shared by pointer; lives as long
/// as the broker.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace portask {

/// Request kinds, shared by every protocol (a Kafka Produce is a publish, a native Fetch and
/// a Kafka Fetch are both fetch).
enum class request_kind : std::uint8_t {
  publish,
  fetch,
  subscribe,
  commit,
  offset_fetch,
  list_offsets,
  topic_admin,
  metadata,
  heartbeat,
  group,
  authenticate,    ///< SASL handshakes and tokens
  security_admin,  ///< users' credentials and ACLs
  other,
  count_
};
const char* to_string(request_kind k) noexcept;

/// The three listeners, for limits counted per listener.
enum class listener_kind : std::uint8_t { native, kafka, http, count_ };
const char* to_string(listener_kind k) noexcept;

/// What a connection limit did to a connection (docs/operations.md, "Limits").
enum class connection_limit : std::uint8_t {
  listener_full,    ///< refused: the listener's connection cap is reached, none idle to evict
  address_full,     ///< refused: the client address's cap is reached, none idle to evict
  evicted_idle,     ///< closed: the least recently active idle connection, for a new client
  request_timeout,  ///< closed: a frame (or HTTP request) not completed in time
  idle_timeout,     ///< closed: nothing sent or received for the idle timeout
  accept_backoff,   ///< accepting paused: the process ran out of file descriptors (episodes)
  output_full,      ///< a connection stopped taking requests or pushes: its client is not reading
  tls_handshake,    ///< closed: the TLS handshake failed (garbage, a refused certificate)
  count_
};
const char* to_string(connection_limit l) noexcept;

/// Requests refused by a per-request limit.
enum class request_limit : std::uint8_t {
  decompressed_bytes,  ///< a Produce request inflating past its budget
  auto_create_topics,  ///< a topic not auto-created: per-request or per-window cap
  http_request_size,   ///< an HTTP request over the header or body limit
  count_
};
const char* to_string(request_limit l) noexcept;

/// Log2-bucketed latency histogram in microseconds: bucket i counts values < 2^i us.
class latency_histogram {
 public:
  static constexpr std::size_t buckets = 32;
  void record(std::chrono::nanoseconds d) noexcept;
  void record_value(std::uint64_t v) noexcept;  ///< unitless values (batch sizes)
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t bucket(std::size_t i) const noexcept {
    return counts_[i].load(std::memory_order_relaxed);
  }
  /// Upper bound of the bucket holding quantile q (0 < q <= 1), in recorded units.
  std::uint64_t quantile(double q) const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, buckets> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
};

class metrics_registry {
 public:
  static constexpr std::size_t protocols = 3;  ///< portask, kafka, http
  static constexpr auto kinds = static_cast<std::size_t>(request_kind::count_);

  /// One produced batch accepted (also recorded in the produce batch size histogram).
  void messages_in(protocol_kind p, std::uint64_t messages, std::uint64_t bytes) noexcept;
  void messages_out(protocol_kind p, std::uint64_t messages, std::uint64_t bytes) noexcept;
  void request(protocol_kind p, request_kind k, std::chrono::nanoseconds latency,
               bool failed) noexcept;
  /// A Kafka request by API (key and Kafka's name, a string that lives forever), for the
  /// per-API series; `request` counts it by kind as well.
  void kafka_request(std::int16_t api_key, const char* api_name, std::chrono::nanoseconds latency,
                     bool failed) noexcept;
  void connection_opened(protocol_kind p) noexcept;
  void connection_closed(protocol_kind p) noexcept;
  void connection_limited(listener_kind l, connection_limit what) noexcept;
  /// A listener's connection admitted (+1) or gone (-1).
  void listener_connection(listener_kind l, int delta) noexcept {
    listener_open_[static_cast<std::size_t>(l)].fetch_add(delta, std::memory_order_relaxed);
  }
  /// How long a fetch waited parked for data (answered by data, its max wait, or a cancel).
  void fetch_wait(std::chrono::nanoseconds waited) noexcept { fetch_wait_.record(waited); }
  /// A long poll parked in a partition (+1) or answered (-1).
  void fetches_waiting(int delta) noexcept {
    fetches_waiting_.fetch_add(delta, std::memory_order_relaxed);
  }
  std::int64_t fetches_waiting() const noexcept {
    return fetches_waiting_.load(std::memory_order_relaxed);
  }
  void request_limited(request_limit what) noexcept;
  /// The broker-wide budget of request bytes read and not yet answered
  /// (connections/transport/request_budget.hpp): its size (0: unbounded), the bytes in use,
  /// and each time a connection stopped reading to wait for it.
  void request_budget_limit(std::uint64_t bytes) noexcept {
    request_budget_limit_.store(bytes, std::memory_order_relaxed);
  }
  void request_budget_used(std::uint64_t bytes) noexcept {
    request_budget_used_.store(bytes, std::memory_order_relaxed);
  }
  void request_budget_wait() noexcept { request_budget_waits_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t request_budget_waits_total() const noexcept {
    return request_budget_waits_.load(std::memory_order_relaxed);
  }
  std::uint64_t connection_limited_total(listener_kind l, connection_limit what) const noexcept;
  std::uint64_t request_limited_total(request_limit what) const noexcept;
  void storage_round_trip(std::size_t batches, std::size_t records,
                          std::chrono::nanoseconds latency, bool failed) noexcept;
  void store_up(bool up) noexcept { store_up_.store(up, std::memory_order_relaxed); }
  bool store_up() const noexcept { return store_up_.load(std::memory_order_relaxed); }

  /// The supervisor's long-lived actors by kind: `slot` is the kind's number (below
  /// `supervised_kinds`), `label` its name in the series (a string that lives forever).
  /// Declared when the supervisor starts, so every kind's series is there from 0.
  static constexpr std::size_t supervised_kinds = 16;
  void supervised_kind(std::size_t slot, const char* label) noexcept;
  void actor_restarted(std::size_t slot) noexcept;
  /// How many children of a kind are in a crash loop now (the supervisor's definition:
  /// runtime/supervisor.cpp, set_crash_loop); /health lists the kinds with any.
  void crash_loops(std::size_t slot, std::size_t children) noexcept;
  std::uint64_t actor_restarts_total(std::size_t slot) const noexcept;
  std::uint64_t crash_loops(std::size_t slot) const noexcept;
  /// The labels of the kinds with a child in a crash loop now.
  std::vector<std::string> crash_looping() const;

  /// A hook event not delivered: its subscriber had too many unanswered
  /// (pipeline/hooks.hpp).
  void hook_event_dropped() noexcept { hook_drops_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t hook_events_dropped_total() const noexcept {
    return hook_drops_.load(std::memory_order_relaxed);
  }

  std::uint64_t messages_in_total(protocol_kind p) const noexcept;
  std::uint64_t bytes_in_total(protocol_kind p) const noexcept;
  std::uint64_t messages_out_total(protocol_kind p) const noexcept;
  std::uint64_t requests_total(protocol_kind p, request_kind k) const noexcept;
  std::uint64_t errors_total(protocol_kind p, request_kind k) const noexcept;
  std::int64_t open_connections(protocol_kind p) const noexcept;

  /// What the data holds, as the retention actor saw it on its last pass, already cut to
  /// the cardinality guard (metrics_max_topics / metrics_max_partitions).
  struct partition_usage {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t log_start = 0, log_end = 0;
    std::uint64_t stored_bytes = 0, appended_bytes = 0;
  };
  struct topic_usage {
    std::uint64_t stored_bytes = 0, appended_bytes = 0;
    std::int64_t appended_messages = 0;  ///< the sum of its partitions' log end offsets
  };
  struct group_lag {
    std::string group, topic;
    std::int32_t partition = 0;
    std::int64_t committed = 0, lag = 0;
  };
  struct data_usage {
    std::map<std::string, topic_usage> topics;
    std::vector<partition_usage> partitions;
    std::vector<group_lag> lags;              ///< per group, topic and partition
    std::map<std::string, std::int64_t> group_lag_sums;  ///< per group, over all its partitions
    std::uint64_t omitted_topics = 0, omitted_partitions = 0;  ///< cut by the guard
    std::uint64_t store_used = 0, store_capacity = 0;  ///< memory store only (else 0)
    std::uint64_t tail_bytes = 0, tail_budget = 0, live_partitions = 0, warm_partitions = 0;
  };
  void data_pass(data_usage usage);
  data_usage data() const;
  /// Records a retention or DeleteRecords removal (records below the new log start).
  void records_deleted(std::uint64_t records) noexcept {
    records_deleted_.fetch_add(records, std::memory_order_relaxed);
  }
  /// Records a compaction's removals (older records of a key, old tombstones, keyless ones).
  void records_compacted(std::uint64_t records) noexcept {
    records_compacted_.fetch_add(records, std::memory_order_relaxed);
  }
  void partition_passivated() noexcept { passivated_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t records_deleted_total() const noexcept {
    return records_deleted_.load(std::memory_order_relaxed);
  }
  std::uint64_t records_compacted_total() const noexcept {
    return records_compacted_.load(std::memory_order_relaxed);
  }
  std::uint64_t passivated_total() const noexcept {
    return passivated_.load(std::memory_order_relaxed);
  }

  /// A cluster node's view after a lease round (actors/cluster): its id, the live nodes and
  /// the partitions it owns; leases renewed, taken (a `takeover`: a failover, taken from a
  /// holder that let the lease run out rather than release it) and lost.
  struct cluster_round {
    std::int64_t node_id = -1;
    std::uint64_t live_nodes = 0, owned_partitions = 0;
    std::uint64_t renewed = 0, acquired = 0, takeovers = 0, lost = 0;
    bool ok = true;
  };
  void cluster_round_done(const cluster_round& r) noexcept {
    cluster_node_id_.store(r.node_id, std::memory_order_relaxed);
    cluster_live_nodes_.store(r.live_nodes, std::memory_order_relaxed);
    cluster_owned_.store(r.owned_partitions, std::memory_order_relaxed);
    cluster_renewed_.fetch_add(r.renewed, std::memory_order_relaxed);
    cluster_acquired_.fetch_add(r.acquired, std::memory_order_relaxed);
    cluster_takeovers_.fetch_add(r.takeovers, std::memory_order_relaxed);
    cluster_lost_.fetch_add(r.lost, std::memory_order_relaxed);
    if (!r.ok) cluster_failed_rounds_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t cluster_takeovers_total() const noexcept {
    return cluster_takeovers_.load(std::memory_order_relaxed);
  }

  /// Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;

 private:
  struct per_protocol {
    std::atomic<std::uint64_t> messages_in{0}, bytes_in{0}, messages_out{0}, bytes_out{0};
    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::int64_t> connections_open{0};
    std::array<std::atomic<std::uint64_t>, kinds> requests{}, errors{};
    std::array<latency_histogram, kinds> latency;
    latency_histogram batch_records;  ///< records per produced batch
  };
  std::array<per_protocol, protocols> by_protocol_;
  struct per_kafka_api {
    std::atomic<const char*> name{nullptr};
    std::atomic<std::uint64_t> requests{0}, errors{0};
    latency_histogram latency;
  };
  static constexpr std::size_t kafka_api_slots = 128;  ///< API keys 0..127
  std::array<per_kafka_api, kafka_api_slots> kafka_apis_;
  static constexpr auto listeners = static_cast<std::size_t>(listener_kind::count_);
  static constexpr auto connection_limits = static_cast<std::size_t>(connection_limit::count_);
  std::array<std::array<std::atomic<std::uint64_t>, connection_limits>, listeners> connection_limited_{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(request_limit::count_)>
      request_limited_{};
  std::array<std::atomic<std::int64_t>, listeners> listener_open_{};
  std::atomic<std::uint64_t> request_budget_limit_{0}, request_budget_used_{0}, request_budget_waits_{0};
  latency_histogram fetch_wait_;
  std::atomic<std::int64_t> fetches_waiting_{0};
  latency_histogram storage_rtt_;
  latency_histogram storage_batches_;  ///< batches per round trip
  latency_histogram storage_records_;  ///< records per round trip
  std::atomic<std::uint64_t> storage_failures_{0};
  std::atomic<bool> store_up_{true};
  struct per_supervised_kind {
    std::atomic<const char*> label{nullptr};
    std::atomic<std::uint64_t> restarts{0};
    std::atomic<std::uint64_t> crash_loops{0};  ///< children of the kind in one
  };
  std::array<per_supervised_kind, supervised_kinds> supervised_;
  std::atomic<std::uint64_t> hook_drops_{0};
  std::atomic<std::uint64_t> records_deleted_{0};
  std::atomic<std::uint64_t> records_compacted_{0};
  std::atomic<std::uint64_t> passivated_{0};
  std::atomic<std::int64_t> cluster_node_id_{-1};
  std::atomic<std::uint64_t> cluster_live_nodes_{0}, cluster_owned_{0}, cluster_renewed_{0},
      cluster_acquired_{0}, cluster_takeovers_{0}, cluster_lost_{0}, cluster_failed_rounds_{0};
  mutable std::mutex data_mutex_;  ///< taken once per retention pass and per scrape
  data_usage data_;
};

}  // namespace portask
