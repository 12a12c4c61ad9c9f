#pragma once
/// The groups whose leases a cluster node takes for its group directory, and when it lets
/// them go (docs/cluster.md, Groups). A request that finds no lease here wants the group's
/// lease; a coordinator started under it keeps it while it runs, and for a lease time after
/// it stopped (a group read now and then, its coordinator stopping between reads, keeps its
/// lease and epoch). A group asked for and never used (a typo, a DescribeGroups or
/// OffsetFetch not retried) is let go a lease time after its lease was taken, or after the
/// last request while it was not: otherwise every group id ever named to this node would
/// stay leased, and be renewed in every lease round, for as long as the node runs.
/// Pure (the caller says what time it is), so that it is tested without a clock.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portask {

class group_wants {
 public:
  using clock = std::chrono::steady_clock;

  struct entry {
    /// The directory wants the lease: it was asked to coordinate the group, or does.
    bool wanted = false;
    /// Whether a coordinator runs for it here, and which directory (actor id) said so: a
    /// directory that restarted runs none of the old one's.
    bool running = false;
    std::uint64_t directory = 0;
    /// The later of the last request that found no lease and the round that took the lease:
    /// with no coordinator, the group is let go a lease time after.
    clock::time_point since{};
  };

  /// A request found no lease here (group, id, true). True when the group was not wanted
  /// before: a client waits, so a round should take the lease soon.
  bool asked(const std::string& id, clock::time_point now) {
    auto& g = groups_[id];
    const bool newly = !g.wanted;
    g.wanted = true;
    g.since = std::max(g.since, now);
    return newly;
  }
  /// Directory `directory` started a coordinator under the group's lease: the lease is kept
  /// while it runs.
  void coordinated(const std::string& id, std::uint64_t directory) {
    auto& g = groups_[id];
    g.wanted = true;
    g.running = true;
    g.directory = directory;
  }
  /// The directory let the group go at `now` (its coordinator retired or ended): the lease
  /// is kept a lease time more, as for a group asked for and not used, and released then
  /// unless a coordinator starts under it again (the next request starts one under the same
  /// epoch, instead of waiting for the lease to be taken again under a new one).
  void let_go(const std::string& id, clock::time_point now) {
    auto it = groups_.find(id);
    if (it != groups_.end()) stopped(it->second, now);
  }
  /// The group directory is now `directory`: the coordinators of another one ended with it,
  /// so their groups are let go a lease time from now unless they are used again.
  void directory_is(std::uint64_t directory, clock::time_point now) {
    for (auto& [id, g] : groups_)
      if (g.running && g.directory != directory) stopped(g, now);
  }
  /// Before a round: the groups wanted for `lease` with no coordinator are no longer wanted
  /// (their leases are dropped in that round); returns them.
  std::vector<std::string> expire(clock::time_point now, std::chrono::milliseconds lease) {
    std::vector<std::string> out;
    for (auto& [id, g] : groups_)
      if (g.wanted && !g.running && now - g.since >= lease) {
        g.wanted = false;
        out.push_back(id);
      }
    return out;
  }
  /// A round took the group's lease for this node: whoever asked has a lease time from now
  /// to come back and start its coordinator.
  void lease_taken(const std::string& id, clock::time_point now) {
    if (auto it = groups_.find(id); it != groups_.end()) it->second.since = std::max(it->second.since, now);
  }
  /// A group neither wanted nor held here is forgotten (asked for again, it comes back).
  void forget(const std::string& id) { groups_.erase(id); }

  bool wanted(const std::string& id) const {
    auto it = groups_.find(id);
    return it != groups_.end() && it->second.wanted;
  }
  const std::map<std::string, entry>& all() const { return groups_; }

 private:
  /// Its coordinator is gone as of `now`: the lease is kept a lease time from then.
  static void stopped(entry& g, clock::time_point now) {
    g.running = false;
    g.since = std::max(g.since, now);
  }
  std::map<std::string, entry> groups_;
};

}  // namespace portask
