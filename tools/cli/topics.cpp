// portask-cli topics: list, describe, create, delete, alter-config, add-partitions,
// delete-records.
#include <algorithm>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "tools/cli/cli.hpp"
#include "tools/cli/record_format.hpp"

namespace portask::cli {
namespace {

namespace native = protocol::native;

struct topic_options {
  std::string name;
  std::int32_t partitions = -1;
  std::vector<std::string> configs;
  std::vector<std::string> removed;
  std::vector<std::int32_t> record_partitions;
  std::int64_t before = -1;
  listing format = listing::text;
};

void list(const common_options& o, const topic_options& t) {
  auto c = open(o);
  auto topics = check(c.list_topics(), "list topics");
  std::sort(topics.begin(), topics.end(),
            [](const auto& a, const auto& b) { return a.topic < b.topic; });
  if (t.format == listing::json) {
    auto out = nlohmann::json::array();
    for (const auto& s : topics) out.push_back({{"topic", s.topic}, {"partitions", s.partitions}});
    std::cout << json_text(out) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows{{"TOPIC", "PARTITIONS"}};
  for (const auto& s : topics) rows.push_back({s.topic, std::to_string(s.partitions)});
  print_table(rows);
}

void describe(const common_options& o, const topic_options& t) {
  auto c = open(o);
  const auto d = check(c.describe_topic(t.name), "describe " + t.name);
  if (t.format == listing::json) {
    nlohmann::json out{{"topic", d.topic}, {"partitions", nlohmann::json::array()},
                       {"configs", nlohmann::json::object()}};
    for (const auto& p : d.partition_states)
      out["partitions"].push_back({{"partition", p.id},
                                   {"log_start", p.log_start},
                                   {"high_watermark", p.high_watermark},
                                   {"messages", p.high_watermark - p.log_start},
                                   // -1 from the broker: the size is not known.
                                   {"bytes", p.stored_bytes < 0 ? nlohmann::json() : nlohmann::json(p.stored_bytes)}});
    for (const auto& cfg : d.configs) out["configs"][cfg.key] = cfg.value;
    std::cout << json_text(out) << '\n';
    return;
  }
  std::cout << "topic " << d.topic << ", " << d.partitions << " partitions\n";
  std::vector<std::vector<std::string>> rows{
      {"PARTITION", "LOG-START", "HIGH-WATERMARK", "MESSAGES", "BYTES"}};
  for (const auto& p : d.partition_states)
    rows.push_back({std::to_string(p.id), std::to_string(p.log_start),
                    std::to_string(p.high_watermark),
                    std::to_string(p.high_watermark - p.log_start),
                    p.stored_bytes < 0 ? "-" : std::to_string(p.stored_bytes)});
  print_table(rows);
  if (!d.configs.empty()) {
    std::cout << "configs:\n";
    for (const auto& cfg : d.configs)
      std::cout << "  " << escape_bytes(cfg.key) << " = " << escape_bytes(cfg.value) << '\n';
  }
}

std::vector<native::config_entry> entries(const std::vector<std::string>& pairs, bool altering) {
  std::vector<native::config_entry> out;
  for (const auto& s : pairs) {
    auto [k, v] = split_pair(s);
    if (k.empty() || s.find('=') == std::string::npos)
      throw usage_error("config '" + s + "': expected key=value");
    // The native protocol's empty value removes an override: say --delete for that.
    if (v.empty())
      throw usage_error("config '" + s + "': expected a value" +
                        (altering ? " (--delete " + k + " removes an override)" : std::string()));
    out.push_back({k, v});
  }
  return out;
}

void create(const common_options& o, const topic_options& t) {
  auto c = open(o);
  check(c.create_topic(t.name, t.partitions, entries(t.configs, false)), "create " + t.name);
  const auto d = check(c.describe_topic(t.name), "describe " + t.name);
  std::cout << "created " << t.name << " (" << d.partitions << " partitions)\n";
}

void alter_config(const common_options& o, const topic_options& t) {
  auto changes = entries(t.configs, true);
  for (const auto& key : t.removed) changes.push_back({key, ""});
  if (changes.empty()) throw usage_error("nothing to change: give --set key=value or --delete key");
  // Kafka refuses a request naming a key twice; the broker would too.
  for (auto c = changes.begin(); c != changes.end(); ++c)
    if (std::any_of(changes.begin(), c, [&](const auto& earlier) { return earlier.key == c->key; }))
      throw usage_error("config '" + c->key + "' given more than once");
  auto c = open(o);
  check(c.alter_topic_config(t.name, changes), "alter config of " + t.name);
  std::cout << "altered " << t.name << '\n';
}

void add_partitions(const common_options& o, const topic_options& t) {
  auto c = open(o);
  check(c.add_partitions(t.name, t.partitions), "add partitions to " + t.name);
  std::cout << t.name << " now has " << t.partitions << " partitions\n";
}

void delete_records(const common_options& o, topic_options t) {
  auto c = open_cluster(o);
  if (t.record_partitions.empty()) {
    const auto d = check(check(c.any(), "connect")->describe_topic(t.name), "describe " + t.name);
    for (std::int32_t i = 0; i < d.partitions; ++i) t.record_partitions.push_back(i);
  }
  for (auto partition : t.record_partitions) {
    const auto b = check(c.delete_records(t.name, partition, t.before), "delete records");
    std::cout << t.name << " partition " << partition << ": log start " << b.log_start
              << ", high watermark " << b.high_watermark << '\n';
  }
}

}  // namespace

void add_topics_commands(CLI::App& app, const common_options& o) {
  auto t = std::make_shared<topic_options>();
  auto* topics = app.add_subcommand("topics", "list, describe, create, alter and delete topics");
  topics->require_subcommand(1);

  auto* ls = topics->add_subcommand("list", "every topic with its partition count");
  add_listing_format(ls, t->format);
  ls->callback([t, &o] { list(o, *t); });

  auto* describe_cmd = topics->add_subcommand(
      "describe", "partitions with log start, high watermark, messages and bytes; configs");
  describe_cmd->add_option("name", t->name, "topic")->required();
  add_listing_format(describe_cmd, t->format);
  describe_cmd->callback([t, &o] { describe(o, *t); });

  auto* create_cmd = topics->add_subcommand("create", "create a topic");
  create_cmd->add_option("name", t->name, "topic")->required();
  create_cmd->add_option("--partitions", t->partitions, "partition count (-1: broker default)")
      ->transform(decimal(-1, std::numeric_limits<std::int32_t>::max()));
  create_cmd->add_option("--config", t->configs, "key=value (repeatable)")->allow_extra_args(false);
  create_cmd->callback([t, &o] { create(o, *t); });

  auto* remove = topics->add_subcommand("delete", "delete a topic and its messages");
  remove->add_option("name", t->name, "topic")->required();
  remove->callback([t, &o] {
    auto c = open(o);
    check(c.delete_topic(t->name), "delete " + t->name);
    std::cout << "deleted " << t->name << '\n';
  });

  auto* alter = topics->add_subcommand("alter-config", "set or remove topic configs");
  alter->add_option("name", t->name, "topic")->required();
  alter->add_option("--set", t->configs, "key=value (repeatable)")->allow_extra_args(false);
  alter->add_option("--delete", t->removed, "key: back to the default (repeatable)")
      ->allow_extra_args(false);
  alter->callback([t, &o] { alter_config(o, *t); });

  auto* grow = topics->add_subcommand("add-partitions", "grow a topic to a new partition count");
  grow->add_option("name", t->name, "topic")->required();
  grow->add_option("total", t->partitions, "the new total partition count")
      ->required()
      ->transform(decimal(1, std::numeric_limits<std::int32_t>::max()));
  grow->callback([t, &o] { add_partitions(o, *t); });

  auto* records = topics->add_subcommand(
      "delete-records", "delete the records below an offset (the new log start offset)");
  records->add_option("name", t->name, "topic")->required();
  records->add_option("-p,--partition", t->record_partitions,
                      "partition (repeatable; default: every partition)")
      ->allow_extra_args(false)
      ->transform(decimal(0, std::numeric_limits<std::int32_t>::max()));
  records->add_option("--offset", t->before, "the new log start offset (-1: the high watermark)")
      ->required()
      ->transform(decimal(-1, std::numeric_limits<std::int64_t>::max()));
  records->callback([t, &o] { delete_records(o, *t); });
}

}  // namespace portask::cli
