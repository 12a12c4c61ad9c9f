#pragma once
/// The log-store interface: where Portask keeps partition logs (stored Portask frames), the
/// topic registry and committed offsets. Two implementations: `memory_store` (embedded,
/// in-process) and `redis_store` (Dragonfly or any RESP server, via hiredis).
///
/// Calls block. They are made from detached storage actors (writers, readers), never from a
/// CAF scheduler thread, except the memory store's writes: they wait on no I/O, only on the
/// store's mutex, which no call holds for long (frees and CRC checks happen outside it), so
/// its writers run on the scheduler. One instance is used by one thread at a time; a
/// store_factory makes one instance per actor (for Redis: one connection each).

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/message.hpp"
#include "protocol/expected.hpp"
#include "protocol/shared_bytes.hpp"
#include "protocol/security/acl.hpp"
#include "protocol/security/scram.hpp"

namespace portask::storage {

struct topic_partition {
  std::string topic;
  std::int32_t partition = 0;
  friend bool operator==(const topic_partition&, const topic_partition&) = default;
  friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

struct topic_partition_hash {
  std::size_t operator()(const topic_partition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31 + static_cast<std::size_t>(tp.partition);
  }
};

using config_entries = std::vector<std::pair<std::string, std::string>>;

/// A topic's identity, distinct from its name: a topic deleted and created again under the
/// same name gets a new one (Kafka's topic id, a version-4 UUID). All zero: none yet.
using topic_id = std::array<std::uint8_t, 16>;

/// A random version-4 UUID.
topic_id new_topic_id();
/// A stable id made from the name, for topics stored before topics had ids.
topic_id topic_id_from_name(std::string_view name);
/// The canonical 8-4-4-4-12 hex form (logs, CLI).
std::string to_string(const topic_id& id);

struct topic_info {
  std::string name;
  std::int32_t partitions = 1;
  config_entries configs;
  topic_id id{};
  friend bool operator==(const topic_info&, const topic_info&) = default;
};

/// What a change of a topic's record (log_store::update_topic, delete_topic) did.
enum class topic_write {
  done,     ///< stored, or deleted
  changed,  ///< another version of the topic is stored: nothing written
  gone,     ///< no topic of that id under the name: nothing written
};

/// The idempotent producer that wrote a batch. Stored with the batch, so Fetch returns it and
/// the store alone can tell which sequences of a producer a partition holds.
using batch_producer = protocol::producer_claim;

/// One batch to append: a whole Portask frame whose records get offsets
/// [base_offset, base_offset + record_count).
struct append_request {
  const topic_partition* tp = nullptr;
  std::int64_t base_offset = 0;
  std::uint32_t record_count = 0;
  std::int64_t max_timestamp = 0;
  /// Immutable and shared: an in-process store keeps a reference instead of a copy.
  protocol::shared_bytes frame;
  batch_producer producer = {};
  /// Running totals (see stored_batch): what retention searches by.
  std::uint64_t end_bytes = 0;
  std::int64_t end_timestamp = 0;
  /// In a cluster: the partition's lease as its writer holds it (see lease_value). The store
  /// appends only while the partition's lease still has this value, checked in the same
  /// atomic step as the append, and refuses otherwise (errc::not_leader): a node that lost
  /// its lease (paused, cut off) never appends again. Empty: not fenced (a single node).
  std::string_view fence = {};
};

/// A batch as read back. The frame is shared: tail caches and many fetch responses hold the
/// same bytes without copying.
struct stored_batch {
  std::int64_t base_offset = 0;
  std::uint32_t record_count = 0;
  std::int64_t max_timestamp = 0;
  protocol::shared_bytes frame;
  batch_producer producer = {};
  /// Bytes of frames the partition has stored up to and including this batch, counted from
  /// its first batch ever (deletion does not lower it), and the largest timestamp of this
  /// batch and every earlier one. Both never decrease along the log, so retention finds the
  /// first batch to keep by a binary search, without reading the log (log_store::retention_point).
  std::uint64_t end_bytes = 0;
  std::int64_t end_timestamp = 0;
  std::int64_t next_offset() const noexcept { return base_offset + record_count; }
  /// Running bytes before this batch.
  std::uint64_t start_bytes() const noexcept {
    return end_bytes >= frame.size() ? end_bytes - frame.size() : 0;
  }
  friend bool operator==(const stored_batch&, const stored_batch&) = default;
};

/// First offset still stored and the offset the next batch gets, with the running totals
/// at both ends (see stored_batch). The log start may lie inside a batch (DeleteRecords):
/// that batch stays stored, and readers skip its records below the start.
struct partition_bounds {
  std::int64_t log_start = 0;
  std::int64_t next_offset = 0;
  /// Running bytes before the first stored batch and after the last one: their difference
  /// is the partition's stored size.
  std::uint64_t start_bytes = 0;
  std::uint64_t end_bytes = 0;
  /// Largest timestamp stored so far (-1: none).
  std::int64_t end_timestamp = -1;
  std::uint64_t stored_bytes() const noexcept {
    return end_bytes > start_bytes ? end_bytes - start_bytes : 0;
  }
  friend bool operator==(const partition_bounds&, const partition_bounds&) = default;
};

/// What retention removes from one partition: every batch that is wholly older than
/// `older_than_ms` together with every batch before it, and the oldest batches for as long
/// as the batches after them still hold at least `keep_bytes` (Kafka's rule for segments,
/// applied to batches). -1 disables either.
struct retention_limits {
  std::int64_t older_than_ms = -1;
  std::int64_t keep_bytes = -1;
  bool any() const noexcept { return older_than_ms >= 0 || keep_bytes >= 0; }
  /// Whether `b` (and so every batch before it) goes, in a log whose running bytes end at
  /// `end_bytes`.
  bool removes(const stored_batch& b, std::uint64_t end_bytes) const noexcept {
    if (older_than_ms >= 0 && b.end_timestamp < older_than_ms) return true;
    return keep_bytes >= 0 && end_bytes - std::min(end_bytes, b.end_bytes) >=
                                  static_cast<std::uint64_t>(keep_bytes);
  }
};

/// One batch of a compacted range (log_store::compact), in offset order: a stored batch kept
/// as it is, or one written anew (what is left of a batch some of whose records went, one
/// batch per run of consecutive offsets). Each carries its running bytes counted again: the
/// range shrinks, and the bytes before it grow by what went, so the log's stored size
/// (partition_bounds::stored_bytes) stays exact and the totals still never decrease.
struct compacted_batch {
  stored_batch batch;
  bool rewritten = false;  ///< false: the stored batch at batch.base_offset, frame unchanged
  friend bool operator==(const compacted_batch&, const compacted_batch&) = default;
};

/// A compaction of one partition's log, planned from what the store held: every batch
/// whose base offset is below `end` (the first of them at `first_base`) gives way to
/// `batches`, which lie in [first_base, end). The log start stays where it was: a reader
/// between two batches left reads on from the next one, as Kafka's readers do.
struct log_compaction {
  std::int64_t first_base = 0;
  std::int64_t end = 0;
  /// The running bytes of the range's last batch as planned: with first_base, what tells
  /// the log planned from apart from any other (a topic deleted and made again).
  std::uint64_t end_bytes = 0;
  std::vector<compacted_batch> batches;
  /// In a cluster: the partition's lease as its leader holds it (append_request::fence).
  std::string fence;
  friend bool operator==(const log_compaction&, const log_compaction&) = default;
};

/// How much an in-process store holds and may hold (bytes of frames).
struct store_usage {
  std::uint64_t used = 0;
  std::uint64_t capacity = 0;
};

/// One stored batch of an idempotent producer, as the idempotence window remembers it.
struct producer_batch {
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  std::int32_t first_seq = -1;
  std::int32_t last_seq = -1;
  std::int64_t base_offset = 0;
  std::uint32_t record_count = 0;
  /// Wall-clock ms of the producer's last write as the snapshot saw it; -1 for a batch read
  /// from the log after the snapshot (the reader takes "now": it is recent by construction).
  std::int64_t last_use_ms = -1;
  friend bool operator==(const producer_batch&, const producer_batch&) = default;
};

/// The last sequence of a batch of `count` records starting at `first` (sequences wrap from
/// INT32_MAX to 0, as Kafka's do).
std::int32_t last_sequence(std::int32_t first, std::uint32_t count) noexcept;

/// A partition's idempotent-producer state as the store keeps it: a snapshot of every
/// producer's last batches that covers the log below `covers`, taken now and then so that a
/// rebuild reads only the log written after it (Kafka's producer snapshots, in the store).
struct producer_snapshot {
  std::int64_t covers = 0;
  /// Producers whose windows this snapshot (re)writes, grouped by producer, each one's
  /// batches in offset order.
  std::vector<producer_batch> batches;
  /// Producers to forget (expired).
  std::vector<std::int64_t> expired;
  friend bool operator==(const producer_snapshot&, const producer_snapshot&) = default;
};

/// What a partition rebuilds its idempotence window from: the snapshot's batches, then the
/// producer batches of the log at or after the snapshot's `covers` (at most the newest
/// `producer_history_scan_limit` entries: snapshots are taken far more often, so the limit
/// only bites on a log written before snapshots existed), in offset order.
inline constexpr std::size_t producer_history_scan_limit = 4096;

/// The highest epoch log_store::bump_producer_epoch hands out (Kafka's bound too: one below
/// INT16_MAX); past it the client asks for a new id.
inline constexpr std::int16_t last_producer_epoch = std::numeric_limits<std::int16_t>::max() - 1;

struct producer_history {
  std::int64_t covers = 0;
  std::vector<producer_batch> batches;
  friend bool operator==(const producer_history&, const producer_history&) = default;
};

struct committed_offset {
  std::int64_t offset = -1;
  std::string metadata;
  /// Kafka's committed leader epoch (OffsetCommit v6+), given back by OffsetFetch v5+;
  /// -1: none.
  std::int32_t leader_epoch = -1;
  /// When it was committed (wall-clock ms): the coordinator sets it. -1: unknown (stored
  /// before commit times were kept), which the offsets' expiry treats as "long ago".
  std::int64_t commit_time_ms = -1;
  /// When it expires whatever the broker's offsets_retention_ms (OffsetCommit v2-4's
  /// RetentionTimeMs added to the commit time); -1: by the broker's retention.
  std::int64_t expire_time_ms = -1;
  friend bool operator==(const committed_offset&, const committed_offset&) = default;
};

/// One partition's committed offset within a group.
struct group_offset {
  topic_partition tp;
  committed_offset offset;
  friend bool operator==(const group_offset&, const group_offset&) = default;
};

/// What a group keeps of its membership beside its committed offsets, as Kafka's group
/// metadata record does without the members: the protocol type its members joined with and
/// the generation it was at, written by its coordinator when a generation becomes stable and
/// when the group empties. A group with none stored (only ever committed to, or stored
/// before metadata was kept) reads as {"", 0}: no protocol type, as Kafka describes a group
/// that has only offsets.
struct group_metadata {
  std::string protocol_type;
  std::int32_t generation = 0;
  friend bool operator==(const group_metadata&, const group_metadata&) = default;
};

/// A group that has committed offsets, with its metadata (log_store::list_group_metadata).
struct group_listing {
  std::string group;
  group_metadata metadata;
  friend bool operator==(const group_listing&, const group_listing&) = default;
};

/// A lease on a resource that one node at a time may own (a partition, a group), kept in
/// the store with a time to live measured by the store's clock. Its value names the holder:
/// "<node id>:<epoch>:<token>"; the epoch grows by one each time the lease changes hands
/// (the fencing token, Kafka's leader epoch), the token tells two runs of one node id apart.
struct lease_holder {
  std::int32_t node = -1;
  std::int64_t epoch = 0;
  std::string token;
  /// Set by lease_round only, in the round that took the lease: its holder before (another
  /// node, or an earlier run of this node's id) let it run out (it died, or was paused or cut
  /// off past its lease) rather than release it: a failover. Not set for a lease taken the
  /// first time, after its holder released it, or after its topic was deleted.
  bool taken_over = false;
  bool held() const noexcept { return node >= 0; }
  friend bool operator==(const lease_holder&, const lease_holder&) = default;
};
std::string lease_value(const lease_holder& h);
/// Nothing held (node -1) for an empty or malformed value.
lease_holder parse_lease_value(std::string_view value);
/// The lease names of a partition and of a consumer group.
std::string partition_lease(const topic_partition& tp);
std::string group_lease(std::string_view group);

/// What a node wants done with one lease in a lease round (log_store::lease_round).
enum class lease_intent : char {
  want = 'w',  ///< take it if nobody holds it, renew it if I do
  drop = 'd',  ///< release it if I hold it
  look = 'l',  ///< only say who holds it
};
struct lease_claim {
  std::string name;
  lease_intent intent = lease_intent::look;
};

/// A live node as it registered itself: its id and what it advertises (cluster/node_info).
struct node_registration {
  std::int32_t node = -1;
  std::string token;
  std::string endpoints;
  friend bool operator==(const node_registration&, const node_registration&) = default;
};

/// One user's credential for one SCRAM mechanism (the store never holds a password).
struct user_credential {
  std::string user;
  protocol::security::scram_credential credential;
  friend bool operator==(const user_credential&, const user_credential&) = default;
};

class log_store {
 public:
  virtual ~log_store() = default;

