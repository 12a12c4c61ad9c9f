// Metadata (key 3): the live brokers (this one alone outside a cluster) as the client's
// listener reaches them, each partition led by its lease holder; topics auto-created when the client allows it and the broker is configured so.
// Topics named are looked up one by one, or, for a request naming many, in the registry's
// list of every topic (lookups_one_by_one).
// ACLs, as Kafka: a listing of every topic hides those the client may not DESCRIBE; a topic
// named is TOPIC_AUTHORIZATION_FAILED without DESCRIBE, and auto-creating one needs CREATE on
// the cluster or the topic (a missing topic is TOPIC_AUTHORIZATION_FAILED without it, when
// auto-creation is on and asked for).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "actors/connections/kafka/authorized_operations.hpp"
#include "actors/pipeline/registry_lookups.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;
namespace sec = protocol::security;

namespace {

// Up to this many topics named are looked up one by one (a name the registry does not know is
// then read again from the store in a cluster); more are looked up in the registry's list of
// every topic, asked for once. One request for each of thousands of names would flood the
// one registry every connection waits on, and stall them all.
constexpr std::size_t lookups_one_by_one = registry_lookups_one_by_one;

using requested_topic = msg::MetadataRequest::MetadataRequestTopic;
using topic_found = std::function<void(storage::topic_info&)>;
using topic_missing = std::function<void(caf::error&)>;
/// How a topic named (by id, or by name) is looked up: found, or why not (unknown_topic
/// when the registry does not have it).
using topic_lookup = std::function<void(const requested_topic&, topic_found, topic_missing)>;

bool may_describe(self_ptr self, const std::string& topic, denial_log log = denial_log::logged) {
  return allowed(self, sec::acl_operation::describe, sec::resource_type::topic, topic, log);
}

msg::MetadataResponse::MetadataResponseTopic describe(const storage::topic_info& info,
                                                      const cluster_view& cluster,
                                                      const std::set<std::int32_t>& listed) {
  msg::MetadataResponse::MetadataResponseTopic t;
  t.name = info.name;
  t.topicId = info.id;
  t.isInternal = protocol::is_internal_topic(info.name);
  for (std::int32_t p = 0; p < info.partitions; ++p) {
    msg::MetadataResponse::MetadataResponseTopic::MetadataResponsePartition part;
    part.partitionIndex = p;
    // Its lease holder (in a cluster); none while nobody holds it or nobody may serve under
    // the lease (this node's hold ran out, an earlier run of its holder took it: see
    // cluster_view::leader), or the holder is not among the brokers this client is told
    // about (it died and its lease has not expired yet; it has no listener of this name):
    // the client asks again.
    const storage::topic_partition tp{info.name, p};
    const auto leader = cluster.leader(tp);
    if (!listed.count(leader)) {
      part.errorCode = static_cast<std::int16_t>(error_code::leader_not_available);
      part.leaderId = -1;
      part.leaderEpoch = -1;
    } else {
      part.leaderId = leader;
      part.leaderEpoch = cluster.leader_epoch(tp);
      part.replicaNodes = {leader};
      part.isrNodes = {leader};
    }
    t.partitions.push_back(part);
  }
  return t;
}

}  // namespace

