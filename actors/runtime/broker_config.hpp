#pragma once
/// Everything a broker process can be configured with. Filled by the server executable
/// (defaults, then a YAML file, then PORTASK_* environment variables, then flags) and handed
/// read-only to the runtime.

#include <cstdint>
#include <string>
#include <vector>

namespace portask {

/// Whether a TLS listener asks its clients for a certificate (Kafka's ssl.client.auth).
enum class tls_client_auth { none, requested, required };

/// TLS on one listener (docs/security.md). Files are PEM and are read again on SIGHUP.
struct tls_config {
  bool enabled = false;
  std::string certificate_file;  ///< the listener's certificate, then its chain
  std::string key_file;          ///< its private key (unencrypted)
  /// Client certificates are checked against these CAs; a verified client certificate makes
  /// the connection's principal "User:" + its subject (RFC 2253), as Kafka's default does.
  std::string ca_file;
  tls_client_auth client_auth = tls_client_auth::none;
};

struct listener_config {
  std::string host = "127.0.0.1";
  /// 0: a free port the operating system picks (the broker reports the one it bound).
  std::uint16_t port = 0;
  /// The native listener is always on; the Kafka and HTTP ones can be switched off (the
  /// executable's "--kafka-port 0" / "--http-port 0").
  bool enabled = true;
  /// Clients must authenticate (SASL) before anything but the handshake is served: Kafka's
  /// SASL_PLAINTEXT, the native protocol's authenticate exchange (docs/security.md).
  bool sasl = false;
  tls_config tls = {};
};

/// A Kafka listener beyond the first (Kafka's `listeners` / `advertised.listeners`): its own
/// address, security protocol and TLS files, and the address Metadata names to the clients
/// that came in on it.
struct kafka_listener_config {
  std::string name;  ///< unique among the Kafka listeners ("INTERNAL", "EXTERNAL")
  listener_config listener;
  std::string advertised_host;  ///< empty: the listener's host
  std::uint16_t advertised_port = 0;  ///< 0: the port it is bound to
};

/// Authentication and authorization (docs/security.md).
struct security_config {
  /// What SASL listeners offer: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.
  std::vector<std::string> sasl_mechanisms{"SCRAM-SHA-512", "SCRAM-SHA-256"};
  /// Principals ("User:admin") that every ACL check allows.
  std::vector<std::string> super_users;
  /// Created at start with SCRAM-SHA-256 and -512 credentials when the store has none for
  /// it, with `admin_password` (from PORTASK_ADMIN_PASSWORD; never from a file or flag), and
  /// made a super user.
  std::string admin_user;
  std::string admin_password;
  /// ACLs are checked on every request. Off by default with no SASL listener, on with one;
  /// an unauthenticated client is then User:ANONYMOUS.
  bool authorization = false;
  /// A resource no ACL names is open to everyone (Kafka's allow.everyone.if.no.acl.found).
  bool allow_everyone_if_no_acl = false;
  /// An authenticated Kafka session must re-authenticate (KIP-368) within this long, or its
  /// connection is closed at its next request (Kafka's connections.max.reauth.ms; 0: never).
  std::uint32_t sasl_session_lifetime_ms = 0;
  /// Failed authentications one client address may have in a minute; past it, its further
  /// attempts fail at once, without a password check, until the minute is over.
  std::uint32_t max_failed_authentications_per_minute = 10;
  /// /health and /metrics answer anyone; false: like the other HTTP endpoints they need a
  /// super user's credentials (needs authorization on).
  bool http_open_probes = true;
};

/// Several nodes on one store (docs/cluster.md). Off (one node, Kafka broker id 0) unless a
/// node id is given; needs a RESP store, which every node of the cluster shares.
struct cluster_config {
  /// This node's id (Kafka's broker id), unique among live nodes; -1: not in a cluster.
  std::int32_t node_id = -1;
  /// A lease (a node's registration, a partition's or group's ownership) lives this long
  /// after its last renewal: how long a dead node's partitions wait for a new owner.
  std::uint32_t lease_ms = 3000;
  /// How often a node renews its leases and looks at the others' (well below lease_ms).
  std::uint32_t renew_ms = 1000;
  /// The host other nodes' clients are told to reach this node's native and HTTP listeners
  /// at (Kafka listeners advertise their own); empty: the listener's host.
  std::string advertised_host;
  bool enabled() const noexcept { return node_id >= 0; }
};

struct broker_config {
  listener_config native{"127.0.0.1", 7070};
  listener_config http{"127.0.0.1", 8080};
  listener_config kafka{"127.0.0.1", 9092};
  /// Host that Kafka Metadata names for the first Kafka listener (clients connect there, at
  /// its port); empty: the host it is bound to, as Kafka's advertised.listeners defaults to
  /// its listeners.
  std::string kafka_advertised_host;
  /// The first Kafka listener's name (Kafka's default: its security protocol's).
  std::string kafka_listener_name = "PLAINTEXT";
  /// More Kafka listeners; Metadata answers each client with the listener it came in on.
  std::vector<kafka_listener_config> kafka_listeners;

