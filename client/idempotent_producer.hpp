#pragma once
/// A native producer whose publishes are stored exactly once, whatever happens to the
/// connection or the broker: each batch carries the producer's id, epoch and a per-partition
/// sequence, and a batch whose outcome is unknown (a lost connection, a timeout, a retriable
/// error) is sent again, with the same sequence, until the broker answers. The broker stores
/// it at most once and answers a resend with the first result. In a cluster each batch goes
/// to its partition's leader and follows it when it moves (cluster_client): the producer's
/// state lives with the partition in the store, so a new leader recognises a resend.
///
/// Publishes one batch at a time (no pipelining) and needs an explicit partition.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "client/cluster_client.hpp"

namespace portask::client {

class idempotent_producer {
 public:
  /// Connects and obtains a producer id. `retry_for` bounds how long one publish keeps
  /// retrying before it reports failure.
  static result<idempotent_producer> open(const options& o,
                                          std::chrono::milliseconds retry_for =
                                              std::chrono::seconds(60));

  /// Stores `batch` in topic/partition exactly once; the offsets it got. A failure that is
  /// not retriable ends the attempts; when the batch may be stored all the same (a frame over
  /// options::max_frame_bytes broke the connection after the send: frame_too_large, network
  /// message_size, its message saying the outcome is unknown), the next publish starts a new
  /// epoch first, so that no later batch is taken for its resend and dropped.
  result<protocol::native::publish_response> publish(const std::string& topic,
                                                     std::int32_t partition,
                                                     const protocol::message_batch& batch);

  std::int64_t producer_id() const noexcept { return id_; }
  std::int16_t epoch() const noexcept { return epoch_; }
  /// Connections opened after the first (for tests and load tools).
  std::size_t reconnects() const noexcept;

 private:
  idempotent_producer(options o, std::chrono::milliseconds retry_for)
      : opts_(std::move(o)), retry_for_(retry_for) {}
  result<bool> reconnect();
  void forget_connections();
  /// The state of the producer's id was lost on the broker (expired), or a batch was given
  /// up on: the next epoch starts every partition's sequences at 0 again (KIP-360). When the
  /// broker refuses to bump the epoch (an earlier bump's answer was lost, the id is unknown,
  /// its epochs are used up) a new id is taken instead, to the same effect.
  result<bool> bump_epoch();

  options opts_;
  std::chrono::milliseconds retry_for_;
  std::optional<cluster_client> conn_;
  std::int64_t id_ = -1;
  std::int16_t epoch_ = -1;
  std::map<std::pair<std::string, std::int32_t>, std::int32_t> next_sequence_;
  std::size_t reconnects_ = 0;  ///< connections of cluster clients no longer used
  bool unsure_ = false;  ///< a publish was given up on while its outcome was unknown
};

}  // namespace portask::client
