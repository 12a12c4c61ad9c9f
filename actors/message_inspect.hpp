#pragma once
/// CAF 0.17 inspect() overloads for every type a message carries between actors, so the
/// middleman (and any binary_serializer) can send them to another node. protocol/ and
/// storage/ stay free of CAF: their types' overloads live here, in their own namespaces,
/// where CAF's unqualified inspect() calls find them by ADL. Each type is registered by name
/// in configure_actor_system (runtime/errors.cpp).
///
/// Every field is written, in declaration order; a loaded value compares equal to the saved
/// one. tests/actors/runtime/message_serialization_test.cpp checks both for every type, and
/// that each struct's inspect() names as many fields as the struct has members.

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/none.hpp>
#include <caf/serializer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "actors/groups/group_messages.hpp"
#include "actors/messages.hpp"

// Overloads for std types are found through the inspector (a caf type): ADL looks only in
// std for std::optional<std::string>, and std may not be extended.
namespace caf {

/// CAF 0.17 knows caf::optional only: a presence flag, then the value if present.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, std::optional<T>& x) {
  if constexpr (Inspector::reads_state) {
    return x ? f(true, *x) : f(false);
  } else {
    bool present = false;
    if (auto err = f(present)) return err;
    if (!present) {
      x.reset();
      return {};
    }
    T value{};
    if (auto err = f(value)) return err;
    x = std::move(value);
    return {};
  }
}

}  // namespace caf

namespace portask::protocol {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_header& x) {
  return f(caf::meta::type_name("portask.message_header"), x.key, x.value);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(caf::meta::type_name("portask.message"), x.id, x.topic, x.partition, x.key, x.value,
           x.headers, x.timestamp_ms, x.priority, x.expires_at_ms, x.offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_batch& x) {
  return f(caf::meta::type_name("portask.message_batch"), x.messages);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_claim& x) {
  return f(caf::meta::type_name("portask.producer_claim"), x.id, x.epoch, x.base_sequence);
}

/// A presence flag (a default value owns no bytes, which operator bool tells apart from an
/// empty frame), then the bytes as a byte sequence, as a buffer is written.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
  if constexpr (std::is_base_of_v<caf::serializer, Inspector>) {
    // Straight from the shared bytes: a frame is not copied to be written.
    bool attached = static_cast<bool>(x);
    if (!attached) return f(attached);
    auto n = x.size();
    return caf::error::eval(
        [&] { return f(attached); }, [&] { return f.begin_sequence(n); },
        [&]() -> caf::error {
          // apply_raw only reads when saving
          return n > 0 ? f.apply_raw(n, const_cast<std::uint8_t*>(x.data())) : caf::none;
        },
        [&] { return f.end_sequence(); });
  } else if constexpr (Inspector::reads_state) {
    if (!x) return f(caf::meta::type_name("portask.shared_bytes"), false);
    auto bytes = x.to_buffer();
    return f(caf::meta::type_name("portask.shared_bytes"), true, bytes);
  } else {
    bool attached = false;
    if (auto err = f(attached)) return err;
    if (!attached) {
      x = {};
      return {};
    }
    buffer bytes;
    if (auto err = f(bytes)) return err;
    // Adopted, not copied again: heap memory. A receiver that keeps frames for its lifetime
    // (an embedded store) moves them into slab memory itself, as the bridge does.
    x = shared_bytes::adopt(std::move(bytes));
    return {};
  }
}

/// A hook event's batch: a presence flag (null: none), then the messages, loaded into a
/// batch of the receiver's own (shared by its subscribers, as the sender's are).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, std::shared_ptr<const message_batch>& x) {
  if constexpr (Inspector::reads_state) {
    return x ? f(caf::meta::type_name("portask.batch_ref"), true, *x)
             : f(caf::meta::type_name("portask.batch_ref"), false);
  } else {
    bool present = false;
    if (auto err = f(present)) return err;
    if (!present) {
      x.reset();
      return {};
    }
    auto batch = std::make_shared<message_batch>();
    if (auto err = f(*batch)) return err;
    x = std::move(batch);
    return {};
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, binary_batch_scan& x) {
  return f(caf::meta::type_name("portask.binary_batch_scan"), x.count, x.messages_at,
           x.base_timestamp_ms, x.max_timestamp_ms, x.timestamps_unset, x.expiring, x.keyless,
           x.rebasable, x.headers);
}

}  // namespace portask::protocol

