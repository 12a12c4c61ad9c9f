#include "actors/groups/consumer_group.hpp"

#include <algorithm>
#include <random>

#include "logging/loggers.hpp"

namespace portask {

namespace {
std::uint64_t random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}
}  // namespace

const char* consumer_group::state_name() const noexcept {
  switch (state_) {
    case state::empty: return "Empty";
    case state::preparing_rebalance: return "PreparingRebalance";
    case state::completing_rebalance: return "CompletingRebalance";
    case state::stable: return "Stable";
  }
  return "Dead";
}

std::string consumer_group::new_member_id(const std::string& client_id) {
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "-%016llx-%llu",
                static_cast<unsigned long long>(random_suffix()),
                static_cast<unsigned long long>(++member_counter_));
  return (client_id.empty() ? std::string("member") : client_id) + suffix;
}

// Known member, not fenced by a newer holder of its instance id.
errc consumer_group::check_member(const member_ref& m) const {
  if (m.instance_id) {
    // As Kafka: an instance id the group does not know is an unknown member, whatever the
    // member id says.
    auto it = instances_.find(*m.instance_id);
    if (it == instances_.end()) return errc::unknown_member;
    if (it->second != m.member_id) return errc::fenced_instance;
  }
  if (!members_.count(m.member_id)) return errc::unknown_member;
  return errc::ok;
}

// The member a join comes from when the group knows it: by its member id, or a static member
// coming back with its instance id alone; empty for a newcomer.
std::string consumer_group::known_member(const join_group_request& req) const {
  if (members_.count(req.member_id) > 0) return req.member_id;
  if (req.member_id.empty() && req.instance_id)
    if (auto it = instances_.find(*req.instance_id); it != instances_.end() && members_.count(it->second) > 0)
      return it->second;
  return {};
}

// Kafka's acceptJoiningMember (group.max.size). An empty group takes anyone. A known member
// is taken, unless, while a rebalance is prepared, it has not rejoined yet and as many
// members as the group takes already have (Kafka's way of shedding the last members to
// rejoin). A newcomer only while the group has room: counting, while a rebalance is prepared,
// the members that have rejoined, otherwise every member. As in Kafka, the ids handed out
// with MEMBER_ID_REQUIRED take no room (a client that died between its two joins, or one
// restarting in a loop, must not make a real consumer's join fail with an error the Java
// client takes as fatal); their number is bounded apart (remember_pending_id). A static
// member coming back with its instance id is a known member (Kafka counts it as a newcomer,
// and would refuse the restart of a member of a full group).
bool consumer_group::has_room_for(const join_group_request& req) const {
  if (state_ == state::empty) return true;
  const auto awaiting = static_cast<std::size_t>(std::count_if(
      members_.begin(), members_.end(), [](const auto& e) { return e.second.join_ticket.has_value(); }));
  if (const auto known = known_member(req); !known.empty())
    return state_ != state::preparing_rebalance || members_.at(known).join_ticket.has_value() ||
           awaiting < limits_.max_size;
  return (state_ == state::preparing_rebalance ? awaiting : members_.size()) < limits_.max_size;
}

