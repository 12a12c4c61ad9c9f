// portask-cli consume: every partition of a topic (or those named with -p) from a start
// position, printed in a chosen format. Without --follow it stops at the high watermarks it
// found when it started; with --follow it subscribes to every partition and waits.
// With --group it is a member of that consumer group: the broker assigns its partitions, each
// starts at the group's committed offset (else at --from), and what it printed is committed
// (up to the last message printed when -n stops it inside a batch), so the next run resumes
// where this one stopped; a commit that failed and was not made good fails the command.
// A committed offset below the log start (retention or delete-records moved it) starts at the
// log start, and one past the high watermark at the end, with a warning; an explicit --from
// offset outside the log is an error naming its bounds.
// --idle-timeout ends a --follow after a quiet spell. A reader of the output that went away
// (`| head`) ends the command quietly with exit 141, output that cannot be written otherwise
// with exit 1; nothing is committed for what was not written.
// In a cluster every partition is read from its leader and the group's requests go to its
// coordinator, following them when they move (client/cluster_client.hpp).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "tools/cli/cli.hpp"
#include "tools/cli/failed_commit.hpp"
#include "tools/cli/record_format.hpp"
#include "protocol/start_position.hpp"

namespace portask::cli {
namespace {

namespace native = protocol::native;
using protocol::outside_log;
using protocol::parse_start_position;
using protocol::resolve_offset;
using protocol::start_position;

struct consume_options {
  std::string topic;
  std::vector<std::int32_t> partitions;
  std::string from = "earliest";
  bool follow = false;
  std::uint64_t max = 0;
  std::uint32_t idle_timeout_ms = 0;  ///< with follow: stop after this long without a message
  std::string group;
  std::string format = "text";
};

struct membership {
  std::uint32_t id = 0;
  std::string member_id;
  std::int32_t generation = -1;
};

class consumer {
 public:
  consumer(const common_options& o, const consume_options& q, start_position from,
           record_format format)
      : c_(open_cluster(o)), q_(q), from_(from), format_(std::move(format)),
        timeout_(std::chrono::milliseconds(o.timeout_ms)) {}

  int run() {
    if (q_.group.empty()) {
      consume(chosen_partitions());
      return 0;
    }
    // A misspelt topic would get an empty assignment: nothing printed, nothing said.
    (void)partition_count();
    // A group member: wait for the first assignment, then consume it until it changes.
    auto a = join();
    try {
      while (take(*a)) a = std::exchange(next_assignment_, std::nullopt);
    } catch (...) {
      // Leaving lets the group rebalance now rather than after the session timeout.
      if (member_connection_ && member_connection_->usable()) (void)member_connection_->leave_group(member_.id);
      throw;
    }
    check(member_connection_->leave_group(member_.id), "leave group " + q_.group);
    if (!uncommitted_.empty())
      throw runtime_error("group " + q_.group + ": the last commit of " + std::to_string(uncommitted_.size()) +
                          " partition(s) failed (above); the next run reads again what was printed since");
    return 0;
  }