  /// "memory" or "redis".
  virtual std::string_view kind() const noexcept = 0;
  /// Cheap liveness check (Redis: PING).
  virtual std::error_code ping() = 0;
  /// What the store knows of why its last call failed beyond the error code, for logs
  /// (Redis: the connect error, "Connection refused", or the server's refusal of AUTH);
  /// empty when it knows no more.
  virtual std::string failure_detail() const { return {}; }

  /// Appends many batches, of any partitions, in one round trip (Redis: one pipeline, one
  /// XADD per batch). `results[i]` is request i's outcome; a batch is durable in the store
  /// when its result is success, is not stored after storage_unavailable, and may or may not
  /// be stored after errc::timeout (the request went out and no answer came back). The store refuses a base offset at or below a
  /// partition's last stored one (errc::offset_conflict), which fences a second writer.
  /// The memory store also refuses one inside the last batch (below the next offset); the
  /// Redis store would have to read the last entry, frame and all, on every append to tell,
  /// and need not: a writer's base offsets are next offsets it was given or made (the end of
  /// the then last batch), and at every such offset but the current next offset a batch was
  /// stored since, so any other lies at or below the last stored base.
  virtual void append(std::span<const append_request> requests,
                      std::vector<std::error_code>& results) = 0;

  /// Batches of `tp` in offset order, starting with the one containing `offset` (or the
  /// first after it), until `max_bytes` of frames are collected (at least one batch).
  /// Every frame returned has its magic, version and CRC32 verified; a bad one is
  /// errc::corrupt_stored_data and is never returned. Only those are: a bad frame the read
  /// would not return (past `max_bytes`, or ending before `offset`) fails nothing.
  virtual expected<std::vector<stored_batch>> read(const topic_partition& tp, std::int64_t offset,
                                                   std::size_t max_bytes) = 0;

