#include "actors/connections/kafka/topic_config_values.hpp"

#include <algorithm>
#include <optional>

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

namespace {

// A topic config whose default Portask's broker decides: its setting, and its built-in value
// (none: always the broker's own setting, as the frame limit is for max.message.bytes).
struct broker_decided {
  std::int64_t value = 0;
  std::optional<std::int64_t> built_in;
  bool set() const noexcept { return !built_in || value != *built_in; }
};

std::optional<broker_decided> decided_by_broker(const broker_context& ctx, std::string_view name) {
  const broker_config defaults;
  if (name == "retention.ms") return broker_decided{ctx.config.log_retention_ms, defaults.log_retention_ms};
  if (name == "retention.bytes")
    return broker_decided{ctx.config.log_retention_bytes, defaults.log_retention_bytes};
  if (name == "max.message.bytes")
    return broker_decided{static_cast<std::int64_t>(ctx.config.max_frame_bytes), std::nullopt};
  return std::nullopt;
}

}  // namespace

std::vector<config_value> topic_config_values(const broker_context& ctx,
                                              const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<config_value> out;
  // As Kafka describes a value: as its ConfigDef writes it back (a topic stored before values
  // were kept that way, or a create answering what it was given, shows the same).
  for (const auto& [key, value] : overrides)
    out.push_back({key, canonical_topic_config(key, value), source_topic, topic_config_type(key)});
  for (const auto& spec : topic_config_specs()) {
    const std::string name(spec.name);
    if (std::any_of(overrides.begin(), overrides.end(), [&](const auto& kv) { return kv.first == name; }))
      continue;
    if (auto d = decided_by_broker(ctx, name))
      out.push_back({name, std::to_string(d->value), d->set() ? source_static : source_default,
                     topic_config_type(name)});
    else
      out.push_back({name, std::string(spec.kafka_default), source_default, topic_config_type(name)});
  }
  return out;
}

namespace {

// Kafka's per-topic form of a broker config (LogConfig.TopicConfigSynonyms).
const char* broker_form(std::string_view topic_key) {
  static constexpr std::pair<std::string_view, const char*> forms[] = {
      {"segment.bytes", "log.segment.bytes"},
      {"segment.ms", "log.roll.ms"},
      {"segment.jitter.ms", "log.roll.jitter.ms"},
      {"segment.index.bytes", "log.index.size.max.bytes"},
      {"flush.messages", "log.flush.interval.messages"},
      {"flush.ms", "log.flush.interval.ms"},
      {"retention.bytes", "log.retention.bytes"},
      {"retention.ms", "log.retention.ms"},
      {"max.message.bytes", "message.max.bytes"},
      {"index.interval.bytes", "log.index.interval.bytes"},
      {"delete.retention.ms", "log.cleaner.delete.retention.ms"},
      {"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms"},
      {"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms"},
      {"file.delete.delay.ms", "log.segment.delete.delay.ms"},
      {"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio"},
      {"cleanup.policy", "log.cleanup.policy"},
      {"unclean.leader.election.enable", "unclean.leader.election.enable"},
      {"min.insync.replicas", "min.insync.replicas"},
      {"compression.type", "compression.type"},
      {"preallocate", "log.preallocate"},
      {"message.format.version", "log.message.format.version"},
      {"message.timestamp.type", "log.message.timestamp.type"},
      {"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms"},
      {"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms"},
      {"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms"},
      {"local.retention.ms", "log.local.retention.ms"},
      {"local.retention.bytes", "log.local.retention.bytes"},
      {"message.downconversion.enable", "log.message.downconversion.enable"},
  };
  for (const auto& [key, form] : forms)
    if (key == topic_key) return form;
  return nullptr;
}

}  // namespace

std::vector<config_value> topic_config_synonyms(const broker_context& ctx, const config_value& v) {
  std::vector<config_value> out;
  if (v.source == source_topic) out.push_back(v);
  const char* form = broker_form(v.name);
  if (!form) return out;
  // Where Portask's broker decides the default: its setting (when set), then its built-in one.
  if (auto d = decided_by_broker(ctx, v.name)) {
    if (d->set()) out.push_back({form, std::to_string(d->value), source_static, v.type});
    if (d->built_in) out.push_back({form, std::to_string(*d->built_in), source_default, v.type});
  } else if (const auto* spec = find_topic_config(v.name)) {
    out.push_back({form, std::string(spec->kafka_default), source_default, v.type});
  }
  return out;
}

}  // namespace portask::kafka
