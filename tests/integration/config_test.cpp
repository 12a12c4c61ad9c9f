// The server's configuration, as a user writes it: a misspelt YAML key, an unknown log level
// or a setting the broker cannot honour stops it at startup with a message naming it, instead
// of leaving a default silently in place.
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "server_process.hpp"
#include "tls_files.hpp"

namespace portask::test {
namespace {

std::pair<int, std::string> start_with(const std::string& args) {
  // Bounded: a broker that wrongly accepted the setting would run until killed.
  return run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " " + args +
                   " --port 0 --kafka-port 0 --http-port 0 2>&1");
}

TEST(ServerConfig, UnknownYamlKeysAreRefusedByName) {
  temp_dir dir;
  const auto path = dir.path() + "/portask.yaml";
  {
    std::ofstream yaml(path);
    yaml << "max_conections: 10\nkafka: {host: 127.0.0.1, adverstised_host: example}\n"
            "groups: {min_session_timeout_ms: 1000}\n";
  }
  auto [rc, out] = start_with("--config " + path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("max_conections"), std::string::npos) << out;
  EXPECT_NE(out.find("kafka.adverstised_host"), std::string::npos) << out;
  EXPECT_EQ(out.find("groups."), std::string::npos) << "known section keys pass: " << out;
}

TEST(ServerConfig, AnUnknownLogLevelIsRefusedRatherThanSilencingTheLog) {
  auto [rc, out] = start_with("--log-level verbose");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown log level 'verbose'"), std::string::npos) << out;
}

TEST(ServerConfig, APortInUseIsNamedAsTheReasonItCannotStart) {
  std::string taken, out;
  int rc = 0;
  {
    const loopback_listener held;
    taken = std::to_string(held.port);
    std::tie(rc, out) = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " --port " + taken +
                                  " --kafka-port 0 --http-port 0 2>&1");
  }
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("native listener: cannot listen on 127.0.0.1:" + taken), std::string::npos) << out;
  EXPECT_NE(out.find("cannot start: Address already in use"), std::string::npos) << out;
}

// Accepted means done: a lifecycle setting the broker cannot honour stops it at startup
// with a message naming the setting, before it binds anything.
TEST(ServerConfig, LifecycleSettingsTheBrokerCannotHonourAreRefused) {
  temp_dir dir;
  struct refusal {
    std::string args;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--log-retention-ms -5", "log_retention_ms must be -1"},
      {"--store redis://127.0.0.1:1 --memory-store-max-bytes 1048576",
       "memory_store_max_bytes applies to the memory store only"},
      // Given at all, even at its default value, or through the file.
      {"--store-timeout-ms 30000", "store_timeout_ms bounds round trips to a Dragonfly/Redis store"},
      {"--store-timeout-ms 5000", "store_timeout_ms bounds round trips to a Dragonfly/Redis store"},
      {"--config " + dir.path() + "/timeout.yaml", "store_timeout_ms bounds round trips to a Dragonfly/Redis store"},
      {"--log-retention-check-interval-ms 0", "log-retention-check-interval-ms"},
      {"--partition-tail-budget-bytes 0", "partition-tail-budget-bytes"},
      {"--storage-writers 0", "storage_writers must be between 1 and 64"},
      {"--storage-readers 65", "storage_readers must be between 1 and 64"},
      {"--config " + dir.path() + "/bad.yaml", "log_retention_ms must be -1"},
      {"--default-partitions 0", "default_partitions: number of partitions must be at least 1"},
      {"--default-partitions 10001", "default_partitions: number of partitions must be at most 10000"},
      {"--offsets-retention-ms 0", "offsets_retention_ms must be -1 (kept for ever) or positive"},
      {"--offsets-retention-ms -2", "offsets_retention_ms must be -1 (kept for ever) or positive"},
      {"--group-min-session-timeout-ms 9000 --group-max-session-timeout-ms 8000",
       "group session timeouts must satisfy min (9000) <= max (8000)"},
      {"--group-max-session-timeout-ms 3000000000", "<= 2147483647 ms"},
      {"--group-max-size 0", "group_max_size must be between 1 and 2147483647"},
      {"--group-max-size 3000000000", "group_max_size must be between 1 and 2147483647"},
      // Settings only a cluster node uses are refused on a single node, not left idle.
      {"--advertised-host 10.0.0.5", "apply to a cluster node only"},
      {"--cluster-lease-ms 9000", "apply to a cluster node only"},
      // A cluster node's native and HTTP listeners advertise their hosts: a wildcard, however
      // written, is none.
      {"--node-id 1 --store redis://127.0.0.1:1 --host ::0", "a cluster node listening on a wildcard address"},
      {"--node-id 1 --store redis://127.0.0.1:1 --host 0", "a cluster node listening on a wildcard address"},
      // An advertised host is told to clients as a host: a port in it would reach them whole.
      {"--kafka-advertised-host localhost:19092", "kafka_advertised_host 'localhost:19092' names a port"},
      {"--kafka-advertised-host [::1]:19092", "names a port"},
      // The flags' ranges hold for the file's values (renew_ms * 2 wrapped past lease_ms).
      {"--store redis://127.0.0.1:1 --config " + dir.path() + "/cluster.yaml", "renew_ms must be 20 to 300000"},
      // A store URL that parses but could never be used: refused at startup, not retried for ever.
      {"--store redis://127.0.0.1:0", "cannot parse the store URL 'redis://127.0.0.1:0'"},
      {"--store redis://127.0.0.1:6379/-1", "cannot parse the store URL 'redis://127.0.0.1:6379/-1'"},
  };
  {
    std::ofstream yaml(dir.path() + "/cluster.yaml");
    yaml << "cluster:\n  node_id: 1\n  lease_ms: 3000\n  renew_ms: 2147484148\n";
  }
  {
    std::ofstream yaml(dir.path() + "/bad.yaml");
    yaml << "log_retention_ms: -3\n";
  }
  {
    std::ofstream yaml(dir.path() + "/timeout.yaml");
    yaml << "store: memory\nstore_timeout_ms: 5000\n";
  }
  for (const auto& c : cases) {
    auto [rc, out] = start_with(c.args);
    EXPECT_NE(rc, 0) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
  }
  // A cluster node's Kafka address goes to clients on other hosts: a listener beyond
  // loopback that advertises loopback is refused (start_with turns the Kafka listener off).
  auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                             " --node-id 1 --store redis://127.0.0.1:1 --kafka-host 0.0.0.0 --kafka-port 19092"
                             " --kafka-advertised-host 127.0.0.1 --advertised-host 10.0.0.5 --port 0"
                             " --http-port 0 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("would advertise 127.0.0.1 to clients"), std::string::npos) << out;
}

