#pragma once
/// The topic-level configs Portask accepts (Kafka's names and rules), and their validation:
/// one place for CreateTopics, AlterConfigs, IncrementalAlterConfigs and the native create,
/// so a value is refused the same way whichever door it came through. Which of them Portask
/// acts on is in docs/kafka.md; the rest are stored and reported, as Kafka tools expect.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

namespace portask {

enum class config_kind { boolean, integer, long_integer, ratio, enumerated, list };

struct topic_config_spec {
  std::string_view name;
  config_kind kind;
  /// Kafka 3.x's default, which DescribeConfigs reports for a topic without an override
  /// (unless the broker's own setting decides it: retention, max.message.bytes).
  std::string_view kafka_default;
  long long min = 0;                           ///< integers: the smallest value allowed
  std::vector<std::string_view> choices = {};  ///< enumerated / list: the values allowed
  /// A rule of the key's own, checked instead of `choices` (Kafka's validator for it): why
  /// the value is refused, or nothing.
  std::optional<std::string> (*rule)(std::string_view value) = nullptr;
};

/// Every topic config Portask knows; anything else is refused.
const std::vector<topic_config_spec>& topic_config_specs();
const topic_config_spec* find_topic_config(std::string_view name);

/// The items of a list config's value ("delete, compact" -> delete, compact), spaces trimmed;
/// an empty item stays (it is not a valid one).
std::vector<std::string> config_list_items(std::string_view value);

/// The value of `name` in a topic's configs (the last one given) read as a whole number or a
/// ratio; nothing when it is absent or not one (create and alter refuse such values, so the
/// caller's default applies only to a key that is not set).
std::optional<std::int64_t> config_integer(
    const std::vector<std::pair<std::string, std::string>>& configs, std::string_view name);
std::optional<double> config_ratio(const std::vector<std::pair<std::string, std::string>>& configs,
                                   std::string_view name);

/// Whether a topic of these configs has `policy` ("delete", "compact") among its
/// cleanup.policy (the last value given; Kafka's default, "delete", when none is).
bool cleanup_policy_includes(const std::vector<std::pair<std::string, std::string>>& configs,
                             std::string_view policy);

/// Why `value` is not acceptable for `name` ("unknown config", "not a number", ...), or
/// nothing when it is.
std::optional<std::string> topic_config_problem(std::string_view name, std::string_view value);
/// `value` as Kafka's ConfigDef reads it and writes it back (trimmed; "true"/"false"; an
/// integer without '+' or leading zeros; a list's items joined by commas): what a topic
/// stores and DescribeConfigs reports. An unknown key's value is returned as given.
std::string canonical_topic_config(std::string_view name, std::string_view value);

/// The most partitions a topic may have, created or grown.
inline constexpr std::int32_t max_topic_partitions = 10000;

/// Why a client may not create a topic of this name, or nothing: a name outside Kafka's rules
/// (`internal` false) or the internal topic's name, which the broker creates (`internal` true).
struct topic_name_problem {
  bool internal = false;
  std::string message;
};
std::optional<topic_name_problem> creatable_name_problem(std::string_view name);

/// Why a topic may not have `partitions` partitions (outside 1..max_topic_partitions), or nothing.
std::optional<std::string> partition_count_problem(std::int64_t partitions);

/// Why `topic`, of `current` partitions, may not grow to `wanted` (a count not above its
/// own), or nothing: Kafka's controller's sentences, word for word (only the smaller count's
/// names the topic), so that Kafka's CreatePartitions and the native add partitions say alike.
std::optional<std::string> partition_growth_problem(std::string_view topic, std::int32_t current,
                                                    std::int64_t wanted);

/// `configs` with each key once, at the value it was given last, in the order keys first
/// came: a create naming a key twice gets the last value, as Kafka's does, and every part of
/// the broker reads the same one.
std::vector<std::pair<std::string, std::string>> last_value_of_each_key(
    std::vector<std::pair<std::string, std::string>> configs);

/// Values that are each valid but not together, as Kafka's LogConfig refuses them: a
/// max.compaction.lag.ms below min.compaction.lag.ms. Checked on what a topic is left with,
/// after a create or a change.
std::optional<std::string> topic_configs_conflict(
    const std::vector<std::pair<std::string, std::string>>& configs);

/// The first of `configs` that topic_config_problem refuses, with its reason, or their
/// conflict (topic_configs_conflict), or nothing.
/// A create is checked name, partition count, configs, in that order: the native and HTTP
/// doors call the three; Kafka's CreateTopics calls them with its own error codes, around
/// its replication checks.
std::optional<std::string> topic_configs_problem(
    const std::vector<std::pair<std::string, std::string>>& configs);

}  // namespace portask
