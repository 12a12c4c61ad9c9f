// AlterConfigs (key 33) and IncrementalAlterConfigs (key 44): a topic's config overrides,
// changed at run time and stored with the topic; and, through IncrementalAlterConfigs, the
// broker's loggers (BROKER_LOGGER: SET a level, DELETE back to the broker's). AlterConfigs replaces the whole set (keys it
// does not name go back to their defaults); the incremental form SETs, DELETEs, and APPENDs
// to or SUBTRACTs from list configs. Every value is validated as CreateTopics validates it
// (topic_configs). Broker configs come from Portask's config file and flags and cannot be
// changed at run time: such requests are refused with a message saying so.
// ACLs: ALTER_CONFIGS on the topic, or on the cluster for the broker (and its loggers).
#include <algorithm>
#include <map>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <variant>

#include "actors/connections/kafka/broker_loggers.hpp"
#include "actors/connections/kafka/error_messages.hpp"
#include "actors/connections/kafka/handlers.hpp"
#include "actors/pipeline/reconfigure_topic.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "protocol/topic_name.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

constexpr std::int8_t resource_topic = 2;
constexpr std::int8_t resource_broker = 4;
constexpr std::int8_t resource_broker_logger = 8;
enum class op : std::int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct refusal {
  error_code code;
  std::string message;
};

// One requested change of one key.
struct change {
  std::string name;
  op operation = op::set;
  std::optional<std::string> value;
};

