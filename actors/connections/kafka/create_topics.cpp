// CreateTopics (key 19) and DeleteTopics (key 20): each topic through the registry (the same
// path as the native TopicAdmin create and delete). numPartitions -1 means the broker's
// default; explicit replica assignments define the partition count. One broker: a
// replication factor other than 1 (or -1, the default) cannot be honoured and is refused, as
// Kafka refuses one larger than its broker count. validateOnly checks without creating.
// ACLs: CREATE on the cluster or the topic to create; DELETE on the cluster, or DESCRIBE and
// DELETE on the topic, to delete.
// timeoutMs bounds the wait for each topic (REQUEST_TIMED_OUT after it; the change goes on).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "actors/connections/kafka/error_messages.hpp"
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/manual_assignment.hpp"
#include "actors/connections/kafka/topic_config_values.hpp"
#include "actors/pipeline/topic_configs.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using creatable_topic = msg::CreateTopicsRequest::CreatableTopic;

struct refusal {
  error_code code;
  std::string message;
};

// Names that Kafka's metrics would confuse ('.' and '_' are the same there).
std::string collision_key(std::string name) {
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// The topics there are, by name and by the name Kafka's metrics would give them ('.' and
// '_' are the same there).
struct existing_topics {
  std::set<std::string> names;
  std::map<std::string, std::string> by_collision_key;
};

// Kafka's checks of one topic's name, in Kafka's order (ReplicationControlManager): a valid
// name, one that does not collide with another topic's, and one not taken; `claimed` holds
// this request's earlier names, by collision key. The registry checks collisions again for
// every way of creating a topic (topic_name_collision); here they are found first, for
// validateOnly and for Kafka's message naming the other topic.
std::optional<refusal> check_name(const std::string& name, const existing_topics& existing,
                                  const std::map<std::string, std::string>& claimed) {
  if (auto problem = creatable_name_problem(name))
    return refusal{problem->internal ? error_code::invalid_request : error_code::invalid_topic_exception,
                   problem->message};
  const auto key = collision_key(name);
  std::string other;
  if (auto e = existing.by_collision_key.find(key); e != existing.by_collision_key.end() && e->second != name)
    other = e->second;
  else if (auto c = claimed.find(key); c != claimed.end() && c->second != name)
    other = c->second;
  if (!other.empty())
    return refusal{error_code::invalid_topic_exception,
                   "Topic '" + name + "' collides with existing topic: " + other};
  // Before the topic's settings are looked at: a script creating what may be there already
  // learns that it is, whatever it asked for.
  if (existing.names.contains(name))
    return refusal{error_code::topic_already_exists, "Topic '" + name + "' already exists."};
  return std::nullopt;
}

// Kafka's checks of the rest of a topic, in Kafka's order (its configs, then its partitions
// and replicas); the partition count it asks for otherwise.
std::variant<std::int32_t, refusal> check(const creatable_topic& t, std::int32_t defaults,
                                          const cluster_view& cluster) {
  // Kafka looks for null config values before placing partitions, and checks the values
  // themselves last.
  for (const auto& c : t.configs)
    if (!c.value) return refusal{error_code::invalid_config, "null value for '" + c.name + "'"};
  std::int32_t partitions = t.numPartitions == -1 ? defaults : t.numPartitions;
  if (!t.assignments.empty()) {
    if (t.numPartitions != -1 || t.replicationFactor != -1)
      return refusal{error_code::invalid_request,
                     "both numPartitions or replicationFactor and replica assignments were given"};
    std::vector<bool> seen(t.assignments.size());
    for (const auto& a : t.assignments) {
      if (a.partitionIndex < 0 || static_cast<std::size_t>(a.partitionIndex) >= seen.size() ||
          seen[static_cast<std::size_t>(a.partitionIndex)])
        return refusal{error_code::invalid_replica_assignment,
                       "partitions must be numbered 0.." + std::to_string(seen.size() - 1)};
      seen[static_cast<std::size_t>(a.partitionIndex)] = true;
      if (auto problem = manual_assignment_problem(a.brokerIds, cluster))
        return refusal{error_code::invalid_replica_assignment, std::move(*problem)};
    }
    partitions = static_cast<std::int32_t>(t.assignments.size());
  }
  if (auto problem = partition_count_problem(partitions))
    return refusal{error_code::invalid_partitions, *problem};
  if (t.replicationFactor != -1 && t.replicationFactor != 1)
    return refusal{error_code::invalid_replication_factor,
                   t.replicationFactor < 1
                       ? "replication factor must be at least 1"
                       : "replication factor " + std::to_string(t.replicationFactor) +
                             " is larger than the 1 available broker"};
  // A key named twice keeps its last value, as in Kafka: only that one is checked, in the
  // order of the request. Each key's last entry is found in one pass from the end, not by
  // searching the rest of the list for every entry: a long list costs in proportion to its
  // length (Kafka sets no limit on it, nor does Portask).
  std::unordered_set<std::string_view> named_later;
  std::vector<const creatable_topic::CreatableTopicConfig*> last;
  for (auto c = t.configs.rbegin(); c != t.configs.rend(); ++c)
    if (named_later.insert(c->name).second) last.push_back(&*c);
  for (auto c = last.rbegin(); c != last.rend(); ++c)
    if (auto problem = topic_config_problem((*c)->name, *(*c)->value))
      return refusal{error_code::invalid_config, *problem};
  storage::config_entries given;
  for (const auto& c : t.configs) given.emplace_back(c.name, *c.value);
  if (auto problem = topic_configs_conflict(last_value_of_each_key(std::move(given))))
    return refusal{error_code::invalid_config, *problem};
  return partitions;
}

}  // namespace

