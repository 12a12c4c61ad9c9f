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
#include "actors/message_inspect.hpp"
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
using retire_atom = caf::atom_constant<caf::atom("retire")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;
using http_atom = caf::atom_constant<caf::atom("http")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using directory_atom = caf::atom_constant<caf::atom("directory")>;
using compact_atom = caf::atom_constant<caf::atom("compact")>;
using node_atom = caf::atom_constant<caf::atom("node")>;

/// The long-lived actors' current handles (defined below the interfaces, which carry it):
/// how actors find their collaborators. The supervisor owns it and sends every change to
/// whoever holds a copy.
struct actor_directory;
/// (directory, the new directory): a long-lived actor was (re)spawned; the receiver keeps
/// the copy and passes it on to the actors it spawned.
using directory_update = caf::reacts_to<directory_atom, actor_directory>;
/// Whoever holds a copy of the directory, as the supervisor sees it: a child whose interface
/// takes directory_update, or an actor spawned later that subscribed (follow_directory.hpp).
using directory_follower_actor = caf::typed_actor<directory_update>;

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
    // (partition, snapshot, fence): write the idempotence window's changes; in a cluster only
    // under the partition's lease (else not_leader; "" unfenced)
    caf::replies_to<snapshot_atom, topic_partition, storage::producer_snapshot, std::string>::with<bool>,
    // (count) -> the first of `count` producer ids reserved in the store
    caf::replies_to<producer_atom, std::int64_t>::with<std::int64_t>,
    // (id, the epoch its client names) -> the id's next epoch (log_store::bump_producer_epoch)
    caf::replies_to<producer_atom, std::int64_t, std::int16_t>::with<std::int16_t>,
    // a group's committed offsets: store some, read all, delete some (none: the group); the
    // store and the deletion are fenced by the group lease in a cluster (else "")
    caf::replies_to<commit_atom, std::string, std::vector<storage::group_offset>, std::string>::with<bool>,
    caf::replies_to<offset_atom, std::string>::with<std::vector<storage::group_offset>>,
    caf::replies_to<delete_atom, std::string, std::vector<topic_partition>, std::string>::with<bool>,
    // groups with committed offsets
    caf::replies_to<list_atom>::with<std::vector<std::string>>,
    // a group's metadata (protocol type, generation), kept beside its offsets: store it, only
    // while the group has offsets -> whether it was stored (fenced as a commit, else ""); one
    // group's with its offsets; every group with offsets, with its own
    caf::replies_to<commit_atom, std::string, storage::group_metadata, std::string>::with<bool>,
    caf::replies_to<describe_atom, std::string>::with<stored_group>,
    caf::replies_to<describe_atom>::with<std::vector<storage::group_listing>>,
    // (partition, offset, fence): advance the log start there, removing the batches below it;
    // in a cluster only under the partition's lease (else not_leader; "" unfenced)
    caf::replies_to<delete_atom, topic_partition, std::int64_t, std::string>::with<
        storage::partition_bounds>,
    // (partition, plan): carry out a compaction (log_store::compact) -> the bounds after
    caf::replies_to<compact_atom, topic_partition, storage::log_compaction>::with<
        storage::partition_bounds>,
    caf::replies_to<ping_atom>::with<bool>>;

