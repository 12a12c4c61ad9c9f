#include "actors/metrics/metrics.hpp"

#include <bit>
#include <span>

#include "actors/metrics/process_stats.hpp"
#include "actors/metrics/prometheus_text.hpp"
#include "portask/version.hpp"

namespace portask {
namespace {
constexpr auto relaxed = std::memory_order_relaxed;
std::size_t idx(protocol_kind p) { return static_cast<std::size_t>(p); }
std::size_t idx(request_kind k) { return static_cast<std::size_t>(k); }
enum class kind_of_counter { counter, gauge };
}  // namespace

const char* to_string(request_kind k) noexcept {
  switch (k) {
    case request_kind::publish: return "publish";
    case request_kind::fetch: return "fetch";
    case request_kind::subscribe: return "subscribe";
    case request_kind::commit: return "commit";
    case request_kind::offset_fetch: return "offset_fetch";
    case request_kind::list_offsets: return "list_offsets";
    case request_kind::topic_admin: return "topic_admin";
    case request_kind::metadata: return "metadata";
    case request_kind::heartbeat: return "heartbeat";
    case request_kind::group: return "group";
    case request_kind::authenticate: return "authenticate";
    case request_kind::security_admin: return "security_admin";
    case request_kind::other:
    case request_kind::count_: break;
  }
  return "other";
}

const char* to_string(listener_kind k) noexcept {
  switch (k) {
    case listener_kind::native: return "native";
    case listener_kind::kafka: return "kafka";
    case listener_kind::http:
    case listener_kind::count_: break;
  }
  return "http";
}

const char* to_string(connection_limit l) noexcept {
  switch (l) {
    case connection_limit::listener_full: return "listener_full";
    case connection_limit::address_full: return "address_full";
    case connection_limit::evicted_idle: return "evicted_idle";
    case connection_limit::request_timeout: return "request_timeout";
    case connection_limit::idle_timeout: return "idle_timeout";
    case connection_limit::output_full: return "output_full";
    case connection_limit::tls_handshake: return "tls_handshake";
    case connection_limit::accept_backoff:
    case connection_limit::count_: break;
  }
  return "accept_backoff";
}

const char* to_string(request_limit l) noexcept {
  switch (l) {
    case request_limit::decompressed_bytes: return "decompressed_bytes";
    case request_limit::auto_create_topics: return "auto_create_topics";
    case request_limit::http_request_size:
    case request_limit::count_: break;
  }
  return "http_request_size";
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
  const auto us = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
  record_value(us);
}

void latency_histogram::record_value(std::uint64_t v) noexcept {
  const std::size_t b = std::min<std::size_t>(buckets - 1, static_cast<std::size_t>(std::bit_width(v)));
  counts_[b].fetch_add(1, relaxed);
  count_.fetch_add(1, relaxed);
  sum_.fetch_add(v, relaxed);
}

std::uint64_t latency_histogram::quantile(double q) const noexcept {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total) + 0.999999);
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    seen += counts_[b].load(relaxed);
    if (seen >= rank) return b == 0 ? 0 : (std::uint64_t{1} << b) - 1;
  }
  return (std::uint64_t{1} << (buckets - 1)) - 1;
}

void metrics_registry::messages_in(protocol_kind p, std::uint64_t messages,
                                   std::uint64_t bytes) noexcept {
  by_protocol_[idx(p)].messages_in.fetch_add(messages, relaxed);
  by_protocol_[idx(p)].bytes_in.fetch_add(bytes, relaxed);
  by_protocol_[idx(p)].batch_records.record_value(messages);
}

void metrics_registry::messages_out(protocol_kind p, std::uint64_t messages,
                                    std::uint64_t bytes) noexcept {
  by_protocol_[idx(p)].messages_out.fetch_add(messages, relaxed);
  by_protocol_[idx(p)].bytes_out.fetch_add(bytes, relaxed);
}

void metrics_registry::request(protocol_kind p, request_kind k, std::chrono::nanoseconds latency,
                               bool failed) noexcept {
  auto& s = by_protocol_[idx(p)];
  s.requests[idx(k)].fetch_add(1, relaxed);
  if (failed) s.errors[idx(k)].fetch_add(1, relaxed);
  s.latency[idx(k)].record(latency);
}

