#include "config_loader.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "actors/cluster/node_info.hpp"
#include "actors/connections/transport/accept_loop.hpp"
#include "actors/connections/transport/tls_context.hpp"
#include "actors/pipeline/topic_configs.hpp"
#include "logging/loggers.hpp"
#include "portask/version.hpp"
#include "protocol/codec.hpp"
#include "storage/redis_store.hpp"

namespace portask {
namespace {

std::string find_config_path(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) return argv[i + 1];
    if (a.starts_with("--config=")) return std::string(a.substr(9));
  }
  if (const char* env = std::getenv("PORTASK_CONFIG")) return env;
  return {};
}

// A config file that reads as YAML but not as settings; the message names the key at fault
// and where it is.
struct config_file_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A config file that cannot be read at all (missing, a directory, not readable); the message
// is the system's reason.
struct config_file_unreadable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The largest node id, for --node-id and the file's cluster.node_id alike.
constexpr std::int32_t largest_node_id = 1 << 30;

std::string position(const YAML::Mark& m) {
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

// " (line L, column C)", or nothing for a node the parser did not place.
std::string where_in_file(const YAML::Node& n) {
  return n.Mark().is_null() ? std::string() : " (" + position(n.Mark()) + ")";
}

// A value as a message quotes it: a scalar as written (shortened), a collection by its kind.
std::string shown(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + (n.Scalar().size() > 40 ? n.Scalar().substr(0, 40) + "..." : n.Scalar()) + "'";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing (null)";
  }
}

// What a setting of type T takes, in the words of a message (integers and booleans say it
// as the flags do: whole_number_problem, boolean_problem).
template <class T>
std::string expected_type() {
  if constexpr (std::is_same_v<T, std::string>) {
    return "a string";
  } else {
    static_assert(std::is_same_v<T, std::vector<std::string>>);
    return "a list of strings";
  }
}

// Why `input` is no whole number from `least` to `most`, or nothing, with its value in
// `out`: plain decimal digits (a '-' before them for a signed setting), no leading zero but
// in "0". Flags, variables and the file read integers here alike: CLI11 converts with
// strtoull / strtoll in base 0 and yaml-cpp's as<T>() guesses the base too, which would read
// "010" as 8 and "0x10" as 16, and CLI11 would wrap "-1" round to 2^64-1 for a 64-bit unsigned.
template <class T>
std::string whole_number_problem(const std::string& input, T least, T most, T& out) {
  const std::string range = " from " + std::to_string(least) + " to " + std::to_string(most);
  const bool minus = !input.empty() && input[0] == '-';
  const auto digits = std::string_view(input).substr(minus ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return "must be a whole number" + range + ", got '" + input + "'";
  if (digits.size() > 1 && digits[0] == '0')
    return "must be a whole number" + range + " in decimal, without leading zeros, got '" + input + "'";
  if (minus && std::is_unsigned_v<T>) return "must be at least " + std::to_string(least) + ", got " + input;
  T value{};
  const auto [stop, ec] = std::from_chars(input.data(), input.data() + input.size(), value);
  if (ec == std::errc::result_out_of_range)
    return (minus ? "must be at least " + std::to_string(least) : "must be at most " + std::to_string(most)) +
           ", got " + input;
  if (ec != std::errc{} || stop != input.data() + input.size())
    return "must be a whole number" + range + ", got '" + input + "'";
  if (value < least) return "must be at least " + std::to_string(least) + ", got " + input;
  if (value > most) return "must be at most " + std::to_string(most) + ", got " + input;
  out = value;
  return std::string();
}

// Why `input` is no boolean, or nothing, with its value in `out`: "true" or "false" alone.
// CLI11 would take any integer ("2" as true) and yes / on / enable, yaml-cpp y / yes / on.
std::string boolean_problem(const std::string& input, bool& out) {
  if (input != "true" && input != "false") return "must be true or false, got '" + input + "'";
  out = input == "true";
  return std::string();
}

// A mapping of the file with the dotted name of its place ("kafka"; "" for the top level),
// so that a message can name the key it is about.
struct yaml_section {
  YAML::Node node;  ///< only subscripted const: yaml-cpp's non-const [] would add the key
  std::string name;

  explicit operator bool() const { return static_cast<bool>(node); }

  // The value at `key`; false when absent, and so is everything under it.
  yaml_section operator[](const char* key) const {
    const std::string child = name.empty() ? std::string(key) : name + "." + key;
    if (!node) return {node, child};
    if (!node.IsMap() && !node.IsNull())  // "native: 7000"; a null section ("native:") holds nothing
      throw config_file_error("key '" + name + "': expected a mapping of keys, got " + shown(node) +
                              where_in_file(node));
    return {node[key], child};
  }
};

// The value the section gives at `key` (false when absent). A key given nothing ("key:" or
// "key: ~") is refused: yaml-cpp would read a string setting as the word "null".
yaml_section given(const yaml_section& section, const char* key) {
  auto value = section[key];
  if (value && value.node.IsNull())
    throw config_file_error("key '" + value.name + "' needs a value" + where_in_file(value.node));
  return value;
}

// Sets `out`, an integer setting, when the section gives `key`, refused as the flags refuse
// it (whole_number_problem) but named with its key and place.
template <class T>
void read_whole_number(const yaml_section& section, const char* key, T& out, std::type_identity_t<T> least,
                       std::type_identity_t<T> most) {
  const auto value = given(section, key);
  if (!value) return;
  const auto problem =
      value.node.IsScalar()
          ? whole_number_problem(value.node.Scalar(), least, most, out)
          : "must be a whole number from " + std::to_string(least) + " to " + std::to_string(most) + ", got " +
                shown(value.node);
  if (!problem.empty()) throw config_file_error("key '" + value.name + "': " + problem + where_in_file(value.node));
}

// Sets `out` when the section gives `key`. Every setting of the file is converted here, so a
// value of another type is refused naming its key and line.
template <class T>
void read(const yaml_section& section, const char* key, T& out) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    read_whole_number(section, key, out, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  } else {
    const auto value = given(section, key);
    if (!value) return;
    if constexpr (std::is_same_v<T, bool>) {
      const auto problem = value.node.IsScalar() ? boolean_problem(value.node.Scalar(), out)
                                                 : "must be true or false, got " + shown(value.node);
      if (!problem.empty())
        throw config_file_error("key '" + value.name + "': " + problem + where_in_file(value.node));
    } else {
      try {
        out = value.node.as<T>();
      } catch (const YAML::BadConversion&) {
        throw config_file_error("key '" + value.name + "': expected " + expected_type<T>() + ", got " +
                                shown(value.node) + where_in_file(value.node));
      }
    }
  }
}

void read_listener(const yaml_section& listener, listener_config& l) {
  read(listener, "host", l.host);
  read(listener, "port", l.port);
}

// The file's text. Read here rather than by yaml-cpp from a stream: a read that fails midway
// (a directory: "Is a directory") would throw std::ios_failure through yaml-cpp, which then
// leaks its buffer, and out of the broker uncaught.
std::string read_config_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw config_file_unreadable(std::strerror(errno));
  std::string text;
  char chunk[16384];
  for (;;) {
    const auto n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      text.append(chunk, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      const int error = n < 0 ? errno : 0;
      ::close(fd);
      if (error != 0) throw config_file_unreadable(std::strerror(error));
      return text;
    }
  }
}

// The file's one YAML document, a mapping of keys (null when the file holds no settings:
// empty, or comments only).
YAML::Node load_settings_document(const std::string& path) {
  const auto documents = YAML::LoadAll(read_config_text(path));
  if (documents.empty()) return YAML::Node();
  const auto& root = documents.front();
  // A list, or a TOML file ("[native]" reads as a sequence), would otherwise give no setting
  // at all and the broker would run on its defaults.
  if (!root.IsMap() && !root.IsNull())
    throw config_file_error("the top level must be a mapping of keys (key: value lines), got " + shown(root) +
                            where_in_file(root));
  // Settings are read from one document: those of any other would be dropped unread. An
  // empty one (a trailing '---', as templating tools write) drops nothing.
  for (std::size_t i = 1; i < documents.size(); ++i)
    if (!documents[i].IsNull())
      throw config_file_error("it holds more than one YAML document (another starts after '---'" +
                              (documents[i].Mark().is_null() ? std::string() : ", at " + position(documents[i].Mark())) +
                              "); put every setting in one document");
  return root;
}

// yaml-cpp keeps every pair of a mapping and answers [] with the first, so a key given twice
// would leave its later value silently unread. A key must be a name: a sequence or mapping as
// a key names no setting.
void refuse_repeated_keys(const YAML::Node& node, const std::string& name, int depth) {
  // No setting lies deeper than kafka.listeners[].tls.cert_file (depth 4); below that only
  // keys refused as unknown could be, and an alias can make a node its own descendant.
  if (depth > 8) return;
  if (node.IsSequence()) {
    for (const auto& item : node) refuse_repeated_keys(item, name, depth + 1);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Mark> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar())
      throw config_file_error("a key" + (name.empty() ? std::string() : " in '" + name + "'") +
                              " must be a name, got " + shown(kv.first) + where_in_file(kv.first));
    const auto key = name.empty() ? kv.first.Scalar() : name + "." + kv.first.Scalar();
    if (const auto [earlier, fresh] = seen.emplace(kv.first.Scalar(), kv.first.Mark()); !fresh)
      throw config_file_error("key '" + key + "' is given twice (" + position(earlier->second) + " and " +
                              position(kv.first.Mark()) + ")");
    refuse_repeated_keys(kv.second, key, depth + 1);
  }
}

