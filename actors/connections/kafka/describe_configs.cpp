// DescribeConfigs (key 32): topic configs (every key a topic accepts: the topic's own
// override, else the default) and the broker's configs. A default is the broker's where the
// broker decides it (its log_retention_ms / log_retention_bytes, the frame limit as
// max.message.bytes) and Kafka's otherwise, each with its source: the topic, the broker's
// config, or the built-in default. Which overrides Portask acts on: docs/kafka.md. The
// broker's loggers (BROKER_LOGGER) are listed with their levels (broker_loggers.hpp). The
// broker named "" is Kafka's cluster-wide default broker, whose configs are the dynamic
// defaults set for every broker: Portask has none, so it lists no config.
// ACLs: DESCRIBE_CONFIGS on the topic, or on the cluster for the broker and its loggers.
#include <spdlog/spdlog.h>

#include "actors/connections/kafka/broker_loggers.hpp"
#include "actors/connections/kafka/config_documentation.hpp"
#include "actors/connections/kafka/error_messages.hpp"
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/topic_config_values.hpp"
#include "protocol/topic_name.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using result_t = msg::DescribeConfigsResponse::DescribeConfigsResult;
using entry_t = result_t::DescribeConfigsResourceResult;

// Resource types, from Kafka's protocol (sources and types: topic_config_values.hpp).
constexpr std::int8_t resource_topic = 2;
constexpr std::int8_t resource_broker = 4;
constexpr std::int8_t resource_broker_logger = 8;

// Kafka's form: NAME://host:port for each listener, comma-separated; an IPv6 address in
// brackets, as Kafka writes it, so that the port stays apart from it.
std::string advertised_listeners(const broker_context& ctx) {
  std::string out;
  for (const auto& e : ctx.kafka_endpoints)
    out += (out.empty() ? "" : ",") + e->name + "://" +
           to_string(host_port{e->advertised_host, e->advertised_port.load()});
  return out;
}

std::vector<config_value> broker_configs(const broker_context& ctx) {
  const auto& c = ctx.config;
  return {
      {"broker.id", std::to_string(ctx.cluster()->self), source_static, t_int},
      {"num.partitions", std::to_string(std::max(1u, c.default_partitions)), source_static, t_int},
      {"auto.create.topics.enable", c.auto_create_topics ? "true" : "false", source_static,
       t_boolean},
      {"message.max.bytes", std::to_string(c.max_frame_bytes), source_static, t_int},
      {"advertised.listeners", advertised_listeners(ctx), source_static, t_list},
      {"default.replication.factor", "1", source_default, t_int},
      {"offsets.topic.replication.factor", "1", source_default, t_int},
      broker_value("log.retention.ms", c.log_retention_ms, broker_config{}.log_retention_ms,
                   t_long),
      broker_value("log.retention.bytes", c.log_retention_bytes,
                   broker_config{}.log_retention_bytes, t_long),
      broker_value("log.retention.check.interval.ms",
                   static_cast<std::int64_t>(c.log_retention_check_interval_ms),
                   static_cast<std::int64_t>(broker_config{}.log_retention_check_interval_ms),
                   t_long),
      // Kafka's setting is in minutes (an int, at least 1): offsets_retention_ms rounded up
      // to whole minutes, -1 for ever (which Kafka has no value for).
      broker_value("offsets.retention.minutes",
                   c.offsets_retention_ms < 0 ? -1 : (c.offsets_retention_ms + 59999) / 60000,
                   broker_config{}.offsets_retention_ms / 60000, t_int),
  };
}

// The broker's loggers (broker_loggers.hpp), each with its level now.
std::vector<config_value> logger_configs() {
  std::vector<config_value> out;
  for (auto m : logging::modules)
    out.push_back({std::string(m), std::string(kafka_level_name(logging::named(m)->level())),
                   source_logger, t_unknown});  // as Kafka leaves it
  return out;
}

// `topic_of`: the broker whose topic configs these are (their synonyms are Kafka's chain to
// the broker configs); none for the broker's own configs and loggers.
void fill(result_t& out, const std::vector<config_value>& values,
          const std::optional<std::vector<std::string>>& keys, std::int16_t version,
          bool include_synonyms, bool include_documentation,
          const broker_context* topic_of = nullptr) {
  for (const auto& v : values) {
    if (keys && !keys->empty() &&
        std::find(keys->begin(), keys->end(), v.name) == keys->end())
      continue;
    entry_t e;
    e.name = v.name;
    e.value = v.value;
    e.readOnly = out.resourceType == resource_broker;
    e.isDefault = v.source == source_default;
    e.configSource = v.source;
    e.isSensitive = false;
    if (version >= 3) e.configType = v.type;
    if (include_synonyms && topic_of) {
      for (const auto& s : topic_config_synonyms(*topic_of, v))
        e.synonyms.push_back({s.name, s.value, s.source});
    } else if (include_synonyms && v.source != source_logger) {
      e.synonyms.push_back({v.name, v.value, v.source});
    }
    // Asked for (v3+): what the key means and what Portask does with it.
    e.documentation = include_documentation ? config_documentation(v.name) : std::nullopt;
    out.configs.push_back(std::move(e));
  }
}

