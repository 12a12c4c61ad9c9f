#pragma once
/// The embedded store: partition logs, topics and offsets in process memory. The default
/// when no store URL is configured. Nothing survives a restart. All instances made by one
/// factory share one state, guarded by a mutex (taken once per call, i.e. per batch set, never
/// per record). It holds at most `capacity` bytes of frames: an append past that is refused
/// (storage_full, retriable) until retention or DeleteRecords free room.

#include "storage/log_store.hpp"

namespace portask::storage {

class memory_store final : public log_store {
 public:
  struct state;
  explicit memory_store(std::shared_ptr<state> s) : state_(std::move(s)) {}

  /// A factory whose stores share one fresh state of at most `capacity` bytes of frames
  /// (0: no limit).
  static store_factory factory(std::uint64_t capacity = 0);

  std::string_view kind() const noexcept override { return "memory"; }
  std::error_code ping() override { return {}; }
  void append(std::span<const append_request> requests,
              std::vector<std::error_code>& results) override;
  expected<std::vector<stored_batch>> read(const topic_partition& tp, std::int64_t offset,
                                           std::size_t max_bytes) override;
  expected<partition_bounds> bounds(const topic_partition& tp) override;
  expected<std::int64_t> retention_point(const topic_partition& tp,
                                         const retention_limits& limits) override;
  expected<partition_bounds> delete_records(const topic_partition& tp, std::int64_t offset,
                                            const std::string& fence) override;
  std::optional<store_usage> usage() override;
  expected<partition_bounds> compact(const topic_partition& tp, const log_compaction& c) override;
  std::error_code create_topic(const topic_info& topic) override;
  expected<topic_write> update_topic(const topic_info& before, const topic_info& after) override;
  expected<topic_write> delete_topic(const topic_info& topic) override;
  expected<std::vector<topic_info>> list_topics() override;
  std::error_code commit_offsets(const std::string& group, std::span<const group_offset> offsets,
                                 const std::string& fence) override;
  expected<std::vector<group_offset>> fetch_offsets(const std::string& group) override;
  std::error_code delete_offsets(const std::string& group,
                                 std::span<const topic_partition> partitions,
                                 const std::string& fence) override;
  expected<std::vector<std::string>> list_groups() override;
  expected<bool> commit_group_metadata(const std::string& group, const group_metadata& metadata,
                                       const std::string& fence) override;
  expected<group_metadata> fetch_group_metadata(const std::string& group) override;
  expected<std::vector<group_listing>> list_group_metadata() override;
  expected<producer_history> read_producer_history(const topic_partition& tp) override;
  std::error_code put_producer_snapshot(const topic_partition& tp,
                                        const producer_snapshot& snapshot,
                                        const std::string& fence) override;
  expected<std::int64_t> allocate_producer_ids(std::int64_t count) override;
  expected<std::int16_t> bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) override;
  expected<bool> register_node(const node_registration& r, std::chrono::milliseconds ttl) override;
  std::error_code deregister_node(const node_registration& r) override;
  expected<std::vector<node_registration>> live_nodes() override;
  expected<std::vector<lease_holder>> lease_round(const lease_holder& me,
                                                  std::chrono::milliseconds ttl,
                                                  std::span<const lease_claim> claims) override;
  std::error_code put_credential(const user_credential& c) override;
  expected<bool> delete_credential(const std::string& user,
                                   protocol::security::scram_mechanism m) override;
  expected<std::vector<user_credential>> list_credentials() override;
  std::error_code put_acls(std::span<const protocol::security::acl_binding> bindings) override;
  std::error_code delete_acls(std::span<const protocol::security::acl_binding> bindings) override;
  expected<std::vector<protocol::security::acl_binding>> list_acls() override;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace portask::storage
