#pragma once
/// A client of a Portask cluster (docs/cluster.md), built on `connection`: one connection per
/// node, opened when first needed. Each partition's requests go to its leader and each
/// group's to its coordinator, as the nodes' Metadata names them. When a node answers
/// NOT_LEADER or NOT_COORDINATOR, a connection fails, or a partition has no leader for the
/// moment, the client reads the Metadata again (from any node that answers) and retries,
/// backing off, until options::timeout has passed since the call began. A request over a
/// broker's max_frame_bytes (frame_too_large: the broker refuses it and closes the connection),
/// an answer or delivery over this client's (options::max_frame_bytes), and a TLS alert by
/// which a node refuses this client's certificate or the terms it offers
/// (authentication_failed) are not retried: every connection would meet them again. A frame
/// over this client's limit that breaks the connection while a request that changes
/// something (a publish, a commit, a deletion) awaits its answer (a delivery on the same
/// connection, say) is no refusal of the request: its failure (frame_too_large, network
/// message_size) says the connection broke on an oversized frame and that the request's
/// outcome is unknown (a publish may have been stored). A read cut off so fails naming the
/// frame's size and the limit alone. Against a single broker (a Metadata answer without
/// nodes) everything goes to that broker, unchanged.
///
/// A publish whose outcome is unknown is sent again, and may then be stored twice: one
/// answered `timeout` (69, retriable: the store did not answer within the broker's
/// store_timeout_ms, and the batch may be stored all the same), or one whose connection failed
/// after it was sent (stored before the node died, its answer lost with it). One whose answer
/// had arrived before the connection failed is not resent. A pipelined publish sent again
/// goes behind those sent after it, which may then be stored before it. A batch with a
/// producer claim is stored once, in sequence order: for exactly-once publishing use
/// idempotent_producer (client/idempotent_producer.hpp), which sends through this class, or
/// a Kafka client's idempotent producer.
///
/// With TLS and options::tls_server_name set, every node's certificate must name it (set it
/// when all nodes share one certificate name, e.g. a wildcard or service name, while they
/// advertise addresses); left empty, each node's must name the host that node advertises. A
/// certificate (or credential) a node refuses is returned at once, not retried.
///
/// Of two Metadata answers, the one with the higher lease epoch names a partition's leader
/// (a node that lags does not send us back to the old one), unless the leader known has
/// answered not_leader for that partition since, or is no longer listed as a node: then the
/// store's epochs went back (wiped, restored) and the lower epoch is followed.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client/client.hpp"
#include "client/deadline.hpp"

namespace portask::client {

class cluster_client {
 public:
  /// Connects to the bootstrap address in `o` and reads the Metadata. The options (TLS,
  /// credentials, encoding, timeout) are used for every node's connection.
  static result<cluster_client> open(const options& o);

  // -- calls routed to a partition's leader ------------------------------------------------
  /// Partition -1: this client picks one of the topic's partitions that has a leader, in
  /// turn (outside a cluster, or for a topic it does not know yet, the broker picks).
  result<protocol::native::publish_response> publish(const std::string& topic, std::int32_t partition,
                                                     const protocol::message_batch& batch,
                                                     const protocol::native::publish_producer& producer = {});
  /// Pipelining across nodes: sends a publish to the partition's leader (partition -1 as
  /// above) without waiting for its answer; receive_publish() returns the answers, one per
  /// send. A batch answered with a retriable error or cut off with its connection is sent
  /// again to where its partition is led then, behind the batches already in flight, so
  /// batches of one partition may be reordered across a move, and one whose outcome was
  /// unknown (answered `timeout`, cut off after the send) stored twice, as a Kafka producer's
  /// without idempotence. While publishes are in flight, make no other call on their
  /// connections.
  result<bool> send_publish(const std::string& topic, std::int32_t partition, protocol::message_batch batch,
                            const protocol::native::publish_producer& producer = {});
  result<protocol::native::publish_response> receive_publish();
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  /// Sends the publishes every node's connection holds back (connection::flush): waiting
  /// calls do it themselves; a caller that sends as its input comes calls it.
  void flush();
  /// For partition -1: a partition of `topic` that has a leader now, in turn; -1 outside a
  /// cluster or for a topic not known yet (the node picks).
  std::int32_t pick_partition(const std::string& topic);