void handle_create_topics(self_ptr self, const request& r, protocol::byte_view body) {
  msg::CreateTopicsRequest req;
  if (!PORTASK_KAFKA_DECODE(CreateTopics, body, req)) return;
  auto res = std::make_shared<msg::CreateTopicsResponse>();
  const bool flexible = msg::CreateTopicsRequest_is_flexible(r.api_version);
  auto pending = std::make_shared<std::size_t>(req.topics.size());
  if (req.topics.empty()) return respond(self, r, *res, flexible);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  res->topics.resize(req.topics.size());
  const auto defaults = static_cast<std::int32_t>(std::max(1u, self->state.ctx->config.default_partitions));
  // As Kafka: CREATE on the cluster covers every topic; otherwise each topic needs its own.
  const bool create_any = allowed_on_cluster(self, sec::acl_operation::create, denial_log::quiet);
  const admin_deadline deadline{r, req.timeoutMs, self->state.ctx->config};
  constexpr auto unauthorized = static_cast<std::int16_t>(error_code::topic_authorization_failed);
  // A name given twice is refused in both places, as Kafka does: which entry to create is
  // not the broker's guess.
  std::map<std::string, int> named;
  for (const auto& t : req.topics) ++named[t.name];
  // Names are checked against the topics there are (one listing).
  auto shared = std::make_shared<msg::CreateTopicsRequest>(std::move(req));
  auto create_each = [=](const existing_topics& existing) {
    const auto& rq = *shared;
    std::map<std::string, std::string> claimed;  // earlier names of this request
    for (std::size_t i = 0; i < rq.topics.size(); ++i) {
      const auto& t = rq.topics[i];
      auto& out = res->topics[i];
      out.name = t.name;
      out.replicationFactor = 1;
      if (named.at(t.name) > 1) {
        out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
        out.errorMessage = "Create topics request contains the topic '" + t.name + "' more than once";
        out.numPartitions = -1;
        out.replicationFactor = -1;
        done();
        continue;
      }
      if (!create_any &&
          !allowed(self, sec::acl_operation::create, sec::resource_type::topic, t.name)) {
        out.errorCode = unauthorized;
        out.errorMessage = "Authorization failed.";  // Kafka's
        out.numPartitions = -1;
        out.replicationFactor = -1;
        done();
        continue;
      }
      // Kafka withholds a topic's configs, partition count and replication factor from who
      // may not describe its configs (v5+: the configs' own error code); a failed creation
      // clears the code again.
      if (!allowed(self, sec::acl_operation::describe_configs, sec::resource_type::topic, t.name, denial_log::quiet))
        out.topicConfigErrorCode = unauthorized;
      auto refuse = [&](const refusal& no) {
        out.errorCode = static_cast<std::int16_t>(no.code);
        out.errorMessage = no.message;
        out.numPartitions = -1;
        out.replicationFactor = -1;
        out.topicConfigErrorCode = 0;
        done();
      };
      if (auto no = check_name(t.name, existing, claimed)) {
        refuse(*no);
        continue;
      }
      auto checked = check(t, defaults, *self->state.ctx->cluster());
      if (auto* no = std::get_if<refusal>(&checked)) {
        refuse(*no);
        continue;
      }
      claimed.emplace(collision_key(t.name), t.name);
      const auto partitions = std::get<std::int32_t>(checked);
      out.numPartitions = partitions;
      // v5+: the topic's configs as DescribeConfigs would list them (by name, as Kafka sorts
      // them), for who may describe them; a creation that fails clears them again.
      if (out.topicConfigErrorCode != 0) {
        out.numPartitions = -1;
        out.replicationFactor = -1;
      } else if (r.api_version >= 5) {
        storage::config_entries own;
        for (const auto& c : t.configs) own.emplace_back(c.name, c.value.value_or(""));
        out.configs.emplace();
        for (auto& v : topic_config_values(*self->state.ctx, last_value_of_each_key(std::move(own))))
          out.configs->push_back({std::move(v.name), std::move(v.value), false, v.source, false});
        std::sort(out.configs->begin(), out.configs->end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
      }
      if (rq.validateOnly) {
        // Validating includes the name being free, as in Kafka; nothing is created.
        auto taken = [=](std::int16_t code, std::string message) {
          auto& o = res->topics[i];
          o.errorCode = code;
          o.errorMessage = std::move(message);
          o.numPartitions = -1;
          o.replicationFactor = -1;
          o.topicConfigErrorCode = 0;
          o.configs.emplace();
        };
        self->request(self->state.dir.registry, deadline.left(), topic_atom::value, t.name, false)
            .then(
                [=](storage::topic_info&) {
                  taken(static_cast<std::int16_t>(error_code::topic_already_exists),
                        "Topic '" + t.name + "' already exists.");
                  done();
                },
                [=](caf::error& e) {
                  if (to_errc(e) != errc::unknown_topic) taken(to_kafka(to_errc(e)), topic_error_message(e, t.name));
                  done();
                });
        continue;
      }
      storage::topic_info info{t.name, partitions, {}, {}};
      for (const auto& c : t.configs) info.configs.emplace_back(c.name, c.value.value_or(""));
      self->request(self->state.dir.registry, deadline.left(), create_atom::value, std::move(info))
          .then(
              [=](storage::topic_info& created) {
                res->topics[i].topicId = created.id;
                done();
              },
              [=](caf::error& e) {
                res->topics[i].errorCode = to_kafka(to_errc(e));
                res->topics[i].errorMessage = topic_error_message(e, t.name);
                res->topics[i].numPartitions = -1;
                res->topics[i].replicationFactor = -1;
                res->topics[i].topicConfigErrorCode = 0;
                res->topics[i].configs.emplace();
                done();
              });
    }
  };
  self->request(self->state.dir.registry, deadline.left(), list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            existing_topics existing;
            for (const auto& t : topics) {
              existing.names.insert(t.name);
              existing.by_collision_key.emplace(collision_key(t.name), t.name);
            }
            create_each(existing);
          },
          [=](caf::error&) { create_each({}); });  // each creation then meets the same error
}

