#include "actors/metrics.hpp"

#include <bit>
#include <sstream>

namespace portask {
namespace {
constexpr auto relaxed = std::memory_order_relaxed;
std::size_t idx(protocol_kind p) { return static_cast<std::size_t>(p); }
std::size_t idx(request_kind k) { return static_cast<std::size_t>(k); }
// A label value as the exposition format wants it: backslash, quote and newline escaped.
// (Topic names allow none of them today; escaping keeps the output valid if that changes.)
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
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
  std::ostringstream o;
  const protocol_kind all[] = {protocol_kind::portask, protocol_kind::kafka};
  auto counter = [&](const char* name, const char* help, auto get) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n";
    for (auto p : all) o << name << "{protocol=\"" << to_string(p) << "\"} " << get(p) << "\n";
  };
  counter("portask_messages_in_total", "Messages accepted for storage",
          [&](auto p) { return by_protocol_[idx(p)].messages_in.load(relaxed); });
  counter("portask_bytes_in_total", "Bytes of messages accepted (client wire size)",
          [&](auto p) { return by_protocol_[idx(p)].bytes_in.load(relaxed); });
  counter("portask_messages_out_total", "Messages served to consumers",
          [&](auto p) { return by_protocol_[idx(p)].messages_out.load(relaxed); });
  counter("portask_bytes_out_total", "Bytes of stored frames served to consumers",
          [&](auto p) { return by_protocol_[idx(p)].bytes_out.load(relaxed); });
  counter("portask_connections_total", "Connections accepted",
          [&](auto p) { return by_protocol_[idx(p)].connections_total.load(relaxed); });
  o << "# HELP portask_connections Open connections\n# TYPE portask_connections gauge\n";
  for (auto p : all)
    o << "portask_connections{protocol=\"" << to_string(p) << "\"} "
      << by_protocol_[idx(p)].connections_open.load(relaxed) << "\n";

