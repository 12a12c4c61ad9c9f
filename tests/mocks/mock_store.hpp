#pragma once
/// A gmock log store: tests script what the store does and answers, call by call (e.g. a
/// write the store executes and then reports as timed out).

#include <gmock/gmock.h>

#include "storage/log_store.hpp"

namespace portask::testing {

class mock_store : public storage::log_store {
 public:
  std::string_view kind() const noexcept override { return "mock"; }
  MOCK_METHOD(std::error_code, ping, (), (override));
  MOCK_METHOD(void, append,
              (std::span<const storage::append_request>, std::vector<std::error_code>&),
              (override));
  MOCK_METHOD(expected<std::vector<storage::stored_batch>>, read,
              (const storage::topic_partition&, std::int64_t, std::size_t), (override));
  MOCK_METHOD(expected<storage::partition_bounds>, bounds, (const storage::topic_partition&),
              (override));
  MOCK_METHOD(expected<std::int64_t>, retention_point,
              (const storage::topic_partition&, const storage::retention_limits&), (override));
  MOCK_METHOD(expected<storage::partition_bounds>, delete_records,
              (const storage::topic_partition&, std::int64_t, const std::string&), (override));
  MOCK_METHOD(expected<storage::partition_bounds>, compact,
              (const storage::topic_partition&, const storage::log_compaction&), (override));
  MOCK_METHOD(std::error_code, create_topic, (const storage::topic_info&), (override));
  MOCK_METHOD(expected<storage::topic_write>, update_topic,
              (const storage::topic_info&, const storage::topic_info&), (override));
  MOCK_METHOD(expected<storage::topic_write>, delete_topic, (const storage::topic_info&), (override));
  MOCK_METHOD(expected<std::vector<storage::topic_info>>, list_topics, (), (override));
  MOCK_METHOD(std::error_code, commit_offsets,
              (const std::string&, std::span<const storage::group_offset>, const std::string&), (override));
  MOCK_METHOD(expected<std::vector<storage::group_offset>>, fetch_offsets, (const std::string&),
              (override));
  MOCK_METHOD(std::error_code, delete_offsets,
              (const std::string&, std::span<const storage::topic_partition>, const std::string&),
              (override));
  MOCK_METHOD(expected<std::vector<std::string>>, list_groups, (), (override));
  MOCK_METHOD(expected<bool>, commit_group_metadata,
              (const std::string&, const storage::group_metadata&, const std::string&), (override));
  MOCK_METHOD(expected<storage::group_metadata>, fetch_group_metadata, (const std::string&), (override));
  MOCK_METHOD(expected<std::vector<storage::group_listing>>, list_group_metadata, (), (override));
  MOCK_METHOD(expected<storage::producer_history>, read_producer_history,
              (const storage::topic_partition&), (override));
  MOCK_METHOD(std::error_code, put_producer_snapshot,
              (const storage::topic_partition&, const storage::producer_snapshot&,
               const std::string&),
              (override));
  MOCK_METHOD(expected<std::int64_t>, allocate_producer_ids, (std::int64_t), (override));
  MOCK_METHOD(expected<std::int16_t>, bump_producer_epoch, (std::int64_t, std::int16_t), (override));
  MOCK_METHOD(expected<bool>, register_node,
              (const storage::node_registration&, std::chrono::milliseconds), (override));
  MOCK_METHOD(std::error_code, deregister_node, (const storage::node_registration&), (override));
  MOCK_METHOD(expected<std::vector<storage::node_registration>>, live_nodes, (), (override));
  MOCK_METHOD(expected<std::vector<storage::lease_holder>>, lease_round,
              (const storage::lease_holder&, std::chrono::milliseconds,
               std::span<const storage::lease_claim>),
              (override));
  MOCK_METHOD(std::error_code, put_credential, (const storage::user_credential&), (override));
  MOCK_METHOD(expected<bool>, delete_credential,
              (const std::string&, protocol::security::scram_mechanism), (override));
  MOCK_METHOD(expected<std::vector<storage::user_credential>>, list_credentials, (), (override));
  MOCK_METHOD(std::error_code, put_acls, (std::span<const protocol::security::acl_binding>), (override));
  MOCK_METHOD(std::error_code, delete_acls, (std::span<const protocol::security::acl_binding>), (override));
  MOCK_METHOD(expected<std::vector<protocol::security::acl_binding>>, list_acls, (), (override));
};

}  // namespace portask::testing
