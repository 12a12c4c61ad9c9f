#pragma once
/// Changing a topic's config overrides from the ones it holds (AlterConfigs, native
/// TopicAdmin alter_config): the new set is computed by the asker from the current one, and
/// stored only while the topic still holds that one (the registry's configure compares).
/// When another change came first, the registry answers the topic as it is, and the new set
/// is computed again from it: two concurrent changes of different keys both take effect,
/// where storing a set computed from a record read earlier would undo the other one.

#include <chrono>
#include <optional>
#include <utility>

#include "actors/interfaces.hpp"
#include "actors/pipeline/topic_configs.hpp"

namespace portask {

/// How many times a change is computed anew before the asker hears `timeout` (another
/// change kept coming first).
inline constexpr int reconfigure_attempts = 5;

/// `compute(current overrides)` -> std::optional<storage::config_entries>: the new set, or
/// nullopt when it refused or had nothing to store (it answered its asker itself). It may be
/// called more than once. `stored(topic as stored)` or `failed(error)` are then called.
template <class Self, class Compute, class Stored, class Failed>
void reconfigure_from(Self* self, const topic_registry_actor& registry, const std::string& name,
                      storage::config_entries current, Compute compute, Stored stored,
                      Failed failed, int attempts_left = reconfigure_attempts) {
  auto next = compute(current);
  if (!next) return;
  // As the registry stores it (each value as Kafka writes it back), to tell "mine" from
  // "another change's" in its answer.
  for (auto& [key, value] : *next) value = canonical_topic_config(key, value);
  auto wanted = last_value_of_each_key(*next);
  self->request(registry, std::chrono::seconds(10), configure_atom::value, name,
                std::move(current), std::move(*next))
      .then(
          [=](storage::topic_info& topic) {
            if (topic.configs == wanted) return stored(topic);
            if (attempts_left <= 1) return failed(make_caf_error(errc::timeout));
            reconfigure_from(self, registry, name, std::move(topic.configs), compute, stored,
                             failed, attempts_left - 1);
          },
          [=](caf::error& e) { failed(e); });
}

/// Reads the topic's overrides, then reconfigure_from them.
template <class Self, class Compute, class Stored, class Failed>
void reconfigure_topic(Self* self, const topic_registry_actor& registry, const std::string& name,
                       Compute compute, Stored stored, Failed failed) {
  self->request(registry, std::chrono::seconds(10), topic_atom::value, name, false)
      .then(
          [=](storage::topic_info& topic) {
            reconfigure_from(self, registry, name, std::move(topic.configs), compute, stored,
                             failed);
          },
          [=](caf::error& e) { failed(e); });
}

}  // namespace portask