  result<fetched> fetch(const std::string& topic, std::int32_t partition, std::int64_t offset,
                        std::uint32_t max_bytes = 1 << 20, std::uint32_t max_wait_ms = 0);
  result<protocol::native::list_offsets_response> list_offsets(const std::string& topic,
                                                               std::int32_t partition);
  result<protocol::native::list_offsets_response> offset_for_time(const std::string& topic,
                                                                  std::int32_t partition,
                                                                  std::int64_t timestamp_ms);
  result<protocol::native::list_offsets_response> delete_records(const std::string& topic,
                                                                 std::int32_t partition,
                                                                 std::int64_t offset);

  // -- calls routed to a group's coordinator -------------------------------------------------
  result<bool> commit(const std::string& group, const std::string& topic, std::int32_t partition,
                      std::int64_t offset, const std::string& metadata = {},
                      const std::string& member_id = {}, std::int32_t generation = -1);
  result<protocol::native::offset_fetch_response> committed(const std::string& group,
                                                            const std::string& topic,
                                                            std::int32_t partition);
  result<protocol::native::group_detail> describe_group(const std::string& group);
  result<bool> delete_group(const std::string& group);

  // -- subscriptions that follow their partition's leader -------------------------------------
  /// Ids are this client's own. When the leader moves (the node ends the subscription with
  /// NOT_LEADER, or its connection fails) the subscription is made again on the new leader
  /// from the offset after the last delivery, with the credit it had.
  result<std::uint32_t> subscribe(const std::string& topic, std::int32_t partition, std::int64_t offset,
                                  std::uint32_t credit_bytes);
  /// Credit for a subscription whose connection failed, or that its node ended meanwhile
  /// (next_delivery makes it again or reports its end), goes with it; a refusal otherwise is
  /// returned, as is a failure of the connection that no other would pass (see
  /// next_delivery: that connection's subscriptions end).
  result<bool> grant_credit(std::uint32_t subscription_id, std::uint32_t bytes);
  result<bool> unsubscribe(std::uint32_t subscription_id);
  /// The next delivery on any subscription, waiting up to `wait`; nullopt on timeout. A
  /// subscription the broker ended for good (e.g. its topic was deleted), or one that could
  /// not be made again anywhere for options::timeout (no node reachable), is reported as a
  /// failure naming it (failure::subscription_id) and forgotten. Other failures on a
  /// connection that is still usable (a delivery that does not decode) are reported naming
  /// no subscription; a failed connection's subscriptions are made again elsewhere, unless
  /// it failed on what every connection would meet again: a delivery over this client's
  /// options::max_frame_bytes (frame_too_large, network message_size) or a TLS alert
  /// refusing this client (authentication_failed). Then every subscription on that
  /// connection ends, forgotten (grant_credit and unsubscribe answer "no such
  /// subscription"), and the failure's message lists them ("subscriptions ended: 3, 5: ...",
  /// failure::subscription_id 0): the caller subscribes again, from the offset after its
  /// last delivery, once it has raised the limit or mended the certificate. (grant_credit
  /// ends them, and returns that failure, when its connection fails so.)
  result<std::optional<delivery>> next_delivery(std::chrono::milliseconds wait);