// The broker-wide request budget must hold the largest request (or be -1, unbounded): below
// it, any large request would spend the whole budget. 0 is refused, not taken as unbounded.
TEST(ServerConfig, ARequestBudgetSmallerThanTheLargestRequestIsRefused) {
  temp_dir dir;
  {
    std::ofstream yaml(dir.path() + "/budget.yaml");
    yaml << "max_inflight_bytes_per_broker: 65536\n";
  }
  const std::string says = "max_inflight_bytes_per_broker must be -1 (unbounded) or at least max_frame_bytes";
  for (const auto& [args, frame] : std::vector<std::pair<std::string, std::string>>{
           {"--max-inflight-bytes-per-broker 0", "16777216"},
           {"--max-inflight-bytes-per-broker -2", "16777216"},
           {"--max-frame-bytes 1048576 --max-inflight-bytes-per-broker 1048575", "1048576"},
           {"--config " + dir.path() + "/budget.yaml", "16777216"}}) {
    auto [rc, out] = start_with(args);
    EXPECT_EQ(rc, 2) << args << ": " << out;
    EXPECT_NE(out.find(says + " (" + frame + ")"), std::string::npos) << args << ": " << out;
  }
}

TEST(ServerConfig, SecuritySettingsTheBrokerCannotHonourAreRefused) {
  temp_dir dir;
  struct refusal {
    std::string args;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--native-security-protocol SSL", "native listener TLS: no certificate file"},
      {"--native-security-protocol SASL_SSL --native-tls-cert-file /nonexistent/c.pem --native-tls-key-file /nonexistent/k.pem",
       "cannot use certificate chain '/nonexistent/c.pem'"},
      {"--native-tls-cert-file c.pem", "native TLS settings are given but its security protocol is PLAINTEXT"},
      {"--native-security-protocol SSL --native-tls-client-auth sometimes", "client auth must be none, requested or required"},
      {"--http-security-protocol SASL_SSL", "unknown http security protocol 'SASL_SSL'"},
      {"--http-open-probes false", "http_open_probes false needs authorization on"},
      {"--kafka-security-protocol KERBEROS", "unknown kafka security protocol 'KERBEROS'"},
      {"--kafka-port 9 --kafka-security-protocol SASL_PLAINTEXT --sasl-mechanisms GSSAPI", "unknown SASL mechanism 'GSSAPI'"},
      // Security for a listener that is not there would only turn authorization on elsewhere.
      {"--kafka-security-protocol SASL_SSL", "kafka security protocol SASL_SSL is given but the kafka listener is switched off (port 0)"},
      {"--http-security-protocol SSL", "http security protocol SSL is given but the http listener is switched off (port 0)"},
      {"--super-users bob", "super user 'bob' is not of the form User:<name>"},
      {"--admin-user admin", "needs its password in PORTASK_ADMIN_PASSWORD"},
      {"--authorization maybe", "authorization must be auto, on or off"},
      {"--max-failed-authentications-per-minute 0", "max_failed_authentications_per_minute must be positive"},
      // Settings that only act with ACLs checked or SASL spoken, given without them.
      {"--super-users User:ops", "super_users need authorization on"},
      {"--allow-everyone-if-no-acl true", "allow_everyone_if_no_acl needs authorization on"},
      {"--native-security-protocol SASL_PLAINTEXT --sasl-session-lifetime-ms 60000",
       "sasl_session_lifetime_ms applies to Kafka SASL listeners"},
      {"--sasl-mechanisms PLAIN", "sasl_mechanisms are given but no listener speaks SASL"},
      {"--http-allowed-hosts console.example.com", "http allowed_hosts are given but the http listener is switched off"},
      {"--http-allowed-hosts console.example.com:8080", "http allowed host 'console.example.com:8080' is not a host name"},
      {"--sasl-mechanisms SCRAM-SHA-512,SCRAM-SHA-256", "sasl_mechanisms are given but no listener speaks SASL"},
      {"--config " + dir.path() + "/bad.yaml", "unknown key(s): security.sasl_mechanism"},
  };
  {
    std::ofstream yaml(dir.path() + "/bad.yaml");
    yaml << "security: {sasl_mechanism: PLAIN}\n";
  }
  for (const auto& c : cases) {
    auto [rc, out] = run_shell("env -u PORTASK_ADMIN_PASSWORD timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                               " " + c.args + " --port 0 " +
                               (c.args.find("--kafka-port") == std::string::npos ? "--kafka-port 0 " : "") +
                               "--http-port 0 2>&1");
    EXPECT_EQ(rc, 2) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
  }
}

