#pragma once
/// A scripted topic_registry_actor. Unscripted partition lookups answer from `partitions`
/// (unknown_topic when absent); creation echoes the topic; growing, deleting, listing and the
/// partitions' producer snapshots succeed with nothing; the other requests must be scripted; retire and recover (cluster) are
/// recorded.

#include <map>
#include <memory>

#include "tests/mocks/mock_script.hpp"

namespace portask::testing {

struct topic_registry_script {
  heard<actor_directory> directory;  ///< the directory updates it was sent
  /// What unscripted partition lookups find.
  std::map<topic_partition, partition_actor> partitions;

  scripted<partition_actor, topic_partition, bool> partition;
  scripted<storage::topic_info, std::string, bool> topic;
  scripted<storage::topic_info, storage::topic_id> topic_by_id;
  scripted<storage::topic_info, storage::topic_info> create;
  scripted<bool, std::string, std::int32_t> grow;
  scripted<bool, std::string> remove;
  /// (topic, the overrides the asker read, the new set)
  scripted<storage::topic_info, std::string, storage::config_entries, storage::config_entries> configure;
  scripted<std::vector<storage::topic_info>> list;
  scripted<topic_description, std::string> describe;
  scripted<bool> snapshot;  ///< the broker stopping: every partition's producer snapshot
  /// (cluster) partitions the registry was told to stop, and how often to read topics again.
  std::vector<std::vector<topic_partition>> retired;
  /// Partitions whose actors said they are idle (never answered: they stay).
  heard<topic_partition> idle;
  int recovers = 0;
  /// Cancels passed on by bridges; each goes to `partitions[tp]` when there is one.
  heard<topic_partition, std::uint64_t> cancels;

  topic_registry_script() {
    partition.otherwise = [this](const topic_partition& tp,
                                 bool) -> caf::expected<partition_actor> {
      auto it = partitions.find(tp);
      if (it == partitions.end()) return make_caf_error(errc::unknown_topic);
      return it->second;
    };
    create.otherwise = [](const storage::topic_info& t) -> caf::expected<storage::topic_info> {
      return t;
    };
    grow.otherwise = [](const std::string&, std::int32_t) -> caf::expected<bool> { return true; };
    remove.otherwise = [](const std::string&) -> caf::expected<bool> { return true; };
    list.otherwise = []() -> caf::expected<std::vector<storage::topic_info>> {
      return std::vector<storage::topic_info>{};
    };
    snapshot.otherwise = []() -> caf::expected<bool> { return true; };
  }
  // The lookup default points at this script: it stays where make_shared put it.
  topic_registry_script(const topic_registry_script&) = delete;
  topic_registry_script& operator=(const topic_registry_script&) = delete;
};

inline topic_registry_actor::behavior_type mock_topic_registry(
    topic_registry_actor::pointer self, std::shared_ptr<topic_registry_script> s) {
  return {
      [s](partition_atom, const topic_partition& tp, bool auto_create) {
        return s->partition(tp, auto_create);
      },
      [s](topic_atom, const std::string& name, bool auto_create) {
        return s->topic(name, auto_create);
      },
      [s](topic_atom, const storage::topic_id& id) { return s->topic_by_id(id); },
      [s](create_atom, const storage::topic_info& t) { return s->create(t); },
      [s](grow_atom, const std::string& name, std::int32_t count) { return s->grow(name, count); },
      [s](delete_atom, const std::string& name) { return s->remove(name); },
      [s](configure_atom, const std::string& name, const storage::config_entries& read,
          const storage::config_entries& configs) { return s->configure(name, read, configs); },
      [s](list_atom) { return s->list(); },
      [s](describe_atom, const std::string& name) { return s->describe(name); },
      [s](snapshot_atom) { return s->snapshot(); },
      [s](retire_atom, const std::vector<topic_partition>& tps) { s->retired.push_back(tps); },
      [s](recover_atom) { ++s->recovers; },
      [s](idle_atom, const topic_partition& tp) { s->idle(tp); },
      [self, s](cancel_atom a, const topic_partition& tp, std::uint64_t poll_id) {
        s->cancels(tp, poll_id);
        if (auto it = s->partitions.find(tp); it != s->partitions.end()) self->send(it->second, a, poll_id);
      },
      [s](directory_atom, const actor_directory& d) { s->directory(d); },
  };
}

inline topic_registry_actor spawn_mock_topic_registry(caf::actor_system& sys,
                                                      std::shared_ptr<topic_registry_script> s) {
  return sys.spawn(mock_topic_registry, std::move(s));
}

}  // namespace portask::testing