  // -- connections, for everything else ------------------------------------------------------
  /// The connection to the partition's leader (not_leader, retriable, while it has none).
  result<connection*> leader(const std::string& topic, std::int32_t partition);
  /// `r`, the answer on `c` (from leader()) to a request for the partition, returned as is
  /// once a not_leader in it is noted: a caller sending on leader() itself passes its
  /// answers here, so that a lower leader epoch is followed when the store's went back.
  template <class T>
  result<T> led_answer(const connection& c, const std::string& topic, std::int32_t partition, result<T> r) {
    if (!ok(r)) note_refusal(node_of(c), error_of(r), topic, partition);
    return r;
  }
  /// The connection to the group's coordinator.
  result<connection*> coordinator(const std::string& group);
  /// A connection to some live node (administration goes to any node).
  result<connection*> any();
  /// A new connection of the caller's own to the group's coordinator now: for a group
  /// membership, whose assignments are pushed on the connection that joined.
  result<connection> open_to_coordinator(const std::string& group);

  /// Reads the Metadata again, asking also for the coordinators of `groups`.
  result<bool> refresh(const std::vector<std::string>& groups = {});
  const protocol::native::metadata_response& metadata() const noexcept { return meta_; }
  /// Whether the broker said it is one node of a cluster.
  bool clustered() const noexcept { return meta_.node_id >= 0; }
  /// The topic's partition count as last read (0: not known).
  std::int32_t partitions_of(const std::string& topic) const;
  /// Calls that were retried after a move or a failure (for tests and load tools).
  std::size_t retries() const noexcept { return retries_; }
  /// Connections opened so far, the bootstrap one included.
  std::size_t connections_opened() const noexcept { return opened_; }

  /// What a call does at the broker. One that changes something (a publish, a commit, a
  /// deletion) and is cut off before its answer may have taken effect; one that reads has
  /// nothing to be unsure of.
  enum class effect { reads, changes };

  /// Runs `call` on the connection `route` gives, following moves as described above:
  /// retried while the failure is retriable or the connection failed (unless refused for
  /// good). A frame over this client's limit is returned at once: for a call that `changes`
  /// something, as its outcome unknown (outcome_unknown); for a read, as it is ("frame of
  /// N bytes from the broker exceeds the client's limit of M"), often its own answer.
  template <class T>
  result<T> follow(const std::function<result<connection*>()>& route,
                   const std::function<result<T>(connection&)>& call, effect kind,
                   const std::vector<std::string>& groups = {}) {
    const auto deadline = deadline_after(opts_.timeout);
    auto pause = std::chrono::milliseconds(20);
    for (;;) {
      auto c = route();
      if (ok(c)) {
        auto r = call(*std::get<0>(c));
        if (ok(r)) return r;
        // Not retried (that frame would come again), yet no answer of the broker's: a call
        // that changes something may have taken effect.
        if (over_client_frame_limit(error_of(r))) {
          if (kind == effect::changes) return outcome_unknown(error_of(r), "request");
          return r;
        }
        const bool lost = !std::get<0>(c)->usable() && !refused_for_good(error_of(r));
        // A rebalance is the group member's to handle (rejoin), not a reason to wait here.
        if (!lost && (!error_of(r).retriable || error_of(r).code == errc::rebalance_in_progress)) return r;
        if (!back_off(pause, deadline, groups)) return r;
      } else if (!error_of(c).retriable || !back_off(pause, deadline, groups)) {
        return error_of(c);
      }
      ++retries_;
    }
  }

 private:
  /// A failure that ends the connection and that every connection would meet again, so not
  /// retried: a frame over a limit (the broker's for a request: it says so, an Error of
  /// request 0, and closes the connection; or ours for an answer or delivery), or this client
  /// refused (a TLS alert against its certificate, credentials refused).
  static bool refused_for_good(const failure& f) noexcept {
    return f.code == errc::frame_too_large || f.code == errc::authentication_failed;
  }
  /// The node serving the partition now (-1 outside a cluster); not_leader while none does.
  result<std::int32_t> leader_id(const std::string& topic, std::int32_t partition);
  explicit cluster_client(options o) : opts_(std::move(o)) {}
  /// The connection to node `id` (opening it from the Metadata's endpoint).
  result<connection*> node(std::int32_t id);
  result<connection> open_to(const std::string& host, std::uint16_t port) const;
  void take(protocol::native::metadata_response m, std::unique_ptr<connection> answered_on);
  /// The node whose connection in use `c` is; -2 for none (a retired one).
  std::int32_t node_of(const connection& c) const;
  /// Notes a not_leader from `node` for the partition when it is the leader known (take()
  /// then accepts a lower epoch for it).
  void note_refusal(std::int32_t node, const failure& f, const std::string& topic, std::int32_t partition);
  /// Sleeps `pause` and reads the Metadata again; false when `deadline` would pass first.
  bool back_off(std::chrono::milliseconds& pause, std::chrono::steady_clock::time_point deadline,
                const std::vector<std::string>& groups);
  void drop_broken();