// Writes `text` to a file in `dir` and returns its path.
std::string config_file(const temp_dir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// A file that yields no settings must not leave the broker on its defaults unnoticed: a list
// or a TOML file (its "[native]" reads as a YAML sequence) is refused. An empty file, or one
// of comments only, sets nothing and is taken (the later unknown log level shows it was).
TEST(ServerConfig, AFileWhoseTopLevelIsNotAMappingIsRefused) {
  temp_dir dir;
  for (const auto& [text, got] : std::vector<std::pair<std::string, std::string>>{
           {"- native\n- kafka\n", "got a sequence (line 1, column 1)"},
           {"[native]\nport = 7000\n", "got a sequence (line 1, column 1)"},
           {"log_level=debug\n", "got 'log_level=debug'"}}) {
    const auto path = config_file(dir, "not_a_mapping.yaml", text);
    auto [rc, out] = start_with("--config " + path);
    EXPECT_EQ(rc, 2) << text << ": " << out;
    EXPECT_NE(out.find("config file " + path + ": the top level must be a mapping of keys (key: value lines), " + got),
              std::string::npos)
        << text << ": " << out;
  }
  for (const char* text : {"", "# nothing set yet\n"}) {
    auto [rc, out] = start_with("--config " + config_file(dir, "empty.yaml", text) + " --log-level verbose");
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("unknown log level 'verbose'"), std::string::npos) << out;
    EXPECT_EQ(out.find("config file"), std::string::npos) << out;
  }
}

// yaml-cpp reads a file's first document alone: the store of a second one would be dropped.
// A document marker before the one document is no second document, and an empty document
// after it (a trailing '---', as templating tools write) drops nothing.
TEST(ServerConfig, AFileWithMoreThanOneYamlDocumentIsRefused) {
  temp_dir dir;
  auto [rc, out] = start_with("--config " + config_file(dir, "two.yaml", "log_level: debug\n---\nstore: redis://127.0.0.1:1\n"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("it holds more than one YAML document (another starts after '---', at line 3, column 1)"),
            std::string::npos)
      << out;
  // Past an empty one, a document that holds something is still refused.
  std::tie(rc, out) = start_with(
      "--config " + config_file(dir, "three.yaml", "log_level: debug\n---\n# nothing\n---\nstore: redis://127.0.0.1:1\n"));
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("it holds more than one YAML document (another starts after '---', at line 5, column 1)"),
            std::string::npos)
      << out;
  // The one document is read: its unknown log level is what stops the broker.
  for (const char* text : {"---\nlog_level: verbose\n", "log_level: verbose\n---\n", "log_level: verbose\n---\n# end\n---\n"}) {
    std::tie(rc, out) = start_with("--config " + config_file(dir, "one.yaml", text));
    EXPECT_EQ(rc, 2) << text << ": " << out;
    EXPECT_NE(out.find("unknown log level 'verbose'"), std::string::npos) << text << ": " << out;
    EXPECT_EQ(out.find("more than one YAML document"), std::string::npos) << text << ": " << out;
  }
}

// yaml-cpp answers a key given twice with its first value: the later one would be silently
// unread. Every mapping is checked, nested ones and Kafka listener entries too.
TEST(ServerConfig, AKeyGivenTwiceIsRefusedByName) {
  temp_dir dir;
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"default_partitions: 3\nlog_level: info\ndefault_partitions: 5\n",
            "key 'default_partitions' is given twice (line 1, column 1 and line 3, column 1)"},
           {"kafka:\n  host: 127.0.0.1\n  host: 0.0.0.0\n",
            "key 'kafka.host' is given twice (line 2, column 3 and line 3, column 3)"},
           {"groups: {max_size: 5, max_size: 6}\n", "key 'groups.max_size' is given twice"},
           {"kafka:\n  listeners:\n    - {name: A, port: 1, name: B}\n", "key 'kafka.listeners.name' is given twice"}}) {
    auto [rc, out] = start_with("--config " + config_file(dir, "twice.yaml", text));
    EXPECT_EQ(rc, 2) << text << ": " << out;
    EXPECT_NE(out.find(says), std::string::npos) << text << ": " << out;
  }
}