// A KIP-394 id handed out until `deadline`. The group holds at most max_size of them, so that
// a burst of first joins (or a client restarting in a loop) cannot grow it without bound: the
// one nearest its end makes room, and if it is joined with later, the join is answered
// UNKNOWN_MEMBER_ID, on which a client asks for a new id (Kafka keeps every id until its
// session ends).
void consumer_group::remember_pending_id(const std::string& id, time_point deadline) {
  if (pending_.size() >= limits_.max_size) {
    auto oldest = std::min_element(pending_.begin(), pending_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    logging::groups().debug("group '{}': id {} handed out to join with is forgotten: {} are handed out", id_,
                            oldest->first, pending_.size());
    pending_.erase(oldest);
  }
  pending_[id] = deadline;
}

bool consumer_group::all_members_support(const std::string& name) const {
  for (const auto& [id, m] : members_) {
    bool has = false;
    for (const auto& q : m.protocols) has |= q.name == name;
    if (!has) return false;
  }
  return true;
}

// A joiner fits when one of its protocols is one every current member supports.
bool consumer_group::supports_all(const std::vector<group_protocol>& protocols) const {
  if (members_.empty()) return true;
  for (const auto& p : protocols)
    if (all_members_support(p.name)) return true;
  return false;
}

// A new member, parked in the rebalance it starts (or, during the first one, extends).
void consumer_group::admit(const join_group_request& req, const std::string& id,
                           std::uint64_t ticket, time_point now, deliveries& out) {
  add_member(req, id, now);
  members_.at(id).join_ticket = ticket;
  if (state_ != state::preparing_rebalance)
    prepare_rebalance(now, out);
  else if (initial_rebalance_)
    initial_join_until_ = std::min(now + limits_.initial_rebalance_delay, rebalance_deadline_);
  try_complete_join(now, out);
}

void consumer_group::add_member(const join_group_request& req, const std::string& id,
                                time_point now) {
  member m;
  m.id = id;
  m.instance_id = req.instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = req.protocols;
  m.deadline = now + std::chrono::milliseconds(req.session_timeout_ms);
  m.joined = ++members_added_;
  if (members_.empty()) protocol_type_ = req.protocol_type;
  if (req.instance_id) instances_[*req.instance_id] = id;
  // As Kafka's add: a group without a leader (one without members) is led by its first.
  if (leader_.empty()) leader_ = id;
  members_.emplace(id, std::move(m));
}

std::optional<join_group_result> consumer_group::join(const join_group_request& req,
                                                      std::uint64_t ticket, time_point now,
                                                      deliveries& out) {
  auto fail = [&](errc e) {
    join_group_result r;
    r.error = e;
    r.member_id = req.member_id;
    return std::optional<join_group_result>{std::move(r)};
  };
  if (req.session_timeout_ms < limits_.min_session_timeout_ms ||
      req.session_timeout_ms > limits_.max_session_timeout_ms)
    return fail(errc::invalid_session_timeout);
  if (!has_room_for(req)) {
    // As Kafka: the answer carries no member id, and a member refused leaves the group.
    pending_.erase(req.member_id);
    if (const auto known = known_member(req); !known.empty()) remove_member(known, out);
    try_complete_join(now, out);
    join_group_result r;
    r.error = errc::group_max_size_reached;
    return r;
  }
  if (req.protocol_type.empty() || req.protocols.empty()) return fail(errc::inconsistent_protocol);
  if (!members_.empty() && (req.protocol_type != protocol_type_ || !supports_all(req.protocols)))
    return fail(errc::inconsistent_protocol);

  std::string id = req.member_id;
  if (id.empty()) {
    if (req.instance_id) {
      auto known = instances_.find(*req.instance_id);
      if (known != instances_.end() && members_.count(known->second)) {
        // A static member came back (a restart): it takes over its old entry under a new
        // id, which fences the old one. Unless its protocols change the one the group would
        // select, the group keeps its generation and the member gets its old assignment back.
        const std::string old_id = known->second;
        auto node = members_.extract(old_id);
        const bool was_leader = leader_ == old_id;
        id = new_member_id(req.client_id);
        // The old incarnation's parked requests are answered FENCED_INSTANCE_ID, as Kafka
        // does: a duplicate process with the same instance id stops instead of hanging.
        refuse_join(node.mapped(), errc::fenced_instance, out);
        refuse_sync(node.mapped(), errc::fenced_instance, out);
        if (pending_sync_.erase(old_id) > 0) pending_sync_.insert(id);
        // The entry keeps its place in the join order (`joined`): a restart is no newcomer.
        node.key() = id;
        node.mapped().id = id;
        node.mapped().protocols = req.protocols;
        node.mapped().client_id = req.client_id;
        node.mapped().client_host = req.client_host;
        node.mapped().session_timeout_ms = req.session_timeout_ms;
        node.mapped().rebalance_timeout_ms = req.rebalance_timeout_ms;
        node.mapped().deadline = now + std::chrono::milliseconds(req.session_timeout_ms);
        members_.insert(std::move(node));
        known->second = id;
        if (was_leader) leader_ = id;
        auto& m = members_.at(id);
        // Kafka compares the selection, not the bytes: a restarted Java consumer's metadata
        // differs from its last join's (no owned partitions, generation -1), and comparing
        // bytes would make every restart cost the rebalance static membership avoids.
        if (state_ == state::stable && select_protocol() == protocol_name_) {
          auto r = join_result_for(m);
          if (was_leader && req.supports_skip_assignment) {
            // JoinGroup v9 (KIP-814), as Kafka: the leader is told it leads (its new id, every
            // member) but not to assign, the group's assignment standing; it keeps watching
            // the group's metadata as its leader and syncs for its own share.
            r.skip_assignment = true;
          } else if (was_leader) {
            // Before v9, as Kafka: the old leader id and no member list, so it takes its
            // assignment as a follower does, and a restart of the leader's process costs the
            // group no rebalance.
            r.leader = old_id;
            r.members.clear();
          }
          return r;
        }
        m.join_ticket = ticket;
        if (state_ != state::preparing_rebalance) prepare_rebalance(now, out);
        try_complete_join(now, out);
        return std::nullopt;
      }
      id = new_member_id(req.client_id);
    } else if (req.require_known_member) {
      id = new_member_id(req.client_id);
      remember_pending_id(id, now + std::chrono::milliseconds(req.session_timeout_ms));
      auto r = fail(errc::member_id_required);
      r->member_id = id;
      return r;
    } else {
      id = new_member_id(req.client_id);
    }
    admit(req, id, ticket, now, out);
    return std::nullopt;
  }

  if (auto p = pending_.find(id); p != pending_.end()) {
    pending_.erase(p);
    admit(req, id, ticket, now, out);
    return std::nullopt;
  }
  if (auto e = check_member({id, req.instance_id, -1}); e != errc::ok) return fail(e);

  auto& m = members_.at(id);
  m.deadline = now + std::chrono::milliseconds(req.session_timeout_ms);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  const bool same_protocols = m.protocols == req.protocols;
  switch (state_) {
    case state::preparing_rebalance:
      m.protocols = req.protocols;
      refuse_join(m, errc::rebalance_in_progress, out);  // a second JoinGroup answers the first
      m.join_ticket = ticket;
      try_complete_join(now, out);
      return std::nullopt;
    case state::completing_rebalance:
      if (same_protocols) return join_result_for(m);
      break;
    case state::stable:
      if (same_protocols && leader_ != id) return join_result_for(m);
      break;
    case state::empty:
      break;
  }
  m.protocols = req.protocols;
  refuse_join(m, errc::rebalance_in_progress, out);  // a second JoinGroup answers the first
  m.join_ticket = ticket;
  prepare_rebalance(now, out);
  try_complete_join(now, out);
  return std::nullopt;
}

std::optional<sync_group_result> consumer_group::sync(const sync_group_request& req,
                                                      std::uint64_t ticket, time_point now,
                                                      deliveries& out) {
  sync_group_result r;
  if (auto e = check_member({req.member_id, req.instance_id, req.generation}); e != errc::ok) {
    r.error = e;
    return r;
  }
  if (req.generation != generation_) {
    r.error = errc::illegal_generation;
    return r;
  }
  if ((req.protocol_type && *req.protocol_type != protocol_type_) ||
      (req.protocol_name && *req.protocol_name != protocol_name_)) {
    r.error = errc::inconsistent_protocol;
    return r;
  }
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_name_;
  auto& m = members_.at(req.member_id);
  m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
  switch (state_) {
    case state::empty:
      r.error = errc::unknown_member;
      return r;
    case state::preparing_rebalance:
      r.error = errc::rebalance_in_progress;
      return r;
    case state::stable:
      pending_sync_.erase(req.member_id);
      r.assignment = m.assignment;
      return r;
    case state::completing_rebalance:
      break;
  }
  pending_sync_.erase(req.member_id);
  // A second SyncGroup from the member: the first is answered, not left waiting forever.
  refuse_sync(m, errc::rebalance_in_progress, out);
  m.sync_ticket = ticket;
  if (req.member_id != leader_) return std::nullopt;
  // The leader's assignment ends the rebalance: members it left out get nothing.
  for (auto& [mid, each] : members_) each.assignment.clear();
  for (const auto& [mid, bytes] : req.assignments)
    if (auto it = members_.find(mid); it != members_.end()) it->second.assignment = bytes;
  state_ = state::stable;
  logging::groups().info("group '{}': generation {} stable with {} members", id_, generation_,
               members_.size());
  for (auto& [mid, each] : members_) {
    if (!each.sync_ticket) continue;
    sync_group_result s;
    s.protocol_type = protocol_type_;
    s.protocol_name = protocol_name_;
    s.assignment = each.assignment;
    out.syncs.push_back({*each.sync_ticket, std::move(s)});
    each.sync_ticket.reset();
    // Its session runs from its answer: it was alive while it waited.
    each.deadline = now + std::chrono::milliseconds(each.session_timeout_ms);
  }
  return std::nullopt;
}

errc consumer_group::heartbeat(const member_ref& ref, time_point now) {
  if (auto e = check_member(ref); e != errc::ok) return e;
  if (ref.generation != generation_) return errc::illegal_generation;
  auto& m = members_.at(ref.member_id);
  m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
  return state_ == state::preparing_rebalance ? errc::rebalance_in_progress : errc::ok;
}

std::vector<errc> consumer_group::leave(const std::vector<member_ref>& refs, time_point now,
                                        deliveries& out) {
  std::vector<errc> results;
  bool removed = false;
  bool pending_left = false;
  for (auto ref : refs) {
    // An id handed out with MEMBER_ID_REQUIRED whose holder gives up: a rebalance waiting
    // for it goes on (Kafka answers NONE).
    if (!ref.member_id.empty() && pending_.erase(ref.member_id) > 0) {
      results.push_back(errc::ok);
      pending_left = true;
      continue;
    }
    if (ref.member_id.empty() && ref.instance_id) {
      auto it = instances_.find(*ref.instance_id);
      if (it == instances_.end()) {
        results.push_back(errc::unknown_member);
        continue;
      }
      ref.member_id = it->second;
    }
    if (auto e = check_member(ref); e != errc::ok) {
      results.push_back(e);
      continue;
    }
    remove_member(ref.member_id, out);
    removed = true;
    results.push_back(errc::ok);
  }
  if (removed) {
    if (state_ == state::stable || state_ == state::completing_rebalance)
      prepare_rebalance(now, out);
    else
      try_complete_join(now, out);
  } else if (pending_left) {
    try_complete_join(now, out);
  }
  return results;
}

errc consumer_group::may_commit(const member_ref& ref, time_point now) {
  // Kafka's standalone commit: any generation below 0 to an Empty group, whatever member id
  // the tool sends (not while a rebalance is being prepared, members or not).
  if (ref.generation < 0 && state_ == state::empty) return errc::ok;
  if (auto e = check_member(ref); e != errc::ok) return e;
  // Kafka's order: a stale generation is ILLEGAL_GENERATION whatever the state.
  if (ref.generation != generation_) return errc::illegal_generation;
  if (state_ == state::completing_rebalance) return errc::rebalance_in_progress;
  auto& m = members_.at(ref.member_id);
  m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
  return errc::ok;
}

void consumer_group::tick(time_point now, deliveries& out) {
  for (auto it = pending_.begin(); it != pending_.end();)
    it = it->second <= now ? pending_.erase(it) : std::next(it);
  // A member waiting for its JoinGroup or SyncGroup answer counts as alive (Kafka's
  // satisfied heartbeat): some clients do not heartbeat while they wait.
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_)
    if (!m.join_ticket && !m.sync_ticket && m.deadline <= now) expired.push_back(id);
  for (const auto& id : expired) {
    logging::groups().info("group '{}': member {} missed its session timeout; removed", id_, id);
    remove_member(id, out);
  }
  if (!expired.empty() && (state_ == state::stable || state_ == state::completing_rebalance))
    prepare_rebalance(now, out);
  expire_pending_syncs(now, out);
  if (state_ == state::preparing_rebalance && now >= rebalance_deadline_) {
    complete_join(now, out);
    return;
  }
  try_complete_join(now, out);
}

