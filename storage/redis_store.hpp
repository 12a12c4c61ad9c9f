#pragma once
/// The Dragonfly store, spoken to over RESP with hiredis (tested against Debian's
/// redis-server; only commands Dragonfly supports are used). Layout (the {...} hash tags keep
/// a partition's keys on one cluster shard):
///
///   <prefix>:{<topic>:<partition>}:log   Stream; entry id 0-<base offset + 1> (Redis
///                                         reserves 0-0); fields
///                                         f = the Portask frame, n = record count,
///                                         t = max timestamp, c = running bytes
///                                         (through this batch), T = running max
///                                         timestamp; for an idempotent producer's
///                                         batch also p = producer id, e = epoch,
///                                         s = base sequence
///   <prefix>:{<topic>:<partition>}:log:compacting  Stream; the log a compaction builds
///                                         anew, step by step, before the last step
///                                         renames it over :log (redis_options)
///   <prefix>:{<topic>:<partition>}:start Hash; s = log start offset, and n, c, T:
///                                         next offset and running totals when the
///                                         start last moved (an emptied log keeps them);
///                                         k = the token of the compaction whose new log
///                                         :log:compacting is
///   <prefix>:{<topic>:<partition>}:producers  Hash; the producer snapshot: "@" -> the
///                                         offset it covers, "<producer id>" -> epoch and
///                                         the producer's last batches
///   <prefix>:producer_ids                String; how many producer ids were handed out, the
///                                         ids below it (INCRBY)
///   <prefix>:producer_epoch:<id>         String with a TTL (producer_epoch_ttl); the current
///                                         epoch of a producer resumed by id (native
///                                         InitProducer; log_store::bump_producer_epoch)
///   <prefix>:topics                      Hash; topic name -> partitions and configs
///   <prefix>:offsets:{<group>}           Hash; "<topic>:<partition>" -> offset and metadata
///   <prefix>:nodes                       Set; ids of registered cluster nodes (an id leaves with
///                                         its registration, or once a reader finds it expired)
///   <prefix>:node:<id>                   String with a TTL; "<token>\n<endpoints>" of a live
///                                         node (cluster/node_info.hpp)
///   <prefix>:lease:{<lease name>}        String with a TTL; "<node>:<epoch>:<token>" of the
///                                         lease's holder (log_store.hpp, lease_holder)
///   <prefix>:lease:{<lease name>}:epoch  String; the lease's last epoch (INCR)
///   <prefix>:lease:{<lease name>}:last   String; the value the lease was last taken with,
///                                         until its holder releases it or the topic is
///                                         deleted (also once the lease ran out: a lease
///                                         taken while it names another holder is a
///                                         failover, lease_holder::taken_over)
///
/// One instance owns one connection, connects lazily and reconnects on the next call after
/// a failure (the owning actor paces retries), or before a call that finds the connection
/// closed by the server since the last one (resp_connection::still_open). Every round trip
/// is bounded by the timeout as a whole, and every reply in size (resp_connection): a dead,
/// paused or trickling server yields an error (errc::storage_unavailable, errc::timeout),
/// never a hang, and a call that fails so drops its connection (a reply read in part leaves
/// the stream out of step).
///
/// A call that timed out or lost its connection after sending may still be executed by the
/// server later (a paused server reads its socket when it resumes). So the connection is
/// fenced: its client id goes on a per-server list, and before any instance of this process
/// sends its next command to that server it has the server close the old connection
/// (CLIENT KILL ID ... ADDR ...). Once that is answered the server will never run a command of the old
/// connection, so a read made after it sees every write the failed call will ever make.
///
/// The Lua scripts are called by their SHA-1 (EVALSHA); a call the server answers NOSCRIPT
/// (it never had the script, or lost it) is sent again with the script's body (EVAL, which
/// also caches it there; pipeline).

#include <chrono>
#include <functional>
#include <set>
#include <string_view>

#include "storage/log_store.hpp"
#include "storage/resp_connection.hpp"

namespace portask::storage {

struct redis_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int db = 0;
  std::string username;  ///< a Redis 6+ ACL user (AUTH user password); empty: the default user
  std::string password;
  std::string key_prefix = "portask";
  std::chrono::milliseconds timeout{5000};
  resp_tls_options tls;  ///< rediss://
  /// The most one reply may hold (resp_connection::open); past it the call fails and the
  /// connection is dropped. Not part of the URL: the default takes every reply a broker asks
  /// for (a read's pages are bounded in bytes server-side); tests make it small.
  std::size_t max_reply_bytes = resp_connection::default_max_reply_bytes;
  /// A compaction is carried out in steps of at most this many batches and (roughly) bytes
  /// of the new log, each one script: the server serves other clients between them (a
  /// script blocks it), and each step stays well within `timeout`. Not part of the URL.
  std::size_t compaction_step_entries = 512;
  std::uint64_t compaction_step_bytes = 2u << 20;
  /// Called after each step of a compaction but its last (with the steps done so far): lets a
  /// test change the log between two steps. Not part of the URL.
  std::function<void(std::size_t)> between_compaction_steps;
};