void metrics_registry::connection_opened(protocol_kind p) noexcept {
  by_protocol_[idx(p)].connections_total.fetch_add(1, relaxed);
  by_protocol_[idx(p)].connections_open.fetch_add(1, relaxed);
}

void metrics_registry::connection_closed(protocol_kind p) noexcept {
  by_protocol_[idx(p)].connections_open.fetch_sub(1, relaxed);
}

void metrics_registry::connection_limited(listener_kind l, connection_limit what) noexcept {
  connection_limited_[static_cast<std::size_t>(l)][static_cast<std::size_t>(what)].fetch_add(1, relaxed);
}

void metrics_registry::request_limited(request_limit what) noexcept {
  request_limited_[static_cast<std::size_t>(what)].fetch_add(1, relaxed);
}

std::uint64_t metrics_registry::connection_limited_total(listener_kind l,
                                                         connection_limit what) const noexcept {
  return connection_limited_[static_cast<std::size_t>(l)][static_cast<std::size_t>(what)].load(relaxed);
}

std::uint64_t metrics_registry::request_limited_total(request_limit what) const noexcept {
  return request_limited_[static_cast<std::size_t>(what)].load(relaxed);
}

void metrics_registry::storage_round_trip(std::size_t batches, std::size_t records,
                                          std::chrono::nanoseconds latency, bool failed) noexcept {
  storage_rtt_.record(latency);
  storage_batches_.record_value(batches);
  storage_records_.record_value(records);
  if (failed) storage_failures_.fetch_add(1, relaxed);
}

void metrics_registry::kafka_request(std::int16_t api_key, const char* api_name,
                                     std::chrono::nanoseconds latency, bool failed) noexcept {
  if (api_key < 0 || static_cast<std::size_t>(api_key) >= kafka_api_slots || !api_name) return;
  auto& slot = kafka_apis_[static_cast<std::size_t>(api_key)];
  slot.name.store(api_name, relaxed);
  slot.requests.fetch_add(1, relaxed);
  if (failed) slot.errors.fetch_add(1, relaxed);
  slot.latency.record(latency);
}

void metrics_registry::supervised_kind(std::size_t slot, const char* label) noexcept {
  if (slot < supervised_kinds && label) supervised_[slot].label.store(label, relaxed);
}
void metrics_registry::actor_restarted(std::size_t slot) noexcept {
  if (slot < supervised_kinds) supervised_[slot].restarts.fetch_add(1, relaxed);
}
void metrics_registry::crash_loops(std::size_t slot, std::size_t children) noexcept {
  if (slot < supervised_kinds) supervised_[slot].crash_loops.store(children, relaxed);
}
std::uint64_t metrics_registry::actor_restarts_total(std::size_t slot) const noexcept {
  return slot < supervised_kinds ? supervised_[slot].restarts.load(relaxed) : 0;
}
std::uint64_t metrics_registry::crash_loops(std::size_t slot) const noexcept {
  return slot < supervised_kinds ? supervised_[slot].crash_loops.load(relaxed) : 0;
}
std::vector<std::string> metrics_registry::crash_looping() const {
  std::vector<std::string> out;
  for (const auto& k : supervised_)
    if (const char* label = k.label.load(relaxed); label && k.crash_loops.load(relaxed) > 0)
      out.emplace_back(label);
  return out;
}

std::uint64_t metrics_registry::messages_in_total(protocol_kind p) const noexcept {
  return by_protocol_[idx(p)].messages_in.load(relaxed);
}
std::uint64_t metrics_registry::bytes_in_total(protocol_kind p) const noexcept {
  return by_protocol_[idx(p)].bytes_in.load(relaxed);
}
std::uint64_t metrics_registry::messages_out_total(protocol_kind p) const noexcept {
  return by_protocol_[idx(p)].messages_out.load(relaxed);
}
std::uint64_t metrics_registry::requests_total(protocol_kind p, request_kind k) const noexcept {
  return by_protocol_[idx(p)].requests[idx(k)].load(relaxed);
}
std::uint64_t metrics_registry::errors_total(protocol_kind p, request_kind k) const noexcept {
  return by_protocol_[idx(p)].errors[idx(k)].load(relaxed);
}
std::int64_t metrics_registry::open_connections(protocol_kind p) const noexcept {
  return by_protocol_[idx(p)].connections_open.load(relaxed);
}