void handle_metadata(self_ptr self, const request& r, protocol::byte_view body) {
  msg::MetadataRequest req;
  if (!PORTASK_KAFKA_DECODE(Metadata, body, req)) return;
  const bool flexible = msg::MetadataRequest_is_flexible(r.api_version);
  // Topic ids and null names came into the request with v10, but Kafka serves them from v12
  // only: below, a request that uses them is refused whole (Kafka's InvalidRequestException),
  // answered as Kafka's error response is: every entry as it came (a null name as ""),
  // INVALID_REQUEST, and no brokers.
  if (req.topics && r.api_version < 12 &&
      std::any_of(req.topics->begin(), req.topics->end(),
                  [](const auto& t) { return !t.name || t.topicId != storage::topic_id{}; })) {
    msg::MetadataResponse refused;
    for (const auto& t : *req.topics) {
      msg::MetadataResponse::MetadataResponseTopic out;
      out.errorCode = static_cast<std::int16_t>(error_code::invalid_request);
      out.name = t.name.value_or("");
      out.topicId = t.topicId;
      refused.topics.push_back(std::move(out));
    }
    return respond(self, r, refused, flexible, true);
  }
  auto& ctx = *self->state.ctx;
  auto res = std::make_shared<msg::MetadataResponse>();
  // Every live node, as the listener the client came in on reaches it.
  const auto view = ctx.cluster();
  std::set<std::int32_t> listed;
  for (auto& b : brokers_of(self, *view)) {
    listed.insert(b.id);
    res->brokers.push_back({b.id, std::move(b.host), b.port, std::nullopt});
  }
  res->clusterId = std::string(cluster_id);
  res->controllerId = *listed.begin();  // the lowest listed id (this node is always listed)
  // KIP-430: what the principal may do, when the client asks (the cluster's in v8-10 only).
  if (req.includeClusterAuthorizedOperations && r.api_version >= 8 && r.api_version <= 10)
    res->clusterAuthorizedOperations = cluster_authorized_operations(self);
  const bool with_operations = req.includeTopicAuthorizedOperations && r.api_version >= 8;
  auto described = [=](const storage::topic_info& info) {
    auto t = describe(info, *view, listed);
    if (with_operations)
      t.topicAuthorizedOperations =
          authorized_operations(self, sec::resource_type::topic, info.name, ops::topic);
    return t;
  };
  // Kafka reports the bits for every topic it answers about, unknown ones included (only one
  // the principal may not describe, or not create when it would be created, gets none).
  auto with_bits = [=](msg::MetadataResponse::MetadataResponseTopic& t, const std::string& name) {
    if (with_operations)
      t.topicAuthorizedOperations = authorized_operations(self, sec::resource_type::topic, name, ops::topic);
  };
  auto registry = self->state.dir.registry;
  const bool all = !req.topics || (r.api_version == 0 && req.topics->empty());
  if (all) {
    self->request(registry, 10s, list_atom::value)
        .then(
            [=](std::vector<storage::topic_info>& topics) {
              for (const auto& t : topics)
                if (may_describe(self, t.name, denial_log::quiet)) res->topics.push_back(described(t));
              respond(self, r, *res, flexible);
            },
            [=](caf::error& e) {
              // No answer rather than a wrong one: an empty topic list says every topic is
              // gone, and a client subscribed by pattern would give up its partitions. A
              // closed connection makes the client ask again.
              logging::kafka().warn("kafka {}: Metadata for all topics: the topics cannot be listed ({}); closing the connection",
                                    self->state.session->peer(), self->system().render(e));
              respond_nothing(self, r);
              close_after_answers(self);
            });
    return;
  }
  const bool create = (r.api_version < 4 || req.allowAutoTopicCreation) && ctx.config.auto_create_topics;
  // Kafka answers each topic once however often the request names it (it makes a set of the
  // names, or in v12+ of the ids): one lookup and one entry per distinct topic, in the order
  // each was first named.
  auto distinct = std::make_shared<std::vector<msg::MetadataRequest::MetadataRequestTopic>>();
  {
    std::unordered_set<std::string> names;
    std::set<storage::topic_id> ids;
    for (auto& t : *req.topics) {
      const bool first = t.topicId != storage::topic_id{} ? ids.insert(t.topicId).second
                                                         : names.insert(t.name.value_or("")).second;
      if (first) distinct->push_back(std::move(t));
    }
  }
  auto pending = std::make_shared<std::size_t>(distinct->size());
  auto creations = std::make_shared<std::uint32_t>(0);
  res->topics.resize(distinct->size());
  if (distinct->empty()) {
    respond(self, r, *res, flexible);
    return;
  }
  // Answers every topic named, each looked up with `look_up` (called at once, for each).
  auto answer_each = [=](const topic_lookup& look_up) {
    for (std::size_t i = 0; i < distinct->size(); ++i) {
      const auto& wanted = (*distinct)[i];
      const std::string name = wanted.name.value_or("");
      // v12+: a topic by its id (only v12+ gets here with one). As in Kafka, a name given
      // with it is not looked at.
      const bool by_id = wanted.topicId != storage::topic_id{};
      auto done = [=] {
        if (--*pending == 0) respond(self, r, *res, flexible);
      };
      auto found = [=](storage::topic_info& info) {
        if (may_describe(self, info.name)) {
          res->topics[i] = described(info);
        } else {
          // Not the name behind an id the client gave: asked by id, the id only.
          res->topics[i].name = by_id ? std::nullopt : std::optional<std::string>(name);
          res->topics[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        }
        done();
      };
      if (by_id) {
        res->topics[i].name = std::nullopt;  // Kafka's answer for an id it does not know
        res->topics[i].topicId = wanted.topicId;
        look_up(wanted, found, [=](caf::error& e) {
          // Only an id the registry does not know is UNKNOWN_TOPIC_ID; a lookup that
          // failed otherwise (not answered in time, the registry restarting) says so, and
          // the client asks again rather than forgetting the topic.
          const auto why = to_errc(e);
          res->topics[i].errorCode = why == errc::unknown_topic
                                         ? static_cast<std::int16_t>(error_code::unknown_topic_id)
                                         : to_kafka(why);
          done();
        });
        continue;
      }
      if (!protocol::is_valid_topic_name(name)) {
        res->topics[i].name = name;
        res->topics[i].errorCode = static_cast<std::int16_t>(error_code::invalid_topic_exception);
        with_bits(res->topics[i], name);
        done();
        continue;
      }
      if (!may_describe(self, name)) {
        res->topics[i].name = name;
        res->topics[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
        done();
        continue;
      }
      // Known topics first; an unknown one is created only while the request's cap allows.
      look_up(
          wanted,
          [=](storage::topic_info& info) {
            res->topics[i] = described(info);
            done();
          },
          [=](caf::error& e) {
            const auto why = to_errc(e);
            res->topics[i].name = name;
            // As Kafka, CREATE is asked of a missing topic only, where a denial refuses (and
            // is logged); CREATE on the cluster is tried first, quietly.
            const bool may_create =
                create && why == errc::unknown_topic &&
                (allowed_on_cluster(self, sec::acl_operation::create, denial_log::quiet) ||
                 allowed(self, sec::acl_operation::create, sec::resource_type::topic, name));
            if (create && !may_create && why == errc::unknown_topic) {
              // As Kafka: a missing topic the client asked to have created, by a principal
              // that may not create it, is TOPIC_AUTHORIZATION_FAILED (not unknown: the
              // client is told why it will not appear), without authorized operations.
              res->topics[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
              res->topics[i].isInternal = protocol::is_internal_topic(name);
              return done();
            }
            res->topics[i].errorCode = to_kafka_metadata(why);
            with_bits(res->topics[i], name);
            if (!may_create || why != errc::unknown_topic) return done();
            if (*creations >= self->state.ctx->config.auto_create_topics_max_per_request) {
              self->state.ctx->metrics.request_limited(request_limit::auto_create_topics);
              return done();
            }
            ++*creations;
            self->request(registry, 10s, topic_atom::value, name, true)
                .then(
                    found,
                    [=](caf::error& again) {
                      res->topics[i].errorCode = to_kafka_metadata(to_errc(again));
                      done();
                    });
          });
    }
  };
  if (distinct->size() <= lookups_one_by_one) {
    answer_each([=](const requested_topic& wanted, topic_found ok, topic_missing fail) {
      auto on_found = [ok](storage::topic_info& info) { ok(info); };
      auto on_missing = [fail](caf::error& e) { fail(e); };
      if (wanted.topicId != storage::topic_id{})
        self->request(registry, 10s, topic_atom::value, wanted.topicId).then(on_found, on_missing);
      else
        self->request(registry, 10s, topic_atom::value, wanted.name.value_or(""), false)
            .then(on_found, on_missing);
    });
    return;
  }
  self->request(registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            std::unordered_map<std::string, storage::topic_info*> by_name;
            std::map<storage::topic_id, storage::topic_info*> by_id;
            for (auto& t : topics) {
              by_name.emplace(t.name, &t);
              by_id.emplace(t.id, &t);
            }
            answer_each([&](const requested_topic& wanted, topic_found ok, topic_missing fail) {
              storage::topic_info* info = nullptr;
              if (wanted.topicId != storage::topic_id{}) {
                if (auto it = by_id.find(wanted.topicId); it != by_id.end()) info = it->second;
              } else if (auto it = by_name.find(wanted.name.value_or("")); it != by_name.end()) {
                info = it->second;
              }
              if (info != nullptr) return ok(*info);
              // What the registry answers a lookup of a topic it does not have.
              auto missing = make_caf_error(errc::unknown_topic);
              fail(missing);
            });
          },
          [=](caf::error& e) {
            // Every topic named is answered as its own lookup that failed so would be.
            answer_each([&](const requested_topic&, const topic_found&, topic_missing fail) {
              auto why = e;
              fail(why);
            });
          });
}

}  // namespace portask::kafka
