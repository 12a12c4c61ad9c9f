// Metadata (key 3): the live brokers (this one alone outside a cluster) as the client's
// listener reaches them, each partition led by its lease holder; topics auto-created when the client allows it and the broker is configured so.
// ACLs, as Kafka: a listing of every topic hides those the client may not DESCRIBE; a topic
// named is TOPIC_AUTHORIZATION_FAILED without DESCRIBE, and auto-creating one needs CREATE on
// the cluster or the topic.
#include <spdlog/spdlog.h>

#include <set>

#include "actors/connections/kafka/authorized_operations.hpp"
#include "logging/loggers.hpp"
#include "protocol/topic_name.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;
namespace sec = protocol::security;

namespace {

bool may_describe(self_ptr self, const std::string& topic) {
  return allowed(self, sec::acl_operation::describe, sec::resource_type::topic, topic);
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
    // Its lease holder (in a cluster); none while nobody holds it, or the holder is not
    // among the brokers this client is told about (it died and its lease has not expired
    // yet; it has no listener of this name): the client asks again.
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
  // the principal may not describe gets none).
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
                if (may_describe(self, t.name)) res->topics.push_back(described(t));
              respond(self, r, *res, msg::MetadataRequest_is_flexible(r.api_version));
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
  auto pending = std::make_shared<std::size_t>(req.topics->size());
  auto creations = std::make_shared<std::uint32_t>(0);
  res->topics.resize(req.topics->size());
  if (req.topics->empty()) {
    respond(self, r, *res, msg::MetadataRequest_is_flexible(r.api_version));
    return;
  }
  for (std::size_t i = 0; i < req.topics->size(); ++i) {
    const auto& wanted = (*req.topics)[i];
    const std::string name = wanted.name.value_or("");
    auto done = [=] {
      if (--*pending == 0) respond(self, r, *res, msg::MetadataRequest_is_flexible(r.api_version));
    };
    auto found = [=](storage::topic_info& info) {
      if (may_describe(self, info.name)) {
        res->topics[i] = described(info);
      } else {
        res->topics[i].name = wanted.name;  // not the name behind an id the client gave
        res->topics[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
      }
      done();
    };
    if (!wanted.name && wanted.topicId != storage::topic_id{}) {  // v10+: a topic by its id
      res->topics[i].topicId = wanted.topicId;
      self->request(registry, 10s, topic_atom::value, wanted.topicId)
          .then(
              found,
              [=](caf::error&) {
                res->topics[i].errorCode = static_cast<std::int16_t>(error_code::unknown_topic_id);
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
    const bool may_create = create && (allowed_on_cluster(self, sec::acl_operation::create) ||
                                       allowed(self, sec::acl_operation::create, sec::resource_type::topic, name));
    // Known topics first; an unknown one is created only while the request's cap allows.
    self->request(registry, 10s, topic_atom::value, name, false)
        .then(
            [=](storage::topic_info& info) {
              res->topics[i] = described(info);
              done();
            },
            [=](caf::error& e) {
              res->topics[i].name = name;
              res->topics[i].errorCode = to_kafka(to_errc(e));
              with_bits(res->topics[i], name);
              if (!may_create || to_errc(e) != errc::unknown_topic) return done();
              if (*creations >= self->state.ctx->config.auto_create_topics_max_per_request) {
                self->state.ctx->metrics.request_limited(request_limit::auto_create_topics);
                return done();
              }
              ++*creations;
              self->request(registry, 10s, topic_atom::value, name, true)
                  .then(
                      found,
                      [=](caf::error& again) {
                        res->topics[i].errorCode = to_kafka(to_errc(again));
                        done();
                      });
            });
  }
}

}  // namespace portask::kafka