void consumer_group::remove_member(const std::string& id, deliveries& out) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  auto& m = it->second;
  refuse_join(m, errc::unknown_member, out);
  refuse_sync(m, errc::unknown_member, out);
  if (m.instance_id) {
    auto inst = instances_.find(*m.instance_id);
    if (inst != instances_.end() && inst->second == id) instances_.erase(inst);
  }
  members_.erase(it);
  pending_sync_.erase(id);
  // As Kafka's remove: the lead passes at once to a member that stays (none: nobody leads).
  if (leader_ == id) leader_ = longest_standing(false);
  if (members_.empty() && state_ != state::preparing_rebalance) {
    // As Kafka's: the rebalance the last member's departure starts completes at once with
    // nobody, into the next generation, so that the old one's members are told it is over.
    ++generation_;
    state_ = state::empty;
    protocol_name_.clear();
  }
}

void consumer_group::prepare_rebalance(time_point now, deliveries& out) {
  // Members waiting for their assignment must rejoin: the assignment is obsolete.
  for (auto& [id, m] : members_) {
    if (!m.sync_ticket) continue;
    refuse_sync(m, errc::rebalance_in_progress, out);
    m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);  // alive while it waited
  }
  pending_sync_.clear();
  initial_rebalance_ = state_ == state::empty;
  rebalance_deadline_ = now + rebalance_timeout();
  if (initial_rebalance_)
    initial_join_until_ = std::min(now + limits_.initial_rebalance_delay, rebalance_deadline_);
  state_ = state::preparing_rebalance;
}