  /// One consistent view of the partition's ends. Reads no frame (batch headers and the log
  /// start record only): a bad frame keeps no partition from recovering, nor from retention.
  virtual expected<partition_bounds> bounds(const topic_partition& tp) = 0;

  /// The log start that `limits` leave (the base offset of the first batch to keep, or the
  /// next offset when every batch goes); the current log start when nothing goes. Reads
  /// batch headers only where the store allows (Redis: a binary search by offset).
  virtual expected<std::int64_t> retention_point(const topic_partition& tp,
                                                 const retention_limits& limits) = 0;
  /// Advances the log start to `offset` (never back; at most the next offset): removes every
  /// batch that ends at or below it, keeps the one containing it, and records the new start
  /// so that it survives a restart. Returns the bounds after. In a cluster `fence` is the
  /// partition's lease as its leader holds it (append_request::fence): the bounds the start
  /// record keeps are read, and the log trimmed, only while the lease still has that value,
  /// all in one atomic step, else errc::not_leader and nothing changes. So a node that lost
  /// the partition never trims its new owner's log, nor records a next offset from before the
  /// new owner's appends (which an emptied log would hand out again). Empty: unfenced (a
  /// single node).
  virtual expected<partition_bounds> delete_records(const topic_partition& tp, std::int64_t offset,
                                                    const std::string& fence) = 0;
  /// Carries out `c` in one atomic step, only while the log's first batch is still at
  /// c.first_base, the last batch below c.end still ends there with c.end_bytes, and every
  /// kept batch is still stored (else errc::offset_conflict: the log changed since it was
  /// planned; plan again), and with a fence, only while the partition's lease has that value
  /// (else errc::not_leader). Batches from c.end on stay as they are; there must be one
  /// (errc::invalid_request otherwise: a compaction never empties a log). The log start never
  /// moves back. Returns the bounds after.
  virtual expected<partition_bounds> compact(const topic_partition& tp, const log_compaction& c) = 0;
  /// Bytes held and allowed, for a store with a capacity of its own (the memory store);
  /// nothing for one that manages its own (Redis).
  virtual std::optional<store_usage> usage() { return std::nullopt; }

