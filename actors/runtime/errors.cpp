#include "actors/interfaces.hpp"

#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "actors/runtime/backlog_sharing.hpp"

namespace portask {
namespace {

// Every type a message carries, by name: CAF 0.17 writes a message's elements with these
// names and creates them by name on the receiving node, so nodes must agree on them (never
// rename one). add_message_type<T> also registers std::vector<T> as
// "std::vector<portask.x>", which covers the vectors the interfaces carry.
void add_message_types(caf::actor_system_config& cfg) {
  // the pipeline
  cfg.add_message_type<publish_batch>("portask.publish_batch");
  cfg.add_message_type<publish_result>("portask.publish_result");
  cfg.add_message_type<publish_reply>("portask.publish_reply");
  cfg.add_message_type<framed_batch>("portask.framed_batch");
  cfg.add_message_type<append_set>("portask.append_set");
  cfg.add_message_type<append_outcome>("portask.append_outcome");
  cfg.add_message_type<fetch_request>("portask.fetch_request");
  cfg.add_message_type<fetch_result>("portask.fetch_result");
  cfg.add_message_type<partition_recovery>("portask.partition_recovery");
  cfg.add_message_type<stored_group>("portask.stored_group");
  cfg.add_message_type<producer_summary>("portask.producer_summary");
  cfg.add_message_type<topic_description>("portask.topic_description");
  cfg.add_message_type<partition_actor>("portask.partition_actor");
  // the store's types
  cfg.add_message_type<topic_partition>("portask.topic_partition");
  cfg.add_message_type<storage::topic_info>("portask.topic_info");
  cfg.add_message_type<storage::topic_id>("portask.topic_id");
  cfg.add_message_type<storage::config_entries>("portask.config_entries");
  cfg.add_message_type<storage::partition_bounds>("portask.partition_bounds");
  cfg.add_message_type<storage::producer_snapshot>("portask.producer_snapshot");
  cfg.add_message_type<storage::stored_batch>("portask.stored_batch");
  cfg.add_message_type<storage::compacted_batch>("portask.compacted_batch");
  cfg.add_message_type<storage::log_compaction>("portask.log_compaction");
  cfg.add_message_type<storage::committed_offset>("portask.committed_offset");
  cfg.add_message_type<storage::group_offset>("portask.group_offset");
  cfg.add_message_type<storage::group_metadata>("portask.group_metadata");
  cfg.add_message_type<storage::group_listing>("portask.group_listing");
  // consumer groups
  cfg.add_message_type<join_group_request>("portask.join_group_request");
  cfg.add_message_type<join_group_result>("portask.join_group_result");
  cfg.add_message_type<sync_group_request>("portask.sync_group_request");
  cfg.add_message_type<sync_group_result>("portask.sync_group_result");
  cfg.add_message_type<member_ref>("portask.member_ref");
  cfg.add_message_type<commit_offsets_request>("portask.commit_offsets_request");
  cfg.add_message_type<group_description>("portask.group_description");
  cfg.add_message_type<group_coordinator_actor>("portask.group_coordinator_actor");
  // hook subscriptions
  cfg.add_message_type<connect_subscriber_actor>("portask.connect_subscriber_actor");
  cfg.add_message_type<disconnect_subscriber_actor>("portask.disconnect_subscriber_actor");
  cfg.add_message_type<message_subscriber_actor>("portask.message_subscriber_actor");
  // a leave's per-member error codes: CAF has no name of its own for this vector
  cfg.add_message_type<std::vector<std::int32_t>>("portask.int32_vector");
  // hook events
  cfg.add_message_type<connect_event>("portask.connect_event");
  cfg.add_message_type<disconnect_event>("portask.disconnect_event");
  cfg.add_message_type<message_event>("portask.message_event");
  // the supervisor's directory of the long-lived actors, and the cluster actor it is told of
  cfg.add_message_type<actor_directory>("portask.actor_directory");
  cfg.add_message_type<cluster_actor>("portask.cluster_actor");
  // who subscribes to the directory's changes
  cfg.add_message_type<directory_follower_actor>("portask.directory_follower_actor");
  // an HTTP request for the actor that answers it
  cfg.add_message_type<http_request>("portask.http_request");
  // credentials and ACLs
  cfg.add_message_type<storage::user_credential>("portask.user_credential");
  cfg.add_message_type<protocol::security::scram_credential>("portask.scram_credential");
  cfg.add_message_type<protocol::security::acl_binding>("portask.acl_binding");
  cfg.add_message_type<protocol::security::acl_filter>("portask.acl_filter");
  cfg.add_message_type<protocol::security::scram_mechanism>("portask.scram_mechanism");
  // a session's frames and framing errors (frame_atom, closed_atom)
  cfg.add_message_type<protocol::buffer>("portask.buffer");
  cfg.add_message_type<errc>("portask.errc");
}

// A positive count from the environment, or the default when the variable is unset.
std::size_t env_count(const char* name, std::size_t fallback) {
  const char* text = std::getenv(name);
  if (!text) return fallback;
  std::size_t value = 0;
  const auto end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, value);
  // At most 2^32: CAF's settings hold signed 64-bit integers.
  if (ec != std::errc{} || ptr != end || value == 0 || value > (std::size_t{1} << 32))
    throw std::runtime_error(std::string(name) + "=" + text + ": expected a count from 1 to 2^32");
  return value;
}

// The scheduler the policy setting names, read when the actor system is built (after a
// test fixture has had its say: CAF's deterministic test scheduler is "testing"). CAF builds
// its own only when no module factory supplied one. CAF's profiled coordinators are not
// offered: nothing here sets scheduler.enable-profiling (no CAF flags or INI are parsed).
caf::actor_system::module* make_scheduler(caf::actor_system& sys) {
  const auto policy = caf::get_or(sys.config(), "scheduler.policy", caf::atom("backlog"));
  if (policy == caf::atom("testing")) return new caf::scheduler::test_coordinator(sys);
  if (policy == caf::atom("sharing"))
    return new caf::scheduler::coordinator<caf::policy::work_sharing>(sys);
  if (policy == caf::atom("stealing"))
    return new caf::scheduler::coordinator<caf::policy::work_stealing>(sys);
  return new caf::scheduler::coordinator<backlog_sharing>(sys);
}

}  // namespace