 private:
  // Joins the group on its coordinator (again, after the coordinator moved or its connection
  // failed) and waits for the first assignment.
  std::optional<native::group_assignment> join() {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      member_connection_.reset();
      auto conn = c_.open_to_coordinator(q_.group);
      client::failure f;
      if (client::ok(conn)) {
        member_connection_.emplace(std::move(std::get<0>(conn)));
        auto id = member_connection_->join_group(q_.group, {q_.topic});
        if (client::ok(id)) {
          member_.id = std::get<0>(id);
          auto a = member_connection_->next_assignment(timeout_);
          if (client::ok(a) && std::get<0>(a)) return std::move(std::get<0>(a));
          if (client::ok(a))
            throw runtime_error("group " + q_.group + ": no assignment within " +
                                std::to_string(timeout_.count()) + " ms (--timeout)");
          f = client::error_of(a);
        } else {
          f = client::error_of(id);
        }
      } else {
        f = client::error_of(conn);
      }
      if (!f.retriable || std::chrono::steady_clock::now() > deadline)
        throw runtime_error("join group " + q_.group + ": " + f.message);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Applies an assignment and consumes it; true when a newer one arrived (next_assignment_).
  bool take(const native::group_assignment& a) {
    // What the previous assignment left uncommitted is its next owner's to read again.
    uncommitted_.clear();
    member_.member_id = a.member_id;
    member_.generation = a.generation;
    std::vector<std::int32_t> mine;
    for (const auto& [topic, partition] : a.partitions)
      if (topic == q_.topic) mine.push_back(partition);
    return consume(mine);
  }

  std::vector<std::int32_t> chosen_partitions() {
    if (!q_.partitions.empty()) return q_.partitions;
    std::vector<std::int32_t> all;
    for (std::int32_t p = 0, n = partition_count(); p < n; ++p) all.push_back(p);
    return all;
  }

  // The topic's partition count; a runtime_error naming it when it does not exist.
  std::int32_t partition_count() {
    return check(check(c_.any(), "connect")->describe_topic(q_.topic), "describe " + q_.topic).partitions;
  }

  std::int64_t start_of(std::int32_t partition) {
    using k = start_position::kind;
    if (!q_.group.empty()) {
      const auto committed = check(c_.committed(q_.group, q_.topic, partition),
                                   "committed offset of " + q_.group);
      if (committed.offset >= 0) return within_log(partition, committed.offset);
    }
    if (from_.what == k::timestamp) {  // the answer carries the bounds too
      const auto t = check(c_.offset_for_time(q_.topic, partition, from_.value),
                           "offset by time in " + q_.topic);
      return t.at_time && t.at_time->offset >= 0 ? t.at_time->offset : t.high_watermark;
    }
    const auto name = q_.topic + "/" + std::to_string(partition);
    const auto b = check(c_.list_offsets(q_.topic, partition), "offsets of " + name);
    // Said as the console's API says it (protocol/start_position.hpp).
    if (auto why = outside_log(from_, name, b.log_start, b.high_watermark))
      throw runtime_error("--from " + *why);
    return resolve_offset(from_, b.log_start, b.high_watermark);
  }

  // Where a group member starts from its committed offset. One the log no longer holds
  // (retention or delete-records moved the log start past it) would fail every fetch for
  // ever: it starts at the log start, losing nothing that is still there. One past the high
  // watermark (the topic was made again) starts at the end, where the next message goes.
  // Either is said on stderr, as the committed offset is then not where reading resumes.
  std::int64_t within_log(std::int32_t partition, std::int64_t committed) {
    const auto name = q_.topic + "/" + std::to_string(partition);
    const auto b = check(c_.list_offsets(q_.topic, partition), "offsets of " + name);
    if (committed >= b.log_start && committed <= b.high_watermark) return committed;
    const bool below = committed < b.log_start;
    const auto start = below ? b.log_start : b.high_watermark;
    std::cerr << "portask-cli: warning: group " << q_.group << ": the committed offset " << committed << " of "
              << name << " is " << (below ? "below the log start " : "past the high watermark ") << start
              << (below ? " (records were deleted)" : "") << "; starting at " << start << "\n";
    return start;
  }

  // Where a partition goes on after print(): past the batch, or, once --max is met (`done`),
  // past the last message printed, so a group commits no message it did not print.
  struct printed_upto {
    std::int64_t next;
    bool done;
  };

  // Prints the messages of `f` at or after `from` and below `end`.
  printed_upto print(const client::fetched& f, std::int64_t from, std::int64_t end) {
    for (auto m : f.messages) {
      if (m.offset < from || m.offset >= end) continue;
      m.partition = f.partition;
      std::cout << format_.render(q_.topic, m);
      last_printed_ = std::chrono::steady_clock::now();
      if (q_.max && ++printed_ >= q_.max) {
        flush_output();
        return {m.offset + 1, true};
      }
    }
    flush_output();
    return {f.next_offset, false};
  }

  // Nothing is committed for messages that could not be written: the exit (141 or 1) comes
  // before the commit.
  static void flush_output() { check_output(); }

  void commit(std::int32_t partition, std::int64_t next) {
    if (q_.group.empty()) return;
    auto r = c_.commit(q_.group, q_.topic, partition, next, {}, member_.member_id,
                       member_.generation);
    // A rebalance moved the partition: the next assignment says where to go on. A failure
    // that no later commit of the partition makes good fails the command (run()).
    if (client::ok(r)) {
      uncommitted_.erase(partition);
      return;
    }
    uncommitted_.insert(partition);
    const auto& f = client::error_of(r);
    std::cerr << failed_commit_line(q_.group, q_.topic + "/" + std::to_string(partition), f.code, f.message,
                                    q_.follow)
              << "\n";
  }

  // Consumes `partitions`; true when a new group assignment interrupted it.
  bool consume(const std::vector<std::int32_t>& partitions) {
    std::map<std::int32_t, std::int64_t> next;
    for (auto p : partitions) next[p] = start_of(p);
    if (!q_.follow) {
      for (auto& [p, offset] : next) {
        const auto end = check(c_.list_offsets(q_.topic, p), "offsets").high_watermark;
        while (offset < end) {
          auto f = check(c_.fetch(q_.topic, p, offset, 1 << 20, 0), "fetch " + q_.topic);
          if (f.messages.empty() && f.next_offset <= offset) break;
          const auto got = print(f, offset, end);
          offset = std::min(got.next, end);
          commit(p, offset);
          if (got.done) return false;
        }
      }
      return false;
    }
    constexpr std::uint32_t credit = 1 << 20;
    std::map<std::uint32_t, std::int32_t> subscriptions;
    for (const auto& [p, offset] : next)
      subscriptions[check(c_.subscribe(q_.topic, p, offset, credit), "subscribe")] = p;
    last_printed_ = std::chrono::steady_clock::now();  // --idle-timeout counts from here
    for (;;) {
      // A pipe whose reader left reports an error on its write end: a following consumer
      // notices while nothing arrives to be written, instead of waiting on for ever (`| head -5`).
      if (output_reader_gone()) throw exit_status{reader_gone_status};
      if (!q_.group.empty()) {
        auto a = member_connection_->next_assignment(std::chrono::milliseconds(0));
        const bool lost = !client::ok(a);  // the coordinator moved or went away: join again
        if (lost && !client::error_of(a).retriable && member_connection_->usable())
          check(std::move(a), "group " + q_.group);
        if (lost || std::get<0>(a)) {
          for (const auto& [id, p] : subscriptions) check(c_.unsubscribe(id), "unsubscribe");
          next_assignment_ = lost ? join() : std::move(std::get<0>(a));
          return true;
        }
      }
      if (q_.idle_timeout_ms > 0 &&
          std::chrono::steady_clock::now() - last_printed_ >= std::chrono::milliseconds(q_.idle_timeout_ms))
        return false;
      auto d = check(c_.next_delivery(std::chrono::milliseconds(500)), "subscription");
      if (!d || !subscriptions.contains(d->subscription_id)) continue;  // an ended one's
      const auto p = d->data.partition;
      const auto got = print(d->data, next[p], INT64_MAX);
      next[p] = std::max(next[p], got.next);
      commit(p, next[p]);
      if (got.done) return false;
      check(c_.grant_credit(d->subscription_id, static_cast<std::uint32_t>(d->wire_bytes)),
            "credit");
    }
  }

  client::cluster_client c_;
  std::optional<client::connection> member_connection_;  ///< the group membership's
  const consume_options& q_;
  start_position from_;
  record_format format_;
  std::chrono::milliseconds timeout_;
  membership member_;
  std::optional<native::group_assignment> next_assignment_;  ///< arrived while consuming
  std::uint64_t printed_ = 0;
  /// When a message was last printed (or the subscriptions were made): --idle-timeout counts
  /// from it.
  std::chrono::steady_clock::time_point last_printed_ = std::chrono::steady_clock::now();
  std::set<std::int32_t> uncommitted_;  ///< partitions whose last commit failed
};

int consume(const common_options& o, const consume_options& q) {
  auto from = parse_start_position(q.from);
  if (!from)
    throw usage_error("--from '" + q.from +
                      "': expected earliest, latest, committed, an offset, -N or @timestamp_ms");
  if (from->what == start_position::kind::committed && q.group.empty())
    throw usage_error("--from committed needs --group");
  std::string why;
  auto format = record_format::parse(q.format, &why);
  if (!format)
    throw usage_error("--format '" + q.format + "': " + (why.empty() ? "" : why + ": ") +
                      "expected text, json or a template with %t %p %o %T %k %K %s %S %h");
  consumer c(o, q, *from, std::move(*format));
  return c.run();
}

}  // namespace

void add_consume_command(CLI::App& app, const common_options& o) {
  auto q = std::make_shared<consume_options>();
  auto* cmd = app.add_subcommand(
      "consume", "print messages: partition, offset, timestamp, key, headers, value");
  cmd->add_option("topic", q->topic, "topic")->required();
  cmd->add_option("-p,--partition", q->partitions, "partition (repeatable; default: all)")
      ->allow_extra_args(false)
      ->transform(decimal(0, std::numeric_limits<std::int32_t>::max()));
  cmd->add_option("--from", q->from,
                  "earliest, latest, committed, <offset> (from the log start to the high watermark), "
                  "-N (N before the end), @<timestamp ms>; with --group only where nothing is committed "
                  "(a committed offset the log no longer holds starts at the log start, with a warning)");
  auto* follow = cmd->add_flag("-f,--follow", q->follow, "keep waiting for new messages");
  cmd->add_option("--idle-timeout", q->idle_timeout_ms,
                  "with --follow: stop (exit 0) once no message came for this many ms (0: never)")
      ->needs(follow)
      ->transform(decimal<std::uint32_t>());
  cmd->add_option("-n,--max", q->max, "stop after this many messages (0: no limit)")
      ->transform(decimal<std::uint64_t>());
  auto* group = cmd->add_option("-g,--group", q->group,
                                "consume as a member of this group: assigned partitions, committed offsets");
  // A member reads what the group assigns it: partitions picked by hand would leave the rest
  // of its share unread and uncommitted for the whole group.
  group->excludes(cmd->get_option("--partition"));
  cmd->add_option("--format", q->format,
                  "text, json (JSON Lines) or a template: %t topic %p partition %o offset "
                  "%T timestamp %k key %s value %h headers %K/%S lengths %% a percent sign; "
                  "escapes as produce -K: \\n \\t \\r \\\\ \\xNN");
  cmd->callback([q, &o] { consume(o, *q); });
}

}  // namespace portask::cli