// A value the setting's type cannot hold is named by its key and place, not "bad conversion".
TEST(ServerConfig, AValueOfTheWrongTypeIsRefusedNamingItsKey) {
  temp_dir dir;
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"native:\n  port: abc\n",
            "key 'native.port': must be a whole number from 0 to 65535, got 'abc' (line 2, column 9)"},
           {"native:\n  port: 99999\n", "key 'native.port': must be at most 65535, got 99999"},
           {"log_retention_ms: 1.5\n",
            "key 'log_retention_ms': must be a whole number from -9223372036854775808 to "
            "9223372036854775807, got '1.5'"},
           {"max_connections: [1]\n",
            "key 'max_connections': must be a whole number from 0 to 4294967295, got a sequence (line 1, column 18)"},
           // Booleans as the flags take them: true or false, not yaml-cpp's yes / on / y.
           {"auto_create_topics: maybe\n", "key 'auto_create_topics': must be true or false, got 'maybe'"},
           {"auto_create_topics: yes\n", "key 'auto_create_topics': must be true or false, got 'yes'"},
           // Nothing given is no value: yaml-cpp would read a string setting as "null".
           {"log_level: ~\n", "key 'log_level' needs a value (line 1, column 12)"},
           {"max_connections:\n", "key 'max_connections' needs a value"},
           {"security:\n  sasl_mechanisms: PLAIN\n",
            "key 'security.sasl_mechanisms': expected a list of strings, got 'PLAIN' (line 2, column 20)"},
           {"native: 7000\n", "key 'native': expected a mapping of keys, got '7000' (line 1, column 9)"},
           {"kafka:\n  listeners:\n    - {name: A, port: x}\n",
            "key 'kafka.listeners.port': must be a whole number from 0 to 65535, got 'x' (line 3"}}) {
    const auto path = config_file(dir, "typed.yaml", text);
    auto [rc, out] = start_with("--config " + path);
    EXPECT_EQ(rc, 2) << text << ": " << out;
    EXPECT_NE(out.find("config file " + path + ": " + says), std::string::npos) << text << ": " << out;
  }
}

// The file's integers are read as the flags read theirs, in decimal, and refused in the same
// words: yaml-cpp alone would read 010 as 8, 0x10 as 16 and +5 as 5. cluster.node_id has the
// flag's range too.
TEST(ServerConfig, IntegersInTheFileAreReadAsTheFlagsReadThem) {
  temp_dir dir;
  struct refusal {
    std::string yaml;
    std::string key;
    std::string flag;  ///< the flag with the same value
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"max_connections: 010\n", "max_connections", "--max-connections 010",
       "must be a whole number from 0 to 4294967295 in decimal, without leading zeros, got '010'"},
      {"max_connections: 0x10\n", "max_connections", "--max-connections 0x10",
       "must be a whole number from 0 to 4294967295, got '0x10'"},
      {"max_connections: +5\n", "max_connections", "--max-connections +5",
       "must be a whole number from 0 to 4294967295, got '+5'"},
      {"groups: {max_size: 09092}\n", "groups.max_size", "--group-max-size 09092",
       "must be a whole number from 0 to 4294967295 in decimal, without leading zeros, got '09092'"},
      {"cluster: {node_id: 2147483647}\n", "cluster.node_id", "--node-id 2147483647",
       "must be at most 1073741824, got 2147483647"},
  };
  for (const auto& c : cases) {
    const auto path = config_file(dir, "number.yaml", c.yaml);
    auto [rc, out] = start_with("--config " + path);
    EXPECT_EQ(rc, 2) << c.yaml << ": " << out;
    EXPECT_NE(out.find("config file " + path + ": key '" + c.key + "': " + c.says), std::string::npos)
        << c.yaml << ": " << out;
    std::tie(rc, out) = start_with(c.flag);
    EXPECT_EQ(rc, 2) << c.flag << ": " << out;
    EXPECT_NE(out.find(c.flag.substr(0, c.flag.find(' ')) + ": " + c.says), std::string::npos) << c.flag << ": " << out;
  }
  // A port is read alike: 09092 is no port in octal nor in decimal.
  const auto path = config_file(dir, "port.yaml", "native: {port: 09092}\n");
  auto [rc, out] = start_with("--config " + path);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("key 'native.port': must be a whole number from 0 to 65535 in decimal, without leading zeros, "
                     "got '09092' (line 1, column 16)"),
            std::string::npos)
      << out;
}