std::string metrics_registry::render_prometheus() const {
  using k = prometheus_text::kind;
  prometheus_text o;
  // The client protocols, with their connections and requests. HTTP serves messages too
  // (the console's browser) and is a series of the messages-out families only: its
  // connections and requests are counted by listener.
  const protocol_kind all[] = {protocol_kind::portask, protocol_kind::kafka};
  const protocol_kind serving[] = {protocol_kind::portask, protocol_kind::kafka, protocol_kind::http};
  auto by_protocol = [&](const char* name, const char* help, kind_of_counter type, auto get,
                         std::span<const protocol_kind> labels) {
    o.family(name, help, type == kind_of_counter::counter ? k::counter : k::gauge);
    for (auto p : labels) o.sample({{"protocol", to_string(p)}}, get(by_protocol_[idx(p)]));
  };
  o.family("portask_build_info", "The running Portask build (always 1)", k::info);
  o.sample({{"version", version_string}}, std::uint64_t{1});
  by_protocol("portask_messages_in_total", "Messages accepted for storage",
               kind_of_counter::counter, [](const auto& s) { return s.messages_in.load(relaxed); }, all);
  by_protocol("portask_bytes_in_total", "Bytes of messages accepted (client wire size)",
               kind_of_counter::counter, [](const auto& s) { return s.bytes_in.load(relaxed); }, all);
  by_protocol("portask_messages_out_total", "Messages served to consumers",
               kind_of_counter::counter, [](const auto& s) { return s.messages_out.load(relaxed); }, serving);
  by_protocol("portask_bytes_out_total", "Bytes of stored frames served to consumers",
               kind_of_counter::counter, [](const auto& s) { return s.bytes_out.load(relaxed); }, serving);
  by_protocol("portask_connections_total", "Connections accepted", kind_of_counter::counter,
               [](const auto& s) { return s.connections_total.load(relaxed); }, all);
  by_protocol("portask_open_connections", "Connections open now", kind_of_counter::gauge,
               [](const auto& s) { return s.connections_open.load(relaxed); }, all);

  o.family("portask_listener_connections", "Connections open now, by listener", k::gauge);
  for (std::size_t l = 0; l < listeners; ++l)
    o.sample({{"listener", to_string(static_cast<listener_kind>(l))}},
             listener_open_[l].load(relaxed));

  // What the limits did (every series present, zeros included, so dashboards can rely on it).
  auto by_listener = [&](const char* name, const char* help,
                         std::initializer_list<connection_limit> reasons, bool labelled) {
    o.family(name, help, k::counter);
    for (std::size_t l = 0; l < listeners; ++l)
      for (auto r : reasons) {
        prometheus_text::labels labels{{"listener", to_string(static_cast<listener_kind>(l))}};
        if (labelled) labels.emplace_back("reason", to_string(r));
        o.sample(labels, connection_limited_total(static_cast<listener_kind>(l), r));
      }
  };
  by_listener("portask_connections_refused_total",
              "Connections refused by a connection cap (no idle connection to evict)",
              {connection_limit::listener_full, connection_limit::address_full}, true);
  by_listener("portask_connections_closed_by_limit_total",
              "Connections the broker closed: evicted for a new client, or timed out",
              {connection_limit::evicted_idle, connection_limit::request_timeout,
               connection_limit::idle_timeout},
              true);
  by_listener("portask_accept_backoffs_total",
              "Times accepting paused because the process ran out of file descriptors",
              {connection_limit::accept_backoff}, false);
  by_listener("portask_output_pauses_total",
              "Times a connection stopped taking requests or pushes because its client was not "
              "reading its answers",
              {connection_limit::output_full}, false);
  by_listener("portask_tls_handshake_failures_total",
              "TLS handshakes that failed (not TLS, a refused certificate); the connection closed",
              {connection_limit::tls_handshake}, false);
  o.family("portask_request_budget_used_bytes",
           "Bytes of requests read and not yet answered, all native and Kafka connections together",
           k::gauge);
  o.sample({}, request_budget_used_.load(relaxed));
  o.family("portask_request_budget_limit_bytes",
           "The broker-wide budget of those bytes (max_inflight_bytes_per_broker; 0: unbounded)",
           k::gauge);
  o.sample({}, request_budget_limit_.load(relaxed));
  o.family("portask_request_budget_waits_total",
           "Times a connection stopped reading because the broker-wide request budget was spent",
           k::counter);
  o.sample({}, request_budget_waits_total());
  o.family("portask_requests_rejected_total", "Requests refused by a per-request limit",
           k::counter);
  for (std::size_t r = 0; r < request_limited_.size(); ++r)
    o.sample({{"limit", to_string(static_cast<request_limit>(r))}},
             request_limited_[r].load(relaxed));

  // Requests by protocol and kind; kinds never requested are left out.
  auto each_request = [&](auto write) {
    for (auto p : all)
      for (std::size_t kind = 0; kind < kinds; ++kind) {
        const auto& s = by_protocol_[idx(p)];
        if (s.requests[kind].load(relaxed) == 0) continue;
        write(prometheus_text::labels{{"protocol", to_string(p)},
                                      {"request", to_string(static_cast<request_kind>(kind))}},
              s, kind);
      }
  };
  o.family("portask_requests_total", "Requests handled", k::counter);
  each_request([&](const auto& l, const auto& s, std::size_t kind) {
    o.sample(l, s.requests[kind].load(relaxed));
  });
  o.family("portask_request_errors_total", "Requests answered with an error", k::counter);
  each_request([&](const auto& l, const auto& s, std::size_t kind) {
    o.sample(l, s.errors[kind].load(relaxed));
  });
  // Microsecond buckets from 16 us to 67 s.
  o.family("portask_request_duration_seconds", "Time from a request's arrival to its answer",
           k::histogram);
  each_request([&](const auto& l, const auto& s, std::size_t kind) {
    o.histogram(l, s.latency[kind], 1e-6, 4, 26);
  });
  o.family("portask_produce_batch_records", "Records per produced batch", k::histogram);
  for (auto p : all)
    o.histogram({{"protocol", to_string(p)}}, by_protocol_[idx(p)].batch_records, 1, 0, 20, true);
  o.family("portask_fetch_wait_seconds",
           "Time a fetch (Kafka Fetch, native Fetch, subscription poll) waited for data",
           k::histogram);
  o.histogram({}, fetch_wait_, 1e-6, 4, 26);
  o.family("portask_fetches_waiting", "Long-poll fetches parked in partitions, waiting for data",
           k::gauge);
  o.sample({}, fetches_waiting());
  // Kafka requests by API, for the APIs clients used.
  auto each_api = [&](auto write) {
    for (const auto& a : kafka_apis_)
      if (const char* name = a.name.load(relaxed); name && a.requests.load(relaxed) > 0)
        write(prometheus_text::labels{{"api", name}}, a);
  };
  o.family("portask_kafka_requests_total", "Kafka requests handled, by API", k::counter);
  each_api([&](const auto& l, const auto& a) { o.sample(l, a.requests.load(relaxed)); });
  o.family("portask_kafka_request_errors_total", "Kafka requests answered with an error, by API",
           k::counter);
  each_api([&](const auto& l, const auto& a) { o.sample(l, a.errors.load(relaxed)); });
  o.family("portask_kafka_request_duration_seconds",
           "Time from a Kafka request's arrival to its answer, by API", k::histogram);
  each_api([&](const auto& l, const auto& a) { o.histogram(l, a.latency, 1e-6, 4, 26); });
  o.family("portask_store_command_duration_seconds",
           "Store round trips (one per writer flush, whatever it holds)", k::histogram);
  o.histogram({}, storage_rtt_, 1e-6, 4, 26);
  o.family("portask_store_batches_per_command", "Batches stored per store round trip",
           k::histogram);
  o.histogram({}, storage_batches_, 1, 0, 16, true);
  o.family("portask_store_records_per_command", "Records stored per store round trip",
           k::histogram);
  o.histogram({}, storage_records_, 1, 0, 20, true);
  o.family("portask_store_failures_total", "Failed store round trips", k::counter);
  o.sample({}, storage_failures_.load(relaxed));
  o.family("portask_store_up", "Whether the last store round trip succeeded", k::gauge);
  o.sample({}, std::uint64_t{store_up() ? 1u : 0u});

  // The supervisor's actors by kind, every declared kind present (zeros included).
  auto each_kind = [&](auto write) {
    for (const auto& entry : supervised_)
      if (const char* label = entry.label.load(relaxed))
        write(prometheus_text::labels{{"kind", label}}, entry);
  };
  o.family("portask_actor_restarts_total",
           "Restarts of the broker's long-lived actors by the supervisor, by kind", k::counter);
  each_kind([&](const auto& l, const auto& s) { o.sample(l, s.restarts.load(relaxed)); });
  o.family("portask_actor_crash_loop",
           "Long-lived actors of a kind in a crash loop: exited again within 30 s of their "
           "restart, and not yet run 30 s since",
           k::gauge);
  each_kind([&](const auto& l, const auto& s) { o.sample(l, s.crash_loops.load(relaxed)); });
  o.family("portask_hook_events_dropped_total",
           "Hook events not delivered because their subscriber had 128 unanswered", k::counter);
  o.sample({}, hook_events_dropped_total());

  // Cluster membership and leases (only in a cluster: a single node has no node id).
  if (const auto node = cluster_node_id_.load(relaxed); node >= 0) {
    auto one = [&](const char* name, const char* help, prometheus_text::kind kind, std::uint64_t v) {
      o.family(name, help, kind);
      o.sample({}, v);
    };
    one("portask_cluster_node_id", "This node's id (Kafka broker id)", k::gauge,
        static_cast<std::uint64_t>(node));
    one("portask_cluster_live_nodes", "Live nodes of the cluster as this node saw them last",
        k::gauge, cluster_live_nodes_.load(relaxed));
    one("portask_cluster_owned_partitions", "Partitions whose lease this node holds", k::gauge,
        cluster_owned_.load(relaxed));
    one("portask_cluster_lease_renewals_total", "Partition leases renewed by this node",
        k::counter, cluster_renewed_.load(relaxed));
    one("portask_cluster_leases_acquired_total", "Partition leases this node took", k::counter,
        cluster_acquired_.load(relaxed));
    one("portask_cluster_failovers_total",
        "Partition leases this node took over from a holder that let them run out (it died, or was "
        "paused or cut off past its lease), not ones released to it",
        k::counter, cluster_takeovers_.load(relaxed));
    one("portask_cluster_leases_lost_total",
        "Partition leases this node held and lost (another node holds them, or they could not be "
        "renewed in time)",
        k::counter, cluster_lost_.load(relaxed));
    one("portask_cluster_failed_rounds_total", "Lease rounds that could not reach the store",
        k::counter, cluster_failed_rounds_.load(relaxed));
  }

  // The data lifecycle, as of the retention actor's last pass.
  const auto d = data();
  auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    o.family(name, help, k::gauge);
    o.sample({}, v);
  };
  o.family("portask_topic_stored_bytes", "Bytes of stored frames per topic", k::gauge);
  for (const auto& [topic, t] : d.topics) o.sample({{"topic", topic}}, t.stored_bytes);
  o.family("portask_topic_appended_messages_total",
           "Messages ever appended to a topic (its partitions' log end offsets)", k::counter);
  for (const auto& [topic, t] : d.topics) o.sample({{"topic", topic}}, t.appended_messages);
  o.family("portask_topic_appended_bytes_total", "Bytes of frames ever appended to a topic",
           k::counter);
  for (const auto& [topic, t] : d.topics) o.sample({{"topic", topic}}, t.appended_bytes);
  auto per_partition = [&](const char* name, const char* help, prometheus_text::kind kind,
                           auto get) {
    o.family(name, help, kind);
    for (const auto& p : d.partitions)
      o.sample({{"topic", p.topic}, {"partition", std::to_string(p.partition)}}, get(p));
  };
  per_partition("portask_partition_log_start_offset", "A partition's log start offset",
                k::gauge, [](const auto& p) { return p.log_start; });
  per_partition("portask_partition_log_end_offset",
                "A partition's log end offset (high watermark): messages ever appended",
                k::gauge, [](const auto& p) { return p.log_end; });
  per_partition("portask_partition_stored_bytes", "Bytes of frames a partition holds", k::gauge,
                [](const auto& p) { return p.stored_bytes; });
  per_partition("portask_partition_appended_bytes_total", "Bytes of frames ever appended",
                k::counter, [](const auto& p) { return p.appended_bytes; });
  o.family("portask_consumer_group_committed_offset",
           "A group's committed offset of a partition", k::gauge);
  for (const auto& l : d.lags)
    o.sample({{"group", l.group}, {"topic", l.topic}, {"partition", std::to_string(l.partition)}},
             l.committed);
  o.family("portask_consumer_group_lag",
           "Messages between a group's committed offset and the partition's end", k::gauge);
  for (const auto& l : d.lags)
    o.sample({{"group", l.group}, {"topic", l.topic}, {"partition", std::to_string(l.partition)}},
             l.lag);
  // Not "_lag_sum": a "_sum" suffix is a histogram's or a summary's (promtool refuses it on
  // a gauge), and the family keeps portask_consumer_group_lag's unit, messages.
  o.family("portask_consumer_group_total_lag",
           "Messages between a group's committed offsets and its partitions' ends, over all its "
           "committed partitions",
           k::gauge);
  for (const auto& [group, lag] : d.group_lag_sums) o.sample({{"group", group}}, lag);
  o.family("portask_metrics_series_omitted",
           "Entries left out of the series above by the cardinality guard: level topic counts "
           "topics and groups past metrics_max_topics, level partition the partitions and "
           "groups' committed partitions past metrics_max_partitions",
           k::gauge);
  o.sample({{"level", "topic"}}, d.omitted_topics);
  o.sample({{"level", "partition"}}, d.omitted_partitions);
  gauge("portask_memory_store_used_bytes", "Bytes of frames the memory store holds",
        d.store_used);
  gauge("portask_memory_store_capacity_bytes", "Bytes of frames the memory store may hold",
        d.store_capacity);
  gauge("portask_partition_tail_bytes", "Bytes the partitions' in-memory tails hold",
        d.tail_bytes);
  gauge("portask_partition_tail_budget_bytes", "Bytes the partitions' tails may hold together",
        d.tail_budget);
  gauge("portask_partitions_live", "Partition actors running (idle ones stop)",
        d.live_partitions);
  gauge("portask_partitions_warm",
        "Partitions appended to and used in the last 30 s, which share the tail budget",
        d.warm_partitions);
  o.family("portask_records_deleted_total",
           "Records removed below a log start by retention or DeleteRecords", k::counter);
  o.sample({}, records_deleted_total());
  o.family("portask_records_compacted_total",
           "Records removed by compaction (cleanup.policy=compact): older records of a key, "
           "tombstones past delete.retention.ms, records without a key",
           k::counter);
  o.sample({}, records_compacted_total());
  o.family("portask_partitions_passivated_total", "Idle partition actors stopped", k::counter);
  o.sample({}, passivated_total());

  // The process, with the names and units of the official clients' process collector.
  if (const auto ps = read_process_stats(); ps.valid) {
    o.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
             k::counter);
    o.sample({}, ps.cpu_seconds);
    o.family("process_resident_memory_bytes", "Resident memory size in bytes", k::gauge);
    o.sample({}, ps.resident_bytes);
    o.family("process_virtual_memory_bytes", "Virtual memory size in bytes", k::gauge);
    o.sample({}, ps.virtual_bytes);
    o.family("process_open_fds", "Number of open file descriptors", k::gauge);
    o.sample({}, ps.open_fds);
    o.family("process_max_fds", "Maximum number of open file descriptors", k::gauge);
    o.sample({}, ps.max_fds);
    o.family("process_start_time_seconds", "Start time of the process since the Unix epoch",
             k::gauge);
    o.sample({}, ps.start_time_seconds);
  }
  return std::move(o).str();
}

void metrics_registry::data_pass(data_usage usage) {
  std::lock_guard lock{data_mutex_};
  data_ = std::move(usage);
}

metrics_registry::data_usage metrics_registry::data() const {
  std::lock_guard lock{data_mutex_};
  return data_;
}

}  // namespace portask
