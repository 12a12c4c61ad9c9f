// The one table of Kafka APIs Portask serves. Adding an API: its schema in
// protocol/kafka/schema, a handler file, and one line here.
#include "actors/connections/kafka/handlers.hpp"

namespace portask::kafka {

const std::vector<api_entry>& api_table() {
  static const std::vector<api_entry> table = {
      {0, "Produce", 0, 10, request_kind::publish, handle_produce, msg::ProduceRequest_is_flexible},
      {1, "Fetch", 0, 16, request_kind::fetch, handle_fetch, msg::FetchRequest_is_flexible},
      {2, "ListOffsets", 0, 7, request_kind::list_offsets, handle_list_offsets, msg::ListOffsetsRequest_is_flexible},
      {3, "Metadata", 0, 12, request_kind::metadata, handle_metadata, msg::MetadataRequest_is_flexible},
      {8, "OffsetCommit", 0, 8, request_kind::commit, handle_offset_commit, msg::OffsetCommitRequest_is_flexible},
      {9, "OffsetFetch", 0, 8, request_kind::offset_fetch, handle_offset_fetch, msg::OffsetFetchRequest_is_flexible},
      {10, "FindCoordinator", 0, 4, request_kind::group, handle_find_coordinator, msg::FindCoordinatorRequest_is_flexible},
      {11, "JoinGroup", 0, 9, request_kind::group, handle_join_group, msg::JoinGroupRequest_is_flexible},
      {12, "Heartbeat", 0, 4, request_kind::heartbeat, handle_heartbeat, msg::HeartbeatRequest_is_flexible},
      {13, "LeaveGroup", 0, 5, request_kind::group, handle_leave_group, msg::LeaveGroupRequest_is_flexible},
      {14, "SyncGroup", 0, 5, request_kind::group, handle_sync_group, msg::SyncGroupRequest_is_flexible},
      {15, "DescribeGroups", 0, 5, request_kind::group, handle_describe_groups, msg::DescribeGroupsRequest_is_flexible},
      {16, "ListGroups", 0, 5, request_kind::group, handle_list_groups, msg::ListGroupsRequest_is_flexible},
      {17, "SaslHandshake", 0, 1, request_kind::authenticate, handle_sasl_handshake, msg::SaslHandshakeRequest_is_flexible},
      {18, "ApiVersions", 0, 3, request_kind::metadata, handle_api_versions, msg::ApiVersionsRequest_is_flexible},
      {19, "CreateTopics", 0, 7, request_kind::topic_admin, handle_create_topics, msg::CreateTopicsRequest_is_flexible},
      {20, "DeleteTopics", 0, 6, request_kind::topic_admin, handle_delete_topics, msg::DeleteTopicsRequest_is_flexible},
      {21, "DeleteRecords", 0, 2, request_kind::topic_admin, handle_delete_records, msg::DeleteRecordsRequest_is_flexible},
      {22, "InitProducerId", 0, 4, request_kind::publish, handle_init_producer_id, msg::InitProducerIdRequest_is_flexible},
      {23, "OffsetForLeaderEpoch", 0, 4, request_kind::list_offsets, handle_offset_for_leader_epoch, msg::OffsetForLeaderEpochRequest_is_flexible},
      {29, "DescribeAcls", 0, 3, request_kind::security_admin, handle_describe_acls, msg::DescribeAclsRequest_is_flexible},
      {30, "CreateAcls", 0, 3, request_kind::security_admin, handle_create_acls, msg::CreateAclsRequest_is_flexible},
      {31, "DeleteAcls", 0, 3, request_kind::security_admin, handle_delete_acls, msg::DeleteAclsRequest_is_flexible},
      {32, "DescribeConfigs", 0, 4, request_kind::topic_admin, handle_describe_configs, msg::DescribeConfigsRequest_is_flexible},
      {33, "AlterConfigs", 0, 2, request_kind::topic_admin, handle_alter_configs, msg::AlterConfigsRequest_is_flexible},
      {35, "DescribeLogDirs", 0, 4, request_kind::topic_admin, handle_describe_log_dirs, msg::DescribeLogDirsRequest_is_flexible},
      {36, "SaslAuthenticate", 0, 2, request_kind::authenticate, handle_sasl_authenticate, msg::SaslAuthenticateRequest_is_flexible},
      {37, "CreatePartitions", 0, 3, request_kind::topic_admin, handle_create_partitions, msg::CreatePartitionsRequest_is_flexible},
      {42, "DeleteGroups", 0, 2, request_kind::group, handle_delete_groups, msg::DeleteGroupsRequest_is_flexible},
      {43, "ElectLeaders", 0, 2, request_kind::topic_admin, handle_elect_leaders, msg::ElectLeadersRequest_is_flexible},
      {44, "IncrementalAlterConfigs", 0, 1, request_kind::topic_admin, handle_incremental_alter_configs, msg::IncrementalAlterConfigsRequest_is_flexible},
      {47, "OffsetDelete", 0, 0, request_kind::commit, handle_offset_delete, msg::OffsetDeleteRequest_is_flexible},
      {50, "DescribeUserScramCredentials", 0, 0, request_kind::security_admin, handle_describe_user_scram_credentials, msg::DescribeUserScramCredentialsRequest_is_flexible},
      {51, "AlterUserScramCredentials", 0, 0, request_kind::security_admin, handle_alter_user_scram_credentials, msg::AlterUserScramCredentialsRequest_is_flexible},
      {60, "DescribeCluster", 0, 1, request_kind::metadata, handle_describe_cluster, msg::DescribeClusterRequest_is_flexible},
      {61, "DescribeProducers", 0, 0, request_kind::topic_admin, handle_describe_producers, msg::DescribeProducersRequest_is_flexible},
  };
  return table;
}

const api_entry* find_api(std::int16_t key) {
  for (const auto& e : api_table())
    if (e.key == key) return &e;
  return nullptr;
}

bool flexible_response_header(const request& r) {
  if (r.api_key == msg::ApiVersionsRequest_api_key) return false;
  const auto* api = find_api(r.api_key);
  return api != nullptr && api->flexible(r.api_version);
}

void respond_nothing(self_ptr self, const request& r) {
  auto& st = self->state;
  const auto latency = std::chrono::steady_clock::now() - r.start;
  st.ctx->metrics.request(protocol_kind::kafka, r.kind, latency, false);
  st.ctx->metrics.kafka_request(r.api_key, r.api_name, latency, false);
  st.responses->complete(r.seq, {});
  if (st.closing) return close_after_answers(self);  // one close path, with its deadline
  request_completed(self, r.seq);
}

}  // namespace portask::kafka
