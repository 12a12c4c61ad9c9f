// ElectLeaders (key 43): Portask has one replica per partition, and it always leads, so no
// election (preferred or unclean) is ever needed: each existing partition answers
// ELECTION_NOT_NEEDED, an unknown one UNKNOWN_TOPIC_OR_PARTITION. Null partitions means all;
// as Kafka's controller does, those answers leave out the partitions needing no election.
// ACLs: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED (top level and per partition).
#include <map>

#include "actors/connections/kafka/error_messages.hpp"
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using result_t = msg::ElectLeadersResponse::ReplicaElectionResult;
using partition_t = result_t::PartitionResult;

partition_t partition_result(std::int32_t id, std::int16_t code,
                             std::optional<std::string> message) {
  partition_t out;
  out.partitionId = id;
  out.errorCode = code;
  out.errorMessage = std::move(message);
  return out;
}

// Kafka's ElectLeadersRequest.getErrorResponse: the error at the top (v1+) and for every
// requested partition.
msg::ElectLeadersResponse error_response(const msg::ElectLeadersRequest& req, std::int16_t code,
                                         const std::optional<std::string>& message) {
  msg::ElectLeadersResponse res;
  res.errorCode = code;
  if (req.topicPartitions)
    for (const auto& t : *req.topicPartitions) {
      result_t out;
      out.topic = t.topic;
      for (auto p : t.partitions) out.partitionResult.push_back(partition_result(p, code, message));
      res.replicaElectionResults.push_back(std::move(out));
    }
  return res;
}

}  // namespace

void handle_elect_leaders(self_ptr self, const request& r, protocol::byte_view body) {
  msg::ElectLeadersRequest req;
  if (!PORTASK_KAFKA_DECODE(ElectLeaders, body, req)) return;
  const bool flexible = msg::ElectLeadersRequest_is_flexible(r.api_version);
  if (!allowed_on_cluster(self, sec::acl_operation::alter)) {
    // As Kafka: before anything else; each named partition too (no message), none when the
    // request names none (all).
    auto res = error_response(
        req, static_cast<std::int16_t>(error_code::cluster_authorization_failed), std::nullopt);
    return respond(self, r, res, flexible, true);
  }
  // 0: preferred, 1: unclean (v1+; v0 is always preferred).
  if (req.electionType != 0 && req.electionType != 1) {
    auto res = error_response(req, static_cast<std::int16_t>(error_code::invalid_request),
                              "Unknown election type " + std::to_string(req.electionType));
    return respond(self, r, res, flexible, true);
  }
  auto wanted = std::make_shared<msg::ElectLeadersRequest>(std::move(req));
  self->request(self->state.dir.registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            std::map<std::string, std::int32_t> partitions;
            for (const auto& t : topics) partitions[t.name] = t.partitions;
            msg::ElectLeadersResponse res;
            if (!wanted->topicPartitions) {
              // Every topic, none of its partitions: none needs an election.
              for (const auto& [name, count] : partitions) {
                result_t out;
                out.topic = name;
                res.replicaElectionResults.push_back(std::move(out));
              }
              return respond(self, r, res, flexible);
            }
            constexpr auto unknown =
                static_cast<std::int16_t>(error_code::unknown_topic_or_partition);
            constexpr auto not_needed = static_cast<std::int16_t>(error_code::election_not_needed);
            for (const auto& t : *wanted->topicPartitions) {
              result_t out;
              out.topic = t.topic;
              auto it = partitions.find(t.topic);
              for (auto p : t.partitions) {
                if (it == partitions.end())
                  out.partitionResult.push_back(
                      partition_result(p, unknown, "No such topic as " + t.topic));
                else if (p < 0 || p >= it->second)
                  out.partitionResult.push_back(
                      partition_result(p, unknown, "No such partition as " + t.topic + "-" +
                                                       std::to_string(p)));
                else
                  out.partitionResult.push_back(
                      partition_result(p, not_needed,
                                       "Leader election not needed for topic partition."));
              }
              res.replicaElectionResults.push_back(std::move(out));
            }
            respond(self, r, res, flexible);
          },
          [=](caf::error& e) {
            auto res = error_response(*wanted, to_kafka(to_errc(e)), error_message(e));
            respond(self, r, res, flexible, true);
          });
}

}  // namespace portask::kafka