  // What the limits did (every series present, zeros included, so dashboards can rely on it).
  auto by_listener = [&](const char* name, const char* help, const char* type,
                         std::initializer_list<connection_limit> reasons, bool labelled) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    for (std::size_t l = 0; l < listeners; ++l)
      for (auto r : reasons) {
        o << name << "{listener=\"" << to_string(static_cast<listener_kind>(l)) << "\"";
        if (labelled) o << ",reason=\"" << to_string(r) << "\"";
        o << "} " << connection_limited_total(static_cast<listener_kind>(l), r) << "\n";
      }
  };
  by_listener("portask_connections_refused_total",
              "Connections refused by a connection cap (no idle connection to evict)", "counter",
              {connection_limit::listener_full, connection_limit::address_full}, true);
  by_listener("portask_connections_closed_by_limit_total",
              "Connections the broker closed: evicted for a new client, or timed out", "counter",
              {connection_limit::evicted_idle, connection_limit::request_timeout,
               connection_limit::idle_timeout},
              true);
  by_listener("portask_accept_backoffs_total",
              "Times accepting paused because the process ran out of file descriptors",
              "counter", {connection_limit::accept_backoff}, false);
  by_listener("portask_output_pauses_total",
              "Times a connection stopped taking requests or pushes because its client was not "
              "reading its answers",
              "counter", {connection_limit::output_full}, false);
  o << "# HELP portask_requests_rejected_total Requests refused by a per-request limit\n"
       "# TYPE portask_requests_rejected_total counter\n";
  for (std::size_t r = 0; r < request_limited_.size(); ++r)
    o << "portask_requests_rejected_total{limit=\"" << to_string(static_cast<request_limit>(r))
      << "\"} " << request_limited_[r].load(relaxed) << "\n";

  o << "# HELP portask_requests_total Requests handled\n# TYPE portask_requests_total counter\n";
  o << "# HELP portask_request_errors_total Requests answered with an error\n"
       "# TYPE portask_request_errors_total counter\n";
  o << "# HELP portask_request_latency_seconds Request latency (bucket upper bounds)\n"
       "# TYPE portask_request_latency_seconds summary\n";
  for (auto p : all) {
    for (std::size_t k = 0; k < kinds; ++k) {
      const auto& s = by_protocol_[idx(p)];
      const auto n = s.requests[k].load(relaxed);
      if (n == 0) continue;
      const std::string labels = std::string("protocol=\"") + to_string(p) + "\",request=\"" +
                                 to_string(static_cast<request_kind>(k)) + "\"";
      o << "portask_requests_total{" << labels << "} " << n << "\n";
      o << "portask_request_errors_total{" << labels << "} " << s.errors[k].load(relaxed) << "\n";
      const auto& h = s.latency[k];
      o << "portask_request_latency_seconds{" << labels << ",quantile=\"0.5\"} "
        << static_cast<double>(h.quantile(0.5)) / 1e6 << "\n";
      o << "portask_request_latency_seconds{" << labels << ",quantile=\"0.99\"} "
        << static_cast<double>(h.quantile(0.99)) / 1e6 << "\n";
      o << "portask_request_latency_seconds_sum{" << labels << "} "
        << static_cast<double>(h.sum()) / 1e6 << "\n";
      o << "portask_request_latency_seconds_count{" << labels << "} " << h.count() << "\n";
    }
  }
  o << "# HELP portask_storage_round_trip_seconds Store round trips (one per writer flush)\n"
       "# TYPE portask_storage_round_trip_seconds summary\n"
    << "portask_storage_round_trip_seconds{quantile=\"0.5\"} "
    << static_cast<double>(storage_rtt_.quantile(0.5)) / 1e6 << "\n"
    << "portask_storage_round_trip_seconds{quantile=\"0.99\"} "
    << static_cast<double>(storage_rtt_.quantile(0.99)) / 1e6 << "\n"
    << "portask_storage_round_trip_seconds_sum " << static_cast<double>(storage_rtt_.sum()) / 1e6
    << "\n"
    << "portask_storage_round_trip_seconds_count " << storage_rtt_.count() << "\n";
  o << "# HELP portask_storage_batches_per_round_trip Batches stored per round trip\n"
       "# TYPE portask_storage_batches_per_round_trip summary\n"
    << "portask_storage_batches_per_round_trip_sum " << storage_batches_.sum() << "\n"
    << "portask_storage_batches_per_round_trip_count " << storage_batches_.count() << "\n";
  o << "# HELP portask_storage_records_per_round_trip Records stored per round trip\n"
       "# TYPE portask_storage_records_per_round_trip summary\n"
    << "portask_storage_records_per_round_trip_sum " << storage_records_.sum() << "\n"
    << "portask_storage_records_per_round_trip_count " << storage_records_.count() << "\n";
  o << "# HELP portask_storage_failures_total Failed store round trips\n"
       "# TYPE portask_storage_failures_total counter\n"
    << "portask_storage_failures_total " << storage_failures_.load(relaxed) << "\n";
  o << "# HELP portask_store_up Whether the last store round trip succeeded\n"
       "# TYPE portask_store_up gauge\n"
    << "portask_store_up " << (store_up() ? 1 : 0) << "\n";

  // The data lifecycle, as of the retention actor's last pass.
  const auto d = data();
  auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
      << name << " " << v << "\n";
  };
  o << "# HELP portask_topic_stored_bytes Bytes of stored frames per topic (as of the last "
       "retention pass)\n# TYPE portask_topic_stored_bytes gauge\n";
  for (const auto& [topic, bytes] : d.topic_bytes)
    o << "portask_topic_stored_bytes{topic=\"" << escape_label(topic) << "\"} " << bytes << "\n";
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
  o << "# HELP portask_records_deleted_total Records removed below a log start by retention or "
       "DeleteRecords\n# TYPE portask_records_deleted_total counter\n"
    << "portask_records_deleted_total " << records_deleted_total() << "\n";
  o << "# HELP portask_partitions_passivated_total Idle partition actors stopped\n"
       "# TYPE portask_partitions_passivated_total counter\n"
    << "portask_partitions_passivated_total " << passivated_total() << "\n";
  return o.str();
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
