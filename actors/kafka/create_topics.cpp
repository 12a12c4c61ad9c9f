// CreateTopics (key 19): each topic through the registry (the same path as the native
// TopicAdmin create). numPartitions -1 means the broker's default; replication factors and
// assignments are accepted and ignored (one broker). validateOnly checks without creating.
#include "actors/kafka/handlers.hpp"
#include "protocol/topic_name.hpp"

namespace portask::kafka {

using namespace std::chrono_literals;

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
  for (std::size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    auto& out = res->topics[i];
    out.name = t.name;
    const std::int32_t partitions = t.numPartitions == -1 ? defaults : t.numPartitions;
    out.numPartitions = partitions;
    out.replicationFactor = 1;
    if (!protocol::is_valid_topic_name(t.name)) {
      out.errorCode = static_cast<std::int16_t>(error_code::invalid_topic_exception);
      done();
      continue;
    }
    if (partitions < 1) {
      out.errorCode = static_cast<std::int16_t>(error_code::invalid_partitions);
      done();
      continue;
    }
    if (req.validateOnly) {
      done();
      continue;
    }
    storage::topic_info info{t.name, partitions, {}};
    for (const auto& c : t.configs) info.configs.emplace_back(c.name, c.value.value_or(""));
    self->request(self->state.ctx->registry(), 10s, create_atom::value, std::move(info))
        .then([=](bool) { done(); },
              [=](caf::error& e) {
                res->topics[i].errorCode = to_kafka(to_errc(e));
                res->topics[i].errorMessage = self->system().render(e);
                done();
              });
  }
}

void handle_delete_topics(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DeleteTopicsRequest req;
  if (!PORTASK_KAFKA_DECODE(DeleteTopics, body, req)) return;
  std::vector<std::string> names = req.topicNames;
  for (const auto& t : req.topics)
    if (t.name) names.push_back(*t.name);
  auto res = std::make_shared<msg::DeleteTopicsResponse>();
  const bool flexible = msg::DeleteTopicsRequest_is_flexible(r.api_version);
  auto pending = std::make_shared<std::size_t>(names.size());
  if (names.empty()) return respond(self, r, *res, flexible);
  res->responses.resize(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    res->responses[i].name = names[i];
    self->request(self->state.ctx->registry(), 10s, delete_atom::value, names[i])
        .then(
            [=](bool) {
              if (--*pending == 0) respond(self, r, *res, flexible);
            },
            [=](caf::error& e) {
              res->responses[i].errorCode = to_kafka(to_errc(e));
              if (--*pending == 0) respond(self, r, *res, flexible);
            });
  }
}

}  // namespace portask::kafka
