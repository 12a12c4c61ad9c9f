// CreatePartitions (key 37): grows a topic through the registry. Assignments name brokers,
// and there is one, so they are accepted and ignored. validateOnly checks the count only.
// ACLs: ALTER on the topic, else TOPIC_AUTHORIZATION_FAILED for it.
// timeoutMs bounds the wait (REQUEST_TIMED_OUT after it; the growth goes on).
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

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
  for (std::size_t i = 0; i < req.topics.size(); ++i) {
    const auto& t = req.topics[i];
    res->results[i].name = t.name;
    const auto count = t.count;
    auto fail = [=](caf::error& e) {
      res->results[i].errorCode = to_kafka(to_errc(e));
      res->results[i].errorMessage = self->system().render(e);
      done();
    };
    if (!allowed(self, sec::acl_operation::alter, sec::resource_type::topic, t.name)) {
      res->results[i].errorCode = static_cast<std::int16_t>(error_code::topic_authorization_failed);
      res->results[i].errorMessage = "The topic authorization is failed.";  // Kafka's
      done();
      continue;
    }
    if (validate_only) {
      self->request(registry, deadline.left(), topic_atom::value, t.name, false)
          .then(
              [=](storage::topic_info& info) {
                const auto current = info.partitions;
                if (count <= current) {
                  res->results[i].errorCode = static_cast<std::int16_t>(error_code::invalid_partitions);
                  res->results[i].errorMessage = "topic has " + std::to_string(current) +
                                                 " partitions; the new count must be larger";
                }
                done();
              },
              fail);
      continue;
    }
    self->request(registry, deadline.left(), grow_atom::value, t.name, count).then([=](bool) { done(); }, fail);
  }
  done();
}

}  // namespace portask::kafka