// Keys a section may hold besides which a key is a misspelling.
void refuse_unknown_keys(const yaml_section& section, std::initializer_list<std::string_view> known) {
  if (!section || !section.node.IsMap()) return;  // anything else is refused when its keys are read
  for (const auto& kv : section.node)
    if (std::find(known.begin(), known.end(), kv.first.Scalar()) == known.end())
      throw config_file_error("unknown key(s): " + section.name + "." + kv.first.Scalar());
}

// The keys a config file may hold: a misspelt key must not silently leave a default in
// place. Sections (native, http, kafka, groups) list their own keys.
const std::map<std::string, std::set<std::string>>& known_yaml_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"native", {"host", "port", "security_protocol", "tls"}},
      {"http", {"host", "port", "security_protocol", "tls", "allowed_hosts"}},
      {"kafka", {"host", "port", "advertised_host", "security_protocol", "tls", "listeners"}},
      {"security", {"sasl_mechanisms", "super_users", "admin_user", "authorization",
                    "allow_everyone_if_no_acl", "sasl_session_lifetime_ms",
                    "max_failed_authentications_per_minute", "http_open_probes"}},
      {"groups", {"initial_rebalance_delay_ms", "min_session_timeout_ms", "max_session_timeout_ms",
                  "max_size"}},
      {"cluster", {"node_id", "lease_ms", "renew_ms", "advertised_host"}},
      {"store", {}}, {"store_timeout_ms", {}}, {"storage_writers", {}}, {"storage_readers", {}}, {"max_frame_bytes", {}}, {"max_connections", {}},
      {"max_connections_per_address", {}}, {"request_timeout_ms", {}},
      {"connections_max_idle_ms", {}}, {"max_inflight_bytes_per_connection", {}},
      {"max_inflight_requests_per_connection", {}}, {"max_queued_output_bytes_per_connection", {}},
      {"max_inflight_bytes_per_broker", {}},
      {"max_decompressed_bytes_per_request", {}}, {"http_max_request_bytes", {}},
      {"auto_create_topics_max_per_request", {}}, {"auto_create_topics_max_per_minute", {}},
      {"default_partitions", {}}, {"auto_create_topics", {}}, {"storage_codec", {}},
      {"storage_compression", {}}, {"log_level", {}}, {"producer_id_expiration_ms", {}},
      {"log_retention_ms", {}}, {"log_retention_bytes", {}}, {"log_retention_check_interval_ms", {}},
      {"offsets_retention_ms", {}},
      {"memory_store_max_bytes", {}}, {"partition_tail_budget_bytes", {}}, {"partition_idle_ms", {}},
      {"metrics_max_topics", {}}, {"metrics_max_partitions", {}},
  };
  return keys;
}

// Every key of `root` that known_yaml_keys() does not name ("kafka.adverstised_host").
std::vector<std::string> unknown_yaml_keys(const YAML::Node& root) {
  std::vector<std::string> unknown;
  if (!root.IsMap()) return unknown;  // null: the file holds no settings
  const auto& known = known_yaml_keys();
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    const auto it = known.find(key);
    if (it == known.end()) {
      unknown.push_back(key);
    } else if (!it->second.empty() && kv.second.IsMap()) {
      for (const auto& sub : kv.second)
        if (!it->second.count(sub.first.as<std::string>()))
          unknown.push_back(key + "." + sub.first.as<std::string>());
    }
  }
  return unknown;
}

// Settings given as words and resolved after every source is read.
struct security_words {
  bool sasl_mechanisms_given = false;  ///< by the file, a flag or the environment
  std::string kafka_protocol = "PLAINTEXT";
  std::string native_protocol = "PLAINTEXT";
  std::string http_protocol = "PLAINTEXT";
  std::string authorization = "auto";
  // Per listener (native, kafka, http): none, requested or required.
  std::string client_auth[3] = {"none", "none", "none"};
  // More Kafka listeners: YAML kafka.listeners or --kafka-listener.
  struct kafka_listener {
    std::string name;
    std::string protocol = "PLAINTEXT";
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string advertised_host;
    std::uint16_t advertised_port = 0;
    bool own_tls = false;  ///< its own tls: section; otherwise the first Kafka listener's files
    tls_config tls;
    std::string client_auth = "none";
  };
  std::vector<kafka_listener> kafka_listeners;
  std::vector<std::string> kafka_listener_specs;  ///< --kafka-listener
};

// "host:port" or "[v6]:port".
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    const auto p = std::stoul(s.substr(colon + 1));
    if (p > 65535 || s.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

// The IPv6 address `host` holds in brackets ("[::1]": ::1), or nothing when it is not one.
std::optional<std::string> unbracketed_ipv6(const std::string& host) {
  if (host.size() < 2 || !host.starts_with('[') || !host.ends_with(']')) return std::nullopt;
  auto inside = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  boost::asio::ip::make_address_v6(inside, ec);
  if (ec) return std::nullopt;
  return inside;
}

// Why an advertised host is not one, or nothing: clients are told it as a host, so
// "host:port" ([v6]:port too) would reach them whole, with the listener's own port beside it.
std::optional<std::string> advertised_host_problem(const std::string& what, const std::string& host) {
  std::string h;
  std::uint16_t port = 0;
  const bool one_colon = host.find(':') != std::string::npos && host.find(':') == host.rfind(':');
  if ((one_colon || host.starts_with('[')) && split_host_port(host, h, port))
    return what + " '" + host + "' names a port: give the host alone (a Kafka listener " +
           "advertised at another port is --kafka-listener NAME,PROTOCOL,HOST:PORT,ADVERTISED_HOST:PORT)";
  if (host.starts_with('[') && !unbracketed_ipv6(host))
    return what + " '" + host + "' is in brackets but no IPv6 address (brackets are for IPv6 addresses only)";
  return std::nullopt;
}

// Sets `host`, an advertised host that passed advertised_host_problem, to what clients are
// told: an IPv6 address without brackets ("[::1]" is ::1), as Kafka's Metadata names it; where
// a port follows it (advertised.listeners, /api/cluster) they are written again
// (to_string(host_port)), and kept here they would be written twice.
void unbracket_advertised_host(std::string& host) {
  if (auto address = unbracketed_ipv6(host)) host = std::move(*address);
}

// Whether `host` is an address that stands for every address, however it is written: read as
// getaddrinfo reads a numeric host, as the listener's bind (listen_address) and a client's
// connect read it, "0", "0.0", "::0" and "0:0::0" are 0.0.0.0 or ::, and ::ffff:0.0.0.0 binds
// every IPv4 address. A host name is no wildcard: it is told to clients as written, for them to
// resolve, and it is not looked up here (a SIGHUP reload reads the settings through here, and
// must not wait on, or fail with, a resolver).
bool any_address(const std::string& host) {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto found =
      resolver.resolve(host, "0", ip::resolver_base::numeric_host | ip::resolver_base::numeric_service, ec);
  if (ec || found.empty()) return false;
  const auto address = found.begin()->endpoint().address();
  return address.is_unspecified() ||
         (address.is_v6() && address.to_v6() == ip::make_address_v6(ip::v4_mapped, ip::address_v4::any()));
}

// --kafka-listener NAME,PROTOCOL,HOST:PORT[,ADVERTISED_HOST:PORT]
std::optional<std::string> parse_kafka_listener(const std::string& spec, security_words::kafka_listener& l) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= spec.size(); ++i)
    if (i == spec.size() || spec[i] == ',') {
      parts.push_back(spec.substr(start, i - start));
      start = i + 1;
    }
  const std::string form = " (NAME,PROTOCOL,HOST:PORT[,ADVERTISED_HOST:PORT])";
  if (parts.size() < 3 || parts.size() > 4) return "Kafka listener '" + spec + "' is not of the form" + form;
  l.name = parts[0];
  l.protocol = parts[1];
  if (!split_host_port(parts[2], l.host, l.port)) return "Kafka listener '" + spec + "': bad HOST:PORT" + form;
  if (parts.size() == 4 && !split_host_port(parts[3], l.advertised_host, l.advertised_port))
    return "Kafka listener '" + spec + "': bad ADVERTISED_HOST:PORT" + form;
  return std::nullopt;
}

