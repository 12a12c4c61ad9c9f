// DescribeLogDirs (key 35): Portask's one "log dir" is its store, named after it ("memory",
// or the store URL without its password), holding every partition (in a cluster, every
// partition the node leads). Sizes are not tracked per
// partition (the store keeps frames, not segment files): partitionSize is 0, and the dir's
// total and usable bytes are -1 (unknown, Kafka's convention). No replica lags: offsetLag 0.
// ACLs: DESCRIBE on the cluster, else no results (and CLUSTER_AUTHORIZATION_FAILED at v3+).
#include <algorithm>
#include <set>
#include <unordered_map>

#include "actors/connections/kafka/handlers.hpp"
#include "storage/redis_store.hpp"
#include "logging/loggers.hpp"

namespace portask::kafka {

namespace sec = protocol::security;
using namespace std::chrono_literals;

namespace {

using result_t = msg::DescribeLogDirsResponse::DescribeLogDirsResult;
using topic_t = result_t::DescribeLogDirsTopic;

// The store as a log dir name: its URL with any password (user info) left out.
std::string log_dir_name(const broker_context& ctx) {
  if (ctx.store_kind == "memory") return "memory";
  return storage::url_without_credentials(ctx.config.store);
}

topic_t describe(const std::string& name, const std::vector<std::int32_t>& partitions) {
  topic_t t;
  t.name = name;
  for (auto p : partitions) {
    topic_t::DescribeLogDirsPartition out;
    out.partitionIndex = p;
    out.partitionSize = 0;
    out.offsetLag = 0;
    out.isFutureKey = false;
    t.partitions.push_back(out);
  }
  return t;
}

}  // namespace

void handle_describe_log_dirs(self_ptr self, const request& r, protocol::byte_view body) {
  msg::DescribeLogDirsRequest req;
  if (!PORTASK_KAFKA_DECODE(DescribeLogDirs, body, req)) return;
  const bool flexible = msg::DescribeLogDirsRequest_is_flexible(r.api_version);
  if (!allowed_on_cluster(self, sec::acl_operation::describe)) {
    // Kafka answers with no dirs; the error code is there from v3 on (older clients see none).
    msg::DescribeLogDirsResponse res;
    res.errorCode = static_cast<std::int16_t>(error_code::cluster_authorization_failed);
    return respond(self, r, res, flexible, true);
  }
  // The partitions asked for, by topic (a topic or partition named twice counts once): each
  // topic listed is matched by one look-up, not against every entry of the request. None: null,
  // every partition of every topic.
  using partitions_by_topic = std::unordered_map<std::string, std::set<std::int32_t>>;
  std::shared_ptr<const partitions_by_topic> wanted;
  if (req.topics) {
    auto asked = std::make_shared<partitions_by_topic>();
    for (const auto& t : *req.topics) (*asked)[t.topic].insert(t.partitions.begin(), t.partitions.end());
    wanted = std::move(asked);
  }
  result_t dir;
  dir.logDir = log_dir_name(*self->state.ctx);
  dir.totalBytes = -1;
  dir.usableBytes = -1;
  self->request(self->state.dir.registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) mutable {
            std::sort(topics.begin(), topics.end(),
                      [](const auto& a, const auto& b) { return a.name < b.name; });
            // In a cluster a node hosts the partitions it leads, the one replica Metadata
            // names for each: it lists those, as a Kafka broker lists its own replicas.
            const auto view = self->state.ctx->cluster();
            auto hosted = [&](const std::string& topic, std::int32_t p) {
              return !view->clustered || view->leader({topic, p}) == view->self;
            };
            for (const auto& info : topics) {
              std::vector<std::int32_t> parts;
              if (!wanted) {  // null: every partition of every topic
                for (std::int32_t p = 0; p < info.partitions; ++p)
                  if (hosted(info.name, p)) parts.push_back(p);
                if (parts.empty() && view->clustered) continue;
              } else {
                // As Kafka: requested partitions this dir holds; others are left out.
                const auto asked = wanted->find(info.name);
                if (asked == wanted->end()) continue;
                for (auto p = asked->second.lower_bound(0);
                     p != asked->second.end() && *p < info.partitions; ++p)
                  if (hosted(info.name, *p)) parts.push_back(*p);
                if (parts.empty()) continue;
              }
              dir.topics.push_back(describe(info.name, parts));
            }
            msg::DescribeLogDirsResponse res;
            res.results.push_back(std::move(dir));
            respond(self, r, res, flexible);
          },
          [=](caf::error& e) mutable {
            // The topics cannot be listed: the dir is unavailable, as a failed disk is in
            // Kafka (KAFKA_STORAGE_ERROR, retriable).
            logging::kafka().debug("kafka describe log dirs: {}", self->system().render(e));
            dir.errorCode = static_cast<std::int16_t>(error_code::kafka_storage_error);
            msg::DescribeLogDirsResponse res;
            res.results.push_back(std::move(dir));
            respond(self, r, res, flexible, true);
          });
}

}  // namespace portask::kafka