  /// "memory" for the embedded in-process store, or a RESP server URL
  /// ("redis://127.0.0.1:6379", Dragonfly or Redis).
  std::string store = "memory";
  /// Bound on every store round trip (connect, write, read): past it the call fails with a
  /// retriable error and its connection is fenced (see storage/redis_store.hpp).
  std::uint32_t store_timeout_ms = 5000;
  /// Storage writer and reader actors (1 to 64 each). Each is a thread with its own store
  /// connection; partitions are spread over them by hash, so one partition's writes keep
  /// their order on one writer. Measured: more than 2 does not raise throughput on two cores
  /// (docs/benchmarks.md), but a store far away or a machine with many cores can use more.
  std::uint32_t storage_writers = 2;
  std::uint32_t storage_readers = 2;

  std::uint32_t max_frame_bytes = 16u * 1024 * 1024;

  // -- limits: what one client may take of the broker (docs/operations.md, "Limits") ----------
  /// Connections per listener (native, Kafka, HTTP each). When full, the least recently active
  /// idle connection is evicted for a new client; with none idle the new client is refused.
  std::uint32_t max_connections = 1024;
  /// Connections per client address on one listener (0: only the listener's cap), evicting
  /// the address's own least recently active idle connection first, as above.
  std::uint32_t max_connections_per_address = 0;
  /// A frame (or HTTP request) must be complete this long after its first byte (0: no limit).
  std::uint32_t request_timeout_ms = 30000;
  /// A connection with nothing in flight and no traffic for this long is closed (Kafka's
  /// connections.max.idle.ms; 0: never). Native subscriptions and group memberships count
  /// as activity.
  std::uint32_t connections_max_idle_ms = 600000;
  /// Bytes of unanswered requests per connection before the broker stops reading from it.
  std::uint64_t max_inflight_bytes_per_connection = 64u * 1024 * 1024;
  /// Unanswered requests per connection before the broker stops reading from it.
  std::uint32_t max_inflight_requests_per_connection = 256;
  /// Bytes of unanswered requests on all native and Kafka connections together (Kafka's
  /// queued.max.request.bytes): once spent, a connection that holds some stops reading until
  /// answers give bytes back; one holding none may always take one request. -1 (or 0 in
  /// process): unbounded. The config loader refuses values below max_frame_bytes.
  std::int64_t max_inflight_bytes_per_broker = 512 * 1024 * 1024;
  /// Bytes of answers and pushes queued for one connection's socket: past it the connection
  /// takes no new request, fetches are cut to what fits, and subscriptions stop pushing,
  /// until the client reads.
  std::uint64_t max_queued_output_bytes_per_connection = 16u * 1024 * 1024;
  /// Total decompressed size of one Produce request (all its batches); past it the rest of
  /// the request is refused with MESSAGE_TOO_LARGE without inflating it.
  std::uint64_t max_decompressed_bytes_per_request = 64u * 1024 * 1024;
  /// Largest HTTP request (header and body, each).
  std::uint32_t http_max_request_bytes = 16 * 1024;
  /// Host names the console and the API answer besides IP literals, localhost and the
  /// listeners' and advertised hosts ("*": any); see actors/connections/http/host_check.hpp.
  std::vector<std::string> http_allowed_hosts;