// The member to lead when a new leader must be chosen: the one that has been in the group
// longest (of those whose JoinGroup is parked, if `rejoined_only`); empty if there is none.
// Kafka takes any member (the first of a hash map); taking the longest-standing keeps a
// newcomer from leading while an earlier member can, whatever their ids. A client that cannot
// assign for the group (kafka-go reading librdkafka's subscriptions) leaves and joins again
// under a new id, and that must not make it the leader of every generation.
std::string consumer_group::longest_standing(bool rejoined_only) const {
  const member* oldest = nullptr;
  for (const auto& [id, m] : members_)
    if ((!rejoined_only || m.join_ticket) && (oldest == nullptr || m.joined < oldest->joined)) oldest = &m;
  return oldest != nullptr ? oldest->id : std::string();
}

// Answers `m`'s parked JoinGroup (or SyncGroup), if any, with `e`: every parked request is
// answered once, whatever ends its wait.
void consumer_group::refuse_join(member& m, errc e, deliveries& out) {
  if (!m.join_ticket) return;
  join_group_result r;
  r.error = e;
  r.member_id = m.id;
  out.joins.push_back({*m.join_ticket, std::move(r)});
  m.join_ticket.reset();
}

void consumer_group::refuse_sync(member& m, errc e, deliveries& out) {
  if (!m.sync_ticket) return;
  sync_group_result r;
  r.error = e;
  out.syncs.push_back({*m.sync_ticket, std::move(r)});
  m.sync_ticket.reset();
}