void handle_delete_topics(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DeleteTopicsRequest req;
  if (!PORTASK_KAFKA_DECODE(DeleteTopics, body, req)) return;
  // v0-5 name topics; v6 names them or gives their ids.
  struct target {
    std::optional<std::string> name;
    storage::topic_id id{};
  };
  auto targets = std::make_shared<std::vector<target>>();
  targets->reserve(req.topicNames.size() + req.topics.size());
  for (auto& n : req.topicNames) targets->push_back({std::move(n), {}});
  for (auto& t : req.topics) targets->push_back({std::move(t.name), t.topicId});
  auto res = std::make_shared<msg::DeleteTopicsResponse>();
  const bool flexible = msg::DeleteTopicsRequest_is_flexible(r.api_version);
  if (targets->empty()) return respond(self, r, *res, flexible);
  res->responses.resize(targets->size());
  // One more than the topics: answered once every topic is and every lookup has been asked.
  auto pending = std::make_shared<std::size_t>(targets->size() + 1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  auto fail = [=](std::size_t i, std::int16_t code, std::optional<std::string> message) {
    res->responses[i].errorCode = code;
    res->responses[i].errorMessage = std::move(message);
    done();
  };
  constexpr auto invalid = static_cast<std::int16_t>(error_code::invalid_request);
  constexpr auto unauthorized = static_cast<std::int16_t>(error_code::topic_authorization_failed);
  constexpr auto maps_to_an_id = "The provided topic name maps to an ID that was already supplied.";  // Kafka's
  auto registry = self->state.dir.registry;
  const auto lookup_wait = registry_wait(self->state.ctx->config);
  const admin_deadline deadline{r, req.timeoutMs, self->state.ctx->config};
  auto remove = [=](std::size_t i, const storage::topic_info& topic) {
    res->responses[i].name = topic.name;
    res->responses[i].topicId = topic.id;
    self->request(registry, deadline.left(), delete_atom::value, topic.name)
        .then([=](bool) { done(); },
              [=](caf::error& e) { fail(i, to_kafka(to_errc(e)), std::nullopt); });
  };
  // As Kafka (KRaft): DELETE on the cluster covers every topic; otherwise DESCRIBE on the
  // topic, then whether it exists, then DELETE on it.
  const bool delete_any = allowed_on_cluster(self, sec::acl_operation::remove, denial_log::quiet);
  auto may_delete = [=](const std::string& name) {
    return delete_any ||
           (allowed(self, sec::acl_operation::describe, sec::resource_type::topic, name) &&
            allowed(self, sec::acl_operation::remove, sec::resource_type::topic, name));
  };

  // Kafka's checks of the request itself, before any topic is looked up: an entry with
  // neither a name nor an id, or with both, and a name or an id given more than once. A
  // repeated one is refused in every place it comes, as CreateTopics refuses a repeated
  // name: which entry the client meant is not the broker's guess.
  std::unordered_map<std::string, int> names;
  std::map<storage::topic_id, int> ids;
  for (const auto& t : *targets) {
    if (t.name && t.id == storage::topic_id{}) ++names[*t.name];
    if (!t.name && t.id != storage::topic_id{}) ++ids[t.id];
  }
  // Shared, not copied into every callback: a request may name very many topics.
  auto by_name = std::make_shared<std::vector<std::size_t>>();
  auto by_id = std::make_shared<std::vector<std::size_t>>();
  for (std::size_t i = 0; i < targets->size(); ++i) {
    const auto& t = (*targets)[i];
    res->responses[i].name = t.name;
    res->responses[i].topicId = t.id;
    const bool named = t.name.has_value();
    const bool identified = t.id != storage::topic_id{};
    if (!named && !identified)
      fail(i, invalid, "Neither topic name nor id were specified.");
    else if (named && identified)
      fail(i, invalid, "You may not specify both topic name and topic id.");
    else if (named && names.at(*t.name) > 1)
      fail(i, invalid, "Duplicate topic name.");
    else if (identified && ids.at(t.id) > 1)
      fail(i, invalid, "Duplicate topic id.");
    else
      (named ? by_name : by_id)->push_back(i);
  }

  // The ids are looked up first, so that a name of the request that names the topic of one of
  // its ids is refused with that id before either is deleted, as Kafka refuses it. Kafka says
  // so only to who may delete the topic: others are not told which name an id stands for.
  auto resolved = std::make_shared<std::vector<std::optional<storage::topic_info>>>(by_id->size());
  auto delete_all = [=] {
    std::unordered_map<std::string, std::size_t> named_by_id;  // topic name -> its id's place in by_id
    // Decided once per id, here: its checks log their denials, which a second decision below
    // would log again.
    std::vector<bool> deletable(by_id->size());
    for (std::size_t k = 0; k < by_id->size(); ++k)
      if (const auto& topic = (*resolved)[k]; topic && may_delete(topic->name)) {
        deletable[k] = true;
        named_by_id.emplace(topic->name, k);
      }
    std::vector<bool> clashes(by_id->size());
    for (const auto i : *by_name) {
      const auto& name = *(*targets)[i].name;
      if (auto c = named_by_id.find(name); c != named_by_id.end()) {
        clashes[c->second] = true;
        res->responses[i].topicId = (*resolved)[c->second]->id;
        fail(i, invalid, maps_to_an_id);
        continue;
      }
      // Who may describe the topic hears whether it exists before whether they may delete it.
      if (!delete_any && !allowed(self, sec::acl_operation::describe, sec::resource_type::topic, name)) {
        fail(i, unauthorized, std::nullopt);
        continue;
      }
      // The lookup is not bound by the deadline: once the name is known the deletion is
      // asked for, and goes on even when the client hears REQUEST_TIMED_OUT.
      self->request(registry, lookup_wait, topic_atom::value, name, false)
          .then(
              [=](storage::topic_info& topic) {
                if (may_delete(topic.name))
                  remove(i, topic);
                else
                  fail(i, unauthorized, std::nullopt);
              },
              [=](caf::error& e) { fail(i, to_kafka(to_errc(e)), std::nullopt); });
    }
    for (std::size_t k = 0; k < by_id->size(); ++k) {
      const auto& topic = (*resolved)[k];
      if (!topic) continue;  // answered when its lookup failed
      const auto i = (*by_id)[k];
      if (clashes[k]) {
        res->responses[i].name = topic->name;  // who may delete it may describe it
        fail(i, invalid, maps_to_an_id);
      } else if (deletable[k]) {
        remove(i, *topic);
      } else {
        // Kafka names the topic only to who may describe it; to others, the id only.
        if (allowed(self, sec::acl_operation::describe, sec::resource_type::topic, topic->name, denial_log::quiet))
          res->responses[i].name = topic->name;  // else null, as it came
        fail(i, unauthorized, std::nullopt);
      }
    }
  };
  auto lookups = std::make_shared<std::size_t>(by_id->size() + 1);
  auto looked_up = [=] {
    if (--*lookups == 0) delete_all();
  };
  for (std::size_t k = 0; k < by_id->size(); ++k) {
    const auto i = (*by_id)[k];
    // By id, the name is known once the id is: an unknown id is UNKNOWN_TOPIC_ID first.
    self->request(registry, lookup_wait, topic_atom::value, (*targets)[i].id)
        .then(
            [=](storage::topic_info& topic) {
              (*resolved)[k] = std::move(topic);
              looked_up();
            },
            [=](caf::error& e) {
              // Only an id the registry does not know is UNKNOWN_TOPIC_ID: one not answered
              // in time is REQUEST_TIMED_OUT, and a registry restarting is said as such.
              const auto why = to_errc(e);
              fail(i, why == errc::unknown_topic ? static_cast<std::int16_t>(error_code::unknown_topic_id) : to_kafka(why),
                   std::nullopt);
              looked_up();
            });
  }
  looked_up();
  done();
}

}  // namespace portask::kafka
