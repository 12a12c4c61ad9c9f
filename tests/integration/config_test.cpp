// The server's configuration, as a user writes it: a misspelt YAML key, an unknown log level
// or a setting the broker cannot honour stops it at startup with a message naming it, instead
// of leaving a default silently in place.
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "server_process.hpp"

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
      {"--log-retention-bytes -2", "log_retention_bytes must be -1"},
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
      {"--config " + dir.path() + "/bad.yaml", "log_retention_bytes must be -1"},
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
      // An advertised host is told to clients as a host: a port in it would reach them whole.
      {"--kafka-advertised-host localhost:19092", "kafka_advertised_host 'localhost:19092' names a port"},
      {"--kafka-advertised-host [::1]:19092", "names a port"},
      // The flags' ranges hold for the file's values (renew_ms * 2 wrapped past lease_ms).
      {"--store redis://127.0.0.1:1 --config " + dir.path() + "/cluster.yaml", "renew_ms must be 20 to 300000"},
  };
  {
    std::ofstream yaml(dir.path() + "/cluster.yaml");
    yaml << "cluster:\n  node_id: 1\n  lease_ms: 3000\n  renew_ms: 2147484148\n";
  }
  {
    std::ofstream yaml(dir.path() + "/bad.yaml");
    yaml << "log_retention_bytes: -3\n";
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
                             " --advertised-host 10.0.0.5 --port 0 --http-port 0 2>&1");
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

TEST(ServerConfig, AKnownFileStartsTheBroker) {
  temp_dir dir;
  const auto path = dir.path() + "/portask.yaml";
  {
    std::ofstream yaml(path);
    yaml << "log_level: warn\nlog_retention_ms: 3600000\ngroups: {initial_rebalance_delay_ms: 100}\n"
            "max_inflight_bytes_per_broker: -1\n";
  }
  server_process server{"memory", dir.path() + "/broker.log"};
  ASSERT_TRUE(server.start({"--config", path}));
  EXPECT_TRUE(server.running());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every effective setting is on the startup lines, and a store that does not answer at start
// is a warning naming it (the broker keeps serving what needs no store and retries).
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
  EXPECT_NE(log.find("store " + store + " is unreachable"), std::string::npos) << log;
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

// SIGHUP reads the file again: a new log_level applies to every module at once, a changed
// setting that needs a restart is named as such, and a file that no longer reads (or names
// an unknown level) keeps the settings in use.
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

  write("log_level: debug\ndefault_partitions: 5\n");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(logged("SIGHUP: log level info -> debug for every module")) << read_file(server.log_path());
  ASSERT_TRUE(logged("take effect only when the broker restarts (not applied): topics: 5 partitions by default"))
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