  struct subscription {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t next_offset = -1;
    std::uint32_t credit = 0;    ///< granted and not yet charged by a delivery (saturating)
    std::int32_t node = -2;      ///< where it lives now (-2: nowhere; made again on next_delivery)
    std::uint32_t node_id = 0;   ///< its id on that node's connection
    /// Since when it could not be made anywhere (while node is -2 and tries fail).
    std::optional<std::chrono::steady_clock::time_point> homeless_since;
  };
  /// Makes `s` on its partition's current leader.
  result<bool> place(subscription& s);
  /// Forgets node `node`'s connection (kept aside while publishes sent on it await their
  /// answers); its subscriptions are to be made again.
  void forget(std::int32_t node);
  /// `f`, which broke node `node`'s connection and that every connection would meet again
  /// (refused_for_good), naming the subscriptions that lived there: they end (forgotten), as
  /// made again they would meet it again, without end.
  failure end_subscriptions_on(std::int32_t node, failure f);

  struct pending_publish {
    std::string topic;
    std::int32_t partition = -1;  ///< as asked (-1: picked again on a resend)
    protocol::message_batch batch;
    protocol::native::publish_producer producer;
    std::chrono::steady_clock::time_point deadline;
    std::int32_t target = -1;     ///< the partition it was last sent to
    std::int32_t node = -1;       ///< sent to this node
    std::uint64_t serial = 0;     ///< on this connection of it
    std::uint32_t request_id = 0;  ///< as this request there
  };
  /// Sends `p` to its partition's leader now and records where.
  result<bool> send_pending(pending_publish& p);
  /// The connection `serial` to `node`: the one in use, or one that failed with publishes
  /// still in flight on it; null once it is gone.
  connection* sent_on(std::int32_t node, std::uint64_t serial);
  /// Closes the failed connections no publish in flight was sent on any more.
  void release_retired();
  /// Whether a publish is in flight on the connection numbered `serial`.
  bool in_flight_on(std::uint64_t serial) const;
  bool busy(std::int32_t node) const;
  connection* install(std::int32_t node, std::unique_ptr<connection> c);

  options opts_;
  /// Node id -> connection; outside a cluster the one broker's is under -1.
  std::map<std::int32_t, std::unique_ptr<connection>> nodes_;
  std::map<std::int32_t, std::uint64_t> serials_;  ///< which connection each slot holds
  /// Connections forgotten (failed) while publishes sent on them awaited answers, by serial.
  std::map<std::uint64_t, std::unique_ptr<connection>> retired_;
  std::deque<pending_publish> in_flight_;
  protocol::native::metadata_response meta_;
  struct leader_at {
    std::int32_t node = -1;
    std::int32_t epoch = -1;  ///< its lease's
    bool refused = false;     ///< the node answered not_leader for the partition since
  };
  std::map<std::pair<std::string, std::int32_t>, leader_at> leaders_;
  std::map<std::string, std::int32_t> coordinators_;
  std::map<std::string, std::int32_t> partition_counts_;
  std::map<std::uint32_t, subscription> subscriptions_;
  std::uint32_t last_subscription_ = 0;
  std::uint32_t round_robin_ = 0;
  std::size_t retries_ = 0;
  mutable std::size_t opened_ = 0;
};

}  // namespace portask::client