caf::error make_caf_error(errc e) {
  return caf::error{static_cast<std::uint8_t>(e), caf::atom("portask")};
}

caf::error make_caf_error(errc e, std::string detail) {
  if (detail.empty()) return make_caf_error(e);
  return caf::error{static_cast<std::uint8_t>(e), caf::atom("portask"), caf::make_message(std::move(detail))};
}

void configure_actor_system(caf::actor_system_config& cfg) {
  // CAF 0.17 fills its defaults (scheduler, streaming intervals) only when parsing; an empty
  // argument list and an empty INI stream keep the process's own flags and files out of it.
  std::istringstream no_ini;
  if (auto err = cfg.parse(caf::actor_system_config::string_list{}, no_ini))
    throw std::runtime_error("CAF configuration: " + caf::to_string(err));
  // The scheduling policy: ours (backlog_sharing.hpp) unless PORTASK_CAF_SCHEDULER names one
  // of CAF's. Work stealing polls idle workers with short sleeps (50 us, then 10 ms): on two
  // cores that costs CPU at high load and milliseconds of latency at low load. CAF's sharing
  // parks idle workers on a condition variable and wakes one per queued job.
  std::string policy = "backlog";
  if (const char* p = std::getenv("PORTASK_CAF_SCHEDULER")) policy = p;
  if (policy != "backlog" && policy != "sharing" && policy != "stealing")
    throw std::runtime_error("PORTASK_CAF_SCHEDULER=" + policy +
                             ": expected backlog, sharing or stealing");
  cfg.set("scheduler.policy", caf::atom_from_string(policy));
  // A job a worker queued waits at most for the job that worker is running: an actor with a
  // full mailbox yields after this many messages (CAF's default: never).
  cfg.set("scheduler.max-throughput", env_count("PORTASK_CAF_MAX_THROUGHPUT", 64));
  cfg.module_factories.push_back(make_scheduler);
  // One worker per core (CAF's default is at least four): on our two-core machines the extra
  // workers only added context switches (about 5% of the broker's CPU under a Kafka produce
  // load). Store I/O runs on detached actors (readers, writers, the registry's topic store,
  // retention), never on these workers (the memory store's writes excepted: they wait on no
  // I/O).
  cfg.set("scheduler.max-threads",
          env_count("PORTASK_CAF_THREADS", std::max(2u, std::thread::hardware_concurrency())));
  cfg.add_error_category(caf::atom("portask"),
                         [](std::uint8_t code, caf::atom_value, const caf::message& detail) {
                           auto text = std::string("portask:") +
                                       std::string(to_string(static_cast<errc>(code)));
                           if (detail.match_elements<std::string>())
                             text += ": " + detail.get_as<std::string>(0);
                           return text;
                         });
  add_message_types(cfg);
}

errc to_errc(const caf::error& e) noexcept {
  if (!e) return errc::ok;
  if (e.category() == caf::atom("portask")) return static_cast<errc>(e.code());
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
      case caf::sec::request_timeout:
        return errc::timeout;
      default:
        // The receiving actor died or is restarting (broken promise, receiver down).
        return errc::not_ready;
    }
  }
  return errc::internal;
}

bool receiver_gone(const caf::error& e) noexcept {
  return e && e.category() == caf::atom("system") &&
         static_cast<caf::sec>(e.code()) == caf::sec::request_receiver_down;
}

}  // namespace portask