/// Owns one topic-partition: assigns offsets, keeps the high watermark, a bounded tail of
/// recent batches, and parked long-poll fetches.
using partition_actor = caf::typed_actor<
    caf::replies_to<append_atom, framed_batch>::with<publish_result>,
    // a group of batches (a connection's burst), one reply each, in order: the same as
    // appending them one by one, with one message and one answer
    caf::replies_to<append_atom, std::vector<framed_batch>>::with<std::vector<publish_reply>>,
    caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>,
    caf::replies_to<bounds_atom>::with<storage::partition_bounds>,
    // the idempotent producers with a stored batch here (DescribeProducers)
    caf::replies_to<producer_atom>::with<std::vector<producer_summary>>,
    // from the registry, the broker stopping: write the producers' latest changes to the
    // store (a producer snapshot) -> true once stored (false: the store refused it)
    caf::replies_to<snapshot_atom>::with<bool>,
    // (offset; -1: the high watermark) advance the log start (DeleteRecords, retention),
    // the producers' state below it in the store's producer snapshot first -> the bounds
    // after; offset_out_of_range past the high watermark
    caf::replies_to<delete_atom, std::int64_t>::with<storage::partition_bounds>,
    // (plan) compact the log as planned (pipeline/compaction.hpp) -> the bounds after;
    // offset_conflict when the log changed since the plan
    caf::replies_to<compact_atom, storage::log_compaction>::with<storage::partition_bounds>,
    caf::reacts_to<recover_atom>, caf::reacts_to<expire_atom, std::uint64_t>,
    // (poll id) answer that parked long poll now, empty: nobody waits for it any more
    caf::reacts_to<cancel_atom, std::uint64_t>,
    // idle check (self-sent; see broker_config::partition_idle_ms)
    caf::reacts_to<tick_atom>,
    // from the registry, which it asked (idle) and which routes nothing to it any more:
    // stop; what reaches it from now on bounces, to be sent again to its successor
    caf::reacts_to<idle_atom>,
    // (why) from the registry: stop taking requests, answer everything waiting with `why`
    // (not_leader: the lease is gone; unknown_topic: the topic was deleted), and stop once
    // what is out at the store (a write, reads, deletes) is answered, or after 8 s
    caf::reacts_to<retire_atom, errc>, directory_update>;

/// Applies retention on a timer: finds, per partition, the batches past the topic's
/// retention and has the partition delete them. Detached (its own store connection).
using retention_actor = caf::typed_actor<caf::reacts_to<tick_atom>, directory_update>;

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
    // (topic, the config overrides it held when the asker read them, its whole new set) ->
    // the topic as stored: with the new set, or, when it no longer holds the overrides read
    // (another change came first), unchanged: compute the set again from its overrides
    // (pipeline/reconfigure_topic.hpp)
    caf::replies_to<configure_atom, std::string, storage::config_entries,
                    storage::config_entries>::with<storage::topic_info>,
    caf::replies_to<list_atom>::with<std::vector<storage::topic_info>>,
    caf::replies_to<describe_atom, std::string>::with<topic_description>,
    // the broker stops: every partition actor writes its producer snapshot -> true once all
    // have (false: some could not)
    caf::replies_to<snapshot_atom>::with<bool>,
    // (cluster) this node no longer owns these partitions: stop their actors
    caf::reacts_to<retire_atom, std::vector<topic_partition>>,
    // from a partition's actor: it is idle and would stop (answered by idle to it once
    // lookups of the partition wait for its successor; ignored when it is not the current one)
    caf::reacts_to<idle_atom, topic_partition>,
    // (cluster) topics changed in the store (another node): read them again
    caf::reacts_to<recover_atom>,
    // a long poll's cancel from a bridge that does not know the partition (restarted): to
    // the partition's actor if one runs (one that never had the poll ignores it), else dropped
    caf::reacts_to<cancel_atom, topic_partition, std::uint64_t>, directory_update>;

/// The topic registry's reads and writes of topic records, to the store in the order asked,
/// on a thread (and store connection) of their own, so that the registry answers lookups
/// while the store works (pipeline/topic_registry): (create) only if the name is free, else
/// topic_already_exists; (configure) the record `before` replaced by `after` (grown or
/// reconfigured): true, or false when another version of the topic is stored (read it
/// again), unknown_topic when the name no longer holds it; (delete) the record and the
/// topic's logs, unknown_topic when the name holds another topic now; (list) every record.
/// Being one actor, it answers in the order asked: a list asked after a write shows it, one
/// asked before does not.
using topic_store_actor =
    caf::typed_actor<caf::replies_to<create_atom, storage::topic_info>::with<bool>,
                     caf::replies_to<configure_atom, storage::topic_info, storage::topic_info>::with<bool>,
                     caf::replies_to<delete_atom, storage::topic_info>::with<bool>,
                     caf::replies_to<list_atom>::with<std::vector<storage::topic_info>>>;

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
    // delete the group (true; it must be empty), or these partitions' offsets (false: those of
    // topics a member subscribes to stay) -> the partitions that stayed
    caf::replies_to<delete_atom, std::vector<topic_partition>, bool>::with<
        std::vector<topic_partition>>,
    // (topic, when it was deleted: wall-clock ms) from the directory: the group's offsets of
    // it committed until then go -> true once they are gone
    caf::replies_to<delete_atom, std::string, std::int64_t>::with<bool>,
    // (now ms, empty since ms) from the directory: delete the offsets past retention, if the
    // group has no members
    caf::reacts_to<expire_atom, std::int64_t, std::int64_t>,
    // session and rebalance deadlines; idle check (both self-sent)
    caf::reacts_to<tick_atom>, caf::reacts_to<expire_atom>, directory_update>;