// A config file that cannot be read is refused with the system's reason, a directory as a
// missing file (it used to end the broker with an uncaught std::ios_failure, status 134).
TEST(ServerConfig, AConfigFileThatCannotBeReadIsRefusedWithItsReason) {
  temp_dir dir;
  auto [rc, out] = start_with("--config " + dir.path());
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("portask: cannot read config file " + dir.path() + ": Is a directory"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("env PORTASK_CONFIG=" + dir.path() + " timeout 20 " +
                                std::string(PORTASK_SERVER_BINARY) + " --port 0 --kafka-port 0 --http-port 0 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("portask: cannot read config file " + dir.path() + ": Is a directory"), std::string::npos) << out;
  std::tie(rc, out) = start_with("--config " + dir.path() + "/missing.yaml");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("portask: cannot read config file " + dir.path() + "/missing.yaml: No such file or directory"),
            std::string::npos)
      << out;
}

// Flags and variables CLI11 refuses are configuration errors like the others (exit status
// 2, not CLI11's own codes), and a value below 1 is said as such.
TEST(ServerConfig, FlagAndVariableErrorsExitWithStatusTwo) {
  struct refusal {
    std::string command;  ///< environment and arguments
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--no-such-flag", "--no-such-flag"},
      {"--max-connections abc", "--max-connections"},
      {"--node-id -2", "--node-id: must be at least -1, got -2"},
      {"--max-inflight-bytes 0", "--max-inflight-bytes: must be at least 1, got 0"},
      {"--max-inflight-requests -5", "--max-inflight-requests: must be at least 1, got -5"},
      {"--producer-id-expiration-ms 1.5",
       "--producer-id-expiration-ms: must be a whole number from 1 to 9223372036854775807, got '1.5'"},
      // A 64-bit unsigned flag would otherwise take -1 as 2^64-1.
      {"env PORTASK_MAX_QUEUED_OUTPUT_BYTES=-1", "--max-queued-output-bytes: must be at least 1, got -1"},
      {"--memory-store-max-bytes -1", "--memory-store-max-bytes: must be at least 0, got -1"},
      {"env PORTASK_MEMORY_STORE_MAX_BYTES=-1", "--memory-store-max-bytes: must be at least 0, got -1"},
      // CLI11 alone reads with base 0: "010" would be 8 and "0x10" 16.
      {"--memory-store-max-bytes 010",
       "--memory-store-max-bytes: must be a whole number from 0 to 18446744073709551615 in decimal, without "
       "leading zeros, got '010'"},
      {"--max-decompressed-bytes-per-request 0x10",
       "--max-decompressed-bytes-per-request: must be a whole number from 1 to 18446744073709551615, got '0x10'"},
      {"--cluster-renew-ms +50", "--cluster-renew-ms: must be a whole number from 20 to 300000, got '+50'"},
      // CLI11 alone takes any integer as a boolean (2 as true) and yes / on / enable.
      {"--auto-create-topics 2", "--auto-create-topics: must be true or false, got '2'"},
      {"env PORTASK_HTTP_OPEN_PROBES=yes", "--http-open-probes: must be true or false, got 'yes'"},
      {"--allow-everyone-if-no-acl 1", "--allow-everyone-if-no-acl: must be true or false, got '1'"},
  };
  for (const auto& c : cases) {
    const bool env = c.command.starts_with("env ");
    auto [rc, out] = run_shell((env ? c.command + " " : std::string()) + "timeout 20 " +
                               std::string(PORTASK_SERVER_BINARY) + " " + (env ? std::string() : c.command) +
                               " --port 0 --kafka-port 0 --http-port 0 2>&1");
    EXPECT_EQ(rc, 2) << c.command << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.command << ": " << out;
  }
  // A port the variable gives out of range (the flag would collide with --port 0 here).
  auto [rc, out] = run_shell("env PORTASK_PORT=99999 timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                             " --kafka-port 0 --http-port 0 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--port: must be at most 65535, got 99999"), std::string::npos) << out;
}

TEST(ServerConfig, HelpAndVersionExitWithStatusZero) {
  auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " --help 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("--max-inflight-bytes"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " --version 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("portask "), std::string::npos) << out;
}

TEST(ServerConfig, AKnownFileStartsTheBroker) {
  temp_dir dir;
  const auto path = dir.path() + "/portask.yaml";
  {
    std::ofstream yaml(path);
    // A negative log_retention_bytes other than -1 is unlimited too, as Kafka's
    // log.retention.bytes.
    yaml << "log_level: warn\nlog_retention_ms: 3600000\nlog_retention_bytes: -2\n"
            "groups: {initial_rebalance_delay_ms: 100}\n"
            "max_inflight_bytes_per_broker: -1\nmax_connections: 12\nauto_create_topics: false\n";
  }
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--config", path}));
  EXPECT_TRUE(server.running());
  std::ifstream in(server.log_path());
  const std::string log{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  EXPECT_NE(log.find("max connections: 12 per listener"), std::string::npos) << log;
  EXPECT_NE(log.find("auto-create off"), std::string::npos) << log;
  EXPECT_NE(log.find("retention: 3600000 ms / unlimited by default"), std::string::npos) << log;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every effective setting is on the startup lines, and a store that does not answer at start
// is a warning naming it and why (the broker keeps serving what needs no store and retries).
TEST(ServerConfig, StartupLogsTheSettingsAndWarnsOfAnUnreachableStore) {
  temp_dir dir;
  const std::string store = "redis://127.0.0.1:" + std::to_string(free_port());
  server_process server{store, dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--default-partitions", "3", "--storage-writers", "3"}));
  ASSERT_TRUE(wait_until([&] { return read_file(server.log_path()).find("unreachable") != std::string::npos; },
                         std::chrono::seconds(30)))
      << read_file(server.log_path());
  const auto log = read_file(server.log_path());
  EXPECT_NE(log.find("[warning]"), std::string::npos) << log;
  EXPECT_NE(log.find("store " + store + " is unreachable (portask:storage_unavailable: Connection refused)"),
            std::string::npos)
      << "the line names the store's reason\n" << log;
  for (const char* setting : {"3 partitions by default", "auto-create on", "log level info",
                              "session timeouts", "max connections", "retention",
                              "all connections 536870912 B in flight",
                              "3 writers, 2 readers", "no SASL listener",
                              "authorization off (every request allowed)"})
    EXPECT_NE(log.find(setting), std::string::npos) << setting << "\n" << log;
  // Settings that do nothing here are not reported as if they did.
  for (const char* unused : {"SASL mechanisms", "no-ACL resources", "session lifetime"})
    EXPECT_EQ(log.find(unused), std::string::npos) << unused << "\n" << log;
}

// Super users split alike at ';' and at a ',' before another User:, spaces after either
// (as people write lists) or not, while a certificate subject keeps its own commas, escaped
// ones too (Java writes a value's comma as "\,"): from the flag and from the file. The startup
// line quotes each, so that where one ends is plain.
TEST(ServerConfig, SuperUsersSplitAtCommaOrSemicolonWithOrWithoutSpaces) {
  temp_dir dir;
  const std::string expected =
      "super users 'User:alice', 'User:bob', 'User:CN=carol,O=Portask', 'User:dave', 'User:CN=Ops\\, User:svc'";
  const auto yaml = config_file(dir, "super.yaml",
                                "security:\n  super_users: ['User:alice, User:bob', 'User:CN=carol,O=Portask ,User:dave', "
                                "'User:CN=Ops\\, User:svc']\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--super-users", "User:alice, User:bob;  User:CN=carol,O=Portask ,User:dave, User:CN=Ops\\, User:svc"},
           {"--config", yaml}}) {
    server_process server{"memory", dir.path() + "/broker" + args[0] + ".log"};
    auto with_authorization = args;
    with_authorization.insert(with_authorization.end(), {"--authorization", "on"});
    ASSERT_TRUE(server.start(with_authorization)) << read_file(server.log_path());
    const auto log = read_file(server.log_path());
    EXPECT_NE(log.find(expected), std::string::npos) << args[0] << "\n" << log;
  }
}

// A super user naming an attribute as OpenSSL writes it but Kafka's certificate principals
// never do (emailAddress) would never match a certificate: one warning naming Java's form. An
// escaped comma does not start an attribute, and STREET is Java's own keyword: no warning.
TEST(ServerConfig, ASuperUserWithAnAttributeJavaNeverWritesIsWarnedAbout) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--authorization", "on", "--super-users",
                            "User:CN=frank,emailAddress=frank@example.com;User:CN=Ops\\,emailAddress=x;"
                            "User:STREET=Main,CN=x"}));
  const auto log = read_file(server.log_path());
  const std::string warning =
      "super user 'User:CN=frank,emailAddress=frank@example.com' names attribute emailAddress, which Kafka's "
      "certificate principals never write: a client certificate's principal has "
      "1.2.840.113549.1.9.1=#<hex of its DER value> in its place";
  const auto at = log.find(warning);
  ASSERT_NE(at, std::string::npos) << log;
  const auto line_start = log.rfind('\n', at) + 1;  // npos + 1: the first line
  EXPECT_NE(log.substr(line_start, at - line_start).find("[portask.security] [warning]"), std::string::npos) << log;
  EXPECT_EQ(log.find("names attribute", at + warning.size()), std::string::npos) << log;
  EXPECT_EQ(log.find("names attribute"), at + warning.find("names attribute")) << log;
}

