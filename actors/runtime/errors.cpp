#include "actors/interfaces.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

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
  cfg.add_message_type<storage::committed_offset>("portask.committed_offset");
  cfg.add_message_type<storage::group_offset>("portask.group_offset");
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

}  // namespace

caf::error make_caf_error(errc e) {
  return caf::error{static_cast<std::uint8_t>(e), caf::atom("portask")};
}

void configure_actor_system(caf::actor_system_config& cfg) {
  // CAF 0.17 fills its defaults (scheduler, streaming intervals) only when parsing; an empty
  // argument list and an empty INI stream keep the process's own flags and files out of it.
  std::istringstream no_ini;
  if (auto err = cfg.parse(caf::actor_system_config::string_list{}, no_ini))
    throw std::runtime_error("CAF configuration: " + caf::to_string(err));
  // Work stealing polls idle workers with short sleeps (50 us, then 10 ms): on two cores
  // that costs CPU at high load and milliseconds of latency at low load. The sharing
  // policy parks idle workers on a condition variable and wakes one per enqueued job.
  if (const char* policy = std::getenv("PORTASK_CAF_SCHEDULER"))
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
  else
    cfg.set("scheduler.policy", caf::atom("sharing"));
  // One worker per core (CAF's default is at least four): on our two-core machines the extra
  // workers only added context switches (about 5% of the broker's CPU under a Kafka produce
  // load). Store I/O and the registry run on detached actors, never on these workers.
  std::size_t workers = std::max(2u, std::thread::hardware_concurrency());
  if (const char* threads = std::getenv("PORTASK_CAF_THREADS"))
    workers = std::max<std::size_t>(1, std::strtoul(threads, nullptr, 10));
  cfg.set("scheduler.max-threads", workers);
  cfg.add_error_category(caf::atom("portask"),
                         [](std::uint8_t code, caf::atom_value, const caf::message&) {
                           return std::string("portask:") +
                                  std::string(to_string(static_cast<errc>(code)));
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