// A list value's non-empty items (an APPEND or SUBTRACT of "a," means "a").
std::vector<std::string> split_list(const std::string& s) {
  auto items = config_list_items(s);
  std::erase_if(items, [](const std::string& i) { return i.empty(); });
  return items;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// The topic's new overrides: `current` with `changes` applied (replace: start from nothing).
std::variant<storage::config_entries, refusal> apply(storage::config_entries current,
                                                     const std::vector<change>& changes,
                                                     bool replace) {
  if (replace) current.clear();
  // A set, not a search of the keys seen so far: a request may name very many keys, and each
  // must cost the same (`current` stays small: it holds only keys Portask knows, once each).
  std::unordered_set<std::string_view> named;
  for (const auto& c : changes) {
    if (!named.insert(c.name).second)
      return refusal{error_code::invalid_request, "config '" + c.name + "' is named twice"};
    const auto* spec = find_topic_config(c.name);
    // As Kafka, which checks only what the topic is left with: deleting a key Portask does
    // not know (one of Kafka's own, say, or one an earlier version stored) is done, or
    // finds nothing to delete.
    if (!spec && c.operation == op::remove) {
      std::erase_if(current, [&](const auto& kv) { return kv.first == c.name; });
      continue;
    }
    if (!spec) return refusal{error_code::invalid_config, "unknown config '" + c.name + "'"};
    auto it = std::find_if(current.begin(), current.end(),
                           [&](const auto& kv) { return kv.first == c.name; });
    if (c.operation == op::remove) {
      if (it != current.end()) current.erase(it);
      continue;
    }
    if (!c.value)
      return refusal{error_code::invalid_request, "null value for '" + c.name + "'"};
    std::string value = *c.value;
    if (c.operation == op::append || c.operation == op::subtract) {
      if (spec->kind != config_kind::list)
        return refusal{error_code::invalid_config,
                       "'" + c.name + "' is not a list: APPEND and SUBTRACT do not apply"};
      // The list as it stands: the override, else the default (delete for cleanup.policy).
      // As Kafka: APPEND adds the items not there yet, SUBTRACT removes every copy of each
      // item given; through sets, so that a long value costs in proportion to its length.
      auto items = split_list(it != current.end() ? it->second : std::string(spec->kafka_default));
      const auto given = split_list(value);
      if (c.operation == op::append) {
        std::unordered_set<std::string> present(items.begin(), items.end());
        for (const auto& v : given)
          if (present.insert(v).second) items.push_back(v);
      } else {
        const std::unordered_set<std::string> removed(given.begin(), given.end());
        std::erase_if(items, [&](const std::string& i) { return removed.contains(i); });
      }
      value = join_list(items);
    } else if (c.operation != op::set) {
      return refusal{error_code::invalid_request,
                     "unknown config operation " + std::to_string(static_cast<int>(c.operation))};
    }
    if (auto problem = topic_config_problem(c.name, value))
      return refusal{error_code::invalid_config, *problem};
    if (it != current.end())
      it->second = value;
    else
      current.emplace_back(c.name, value);
  }
  if (auto problem = topic_configs_conflict(current)) return refusal{error_code::invalid_config, *problem};
  return current;
}

// The broker's loggers: every change checked before any applies, as Kafka checks them.
std::optional<refusal> alter_loggers(self_ptr self, const std::string& broker,
                                     const std::vector<change>& changes, bool validate_only) {
  // A SET without a value is a malformed request before anything else, as in Kafka.
  std::string unset;
  for (const auto& c : changes)
    if (c.operation != op::remove && !c.value) unset += (unset.empty() ? "" : ", ") + c.name;
  if (!unset.empty()) return refusal{error_code::invalid_request, "null value for " + unset};
  if (auto problem = broker_name_problem(broker, broker_id(self)))
    return refusal{error_code::invalid_request, *problem};
  std::vector<std::pair<std::string, spdlog::level::level_enum>> levels;
  for (const auto& c : changes) {
    for (const auto& [named, level] : levels)
      if (named == c.name)
        return refusal{error_code::invalid_request, "logger '" + c.name + "' is named twice"};
    if (!is_module_logger(c.name)) {
      std::string known;
      for (auto m : logging::modules) known += (known.empty() ? "" : ", ") + std::string(m);
      return refusal{error_code::invalid_config,
                     "logger '" + c.name + "' does not exist (the loggers are " + known + ")"};
    }
    if (c.operation == op::set) {
      const auto level = level_of_kafka_name(*c.value);
      if (!level)
        return refusal{error_code::invalid_config,
                       "cannot set the level of " + c.name + " to " + *c.value +
                           ": the levels are FATAL, ERROR, WARN, INFO, DEBUG and TRACE"};
      levels.emplace_back(c.name, *level);
    } else if (c.operation == op::remove) {
      // Back to the broker's level: log_level, or what SIGHUP or PUT /api/loggers/all set.
      levels.emplace_back(c.name, spdlog::default_logger()->level());
    } else {
      return refusal{error_code::invalid_request,
                     "only SET and DELETE apply to broker loggers, not APPEND or SUBTRACT"};
    }
  }
  if (validate_only) return std::nullopt;
  for (const auto& [name, level] : levels) {
    logging::named(name)->set_level(level);
    logging::runtime().info("log level of {} set to {} (Kafka IncrementalAlterConfigs)", name,
                            kafka_level_name(level));
  }
  return std::nullopt;
}

// Why a resource cannot be altered whatever its changes say (its type), or none. Checked
// before the changes are gathered: a resource refused anyway costs nothing however many
// entries it carries. The broker's own topic is refuse_internal's.
std::optional<refusal> unalterable(std::int8_t type, bool replace) {
  if (type == resource_broker) {
    return refusal{error_code::invalid_request,
                   "broker configs are set by Portask's config file and flags and cannot "
                   "be changed at run time"};
  }
  // Only IncrementalAlterConfigs takes loggers (`replace` is AlterConfigs').
  if (type == resource_broker_logger && !replace) return std::nullopt;
  if (type != resource_topic)
    return refusal{error_code::invalid_request, "unsupported resource type " + std::to_string(type)};
  return std::nullopt;
}

// The broker's own topic: `done(refusal)`. Once it exists its configs are the broker's, and
// refused here, not only by the registry, so that validateOnly answers what the change
// would. Until the first commit creates it, it is a topic that does not exist, as Kafka
// (and DescribeConfigs and Metadata here) say of it then.
template <class Done>
void refuse_internal(self_ptr self, const std::string& name, Done done) {
  self->request(self->state.dir.registry, 10s, topic_atom::value, name, false)
      .then(
          [=](storage::topic_info&) {
            done(refusal{error_code::invalid_request,
                         "topic '" + name + "' is internal: the broker keeps it, its configs cannot be changed"});
          },
          [=](const caf::error& e) {
            const auto why = to_errc(e);
            done(refusal{static_cast<error_code>(to_kafka(why)), topic_error_message(why, name)});
          });
}

// Alters one resource that `unalterable` let through and calls `done(refusal or none)`.
template <class Done>
void alter_resource(self_ptr self, std::int8_t type, const std::string& name,
                    std::vector<change> changes, bool replace, bool validate_only, Done done) {
  if (type == resource_broker_logger && !replace)
    return done(alter_loggers(self, name, changes, validate_only));
  // Computed from the overrides the topic holds, and again when another change came first.
  reconfigure_topic(
      self, self->state.dir.registry, name,
      [=](const storage::config_entries& current) -> std::optional<storage::config_entries> {
        auto next = apply(current, changes, replace);
        if (auto* no = std::get_if<refusal>(&next)) {
          done(*no);
          return std::nullopt;
        }
        if (validate_only) {
          done(std::nullopt);
          return std::nullopt;
        }
        return std::get<storage::config_entries>(std::move(next));
      },
      [=](storage::topic_info&) { done(std::nullopt); },
      [=](const caf::error& e) {
        const auto why = to_errc(e);
        done(refusal{static_cast<error_code>(to_kafka(why)),
                     why == errc::timeout
                         ? "topic '" + name + "': other changes of its configs kept coming first; try again"
                         : topic_error_message(why, name)});
      });
}

// Kafka's check, before anything else about the resource: ALTER_CONFIGS on the topic, or on
// the cluster for the broker and, where the API takes them (`loggers`), its loggers. The
// error when refused (Kafka gives no message).
std::optional<error_code> unauthorized(self_ptr self, std::int8_t type, const std::string& name,
                                       bool loggers) {
  constexpr auto needed = sec::acl_operation::alter_configs;
  if (type == resource_topic && !allowed(self, needed, sec::resource_type::topic, name))
    return error_code::topic_authorization_failed;
  if ((type == resource_broker || (loggers && type == resource_broker_logger)) &&
      !allowed_on_cluster(self, needed))
    return error_code::cluster_authorization_failed;
  return std::nullopt;
}

// Both APIs: one answer per resource, in request order, once every resource is done.
template <class Res, class Req, class ChangesOf>
void alter_all(self_ptr self, const request& r, const Req& req, bool replace, bool flexible,
               ChangesOf changes_of) {
  // Only IncrementalAlterConfigs takes broker loggers; AlterConfigs refuses them as invalid,
  // before authorizing, as Kafka does.
  constexpr bool loggers = std::is_same_v<Req, msg::IncrementalAlterConfigsRequest>;
  auto res = std::make_shared<Res>();
  res->responses.resize(req.resources.size());
  auto pending = std::make_shared<std::size_t>(req.resources.size() + 1);
  auto finish = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  // A resource named twice is refused in every place, as Kafka does: changes to the same
  // resource are not to be applied one over the other in an order the client did not choose.
  std::map<std::pair<std::int8_t, std::string>, int> named;
  for (const auto& rs : req.resources) ++named[{rs.resourceType, rs.resourceName}];
  for (std::size_t i = 0; i < req.resources.size(); ++i) {
    const auto& rs = req.resources[i];
    res->responses[i].resourceType = rs.resourceType;
    res->responses[i].resourceName = rs.resourceName;
    if (named.at({rs.resourceType, rs.resourceName}) > 1) {
      res->responses[i].errorCode = static_cast<std::int16_t>(error_code::invalid_request);
      res->responses[i].errorMessage = "Each resource must appear at most once.";
      finish();
      continue;
    }
    if (auto no = unauthorized(self, rs.resourceType, rs.resourceName, loggers)) {
      res->responses[i].errorCode = static_cast<std::int16_t>(*no);
      res->responses[i].errorMessage = std::nullopt;
      finish();
      continue;
    }
    if (auto no = unalterable(rs.resourceType, replace)) {
      res->responses[i].errorCode = static_cast<std::int16_t>(no->code);
      res->responses[i].errorMessage = no->message;
      finish();
      continue;
    }
    auto answer = [=](std::optional<refusal> no) {
      if (no) {
        res->responses[i].errorCode = static_cast<std::int16_t>(no->code);
        res->responses[i].errorMessage = no->message;
      }
      finish();
    };
    if (rs.resourceType == resource_topic && protocol::is_internal_topic(rs.resourceName)) {
      refuse_internal(self, rs.resourceName, answer);
      continue;
    }
    alter_resource(self, rs.resourceType, rs.resourceName, changes_of(rs), replace,
                   req.validateOnly, answer);
  }
  finish();
}

}  // namespace

