#pragma once
/// A log store that fails on command, around a real one: its appends, and its writes of
/// topic records (create, update, delete), can be made to fail without reaching the store,
/// or to reach the store and then report a failure (a write that timed out after the server
/// executed it); topic lists can be made to fail; appends and compactions can be held at
/// the store. Every other call passes through.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "storage/log_store.hpp"

namespace portask::testing {

class faulty_store : public storage::log_store {
 public:
  enum class fault { none, fail_without_executing, execute_then_fail };
  /// Shared by every instance of one factory: what the next appends do.
  struct control {
    std::atomic<fault> next{fault::none};
    std::atomic<int> faults_left{0};  ///< appends the fault applies to
    std::atomic<int> appends{0};
    void arm(fault f, int times = 1) {
      faults_left = times;
      next = f;
    }
    /// The same for the next topic writes (create_topic, update_topic, delete_topic).
    std::atomic<fault> next_topic_write{fault::none};
    std::atomic<int> topic_faults_left{0};
    void arm_topic_writes(fault f, int times = 1) {
      topic_faults_left = times;
      next_topic_write = f;
    }
    /// The next list_topics calls that fail (storage_unavailable) without reaching the store.
    std::atomic<int> failing_lists{0};

    /// Where calls wait while held: a call in flight at the store for as long as a test
    /// needs one.
    struct gate {
      void hold() {
        std::lock_guard lock{mutex};
        held = true;
      }
      void release() {
        {
          std::lock_guard lock{mutex};
          held = false;
        }
        changed.notify_all();
      }
      /// Waits until a call is being held; false if none came within `limit`.
      bool wait_for_held(std::chrono::milliseconds limit) {
        std::unique_lock lock{mutex};
        return changed.wait_for(lock, limit, [&] { return holding > 0; });
      }
      /// Called by every call through the gate: waits while it is held.
      void pass() {
        std::unique_lock lock{mutex};
        if (!held) return;
        ++holding;
        changed.notify_all();
        changed.wait(lock, [&] { return !held; });
        --holding;
      }
      std::mutex mutex;
      std::condition_variable changed;
      bool held = false;
      int holding = 0;  ///< calls waiting at the gate
    };
    /// Appends wait here, before they reach the inner store; compactions there.
    gate appends_gate, compactions;
    void hold_appends() { appends_gate.hold(); }
    void release_appends() { appends_gate.release(); }
    bool wait_for_held_append(std::chrono::milliseconds limit) {
      return appends_gate.wait_for_held(limit);
    }
    void pass_gate() { appends_gate.pass(); }
  };

  faulty_store(std::unique_ptr<storage::log_store> inner, std::shared_ptr<control> c)
      : inner_(std::move(inner)), control_(std::move(c)) {}

  /// Stores over `inner` that all obey one control.
  static storage::store_factory factory(storage::store_factory inner,
                                        std::shared_ptr<control> c) {
    return [inner, c]() -> expected<std::unique_ptr<storage::log_store>> {
      auto s = inner();
      if (!s) return s.error();
      return std::unique_ptr<storage::log_store>(std::make_unique<faulty_store>(std::move(*s), c));
    };
  }