// SIGHUP reads the file again: a new log_level applies to every module at once, a changed
// setting that needs a restart is named as such (that one alone, not the settings the
// startup line writes beside it), and a file that no longer reads (or names an unknown
// level) keeps the settings in use.
TEST(ServerConfig, SighupAppliesTheFilesLogLevelAndNamesWhatNeedsARestart) {
  temp_dir dir;
  const auto path = dir.path() + "/portask.yaml";
  auto write = [&](const std::string& text) {
    std::ofstream yaml(path, std::ios::trunc);
    yaml << text;
  };
  write("log_level: info\ndefault_partitions: 2\n");
  server_process server{"memory", dir.path() + "/broker.log"};
  server.log_level_flag = false;  // the file decides
  ASSERT_TRUE(server.start({"--config", path}));
  auto levels = [&] { return http_get(server.http_port(), "/api/loggers").second; };
  ASSERT_NE(levels().find("\"portask.kafka\":\"info\""), std::string::npos) << levels();
  auto logged = [&](const std::string& line) {
    return wait_until([&] { return read_file(server.log_path()).find(line) != std::string::npos; },
                      std::chrono::seconds(30));
  };

  write("log_level: debug\ndefault_partitions: 5\ngroups:\n  max_size: 7\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(logged("SIGHUP: log level info -> debug for every module")) << read_file(server.log_path());
  ASSERT_TRUE(logged("take effect only when the broker restarts (not applied): topics: 5 partitions by default; "
                     "groups: at most 7 members\n"))
      << read_file(server.log_path());
  for (const char* module : {"portask.kafka", "portask.storage", "portask.groups"})
    EXPECT_NE(levels().find("\"" + std::string(module) + "\":\"debug\""), std::string::npos)
        << module << ": " << levels();

  write("log_level: [\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(logged("the configuration cannot be read again")) << read_file(server.log_path());
  write("log_level: loud\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    const auto log = read_file(server.log_path());
    const auto first = log.find("the configuration cannot be read again");
    return first != std::string::npos &&
           log.find("the configuration cannot be read again", first + 1) != std::string::npos;
  }, std::chrono::seconds(30))) << read_file(server.log_path());
  EXPECT_NE(read_file(server.log_path()).find("unknown log level 'loud'"), std::string::npos);
  EXPECT_NE(levels().find("\"portask.kafka\":\"debug\""), std::string::npos) << levels();
  EXPECT_TRUE(server.running());
}

