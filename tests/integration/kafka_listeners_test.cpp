// Several Kafka listeners on one broker (Kafka's listeners / advertised.listeners): each with
// its own address, security protocol and advertised address, and Metadata answering every
// client with the listener it came in on. Against the real `portask` executable with kcat.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "process.hpp"
#include "server_process.hpp"
#include "tls_files.hpp"

using namespace portask;
using namespace portask::test;

namespace {

constexpr const char* admin_password = "admin-secret";

TEST(KafkaListeners, EachListenerAdvertisesItselfAndKeepsItsOwnSecurity) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty());
  const auto internal = free_port(), external = free_port();
  setenv("PORTASK_ADMIN_PASSWORD", admin_password, 1);
  server_process server{"memory", dir.path() + "/portask.log"};
  ASSERT_TRUE(server.start({"--admin-user", "admin", "--allow-everyone-if-no-acl", "true",
                            "--kafka-tls-cert-file", files.server_cert, "--kafka-tls-key-file", files.server_key,
                            "--kafka-listener", "INTERNAL,SASL_SSL,127.0.0.1:" + std::to_string(internal),
                            "--kafka-listener",
                            "EXTERNAL,PLAINTEXT,127.0.0.1:" + std::to_string(external) + ",kafka.example.invalid:9999"}))
      << [&] {
           std::ifstream log(dir.path() + "/portask.log");
           return std::string{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
         }();
  unsetenv("PORTASK_ADMIN_PASSWORD");
  ASSERT_TRUE(wait_until([&] { return port_accepts(internal) && port_accepts(external); }));
  const auto main = "127.0.0.1:" + std::to_string(server.kafka_port());
  const auto sasl_ssl = "-X security.protocol=SASL_SSL -X ssl.ca.location=" + files.ca +
                        " -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=admin -X sasl.password=" + admin_password;

  auto [rc, out] = run_shell("timeout 30 kcat -b " + main + " -m 10 -L 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("broker 0 at " + main), std::string::npos) << out;
  std::tie(rc, out) = run_shell("timeout 30 kcat -b 127.0.0.1:" + std::to_string(internal) + " " + sasl_ssl + " -m 10 -L 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("broker 0 at 127.0.0.1:" + std::to_string(internal)), std::string::npos) << out;
  std::tie(rc, out) = run_shell("timeout 30 kcat -b 127.0.0.1:" + std::to_string(external) + " -m 10 -L 2>&1");
  EXPECT_NE(out.find("broker 0 at kafka.example.invalid:9999"), std::string::npos) << out;

  // Data written through one listener is read through another.
  std::tie(rc, out) = run_shell("printf 'k:v\\n' | timeout 60 kcat -b 127.0.0.1:" + std::to_string(internal) + " " +
                                sasl_ssl + " -P -t across -p 0 -K: 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("timeout 60 kcat -b " + main + " -C -t across -p 0 -o beginning -e -q -f '%k=%s\\n' 2>&1");
  EXPECT_EQ(out, "k=v\n");
  // The SASL_SSL listener authenticates; the PLAINTEXT ones do not ask.
  std::tie(rc, out) = run_shell("timeout 30 kcat -b 127.0.0.1:" + std::to_string(internal) +
                                " -X security.protocol=SSL -X ssl.ca.location=" + files.ca + " -m 5 -L 2>&1");
  EXPECT_NE(rc, 0) << out;
  std::ifstream log(dir.path() + "/portask.log");
  const std::string text{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
  EXPECT_NE(text.find("kafka listener INTERNAL SASL_SSL on 127.0.0.1:" + std::to_string(internal)), std::string::npos)
      << text;
}

// Without --kafka-advertised-host the first listener advertises the host it is bound to, as
// Kafka's advertised.listeners defaults to its listeners (it used to advertise 127.0.0.1
// whatever the host, where nothing listened); a host name as written, for the client to
// resolve. A wildcard is no host to connect to: bound to one, however it is written (glibc
// reads "0" as 0.0.0.0), it needs an advertised host.
TEST(KafkaListeners, TheFirstListenerAdvertisesTheHostItIsBoundTo) {
  temp_dir dir;
  for (const char* name : {"127.0.0.2", "localhost"}) {
    const std::string host = name;
    server_process server{"memory", dir.path() + "/portask-" + host + ".log"};
    ASSERT_TRUE(server.start({"--kafka-host", host}));
    const auto bound = host + ":" + std::to_string(server.kafka_port());
    auto [rc, out] = run_shell("timeout 30 kcat -b " + bound + " -m 10 -L 2>&1");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("broker 0 at " + bound), std::string::npos) << out;
    std::tie(rc, out) = run_shell("printf 'k:v\\n' | timeout 60 kcat -b " + bound + " -P -t bound -p 0 -K: 2>&1");
    EXPECT_EQ(rc, 0) << host << ": " << out;
  }
  for (const char* name : {"0.0.0.0", "::", "::0", "0:0::0", "0", "::ffff:0.0.0.0"}) {
    const std::string host = name;
    auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                               " --port 0 --kafka-port 9 --http-port 0 --kafka-host " + host + " 2>&1");
    EXPECT_EQ(rc, 2) << host << ": " << out;
    EXPECT_NE(out.find("the Kafka listener binds " + host + ": it needs an advertised host clients can reach"),
              std::string::npos)
        << host << ": " << out;
  }
  // Nor is a wildcard a host to advertise, however it is written.
  for (const char* name : {"0.0.0.0", "::0", "0", "[::]"}) {
    const std::string host = name;
    auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                               " --port 0 --kafka-port 9 --http-port 0 --kafka-advertised-host '" + host + "' 2>&1");
    EXPECT_EQ(rc, 2) << host << ": " << out;
    EXPECT_NE(out.find(" is no address a client can connect to"), std::string::npos) << host << ": " << out;
  }
}

TEST(KafkaListeners, ListenerSpecsTheBrokerCannotHonourAreRefused) {
  struct refusal {
    std::string args;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--kafka-listener INTERNAL,PLAINTEXT", "is not of the form"},
      {"--kafka-listener INTERNAL,PLAINTEXT,127.0.0.1:notaport", "bad HOST:PORT"},
      {"--kafka-listener INTERNAL,KERBEROS,127.0.0.1:1", "unknown kafka listener INTERNAL security protocol"},
      {"--kafka-listener PLAINTEXT,PLAINTEXT,127.0.0.1:1", "is used twice"},
      {"--kafka-listener A,PLAINTEXT,127.0.0.1:1 --kafka-listener A,PLAINTEXT,127.0.0.1:2", "is used twice"},
      {"--kafka-listener 'bad name,PLAINTEXT,127.0.0.1:1'", "must be letters, digits"},
      {"--kafka-listener TLS,SSL,127.0.0.1:1", "kafka listener TLS listener TLS: no certificate file"},
      {"--kafka-listener ALL,PLAINTEXT,0.0.0.0:1", "it needs an advertised host clients can reach"},
      {"--kafka-listener 'ALL,PLAINTEXT,[::0]:1'", "Kafka listener ALL binds ::0: it needs an advertised host"},
      {"--kafka-listener ALL,PLAINTEXT,0:1", "Kafka listener ALL binds 0: it needs an advertised host"},
      {"--kafka-listener 'ALL,PLAINTEXT,127.0.0.1:1,[::]:9'",
       "Kafka listener ALL advertised_host :: is no address a client can connect to"},
  };
  for (const auto& c : cases) {
    auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) +
                               " --port 0 --kafka-port 9 --http-port 0 " + c.args + " 2>&1");
    EXPECT_EQ(rc, 2) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
  }
}