  /// Stores a new topic unless one of that name is stored already (then
  /// errc::topic_already_exists and nothing changes), in one atomic step: two nodes creating
  /// a name at once, or a creation whose write lands late (its registry failed meanwhile and
  /// the name was created again), never overwrite a topic of another id.
  virtual std::error_code create_topic(const topic_info& topic) = 0;
  /// Replaces a topic's record `before` by `after` (grown or reconfigured) in one atomic
  /// step, only while the record stored under the name is still `before`: `changed` when it
  /// is another version of that topic (another node changed it meanwhile: read it again and
  /// compute the change from that), `gone` when the name holds no topic of before's id
  /// (deleted, or deleted and created again). So a change computed from an old view never
  /// undoes another node's nor brings a deleted topic back.
  virtual expected<topic_write> update_topic(const topic_info& before, const topic_info& after) = 0;
  /// Removes the topic and the logs of its partitions in one atomic step, only while the
  /// record stored under the name is `topic` (so the logs removed are all of them):
  /// `changed` when another version of it is stored (grown by another node: read it again),
  /// `gone` when the name holds a topic of another id (deleted and created again). Nothing is
  /// removed then. A name that holds no topic has the logs of `topic` removed. The
  /// partitions' leases go with them (their holders can no longer write), as released ones:
  /// the first holder of a partition of a topic created again under the name is no failover
  /// (lease_holder::taken_over); their epochs keep growing.
  virtual expected<topic_write> delete_topic(const topic_info& topic) = 0;
  virtual expected<std::vector<topic_info>> list_topics() = 0;

