#include "actors/pipeline/topic_configs.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <type_traits>
#include <unordered_map>

#include "protocol/topic_name.hpp"

namespace portask {
namespace {

// Java's String.trim: every character up to ' ' goes, at both ends. Kafka trims every value
// before it parses it (ConfigDef.parseType).
std::string_view java_trim(std::string_view value) {
  while (!value.empty() && static_cast<unsigned char>(value.front()) <= ' ') value.remove_prefix(1);
  while (!value.empty() && static_cast<unsigned char>(value.back()) <= ' ') value.remove_suffix(1);
  return value;
}

// A number as Kafka reads one (Long.parseLong, Double.parseDouble): trimmed, a leading '+'
// allowed; `whole` says whether all of it was the number.
template <class T>
std::from_chars_result parse_number(std::string_view text, T& n, bool& whole) {
  text = java_trim(text);
  if (text.size() > 1 && text.front() == '+' && text[1] >= '0' && text[1] <= '9') text.remove_prefix(1);
  if (text.size() > 1 && text.front() == '+' && text[1] == '.') text.remove_prefix(1);
  const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  whole = r.ptr == text.data() + text.size();
  // Java's parseDouble reads no "nan" or "inf"; a ratio of NaN would compare false with all.
  if constexpr (std::is_floating_point_v<T>) whole = whole && std::isfinite(n);
  return r;
}

// Kafka's ThrottledReplicaListValidator: the literal '*', or [partitionId]:[brokerId] pairs
// separated by commas (none: Kafka's default).
std::optional<std::string> throttled_replicas_problem(std::string_view value) {
  auto is_number = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string joined;
  bool pairs = true;
  for (const auto& item : config_list_items(value)) {
    joined += item;
    const auto colon = item.find(':');
    pairs = pairs && (item.empty() || (colon != std::string::npos && is_number(item.substr(0, colon)) &&
                                       is_number(item.substr(colon + 1))));
  }
  if (pairs || joined == "*") return std::nullopt;
  return "expected '*' or a list of [partitionId]:[brokerId],[partitionId]:[brokerId],...";
}

// Kafka 3.x's MetadataVersion.fromVersionString: a release ("2.8", "0.10.2"), one of its
// internal versions ("3.0-IV1"), or either with more dot-separated parts, which Kafka ignores
// ("2.8.1"; releases before 1.0 have three parts of their own). The value is trimmed first,
// as Kafka trims every STRING config (" 3.0" is 3.0).
std::optional<std::string> message_format_version_problem(std::string_view value) {
  value = java_trim(value);
  struct release {
    std::string_view name;
    int internal_versions;  ///< IV0, IV1, ...; none before 0.10
  };
  static constexpr release releases[] = {
      {"0.8.0", 0},  {"0.8.1", 0},  {"0.8.2", 0}, {"0.9.0", 0}, {"0.10.0", 2}, {"0.10.1", 3},
      {"0.10.2", 1}, {"0.11.0", 3}, {"1.0", 1},   {"1.1", 1},   {"2.0", 2},    {"2.1", 3},
      {"2.2", 2},    {"2.3", 2},    {"2.4", 2},   {"2.5", 1},   {"2.6", 1},    {"2.7", 3},
      {"2.8", 2},    {"3.0", 2},    {"3.1", 1},   {"3.2", 1},   {"3.3", 4},    {"3.4", 1},
      {"3.5", 3},    {"3.6", 3},    {"3.7", 5},   {"3.8", 1},   {"3.9", 1},
  };
  const std::size_t parts = value.starts_with("0.") ? 3 : 2;
  // Kafka splits at the dots (Java's split, which drops empty parts at the end) and keeps
  // the first `parts` parts only when there are more: "3.0.1" is 3.0, but "3.0." stays as
  // it is, no version.
  auto parts_of = value;
  while (!parts_of.empty() && parts_of.back() == '.') parts_of.remove_suffix(1);
  const auto split_parts =
      parts_of.empty() ? std::size_t{0}
                       : static_cast<std::size_t>(std::count(parts_of.begin(), parts_of.end(), '.')) + 1;
  auto key = value;
  if (split_parts > parts) {
    std::size_t dot = 0;
    for (std::size_t n = 0; n < parts; ++n) dot = parts_of.find('.', n == 0 ? 0 : dot + 1);
    key = value.substr(0, dot);
  }
  for (const auto& r : releases) {
    if (key == r.name) return std::nullopt;
    if (!key.starts_with(r.name) || !key.substr(r.name.size()).starts_with("-IV")) continue;
    const auto iv = key.substr(r.name.size() + 3);
    int n = -1;
    auto [end, ec] = std::from_chars(iv.data(), iv.data() + iv.size(), n);
    if (ec == std::errc{} && end == iv.data() + iv.size() && n >= 0 && n < r.internal_versions)
      return std::nullopt;
  }
  return "expected a Kafka version from 0.8.0 to 3.9 (such as 3.0 or 3.0-IV1)";
}

}  // namespace

const std::vector<topic_config_spec>& topic_config_specs() {
  using k = config_kind;
  // Kafka's defaults from its topic-level config documentation (Kafka 3.x).
  static const std::vector<topic_config_spec> specs = {
      {"cleanup.policy", k::list, "delete", 0, {"delete", "compact"}},
      {"compression.type", k::enumerated, "producer", 0,
       {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}},
      {"delete.retention.ms", k::long_integer, "86400000", 0},
      {"file.delete.delay.ms", k::long_integer, "60000", 0},
      {"flush.messages", k::long_integer, "9223372036854775807", 1},
      {"flush.ms", k::long_integer, "9223372036854775807", 0},
      {"follower.replication.throttled.replicas", k::list, "", 0, {}, throttled_replicas_problem},
      {"index.interval.bytes", k::integer, "4096", 0},
      {"leader.replication.throttled.replicas", k::list, "", 0, {}, throttled_replicas_problem},
      // -2: retention.ms / retention.bytes. Only tiered storage has a local log to bound.
      {"local.retention.bytes", k::long_integer, "-2", -2},
      {"local.retention.ms", k::long_integer, "-2", -2},
      {"max.compaction.lag.ms", k::long_integer, "9223372036854775807", 1},
      {"max.message.bytes", k::integer, "1048588", 0},
      {"message.downconversion.enable", k::boolean, "true"},
      // Deprecated, and ignored by Kafka 3.x brokers (inter-broker protocol 3.0 and later).
      {"message.format.version", k::enumerated, "3.0-IV1", 0, {}, message_format_version_problem},
      {"message.timestamp.after.max.ms", k::long_integer, "9223372036854775807", 0},
      {"message.timestamp.before.max.ms", k::long_integer, "9223372036854775807", 0},
      {"message.timestamp.difference.max.ms", k::long_integer, "9223372036854775807", 0},
      {"message.timestamp.type", k::enumerated, "CreateTime", 0, {"CreateTime", "LogAppendTime"}},
      {"min.cleanable.dirty.ratio", k::ratio, "0.5"},
      {"min.compaction.lag.ms", k::long_integer, "0", 0},
      {"min.insync.replicas", k::integer, "1", 1},
      {"preallocate", k::boolean, "false"},
      {"remote.storage.enable", k::boolean, "false"},
      // Any negative: no size limit (Kafka's LogConfig gives retention.bytes no lower bound).
      {"retention.bytes", k::long_integer, "-1", INT64_MIN},
      {"retention.ms", k::long_integer, "604800000", -1},
      {"segment.bytes", k::integer, "1073741824", 14},
      {"segment.index.bytes", k::integer, "10485760", 4},
      {"segment.jitter.ms", k::long_integer, "0", 0},
      {"segment.ms", k::long_integer, "604800000", 1},
      {"unclean.leader.election.enable", k::boolean, "false"},
  };
  return specs;
}

const topic_config_spec* find_topic_config(std::string_view name) {
  for (const auto& s : topic_config_specs())
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

std::optional<std::string> integer_problem(std::string_view v, long long min, long long max) {
  long long n = 0;
  bool whole = false;
  const auto ec = parse_number(v, n, whole).ec;
  if (ec == std::errc::result_out_of_range || (ec == std::errc{} && n > max))
    return "out of range";
  if (ec != std::errc{} || !whole) return "not a number";
  if (n < min) return "must be at least " + std::to_string(min);
  return std::nullopt;
}

// The value as Kafka's ConfigDef.parseType reads it, written the one way Portask's checks
// compare: trimmed; "true"/"false" in lower case; an integer without '+' or leading zeros.
// Anything else is the trimmed text (the checks then say what is wrong with it).
std::string canonical_config_value(const topic_config_spec& spec, std::string_view given) {
  const auto value = java_trim(given);
  auto lower_equals = [&](std::string_view word) {
    return value.size() == word.size() &&
           std::equal(value.begin(), value.end(), word.begin(), [](char a, char b) {
             return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
  };
  switch (spec.kind) {
    case config_kind::boolean:
      if (lower_equals("true")) return "true";
      if (lower_equals("false")) return "false";
      break;
    case config_kind::integer:
    case config_kind::long_integer: {
      long long n = 0;
      bool whole = false;
      if (parse_number(value, n, whole).ec == std::errc{} && whole) return std::to_string(n);
      break;
    }
    case config_kind::ratio:
      if (value.size() > 1 && value.front() == '+') return std::string(value.substr(1));
      break;
    case config_kind::list: {
      // As Kafka writes a list back: its items, trimmed, joined by commas.
      if (value.empty()) return std::string();
      std::string joined;
      bool first = true;
      for (const auto& item : config_list_items(value)) {
        if (!first) joined += ',';
        joined += item;  // an empty item stays, for the check to refuse
        first = false;
      }
      return joined;
    }
    default: break;
  }
  return std::string(value);
}

std::string choices_of(const topic_config_spec& s) {
  std::string out;
  for (auto c : s.choices) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

// Keys Portask stores and reports but whose other values it could not honour: such a value
// is refused with the reason (accepted, it would be ignored). Their defaults stay valid, as
// tools set them explicitly.
std::optional<std::string> unhonourable(std::string_view name, std::string_view value) {
  if (name == "compression.type" && value != "producer")
    return "batches are kept and served as their producer compressed them (only 'producer')";
  if (name == "message.timestamp.type" && value != "CreateTime")
    return "records keep the timestamps their producer gave them (only 'CreateTime')";
  // A write is acknowledged once the store has it; when the store's disk has it is the
  // store's setting (Redis' and Dragonfly's appendfsync), not a topic's.
  if ((name == "flush.messages" || name == "flush.ms") && value != "9223372036854775807")
    return "when writes reach the disk is the store's setting (its appendfsync), not a topic's "
           "(only 9223372036854775807)";
  if (name == "min.insync.replicas" && value != "1")
    return "a partition has one copy, in the store (only 1)";
  // As a Kafka broker without tiered storage refuses it.
  if (name == "remote.storage.enable" && value != "false")
    return "Portask has no tiered storage: a partition's log is all in its store (only 'false')";
  if (name == "message.downconversion.enable" && value != "true")
    return "Fetch v0-3 are always answered, in the message format their version reads (only 'true')";
  if ((name == "message.timestamp.before.max.ms" || name == "message.timestamp.after.max.ms" ||
       name == "message.timestamp.difference.max.ms") &&
      value != "9223372036854775807")
    return "record timestamps are not checked against the broker's clock (only 9223372036854775807)";
  return std::nullopt;
}

}  // namespace

std::string canonical_topic_config(std::string_view name, std::string_view value) {
  const auto* spec = find_topic_config(name);
  return spec ? canonical_config_value(*spec, value) : std::string(value);
}

std::vector<std::string> config_list_items(std::string_view value) {
  std::vector<std::string> items;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    items.emplace_back(java_trim(value.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return items;
}

namespace {

template <class T>
std::optional<T> config_as(const std::vector<std::pair<std::string, std::string>>& configs,
                           std::string_view name) {
  std::optional<T> out;
  for (const auto& [key, value] : configs) {
    if (key != name) continue;
    T n{};
    bool whole = false;
    const auto ec = parse_number(value, n, whole).ec;
    out.reset();
    if (ec == std::errc{} && whole) out = n;
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> config_integer(
    const std::vector<std::pair<std::string, std::string>>& configs, std::string_view name) {
  return config_as<std::int64_t>(configs, name);
}

std::optional<double> config_ratio(const std::vector<std::pair<std::string, std::string>>& configs,
                                   std::string_view name) {
  return config_as<double>(configs, name);
}

bool cleanup_policy_includes(const std::vector<std::pair<std::string, std::string>>& configs,
                             std::string_view policy) {
  bool included = policy == "delete";
  for (const auto& [key, value] : configs) {
    if (key != "cleanup.policy") continue;
    const auto items = config_list_items(value);
    included = std::find(items.begin(), items.end(), policy) != items.end();
  }
  return included;
}

std::optional<std::string> topic_config_problem(std::string_view name, std::string_view given) {
  const auto* spec = find_topic_config(name);
  if (!spec) return "unknown config '" + std::string(name) + "'";
  // Checked as Kafka's ConfigDef.parseType reads it: trimmed, a boolean in any case, a number
  // with a leading '+' (config_integer and config_ratio read numbers the same way).
  const auto canonical = canonical_config_value(*spec, given);
  const std::string_view value = canonical;
  auto problem = [&]() -> std::optional<std::string> {
    if (spec->rule) return spec->rule(value);
    switch (spec->kind) {
      case config_kind::boolean:
        if (value == "true" || value == "false") return std::nullopt;  // canonical: see below
        return "expected true or false";
      case config_kind::integer: return integer_problem(value, spec->min, 2147483647LL);
      case config_kind::long_integer:
        return integer_problem(value, spec->min, 9223372036854775807LL);
      case config_kind::ratio: {
        double d = 0;
        bool whole = false;
        const auto ec = parse_number(value, d, whole).ec;
        if (ec != std::errc{} || !whole || d < 0 || d > 1)
          return "expected a number from 0 to 1";
        return std::nullopt;
      }
      case config_kind::enumerated:
        for (auto c : spec->choices)
          if (c == value) return std::nullopt;
        return "expected one of " + choices_of(*spec);
      case config_kind::list: {
        // An empty list is a list, as Kafka 3.x's ValidList reads it: an empty cleanup.policy
        // neither deletes nor compacts (the log is kept whole, as Kafka keeps it).
        if (value.empty()) return std::nullopt;
        for (const auto& item : config_list_items(value)) {
          bool ok = false;
          for (auto c : spec->choices) ok = ok || c == item;
          if (!ok) return "expected one or more of " + choices_of(*spec);
        }
        return std::nullopt;
      }
    }
    return std::nullopt;
  }();
  if (!problem) problem = unhonourable(name, value);
  if (!problem) return std::nullopt;
  return "invalid value '" + std::string(given) + "' for '" + std::string(name) + "': " + *problem;
}

std::optional<topic_name_problem> creatable_name_problem(std::string_view name) {
  if (!protocol::is_valid_topic_name(name))
    return topic_name_problem{false, "invalid topic name '" + std::string(name) +
                                         "': 1 to 249 of a-z, A-Z, 0-9, '.', '_' and '-', "
                                         "and not '.' or '..'"};
  if (protocol::is_internal_topic(name))
    return topic_name_problem{true, "'" + std::string(name) + "' is internal: the broker creates it"};
  return std::nullopt;
}

std::optional<std::string> partition_count_problem(std::int64_t partitions) {
  if (partitions < 1) return "number of partitions must be at least 1";
  if (partitions > max_topic_partitions)
    return "number of partitions must be at most " + std::to_string(max_topic_partitions);
  return std::nullopt;
}

std::optional<std::string> partition_growth_problem(std::string_view topic, std::int32_t current,
                                                    std::int64_t wanted) {
  if (wanted == current) return "Topic already has " + std::to_string(current) + " partition(s).";
  if (wanted < current)
    return "The topic " + std::string(topic) + " currently has " + std::to_string(current) +
           " partition(s); " + std::to_string(wanted) + " would not be an increase.";
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> last_value_of_each_key(
    std::vector<std::pair<std::string, std::string>> configs) {
  std::vector<std::pair<std::string, std::string>> out;
  // Each key's place through an index, not a search of what was collected: a request naming
  // many keys (none of them checked yet) costs in proportion to its length.
  std::unordered_map<std::string, std::size_t> place;
  for (auto& [key, value] : configs) {
    const auto [it, first] = place.try_emplace(key, out.size());
    if (first)
      out.emplace_back(std::move(key), std::move(value));
    else
      out[it->second].second = std::move(value);
  }
  return out;
}

std::optional<std::string> topic_configs_conflict(
    const std::vector<std::pair<std::string, std::string>>& configs) {
  const auto min_lag = config_integer(configs, "min.compaction.lag.ms").value_or(0);
  const auto max_lag = config_integer(configs, "max.compaction.lag.ms").value_or(INT64_MAX);
  if (max_lag < min_lag)
    return "conflicting configs: max.compaction.lag.ms (" + std::to_string(max_lag) +
           ") is below min.compaction.lag.ms (" + std::to_string(min_lag) + ")";
  return std::nullopt;
}

std::optional<std::string> topic_configs_problem(
    const std::vector<std::pair<std::string, std::string>>& configs) {
  for (const auto& [key, value] : configs)
    if (auto problem = topic_config_problem(key, value)) return problem;
  return topic_configs_conflict(configs);
}

}  // namespace portask
