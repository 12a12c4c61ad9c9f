#include "client/idempotent_producer.hpp"

#include <algorithm>
#include <thread>

namespace portask::client {

namespace native = protocol::native;
using clock_type = std::chrono::steady_clock;

result<idempotent_producer> idempotent_producer::open(const options& o,
                                                      std::chrono::milliseconds retry_for) {
  idempotent_producer p{o, retry_for};
  auto c = p.reconnect();
  if (!ok(c)) return error_of(c);
  auto any = p.conn_->any();
  if (!ok(any)) return error_of(any);
  auto init = std::get<0>(any)->init_producer();
  if (!ok(init)) return error_of(init);
  p.id_ = std::get<0>(init).producer_id;
  p.epoch_ = std::get<0>(init).producer_epoch;
  return p;
}

result<bool> idempotent_producer::reconnect() {
  forget_connections();
  auto c = cluster_client::open(opts_);
  if (!ok(c)) return error_of(c);
  conn_.emplace(std::move(std::get<0>(c)));
  return true;
}

void idempotent_producer::forget_connections() {
  if (conn_) reconnects_ += conn_->connections_opened();
  conn_.reset();
}

std::size_t idempotent_producer::reconnects() const noexcept {
  const auto opened = reconnects_ + (conn_ ? conn_->connections_opened() : 0);
  return opened > 0 ? opened - 1 : 0;
}

result<bool> idempotent_producer::bump_epoch() {
  auto any = conn_->any();
  if (!ok(any)) return error_of(any);
  auto& c = *std::get<0>(any);
  auto init = c.init_producer(id_, epoch_);
  // Refused for good: the store holds a later epoch of the id (this producer's own earlier
  // bump, whose answer was lost), does not know the id (a store emptied meanwhile), or the
  // id's epochs ran out. A new id serves the same end as a new epoch: its sequences start
  // at 0, and no batch of it can be taken for one sent under the old pair.
  if (!ok(init) && (error_of(init).code == errc::invalid_producer_epoch ||
                    error_of(init).code == errc::unknown_producer_id))
    init = c.init_producer();
  if (!ok(init)) return error_of(init);
  id_ = std::get<0>(init).producer_id;
  epoch_ = std::get<0>(init).producer_epoch;
  next_sequence_.clear();
  return true;
}

result<native::publish_response> idempotent_producer::publish(
    const std::string& topic, std::int32_t partition, const protocol::message_batch& batch) {
  if (partition < 0 || batch.messages.empty())
    return failure{errc::invalid_request, "an idempotent publish names its partition", false};
  const auto deadline = deadline_after(retry_for_);
  auto pause = std::chrono::milliseconds(20);
  bool epoch_bumped = false;
  // Some attempt left and its outcome is unknown (a retriable failure after the send, or a
  // frame over our limit that broke the connection before the answer): the batch may be
  // stored whatever a later attempt hears.
  bool maybe_stored = false;
  for (;;) {
    failure f;
    if (!conn_) {
      auto c = reconnect();
      if (ok(c)) continue;
      f = error_of(c);
      f.retriable = true;  // the broker may be restarting
    } else if (unsure_) {
      // A batch given up on may yet be stored: a new epoch keeps the next batch from being
      // taken for it (a resend with the same sequence).
      auto b = bump_epoch();
      if (ok(b)) {
        unsure_ = false;
        continue;
      }
      f = error_of(b);
      if (f.retriable) conn_->refresh();
    } else {
      auto& seq = next_sequence_[{topic, partition}];
      const native::publish_producer claim{id_, epoch_, seq};
      // To the partition's leader now (a connection that failed, or timed out with an answer
      // still owed, is never used again: cluster_client opens a new one).
      auto leader = conn_->leader(topic, partition);
      result<native::publish_response> r = ok(leader) ? failure{} : error_of(leader);
      if (ok(leader)) {
        auto& c = *std::get<0>(leader);
        auto sent = c.send_publish(topic, partition, batch, true, claim);
        r = conn_->led_answer(c, topic, partition,
                              ok(sent) ? c.receive_publish() : result<native::publish_response>{error_of(sent)});
        // A frame over our limit broke the connection (a delivery ahead of the answer, or the
        // answer itself): the broker refused nothing, and may have stored the batch.
        if (ok(sent) && !ok(r) && (error_of(r).retriable || over_client_frame_limit(error_of(r)))) {
          maybe_stored = true;
          // Not retried (that frame would come again), yet no refusal of the batch: said so.
          if (!error_of(r).retriable) r = outcome_unknown(error_of(r), "publish", "it may have been stored");
        }
      }
      if (ok(r)) {
        const auto n = static_cast<std::int64_t>(batch.messages.size());
        seq = static_cast<std::int32_t>((static_cast<std::int64_t>(seq) + n) % (std::int64_t{1} << 31));
        return r;
      }
      f = error_of(r);
      if (f.code == errc::unknown_producer_id && !epoch_bumped) {
        // Our state on the partition expired: start a new epoch and send the batch as its
        // first. (Only a batch whose earlier sends all failed can be stored twice this way.)
        // Marked only once done: a bump that timed out (it may have been made) is tried
        // again, and refused as stale then, takes a new id.
        auto b = bump_epoch();
        if (ok(b)) {
          epoch_bumped = true;
          continue;
        }
        f = error_of(b);
      }
      // The leader may have moved or gone: ask where the partition is now.
      if (f.retriable) conn_->refresh();
    }
    const bool giving_up = !f.retriable || clock_type::now() + pause > deadline;
    // Given up on a batch that may be stored: the next one must not take its sequence (a
    // broker holding it would take the next batch for its resend, and drop it), so the
    // next publish starts a new epoch first. That holds when the last attempt was refused
    // for good (an ACL revoked, a limit lowered) after an earlier one's answer was lost.
    if (giving_up && (f.retriable || maybe_stored)) unsure_ = true;
    if (giving_up) return f;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace portask::client