// "User:a;User:b", "User:a, User:b" and "User:CN=a,O=b" alike: entries are split at ';' and
// at a ',' that starts another "User:", spaces after it allowed (a certificate subject holds
// commas of its own); spaces around an entry are dropped, so both separators read alike. A
// ',' after an odd number of '\' is a value's own, escaped as Java writes it
// ("User:CN=Ops\, User:svc" is one entry).
std::vector<std::string> split_principals(const std::vector<std::string>& given) {
  static constexpr std::string_view blanks = " \t";
  auto starts_entry = [](std::string_view rest) {
    const auto first = rest.find_first_not_of(blanks);
    return first != std::string_view::npos && rest.substr(first).starts_with("User:");
  };
  auto escaped = [](std::string_view text, std::size_t i) {
    std::size_t backslashes = 0;
    while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
    return backslashes % 2 == 1;
  };
  std::vector<std::string> out;
  for (const auto& g : given) {
    const std::string_view text(g);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      const bool end = i == text.size() || text[i] == ';' ||
                       (text[i] == ',' && !escaped(text, i) && starts_entry(text.substr(i + 1)));
      if (!end) continue;
      auto piece = text.substr(start, i - start);
      const auto first = piece.find_first_not_of(blanks);
      if (first != std::string_view::npos)
        out.emplace_back(piece.substr(first, piece.find_last_not_of(blanks) - first + 1));
      start = i + 1;
    }
  }
  return out;
}

// An attribute Kafka's certificate principals (Java's X500Principal.getName()) never write by
// name, as OpenSSL names it, and what Java writes instead: a super user copied from OpenSSL's
// form of a subject never matches.
struct foreign_keyword {
  std::string_view openssl;
  std::string_view java;
};
constexpr foreign_keyword foreign_keywords[] = {
    {"emailAddress", "1.2.840.113549.1.9.1=#<hex of its DER value>"},
    {"serialNumber", "2.5.4.5=#<hex of its DER value>"},
    {"SN", "2.5.4.4=#<hex of its DER value>"},
    {"GN", "2.5.4.42=#<hex of its DER value>"},
    {"title", "2.5.4.12=#<hex of its DER value>"},
    {"postalCode", "2.5.4.17=#<hex of its DER value>"},
    {"street", "STREET=<value>"},
};

// The first attribute of `subject` (a principal's name) that Java never writes by name, or
// none. An attribute starts the name or follows a ',' or '+' that no '\' escapes.
const foreign_keyword* foreign_attribute(std::string_view subject) {
  bool starts_attribute = true;
  bool escaped = false;
  for (std::size_t i = 0; i < subject.size(); ++i) {
    const char ch = subject[i];
    if (starts_attribute && ch != ' ') {
      starts_attribute = false;
      const auto rest = subject.substr(i);
      for (const auto& k : foreign_keywords)
        if (rest.starts_with(k.openssl) && rest.substr(k.openssl.size()).starts_with('=')) return &k;
    }
    if (escaped)
      escaped = false;
    else if (ch == '\\')
      escaped = true;
    else if (ch == ',' || ch == '+')
      starts_attribute = true;
  }
  return nullptr;
}

// A listener's `tls:` section: cert_file, key_file, ca_file, client_auth.
void read_tls(const yaml_section& listener, listener_config& l, std::string& client_auth) {
  const auto t = listener["tls"];
  if (!t) return;
  refuse_unknown_keys(t, {"cert_file", "key_file", "ca_file", "client_auth"});
  read(t, "cert_file", l.tls.certificate_file);
  read(t, "key_file", l.tls.key_file);
  read(t, "ca_file", l.tls.ca_file);
  read(t, "client_auth", client_auth);
}

// YAML layout mirrors broker_config (see docs/configuration in README.md).
// Returns whether the file sets store_timeout_ms (which the memory store refuses even at
// its default value: a setting given must act).
bool apply_yaml(const std::string& path, broker_config& c, security_words& security) {
  const YAML::Node document = load_settings_document(path);
  refuse_repeated_keys(document, "", 0);
  if (auto unknown = unknown_yaml_keys(document); !unknown.empty()) {
    std::string names;
    for (const auto& k : unknown) names += (names.empty() ? "" : ", ") + k;
    throw config_file_error("unknown key(s): " + names);
  }
  const yaml_section root{document, ""};
  read_listener(root["native"], c.native);
  read_listener(root["http"], c.http);
  read_listener(root["kafka"], c.kafka);
  read(root["kafka"], "advertised_host", c.kafka_advertised_host);
  read(root["kafka"], "security_protocol", security.kafka_protocol);
  read(root["native"], "security_protocol", security.native_protocol);
  read(root["http"], "security_protocol", security.http_protocol);
  read(root["http"], "allowed_hosts", c.http_allowed_hosts);
  read_tls(root["native"], c.native, security.client_auth[0]);
  read_tls(root["kafka"], c.kafka, security.client_auth[1]);
  read_tls(root["http"], c.http, security.client_auth[2]);
  if (const auto listeners = root["kafka"]["listeners"]) {
    if (!listeners.node.IsSequence() && !listeners.node.IsNull())
      throw config_file_error("key '" + listeners.name + "': expected a list of listeners, got " +
                              shown(listeners.node) + where_in_file(listeners.node));
    for (const auto& entry : listeners.node) {
      // Named without its index: the line in a message tells which entry.
      const yaml_section n{entry, listeners.name};
      refuse_unknown_keys(n, {"name", "security_protocol", "host", "port", "advertised_host", "advertised_port", "tls"});
      security_words::kafka_listener l;
      read(n, "name", l.name);
      read(n, "security_protocol", l.protocol);
      read(n, "host", l.host);
      read(n, "port", l.port);
      read(n, "advertised_host", l.advertised_host);
      read(n, "advertised_port", l.advertised_port);
      if (n["tls"]) {
        listener_config tmp;
        read_tls(n, tmp, l.client_auth);
        l.tls = tmp.tls;
        l.own_tls = true;
      }
      security.kafka_listeners.push_back(std::move(l));
    }
  }
  if (const auto s = root["security"]) {
    security.sasl_mechanisms_given = static_cast<bool>(s["sasl_mechanisms"]);
    read(s, "sasl_mechanisms", c.security.sasl_mechanisms);
    read(s, "super_users", c.security.super_users);
    read(s, "admin_user", c.security.admin_user);
    read(s, "authorization", security.authorization);
    read(s, "allow_everyone_if_no_acl", c.security.allow_everyone_if_no_acl);
    read(s, "sasl_session_lifetime_ms", c.security.sasl_session_lifetime_ms);
    read(s, "max_failed_authentications_per_minute", c.security.max_failed_authentications_per_minute);
    read(s, "http_open_probes", c.security.http_open_probes);
  }
  read(root, "store", c.store);
  read(root, "store_timeout_ms", c.store_timeout_ms);
  read(root, "storage_writers", c.storage_writers);
  read(root, "storage_readers", c.storage_readers);
  read(root, "max_frame_bytes", c.max_frame_bytes);
  read(root, "max_connections", c.max_connections);
  read(root, "max_connections_per_address", c.max_connections_per_address);
  read(root, "request_timeout_ms", c.request_timeout_ms);
  read(root, "connections_max_idle_ms", c.connections_max_idle_ms);
  read(root, "max_inflight_bytes_per_connection", c.max_inflight_bytes_per_connection);
  read(root, "max_inflight_requests_per_connection", c.max_inflight_requests_per_connection);
  read(root, "max_queued_output_bytes_per_connection", c.max_queued_output_bytes_per_connection);
  read(root, "max_inflight_bytes_per_broker", c.max_inflight_bytes_per_broker);
  read(root, "max_decompressed_bytes_per_request", c.max_decompressed_bytes_per_request);
  read(root, "http_max_request_bytes", c.http_max_request_bytes);
  read(root, "auto_create_topics_max_per_request", c.auto_create_topics_max_per_request);
  read(root, "auto_create_topics_max_per_minute", c.auto_create_topics_max_per_minute);
  read(root, "default_partitions", c.default_partitions);
  read(root, "auto_create_topics", c.auto_create_topics);
  read(root, "storage_codec", c.storage_codec);
  read(root, "storage_compression", c.storage_compression);
  read(root, "log_level", c.log_level);
  read(root, "producer_id_expiration_ms", c.producer_id_expiration_ms);
  read(root, "log_retention_ms", c.log_retention_ms);
  read(root, "log_retention_bytes", c.log_retention_bytes);
  read(root, "log_retention_check_interval_ms", c.log_retention_check_interval_ms);
  read(root, "offsets_retention_ms", c.offsets_retention_ms);
  read(root, "memory_store_max_bytes", c.memory_store_max_bytes);
  read(root, "partition_tail_budget_bytes", c.partition_tail_budget_bytes);
  read(root, "partition_idle_ms", c.partition_idle_ms);
  read(root, "metrics_max_topics", c.metrics_max_topics);
  read(root, "metrics_max_partitions", c.metrics_max_partitions);
  if (const auto k = root["cluster"]) {
    read_whole_number(k, "node_id", c.cluster.node_id, -1, largest_node_id);
    read(k, "lease_ms", c.cluster.lease_ms);
    read(k, "renew_ms", c.cluster.renew_ms);
    read(k, "advertised_host", c.cluster.advertised_host);
  }
  if (const auto g = root["groups"]) {
    read(g, "initial_rebalance_delay_ms", c.group_initial_rebalance_delay_ms);
    read(g, "min_session_timeout_ms", c.group_min_session_timeout_ms);
    read(g, "max_session_timeout_ms", c.group_max_session_timeout_ms);
    read(g, "max_size", c.group_max_size);
  }
  return static_cast<bool>(root["store_timeout_ms"]);
}

}  // namespace

