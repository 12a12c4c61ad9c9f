// CreatePartitions (key 37): grows a topic through the registry. Explicit assignments are
// checked as Kafka checks them (one per new partition, each naming this broker once, as the
// replication factor is 1; manual_assignment.hpp, as CreateTopics) and refused in a cluster,
// where leases place partitions.
// validateOnly checks without growing.
// ACLs: ALTER on the topic, else TOPIC_AUTHORIZATION_FAILED for it.
// timeoutMs bounds the wait (REQUEST_TIMED_OUT after it; the growth goes on).
#include <map>
#include <optional>
#include <utility>

#include "actors/connections/kafka/error_messages.hpp"
#include "actors/connections/kafka/handlers.hpp"
#include "actors/connections/kafka/manual_assignment.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "protocol/topic_name.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using partitions_topic = msg::CreatePartitionsRequest::CreatePartitionsTopic;

// What Kafka would refuse in a growth from `current` partitions to `t.count`.
std::optional<std::pair<error_code, std::string>> growth_problem(const partitions_topic& t,
                                                                 std::int32_t current,
                                                                 const cluster_view& cluster) {
  // Kafka's (KRaft controller's) sentences, as the native add partitions says them.
  if (auto problem = partition_growth_problem(t.name, current, t.count))
    return std::pair{error_code::invalid_partitions, std::move(*problem)};
  // Null leaves the placement to the broker; a list, even an empty one, is the placement of
  // every new partition, as in Kafka (which refuses an empty one for a count that grows).
  if (!t.assignments) return std::nullopt;
  const auto added = t.count - current;
  if (t.assignments->size() != static_cast<std::size_t>(added))
    return std::pair{error_code::invalid_replica_assignment,
                     "Attempted to add " + std::to_string(added) + " additional partition(s), but only " +
                         std::to_string(t.assignments->size()) + " assignment(s) were specified."};  // Kafka's
  // Each as CreateTopics checks it, and with as many replicas as the topic's partitions
  // have (one).
  for (const auto& a : *t.assignments)
    if (auto problem = manual_assignment_problem(a.brokerIds, cluster, std::size_t{1}))
      return std::pair{error_code::invalid_replica_assignment, std::move(*problem)};
  return std::nullopt;
}

}  // namespace

void handle_create_partitions(self_ptr self, const request& r, protocol::byte_view body) {
  msg::CreatePartitionsRequest req;
  if (!PORTASK_KAFKA_DECODE(CreatePartitions, body, req)) return;
  auto res = std::make_shared<msg::CreatePartitionsResponse>();
  const bool flexible = msg::CreatePartitionsRequest_is_flexible(r.api_version);
  res->results.resize(req.topics.size());
  auto pending = std::make_shared<std::size_t>(req.topics.size() + 1);
  auto done = [=] {
    if (--*pending == 0) respond(self, r, *res, flexible);
  };
  auto registry = self->state.dir.registry;
  const bool validate_only = req.validateOnly;
  const admin_deadline deadline{r, req.timeoutMs, self->state.ctx->config};
  // A topic named twice is refused in both places and grows by neither, as Kafka does.
  std::map<std::string, int> named;
  for (const auto& t : req.topics) ++named[t.name];
  for (std::size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    res->results[i].name = t.name;
    const auto count = t.count;
    if (named.at(t.name) > 1) {
      res->results[i].errorCode = static_cast<std::int16_t>(error_code::invalid_request);
      res->results[i].errorMessage = "Duplicate topic in request.";
      done();
      continue;
    }
    auto fail = [=](caf::error& e) {
      res->results[i].errorCode = to_kafka(to_errc(e));
      res->results[i].errorMessage = topic_error_message(e, t.name);
      done();
    };
    if (!allowed(self, sec::acl_operation::alter, sec::resource_type::topic, t.name)) {
      res->results[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
      res->results[i].errorMessage = "The topic authorization is failed.";  // Kafka's
      done();
      continue;
    }
    // The broker's own topic, once it exists: refused here, so that validateOnly answers as
    // the growth would. Until the first commit creates it, it does not exist (as Metadata
    // and DescribeConfigs say then).
    if (protocol::is_internal_topic(t.name)) {
      self->request(registry, deadline.left(), topic_atom::value, t.name, false)
          .then(
              [=](storage::topic_info&) {
                res->results[i].errorCode = static_cast<std::int16_t>(error_code::invalid_request);
                res->results[i].errorMessage = "topic '" + t.name + "' is internal: the broker keeps it, it cannot grow";
                done();
              },
              fail);
      continue;
    }
    // Above the limit whatever the topic; the rest is checked against the topic.
    if (count > max_topic_partitions) {
      res->results[i].errorCode = static_cast<std::int16_t>(error_code::invalid_partitions);
      res->results[i].errorMessage = partition_count_problem(count);
      done();
      continue;
    }
    // Checked here first, growing or not, so that both answer a refusal alike (naming the
    // topic's count). The registry checks the count again as it grows: a growth by another
    // client in between is refused there (INVALID_PARTITIONS, the errc's message).
    self->request(registry, deadline.left(), topic_atom::value, t.name, false)
        .then(
            [=](storage::topic_info& info) {
              if (auto problem = growth_problem(t, info.partitions, *self->state.ctx->cluster())) {
                res->results[i].errorCode = static_cast<std::int16_t>(problem->first);
                res->results[i].errorMessage = std::move(problem->second);
                return done();
              }
              if (validate_only) return done();
              self->request(registry, deadline.left(), grow_atom::value, t.name, count)
                  .then([=](bool) { done(); }, fail);
            },
            fail);
  }
  done();
}

}  // namespace portask::kafka