// The startup line writes the super users beside the authorization setting: a SIGHUP that
// changes only the super users names them alone (each quoted, an escaped comma kept inside).
TEST(ServerConfig, SighupNamesChangedSuperUsersAloneNotTheAuthorizationBesideThem) {
  temp_dir dir;
  const auto path = dir.path() + "/portask.yaml";
  auto write = [&](const std::string& super_users) {
    std::ofstream yaml(path, std::ios::trunc);
    yaml << "security:\n  authorization: 'on'\n  super_users: [" << super_users << "]\n";
  };
  write("'User:ops'");
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--config", path}));
  write("'User:ops2', 'User:CN=Ops\\, User:svc'");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  const std::string warning = "(not applied): super users 'User:ops2', 'User:CN=Ops\\, User:svc'\n";
  EXPECT_TRUE(wait_until([&] { return read_file(server.log_path()).find(warning) != std::string::npos; },
                         std::chrono::seconds(30)))
      << read_file(server.log_path());
}

// A SIGHUP after the file lost a listener and a setting names what is gone ("no longer:"),
// each piece the startup lines wrote for it, though every remaining setting was there before;
// a setting that changed beside them is named once, by its new value (listener INT's port
// beside removed EXT, the partitions).
TEST(ServerConfig, SighupNamesARemovedListenerAndSettingAsNoLonger) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty());
  const auto ext = std::to_string(free_port()), int_before = std::to_string(free_port()),
             int_after = std::to_string(free_port());
  const auto path = dir.path() + "/portask.yaml";
  auto write = [&](const std::string& text) {
    std::ofstream yaml(path, std::ios::trunc);
    yaml << text;
  };
  write("default_partitions: 2\nsecurity:\n  admin_user: admin\nnative:\n  security_protocol: SASL_PLAINTEXT\n"
        "kafka:\n  listeners:\n"
        "    - {name: EXT, host: 127.0.0.1, port: " + ext + ", security_protocol: SASL_SSL,\n"
        "       advertised_host: kafka.example.invalid, advertised_port: 9999,\n"
        "       tls: {cert_file: " + files.server_cert + ", key_file: " + files.server_key + "}}\n"
        "    - {name: INT, host: 127.0.0.1, port: " + int_before + ", security_protocol: PLAINTEXT}\n");
  setenv("PORTASK_ADMIN_PASSWORD", "admin-secret", 1);
  server_process server{"memory", dir.path() + "/broker.log"};
  const bool started = server.start({"--config", path});
  unsetenv("PORTASK_ADMIN_PASSWORD");
  ASSERT_TRUE(started) << read_file(server.log_path());
  write("default_partitions: 5\nnative:\n  security_protocol: SASL_PLAINTEXT\n"
        "kafka:\n  listeners:\n"
        "    - {name: INT, host: 127.0.0.1, port: " + int_after + ", security_protocol: PLAINTEXT}\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  const std::string warning =
      "(not applied): topics: 5 partitions by default; kafka listener INT PLAINTEXT on 127.0.0.1:" + int_after +
      " (advertised 127.0.0.1:" + int_after + "); no longer: kafka listener EXT SASL_SSL on 127.0.0.1:" + ext +
      " (advertised kafka.example.invalid:9999); no longer: Kafka session lifetime unlimited; no longer: admin user "
      "admin; no longer: kafka listener EXT TLS certificate file " + files.server_cert +
      "; no longer: kafka listener EXT TLS key file " + files.server_key +
      "; no longer: kafka listener EXT TLS CA file none; no longer: kafka listener EXT advertised as "
      "kafka.example.invalid:9999\n";
  EXPECT_TRUE(wait_until([&] { return read_file(server.log_path()).find(warning) != std::string::npos; },
                         std::chrono::seconds(30)))
      << warning << "\n" << read_file(server.log_path());
  EXPECT_TRUE(server.running());
}

// A file replaced by a directory before a SIGHUP keeps the settings in use, says why, and
// leaves nothing behind: yaml-cpp leaked its read buffer when the stream it read failed
// midway (LeakSanitizer then fails the exit status of a sanitizer build).
TEST(ServerConfig, ASighupWithTheFileReplacedByADirectoryKeepsTheSettings) {
  temp_dir dir;
  const auto path = config_file(dir, "portask.yaml", "default_partitions: 2\n");
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--config", path}));
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    return read_file(server.log_path()).find("the configuration cannot be read again") != std::string::npos;
  }, std::chrono::seconds(30))) << read_file(server.log_path());
  EXPECT_NE(read_file(server.log_path()).find("cannot read config file " + path + ": Is a directory"),
            std::string::npos)
      << read_file(server.log_path());
  EXPECT_TRUE(server.running());
  EXPECT_EQ(server.stop(SIGTERM), 0) << read_file(server.log_path());
}