/// Finds (spawning on first use) the coordinator of a group; lists groups.
using group_directory_actor = caf::typed_actor<
    caf::replies_to<group_atom, std::string>::with<group_coordinator_actor>,
    caf::replies_to<list_atom>::with<std::vector<group_description>>,
    // (group, when it last had members in wall-clock ms, 0: never) from its coordinator:
    // forget me, the next lookup spawns my successor
    caf::reacts_to<retire_atom, std::string, std::int64_t>,
    // (now ms, groups with offsets committed longer ago than retention, groups with offsets
    // past their own expiry time) from retention: have their coordinators expire them
    caf::reacts_to<expire_atom, std::int64_t, std::vector<std::string>, std::vector<std::string>>,
    // (topic, when it was deleted: wall-clock ms) from the registry: every group's offsets of
    // it committed until then go -> true: the cleanup has started
    caf::replies_to<delete_atom, std::string, std::int64_t>::with<bool>,
    // (sweep) self-sent: a deleted topic's cleanup tries its failed groups again
    caf::reacts_to<tick_atom, std::uint64_t>,
    directory_update>;

/// The single entrance to the partitions, for every protocol: frames and publishes, fetches,
/// and the partition questions of admin requests (bounds, DeleteRecords, producers). Counts,
/// notifies hooks; a request that reached a partition which had stopped is sent again to its
/// successor. Never creates a topic except for a publish that asks for it.
using protocol_bridge_actor = caf::typed_actor<
    caf::replies_to<publish_atom, publish_batch>::with<publish_result>,
    // a connection's burst of pipelined publishes, one reply each, in order; the batches for
    // one partition reach it as one group
    caf::replies_to<publish_atom, std::vector<publish_batch>>::with<std::vector<publish_reply>>,
    caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>,
    // (partition, poll id): cancel a long poll (see fetch_request::poll_id)
    caf::reacts_to<cancel_atom, topic_partition, std::uint64_t>,
    caf::replies_to<bounds_atom, topic_partition>::with<storage::partition_bounds>,
    // (partition, offset; -1: the high watermark) advance its log start -> the bounds after
    caf::replies_to<delete_atom, topic_partition, std::int64_t>::with<storage::partition_bounds>,
    // (partition, plan) compact its log -> the bounds after
    caf::replies_to<compact_atom, topic_partition, storage::log_compaction>::with<
        storage::partition_bounds>,
    caf::replies_to<producer_atom, topic_partition>::with<std::vector<producer_summary>>,
    directory_update>;

/// A connection actor as its socket's session (connections/transport/tcp_session) sees it:
/// the request frames one read completed (in order), the peer closed (with a code: the
/// stream could not be framed), queued output taken by the socket.
using connection_actor =
    caf::typed_actor<caf::reacts_to<frame_atom, std::vector<protocol::buffer>>,
                     caf::reacts_to<closed_atom>,
                     caf::reacts_to<closed_atom, errc>, caf::reacts_to<drained_atom>,
                     directory_update>;