void handle_alter_configs(self_ptr self, const request& r, protocol::byte_view body) {
  msg::AlterConfigsRequest req;
  if (!PORTASK_KAFKA_DECODE(AlterConfigs, body, req)) return;
  alter_all<msg::AlterConfigsResponse>(
      self, r, req, true, msg::AlterConfigsRequest_is_flexible(r.api_version),
      [](const auto& rs) {
        // A key given twice takes its last value, as Kafka's AlterConfigs (a properties map)
        // does; only the incremental API refuses it. Each key's last entry is found in one
        // pass from the end, so a long list costs in proportion to its length (Kafka has no
        // limit on the entries of a resource, and none is set here either).
        std::unordered_set<std::string_view> later;
        std::vector<change> out;
        for (auto c = rs.configs.rbegin(); c != rs.configs.rend(); ++c)
          if (later.insert(c->name).second) out.push_back({c->name, op::set, c->value});
        std::reverse(out.begin(), out.end());
        return out;
      });
}

void handle_incremental_alter_configs(self_ptr self, const request& r, protocol::byte_view body) {
  msg::IncrementalAlterConfigsRequest req;
  if (!PORTASK_KAFKA_DECODE(IncrementalAlterConfigs, body, req)) return;
  alter_all<msg::IncrementalAlterConfigsResponse>(
      self, r, req, false, msg::IncrementalAlterConfigsRequest_is_flexible(r.api_version),
      [](const auto& rs) {
        std::vector<change> out;
        for (const auto& c : rs.configs)
          out.push_back({c.name, static_cast<op>(c.configOperation), c.value});
        return out;
      });
}

}  // namespace portask::kafka