namespace portask::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_partition& x) {
  return f(caf::meta::type_name("portask.topic_partition"), x.topic, x.partition);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_info& x) {
  return f(caf::meta::type_name("portask.topic_info"), x.name, x.partitions, x.configs, x.id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_batch& x) {
  return f(caf::meta::type_name("portask.stored_batch"), x.base_offset, x.record_count,
           x.max_timestamp, x.frame, x.producer, x.end_bytes, x.end_timestamp);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, compacted_batch& x) {
  return f(caf::meta::type_name("portask.compacted_batch"), x.batch, x.rewritten);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_compaction& x) {
  return f(caf::meta::type_name("portask.log_compaction"), x.first_base, x.end, x.end_bytes,
           x.batches, x.fence);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_bounds& x) {
  return f(caf::meta::type_name("portask.partition_bounds"), x.log_start, x.next_offset,
           x.start_bytes, x.end_bytes, x.end_timestamp);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_batch& x) {
  return f(caf::meta::type_name("portask.producer_batch"), x.producer_id, x.epoch, x.first_seq,
           x.last_seq, x.base_offset, x.record_count, x.last_use_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_snapshot& x) {
  return f(caf::meta::type_name("portask.producer_snapshot"), x.covers, x.batches, x.expired);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_history& x) {
  return f(caf::meta::type_name("portask.producer_history"), x.covers, x.batches);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, committed_offset& x) {
  return f(caf::meta::type_name("portask.committed_offset"), x.offset, x.metadata, x.leader_epoch,
           x.commit_time_ms, x.expire_time_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_offset& x) {
  return f(caf::meta::type_name("portask.group_offset"), x.tp, x.offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_metadata& x) {
  return f(caf::meta::type_name("portask.group_metadata"), x.protocol_type, x.generation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_listing& x) {
  return f(caf::meta::type_name("portask.group_listing"), x.group, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_credential& x) {
  return f(caf::meta::type_name("portask.user_credential"), x.user, x.credential);
}

}  // namespace portask::storage

namespace portask::protocol::security {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scram_credential& x) {
  return f(caf::meta::type_name("portask.scram_credential"), x.mechanism, x.salt, x.iterations,
           x.stored_key, x.server_key);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acl_binding& x) {
  return f(caf::meta::type_name("portask.acl_binding"), x.resource, x.name, x.pattern, x.principal,
           x.host, x.operation, x.permission);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, acl_filter& x) {
  return f(caf::meta::type_name("portask.acl_filter"), x.resource, x.name, x.pattern, x.principal,
           x.host, x.operation, x.permission);
}

}  // namespace portask::protocol::security

// Enums (errc, protocol_kind) need nothing: CAF 0.17 writes an enum as its underlying type.
namespace portask {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_sequence& x) {
  return f(caf::meta::type_name("portask.producer_sequence"), x.id, x.epoch, x.first_seq,
           x.last_seq);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, producer_summary& x) {
  return f(caf::meta::type_name("portask.producer_summary"), x.id, x.epoch, x.last_sequence,
           x.last_timestamp);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_batch& x) {
  return f(caf::meta::type_name("portask.publish_batch"), x.tp, x.batch, x.source, x.auto_create,
           x.wire_bytes, x.producer, x.internal, x.kafka_view, x.encoded, x.encoded_at,
           x.encoded_scan);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_result& x) {
  return f(caf::meta::type_name("portask.publish_result"), x.partition, x.base_offset, x.count,
           x.duplicate, x.log_start);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_reply& x) {
  return f(caf::meta::type_name("portask.publish_reply"), x.error, x.result);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, framed_batch& x) {
  return f(caf::meta::type_name("portask.framed_batch"), x.frame, x.record_count, x.max_timestamp,
           x.producer, x.kafka_view, x.keyless);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_set& x) {
  return f(caf::meta::type_name("portask.append_set"), x.tp, x.batches, x.fence);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_outcome& x) {
  // The codes travel as integers: CAF's own loop over a vector of enums leaves a local
  // uninitialised before reading it, which GCC 12 -O3 reports (-Wmaybe-uninitialized).
  std::vector<std::int32_t> codes;
  if constexpr (Inspector::reads_state) {
    codes.reserve(x.results.size());
    for (auto e : x.results) codes.push_back(static_cast<std::int32_t>(e));
    return f(caf::meta::type_name("portask.append_outcome"), codes);
  } else {
    if (auto err = f(caf::meta::type_name("portask.append_outcome"), codes)) return err;
    x.results.clear();
    for (auto c : codes) x.results.push_back(static_cast<errc>(c));
    return {};
  }
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_recovery& x) {
  return f(caf::meta::type_name("portask.partition_recovery"), x.bounds, x.producers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stored_group& x) {
  return f(caf::meta::type_name("portask.stored_group"), x.metadata, x.offsets);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_request& x) {
  return f(caf::meta::type_name("portask.fetch_request"), x.tp, x.offset, x.max_bytes,
           x.max_wait_ms, x.source, x.at_least_one_batch, x.poll_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_result& x) {
  return f(caf::meta::type_name("portask.fetch_result"), x.partition, x.high_watermark,
           x.log_start, x.batches, x.kafka_views);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, topic_description& x) {
  return f(caf::meta::type_name("portask.topic_description"), x.info, x.partitions);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connect_event& x) {
  return f(caf::meta::type_name("portask.connect_event"), x.protocol, x.peer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, disconnect_event& x) {
  return f(caf::meta::type_name("portask.disconnect_event"), x.protocol, x.peer);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message_event& x) {
  return f(caf::meta::type_name("portask.message_event"), x.protocol, x.tp, x.base_offset,
           x.batch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("portask.http_request"), x.method, x.target, x.body);
}

// -- consumer groups -------------------------------------------------------------------------

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_protocol& x) {
  return f(caf::meta::type_name("portask.group_protocol"), x.name, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_group_request& x) {
  return f(caf::meta::type_name("portask.join_group_request"), x.member_id, x.instance_id,
           x.client_id, x.client_host, x.session_timeout_ms, x.rebalance_timeout_ms,
           x.protocol_type, x.protocols, x.require_known_member, x.supports_skip_assignment);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_member_info& x) {
  return f(caf::meta::type_name("portask.group_member_info"), x.member_id, x.instance_id,
           x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_group_result& x) {
  return f(caf::meta::type_name("portask.join_group_result"), x.error, x.generation,
           x.protocol_type, x.protocol_name, x.leader, x.member_id, x.members, x.skip_assignment);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sync_group_request& x) {
  return f(caf::meta::type_name("portask.sync_group_request"), x.member_id, x.instance_id,
           x.generation, x.protocol_type, x.protocol_name, x.assignments);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sync_group_result& x) {
  return f(caf::meta::type_name("portask.sync_group_result"), x.error, x.protocol_type,
           x.protocol_name, x.assignment);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_ref& x) {
  return f(caf::meta::type_name("portask.member_ref"), x.member_id, x.instance_id, x.generation);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, commit_offsets_request& x) {
  return f(caf::meta::type_name("portask.commit_offsets_request"), x.member, x.offsets);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_member_description& x) {
  return f(caf::meta::type_name("portask.group_member_description"), x.member_id, x.instance_id,
           x.client_id, x.client_host, x.metadata, x.assignment, x.session_timeout_ms,
           x.rebalance_timeout_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_description& x) {
  return f(caf::meta::type_name("portask.group_description"), x.group_id, x.error, x.state,
           x.protocol_type, x.protocol_name, x.generation, x.leader, x.members);
}

}  // namespace portask