// Kafka's security protocol names: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (HTTP: PLAINTEXT
// or SSL). TLS files are checked here, so a bad one stops the broker with its reason.
std::optional<std::string> apply_listener_security(const std::string& name, const std::string& word,
                                                   listener_config& listener, const std::string& auth, bool http,
                                                   bool files_may_be_for_others = false) {
  if (word == "PLAINTEXT" || word == "SSL" || (!http && (word == "SASL_PLAINTEXT" || word == "SASL_SSL"))) {
    listener.sasl = word.starts_with("SASL_");
    listener.tls.enabled = word.ends_with("SSL");
  } else {
    return "unknown " + name + " security protocol '" + word + "' (" +
           (http ? "PLAINTEXT or SSL" : "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL") + ")";
  }
  // A switched-off listener secures nothing, and its SASL or client certificates would still
  // turn authorization on for the listeners that are there.
  if (!listener.enabled && word != "PLAINTEXT")
    return name + " security protocol " + word + " is given but the " + name +
           " listener is switched off (port 0)";
  if (auth == "none") listener.tls.client_auth = tls_client_auth::none;
  else if (auth == "requested") listener.tls.client_auth = tls_client_auth::requested;
  else if (auth == "required") listener.tls.client_auth = tls_client_auth::required;
  else return name + " TLS client auth must be none, requested or required, got '" + auth + "'";
  const auto& t = listener.tls;
  if (!t.enabled) {
    if (!files_may_be_for_others &&
        (!t.certificate_file.empty() || !t.key_file.empty() || !t.ca_file.empty() ||
         t.client_auth != tls_client_auth::none))
      return name + " TLS settings are given but its security protocol is " + word + " (use SSL or SASL_SSL)";
    return std::nullopt;
  }
  if (!listener.enabled) return std::nullopt;  // switched off (port 0): nothing to load
  if (auto why = tls_server_context(name, t).reload()) return name + " listener TLS: " + *why;
  return std::nullopt;
}

namespace {

// Whether any Kafka listener (the first or another) authenticates with SASL.
bool speaks_kafka_sasl(const broker_config& c) {
  return c.kafka.sasl || std::any_of(c.kafka_listeners.begin(), c.kafka_listeners.end(),
                                     [](const auto& l) { return l.listener.sasl; });
}

}  // namespace

std::optional<std::string> apply_security(broker_config& c, security_words& w) {
  for (auto [name, word, listener, auth] :
       {std::tuple{"native", &w.native_protocol, &c.native, &w.client_auth[0]},
        std::tuple{"kafka", &w.kafka_protocol, &c.kafka, &w.client_auth[1]},
        std::tuple{"http", &w.http_protocol, &c.http, &w.client_auth[2]}})
    // The first Kafka listener's files also serve the other Kafka listeners (checked below).
    if (auto why = apply_listener_security(name, *word, *listener, *auth, std::string_view(name) == "http",
                                           std::string_view(name) == "kafka"))
      return why;
  // Kafka's default listener name is its security protocol's.
  c.kafka_listener_name = w.kafka_protocol;
  for (const auto& spec : w.kafka_listener_specs) {
    security_words::kafka_listener l;
    if (auto why = parse_kafka_listener(spec, l)) return why;
    w.kafka_listeners.push_back(std::move(l));
  }
  std::set<std::string> names;
  if (c.kafka.enabled) names.insert(c.kafka_listener_name);
  for (auto& l : w.kafka_listeners) {
    if (l.name.empty() || l.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
                              std::string::npos)
      return "Kafka listener name '" + l.name + "' must be letters, digits, '_' or '-'";
    if (!names.insert(l.name).second)
      return "Kafka listener name '" + l.name + "' is used twice (the first Kafka listener is named after its "
             "security protocol, " + c.kafka_listener_name + ")";
    if (l.port == 0) return "Kafka listener " + l.name + " needs a port";
    if (auto why = advertised_host_problem("Kafka listener " + l.name + " advertised_host", l.advertised_host))
      return why;
    unbracket_advertised_host(l.advertised_host);
    if (any_address(l.advertised_host))
      return "Kafka listener " + l.name + " advertised_host " + l.advertised_host +
             " is no address a client can connect to";
    if (l.advertised_host.empty() && any_address(l.host))
      return "Kafka listener " + l.name + " binds " + l.host + ": it needs an advertised host clients can reach";
    kafka_listener_config k;
    k.name = l.name;
    k.listener.host = l.host;
    k.listener.port = l.port;
    // Without a tls: section of its own it uses the first Kafka listener's files.
    k.listener.tls = l.own_tls ? l.tls : c.kafka.tls;
    const auto auth = l.own_tls ? l.client_auth : w.client_auth[1];
    k.advertised_host = l.advertised_host;
    k.advertised_port = l.advertised_port;
    if (auto why = apply_listener_security("kafka listener " + l.name, l.protocol, k.listener, auth, false, !l.own_tls))
      return why;
    c.kafka_listeners.push_back(std::move(k));
  }
  {
    const auto& t = c.kafka.tls;
    const bool files_given = !t.certificate_file.empty() || !t.key_file.empty() || !t.ca_file.empty() ||
                             w.client_auth[1] != "none";
    bool used = t.enabled;
    for (std::size_t i = 0; i < w.kafka_listeners.size(); ++i)
      used = used || (!w.kafka_listeners[i].own_tls && c.kafka_listeners[i].listener.tls.enabled);
    if (files_given && !used)
      return "kafka TLS settings are given but no Kafka listener uses TLS (security protocol SSL or SASL_SSL)";
  }
  for (const auto& m : c.security.sasl_mechanisms)
    if (m != "PLAIN" && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512")
      return "unknown SASL mechanism '" + m + "' (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)";
  bool any_sasl = c.kafka.sasl || c.native.sasl;
  // Clients that must show a certificate are authenticated as well.
  auto requires_certificate = [](const listener_config& l) {
    return l.tls.enabled && l.tls.client_auth == tls_client_auth::required;
  };
  bool any_authenticated = any_sasl || requires_certificate(c.kafka) || requires_certificate(c.native);
  for (const auto& l : c.kafka_listeners) {
    any_sasl = any_sasl || l.listener.sasl;
    any_authenticated = any_authenticated || l.listener.sasl || requires_certificate(l.listener);
  }
  if (any_sasl && c.security.sasl_mechanisms.empty()) return "a SASL listener needs at least one sasl_mechanisms entry";
  c.security.super_users = split_principals(c.security.super_users);
  for (const auto& u : c.security.super_users)
    if (!u.starts_with("User:") || u.size() == 5) return "super user '" + u + "' is not of the form User:<name>";
  // Allowed (a SASL user may be so named), but most likely a subject in OpenSSL's form.
  for (const auto& u : c.security.super_users)
    if (const auto* k = foreign_attribute(std::string_view(u).substr(5)))
      logging::security().warn(
          "super user '{}' names attribute {}, which Kafka's certificate principals never write: a client "
          "certificate's principal has {} in its place (the exact text is on the client's denial lines; "
          "docs/security.md, TLS)",
          u, k->openssl, k->java);
  if (const char* pw = std::getenv("PORTASK_ADMIN_PASSWORD")) c.security.admin_password = pw;
  if (!c.security.admin_user.empty() && c.security.admin_password.empty())
    return "admin user '" + c.security.admin_user + "' needs its password in PORTASK_ADMIN_PASSWORD";
  for (const auto& h : c.http_allowed_hosts)
    if (h.empty() || h.find_first_of(":/ []@") != std::string::npos)
      return "http allowed host '" + h + "' is not a host name (no port, scheme or brackets; * for any)";
  if (!c.http_allowed_hosts.empty() && !c.http.enabled)
    return "http allowed_hosts are given but the http listener is switched off (port 0)";
  if (w.authorization == "auto") c.security.authorization = any_authenticated;
  else if (w.authorization == "on") c.security.authorization = true;
  else if (w.authorization == "off") c.security.authorization = false;
  else return "authorization must be auto, on or off, got '" + w.authorization + "'";
  if (c.security.max_failed_authentications_per_minute == 0)
    return "max_failed_authentications_per_minute must be positive";
  if (!c.security.http_open_probes && !c.security.authorization)
    return "http_open_probes false needs authorization on (no one could be admitted otherwise)";
  // Settings that act only where ACLs are checked or SASL is spoken: refused elsewhere
  // rather than kept and unused.
  if (!c.security.authorization && !c.security.super_users.empty())
    return "super_users need authorization on: no ACL is checked without it (--authorization on, "
           "or a SASL listener with authorization auto)";
  if (!c.security.authorization && c.security.allow_everyone_if_no_acl)
    return "allow_everyone_if_no_acl needs authorization on: without it every request is allowed "
           "already";
  const bool kafka_sasl = speaks_kafka_sasl(c);
  if (c.security.sasl_session_lifetime_ms != 0 && !kafka_sasl)
    return "sasl_session_lifetime_ms applies to Kafka SASL listeners (re-authentication, KIP-368), "
           "and none is configured";
  if (!any_sasl && w.sasl_mechanisms_given)
    return "sasl_mechanisms are given but no listener speaks SASL";
  return std::nullopt;
}

namespace {

// The check of every integer flag and variable bound to a `T`, from `least` to `most`, in the
// words of whole_number_problem (which the file's integers are read with too).
template <class T>
CLI::Validator whole_number(const T&, std::type_identity_t<T> least = std::numeric_limits<T>::min(),
                            std::type_identity_t<T> most = std::numeric_limits<T>::max()) {
  return CLI::Validator(
      [least, most](std::string& input) -> std::string {
        T ignored{};
        return whole_number_problem(input, least, most, ignored);
      },
      least > 0 ? "POSITIVE" : "");
}

// The check of every boolean flag and variable: true or false (boolean_problem).
CLI::Validator boolean_word() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        bool ignored = false;
        return boolean_problem(input, ignored);
      },
      "");
}

