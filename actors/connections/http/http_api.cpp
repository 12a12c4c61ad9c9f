#include "actors/connections/http/http_api.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <map>
#include <optional>
#include <vector>

#include "actors/pipeline/offset_for_time.hpp"
#include "actors/pipeline/partition.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "logging/loggers.hpp"
#include "portask/version.hpp"
#include "protocol/base64.hpp"
#include "protocol/group_assignment.hpp"
#include "protocol/start_position.hpp"
#include "protocol/topic_name.hpp"

namespace portask {

namespace http = boost::beast::http;
using json = nlohmann::json;
using namespace std::chrono_literals;
using self_ptr = http_request_actor::pointer;

namespace {

constexpr std::size_t max_browse = 500;  ///< messages one browse request may ask for
// A list page's names unless it asks for another number, and the most it may ask for. Each
// name on a page is described (a topic asks every partition for its bounds, a group reads its
// offsets and their partitions' bounds), so the page bounds what one request fans out to.
constexpr std::size_t default_page = 100;
constexpr std::size_t max_page = 1000;

// -- the target: /api/<segments>?<query> -------------------------------------------------------

// `+` is a space in a query only (form encoding); in a path it is itself (a group "a+b").
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
        return std::nullopt;
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

using query_map = std::map<std::string, std::string>;

struct api_target {
  std::vector<std::string> path;  ///< the segments after /api/ (an empty one kept: `//`, a trailing `/`)
  query_map query;
  std::string repeated;  ///< a parameter given more than once (which one to apply is not said)
};

std::optional<api_target> parse_target(std::string_view target) {
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (!path.starts_with("/api/") && path != "/api") return std::nullopt;
  path.remove_prefix(std::min<std::size_t>(path.size(), 5));
  api_target out;
  // Every segment, empty ones too: /api//topics and /api/topics/ are no endpoint (404), not
  // another spelling of one.
  while (!path.empty()) {
    const auto slash = path.find('/');
    auto seg = percent_decode(path.substr(0, slash), false);
    if (!seg) return std::nullopt;
    out.path.push_back(std::move(*seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) out.path.emplace_back();
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) return std::nullopt;
      if (!out.query.emplace(*key, *value).second && out.repeated.empty()) out.repeated = *key;
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  return out;
}

// The first parameter of `q` not among `known`, if any: a misspelt one ("partiton") would
// otherwise be ignored, and the request answered as if it had not been given.
std::optional<std::string> unknown_parameter(const query_map& q,
                                             std::initializer_list<std::string_view> known) {
  for (const auto& entry : q)
    if (std::find(known.begin(), known.end(), entry.first) == known.end()) return entry.first;
  return std::nullopt;
}

// Reads parameter `key` into `out` if given (else leaves it): false unless it is a whole
// number with nothing after it ("1x" is not 1).
template <class Number>
bool query_number(const query_map& q, const char* key, Number& out) {
  const auto it = q.find(key);
  if (it == q.end()) return true;
  const auto& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

// A name as a query value or a path segment: every byte but RFC 3986's unreserved characters
// percent-encoded, so that any group id (a space, '&', '/', '>', bytes that are not UTF-8)
// stays one parameter or segment, a header that carries it stays plain ASCII, and a name
// whose JSON text has U+FFFD in place of its bad bytes can still be asked for as it is.
std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

// -- list pages -----------------------------------------------------------------------------

// What a page of GET /api/topics or /api/groups asks for: at most `limit` names, in sorted
// order, from the first sorted after `after` (from the first of all when it is empty).
struct list_page {
  std::size_t limit = default_page;
  std::string after;
};

// Reads a list's parameters into `page`; what is wrong with them, if anything (a 400).
std::optional<std::string> page_problem(const query_map& q, list_page& page) {
  if (auto key = unknown_parameter(q, {"limit", "after"}))
    return "unknown parameter '" + *key + "' (expected limit, after)";
  if (!query_number(q, "limit", page.limit)) return std::string("limit must be a whole number");
  if (page.limit == 0 || page.limit > max_page)
    return "limit must be from 1 to " + std::to_string(max_page);
  if (const auto it = q.find("after"); it != q.end()) {
    // Empty would read as "from the start": a script that lost the last name would loop.
    if (it->second.empty()) return std::string("after must be a name (the last of the page before)");
    page.after = it->second;
  }
  return std::nullopt;
}

// Keeps of `all` only the page's share, sorted by `name_of`; true if names follow it. Sorted
// and started after a name, pages stay in order while topics or groups come and go between
// them: each name still there is listed once.
template <class Item, class NameOf>
bool keep_page(std::vector<Item>& all, const list_page& page, NameOf name_of) {
  std::sort(all.begin(), all.end(),
            [&](const Item& a, const Item& b) { return name_of(a) < name_of(b); });
  const auto first =
      page.after.empty()
          ? all.begin()
          : std::upper_bound(all.begin(), all.end(), page.after,
                             [&](const std::string& after, const Item& i) { return after < name_of(i); });
  const auto left = static_cast<std::size_t>(all.end() - first);
  const auto count = std::min(page.limit, left);
  all.erase(first + static_cast<std::ptrdiff_t>(count), all.end());  // `first` stays valid
  all.erase(all.begin(), first);
  return left > count;
}

// The Link header of a page that names follow (RFC 8288, as GitHub's API pages): the next
// page, as many names long, from the name after this page's last.
std::string next_page_link(std::string_view path, std::size_t limit, std::string_view last) {
  return "<" + std::string(path) + "?limit=" + std::to_string(limit) + "&after=" +
         percent_encode(last) + ">; rel=\"next\"";
}

// -- answers --------------------------------------------------------------------------------

unsigned status_of(errc e) {
  switch (e) {
    case errc::unknown_topic:
    case errc::unknown_partition:
    case errc::unknown_group: return 404;
    case errc::topic_already_exists:
    case errc::topic_name_collision:
    case errc::group_not_empty: return 409;
    case errc::invalid_request:
    case errc::invalid_record:
    case errc::policy_violation:
    case errc::invalid_partition_count:
    case errc::offset_out_of_range: return 400;
    // Retriable: the broker cannot serve it now (another node owns it, the store is full or
    // slow); not a bug of the broker's (500).
    case errc::not_ready:
    case errc::not_leader:
    case errc::not_coordinator:
    case errc::storage_unavailable:
    case errc::storage_full:
    case errc::backpressure:
    case errc::timeout: return 503;
    default: return 500;
  }
}

// JSON text is UTF-8; names clients chose (group and client ids) and names in a request's
// path need not be: their bad bytes become U+FFFD rather than an exception that would end
// the request without an answer.
std::string json_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string error_json(std::string_view message) { return json_text(json{{"error", message}}); }

// One request in progress: answered once, then its actor quits.
struct exchange {
  self_ptr self;
  std::shared_ptr<broker_context> ctx;
  std::shared_ptr<const actor_directory> dir;  ///< as the supervisor had it for this request
  api_reply reply;
  void ok(const json& body, unsigned status = 200) const {
    reply(status, json_text(body), {});
    self->quit();
  }
  /// 200 with a list page, and the next page's Link when there is one (`link` not empty).
  void ok_page(const json& body, std::string link) const {
    api_headers headers;
    headers.link = std::move(link);
    reply(200, json_text(body), std::move(headers));
    self->quit();
  }
  void fail(unsigned status, std::string_view message) const {
    reply(status, error_json(message), {});
    self->quit();
  }
  /// 405, naming the methods the path takes (RFC 9110 requires Allow on a 405).
  void not_allowed(std::string allow) const {
    auto message = error_json("method not allowed here (allowed: " + allow + ")");
    api_headers headers;
    headers.allow = std::move(allow);
    reply(405, std::move(message), std::move(headers));
    self->quit();
  }
  /// The code's sentence ("unknown partition"), as the native protocol and Kafka's
  /// errorMessage say it, not its name: people read these in the console.
  void fail(errc e, std::string_view what = {}) const {
    const auto said = make_error_code(e).message();
    fail(status_of(e), what.empty() ? said : std::string(what) + ": " + said);
  }
  void fail(const caf::error& e, std::string_view what = {}) const { fail(to_errc(e), what); }
};

json bytes_json(const std::optional<std::string>& b) {
  return b ? json(protocol::base64_encode(*b)) : json();
}

// -- overview and topics ----------------------------------------------------------------------

void overview(const exchange& x) {
  auto registry = x.dir->registry;
  auto groups = x.dir->groups;
  if (!registry || !groups) return x.fail(errc::not_ready);
  x.self->request(registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            x.self->request(groups, 10s, list_atom::value)
                .then(
                    [=](std::vector<group_description>& all) {
                      const auto& m = x.ctx->metrics;
                      std::int64_t partitions = 0;
                      for (const auto& t : topics) partitions += t.partitions;
                      std::size_t live_groups = 0;
                      for (const auto& g : all) live_groups += g.state != "Dead" && !g.group_id.empty();  // as listed
                      std::uint64_t in = 0, out = 0, bytes_in = 0;
                      std::int64_t connections = 0;
                      for (auto p : {protocol_kind::portask, protocol_kind::kafka}) {
                        in += m.messages_in_total(p);
                        out += m.messages_out_total(p);
                        bytes_in += m.bytes_in_total(p);
                        connections += m.open_connections(p);
                      }
                      out += m.messages_out_total(protocol_kind::http);  // browsed
                      x.ok({{"version", std::string("portask ") + version_string},
                            {"store", x.ctx->store_kind},
                            {"store_up", m.store_up()},
                            {"ports",
                             {{"native", x.ctx->native_port.load()},
                              {"kafka", x.ctx->kafka_port.load()},
                              {"http", x.ctx->http_port.load()}}},
                            {"topics", topics.size()},
                            {"partitions", partitions},
                            {"groups", live_groups},
                            {"connections", connections},
                            {"messages_in", in},
                            {"messages_out", out},
                            {"bytes_in", bytes_in}});
                    },
                    [=](caf::error& e) { x.fail(e, "groups"); });
          },
          [=](caf::error& e) { x.fail(e, "topics"); });
}

json partitions_json(const topic_description& d) {
  auto out = json::array();
  for (std::size_t i = 0; i < d.partitions.size(); ++i) {
    const auto& b = d.partitions[i];
    out.push_back({{"partition", i},
                   {"log_start", b.log_start},
                   {"high_watermark", b.next_offset},
                   {"messages", b.next_offset - b.log_start},
                   {"bytes", b.stored_bytes()}});
  }
  return out;
}

// GET /api/cluster: the live nodes with their endpoints, and every partition's owner and
// lease epoch as this node sees them (a single node: itself, owning everything).
void cluster_info(const exchange& x) {
  auto registry = x.dir->registry;
  if (!registry) return x.fail(errc::not_ready);
  x.self->request(registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            const auto view = x.ctx->cluster();
            json nodes = json::array();
            auto endpoints = [](const node_info& n) {
              json kafka = json::object();
              for (const auto& [name, hp] : n.kafka) kafka[name] = to_string(hp);
              return json{{"kafka", kafka},
                          {"native", n.native ? json(to_string(*n.native)) : json(nullptr)},
                          {"http", n.http ? json(to_string(*n.http)) : json(nullptr)}};
            };
            if (!view->clustered) {
              json self{{"id", view->self}, {"self", true}};
              json kafka = json::object();
              for (const auto& e : x.ctx->kafka_endpoints)
                kafka[e->name] = to_string(host_port{e->advertised_host, e->advertised_port.load()});
              self["kafka"] = kafka;
              nodes.push_back(self);
            }
            for (const auto& [id, n] : view->nodes) {
              auto j = endpoints(n);
              j["id"] = id;
              j["self"] = id == view->self;
              nodes.push_back(j);
            }
            json partitions = json::array();
            std::map<std::int32_t, std::size_t> owned;
            for (const auto& t : topics)
              for (std::int32_t p = 0; p < t.partitions; ++p) {
                const storage::topic_partition tp{t.name, p};
                const auto leader = view->leader(tp);
                const auto* holder = view->holder(tp);
                const bool held = !view->clustered || holder != nullptr;
                // Counted for the node holding the lease, also while it may not serve under
                // it (leader -1).
                if (held) ++owned[view->clustered ? holder->node : leader];
                partitions.push_back({{"topic", t.name}, {"partition", p}, {"leader", leader},
                                      {"epoch", view->leader_epoch(tp)}, {"held", held}});
              }
            for (auto& n : nodes) n["partitions"] = owned[n["id"].get<std::int32_t>()];
            x.ok({{"clustered", view->clustered},
                  {"node_id", view->self},
                  {"nodes", nodes},
                  {"partitions", partitions},
                  {"failovers", x.ctx->metrics.cluster_takeovers_total()}});
          },
          [=](caf::error& e) { x.fail(to_errc(e)); });
}

void list_topics(const exchange& x, const list_page& page) {
  auto registry = x.dir->registry;
  if (!registry) return x.fail(errc::not_ready);
  x.self->request(registry, 10s, list_atom::value)
      .then(
          [=](std::vector<storage::topic_info>& topics) {
            // Only the page's topics are described: the list itself is one request.
            const bool more = keep_page(topics, page, [](const storage::topic_info& t) -> const std::string& {
              return t.name;
            });
            const auto link = more ? next_page_link("/api/topics", page.limit, topics.back().name)
                                   : std::string();
            auto out = std::make_shared<json>(json::array());
            auto pending = std::make_shared<std::size_t>(topics.size() + 1);
            auto done = [=] {
              if (--*pending == 0) x.ok_page(*out, link);
            };
            for (std::size_t i = 0; i < topics.size(); ++i) {
              out->push_back({{"name", topics[i].name},
                              {"path", percent_encode(topics[i].name)},
                              {"partitions", topics[i].partitions},
                              {"messages", nullptr},
                              {"bytes", nullptr}});
              x.self->request(registry, 10s, describe_atom::value, topics[i].name)
                  .then(
                      [=](topic_description& d) {
                        std::int64_t messages = 0;
                        std::uint64_t bytes = 0;
                        for (const auto& b : d.partitions) {
                          messages += b.next_offset - b.log_start;
                          bytes += b.stored_bytes();
                        }
                        (*out)[i]["messages"] = messages;
                        (*out)[i]["bytes"] = bytes;
                        done();
                      },
                      [=](caf::error&) { done(); });  // deleted meanwhile: shown without sizes
            }
            done();
          },
          [=](caf::error& e) { x.fail(e, "topics"); });
}

void describe_topic(const exchange& x, const std::string& name) {
  auto registry = x.dir->registry;
  if (!registry) return x.fail(errc::not_ready);
  x.self->request(registry, 10s, describe_atom::value, name)
      .then(
          [=](topic_description& d) {
            json configs = json::object();
            for (const auto& [k, v] : d.info.configs) configs[k] = v;
            x.ok({{"name", d.info.name}, {"partitions", partitions_json(d)}, {"configs", configs}});
          },
          [=](caf::error& e) { x.fail(e, "topic '" + name + "'"); });
}

void create_topic(const exchange& x, const std::string& body) {
  auto req = json::parse(body, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("name") || !req["name"].is_string())
    return x.fail(400, "expected a JSON object with \"name\" (and \"partitions\", \"configs\")");
  // A field this endpoint does not know ("replication_factor") is refused, not dropped.
  for (const auto& [k, v] : req.items())
    if (k != "name" && k != "partitions" && k != "configs")
      return x.fail(400, "unknown field \"" + k + "\" (expected \"name\", \"partitions\", \"configs\")");
  const std::string name = req["name"];
  std::int64_t partitions = std::max(1u, x.ctx->config.default_partitions);
  if (auto problem = creatable_name_problem(name)) return x.fail(400, problem->message);
  if (req.contains("partitions")) {
    if (!req["partitions"].is_number_integer())
      return x.fail(400, "\"partitions\" must be a whole number");
    partitions = req["partitions"];
    // Checked here, before the count is narrowed to the topic's 32 bits.
    if (auto problem = partition_count_problem(partitions)) return x.fail(400, *problem);
  }
  storage::topic_info info{name, static_cast<std::int32_t>(partitions), {}};
  if (req.contains("configs")) {
    if (!req["configs"].is_object()) return x.fail(400, "\"configs\" must be an object");
    for (const auto& [k, v] : req["configs"].items()) {
      if (!v.is_string()) return x.fail(400, "config '" + k + "' must be a string");
      info.configs.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto problem = topic_configs_problem(info.configs))
    return x.fail(400, *problem);
  auto registry = x.dir->registry;
  if (!registry) return x.fail(errc::not_ready);
  x.self->request(registry, 10s, create_atom::value, std::move(info))
      .then([=](storage::topic_info& t) { x.ok({{"name", t.name}, {"partitions", t.partitions}}, 201); },
            [=](caf::error& e) { x.fail(e, "create '" + name + "'"); });
}

void delete_topic(const exchange& x, const std::string& name) {
  // The registry refuses it too, with a bare invalid_request.
  if (protocol::is_internal_topic(name))
    return x.fail(400, "delete '" + name + "': an internal topic cannot be deleted (the broker keeps "
                       "the consumer groups' committed offsets in it)");
  auto registry = x.dir->registry;
  if (!registry) return x.fail(errc::not_ready);
  x.self->request(registry, registry_wait(x.ctx->config), delete_atom::value, name)
      .then([=](bool) { x.ok({{"deleted", name}}); },
            [=](caf::error& e) { x.fail(e, "delete '" + name + "'"); });
}

// -- browsing messages ----------------------------------------------------------------------

void read_messages(const exchange& x, protocol_bridge_actor bridge, topic_partition tp,
                   std::int64_t from, std::size_t limit) {
  fetch_request fr;
  fr.tp = tp;
  fr.offset = from;
  fr.max_bytes = 1u << 20;
  fr.max_wait_ms = 0;
  x.self->request(bridge, 10s, fetch_atom::value, fr)
      .then(
          [=](fetch_result& res) {
            auto messages = json::array();
            std::int64_t next = from;
            std::uint64_t sent_bytes = 0;  // stored bytes of the batches the answer draws on
            for (const auto& b : res.batches) {
              const auto before = messages.size();
              auto frame = protocol::decode_frame(b.frame, protocol::frame_limits{UINT32_MAX});
              auto batch = frame ? x.ctx->codecs.decode(frame->header.flags, frame->payload)
                                 : expected<protocol::message_batch>(frame.error());
              if (!batch) return x.fail(errc::corrupt_stored_data, "stored batch");
              for (std::size_t i = 0; i < batch->messages.size(); ++i) {
                const auto offset = b.base_offset + static_cast<std::int64_t>(i);
                if (offset < from) continue;
                if (messages.size() >= limit) break;
                const auto& m = batch->messages[i];
                auto headers = json::array();
                for (const auto& h : m.headers)
                  headers.push_back({{"key", protocol::base64_encode(h.key)}, {"value", bytes_json(h.value)}});
                messages.push_back({{"offset", offset},
                                    {"timestamp", m.timestamp_ms},
                                    {"key", bytes_json(m.key)},
                                    {"value", bytes_json(m.value)},
                                    {"headers", headers}});
                next = offset + 1;
              }
              if (messages.size() > before) sent_bytes += b.frame.size();
              if (messages.size() >= limit) break;
            }
            // Counted like a consumer's fetch: what this answer hands the client.
            x.ctx->metrics.messages_out(protocol_kind::http, messages.size(), sent_bytes);
            x.ok({{"topic", tp.topic},
                  {"partition", tp.partition},
                  {"log_start", res.log_start},
                  {"high_watermark", res.high_watermark},
                  {"next_offset", std::max(next, std::min(from, res.high_watermark))},
                  {"encoding", "base64"},
                  {"messages", messages}});
          },
          [=](caf::error& e) { x.fail(e, "read"); });
}

void browse(const exchange& x, const std::string& topic, const query_map& q) {
  // A misspelt parameter ("partiton") would otherwise read partition 0 from the start.
  if (auto key = unknown_parameter(q, {"partition", "limit", "from"}))
    return x.fail(400, "unknown parameter '" + *key + "' (expected partition, limit, from)");
  // Whole numbers only: "1x" is not partition 1.
  std::int32_t partition = 0;
  std::size_t limit = 50;
  if (!query_number(q, "partition", partition) || !query_number(q, "limit", limit))
    return x.fail(400, "partition and limit must be whole numbers");
  if (partition < 0 || limit == 0 || limit > max_browse)
    return x.fail(400, "partition must be at least 0 and limit from 1 to 500");
  const auto from_text = q.contains("from") ? q.at("from") : std::string("earliest");
  const auto from = protocol::parse_start_position(from_text);
  if (!from || from->what == protocol::start_position::kind::committed)
    return x.fail(400, "from must be earliest, latest, an offset, -N or @timestamp_ms");
  const topic_partition tp{topic, partition};
  auto bridge = x.dir->bridge_for(tp);
  if (!bridge) return x.fail(errc::not_ready);
  const auto name = topic + "/" + std::to_string(partition);
  auto on_error = [=](caf::error& e) {
    if (to_errc(e) != errc::unknown_partition || !x.dir->registry) return x.fail(e, name);
    // Which partitions there are, rather than the bare code.
    x.self->request(x.dir->registry, 10s, describe_atom::value, topic)
        .then(
            [=](topic_description& d) {
              const auto n = d.info.partitions;
              x.fail(404, name + ": unknown partition: topic '" + topic + "' has " + std::to_string(n) +
                              (n == 1 ? " partition (0)" : " partitions (0 to " + std::to_string(n - 1) + ")"));
            },
            [=](caf::error& gone) { x.fail(gone, "topic '" + topic + "'"); });
  };
  ask_partition(
      x.self, *x.dir, tp, 10000ms,
      [=](storage::partition_bounds& b) {
        // As portask-cli consume --from refuses it, in its words: a read there would fail
        // with offset_out_of_range, which says nothing of where the log is.
        if (auto why = protocol::outside_log(*from, name, b.log_start, b.next_offset))
          return x.fail(400, "from " + *why);
        if (from->what != protocol::start_position::kind::timestamp)
          return read_messages(x, bridge, tp, protocol::resolve_offset(*from, b.log_start, b.next_offset),
                               limit);
        // Bounded: a browser's request must not hold its connection (and the store) for a
        // whole partition's worth of reads.
        constexpr std::uint32_t most_steps = 256;
        scan_for_time(x.self, bridge, tp, &x.ctx->codecs, protocol_kind::portask, from->value,
                      b.log_start, offset_found{},
                      [=](offset_found f) {
                        if (f.gave_up)
                          return x.fail(422, "the search for that time read " + std::to_string(most_steps) +
                                                 " MiB of " + name + " without reaching it: browse from an offset");
                        read_messages(x, bridge, tp, f.offset >= 0 ? f.offset : b.next_offset,
                                      limit);
                      },
                      on_error, most_steps);
      },
      on_error, bounds_atom::value);
}

// -- groups ---------------------------------------------------------------------------------


// One partition a group commits or holds: its committed offset, bounds and holder.
struct group_row {
  std::int64_t committed = -1, high_watermark = -1, log_start = -1;
  std::string member;
  /// Messages behind: after the commit, or (nothing committed) every message held; -1 unknown.
  std::int64_t lag() const {
    if (high_watermark < 0) return -1;
    return committed >= 0 ? std::max<std::int64_t>(0, high_watermark - committed)
                          : high_watermark - log_start;
  }
};
using group_rows = std::map<topic_partition, group_row>;

// The rows of every committed partition, and the members (as JSON) with the partitions they
// hold marked in the rows.
json members_and_rows(const group_description& d, const std::vector<storage::group_offset>& offsets,
                      group_rows& rows) {
  for (const auto& o : offsets) rows[o.tp].committed = o.offset.offset;
  auto members = json::array();
  for (const auto& m : d.members) {
    auto parts = json::array();
    const auto held = protocol::member_partitions(d.protocol_type, protocol::as_bytes(m.assignment));
    for (const auto& [t, p] : held) {
      parts.push_back({{"topic", t}, {"partition", p}});
      rows[topic_partition{t, p}].member = m.member_id;
    }
    members.push_back({{"member_id", m.member_id},
                       {"client_id", m.client_id},
                       {"host", m.client_host},
                       {"assignment", parts}});
  }
  return members;
}

json group_json(const std::string& id, const group_description& d, json members,
                const group_rows& rows) {
  auto or_null = [](std::int64_t v) { return v >= 0 ? json(v) : json(); };
  auto partitions = json::array();
  std::int64_t total = 0;
  for (const auto& [tp, r] : rows) {
    total += std::max<std::int64_t>(0, r.lag());
    partitions.push_back({{"topic", tp.topic},
                          {"partition", tp.partition},
                          {"committed", or_null(r.committed)},
                          {"high_watermark", or_null(r.high_watermark)},
                          {"lag", or_null(r.lag())},
                          {"member", r.member.empty() ? json() : json(r.member)}});
  }
  return {{"group", id},
          {"state", d.state},
          {"protocol_type", d.protocol_type},
          {"protocol", d.protocol_name},
          {"generation", d.generation},
          {"members", std::move(members)},
          {"partitions", std::move(partitions)},
          {"lag", total}};
}

// Fills each row's bounds (a deleted topic's stay unknown), then calls done().
template <class Done>
void read_bounds(const exchange& x, std::shared_ptr<group_rows> rows, Done done) {
  auto pending = std::make_shared<std::size_t>(rows->size() + 1);
  auto one_done = [=] {
    if (--*pending == 0) done();
  };
  for (const auto& entry : *rows) {
    const auto tp = entry.first;
    ask_partition(
        x.self, *x.dir, tp, 10000ms,
        [=](storage::partition_bounds& b) {
          (*rows)[tp].high_watermark = b.next_offset;
          (*rows)[tp].log_start = b.log_start;
          one_done();
        },
        [=](caf::error&) { one_done(); }, bounds_atom::value);
  }
  one_done();
}

// A group as the console shows it: members with their partitions, and every partition it
// commits or holds with committed offset, high watermark and lag. Calls done(json) or fail.
template <class Done, class Fail>
void group_view(const exchange& x, const std::string& id, Done done, Fail fail) {
  auto groups = x.dir->groups;
  if (!groups || !x.dir->registry) return fail(errc::not_ready);
  auto on_error = [=](caf::error& e) { fail(to_errc(e)); };
  auto with_offsets = [=](group_coordinator_actor g, group_description d) {
    x.self->request(g, 10s, offset_atom::value, std::vector<topic_partition>{})
        .then(
            [=](std::vector<storage::group_offset>& offsets) {
              auto rows = std::make_shared<group_rows>();
              auto members = members_and_rows(d, offsets, *rows);
              read_bounds(x, rows, [=] { done(group_json(id, d, members, *rows)); });
            },
            on_error);
  };
  x.self->request(groups, 10s, group_atom::value, id)
      .then(
          [=](group_coordinator_actor& g) {
            x.self->request(g, 10s, describe_atom::value)
                .then(
                    [=](group_description& d) {
                      if (d.state == "Dead") return fail(errc::unknown_group);
                      with_offsets(g, std::move(d));
                    },
                    on_error);
          },
          on_error);
}

void list_groups(const exchange& x, const list_page& page) {
  auto groups = x.dir->groups;
  if (!groups) return x.fail(errc::not_ready);
  x.self->request(groups, 10s, list_atom::value)
      .then(
          [=](std::vector<group_description>& all) {
            // Kafka's empty group id (old standalone consumers) has no path of its own here.
            std::erase_if(all, [](const auto& g) { return g.state == "Dead" || g.group_id.empty(); });
            // Only the page's groups are viewed (their lag asks for offsets and bounds).
            const bool more = keep_page(all, page, [](const group_description& g) -> const std::string& {
              return g.group_id;
            });
            const auto link = more ? next_page_link("/api/groups", page.limit, all.back().group_id)
                                   : std::string();
            auto out = std::make_shared<json>(json::array());
            auto pending = std::make_shared<std::size_t>(all.size() + 1);
            auto done = [=] {
              if (--*pending == 0) x.ok_page(*out, link);
            };
            for (std::size_t i = 0; i < all.size(); ++i) {
              out->push_back({{"group", all[i].group_id},
                              {"path", percent_encode(all[i].group_id)},
                              {"state", all[i].state},
                              {"protocol_type", all[i].protocol_type},
                              {"members", all[i].members.size()},
                              {"lag", nullptr}});
              group_view(
                  x, all[i].group_id,
                  [=](json view) {
                    (*out)[i]["lag"] = view["lag"];
                    done();
                  },
                  [=](errc) { done(); });
            }
            done();
          },
          [=](caf::error& e) { x.fail(e, "groups"); });
}

// -- loggers --------------------------------------------------------------------------------

std::string level_name(spdlog::level::level_enum l) {
  const auto sv = spdlog::level::to_string_view(l);
  return std::string(sv.data(), sv.size());
}

void list_loggers(const exchange& x) {
  json out = json::object();
  for (auto m : logging::modules) out[std::string(m)] = level_name(logging::named(m)->level());
  x.ok({{"loggers", std::move(out)}});
}

// PUT /api/loggers/<module or "all"> {"level": "debug"}: takes effect at once, until the
// broker restarts (log_level sets the start).
void set_logger_level(const exchange& x, const std::string& name, const std::string& body) {
  const bool all = name == "all";
  if (!all && std::find(logging::modules.begin(), logging::modules.end(), name) ==
                  logging::modules.end())
    return x.fail(404, "no logger '" + name + "' (GET /api/loggers lists them)");
  auto req = json::parse(body, nullptr, false);
  static constexpr std::array<std::string_view, 8> levels = {
      "trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
  if (req.is_discarded() || !req.is_object() || req.size() != 1 || !req.contains("level") ||
      !req["level"].is_string() ||
      std::find(levels.begin(), levels.end(), req["level"].get<std::string>()) == levels.end())
    return x.fail(400, "expected {\"level\": \"trace|debug|info|warn|error|critical|off\"} and nothing else");
  const auto l = spdlog::level::from_str(req["level"].get<std::string>());
  const auto level = level_name(l);  // as GET lists it ("warn" is "warning")
  if (all)
    spdlog::set_level(l);  // every registered logger, the default one included, and new ones
  else
    logging::named(name)->set_level(l);
  logging::runtime().info("log level of {} set to {}", name, level);
  x.ok({{"logger", name}, {"level", level}});
}

void route(const exchange& x, http::verb method, const api_target& t, const std::string& body) {
  const auto& p = t.path;
  const bool get = method == http::verb::get || method == http::verb::head;  // HEAD: no body sent
  if (std::any_of(p.begin(), p.end(), [](const std::string& seg) { return seg.empty(); }))
    return x.fail(404, "no such endpoint (an empty path segment)");
  // Only the message browser and the two lists take parameters: one given to another endpoint
  // ("?limit=5" on a topic) would be answered as if it had been applied. Likewise only
  // creating a topic and setting a log level read a body: a DELETE with {"if_empty": true}
  // would not.
  auto plain = [&](auto&& serve, bool reads_body = false) {
    if (!t.query.empty())
      return x.fail(400, "unknown parameter '" + t.query.begin()->first +
                             "' (only GET /api/topics, /api/groups and /api/topics/{name}/messages "
                             "take parameters)");
    if (!reads_body && !body.empty())
      return x.fail(400, "this endpoint takes no request body (only POST /api/topics and "
                         "PUT /api/loggers/{name} read one)");
    serve();
  };
  // The topic and group lists: a page at a time (limit, after), no body.
  auto paged = [&](auto&& serve) {
    if (!body.empty()) return x.fail(400, "this endpoint takes no request body (its parameters go in the query)");
    if (!t.repeated.empty()) return x.fail(400, "parameter '" + t.repeated + "' given more than once");
    list_page asked;
    if (auto problem = page_problem(t.query, asked)) return x.fail(400, *problem);
    serve(asked);
  };
  if (p.size() == 1 && p[0] == "overview" && get) return plain([&] { overview(x); });
  if (p.size() == 1 && p[0] == "topics" && get)
    return paged([&](const list_page& page) { list_topics(x, page); });
  if (p.size() == 1 && p[0] == "topics" && method == http::verb::post)
    return plain([&] { create_topic(x, body); }, true);
  if (p.size() == 2 && p[0] == "topics" && get) return plain([&] { describe_topic(x, p[1]); });
  if (p.size() == 2 && p[0] == "topics" && method == http::verb::delete_)
    return plain([&] { delete_topic(x, p[1]); });
  if (p.size() == 3 && p[0] == "topics" && p[2] == "messages" && get) {
    if (!body.empty()) return x.fail(400, "this endpoint takes no request body (its parameters go in the query)");
    if (!t.repeated.empty()) return x.fail(400, "parameter '" + t.repeated + "' given more than once");
    return browse(x, p[1], t.query);
  }
  if (p.size() == 1 && p[0] == "groups" && get)
    return paged([&](const list_page& page) { list_groups(x, page); });
  if (p.size() == 2 && p[0] == "groups" && get)
    return plain([&] {
      group_view(
          x, p[1], [=](json view) { x.ok(view); },
          [=](errc e) { x.fail(e, "group '" + p[1] + "'"); });
    });
  if (p.size() == 1 && p[0] == "loggers" && get) return plain([&] { list_loggers(x); });
  if (p.size() == 1 && p[0] == "cluster" && get) return plain([&] { cluster_info(x); });
  if (p.size() == 2 && p[0] == "loggers" && method == http::verb::put)
    return plain([&] { set_logger_level(x, p[1], body); }, true);
  // A path the API has, asked with another method, is 405 naming the methods it takes; any
  // other path 404.
  const char* allow = nullptr;
  if (p.size() == 1 && (p[0] == "overview" || p[0] == "cluster" || p[0] == "groups" || p[0] == "loggers"))
    allow = "GET, HEAD";
  else if (p.size() == 1 && p[0] == "topics")
    allow = "GET, HEAD, POST";
  else if (p.size() == 2 && p[0] == "topics")
    allow = "GET, HEAD, DELETE";
  else if (p.size() == 3 && p[0] == "topics" && p[2] == "messages")
    allow = "GET, HEAD";
  else if (p.size() == 2 && p[0] == "groups")
    allow = "GET, HEAD";
  else if (p.size() == 2 && p[0] == "loggers")
    allow = "PUT";
  if (allow) return x.not_allowed(allow);
  x.fail(404, "no such endpoint");
}

// Serves the one request it is sent; where the answer goes is its spawn argument (a
// function, which no message could carry).
http_request_actor::behavior_type api_request_impl(self_ptr self, std::shared_ptr<broker_context> ctx,
                                                   supervisor_actor supervisor, api_reply reply) {
  return {
      [=](http_atom, const http_request& req) {
        auto target = parse_target(req.target);
        if (!target) return exchange{self, ctx, nullptr, reply}.fail(400, "malformed request target");
        // The actors it asks, as they are now.
        self->request(supervisor, 10s, directory_atom::value)
            .then(
                [=](actor_directory& current) {
                  const exchange x{self, ctx,
                                   std::make_shared<const actor_directory>(std::move(current)),
                                   reply};
                  route(x, http::string_to_verb(req.method), *target, req.body);
                },
                [=](caf::error& e) { exchange{self, ctx, nullptr, reply}.fail(e, "broker"); });
      },
  };
}

}  // namespace

void serve_api(caf::actor_system& sys, std::shared_ptr<broker_context> ctx,
               supervisor_actor supervisor, http::verb method, std::string target,
               std::string body, api_reply reply) {
  auto a = sys.spawn(api_request_impl, std::move(ctx), std::move(supervisor), std::move(reply));
  caf::anon_send(a, http_atom::value,
                 http_request{std::string(http::to_string(method)), std::move(target),
                              std::move(body)});
}

}  // namespace portask