  std::uint32_t default_partitions = 1;
  bool auto_create_topics = true;
  /// Topics one request may auto-create, and the broker may auto-create per minute; past
  /// either, an unknown topic is UNKNOWN_TOPIC_OR_PARTITION as with auto-creation off.
  std::uint32_t auto_create_topics_max_per_request = 100;
  std::uint32_t auto_create_topics_max_per_minute = 1000;
  /// How batches are encoded in storage: codec and compression names (see docs/protocol.md).
  std::string storage_codec = "binary";
  std::string storage_compression = "none";
  std::string log_level = "info";

  // Consumer groups (Kafka's group.* broker settings; shorter first delay than Kafka's 3 s).
  std::uint32_t group_initial_rebalance_delay_ms = 300;
  std::uint32_t group_min_session_timeout_ms = 1000;
  std::uint32_t group_max_session_timeout_ms = 1800000;
  /// Members a group takes at most (Kafka's group.max.size); a newcomer past it is refused
  /// with GROUP_MAX_SIZE_REACHED. Kafka's default is unbounded (2147483647); this one bounds
  /// what a group holds in memory (every member's metadata, and the leader's JoinGroup answer
  /// lists them all) while staying above any group that has work for its members (a member
  /// beyond its topics' partition count gets none).
  std::uint32_t group_max_size = 1000;
  /// Committed offsets of a group without members are deleted this long after the later of
  /// their commit and the group's last member leaving (Kafka's offsets.retention.minutes,
  /// 7 days). -1: kept for ever.
  std::int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;

  // -- data lifecycle (docs/operations.md, "Retention and memory") ---------------------------
  /// Topics' default retention (Kafka's log.retention.ms and log.retention.bytes, the latter
  /// per partition); a topic's retention.ms / .bytes override them. -1 (bytes: any negative): unlimited.
  std::int64_t log_retention_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t log_retention_bytes = -1;
  /// How often the retention actor looks for batches to delete.
  std::uint32_t log_retention_check_interval_ms = 30000;
  /// Bytes of frames the embedded memory store holds at most (0: half the machine's memory,
  /// or of the cgroup's limit); when full, produce gets a retriable KAFKA_STORAGE_ERROR
  /// (native: storage_full) until retention frees room. Memory store only.
  std::uint64_t memory_store_max_bytes = 0;
  /// Bytes all partitions' in-memory tails (recent batches served without a store read) may
  /// hold together; each warm partition (appended to, and written or read in the last 30 s)
  /// gets an equal share, at most 8 MiB.
  std::uint64_t partition_tail_budget_bytes = 256u * 1024 * 1024;
  /// A partition with no request, no parked fetch and no write for this long stops; the
  /// next request starts it again from the store (0: never).
  std::uint32_t partition_idle_ms = 300000;

  /// The cardinality guard of /metrics: at most this many topics get per-topic (and
  /// per-group) series, and this many partitions per-partition (and per-group-partition)
  /// series; the rest are counted in portask_metrics_series_omitted.
  std::uint32_t metrics_max_topics = 1000;
  std::uint32_t metrics_max_partitions = 10000;

  /// An idempotent producer that has not written to a partition for this long is forgotten
  /// there (Kafka's producer.id.expiration.ms, 1 day): its state is bounded, and a batch it
  /// sends later at a sequence other than 0 gets UNKNOWN_PRODUCER_ID.
  std::int64_t producer_id_expiration_ms = 86400000;

  security_config security;
  cluster_config cluster;
};

}  // namespace portask