// Every listener the broker binds, named as the settings that give its host.
std::vector<std::pair<std::string, const listener_config*>> bound_listeners(const broker_config& c) {
  std::vector<std::pair<std::string, const listener_config*>> listeners{{"--host (native.host)", &c.native}};
  if (c.http.enabled) listeners.emplace_back("--http-host (http.host)", &c.http);
  if (c.kafka.enabled) listeners.emplace_back("--kafka-host (kafka.host)", &c.kafka);
  for (const auto& l : c.kafka_listeners) listeners.emplace_back("Kafka listener " + l.name + " host", &l.listener);
  return listeners;
}

// Why a listener's host is empty, or nothing. An empty host is none: every address is 0.0.0.0
// or ::.
std::optional<std::string> empty_listener_host(const broker_config& c) {
  for (const auto& [what, listener] : bound_listeners(c))
    if (listener->host.empty())
      return what + " is empty: give an address (0.0.0.0 or :: for every address) or a host name";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> listener_host_problem(const broker_config& c) {
  for (const auto& [what, listener] : bound_listeners(c)) {
    boost::system::error_code ec;
    listen_address(listener->host, ec);
    if (ec) return what + " '" + listener->host + "' does not resolve: " + ec.message();
  }
  return std::nullopt;
}

std::variant<broker_config, config_request_exit> load_config(int argc, char** argv) {
  broker_config c;
  security_words security;
  const std::string path = find_config_path(argc, argv);
  bool store_timeout_given = false;
  if (!path.empty()) {
    try {
      store_timeout_given = apply_yaml(path, c, security);
    } catch (const config_file_error& e) {
      std::cerr << "portask: config file " << path << ": " << e.what() << "\n";
      return config_request_exit{2};
    } catch (const config_file_unreadable& e) {
      std::cerr << "portask: cannot read config file " << path << ": " << e.what() << "\n";
      return config_request_exit{2};
    } catch (const YAML::Exception& e) {
      std::cerr << "portask: cannot read config file " << path << ": " << e.what() << "\n";
      return config_request_exit{2};
    }
  }

  CLI::App app{"Portask message broker: native Portask protocol and Kafka wire protocol, "
               "stored in Dragonfly/Redis or in memory"};
  app.set_version_flag("--version", std::string("portask ") + version_string);
  std::string config_path = path;
  app.add_option("-c,--config", config_path, "YAML config file")->envname("PORTASK_CONFIG");
  app.add_option("--store", c.store,
                 "'memory' (embedded, default) or redis://host:port for Dragonfly/Redis")
      ->envname("PORTASK_STORE");
  auto* store_timeout = app.add_option("--store-timeout-ms", c.store_timeout_ms,
                                       "bound on every Dragonfly/Redis round trip; past it the "
                                       "call fails (retriable). Not with the memory store")
                           ->envname("PORTASK_STORE_TIMEOUT_MS")
                           ->check(whole_number(c.store_timeout_ms));
  app.add_option("--storage-writers", c.storage_writers,
                 "storage writer actors, each a thread with its own store connection (1-64)")
      ->envname("PORTASK_STORAGE_WRITERS")
      ->check(whole_number(c.storage_writers));
  app.add_option("--storage-readers", c.storage_readers,
                 "storage reader actors, each a thread with its own store connection (1-64)")
      ->envname("PORTASK_STORAGE_READERS")
      ->check(whole_number(c.storage_readers));
  app.add_option("--host", c.native.host, "native listener address (an IP address, or a host name: its first address)")
      ->envname("PORTASK_HOST");
  app.add_option("--port", c.native.port, "native protocol port")
      ->envname("PORTASK_PORT")
      ->check(whole_number(c.native.port));
  app.add_option("--http-host", c.http.host, "HTTP (metrics, health) address or host name")
      ->envname("PORTASK_HTTP_HOST");
  app.add_option("--http-port", c.http.port, "HTTP port (0 disables)")
      ->envname("PORTASK_HTTP_PORT")
      ->check(whole_number(c.http.port));
  app.add_option("--kafka-host", c.kafka.host, "Kafka listener address or host name")
      ->envname("PORTASK_KAFKA_HOST");
  app.add_option("--kafka-port", c.kafka.port, "Kafka port (0 disables)")
      ->envname("PORTASK_KAFKA_PORT")
      ->check(whole_number(c.kafka.port));
  app.add_option("--kafka-advertised-host", c.kafka_advertised_host,
                 "host Kafka clients are told to connect to (default: --kafka-host; needed when "
                 "that is 0.0.0.0 or ::)")
      ->envname("PORTASK_KAFKA_ADVERTISED_HOST");
  app.add_option("--node-id", c.cluster.node_id,
                 "join a cluster of nodes sharing the store as this node id (Kafka broker id; "
                 "-1: a single node, the default)")
      ->envname("PORTASK_NODE_ID")
      ->check(whole_number(c.cluster.node_id, -1, largest_node_id));
  app.add_option("--cluster-lease-ms", c.cluster.lease_ms,
                 "how long a node's partitions stay its own after its last lease renewal")
      ->envname("PORTASK_CLUSTER_LEASE_MS")
      ->check(whole_number(c.cluster.lease_ms, 100, 600000));
  app.add_option("--cluster-renew-ms", c.cluster.renew_ms, "how often a node renews its leases")
      ->envname("PORTASK_CLUSTER_RENEW_MS")
      ->check(whole_number(c.cluster.renew_ms, 20, 300000));
  app.add_option("--advertised-host", c.cluster.advertised_host,
                 "host other nodes' clients are told to reach this node's native and HTTP "
                 "listeners at (default: the listener's host)")
      ->envname("PORTASK_ADVERTISED_HOST");
  app.add_option("--max-frame-bytes", c.max_frame_bytes, "largest accepted frame payload")
      ->envname("PORTASK_MAX_FRAME_BYTES")
      ->check(whole_number(c.max_frame_bytes));
  app.add_option("--max-connections", c.max_connections, "connection limit per listener")
      ->envname("PORTASK_MAX_CONNECTIONS")
      ->check(whole_number(c.max_connections));
  app.add_option("--max-connections-per-address", c.max_connections_per_address,
                 "connection limit per client address on each listener (0: only the listener's)")
      ->envname("PORTASK_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(whole_number(c.max_connections_per_address));
  app.add_option("--request-timeout-ms", c.request_timeout_ms,
                 "a frame or HTTP request must be complete this long after its first byte "
                 "(0: no limit)")
      ->envname("PORTASK_REQUEST_TIMEOUT_MS")
      ->check(whole_number(c.request_timeout_ms));
  app.add_option("--connections-max-idle-ms", c.connections_max_idle_ms,
                 "close connections idle this long (0: never)")
      ->envname("PORTASK_CONNECTIONS_MAX_IDLE_MS")
      ->check(whole_number(c.connections_max_idle_ms));
  app.add_option("--max-inflight-bytes", c.max_inflight_bytes_per_connection,
                 "bytes of unanswered requests per connection before reads pause")
      ->envname("PORTASK_MAX_INFLIGHT_BYTES")
      ->check(whole_number(c.max_inflight_bytes_per_connection, 1));
  app.add_option("--max-inflight-requests", c.max_inflight_requests_per_connection,
                 "unanswered requests per connection before reads pause")
      ->envname("PORTASK_MAX_INFLIGHT_REQUESTS")
      ->check(whole_number(c.max_inflight_requests_per_connection, 1));
  app.add_option("--max-queued-output-bytes", c.max_queued_output_bytes_per_connection,
                 "bytes queued for one connection's socket before it takes no new request and "
                 "pushes pause")
      ->envname("PORTASK_MAX_QUEUED_OUTPUT_BYTES")
      ->check(whole_number(c.max_queued_output_bytes_per_connection, 1));
  app.add_option("--max-inflight-bytes-per-broker", c.max_inflight_bytes_per_broker,
                 "bytes of unanswered requests on all native and Kafka connections together "
                 "before connections holding some pause reading (-1: unbounded; at least "
                 "max_frame_bytes)")
      ->envname("PORTASK_MAX_INFLIGHT_BYTES_PER_BROKER")
      ->check(whole_number(c.max_inflight_bytes_per_broker));
  app.add_option("--max-decompressed-bytes-per-request", c.max_decompressed_bytes_per_request,
                 "total decompressed size of one Produce request")
      ->envname("PORTASK_MAX_DECOMPRESSED_BYTES_PER_REQUEST")
      ->check(whole_number(c.max_decompressed_bytes_per_request, 1));
  app.add_option("--http-max-request-bytes", c.http_max_request_bytes,
                 "largest HTTP request header and body")
      ->envname("PORTASK_HTTP_MAX_REQUEST_BYTES")
      ->check(whole_number(c.http_max_request_bytes, 1));
  app.add_option("--http-allowed-hosts", c.http_allowed_hosts,
                 "host names the console and API answer to besides IP addresses, localhost and the "
                 "listeners' and advertised hosts (comma-separated; * for any; guards against DNS rebinding)")
      ->delimiter(',')
      ->envname("PORTASK_HTTP_ALLOWED_HOSTS");
  app.add_option("--auto-create-topics-max-per-request", c.auto_create_topics_max_per_request,
                 "topics one request may auto-create")
      ->envname("PORTASK_AUTO_CREATE_TOPICS_MAX_PER_REQUEST")
      ->check(whole_number(c.auto_create_topics_max_per_request));
  app.add_option("--auto-create-topics-max-per-minute", c.auto_create_topics_max_per_minute,
                 "topics the broker may auto-create per minute")
      ->envname("PORTASK_AUTO_CREATE_TOPICS_MAX_PER_MINUTE")
      ->check(whole_number(c.auto_create_topics_max_per_minute));
  app.add_option("--default-partitions", c.default_partitions,
                 "partitions of an auto-created topic")
      ->envname("PORTASK_DEFAULT_PARTITIONS")
      ->check(whole_number(c.default_partitions));
  app.add_option("--auto-create-topics", c.auto_create_topics, "create unknown topics on use")
      ->envname("PORTASK_AUTO_CREATE_TOPICS")
      ->check(boolean_word());
  app.add_option("--storage-codec", c.storage_codec, "binary, json, cbor or msgpack")
      ->envname("PORTASK_STORAGE_CODEC");
  app.add_option("--storage-compression", c.storage_compression,
                 "none, gzip, snappy, lz4 or zstd")
      ->envname("PORTASK_STORAGE_COMPRESSION");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("PORTASK_LOG_LEVEL");
  app.add_option("--group-initial-rebalance-delay-ms", c.group_initial_rebalance_delay_ms,
                 "how long a new group waits for more members before its first generation")
      ->envname("PORTASK_GROUP_INITIAL_REBALANCE_DELAY_MS")
      ->check(whole_number(c.group_initial_rebalance_delay_ms));
  app.add_option("--group-min-session-timeout-ms", c.group_min_session_timeout_ms,
                 "smallest session timeout a group member may ask for")
      ->envname("PORTASK_GROUP_MIN_SESSION_TIMEOUT_MS")
      ->check(whole_number(c.group_min_session_timeout_ms));
  app.add_option("--group-max-session-timeout-ms", c.group_max_session_timeout_ms,
                 "largest session timeout a group member may ask for")
      ->envname("PORTASK_GROUP_MAX_SESSION_TIMEOUT_MS")
      ->check(whole_number(c.group_max_session_timeout_ms));
  app.add_option("--group-max-size", c.group_max_size,
                 "members a consumer group takes at most (Kafka's group.max.size)")
      ->envname("PORTASK_GROUP_MAX_SIZE")
      ->check(whole_number(c.group_max_size));
  app.add_option("--producer-id-expiration-ms", c.producer_id_expiration_ms,
                 "idle time after which a partition forgets an idempotent producer")
      ->envname("PORTASK_PRODUCER_ID_EXPIRATION_MS")
      ->check(whole_number(c.producer_id_expiration_ms, 1));
  app.add_option("--log-retention-ms", c.log_retention_ms,
                 "default retention by age for topics without retention.ms (-1: unlimited)")
      ->envname("PORTASK_LOG_RETENTION_MS")
      ->check(whole_number(c.log_retention_ms));
  app.add_option("--log-retention-bytes", c.log_retention_bytes,
                 "default retention by size per partition for topics without retention.bytes "
                 "(negative: unlimited)")
      ->envname("PORTASK_LOG_RETENTION_BYTES")
      ->check(whole_number(c.log_retention_bytes));
  app.add_option("--log-retention-check-interval-ms", c.log_retention_check_interval_ms,
                 "how often retention looks for batches to delete")
      ->envname("PORTASK_LOG_RETENTION_CHECK_INTERVAL_MS")
      ->check(whole_number(c.log_retention_check_interval_ms, 1));
  app.add_option("--offsets-retention-ms", c.offsets_retention_ms,
                 "how long a group without members keeps its committed offsets after their "
                 "commit and its last member's leaving (-1: for ever)")
      ->envname("PORTASK_OFFSETS_RETENTION_MS")
      ->check(whole_number(c.offsets_retention_ms));
  app.add_option("--memory-store-max-bytes", c.memory_store_max_bytes,
                 "bytes the memory store holds at most (0: half the machine's memory)")
      ->envname("PORTASK_MEMORY_STORE_MAX_BYTES")
      ->check(whole_number(c.memory_store_max_bytes));
  app.add_option("--partition-tail-budget-bytes", c.partition_tail_budget_bytes,
                 "bytes all partitions' in-memory tails may hold together")
      ->envname("PORTASK_PARTITION_TAIL_BUDGET_BYTES")
      ->check(whole_number(c.partition_tail_budget_bytes, 1));
  app.add_option("--partition-idle-ms", c.partition_idle_ms,
                 "an unused partition stops after this long and restarts on demand (0: never)")
      ->envname("PORTASK_PARTITION_IDLE_MS")
      ->check(whole_number(c.partition_idle_ms));
  app.add_option("--metrics-max-topics", c.metrics_max_topics,
                 "topics (and groups) with their own /metrics series at most")
      ->envname("PORTASK_METRICS_MAX_TOPICS")
      ->check(whole_number(c.metrics_max_topics));
  app.add_option("--metrics-max-partitions", c.metrics_max_partitions,
                 "partitions (and group partitions) with their own /metrics series at most")
      ->envname("PORTASK_METRICS_MAX_PARTITIONS")
      ->check(whole_number(c.metrics_max_partitions));
  app.add_option("--kafka-security-protocol", security.kafka_protocol,
                 "PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL: with SASL clients "
                 "authenticate before anything else")
      ->envname("PORTASK_KAFKA_SECURITY_PROTOCOL");
  app.add_option("--native-security-protocol", security.native_protocol,
                 "PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL for the native listener")
      ->envname("PORTASK_NATIVE_SECURITY_PROTOCOL");
  app.add_option("--kafka-listener", security.kafka_listener_specs,
                 "another Kafka listener: NAME,PROTOCOL,HOST:PORT[,ADVERTISED_HOST:PORT] (repeatable; "
                 "TLS ones use the --kafka-tls-* files); Metadata answers each client with the "
                 "listener it came in on");
  app.add_option("--http-security-protocol", security.http_protocol,
                 "PLAINTEXT, or SSL: the HTTP listener serves HTTPS only")
      ->envname("PORTASK_HTTP_SECURITY_PROTOCOL");
  // TLS files per listener (PEM; read again on SIGHUP).
  for (auto [name, listener, auth] : {std::tuple{"native", &c.native, &security.client_auth[0]},
                                      std::tuple{"kafka", &c.kafka, &security.client_auth[1]},
                                      std::tuple{"http", &c.http, &security.client_auth[2]}}) {
    const std::string flag = std::string("--") + name + "-tls-";
    std::string env = std::string("PORTASK_") + name + "_TLS_";
    for (auto& ch : env) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    app.add_option(flag + "cert-file", listener->tls.certificate_file,
                   std::string(name) + " listener's certificate chain (PEM)")
        ->envname(env + "CERT_FILE");
    app.add_option(flag + "key-file", listener->tls.key_file, std::string(name) + " listener's private key (PEM)")
        ->envname(env + "KEY_FILE");
    app.add_option(flag + "ca-file", listener->tls.ca_file,
                   std::string(name) + " listener's CAs for client certificates (PEM)")
        ->envname(env + "CA_FILE");
    app.add_option(flag + "client-auth", *auth,
                   std::string(name) + " listener asks clients for a certificate: none, requested, required")
        ->envname(env + "CLIENT_AUTH");
  }
  auto* mechanisms = app.add_option("--sasl-mechanisms", c.security.sasl_mechanisms,
                                    "what SASL listeners offer: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (comma-separated)")
                         ->delimiter(',')
                         ->envname("PORTASK_SASL_MECHANISMS");
  app.add_option("--super-users", c.security.super_users,
                 "principals every ACL check allows (User:name; separated by ';' as in Kafka, or "
                 "by ',' before each User:, since certificate subjects hold commas)")
      ->envname("PORTASK_SUPER_USERS");
  app.add_option("--admin-user", c.security.admin_user,
                 "a super user created at start when the store has no credentials for it; its "
                 "password comes from PORTASK_ADMIN_PASSWORD")
      ->envname("PORTASK_ADMIN_USER");
  app.add_option("--authorization", security.authorization,
                 "check ACLs on every request: on, off, or auto (on with a SASL listener)")
      ->envname("PORTASK_AUTHORIZATION");
  app.add_option("--allow-everyone-if-no-acl", c.security.allow_everyone_if_no_acl,
                 "a resource no ACL names is open to everyone")
      ->envname("PORTASK_ALLOW_EVERYONE_IF_NO_ACL")
      ->check(boolean_word());
  app.add_option("--sasl-session-lifetime-ms", c.security.sasl_session_lifetime_ms,
                 "Kafka sessions must re-authenticate within this long (0: never)")
      ->envname("PORTASK_SASL_SESSION_LIFETIME_MS")
      ->check(whole_number(c.security.sasl_session_lifetime_ms));
  app.add_option("--http-open-probes", c.security.http_open_probes,
                 "/health and /metrics answer anyone (false: only super users, like the rest of HTTP)")
      ->envname("PORTASK_HTTP_OPEN_PROBES")
      ->check(boolean_word());
  app.add_option("--max-failed-authentications-per-minute",
                 c.security.max_failed_authentications_per_minute,
                 "failed authentications per client address and minute before further attempts "
                 "fail at once")
      ->envname("PORTASK_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE")
      ->check(whole_number(c.security.max_failed_authentications_per_minute));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help or version (its code 0), or the error; every error is a
    // configuration error, with the one exit status of the others (not CLI11's own codes).
    const int code = app.exit(e);
    return config_request_exit{code == 0 ? 0 : 2};
  }
  // The YAML file was read before the flags were parsed (they override it), from the path
  // find_config_path saw; a spelling it does not know (-cFILE) would be taken and ignored.
  if (config_path != path) {
    std::cerr << "portask: give the config file as -c FILE, --config FILE or --config=FILE\n";
    return config_request_exit{2};
  }
  // For the executable (flags, environment, YAML alike) port 0 switches these two off.
  c.http.enabled = c.http.port != 0;
  c.kafka.enabled = c.kafka.port != 0;
  security.sasl_mechanisms_given = security.sasl_mechanisms_given || mechanisms->count() > 0;
  if (auto why = apply_security(c, security)) {
    std::cerr << "portask: " << *why << "\n";
    return config_request_exit{2};
  }
  if (auto why = empty_listener_host(c)) {
    std::cerr << "portask: " << *why << "\n";
    return config_request_exit{2};
  }
  if (spdlog::level::from_str(c.log_level) == spdlog::level::off && c.log_level != "off") {
    std::cerr << "portask: unknown log level '" << c.log_level
              << "' (trace, debug, info, warn, error, critical or off)\n";
    return config_request_exit{2};
  }
  if (!protocol::parse_codec(c.storage_codec)) {
    std::cerr << "portask: unknown storage codec '" << c.storage_codec << "'\n";
    return config_request_exit{2};
  }
  if (!protocol::parse_compression(c.storage_compression)) {
    std::cerr << "portask: unknown storage compression '" << c.storage_compression << "'\n";
    return config_request_exit{2};
  }
  if (c.store_timeout_ms == 0) {
    std::cerr << "portask: store_timeout_ms must be positive\n";
    return config_request_exit{2};
  }
  for (const auto& [name, value] : {std::pair<const char*, std::uint32_t>{"storage_writers", c.storage_writers},
                                    {"storage_readers", c.storage_readers}}) {
    if (value < 1 || value > 64) {
      std::cerr << "portask: " << name << " must be between 1 and 64 (got " << value << ")\n";
      return config_request_exit{2};
    }
  }
  // The flags check these; a YAML file can still set them to 0, which would stop every
  // connection (or refuse every client) instead of limiting it.
  for (const auto& [name, value] :
       {std::pair<const char*, std::uint64_t>{"max_connections", c.max_connections},
        {"max_frame_bytes", c.max_frame_bytes},
        {"max_inflight_bytes_per_connection", c.max_inflight_bytes_per_connection},
        {"max_inflight_requests_per_connection", c.max_inflight_requests_per_connection},
        {"max_queued_output_bytes_per_connection", c.max_queued_output_bytes_per_connection},
        {"max_decompressed_bytes_per_request", c.max_decompressed_bytes_per_request},
        {"http_max_request_bytes", c.http_max_request_bytes},
        {"log_retention_check_interval_ms", c.log_retention_check_interval_ms},
        {"partition_tail_budget_bytes", c.partition_tail_budget_bytes},
        // auto_create_topics: false is how auto-creation is switched off, not a cap of 0.
        {"auto_create_topics_max_per_request", c.auto_create_topics_max_per_request},
        {"auto_create_topics_max_per_minute", c.auto_create_topics_max_per_minute}}) {
    if (value == 0) {
      std::cerr << "portask: " << name << " must be positive\n";
      return config_request_exit{2};
    }
  }
  // Below one request the budget would be spent by any large one, and every other
  // connection held to one request at a time; 0 is no budget at all, not "unbounded".
  if (c.max_inflight_bytes_per_broker != -1 &&
      c.max_inflight_bytes_per_broker < static_cast<std::int64_t>(c.max_frame_bytes)) {
    std::cerr << "portask: max_inflight_bytes_per_broker must be -1 (unbounded) or at least "
                 "max_frame_bytes ("
              << c.max_frame_bytes << "), so that the largest request fits (got "
              << c.max_inflight_bytes_per_broker << ")\n";
    return config_request_exit{2};
  }
  if (auto problem = partition_count_problem(c.default_partitions)) {
    std::cerr << "portask: default_partitions: " << *problem << "\n";
    return config_request_exit{2};
  }
  // A member's session timeout must fall between the two (Kafka's int32 field), or every
  // JoinGroup would be refused.
  if (c.group_min_session_timeout_ms > c.group_max_session_timeout_ms ||
      c.group_max_session_timeout_ms > 2147483647u) {
    std::cerr << "portask: group session timeouts must satisfy min (" << c.group_min_session_timeout_ms
              << ") <= max (" << c.group_max_session_timeout_ms << ") <= 2147483647 ms\n";
    return config_request_exit{2};
  }
  if (c.group_max_size < 1 || c.group_max_size > 2147483647u) {
    std::cerr << "portask: group_max_size must be between 1 and 2147483647\n";
    return config_request_exit{2};
  }
  if (c.producer_id_expiration_ms <= 0) {
    std::cerr << "portask: producer_id_expiration_ms must be positive\n";
    return config_request_exit{2};
  }
  // Any negative log_retention_bytes is unlimited, as Kafka's log.retention.bytes (no lower
  // bound there either).
  if (c.log_retention_ms < -1) {
    std::cerr << "portask: log_retention_ms must be -1 (unlimited) or at least 0\n";
    return config_request_exit{2};
  }
  if (c.offsets_retention_ms == 0 || c.offsets_retention_ms < -1) {
    std::cerr << "portask: offsets_retention_ms must be -1 (kept for ever) or positive\n";
    return config_request_exit{2};
  }
  if (c.memory_store_max_bytes != 0 && c.store != "memory") {
    std::cerr << "portask: memory_store_max_bytes applies to the memory store only (the store "
                 "is "
              << storage::url_without_credentials(c.store) << ")\n";
    return config_request_exit{2};
  }
  for (const auto& [what, host] : {std::pair<std::string, std::string&>{"kafka_advertised_host", c.kafka_advertised_host},
                                   {"advertised_host", c.cluster.advertised_host}}) {
    if (auto why = advertised_host_problem(what, host)) {
      std::cerr << "portask: " << *why << "\n";
      return config_request_exit{2};
    }
    unbracket_advertised_host(host);
  }
  // Clients are told the advertised host and connect to it: a wildcard is no address to
  // connect to, and none given is the listener's host (as Kafka's advertised.listeners
  // defaults to its listeners), itself a wildcard here.
  if (c.kafka.enabled && any_address(c.kafka_advertised_host)) {
    std::cerr << "portask: kafka_advertised_host " << c.kafka_advertised_host
              << " is no address a client can connect to\n";
    return config_request_exit{2};
  }
  if (c.kafka.enabled && c.kafka_advertised_host.empty() && any_address(c.kafka.host)) {
    std::cerr << "portask: the Kafka listener binds " << c.kafka.host
              << ": it needs an advertised host clients can reach (--kafka-advertised-host)\n";
    return config_request_exit{2};
  }
  // The memory store makes no round trips, so there would be nothing for the timeout to
  // bound: given at all (even at its default), it is refused rather than reported and unused.
  if (c.store == "memory" && (store_timeout_given || store_timeout->count() > 0)) {
    std::cerr << "portask: store_timeout_ms bounds round trips to a Dragonfly/Redis store; the "
                 "memory store makes none (leave it unset, or use --store redis://host:port)\n";
    return config_request_exit{2};
  }
  if (c.cluster.enabled()) {
    if (c.store == "memory") {
      std::cerr << "portask: a cluster node (node_id " << c.cluster.node_id
                << ") needs the store every node shares: --store redis://host:port (the memory "
                   "store is this process's alone)\n";
      return config_request_exit{2};
    }
    if (c.cluster.advertised_host.empty() &&
        (any_address(c.native.host) || (c.http.enabled && any_address(c.http.host)))) {
      std::cerr << "portask: a cluster node listening on a wildcard address needs --advertised-host "
                   "(the host other nodes' clients reach its native and HTTP listeners at)\n";
      return config_request_exit{2};
    }
    // Other nodes hand this node's Kafka address to clients on other hosts: a listener bound
    // beyond loopback that advertises loopback would send them to their own machine.
    auto loopback = [](const std::string& h) { return h == "localhost" || h == "::1" || h.starts_with("127."); };
    if (c.kafka.enabled && !loopback(c.kafka.host) && loopback(c.kafka_advertised_host)) {
      std::cerr << "portask: a cluster node's Kafka listener on " << c.kafka.host
                << " would advertise " << c.kafka_advertised_host
                << " to clients: set --kafka-advertised-host (the host clients reach it at)\n";
      return config_request_exit{2};
    }
    // The flags' ranges, for a config file's values too.
    if (c.cluster.renew_ms < 20 || c.cluster.renew_ms > 300000) {
      std::cerr << "portask: cluster renew_ms must be 20 to 300000\n";
      return config_request_exit{2};
    }
    if (c.cluster.lease_ms < 100 || c.cluster.lease_ms > 600000) {
      std::cerr << "portask: cluster lease_ms must be 100 to 600000\n";
      return config_request_exit{2};
    }
    if (std::uint64_t{c.cluster.renew_ms} * 2 > c.cluster.lease_ms) {
      std::cerr << "portask: cluster renew_ms (" << c.cluster.renew_ms
                << ") must be at most half of lease_ms (" << c.cluster.lease_ms
                << "), or leases expire between renewals\n";
      return config_request_exit{2};
    }
  } else if (const cluster_config defaults; c.cluster.lease_ms != defaults.lease_ms ||
                                            c.cluster.renew_ms != defaults.renew_ms ||
                                            !c.cluster.advertised_host.empty()) {
    // Only a cluster node uses them: a single node would otherwise take them and do nothing
    // (Kafka clients are told kafka_advertised_host, not advertised_host).
    std::cerr << "portask: cluster lease_ms, renew_ms and advertised_host apply to a cluster "
                 "node only (--node-id); a single node's Kafka listeners advertise "
                 "--kafka-advertised-host\n";
    return config_request_exit{2};
  }
  if (c.store != "memory" && !c.store.starts_with("redis://") && !c.store.starts_with("rediss://") &&
      !c.store.starts_with("dragonfly://")) {
    std::cerr << "portask: --store must be 'memory', redis://host:port, dragonfly://host:port or "
                 "rediss://host:port, got '"
              << storage::url_without_credentials(c.store)
              << "'\n";
    return config_request_exit{2};
  }
  // Checked here, not when the store is opened: a URL that cannot work is a configuration
  // error (exit status 2), found before anything starts.
  if (c.store != "memory" && !storage::parse_redis_url(c.store)) {
    std::cerr << "portask: cannot parse the store URL '" << storage::url_without_credentials(c.store)
              << "' (redis://[[user]:password@]host[:port][/db]; rediss:// may add "
                 "?tls_ca_file=F&tls_cert_file=F&tls_key_file=F&tls_server_name=N)\n";
    return config_request_exit{2};
  }
  return c;
}

std::string describe(const broker_config& c) {
  std::ostringstream s;
  s << "native " << c.native.host << ":" << c.native.port << ", http " << c.http.host << ":"
    << c.http.port << ", kafka " << c.kafka.host << ":" << c.kafka.port << " (advertised "
    << (c.kafka_advertised_host.empty() ? c.kafka.host : c.kafka_advertised_host) << "), store "
    << storage::url_without_credentials(c.store) << " ("
    << (c.store == "memory" ? std::string() : "timeout " + std::to_string(c.store_timeout_ms) + " ms, ")
    << c.storage_writers << " writers, " << c.storage_readers
    << " readers), producer id expiration " << c.producer_id_expiration_ms
    << " ms, storage encoding "
    << c.storage_codec << "/" << c.storage_compression << ", max frame " << c.max_frame_bytes
    << " B; topics: " << c.default_partitions << " partitions by default, auto-create "
    << (c.auto_create_topics ? "on" : "off") << "; groups: initial rebalance delay "
    << c.group_initial_rebalance_delay_ms << " ms, session timeouts "
    << c.group_min_session_timeout_ms << "-" << c.group_max_session_timeout_ms
    << " ms, at most " << c.group_max_size << " members; log level " << c.log_level << "; metrics series for at most "
    << c.metrics_max_topics << " topics and " << c.metrics_max_partitions << " partitions";
  if (c.cluster.enabled())
    s << "; cluster node " << c.cluster.node_id << " (leases " << c.cluster.lease_ms
      << " ms, renewed every " << c.cluster.renew_ms << " ms)";
  else
    s << "; single node";
  return s.str();
}

std::string describe_limits(const broker_config& c) {
  std::ostringstream s;
  auto ms = [](std::uint32_t v) { return v == 0 ? std::string("off") : std::to_string(v) + " ms"; };
  s << "max connections: " << c.max_connections << " per listener, "
    << (c.max_connections_per_address == 0 ? std::string("no separate cap")
                                           : std::to_string(c.max_connections_per_address))
    << " per address; request timeout " << ms(c.request_timeout_ms) << ", idle timeout "
    << ms(c.connections_max_idle_ms) << "; per connection: " << c.max_inflight_requests_per_connection
    << " requests / " << c.max_inflight_bytes_per_connection << " B in flight, "
    << c.max_queued_output_bytes_per_connection << " B queued output; all connections "
    << (c.max_inflight_bytes_per_broker < 0 ? std::string("unbounded")
                                            : std::to_string(c.max_inflight_bytes_per_broker) + " B")
    << " in flight; produce request "
    << c.max_decompressed_bytes_per_request << " B decompressed; http request "
    << c.http_max_request_bytes << " B; auto-create: " << c.auto_create_topics_max_per_request
    << " topics per request, " << c.auto_create_topics_max_per_minute << " per minute";
  return s.str();
}

std::string describe_lifecycle(const broker_config& c) {
  std::ostringstream s;
  auto limit = [](std::int64_t v, const char* unit) {
    return v < 0 ? std::string("unlimited") : std::to_string(v) + unit;
  };
  s << "retention: " << limit(c.log_retention_ms, " ms") << " / "
    << limit(c.log_retention_bytes, " B per partition") << " by default, checked every "
    << c.log_retention_check_interval_ms << " ms; committed offsets of groups without members "
    << (c.offsets_retention_ms < 0 ? std::string("kept for ever")
                                   : "kept " + std::to_string(c.offsets_retention_ms) + " ms")
    << "; memory store "
    << (c.store != "memory" ? std::string("unused")
                            : c.memory_store_max_bytes == 0
                                  ? std::string("at most half the memory")
                                  : "at most " + std::to_string(c.memory_store_max_bytes) + " B")
    << "; partition tails " << c.partition_tail_budget_bytes << " B together; idle partitions "
    << (c.partition_idle_ms == 0 ? std::string("kept")
                                 : "stop after " + std::to_string(c.partition_idle_ms) + " ms");
  return s.str();
}

namespace {

// Each quoted: a certificate subject holds commas of its own, and "; " and ", " separate the
// startup line's settings (which SIGHUP compares one by one).
std::string quoted_list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "'" : ", '") + x + "'";
  return out.empty() ? std::string("none") : out;
}

}  // namespace

