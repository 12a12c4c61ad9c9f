#pragma once
/// Every actor interface of the Portask runtime, on one screen. An actor's contract is its
/// type: a behavior that misses a handler does not compile.
///
///  connection --publish/fetch--> protocol_bridge (sharded by partition)
///  protocol_bridge --append/fetch--> partition --append_set--> storage_writer --> store
///  partition --read/bounds--> storage_reader (pool) --> store
///  topic_registry: topics and partition actors; hooks: event fan-out.
///  retention --delete--> partition --delete--> storage_reader --> store
///  group_directory --> group_coordinator (one per group) --commit/offset--> storage_reader

#include <caf/all.hpp>

#include "actors/groups/group_messages.hpp"
#include "actors/messages.hpp"

namespace portask {

// -- atoms (CAF 0.17: at most 10 characters) -------------------------------------------------
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using bounds_atom = caf::atom_constant<caf::atom("bounds")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using partition_atom = caf::atom_constant<caf::atom("partition")>;
using topic_atom = caf::atom_constant<caf::atom("topic")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using describe_atom = caf::atom_constant<caf::atom("describe")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using offset_atom = caf::atom_constant<caf::atom("offset")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using drained_atom = caf::atom_constant<caf::atom("drained")>;
using grow_atom = caf::atom_constant<caf::atom("grow")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using producer_atom = caf::atom_constant<caf::atom("producer")>;
using configure_atom = caf::atom_constant<caf::atom("configure")>;
using retain_atom = caf::atom_constant<caf::atom("retain")>;

// -- actor interfaces ------------------------------------------------------------------------

/// Stores batches: group-commits every append_set that arrived while the previous round trip
/// was in flight into one pipelined round trip. Detached (blocking I/O).
using storage_writer_actor =
    caf::typed_actor<caf::replies_to<append_atom, append_set>::with<append_outcome>,
                     caf::reacts_to<flush_atom>>;

/// Reads from the store on behalf of partitions and the registry. Detached.
using storage_reader_actor = caf::typed_actor<
    caf::replies_to<read_atom, topic_partition, std::int64_t, std::uint32_t>::with<
        std::vector<storage::stored_batch>>,
    caf::replies_to<bounds_atom, topic_partition>::with<storage::partition_bounds>,
    // bounds and idempotent-producer history, read after any fence (see redis_store)
    caf::replies_to<recover_atom, topic_partition>::with<partition_recovery>,
    caf::replies_to<snapshot_atom, topic_partition, storage::producer_snapshot>::with<bool>,
    // (count) -> the first of `count` producer ids reserved in the store
    caf::replies_to<producer_atom, std::int64_t>::with<std::int64_t>,
    // a group's committed offsets: store some, read all, delete some (none: the group)
    caf::replies_to<commit_atom, std::string, std::vector<storage::group_offset>>::with<bool>,
    caf::replies_to<offset_atom, std::string>::with<std::vector<storage::group_offset>>,
    caf::replies_to<delete_atom, std::string, std::vector<topic_partition>>::with<bool>,
    // groups with committed offsets
    caf::replies_to<list_atom>::with<std::vector<std::string>>,
    // (partition, offset): advance the log start there, removing the batches below it
    caf::replies_to<delete_atom, topic_partition, std::int64_t>::with<storage::partition_bounds>,
    caf::replies_to<ping_atom>::with<bool>>;

/// Owns one topic-partition: assigns offsets, keeps the high watermark, a bounded tail of
/// recent batches, and parked long-poll fetches.
using partition_actor = caf::typed_actor<
    caf::replies_to<append_atom, framed_batch>::with<publish_result>,
    caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>,
    caf::replies_to<bounds_atom>::with<storage::partition_bounds>,
    // the idempotent producers with a stored batch here (DescribeProducers)
    caf::replies_to<producer_atom>::with<std::vector<producer_summary>>,
    // (offset; -1: the high watermark) advance the log start (DeleteRecords, retention) ->
    // the bounds after; offset_out_of_range past the high watermark
    caf::replies_to<delete_atom, std::int64_t>::with<storage::partition_bounds>,
    caf::reacts_to<recover_atom>, caf::reacts_to<expire_atom, std::uint64_t>,
    // idle check (self-sent; see broker_config::partition_idle_ms)
    caf::reacts_to<tick_atom>>;

/// Applies retention on a timer: finds, per partition, the batches past the topic's
/// retention and has the partition delete them. Detached (its own store connection).
using retention_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

/// Topics and their partition actors.
using topic_registry_actor = caf::typed_actor<
    // (topic, partition, auto_create) -> the partition's actor
    caf::replies_to<partition_atom, topic_partition, bool>::with<partition_actor>,
    // (topic, auto_create) -> the topic (name, partition count, configs, id)
    caf::replies_to<topic_atom, std::string, bool>::with<storage::topic_info>,
    // (topic id) -> the topic; unknown_topic when no topic has this id
    caf::replies_to<topic_atom, storage::topic_id>::with<storage::topic_info>,
    // -> the created topic, with its new id
    caf::replies_to<create_atom, storage::topic_info>::with<storage::topic_info>,
    // (topic, new partition count): adds partitions, never removes any
    caf::replies_to<grow_atom, std::string, std::int32_t>::with<bool>,
    caf::replies_to<delete_atom, std::string>::with<bool>,
    // (topic, its whole new set of config overrides) -> the topic, stored
    caf::replies_to<configure_atom, std::string, storage::config_entries>::with<storage::topic_info>,
    caf::replies_to<list_atom>::with<std::vector<storage::topic_info>>,
    caf::replies_to<describe_atom, std::string>::with<topic_description>>;

/// One consumer group: membership (joins, syncs, heartbeats, leaves) and its committed
/// offsets, for Kafka and native members alike. Errors come back as caf::error (errc).
using group_coordinator_actor = caf::typed_actor<
    caf::replies_to<join_atom, join_group_request>::with<join_group_result>,
    caf::replies_to<sync_atom, sync_group_request>::with<sync_group_result>,
    caf::replies_to<heartbeat_atom, member_ref>::with<bool>,
    caf::replies_to<leave_atom, std::vector<member_ref>>::with<std::vector<std::int32_t>>,
    caf::replies_to<commit_atom, commit_offsets_request>::with<bool>,
    // the offsets of these partitions (none: every committed one); -1 where none is stored
    caf::replies_to<offset_atom, std::vector<topic_partition>>::with<
        std::vector<storage::group_offset>>,
    caf::replies_to<describe_atom>::with<group_description>,
    // delete the group (it must be empty), or just these partitions' offsets
    caf::replies_to<delete_atom, std::vector<topic_partition>, bool>::with<bool>,
    // session and rebalance deadlines; idle check (both self-sent)
    caf::reacts_to<tick_atom>, caf::reacts_to<expire_atom>>;

/// Finds (spawning on first use) the coordinator of a group; lists groups.
using group_directory_actor = caf::typed_actor<
    caf::replies_to<group_atom, std::string>::with<group_coordinator_actor>,
    caf::replies_to<list_atom>::with<std::vector<group_description>>>;

/// The single entrance for every protocol's traffic. Frames, counts, notifies hooks,
/// forwards to partitions.
using protocol_bridge_actor =
    caf::typed_actor<caf::replies_to<publish_atom, publish_batch>::with<publish_result>,
                     caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>>;

// -- errors ----------------------------------------------------------------------------------

/// Registers Portask's error category with an actor system config (so CAF renders our
/// errors by name) and sets defaults that suit two cores.
void configure_actor_system(caf::actor_system_config& cfg);

/// Portask's errc as a caf::error (category "portask").
caf::error make_caf_error(errc e);
/// Any caf::error as a Portask errc: ours keep their code; CAF's own (a dead or restarting
/// actor, a timeout) become retriable codes.
errc to_errc(const caf::error& e) noexcept;
/// The request never reached a running receiver (it had stopped, e.g. an idle partition):
/// it was not processed, so sending it again to a fresh handle is safe.
bool receiver_gone(const caf::error& e) noexcept;

}  // namespace portask

// Local-only message types: the runtime is single-node today. Multi-node deployment over the
// middleman will replace these with inspect() overloads.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::publish_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::publish_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::framed_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::append_set)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::append_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::fetch_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::fetch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::topic_description)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::topic_partition)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::topic_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::topic_id)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::config_entries)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::partition_bounds)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::producer_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::partition_recovery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::storage::committed_offset)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::storage::stored_batch>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::storage::topic_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::storage::group_offset>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::topic_partition>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::producer_summary>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::join_group_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::join_group_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::sync_group_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::sync_group_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::member_ref)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::member_ref>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::commit_offsets_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::group_description)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<portask::group_description>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::connect_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::disconnect_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(portask::message_event)
