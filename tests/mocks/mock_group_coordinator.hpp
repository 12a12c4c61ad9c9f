#pragma once
/// A scripted group_coordinator_actor and group_directory_actor. Unscripted joins and syncs
/// are errors (script them); heartbeats, leaves, commits and deletions succeed; offsets and
/// descriptions are empty. The directory hands out the coordinators in `groups`
/// (unknown_group when absent).

#include <map>
#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct group_coordinator_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  scripted<join_group_result, join_group_request> join;
  scripted<sync_group_result, sync_group_request> sync;
  scripted<bool, member_ref> heartbeat;
  scripted<std::vector<std::int32_t>, std::vector<member_ref>> leave;
  scripted<bool, commit_offsets_request> commit;
  scripted<std::vector<storage::group_offset>, std::vector<topic_partition>> offsets;
  scripted<group_description> describe;
  /// (partitions, whole group) -> the partitions kept
  scripted<std::vector<topic_partition>, std::vector<topic_partition>, bool> remove;
  /// (topic, deleted at ms) -> true once its offsets are gone
  scripted<bool, std::string, std::int64_t> topic_deleted;
  heard<> tick;
  heard<> expire;
  heard<std::int64_t, std::int64_t> expire_offsets;  ///< (now ms, empty since ms)

  group_coordinator_script() {
    heartbeat.otherwise = [](const member_ref&) -> caf::expected<bool> { return true; };
    leave.otherwise =
        [](const std::vector<member_ref>& members) -> caf::expected<std::vector<std::int32_t>> {
      return std::vector<std::int32_t>(members.size(), static_cast<std::int32_t>(errc::ok));
    };
    commit.otherwise = [](const commit_offsets_request&) -> caf::expected<bool> { return true; };
    offsets.otherwise = [](const std::vector<topic_partition>&)
        -> caf::expected<std::vector<storage::group_offset>> {
      return std::vector<storage::group_offset>{};
    };
    describe.otherwise = []() -> caf::expected<group_description> { return group_description{}; };
    remove.otherwise = [](const std::vector<topic_partition>&,
                          bool) -> caf::expected<std::vector<topic_partition>> {
      return std::vector<topic_partition>{};
    };
    topic_deleted.otherwise = [](const std::string&, std::int64_t) -> caf::expected<bool> { return true; };
  }
};

inline group_coordinator_actor::behavior_type mock_group_coordinator(
    group_coordinator_actor::pointer, std::shared_ptr<group_coordinator_script> s) {
  return {
      [s](join_atom, const join_group_request& req) { return s->join(req); },
      [s](sync_atom, const sync_group_request& req) { return s->sync(req); },
      [s](heartbeat_atom, const member_ref& m) { return s->heartbeat(m); },
      [s](leave_atom, const std::vector<member_ref>& members) { return s->leave(members); },
      [s](commit_atom, const commit_offsets_request& req) { return s->commit(req); },
      [s](offset_atom, const std::vector<topic_partition>& tps) { return s->offsets(tps); },
      [s](describe_atom) { return s->describe(); },
      [s](delete_atom, const std::vector<topic_partition>& tps, bool whole_group) {
        return s->remove(tps, whole_group);
      },
      [s](delete_atom, const std::string& topic, std::int64_t deleted_ms) {
        return s->topic_deleted(topic, deleted_ms);
      },
      [s](tick_atom) { s->tick(); },
      [s](expire_atom) { s->expire(); },
      [s](expire_atom, std::int64_t now_ms, std::int64_t empty_since_ms) {
        s->expire_offsets(now_ms, empty_since_ms);
      },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline group_coordinator_actor spawn_mock_group_coordinator(
    caf::actor_system& sys, std::shared_ptr<group_coordinator_script> s) {
  return sys.spawn(mock_group_coordinator, std::move(s));
}

struct group_directory_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  /// What unscripted lookups find.
  std::map<std::string, group_coordinator_actor> groups;

  scripted<group_coordinator_actor, std::string> group;
  scripted<std::vector<group_description>> list;
  heard<std::string, std::int64_t> retire;
  heard<std::int64_t, std::vector<std::string>, std::vector<std::string>> expire;
  /// (topic, deleted at ms) -> true: the cleanup started
  scripted<bool, std::string, std::int64_t> topic_deleted;
  heard<std::uint64_t> sweep_again;

  group_directory_script() {
    group.otherwise = [this](const std::string& id) -> caf::expected<group_coordinator_actor> {
      auto it = groups.find(id);
      if (it == groups.end()) return make_caf_error(errc::unknown_group);
      return it->second;
    };
    list.otherwise = []() -> caf::expected<std::vector<group_description>> {
      return std::vector<group_description>{};
    };
    topic_deleted.otherwise = [](const std::string&, std::int64_t) -> caf::expected<bool> { return true; };
  }
  // The lookup default points at this script: it stays where make_shared put it.
  group_directory_script(const group_directory_script&) = delete;
  group_directory_script& operator=(const group_directory_script&) = delete;
};

inline group_directory_actor::behavior_type mock_group_directory(
    group_directory_actor::pointer, std::shared_ptr<group_directory_script> s) {
  return {
      [s](group_atom, const std::string& id) { return s->group(id); },
      [s](list_atom) { return s->list(); },
      [s](retire_atom, const std::string& id, std::int64_t members_seen_ms) {
        s->retire(id, members_seen_ms);
      },
      [s](expire_atom, std::int64_t now_ms, const std::vector<std::string>& aged,
          const std::vector<std::string>& due) { s->expire(now_ms, aged, due); },
      [s](delete_atom, const std::string& topic, std::int64_t deleted_ms) {
        return s->topic_deleted(topic, deleted_ms);
      },
      [s](tick_atom, std::uint64_t sweep) { s->sweep_again(sweep); },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline group_directory_actor spawn_mock_group_directory(caf::actor_system& sys,
                                                        std::shared_ptr<group_directory_script> s) {
  return sys.spawn(mock_group_directory, std::move(s));
}

}  // namespace portask::testing