struct refusal {
  error_code code;
  const char* message;  ///< Kafka's
};

// Kafka's check, before the resource is looked at: DESCRIBE_CONFIGS on the topic, or on the
// cluster for the broker and its loggers. A refused resource answers with no configs.
std::optional<refusal> unauthorized(self_ptr self, std::int8_t type, const std::string& name) {
  constexpr auto needed = sec::acl_operation::describe_configs;
  if (type == resource_topic && !allowed(self, needed, sec::resource_type::topic, name))
    return refusal{error_code::topic_authorization_failed, "Topic authorization failed."};
  if ((type == resource_broker || type == resource_broker_logger) &&
      !allowed_on_cluster(self, needed))
    return refusal{error_code::cluster_authorization_failed, "Cluster authorization failed."};
  return std::nullopt;
}

}  // namespace

void handle_describe_configs(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeConfigsRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeConfigs, body, req)) return;
  auto res = std::make_shared<msg::DescribeConfigsResponse>();
  const bool flexible = msg::DescribeConfigsRequest_is_flexible(r.api_version);
  res->results.resize(req.resources.size());
  auto pending = std::make_shared<std::size_t>(1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  const auto& ctx = *self->state.ctx;
  for (std::size_t i = 0; i < req.resources.size(); ++i) {
    const auto& rq = req.resources[i];
    auto& out = res->results[i];
    out.resourceType = rq.resourceType;
    out.resourceName = rq.resourceName;
    out.errorMessage = std::nullopt;
    if (auto no = unauthorized(self, rq.resourceType, rq.resourceName)) {
      out.errorCode = static_cast<std::int16_t>(no->code);
      out.errorMessage = no->message;
      continue;
    }
    if (rq.resourceType == resource_broker) {
      // As Kafka's ConfigHelper: "" answers the dynamic default configs only (none here),
      // never this broker's static ones.
      if (rq.resourceName.empty()) continue;
      if (rq.resourceName != std::to_string(broker_id(self))) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        out.errorMessage = "unknown broker id " + rq.resourceName;
      } else {
        fill(out, broker_configs(ctx), rq.configurationKeys, r.api_version, req.includeSynonyms,
             req.includeDocumentation);
      }
      continue;
    }
    if (rq.resourceType == resource_broker_logger) {
      // As Kafka: the loggers of the broker named, which must be this one.
      if (auto problem = broker_name_problem(rq.resourceName, broker_id(self))) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        out.errorMessage = *problem;
      } else {
        fill(out, logger_configs(), rq.configurationKeys, r.api_version, req.includeSynonyms,
             req.includeDocumentation);
      }
      continue;
    }
    if (rq.resourceType != resource_topic) {
      out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
      out.errorMessage = "unsupported resource type " + std::to_string(rq.resourceType);
      continue;
    }
    // As Kafka's ConfigHelper: a name no topic could have is INVALID_TOPIC_EXCEPTION, not
    // unknown.
    if (!protocol::is_valid_topic_name(rq.resourceName)) {
      out.errorCode = static_cast<std::int16_t>(error_code::invalid_topic_exception);
      out.errorMessage = "Topic name '" + rq.resourceName + "' is illegal: 1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-', "
                         "and not '.' or '..'.";
      continue;
    }
    ++*pending;
    const auto keys = rq.configurationKeys;
    const bool synonyms = req.includeSynonyms;
    const bool documentation = req.includeDocumentation;
    const auto topic = rq.resourceName;
    // The topic's configs only: no partition is asked (or started) for its bounds.
    self->request(self->state.dir.registry, 10s, topic_atom::value, topic, false)
        .then(
            [=](storage::topic_info& info) {
              auto& o = res->results[i];
              fill(o, topic_config_values(*self->state.ctx, info.configs), keys, r.api_version, synonyms,
                   documentation, self->state.ctx.get());
              done();
            },
            [=](caf::error& e) {
              res->results[i].errorCode = to_kafka(to_errc(e));
              res->results[i].errorMessage = topic_error_message(e, topic);
              done();
            });
  }
  done();
}

}  // namespace portask::kafka