/// A Kafka client's connection (connections/kafka).
using kafka_connection_actor = connection_actor;
/// A native client's connection (connections/native); it also resumes a subscription's
/// pushes after a retriable error (subscribe, the subscription's id; self-sent).
using native_connection_actor =
    connection_actor::extend<caf::reacts_to<subscribe_atom, std::uint32_t>>;
/// A native client's membership in a consumer group, played by the broker
/// (connections/native/native_group_member): join again, leave, heartbeat tick (self-sent).
using native_group_member_actor = caf::typed_actor<caf::reacts_to<join_atom>,
                                                   caf::reacts_to<leave_atom>,
                                                   caf::reacts_to<tick_atom>, directory_update>;

/// One HTTP request while it is answered (connections/http): spawned with where its answer
/// goes and sent the request, it asks the registry, partitions and group coordinators,
/// answers once and quits, so no Asio thread waits on an actor.
using http_request_actor = caf::typed_actor<caf::reacts_to<http_atom, http_request>>;

/// Hook subscribers, one interface per kind of event: an actor that takes several kinds
/// subscribes its handle once per kind (a handle converts to each interface it covers).
using connect_subscriber_actor = caf::typed_actor<caf::reacts_to<connect_event>>;
using disconnect_subscriber_actor = caf::typed_actor<caf::reacts_to<disconnect_event>>;
using message_subscriber_actor = caf::typed_actor<caf::reacts_to<message_event>>;

/// Event fan-out: connect, disconnect and message events to the actors subscribed to each
/// kind (pipeline/hooks.hpp); the subscriber's interface says which kind it wants. A
/// subscription is answered (true: in place; false: a null handle), so a subscriber that
/// asks while the hooks actor is down between restarts gets an error instead of losing the
/// subscription silently, and can ask the current handle again. (tick: report the dropped
/// events held back; self-sent.)
using hooks_actor =
    caf::typed_actor<caf::replies_to<subscribe_atom, connect_subscriber_actor>::with<bool>,
                     caf::replies_to<subscribe_atom, disconnect_subscriber_actor>::with<bool>,
                     caf::replies_to<subscribe_atom, message_subscriber_actor>::with<bool>,
                     caf::reacts_to<connect_event>, caf::reacts_to<disconnect_event>,
                     caf::reacts_to<message_event>, caf::reacts_to<tick_atom>>;

/// Users' SCRAM credentials and the ACLs (security/security_actor): stores a change, then
/// publishes the new access-control snapshot; (recover) reads everything from the store again.
using security_actor = caf::typed_actor<
    caf::replies_to<create_atom, storage::user_credential>::with<bool>,
    // (user, mechanism) -> whether there was such a credential
    caf::replies_to<delete_atom, std::string, protocol::security::scram_mechanism>::with<bool>,
    caf::replies_to<create_atom, std::vector<protocol::security::acl_binding>>::with<bool>,
    // every binding any filter matches goes; -> the bindings removed
    caf::replies_to<delete_atom, std::vector<protocol::security::acl_filter>>::with<
        std::vector<protocol::security::acl_binding>>,
    caf::reacts_to<recover_atom>>;

/// A cluster node's membership and leases (cluster/cluster_actor): registers the node,
/// renews and takes partition leases on a timer (tick with the round's number, self-sent),
/// publishes the cluster view; (topic) topics were created or grown here, or the store
/// refused a partition's change under this node's lease (the view is behind): a round soon;
/// (group, id, true) a request found no group lease here: the group directory wants it (a
/// round soon when it is new; let go a lease time after it was taken if no coordinator starts),
/// (group, id, epoch) the directory started the group's coordinator under the lease of that
/// epoch: it is kept until (group, id, false), the directory let the group go: the lease is
/// released at the next round;
/// (leave) releases every lease and the registration at once, then stops (SIGTERM).
using cluster_actor =
    caf::typed_actor<caf::reacts_to<tick_atom, std::uint64_t>, caf::reacts_to<topic_atom>,
                     caf::reacts_to<group_atom, std::string, bool>,
                     caf::reacts_to<group_atom, std::string, std::int64_t>,
                     caf::replies_to<leave_atom>::with<bool>, directory_update>;

