#pragma once
/// The cluster actor: a scripted cluster_actor that records what the node's other actors ask
/// of it (a lease round for new topics, a group's lease wanted, kept for a coordinator that
/// started under it, or let go) and answers a leave as the script says. It runs no lease
/// rounds: a test publishes the cluster views it wants (broker_context::publish_cluster)
/// itself.

#include <memory>
#include <string>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct cluster_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  heard<std::uint64_t> ticks;
  std::size_t topic_rounds = 0;  ///< (topic): topics were created or grown here, or a lease lost
  heard<std::string, bool> groups;  ///< (group, wanted)
  heard<std::string, std::int64_t> coordinated;  ///< (group, lease epoch): a coordinator started
  scripted<bool> leave;
};

inline cluster_actor::behavior_type mock_cluster(cluster_actor::pointer,
                                                 std::shared_ptr<cluster_script> s) {
  return {
      [s](tick_atom, std::uint64_t round) { s->ticks(round); },
      [s](topic_atom) { ++s->topic_rounds; },
      [s](group_atom, const std::string& group, bool wanted) { s->groups(group, wanted); },
      [s](group_atom, const std::string& group, std::int64_t epoch) { s->coordinated(group, epoch); },
      [s](leave_atom) -> caf::result<bool> { return s->leave(); },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline cluster_actor spawn_mock_cluster(caf::actor_system& sys, std::shared_ptr<cluster_script> s) {
  return sys.spawn(mock_cluster, std::move(s));
}

}  // namespace portask::testing
