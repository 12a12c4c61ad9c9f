// portask-cli groups: list, describe (members, assignments, committed offsets and lag per
// partition), delete, reset-offsets. Groups of Kafka clients and of native members alike.
#include <algorithm>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "tools/cli/cli.hpp"
#include "tools/cli/record_format.hpp"
#include "protocol/start_position.hpp"

namespace portask::cli {
namespace {

namespace native = protocol::native;
using protocol::parse_start_position;
using protocol::resolve_offset;
using protocol::start_position;

struct group_options {
  std::string group;
  std::string topic;
  std::vector<std::int32_t> partitions;
  std::string to;
  std::int64_t shift_by = 0;
  bool shifting = false;  ///< --shift-by was given
  bool dry_run = false;
  listing format = listing::text;
};

void list(const common_options& o, const group_options& g) {
  auto c = open(o);
  const auto groups = check(c.list_groups(), "list groups");
  if (g.format == listing::json) {
    auto out = nlohmann::json::array();
    for (const auto& s : groups)
      out.push_back({{"group", s.group},
                     {"state", s.state},
                     {"protocol_type", s.protocol_type},
                     {"members", s.members}});
    std::cout << json_text(out) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{{"GROUP", "STATE", "TYPE", "MEMBERS"}};
  for (const auto& s : groups)
    rows.push_back({s.group, s.state, s.protocol_type.empty() ? "-" : s.protocol_type,
                    std::to_string(s.members)});
  print_table(rows);
}

// One row per partition the group has a committed offset for or a member holds.
struct partition_row {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t committed = -1;
  std::int64_t log_start = -1;
  std::int64_t high_watermark = -1;
  std::string member;
  std::int64_t lag() const {
    if (high_watermark < 0) return -1;
    return committed >= 0 ? std::max<std::int64_t>(0, high_watermark - committed)
                          : high_watermark - log_start;
  }
};

void describe(const common_options& o, const group_options& g) {
  auto c = open_cluster(o);
  const auto d = check(c.describe_group(g.group), "describe group " + g.group);
  std::map<std::pair<std::string, std::int32_t>, partition_row> rows;
  for (const auto& off : d.offsets) {
    auto& r = rows[{off.topic, off.partition}];
    r.topic = off.topic;
    r.partition = off.partition;
    r.committed = off.offset;
  }
  for (const auto& m : d.members)
    for (const auto& [topic, partition] : m.partitions) {
      auto& r = rows[{topic, partition}];
      r.topic = topic;
      r.partition = partition;
      r.member = m.member_id;
    }
  for (auto& [key, r] : rows) {
    // A deleted topic's offsets stay committed: their lag is unknown, not an error. Any other
    // failure is one: a total lag that leaves partitions out would under-report the backlog.
    auto b = c.list_offsets(r.topic, r.partition);
    if (!client::ok(b) && (client::error_of(b).code == errc::unknown_topic ||
                           client::error_of(b).code == errc::unknown_partition))
      continue;
    check(b, "offsets of " + r.topic + "/" + std::to_string(r.partition));
    r.log_start = std::get<0>(b).log_start;
    r.high_watermark = std::get<0>(b).high_watermark;
  }
  std::int64_t total_lag = 0;
  for (const auto& [key, r] : rows) total_lag += std::max<std::int64_t>(0, r.lag());
  if (g.format == listing::json) {
    nlohmann::json out{{"group", d.summary.group},
                       {"state", d.summary.state},
                       {"protocol_type", d.summary.protocol_type},
                       {"protocol", d.protocol_name},
                       {"generation", d.generation},
                       {"leader", d.leader},
                       {"members", nlohmann::json::array()},
                       {"partitions", nlohmann::json::array()},
                       {"lag", total_lag}};
    for (const auto& m : d.members) {
      auto parts = nlohmann::json::array();
      for (const auto& [topic, partition] : m.partitions)
        parts.push_back({{"topic", topic}, {"partition", partition}});
      out["members"].push_back({{"member_id", m.member_id},
                                {"client_id", m.client_id},
                                {"host", m.client_host},
                                {"assignment", parts}});
    }
    for (const auto& [key, r] : rows) {
      nlohmann::json row{{"topic", r.topic}, {"partition", r.partition}};
      row["committed"] = r.committed >= 0 ? nlohmann::json(r.committed) : nlohmann::json();
      row["high_watermark"] =
          r.high_watermark >= 0 ? nlohmann::json(r.high_watermark) : nlohmann::json();
      row["lag"] = r.lag() >= 0 ? nlohmann::json(r.lag()) : nlohmann::json();
      row["member"] = r.member.empty() ? nlohmann::json() : nlohmann::json(r.member);
      out["partitions"].push_back(std::move(row));
    }
    std::cout << json_text(out) << '\n';
    return;
  }
  // Names from the broker are escaped, as in the tables (print_table).
  std::cout << "group " << escape_bytes(d.summary.group) << ": " << escape_bytes(d.summary.state) << ", "
            << d.members.size() << " members";
  if (!d.protocol_name.empty())
    std::cout << ", " << escape_bytes(d.summary.protocol_type) << "/" << escape_bytes(d.protocol_name)
              << " generation " << d.generation;
  std::cout << ", total lag " << total_lag << '\n';
  if (!d.members.empty()) {
    std::vector<std::vector<std::string>> members{{"MEMBER", "CLIENT-ID", "HOST", "PARTITIONS"}};
    for (const auto& m : d.members)
      members.push_back({m.member_id, m.client_id.empty() ? "-" : m.client_id,
                         m.client_host.empty() ? "-" : m.client_host,
                         std::to_string(m.partitions.size())});
    print_table(members);
  }
  std::vector<std::vector<std::string>> table{
      {"TOPIC", "PARTITION", "COMMITTED", "HIGH-WATERMARK", "LAG", "MEMBER"}};
  auto or_dash = [](std::int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  for (const auto& [key, r] : rows)
    table.push_back({r.topic, std::to_string(r.partition), or_dash(r.committed),
                     or_dash(r.high_watermark), or_dash(r.lag()),
                     r.member.empty() ? "-" : r.member});
  print_table(table);
}

// Moves the group's committed offsets (the group must have no members, as in Kafka). Every
// partition's new offset is worked out before anything is committed: a partition that does
// not exist, or one with nothing committed to shift, fails the command with nothing changed.
// Should a commit fail after others were made, the ones made are listed on stderr first.
void reset_offsets(const common_options& o, const group_options& g) {
  if (g.to.empty() && !g.shifting)
    throw usage_error("reset-offsets needs --to POSITION or --shift-by N");
  std::optional<start_position> to;
  if (!g.to.empty()) {
    to = parse_start_position(g.to);
    if (!to || to->what == start_position::kind::committed)
      throw usage_error("--to '" + g.to + "': expected earliest, latest, an offset, -N or @timestamp_ms");
  }
  auto c = open_cluster(o);
  auto d = c.describe_group(g.group);
  if (client::ok(d) && !std::get<0>(d).members.empty())
    throw runtime_error("group " + g.group + " has " +
                        std::to_string(std::get<0>(d).members.size()) +
                        " active members; stop them before resetting its offsets");
  if (!client::ok(d) && client::error_of(d).code != errc::unknown_group)
    check(std::move(d), "describe group " + g.group);
  const auto t = check(check(c.any(), "connect")->describe_topic(g.topic), "describe " + g.topic);
  auto partitions = g.partitions;
  if (partitions.empty()) {
    for (std::int32_t p = 0; p < t.partitions; ++p) partitions.push_back(p);
  }
  for (auto p : partitions) {
    if (p >= t.partitions)
      throw runtime_error("partition " + std::to_string(p) + " of " + g.topic + " does not exist (it has " +
                          std::to_string(t.partitions) + "); nothing was committed");
  }
  struct change {
    std::int32_t partition;
    std::int64_t offset;
  };
  std::vector<change> changes;
  for (auto p : partitions) {
    const auto name = g.topic + "/" + std::to_string(p);
    const bool by_time = to && to->what == start_position::kind::timestamp;
    // A lookup by time answers the bounds too.
    const auto b = check(by_time ? c.offset_for_time(g.topic, p, to->value) : c.list_offsets(g.topic, p),
                         "offsets of " + name);
    // Where the request points before it is kept inside the log.
    std::int64_t wanted = 0;
    if (!to) {
      const auto committed = check(c.committed(g.group, g.topic, p), "committed offset of " + g.group).offset;
      if (committed < 0)
        throw runtime_error("--shift-by: group " + g.group + " has no committed offset for " + name +
                            " to shift; nothing was committed (--to sets one)");
      constexpr auto top = std::numeric_limits<std::int64_t>::max();
      // Saturates rather than overflows; the clamp below brings it into the log.
      wanted = (g.shift_by > 0 && committed > top - g.shift_by) ? top : committed + g.shift_by;
    } else if (by_time) {
      wanted = b.at_time && b.at_time->offset >= 0 ? b.at_time->offset : b.high_watermark;
    } else if (to->what == start_position::kind::absolute) {
      wanted = to->value;
    } else if (to->what == start_position::kind::from_end) {
      wanted = b.high_watermark - to->value;
    } else {
      wanted = resolve_offset(*to, b.log_start, b.high_watermark);
    }
    const auto offset = std::clamp(wanted, b.log_start, b.high_watermark);
    if (offset != wanted)
      std::cerr << "portask-cli: warning: " << name << ": offset " << wanted << " is "
                << (wanted < b.log_start ? "below the log start " : "past the high watermark ") << offset
                << "; " << offset << " is used\n";
    changes.push_back({p, offset});
  }
  std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITION", "NEW-OFFSET"}};
  for (const auto& ch : changes) {
    if (!g.dry_run) {
      auto r = c.commit(g.group, g.topic, ch.partition, ch.offset);
      if (!client::ok(r)) {
        if (rows.size() > 1) {
          std::cerr << "portask-cli: committed before the failure:\n";
          print_table(rows, std::cerr);
        }
        check(std::move(r), "commit " + g.topic + "/" + std::to_string(ch.partition));
      }
    }
    rows.push_back({g.topic, std::to_string(ch.partition), std::to_string(ch.offset)});
  }
  print_table(rows);
  if (g.dry_run) std::cout << "(dry run: nothing committed)\n";
}

}  // namespace

void add_groups_commands(CLI::App& app, const common_options& o) {
  auto g = std::make_shared<group_options>();
  auto* groups = app.add_subcommand("groups", "consumer groups: list, describe with lag, delete, reset offsets");
  groups->require_subcommand(1);

  auto* ls = groups->add_subcommand("list", "every group with its state and member count");
  add_listing_format(ls, g->format);
  ls->callback([g, &o] { list(o, *g); });

  auto* describe_cmd = groups->add_subcommand(
      "describe", "members, assignments, committed offsets and lag per partition");
  describe_cmd->add_option("group", g->group, "group id")->required();
  add_listing_format(describe_cmd, g->format);
  describe_cmd->callback([g, &o] { describe(o, *g); });

  auto* remove = groups->add_subcommand("delete", "delete a group without members and its offsets");
  remove->add_option("group", g->group, "group id")->required();
  remove->callback([g, &o] {
    auto c = open_cluster(o);
    check(c.delete_group(g->group), "delete group " + g->group);
    std::cout << "deleted group " << g->group << '\n';
  });

  // Unlike kafka-consumer-groups.sh, which only previews without --execute, this commits:
  // scripts rely on that. Offsets outside a partition's log are clamped to it, with a warning.
  auto* reset = groups->add_subcommand(
      "reset-offsets",
      "move a group's committed offsets of a topic (the group must be empty); commits at once "
      "(kafka-consumer-groups.sh needs --execute): --dry-run previews. Offsets outside a partition's "
      "log are clamped to it, with a warning");
  reset->add_option("group", g->group, "group id")->required();
  reset->add_option("--topic", g->topic, "topic")->required();
  reset->add_option("-p,--partition", g->partitions, "partition (repeatable; default: all)")
      ->allow_extra_args(false)
      ->transform(decimal(0, std::numeric_limits<std::int32_t>::max()));
  auto* to = reset->add_option("--to", g->to,
                               "earliest, latest, <offset>, -N (N before each partition's end: not "
                               "kafka-consumer-groups.sh's relative -N, which is --shift-by here), "
                               "@<timestamp ms>");
  auto* shift = reset->add_option("--shift-by", g->shift_by,
                                  "move each partition's committed offset by N (negative: back), "
                                  "as kafka-consumer-groups.sh --shift-by")
                    ->transform(decimal<std::int64_t>());
  shift->excludes(to);
  reset->add_flag("--dry-run", g->dry_run, "show the new offsets without committing them");
  reset->callback([g, &o, shift] {
    g->shifting = shift->count() > 0;
    reset_offsets(o, *g);
  });
}

}  // namespace portask::cli