std::chrono::milliseconds consumer_group::rebalance_timeout() const {
  std::int32_t timeout = 0;
  for (const auto& [id, m] : members_) timeout = std::max(timeout, m.rebalance_timeout_ms);
  return std::chrono::milliseconds(timeout);
}

void consumer_group::try_complete_join(time_point now, deliveries& out) {
  if (state_ != state::preparing_rebalance) return;
  if (initial_rebalance_ && now < initial_join_until_) return;
  // Ids handed out with MEMBER_ID_REQUIRED are awaited too (until they expire or the
  // rebalance times out), or each newcomer of a burst would cost a rebalance of its own;
  // but not by the first rebalance once its delay is over, as Kafka's initial join does: a
  // client that died between its two joins would hold the new group's first generation
  // back for a whole session timeout.
  if (!initial_rebalance_ && !pending_.empty()) return;
  for (const auto& [id, m] : members_)
    if (!m.join_ticket) return;
  complete_join(now, out);
}

void consumer_group::complete_join(time_point now, deliveries& out) {
  // Dynamic members that did not rejoin in time are out. Static ones (KIP-345) keep their
  // place and get partitions from the leader while they restart, until their session
  // timeout runs out or they miss the SyncGroup deadline below.
  std::vector<std::string> missing;
  for (const auto& [id, m] : members_)
    if (!m.join_ticket && !m.instance_id) missing.push_back(id);
  for (const auto& id : missing) {
    logging::groups().info("group '{}': member {} did not rejoin in time; removed", id_, id);
    remove_member(id, out);
  }
  const bool any_joined = std::any_of(members_.begin(), members_.end(),
                                      [](const auto& e) { return e.second.join_ticket.has_value(); });
  if (!members_.empty() && !any_joined) {
    // Only static members that are away are left: nobody could lead the generation, so the
    // rebalance waits on (their session timeouts remove them if they stay away).
    rebalance_deadline_ = now + rebalance_timeout();
    return;
  }
  ++generation_;
  initial_rebalance_ = false;
  if (members_.empty()) {
    state_ = state::empty;
    protocol_name_.clear();
    return;
  }
  protocol_name_ = select_protocol();
  // The leader is a member that rejoined: it runs the assignment. As Kafka's
  // maybeElectNewJoinedLeader, one that did not (a static member away) hands the lead on.
  if (auto l = members_.find(leader_); l == members_.end() || !l->second.join_ticket)
    leader_ = longest_standing(true);
  state_ = state::completing_rebalance;
  logging::groups().info("group '{}': generation {} with {} members, protocol {}, leader {}", id_,
               generation_, members_.size(), protocol_name_, leader_);
  pending_sync_.clear();
  for (auto& [id, m] : members_) {
    if (m.join_ticket) out.joins.push_back({*m.join_ticket, join_result_for(m)});
    m.join_ticket.reset();
    m.deadline = now + std::chrono::milliseconds(m.session_timeout_ms);
    pending_sync_.insert(id);
  }
  sync_deadline_ = now + rebalance_timeout();
}

