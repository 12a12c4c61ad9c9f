#pragma once
/// A topic's configs as Kafka reports them, each with its value, source and type: the topic's
/// own overrides, then every other key a topic accepts at its default (the broker's setting
/// where one decides it: retention, the frame limit as max.message.bytes; Kafka's otherwise).
/// DescribeConfigs answers them, and so does CreateTopics (v5+) for the topic it created.

#include <cstdint>
#include <string>
#include <vector>

#include "actors/runtime/broker_context.hpp"

namespace portask::kafka {

/// Config sources and types, from Kafka's protocol.
inline constexpr std::int8_t source_topic = 1;    // DYNAMIC_TOPIC_CONFIG
inline constexpr std::int8_t source_static = 4;   // STATIC_BROKER_CONFIG
inline constexpr std::int8_t source_default = 5;  // DEFAULT_CONFIG
inline constexpr std::int8_t source_logger = 6;   // DYNAMIC_BROKER_LOGGER_CONFIG
enum config_type : std::int8_t { t_unknown = 0, t_boolean = 1, t_string = 2, t_int = 3, t_long = 5, t_double = 6, t_list = 7 };

struct config_value {
  std::string name;
  std::string value;
  std::int8_t source;
  config_type type;
};

/// A broker setting: a static broker config when the config file or flags changed it, a
/// default otherwise.
template <class T>
config_value broker_value(const char* name, T value, T built_in, config_type type) {
  return {name, std::to_string(value), value == built_in ? source_default : source_static, type};
}

/// Kafka's type of a topic config (STRING for a name it does not know).
config_type topic_config_type(const std::string& name);

/// `overrides` (the topic's own, each key once), then every other topic config at its default.
std::vector<config_value> topic_config_values(const broker_context& ctx,
                                              const std::vector<std::pair<std::string, std::string>>& overrides);

/// The synonyms DescribeConfigs lists for topic config `v` (one of topic_config_values), in
/// Kafka's order of precedence: the topic's override, then the broker config of which the topic
/// config is the per-topic form (Kafka's LogConfig.TopicConfigSynonyms: retention.ms is
/// log.retention.ms, ...) as the broker sets it, where Portask's broker decides it, then that
/// broker config at its default. A key without a broker form lists its override only.
std::vector<config_value> topic_config_synonyms(const broker_context& ctx, const config_value& v);

}  // namespace portask::kafka
