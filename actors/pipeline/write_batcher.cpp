#include "actors/pipeline/write_batcher.hpp"

#include "logging/loggers.hpp"

namespace portask {

std::vector<append_outcome> write_batcher::flush(clock::time_point now) {
  std::vector<append_outcome> outcomes(queue_.size());
  if (queue_.empty()) return outcomes;
  if (now < unavailable_until_) {
    // Still backing off: fail at once (retriable) rather than queue without bound.
    for (std::size_t i = 0; i < queue_.size(); ++i)
      outcomes[i].results.assign(queue_[i].batches.size(), errc::storage_unavailable);
    queue_.clear();
    return outcomes;
  }
  requests_.clear();
  std::size_t records = 0;
  for (const auto& set : queue_) {
    for (const auto& b : set.batches) {
      requests_.push_back(
          {&set.tp, b.base_offset, b.record_count, b.max_timestamp, b.frame, b.producer,
           b.end_bytes, b.end_timestamp, set.fence});
      records += b.record_count;
    }
  }
  if (requests_.empty()) {
    // Only empty sets (a topic deletion's drain: answered after what was queued before
    // them, which is all they ask): nothing for the store, and nothing learnt about it.
    queue_.clear();
    return outcomes;
  }
  const auto start = clock::now();
  store_->append(requests_, results_);
  const auto elapsed = clock::now() - start;

  bool unavailable = false;
  std::size_t k = 0;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    auto& results = outcomes[i].results;
    results.reserve(queue_[i].batches.size());
    for (std::size_t j = 0; j < queue_[i].batches.size(); ++j, ++k) {
      const auto& ec = results_[k];
      errc e = errc::ok;
      if (ec) {
        e = ec.category() == error_category() ? static_cast<errc>(ec.value()) : errc::internal;
        if (e == errc::storage_unavailable || e == errc::timeout) unavailable = true;
      }
      results.push_back(e);
    }
  }
  if (metrics_) {
    metrics_->storage_round_trip(requests_.size(), records, elapsed, unavailable);
    metrics_->store_up(!unavailable);
  }
  if (unavailable) {
    backoff_ = std::min(max_backoff, std::max(min_backoff, backoff_ * 2));
    unavailable_until_ = now + backoff_;
    logging::pipeline().warn("store unavailable; failing writes for {} ms before reconnecting",
                 backoff_.count());
  } else if (backoff_.count() > 0) {
    logging::pipeline().info("store available again");
    backoff_ = std::chrono::milliseconds{0};
  }
  queue_.clear();
  return outcomes;
}

}  // namespace portask
