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
  p.reconnects_ = 0;
  auto init = p.conn_->init_producer();
  if (!ok(init)) return error_of(init);
  p.id_ = std::get<0>(init).producer_id;
  p.epoch_ = std::get<0>(init).producer_epoch;
  return p;
}

result<bool> idempotent_producer::reconnect() {
  conn_.reset();
  auto c = connection::open(opts_);
  if (!ok(c)) return error_of(c);
  conn_.emplace(std::move(std::get<0>(c)));
  ++reconnects_;
  return true;
}

result<bool> idempotent_producer::bump_epoch() {
  auto init = conn_->init_producer(id_, epoch_);
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
  const auto deadline = clock_type::now() + retry_for_;
  auto pause = std::chrono::milliseconds(20);
  bool epoch_bumped = false;
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
      if (f.retriable) conn_.reset();
    } else {
      auto& seq = next_sequence_[{topic, partition}];
      const native::publish_producer claim{id_, epoch_, seq};
      auto sent = conn_->send_publish(topic, partition, batch, true, claim);
      result<native::publish_response> r =
          ok(sent) ? conn_->receive_publish() : result<native::publish_response>{error_of(sent)};
      if (ok(r)) {
        const auto n = static_cast<std::int64_t>(batch.messages.size());
        seq = static_cast<std::int32_t>((static_cast<std::int64_t>(seq) + n) % (std::int64_t{1} << 31));
        return r;
      }
      f = error_of(r);
      if (f.code == errc::unknown_producer_id && !epoch_bumped) {
        // Our state on the partition expired: start a new epoch and send the batch as its
        // first. (Only a batch whose earlier sends all failed can be stored twice this way.)
        epoch_bumped = true;
        auto b = bump_epoch();
        if (ok(b)) continue;
        f = error_of(b);
      }
      // Whatever the connection still carries is stale now: a late answer would be taken
      // for the next request's. Start over on a new one.
      if (f.retriable) conn_.reset();
    }
    if (f.retriable && clock_type::now() + pause > deadline) unsure_ = true;
    if (!f.retriable || clock_type::now() + pause > deadline) return f;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

}  // namespace portask::client