  // -- consumer groups: committed offsets per group, the set of groups, each one's metadata --
  /// Stores every offset of `offsets` for `group` in one round trip (all or nothing). In a
  /// cluster `fence` is the group's lease as its coordinator holds it (lease_value of
  /// group_lease): the offsets are stored only while the lease still has that value, checked
  /// in the same atomic step, else errc::not_coordinator. Empty: unfenced (a single node).
  /// A commit to a group without offsets starts it without metadata, in the same step: none
  /// left behind by an earlier deletion comes back with it.
  virtual std::error_code commit_offsets(const std::string& group, std::span<const group_offset> offsets,
                                         const std::string& fence) = 0;
  /// Every committed offset of `group` (empty for an unknown group).
  virtual expected<std::vector<group_offset>> fetch_offsets(const std::string& group) = 0;
  /// Removes the offsets of `partitions`, or the whole group when `partitions` is empty; a
  /// group left without offsets leaves list_groups, and its metadata goes with them (see
  /// commit_group_metadata). `fence` as for commit_offsets: in a
  /// cluster nothing is removed unless the group's lease still has that value, checked in the
  /// same atomic step (else errc::not_coordinator), so a coordinator that lost its group to
  /// another node never deletes what the new one committed.
  virtual std::error_code delete_offsets(const std::string& group,
                                         std::span<const topic_partition> partitions,
                                         const std::string& fence) = 0;
  /// Groups that have committed offsets.
  virtual expected<std::vector<std::string>> list_groups() = 0;
  /// Stores `metadata` as the group's, in one atomic step, only while the group has committed
  /// offsets: true when stored; false, with any metadata of the group removed, when it has
  /// none (a group that never commits leaves nothing behind, and one whose last offset went
  /// keeps no metadata: it is gone, as Kafka's Empty group without offsets). `fence` as for
  /// commit_offsets (errc::not_coordinator, nothing changed, under another lease).
  virtual expected<bool> commit_group_metadata(const std::string& group, const group_metadata& metadata,
                                               const std::string& fence) = 0;
  /// The group's metadata ({"", 0} when none is stored).
  virtual expected<group_metadata> fetch_group_metadata(const std::string& group) = 0;
  /// list_groups with each group's metadata.
  virtual expected<std::vector<group_listing>> list_group_metadata() = 0;