/// Spawns and restarts the long-lived actors above and owns the directory of their handles;
/// the store's health ping (tick), a child's delayed restart (respawn, the child's index).
/// The broker watches it: when it gives up (too many restarts) the node stops.
using supervisor_actor = caf::typed_actor<
    caf::reacts_to<tick_atom>, caf::reacts_to<respawn_atom, std::size_t>,
    // -> the directory now (an actor that lives for one request)
    caf::replies_to<directory_atom>::with<actor_directory>,
    // -> the directory now; every later change is sent to the follower until it ends
    caf::replies_to<subscribe_atom, directory_follower_actor>::with<actor_directory>,
    // (the cluster) this node's cluster actor, spawned after the supervisor
    caf::reacts_to<node_atom, cluster_actor>>;

/// Every interface above, in one list: the serialisation test checks each element of each,
/// and that this list names every interface this file defines. A new interface goes here.
using all_interfaces =
    caf::detail::type_list<storage_writer_actor, storage_reader_actor, partition_actor,
                           retention_actor, topic_registry_actor, topic_store_actor,
                           group_coordinator_actor,
                           group_directory_actor, protocol_bridge_actor, hooks_actor,
                           supervisor_actor, connection_actor, native_connection_actor,
                           native_group_member_actor, connect_subscriber_actor,
                           disconnect_subscriber_actor, message_subscriber_actor,
                           security_actor, cluster_actor, http_request_actor,
                           directory_follower_actor>;

/// The long-lived actors' handles as the supervisor last (re)spawned them. Each actor that
/// needs collaborators holds its own copy: given at spawn, replaced by directory_update.
/// There is no shared, global one.
struct actor_directory {
  std::vector<storage_writer_actor> writers;
  std::vector<storage_reader_actor> readers;
  std::vector<protocol_bridge_actor> bridges;
  topic_registry_actor registry;
  group_directory_actor groups;
  hooks_actor hooks;
  security_actor security;
  cluster_actor cluster;  ///< in a cluster only

  /// A partition's writer, reader and bridge: the same shard for as long as the counts
  /// stay (a partition's batches keep their order through one writer).
  storage_writer_actor writer_for(const topic_partition& tp) const;
  storage_reader_actor reader_for(const topic_partition& tp) const;
  protocol_bridge_actor bridge_for(const topic_partition& tp) const;
  /// Any reader, in turn (reads that belong to no partition).
  storage_reader_actor any_reader() const;

  friend bool operator==(const actor_directory& a, const actor_directory& b) {
    return a.writers == b.writers && a.readers == b.readers && a.bridges == b.bridges &&
           a.registry == b.registry && a.groups == b.groups && a.hooks == b.hooks &&
           a.security == b.security && a.cluster == b.cluster;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_directory& x) {
  return f(caf::meta::type_name("portask.actor_directory"), x.writers, x.readers, x.bridges,
           x.registry, x.groups, x.hooks, x.security, x.cluster);
}

// -- errors ----------------------------------------------------------------------------------

/// Registers Portask's error category with an actor system config (so CAF renders our
/// errors by name) and sets defaults that suit two cores.
void configure_actor_system(caf::actor_system_config& cfg);

/// Portask's errc as a caf::error (category "portask").
caf::error make_caf_error(errc e);
/// The same with what is known of its cause (a store's connect error), which rendering it
/// shows after the code ("portask:storage_unavailable: Connection refused"); none if empty.
caf::error make_caf_error(errc e, std::string detail);
/// Any caf::error as a Portask errc: ours keep their code; CAF's own (a dead or restarting
/// actor, a timeout) become retriable codes.
errc to_errc(const caf::error& e) noexcept;
/// The request never reached a running receiver (it had stopped, e.g. an idle partition):
/// it was not processed, so sending it again to a fresh handle is safe.
bool receiver_gone(const caf::error& e) noexcept;

}  // namespace portask

// Every type the interfaces above carry (and a session's frames and framing errors) is
// serialisable, with inspect() in message_inspect.hpp, and registered by name in
// configure_actor_system, so the cluster work can send them between nodes.