std::string describe_security(const broker_config& c) {
  std::ostringstream s;
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out.empty() ? std::string("none") : out;
  };
  auto protocol = [](const listener_config& l) {
    std::string p = l.sasl ? (l.tls.enabled ? "SASL_SSL" : "SASL_PLAINTEXT") : (l.tls.enabled ? "SSL" : "PLAINTEXT");
    if (l.tls.enabled && l.tls.client_auth != tls_client_auth::none)
      p += l.tls.client_auth == tls_client_auth::required ? " (client certificate required)"
                                                          : " (client certificate requested)";
    return p;
  };
  s << "kafka " << protocol(c.kafka);
  for (const auto& l : c.kafka_listeners)
    s << ", kafka listener " << l.name << " " << protocol(l.listener) << " on " << l.listener.host << ":"
      << l.listener.port << " (advertised "
      << to_string(host_port{l.advertised_host.empty() ? l.listener.host : l.advertised_host,
                             l.advertised_port ? l.advertised_port : l.listener.port})
      << ")";
  s << ", native " << protocol(c.native) << ", http " << (c.http.tls.enabled ? "HTTPS" : "HTTP");
  // Only what acts is reported: mechanisms and session lifetimes where SASL is spoken, the
  // ACL defaults and super users where ACLs are checked.
  const bool kafka_sasl = speaks_kafka_sasl(c);
  if (kafka_sasl || c.native.sasl) {
    s << "; SASL mechanisms " << list(c.security.sasl_mechanisms);
    if (kafka_sasl)
      s << ", Kafka session lifetime "
        << (c.security.sasl_session_lifetime_ms == 0 ? std::string("unlimited")
                                                     : std::to_string(c.security.sasl_session_lifetime_ms) + " ms");
    s << ", " << c.security.max_failed_authentications_per_minute
      << " failed authentications per address and minute";
  } else {
    s << "; no SASL listener";
  }
  if (c.security.authorization)
    s << "; authorization on (no-ACL resources " << (c.security.allow_everyone_if_no_acl ? "open" : "denied")
      << "), super users " << quoted_list(c.security.super_users);
  else
    s << "; authorization off (every request allowed)";
  if (!c.security.admin_user.empty()) s << "; admin user " << c.security.admin_user;
  s << "; HTTP probes " << (c.security.http_open_probes ? "open" : "for super users only");
  return s.str();
}

}  // namespace portask