  // -- idempotent producers ------------------------------------------------------------------
  /// The partition's producer snapshot plus the producer batches logged after it.
  virtual expected<producer_history> read_producer_history(const topic_partition& tp) = 0;
  /// Merges `snapshot` into the stored one: the producers it names are replaced, the expired
  /// ones removed, and `covers` set. A snapshot only ever names stored batches. `fence` as for
  /// delete_records: in a cluster nothing is written unless the partition's lease still has
  /// that value, checked in the same atomic step (else errc::not_leader), so a node that lost
  /// the partition never moves `covers` back under its new owner's window.
  virtual std::error_code put_producer_snapshot(const topic_partition& tp,
                                                const producer_snapshot& snapshot,
                                                const std::string& fence) = 0;
  /// Reserves `count` producer ids no other call (of any process on the same store) gets;
  /// returns the first.
  virtual expected<std::int64_t> allocate_producer_ids(std::int64_t count) = 0;
  /// Starts the next epoch of producer `producer_id`, whose client names `epoch` as its
  /// current one (the native InitProducer), in one atomic step, and returns it (epoch + 1).
  /// Refused, with nothing changed: an id no allocate_producer_ids call has handed out yet
  /// (errc::unknown_producer_id); an `epoch` other than the one the last bump of the id
  /// returned (errc::invalid_producer_epoch: an older incarnation, or a second client
  /// resuming the same pair, which so never share an epoch); an `epoch` at or past
  /// last_producer_epoch (errc::invalid_producer_epoch: the id's epochs are used up); a
  /// negative id or epoch (errc::invalid_request). An id never bumped (or whose record
  /// expired: redis_store keeps it for producer_epoch_ttl) takes `epoch` as its current one,
  /// so a new id's epoch 0 costs no write.
  virtual expected<std::int16_t> bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) = 0;

  // -- cluster: membership and leases, timed by the store's clock ---------------------------
  /// Registers (or renews) node `r.node` for `ttl`. False, and nothing changed, when the id is
  /// held by a live registration with another token (a second node with a live node's id).
  virtual expected<bool> register_node(const node_registration& r, std::chrono::milliseconds ttl) = 0;
  /// Removes the registration if it is still `r`'s (a node stopping on purpose).
  virtual std::error_code deregister_node(const node_registration& r) = 0;
  /// Every node whose registration has not expired, by id.
  virtual expected<std::vector<node_registration>> live_nodes() = 0;
  /// One atomic step over many leases for node `me`: each claim's intent is carried out
  /// (a wanted lease nobody holds is taken with the next epoch; one `me` holds is renewed for
  /// `ttl`; a dropped one `me` holds is released) and the holder after is returned, one per
  /// claim (node -1: nobody), `taken_over` set for one taken from a holder that let it run
  /// out: the store keeps a lease's last holder until that holder releases it (or its topic
  /// is deleted), also once the lease has run out.
  virtual expected<std::vector<lease_holder>> lease_round(const lease_holder& me,
                                                          std::chrono::milliseconds ttl,
                                                          std::span<const lease_claim> claims) = 0;

  // -- security: SCRAM credentials and ACL bindings (docs/security.md) ----------------------
  /// Creates or replaces `user`'s credential for the credential's mechanism.
  virtual std::error_code put_credential(const user_credential& c) = 0;
  /// Removes `user`'s credential for `m`; false when there was none.
  virtual expected<bool> delete_credential(const std::string& user,
                                           protocol::security::scram_mechanism m) = 0;
  virtual expected<std::vector<user_credential>> list_credentials() = 0;
  /// Adds bindings (one already stored is kept once) / removes them, each in one round trip.
  virtual std::error_code put_acls(std::span<const protocol::security::acl_binding> bindings) = 0;
  virtual std::error_code delete_acls(std::span<const protocol::security::acl_binding> bindings) = 0;
  virtual expected<std::vector<protocol::security::acl_binding>> list_acls() = 0;
};

/// How a credential and an ACL binding are kept as bytes (Redis values and hash fields).
std::string encode_credential(const protocol::security::scram_credential& c);
std::optional<protocol::security::scram_credential> decode_credential(
    protocol::security::scram_mechanism m, std::string_view bytes);
std::string encode_acl(const protocol::security::acl_binding& b);
std::optional<protocol::security::acl_binding> decode_acl(std::string_view bytes);

/// Makes store instances that all see the same data (one per storage actor).
using store_factory = std::function<expected<std::unique_ptr<log_store>>()>;

/// Checks a frame read back from a store: whole, magic, version and CRC32.
std::error_code verify_stored_frame(protocol::byte_view frame) noexcept;

}  // namespace portask::storage