/// Where the steps of a compaction end (indexes into c.batches, the last one its size): each
/// step takes at least one batch, and at most max_entries or, past its first batch,
/// max_bytes of the new log.
std::vector<std::size_t> compaction_steps(const log_compaction& c, std::size_t max_entries,
                                          std::uint64_t max_bytes);

/// How long a producer's epoch record (log_store::bump_producer_epoch) outlives its last
/// bump: far longer than a partition keeps an idle producer's state (producer_id_expiration_ms,
/// a day by default), so that records of producers long gone do not pile up for ever.
inline constexpr std::chrono::hours producer_epoch_ttl{24 * 7};

/// A store URL as logs and answers may show it: user and password left out.
std::string url_without_credentials(std::string_view url);

/// Parses redis://[[user]:password@]host[:port][/db] (also dragonfly://; port 1-65535, db
/// 0 or more), and rediss:// for TLS, which may end in
/// ?tls_ca_file=F&tls_cert_file=F&tls_key_file=F&tls_server_name=N (any other parameter is an
/// error).
expected<redis_options> parse_redis_url(std::string_view url);

class redis_store final : public log_store {
 public:
  explicit redis_store(redis_options options);
  ~redis_store() override;
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  static store_factory factory(redis_options options);

  std::string_view kind() const noexcept override { return "redis"; }
  std::error_code ping() override;
  std::string failure_detail() const override { return failure_; }
  void append(std::span<const append_request> requests,
              std::vector<std::error_code>& results) override;
  expected<std::vector<stored_batch>> read(const topic_partition& tp, std::int64_t offset,
                                           std::size_t max_bytes) override;
  expected<partition_bounds> bounds(const topic_partition& tp) override;
  expected<std::int64_t> retention_point(const topic_partition& tp,
                                         const retention_limits& limits) override;
  expected<partition_bounds> delete_records(const topic_partition& tp, std::int64_t offset,
                                            const std::string& fence) override;
  expected<partition_bounds> compact(const topic_partition& tp, const log_compaction& c) override;
  std::error_code create_topic(const topic_info& topic) override;
  expected<topic_write> update_topic(const topic_info& before, const topic_info& after) override;
  expected<topic_write> delete_topic(const topic_info& topic) override;
  expected<std::vector<topic_info>> list_topics() override;
  std::error_code commit_offsets(const std::string& group, std::span<const group_offset> offsets,
                                 const std::string& fence) override;
  expected<std::vector<group_offset>> fetch_offsets(const std::string& group) override;
  std::error_code delete_offsets(const std::string& group,
                                 std::span<const topic_partition> partitions,
                                 const std::string& fence) override;
  expected<std::vector<std::string>> list_groups() override;
  expected<bool> commit_group_metadata(const std::string& group, const group_metadata& metadata,
                                       const std::string& fence) override;
  expected<group_metadata> fetch_group_metadata(const std::string& group) override;
  expected<std::vector<group_listing>> list_group_metadata() override;
  expected<producer_history> read_producer_history(const topic_partition& tp) override;
  std::error_code put_producer_snapshot(const topic_partition& tp,
                                        const producer_snapshot& snapshot,
                                        const std::string& fence) override;
  expected<std::int64_t> allocate_producer_ids(std::int64_t count) override;
  expected<std::int16_t> bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) override;
  expected<bool> register_node(const node_registration& r, std::chrono::milliseconds ttl) override;
  std::error_code deregister_node(const node_registration& r) override;
  expected<std::vector<node_registration>> live_nodes() override;
  expected<std::vector<lease_holder>> lease_round(const lease_holder& me,
                                                  std::chrono::milliseconds ttl,
                                                  std::span<const lease_claim> claims) override;
  std::error_code put_credential(const user_credential& c) override;
  expected<bool> delete_credential(const std::string& user,
                                   protocol::security::scram_mechanism m) override;
  expected<std::vector<user_credential>> list_credentials() override;
  std::error_code put_acls(std::span<const protocol::security::acl_binding> bindings) override;
  std::error_code delete_acls(std::span<const protocol::security::acl_binding> bindings) override;
  expected<std::vector<protocol::security::acl_binding>> list_acls() override;

  /// Key of a partition's stream (exposed for tests that inspect the store directly).
  std::string log_key(const topic_partition& tp) const;
  std::string offsets_key(const std::string& group) const;
  /// A group's metadata record (log_store::commit_group_metadata), beside its offsets.
  std::string group_metadata_key(const std::string& group) const;
  std::string credentials_key(protocol::security::scram_mechanism m) const;
  std::string producers_key(const topic_partition& tp) const;
  std::string start_key(const topic_partition& tp) const;
  /// Where a compaction builds the log anew before it takes the log's place (same hash tag).
  std::string compacting_key(const topic_partition& tp) const;
  std::string lease_key(const std::string& name) const;
  std::string node_key(std::int32_t node) const;
  std::string producer_epoch_key(std::int64_t producer_id) const;

  class command;
  class reply;

 private:
  std::error_code connect();
  /// log_store::compact's steps (redis_store.cpp), and the cleanup of a failed one.
  /// `token` tells the compaction's steps apart from another's of the partition.
  std::error_code run_compaction(const topic_partition& tp, const log_compaction& c,
                                 const partition_bounds& before, const std::string& token);
  void drop_compacting(const topic_partition& tp, const std::string& fence,
                       const std::string& token);

  /// The headers of up to `count` entries of the stream `key` (their frames stay on the
  /// server: only each one's size comes, and stored_batch::frame stays empty), from `from`
  /// towards `to` as XRANGE takes them, or XREVRANGE when `reverse`. `ended`: the range has
  /// no more. A page may stop short of `count` on the bytes of frames the server went over.
  expected<std::vector<stored_batch>> entry_headers(const std::string& key, bool reverse,
                                                    std::string_view from, std::string_view to,
                                                    std::size_t count, bool& ended);
  /// append() when any batch is fenced: one script checks the leases and appends.
  void append_fenced(std::span<const append_request> requests, std::vector<std::error_code>& results);
  void disconnect() noexcept;
  /// What a pipeline's commands do, which decides whether it may be sent again after NOSCRIPT.
  enum class pipeline_effect {
    may_write,   ///< sent again only when it is one command (which then did not run at all)
    reads_only,  ///< sent again whole: running a read twice changes nothing
  };
  /// round_trip, and when a script call is answered NOSCRIPT (the server does not have the
  /// script: never sent there, SCRIPT FLUSH, or a failover or proxy put the call on another
  /// server) those calls are made to send the script's body (EVAL, command::send_body) and
  /// the pipeline is sent once more if `effect` allows; otherwise the call fails with
  /// storage_unavailable, for the caller to retry.
  expected<std::vector<reply>> pipeline(std::span<command> commands,
                                        pipeline_effect effect = pipeline_effect::may_write);
  /// Connects if need be, fences, sends all commands in one write and reads all replies. A
  /// transport failure drops the connection and fails the whole pipeline (errc::timeout once
  /// something was sent: whether it ran is unknown).
  expected<std::vector<reply>> round_trip(std::span<const command> commands);

  redis_options options_;
  /// HGETALL of `key`: an array of field, value pairs (empty for a missing key).
  expected<reply> hash_fields(const std::string& key);
  /// Closes, on the server, connections of this process whose last call was ambiguous.
  std::error_code fence_stale_connections();

  std::unique_ptr<resp_connection> conn_;
  long long client_id_ = -1;  ///< the server's CLIENT ID of conn_; -1 when unknown
  std::string local_addr_;    ///< conn_'s local ip:port, as CLIENT LIST names it
  bool no_fence_ = false;     ///< set while connecting or fencing (no recursion)
  /// The scripts conn_ sent by their bodies (EVAL): one answered NOSCRIPT again was lost by
  /// the server since (pipeline warns, at most once a minute).
  std::vector<const void*> scripts_sent_;
  std::chrono::steady_clock::time_point noscript_warned_{};
  /// Why the last call failed, as the transport or the server said it (failure_detail).
  std::string failure_;
  /// The logs (log_key) whose last producer snapshot the server refused: a refusal of one
  /// already here is logged at debug only.
  std::set<std::string> snapshots_refused_;
  /// Logs that `count` groups' metadata records (`group` one of them) could not be read (a
  /// later format) and were read as none: a warning at most once a minute, else at debug.
  void note_unreadable_metadata(std::size_t count, const std::string& group);
  std::chrono::steady_clock::time_point unreadable_metadata_warned_{};
};

}  // namespace portask::storage
