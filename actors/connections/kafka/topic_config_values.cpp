#include "actors/connections/kafka/topic_config_values.hpp"

#include <algorithm>

#include "actors/pipeline/topic_configs.hpp"

namespace portask::kafka {

config_type topic_config_type(const std::string& name) {
  const auto* spec = find_topic_config(name);
  if (!spec) return t_string;
  switch (spec->kind) {
    case config_kind::boolean: return t_boolean;
    case config_kind::integer: return t_int;
    case config_kind::long_integer: return t_long;
    case config_kind::list: return t_list;
    case config_kind::ratio: return t_double;
    case config_kind::enumerated: return t_string;
  }
  return t_string;
}

std::vector<config_value> topic_config_values(const broker_context& ctx,
                                              const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<config_value> out;
  for (const auto& [key, value] : overrides) out.push_back({key, value, source_topic, topic_config_type(key)});
  const broker_config built_in;
  for (const auto& spec : topic_config_specs()) {
    const std::string name(spec.name);
    if (std::any_of(overrides.begin(), overrides.end(), [&](const auto& kv) { return kv.first == name; }))
      continue;
    if (name == "retention.ms")
      out.push_back(broker_value("retention.ms", ctx.config.log_retention_ms, built_in.log_retention_ms, t_long));
    else if (name == "retention.bytes")
      out.push_back(
          broker_value("retention.bytes", ctx.config.log_retention_bytes, built_in.log_retention_bytes, t_long));
    else if (name == "max.message.bytes")
      out.push_back({name, std::to_string(ctx.config.max_frame_bytes), source_static, t_int});
    else
      out.push_back({name, std::string(spec.kafka_default), source_default, topic_config_type(name)});
  }
  return out;
}

}  // namespace portask::kafka