  std::string_view kind() const noexcept override { return "faulty"; }
  std::error_code ping() override { return inner_->ping(); }
  void append(std::span<const storage::append_request> requests,
              std::vector<std::error_code>& results) override {
    ++control_->appends;
    control_->pass_gate();
    fault f = fault::none;
    if (const int left = control_->faults_left.load(); left > 0) {  // one writer at a time
      control_->faults_left = left - 1;
      f = control_->next;
    }
    if (f != fault::fail_without_executing) inner_->append(requests, results);
    if (f != fault::none) results.assign(requests.size(), make_error_code(errc::storage_unavailable));
  }
  expected<std::vector<storage::stored_batch>> read(const storage::topic_partition& tp,
                                                    std::int64_t offset,
                                                    std::size_t max_bytes) override {
    return inner_->read(tp, offset, max_bytes);
  }
  expected<storage::partition_bounds> bounds(const storage::topic_partition& tp) override {
    return inner_->bounds(tp);
  }
  expected<std::int64_t> retention_point(const storage::topic_partition& tp,
                                         const storage::retention_limits& limits) override {
    return inner_->retention_point(tp, limits);
  }
  expected<storage::partition_bounds> delete_records(const storage::topic_partition& tp,
                                                     std::int64_t offset,
                                                     const std::string& fence) override {
    return inner_->delete_records(tp, offset, fence);
  }
  expected<storage::partition_bounds> compact(const storage::topic_partition& tp,
                                              const storage::log_compaction& c) override {
    control_->compactions.pass();
    return inner_->compact(tp, c);
  }
  std::optional<storage::store_usage> usage() override { return inner_->usage(); }
  std::error_code create_topic(const storage::topic_info& t) override {
    const auto f = next_topic_fault();
    std::error_code e;
    if (f != fault::fail_without_executing) e = inner_->create_topic(t);
    return f == fault::none ? e : make_error_code(errc::storage_unavailable);
  }
  expected<storage::topic_write> update_topic(const storage::topic_info& before,
                                               const storage::topic_info& after) override {
    const auto f = next_topic_fault();
    if (f == fault::fail_without_executing) return make_error_code(errc::storage_unavailable);
    auto outcome = inner_->update_topic(before, after);
    if (f == fault::execute_then_fail) return make_error_code(errc::storage_unavailable);
    return outcome;
  }
  expected<storage::topic_write> delete_topic(const storage::topic_info& t) override {
    const auto f = next_topic_fault();
    if (f == fault::fail_without_executing) return make_error_code(errc::storage_unavailable);
    auto outcome = inner_->delete_topic(t);
    if (f == fault::execute_then_fail) return make_error_code(errc::storage_unavailable);
    return outcome;
  }
  expected<std::vector<storage::topic_info>> list_topics() override {
    if (const int left = control_->failing_lists.load(); left > 0) {
      control_->failing_lists = left - 1;
      return make_error_code(errc::storage_unavailable);
    }
    return inner_->list_topics();
  }
  std::error_code commit_offsets(const std::string& g, std::span<const storage::group_offset> o,
                                 const std::string& fence) override {
    return inner_->commit_offsets(g, o, fence);
  }
  expected<std::vector<storage::group_offset>> fetch_offsets(const std::string& g) override {
    return inner_->fetch_offsets(g);
  }
  std::error_code delete_offsets(const std::string& g, std::span<const storage::topic_partition> p,
                                 const std::string& fence) override {
    return inner_->delete_offsets(g, p, fence);
  }
  expected<std::vector<std::string>> list_groups() override { return inner_->list_groups(); }
  expected<bool> commit_group_metadata(const std::string& g, const storage::group_metadata& m,
                                       const std::string& fence) override {
    return inner_->commit_group_metadata(g, m, fence);
  }
  expected<storage::group_metadata> fetch_group_metadata(const std::string& g) override {
    return inner_->fetch_group_metadata(g);
  }
  expected<std::vector<storage::group_listing>> list_group_metadata() override {
    return inner_->list_group_metadata();
  }
  expected<storage::producer_history> read_producer_history(
      const storage::topic_partition& tp) override {
    return inner_->read_producer_history(tp);
  }
  std::error_code put_producer_snapshot(const storage::topic_partition& tp,
                                        const storage::producer_snapshot& s,
                                        const std::string& fence) override {
    return inner_->put_producer_snapshot(tp, s, fence);
  }
  expected<std::int64_t> allocate_producer_ids(std::int64_t count) override {
    return inner_->allocate_producer_ids(count);
  }
  expected<std::int16_t> bump_producer_epoch(std::int64_t producer_id, std::int16_t epoch) override {
    return inner_->bump_producer_epoch(producer_id, epoch);
  }
  expected<bool> register_node(const storage::node_registration& r,
                               std::chrono::milliseconds ttl) override {
    return inner_->register_node(r, ttl);
  }
  std::error_code deregister_node(const storage::node_registration& r) override {
    return inner_->deregister_node(r);
  }
  expected<std::vector<storage::node_registration>> live_nodes() override {
    return inner_->live_nodes();
  }
  expected<std::vector<storage::lease_holder>> lease_round(
      const storage::lease_holder& me, std::chrono::milliseconds ttl,
      std::span<const storage::lease_claim> claims) override {
    return inner_->lease_round(me, ttl, claims);
  }
  std::error_code put_credential(const storage::user_credential& c) override {
    return inner_->put_credential(c);
  }
  expected<bool> delete_credential(const std::string& user,
                                   protocol::security::scram_mechanism m) override {
    return inner_->delete_credential(user, m);
  }
  expected<std::vector<storage::user_credential>> list_credentials() override {
    return inner_->list_credentials();
  }
  std::error_code put_acls(std::span<const protocol::security::acl_binding> b) override {
    return inner_->put_acls(b);
  }
  std::error_code delete_acls(std::span<const protocol::security::acl_binding> b) override {
    return inner_->delete_acls(b);
  }
  expected<std::vector<protocol::security::acl_binding>> list_acls() override {
    return inner_->list_acls();
  }

 private:
  // What the next topic write does (one topic store writes at a time).
  fault next_topic_fault() {
    if (const int left = control_->topic_faults_left.load(); left > 0) {
      control_->topic_faults_left = left - 1;
      return control_->next_topic_write;
    }
    return fault::none;
  }

  std::unique_ptr<storage::log_store> inner_;
  std::shared_ptr<control> control_;
};

}  // namespace portask::testing