// A listener's host may be a host name, resolved at startup (its first address) and logged
// with it. One that does not resolve, or an empty one (every address is 0.0.0.0 or ::),
// stops the broker at startup naming the flag, as any value it cannot use.
TEST(ServerConfig, ListenerHostsMayBeNamesAndOneThatCannotBeBoundIsRefused) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--host", "localhost", "--http-host", "localhost", "--kafka-host", "localhost"}))
      << read_file(server.log_path());
  const auto log = read_file(server.log_path());
  for (const char* listener : {"native", "kafka", "http"})
    EXPECT_NE(log.find(std::string(listener) + " listener on localhost ("), std::string::npos)
        << listener << "\n" << log;
  EXPECT_NE(log.find("(advertised localhost)"), std::string::npos) << log;

  struct refusal {
    std::string args;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--host '' --kafka-port 0 --http-port 0", "--host (native.host) is empty"},
      {"--kafka-host '' --kafka-port 9 --http-port 0", "--kafka-host (kafka.host) is empty"},
      {"--http-host '' --kafka-port 0 --http-port 9", "--http-host (http.host) is empty"},
      {"--host nosuch.invalid --kafka-port 0 --http-port 0", "--host (native.host) 'nosuch.invalid' does not resolve"},
      {"--kafka-port 0 --config " + config_file(dir, "http.yaml", "http: {host: nosuch.invalid, port: 9}\n"),
       "--http-host (http.host) 'nosuch.invalid' does not resolve"},
      {"--kafka-port 9 --http-port 0 --kafka-listener X,PLAINTEXT,nosuch.invalid:9",
       "Kafka listener X host 'nosuch.invalid' does not resolve"},
  };
  for (const auto& c : cases) {
    // nosuch.invalid is asked of the machine's resolver: one that drops packets would take
    // 5 s per try, 2 tries, for each search domain. One try of 1 s each (glibc's RES_OPTIONS)
    // keeps the refusal quick, and the bound leaves room for the search domains.
    auto [rc, out] = run_shell("env RES_OPTIONS='timeout:1 attempts:1' timeout 60 " +
                               std::string(PORTASK_SERVER_BINARY) + " --port 0 " + c.args + " 2>&1");
    EXPECT_EQ(rc, 2) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
  }
}

// A SIGHUP reads the settings again but binds nothing, so it looks no host name up: a
// resolver that failed for a moment would otherwise refuse the whole reload (a changed
// log_level with it), and a slow one hold up the signal loop, shutdown included. A listener
// host that changed is named as needing a restart, resolvable or not.
TEST(ServerConfig, ASighupLooksUpNoListenerHost) {
  temp_dir dir;
  const auto path = config_file(dir, "portask.yaml", "log_level: info\n");
  server_process server{"memory", dir.path() + "/broker.log"};
  server.log_level_flag = false;  // the file decides
  ASSERT_TRUE(server.start({"--config", path}));
  {
    std::ofstream yaml(path, std::ios::trunc);
    yaml << "log_level: debug\nnative: {host: nosuch.invalid}\n";
  }
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    return read_file(server.log_path()).find("take effect only when the broker restarts") != std::string::npos;
  }, std::chrono::seconds(30))) << read_file(server.log_path());
  const auto log = read_file(server.log_path());
  EXPECT_NE(log.find("SIGHUP: log level info -> debug for every module"), std::string::npos) << log;
  EXPECT_NE(log.find("native nosuch.invalid:"), std::string::npos) << log;
  EXPECT_EQ(log.find("the configuration cannot be read again"), std::string::npos) << log;
  EXPECT_TRUE(server.running());
}

// An advertised host may be an IPv6 address in brackets, as in a URL: clients are told the
// address alone, as Kafka's Metadata names it (and advertised.listeners brackets it once, before
// its port), whichever setting gives it.
TEST(ServerConfig, ABracketedIpv6AdvertisedHostIsToldWithoutItsBrackets) {
  temp_dir dir;
  // Quoted: unquoted, YAML reads [::1] as a list.
  const auto path = config_file(dir, "portask.yaml",
                                "kafka:\n  listeners:\n    - {name: V6, host: 127.0.0.1, port: " +
                                    std::to_string(free_port()) + ", advertised_host: '[::1]', advertised_port: 9}\n");
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--config", path, "--kafka-advertised-host", "[::1]"})) << read_file(server.log_path());
  const auto log = read_file(server.log_path());
  EXPECT_NE(log.find("kafka 127.0.0.1:" + std::to_string(server.kafka_port()) + " (advertised ::1)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("kafka listener V6 PLAINTEXT on 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("(advertised [::1]:9)"), std::string::npos) << log;
  EXPECT_EQ(log.find("[[::1]"), std::string::npos) << log;
  // Brackets hold an IPv6 address, nothing else.
  auto [rc, out] = start_with("--kafka-advertised-host '[kafka.example.com]'");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("kafka_advertised_host '[kafka.example.com]' is in brackets but no IPv6 address"),
            std::string::npos)
      << out;
}

// The broker runs on the allocator its build chose, and says which (jemalloc unless built
// with the sanitizers or -DPORTASK_JEMALLOC=OFF). CI's sanitizer build checks the second
// branch; release builds (tools/run's, the benchmarks') the first.
TEST(ServerConfig, TheBrokerRunsOnTheAllocatorItWasBuiltWithAndLogsIt) {
  temp_dir dir;
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start());
  const auto maps = read_file("/proc/" + std::to_string(server.pid()) + "/maps");
  ASSERT_FALSE(maps.empty());
  const auto log = read_file(server.log_path());
#ifdef PORTASK_WITH_JEMALLOC
  EXPECT_NE(maps.find("libjemalloc"), std::string::npos);
  EXPECT_NE(log.find("allocator: jemalloc 5."), std::string::npos) << log;
  EXPECT_NE(log.find("background purging"), std::string::npos) << log;
#else
  EXPECT_EQ(maps.find("libjemalloc"), std::string::npos);
  EXPECT_NE(log.find("allocator: "), std::string::npos) << log;
  EXPECT_EQ(log.find("allocator: jemalloc"), std::string::npos) << log;
#endif
}

}  // namespace
}  // namespace portask::test