TEST(KafkaListeners, AConfigFileDeclaresListenersWithTheirOwnTls) {
  temp_dir dir;
  const auto files = make_tls_files(dir.path());
  ASSERT_FALSE(files.ca.empty());
  const auto external = free_port();
  {
    std::ofstream yaml(dir.path() + "/portask.yaml");
    yaml << "kafka:\n  listeners:\n    - {name: EXTERNAL, host: 127.0.0.1, port: " << external
         << ", security_protocol: SSL, advertised_host: 127.0.0.1,\n       tls: {cert_file: " << files.server_cert
         << ", key_file: " << files.server_key << "}}\n";
  }
  server_process server{"memory", dir.path() + "/portask.log"};
  ASSERT_TRUE(server.start({"--config", dir.path() + "/portask.yaml"}));
  ASSERT_TRUE(wait_until([&] { return port_accepts(external); }));
  auto [rc, out] = run_shell("timeout 30 kcat -b 127.0.0.1:" + std::to_string(external) +
                             " -X security.protocol=SSL -X ssl.ca.location=" + files.ca + " -m 10 -L 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("broker 0 at 127.0.0.1:" + std::to_string(external)), std::string::npos) << out;
  {
    std::ofstream yaml(dir.path() + "/bad.yaml");
    yaml << "kafka:\n  listeners:\n    - {name: X, port: 1, adverstised_host: h}\n";
  }
  std::tie(rc, out) = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " --config " + dir.path() +
                                "/bad.yaml --port 0 --http-port 0 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown key(s): kafka.listeners.adverstised_host"), std::string::npos) << out;
}

}  // namespace
