#pragma once
/// Whether a Kafka response answers some part of its request with an error. Many APIs answer
/// per topic or partition under a request-level success; /metrics counts such an answer as an
/// error (portask_request_errors_total, portask_kafka_request_errors_total) as the native
/// protocol counts a refused publish, so the two protocols' counters mean the same thing.

#include <algorithm>

#include "portask/kafka/kafka_messages.hpp"

namespace portask::kafka::response_errors {

namespace msg = protocol::kafka::messages;

template <class Items, class Pred>
bool any(const Items& items, Pred pred) {
  return std::any_of(items.begin(), items.end(), pred);
}

inline bool coded(std::int16_t code) { return code != 0; }

/// Answers whose errors are all at the top (or that have none): the handler says so itself.
template <class Body>
bool carried(const Body&) {
  return false;
}

inline bool carried(const msg::ProduceResponse& r) {
  return any(r.responses, [](const auto& t) {
    return any(t.partitionResponses, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::FetchResponse& r) {
  return coded(r.errorCode) || any(r.responses, [](const auto& t) {
           return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
         });
}

inline bool carried(const msg::ListOffsetsResponse& r) {
  return any(r.topics, [](const auto& t) {
    return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::MetadataResponse& r) {
  return any(r.topics, [](const auto& t) {
    return coded(t.errorCode) ||
           any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::OffsetFetchResponse& r) {
  return coded(r.errorCode) ||
         any(r.topics, [](const auto& t) {
           return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
         }) ||
         any(r.groups, [](const auto& g) {
           return coded(g.errorCode) || any(g.topics, [](const auto& t) {
                    return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
                  });
         });
}

inline bool carried(const msg::OffsetForLeaderEpochResponse& r) {
  return any(r.topics, [](const auto& t) {
    return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::DeleteRecordsResponse& r) {
  return any(r.topics, [](const auto& t) {
    return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::DescribeProducersResponse& r) {
  return any(r.topics, [](const auto& t) {
    return any(t.partitions, [](const auto& p) { return coded(p.errorCode); });
  });
}

inline bool carried(const msg::CreateTopicsResponse& r) {
  return any(r.topics, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::DeleteTopicsResponse& r) {
  return any(r.responses, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::CreatePartitionsResponse& r) {
  return any(r.results, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::DescribeConfigsResponse& r) {
  return any(r.results, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::AlterConfigsResponse& r) {
  return any(r.responses, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::IncrementalAlterConfigsResponse& r) {
  return any(r.responses, [](const auto& t) { return coded(t.errorCode); });
}

inline bool carried(const msg::DescribeGroupsResponse& r) {
  return any(r.groups, [](const auto& g) { return coded(g.errorCode); });
}

}  // namespace portask::kafka::response_errors