// Kafka's pending-sync expiry: members of this generation that have not sent SyncGroup
// within the rebalance timeout are removed and the group rebalances, so a leader that never
// assigns, or a follower that never asks for its share, cannot hold the group (and its
// partitions) forever while it goes on heartbeating.
void consumer_group::expire_pending_syncs(time_point now, deliveries& out) {
  if (pending_sync_.empty() || now < sync_deadline_) return;
  if (state_ != state::completing_rebalance && state_ != state::stable) return;
  const auto missing = std::move(pending_sync_);
  pending_sync_.clear();
  for (const auto& id : missing) {
    logging::groups().info("group '{}': member {} did not sync in time; removed", id_, id);
    remove_member(id, out);
  }
  if (!members_.empty()) prepare_rebalance(now, out);
}

// Kafka's rule: among the protocols every member supports, each member votes for the one
// it lists first; the most votes win (ties, which Kafka breaks arbitrarily: the first
// candidate in the order of the member whose id sorts first).
std::string consumer_group::select_protocol() const {
  std::vector<std::string> candidates;
  const auto& first = members_.begin()->second;
  for (const auto& p : first.protocols)
    if (all_members_support(p.name)) candidates.push_back(p.name);
  if (candidates.empty()) return first.protocols.front().name;
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_)
    for (const auto& p : m.protocols)
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
  std::string best = candidates.front();
  for (const auto& c : candidates)
    if (votes[c] > votes[best]) best = c;
  return best;
}

const std::string& consumer_group::metadata_for(const member& m) const {
  for (const auto& p : m.protocols)
    if (p.name == protocol_name_) return p.metadata;
  static const std::string none;
  return none;
}

join_group_result consumer_group::join_result_for(const member& m) const {
  join_group_result r;
  r.generation = generation_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_name_;
  r.leader = leader_;
  r.member_id = m.id;
  if (m.id == leader_)
    for (const auto& [id, other] : members_)
      r.members.push_back({id, other.instance_id, metadata_for(other)});
  return r;
}

void consumer_group::restore(const std::string& protocol_type, std::int32_t generation,
                             std::int32_t generation_end) {
  if (state_ != state::empty || !members_.empty() || !protocol_type_.empty()) return;
  protocol_type_ = protocol_type;
  if (generation > generation_ && generation < generation_end) generation_ = generation;
}

group_description consumer_group::describe() const {
  group_description d;
  d.group_id = id_;
  d.state = state_name();
  d.protocol_type = protocol_type_;
  d.protocol_name = protocol_name_;
  d.generation = generation_;
  d.leader = members_.empty() ? std::string() : leader_;
  for (const auto& [id, m] : members_)
    d.members.push_back({id, m.instance_id, m.client_id, m.client_host, metadata_for(m),
                         m.assignment, m.session_timeout_ms, m.rebalance_timeout_ms});
  return d;
}

}  // namespace portask
