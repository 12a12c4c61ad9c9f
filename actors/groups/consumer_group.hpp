#pragma once
/// One consumer group's membership, as Kafka's classic group protocol defines it, without
/// CAF and with time passed in: members, generations, the rebalance state machine
///
///   Empty -> PreparingRebalance -> CompletingRebalance -> Stable -> PreparingRebalance ...
///
/// static members (group.instance.id), KIP-394 member ids, session and rebalance timeouts,
/// and the fencing rules for heartbeats, syncs and commits. JoinGroup and SyncGroup requests
/// that must wait are parked under a ticket; their answers come back as deliveries when the
/// group moves on. The coordinator actor maps tickets to response promises.

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/groups/group_messages.hpp"

namespace portask {

struct group_limits {
  std::int32_t min_session_timeout_ms = 1000;
  std::int32_t max_session_timeout_ms = 30 * 60 * 1000;
  /// How long a group that was empty waits for more members before its first generation
  /// (Kafka's group.initial.rebalance.delay.ms); each new member extends it once more, up
  /// to the rebalance timeout.
  std::chrono::milliseconds initial_rebalance_delay{300};
  /// Kafka's group.max.size (broker_config::group_max_size): members a group takes at most
  /// (an empty group takes anyone, as Kafka's), and ids handed out with MEMBER_ID_REQUIRED
  /// it keeps at most (see has_room_for).
  std::size_t max_size = 1000;
};

class consumer_group {
 public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  enum class state { empty, preparing_rebalance, completing_rebalance, stable };

  struct join_delivery {
    std::uint64_t ticket;
    join_group_result result;
  };
  struct sync_delivery {
    std::uint64_t ticket;
    sync_group_result result;
  };
  /// Answers for parked requests, produced by any call that moves the group on.
  struct deliveries {
    std::vector<join_delivery> joins;
    std::vector<sync_delivery> syncs;
    bool empty() const noexcept { return joins.empty() && syncs.empty(); }
  };

  /// `generation` is the one before the first rebalance: 0 on a single node; in a cluster
  /// it grows with the group lease's epoch, so that a group's generations keep increasing
  /// when its coordinator moves (group_coordinator.cpp).
  consumer_group(std::string id, group_limits limits, std::int32_t generation = 0)
      : id_(std::move(id)), limits_(limits), generation_(generation) {}

  /// An answer now, or nullopt when parked under `ticket` (answered through `out` later).
  std::optional<join_group_result> join(const join_group_request& req, std::uint64_t ticket,
                                        time_point now, deliveries& out);
  std::optional<sync_group_result> sync(const sync_group_request& req, std::uint64_t ticket,
                                        time_point now, deliveries& out);
  errc heartbeat(const member_ref& m, time_point now);
  /// One result per member, in order. A member id may be empty when an instance id is given.
  std::vector<errc> leave(const std::vector<member_ref>& members, time_point now, deliveries& out);
  /// Whether `m` may commit offsets now (generation -1 and no member id: a consumer that
  /// assigns itself partitions, allowed while the group has no members).
  errc may_commit(const member_ref& m, time_point now);
  /// Takes what the group kept from before this object (its coordinator retired or the broker
  /// restarted): the protocol type and generation stored beside its offsets, as Kafka's new
  /// coordinator loads them from the group's metadata record. Only into a group that never
  /// had a member here (Empty, no protocol type); its generation never goes back (in a
  /// cluster it starts at its lease's first), and one at or past `generation_end` is not
  /// taken (in a cluster the end of its lease's generations: one stored under another lease,
  /// higher once the lease's epochs wrapped, would carry its rebalances past int32). Its next
  /// rebalance follows the generation it has then.
  void restore(const std::string& protocol_type, std::int32_t generation,
               std::int32_t generation_end = std::numeric_limits<std::int32_t>::max());
  /// Expires members and pending ids past their session, members that did not sync within
  /// the rebalance timeout after a generation began, and ends rebalances whose time is up.
  void tick(time_point now, deliveries& out);

  state current_state() const noexcept { return state_; }
  const char* state_name() const noexcept;
  std::int32_t generation() const noexcept { return generation_; }
  const std::string& protocol_type() const noexcept { return protocol_type_; }
  const std::string& protocol_name() const noexcept { return protocol_name_; }
  const std::string& leader() const noexcept { return leader_; }
  std::size_t size() const noexcept { return members_.size(); }
  bool has_member(const std::string& id) const { return members_.count(id) > 0; }
  /// Ids handed out with MEMBER_ID_REQUIRED that may still join (until their session ends).
  bool has_pending_ids() const noexcept { return !pending_.empty(); }
  group_description describe() const;

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<group_protocol> protocols;
    std::string assignment;
    time_point deadline;
    std::uint64_t joined = 0;  ///< its place in the order members were added (1 = the first)
    std::optional<std::uint64_t> join_ticket;  ///< parked JoinGroup
    std::optional<std::uint64_t> sync_ticket;  ///< parked SyncGroup
  };

  std::string new_member_id(const std::string& client_id);
  errc check_member(const member_ref& m) const;
  std::string known_member(const join_group_request& req) const;
  bool has_room_for(const join_group_request& req) const;
  void remember_pending_id(const std::string& id, time_point deadline);
  bool all_members_support(const std::string& protocol_name) const;
  bool supports_all(const std::vector<group_protocol>& protocols) const;
  void admit(const join_group_request& req, const std::string& id, std::uint64_t ticket,
             time_point now, deliveries& out);
  void add_member(const join_group_request& req, const std::string& id, time_point now);
  void remove_member(const std::string& id, deliveries& out);
  std::string longest_standing(bool rejoined_only) const;
  void prepare_rebalance(time_point now, deliveries& out);
  void try_complete_join(time_point now, deliveries& out);
  void complete_join(time_point now, deliveries& out);
  void expire_pending_syncs(time_point now, deliveries& out);
  static void refuse_join(member& m, errc e, deliveries& out);
  static void refuse_sync(member& m, errc e, deliveries& out);
  std::chrono::milliseconds rebalance_timeout() const;
  std::string select_protocol() const;
  join_group_result join_result_for(const member& m) const;
  const std::string& metadata_for(const member& m) const;

  std::string id_;
  group_limits limits_;
  state state_ = state::empty;
  std::int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_;
  std::map<std::string, member> members_;
  std::map<std::string, std::string> instances_;  ///< instance id -> member id
  std::map<std::string, time_point> pending_;      ///< KIP-394 ids handed out, not yet joined
  /// Members of the current generation that have not sent SyncGroup yet; those still
  /// missing at sync_deadline_ are removed and the group rebalances (Kafka's pending sync).
  std::set<std::string> pending_sync_;
  time_point sync_deadline_{};
  time_point rebalance_deadline_{};
  time_point initial_join_until_{};  ///< the first generation waits until then for more joins
  bool initial_rebalance_ = false;
  std::uint64_t member_counter_ = 0;
  std::uint64_t members_added_ = 0;  ///< numbers members in the order they are added
};

}  // namespace portask
