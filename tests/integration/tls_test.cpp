// TLS on every listener, against the real `portask` executable, with certificates made by the
// openssl command line for each test: kcat (librdkafka), kafka-python and kafkajs over
// SASL_SSL (SCRAM) and SSL with client certificates (the certificate's subject is the
// principal ACLs see); the native client and the CLI over SASL_SSL; HTTPS; SIGHUP reloading
// the certificate (one out of date: a warning at start, refused by a reload); and what
// hostile clients send to a TLS port (garbage, a handshake cut short, silence, a
// renegotiation).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "client/client.hpp"
#include "process.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"
#include "tls_files.hpp"

using namespace portask;
using namespace portask::test;

namespace {

constexpr const char* admin_password = "admin-secret";

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = make_tls_files(dir_.path());
    ASSERT_FALSE(files_.ca.empty()) << "openssl could not make the test certificates";
  }
  void start(std::vector<std::string> args) {
    setenv("PORTASK_ADMIN_PASSWORD", admin_password, 1);
    server_ = std::make_unique<server_process>("memory", dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start(args));
    unsetenv("PORTASK_ADMIN_PASSWORD");
    bootstrap_ = "127.0.0.1:" + std::to_string(server_->kafka_port());
  }
  std::vector<std::string> listener_tls(const std::string& listener, const std::string& cert,
                                        const std::string& key) const {
    return {"--" + listener + "-tls-cert-file", cert, "--" + listener + "-tls-key-file", key};
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "--- portask log ---\n" << log();
  }
  std::string log() const {
    std::ifstream in(dir_.path() + "/portask.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string kcat_sasl_ssl(const std::string& mechanism, const std::string& password) const {
    return "timeout 60 kcat -b " + bootstrap_ + " -X security.protocol=SASL_SSL -X ssl.ca.location=" + files_.ca +
           " -X sasl.mechanisms=" + mechanism + " -X sasl.username=admin -X sasl.password=" + password;
  }
  std::string kcat_ssl(const std::string& cert, const std::string& key) const {
    std::string c = "timeout 60 kcat -b " + bootstrap_ + " -X security.protocol=SSL -X ssl.ca.location=" + files_.ca;
    if (!cert.empty()) c += " -X ssl.certificate.location=" + cert + " -X ssl.key.location=" + key;
    return c;
  }
  // The subject line of the certificate a TLS port presents (openssl s_client).
  std::string served_subject(std::uint16_t port) const {
    auto [rc, out] = run_shell("timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                               " -CAfile " + files_.ca + " < /dev/null 2>/dev/null | grep '^subject='");
    return out;
  }
  double metric(const std::string& series) const {
    return prometheus_value(http_get(server_->http_port(), "/metrics").second, series);
  }

  temp_dir dir_;
  tls_files files_;
  std::unique_ptr<server_process> server_;
  std::string bootstrap_;
};

client::options native_options(const server_process& s, const tls_files& f) {
  client::options o;
  o.port = s.port();
  o.timeout = std::chrono::seconds(15);
  o.tls = true;
  o.tls_ca_file = f.ca;
  return o;
}

// Sends bytes on a fresh loopback connection, then waits for the server to close it (read
// returns 0 or an error); false if it is still open after `limit` seconds.
bool closed_after_sending(std::uint16_t port, const std::string& bytes, int limit_s) {
  const int fd = connect_loopback(port, limit_s);
  if (fd < 0) return false;
  if (!bytes.empty() && ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return true;
  }
  char buf[4096];
  bool closed = false;
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) continue;  // an alert: the close follows
    closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    break;
  }
  ::close(fd);
  return closed;
}

TEST_F(Tls, KafkaSaslSslServesKcatKafkaPythonAndKafkajsWithScram) {
  auto args = listener_tls("kafka", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--kafka-security-protocol", "SASL_SSL", "--sasl-mechanisms",
                           "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN", "--admin-user", "admin"});
  start(args);
  for (const std::string mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}) {
    auto [rc, out] = run_shell("printf 'k:" + mechanism + "\\n' | " + kcat_sasl_ssl(mechanism, admin_password) +
                               " -P -t over-tls -p 0 -K: 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
  }
  auto [rc, out] = run_shell(kcat_sasl_ssl("SCRAM-SHA-256", admin_password) +
                             " -C -t over-tls -p 0 -o beginning -e -q -f '%k=%s\\n' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "k=SCRAM-SHA-512\nk=SCRAM-SHA-256\nk=PLAIN\n");
  // A wrong password over TLS is refused like one in the clear; nothing is served.
  std::tie(rc, out) = run_shell(kcat_sasl_ssl("SCRAM-SHA-512", "wrong") + " -C -t over-tls -p 0 -o beginning -e -q 2>&1");
  EXPECT_NE(rc, 0) << out;
  EXPECT_EQ(out.find("k=SCRAM"), std::string::npos) << out;
  // A client that does not trust the broker's CA refuses it.
  std::tie(rc, out) = run_shell("timeout 30 kcat -b " + bootstrap_ +
                                " -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=admin"
                                " -X sasl.password=" + std::string(admin_password) + " -m 5 -L 2>&1");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("certificate verify failed"), std::string::npos) << out;
  // A plaintext client gets nothing: its ApiVersions is not a TLS handshake.
  std::tie(rc, out) = run_shell("timeout 30 kcat -b " + bootstrap_ + " -m 5 -L 2>&1");
  EXPECT_NE(rc, 0) << out;

  // The Python clients with both SCRAM mechanisms (kafka-python assigns partitions,
  // confluent-kafka consumes through a group).
  for (const std::string mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256"}) {
    const auto env = "SECURITY_PROTOCOL=SASL_SSL SSL_CA=" + files_.ca + " SASL_MECHANISM=" + mechanism +
                     " SASL_USER=admin SASL_PASSWORD=" + admin_password;
    std::tie(rc, out) = run_shell(env + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR
                                        "/kafka_python_check.py " + bootstrap_ + " kafka-python-" + mechanism + " 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
    std::tie(rc, out) = run_shell(env + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR
                                        "/confluent_kafka_check.py " + bootstrap_ + " confluent-" + mechanism +
                                        " confluent-group-" + mechanism + " 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
  }

  std::ifstream installed(PORTASK_KAFKAJS_DIR "/node_modules/kafkajs/package.json");
  ASSERT_TRUE(installed) << "kafkajs is not installed: run tools/setup --test";
  for (const std::string mechanism : {"scram-sha-512", "scram-sha-256"}) {
    std::tie(rc, out) = run_shell("KAFKAJS_NO_PARTITIONER_WARNING=1 SSL_CA=" + files_.ca + " SASL_MECHANISM=" + mechanism +
                                  " SASL_USER=admin SASL_PASSWORD=" + admin_password + " timeout 120 node "
                                  PORTASK_KAFKAJS_DIR "/check.js " + bootstrap_ + " kafkajs-tls-" + mechanism +
                                  " kafkajs-tls-group-" + mechanism + " 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
  }
}

// Large batches are served from the partition's tail by reference (a gathered write of the
// answer's own bytes and the tail's); over TLS every byte must still arrive, in order.
TEST_F(Tls, LargeKafkaBatchesComeBackWholeOverTls) {
  auto args = listener_tls("kafka", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--kafka-security-protocol", "SSL"});
  start(args);
  const std::string lines =
      "python3 -c \"import sys\nfor i in range(40): sys.stdout.write(str(i) + ':' + "
      "chr(97 + i % 26) * (5000 + 300 * i) + '\\n')\"";
  auto [rc, out] = run_shell(lines + " | " + kcat_ssl("", "") + " -P -t big -p 0 -K: 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(kcat_ssl("", "") + " -C -t big -p 0 -o beginning -e -q -f '%k:%s\\n' 2>&1");
  ASSERT_EQ(rc, 0) << out.substr(0, 500);
  std::string expected;
  for (int i = 0; i < 40; ++i)
    expected += std::to_string(i) + ":" + std::string(5000 + 300 * i, static_cast<char>('a' + i % 26)) + "\n";
  EXPECT_EQ(out.size(), expected.size());
  EXPECT_TRUE(out == expected) << "the values read back differ from those produced";
}

TEST_F(Tls, KafkaClientCertificateNamesThePrincipalThatAclsSee) {
  auto args = listener_tls("kafka", files_.server_cert, files_.server_key);
  // Authorization is on by default once clients must show a certificate.
  args.insert(args.end(), {"--kafka-security-protocol", "SSL", "--kafka-tls-client-auth", "required",
                           "--kafka-tls-ca-file", files_.ca, "--super-users", "User:CN=alice,O=Portask"});
  start(args);
  auto [rc, out] = run_shell("printf 'a:1\\n' | " + kcat_ssl(files_.alice_cert, files_.alice_key) +
                             " -P -t mtls -p 0 -K: 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(kcat_ssl(files_.alice_cert, files_.alice_key) +
                                " -C -t mtls -p 0 -o beginning -e -q -f '%k=%s\\n' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "a=1\n");
  // bob's certificate is valid, but User:CN=bob,O=Portask has no ACL. Listing every topic
  // only leaves mtls out (not logged as a denial); naming it is refused, and logged.
  const std::string bob_denied = "Principal = User:CN=bob,O=Portask is Denied operation = ";
  std::tie(rc, out) = run_shell(kcat_ssl(files_.bob_cert, files_.bob_key) + " -m 10 -L 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("\"mtls\""), std::string::npos) << out;
  EXPECT_EQ(log().find(bob_denied), std::string::npos) << "a filter logged a denial";
  std::tie(rc, out) = run_shell("printf 'b:2\\n' | " + kcat_ssl(files_.bob_cert, files_.bob_key) +
                                " -P -t mtls -p 0 -K: 2>&1");
  EXPECT_NE(out.find("authorization failed"), std::string::npos) << out;
  const auto logged = log();
  const auto denial = logged.find(bob_denied);
  ASSERT_NE(denial, std::string::npos);
  const auto denial_line = logged.substr(denial, logged.find('\n', denial) - denial);
  EXPECT_NE(denial_line.find(" from host = 127.0.0.1 on resource = TOPIC:LITERAL:mtls"), std::string::npos)
      << denial_line;
  // A valid certificate with an empty subject (its holder named in subjectAltName only) is
  // "User:" with an empty name, as in Kafka, not User:ANONYMOUS. Tried until its denial is
  // logged: denials share 16 limits of one line a second, which bob's may be holding.
  const std::string nameless_denied = "Principal = User: is Denied operation = ";
  std::string nameless_out;
  EXPECT_TRUE(wait_until(
      [&] {
        nameless_out = run_shell("printf 'c:3\\n' | " + kcat_ssl(files_.nameless_cert, files_.nameless_key) +
                                 " -P -t mtls -p 0 -K: 2>&1")
                           .second;
        return log().find(nameless_denied) != std::string::npos;
      },
      std::chrono::seconds(60)))
      << nameless_out;
  EXPECT_NE(nameless_out.find("authorization failed"), std::string::npos) << nameless_out;
  // A certificate from a CA the listener does not trust, and none at all: no handshake. The
  // first refusal's line says why and whose certificate it was.
  for (const auto& [cert, key] : {std::pair{files_.mallory_cert, files_.mallory_key}, std::pair{std::string{}, std::string{}}}) {
    std::tie(rc, out) = run_shell(kcat_ssl(cert, key) + " -m 5 -L 2>&1");
    EXPECT_NE(rc, 0) << cert << ": " << out;
  }
  EXPECT_NE(log().find("TLS handshake failed"), std::string::npos);
  EXPECT_NE(log().find("(unable to get local issuer certificate; client certificate CN=mallory,O=Portask)"),
            std::string::npos);
  std::tie(rc, out) = run_shell("SECURITY_PROTOCOL=SSL SSL_CA=" + files_.ca + " SSL_CERT=" + files_.alice_cert +
                                " SSL_KEY=" + files_.alice_key + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR
                                "/kafka_python_check.py " + bootstrap_ + " kafka-python-mtls 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("SECURITY_PROTOCOL=SSL SSL_CA=" + files_.ca + " SSL_CERT=" + files_.alice_cert +
                                " SSL_KEY=" + files_.alice_key + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR
                                "/confluent_kafka_check.py " + bootstrap_ + " confluent-mtls confluent-mtls-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("SSL_CA=" + files_.ca + " SSL_CERT=" + files_.alice_cert + " SSL_KEY=" +
                                files_.alice_key + " timeout 120 node " PORTASK_KAFKAJS_DIR "/check.js " + bootstrap_ +
                                " kafkajs-mtls kafkajs-mtls-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(Tls, NativeClientAndCliOverSaslSsl) {
  auto args = listener_tls("native", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--native-security-protocol", "SASL_SSL", "--admin-user", "admin"});
  start(args);
  auto o = native_options(*server_, files_);
  o.user = "admin";
  o.password = admin_password;
  {
    auto c = client::connection::open(o);
    ASSERT_TRUE(client::ok(c)) << client::error_of(c).message;
    auto& conn = std::get<0>(c);
    protocol::message_batch batch;
    for (int i = 0; i < 100; ++i) {
      protocol::message m;
      m.value = "tls-" + std::to_string(i) + std::string(2000, 'x');
      batch.messages.push_back(std::move(m));
    }
    ASSERT_TRUE(client::ok(conn.publish("native-tls", 0, batch)));
    auto got = conn.fetch("native-tls", 0, 0, 8 << 20);
    ASSERT_TRUE(client::ok(got));
    EXPECT_EQ(std::get<0>(got).messages.size(), 100u);
  }
  {
    auto wrong = o;
    wrong.password = "wrong";
    auto c = client::connection::open(wrong);
    ASSERT_FALSE(client::ok(c));
    EXPECT_EQ(client::error_of(c).code, errc::authentication_failed);
  }
  {
    auto untrusted = o;
    untrusted.tls_ca_file.clear();  // the system's CAs do not know the test CA
    auto c = client::connection::open(untrusted);
    ASSERT_FALSE(client::ok(c));
    EXPECT_NE(client::error_of(c).message.find("certificate"), std::string::npos) << client::error_of(c).message;
    auto misnamed = o;
    misnamed.tls_server_name = "elsewhere.example";
    c = client::connection::open(misnamed);
    ASSERT_FALSE(client::ok(c));
    EXPECT_NE(client::error_of(c).message.find("certificate"), std::string::npos) << client::error_of(c).message;
  }
  {
    auto plain = o;
    plain.tls = false;
    auto c = client::connection::open(plain);
    EXPECT_FALSE(client::ok(c));  // the broker sees no handshake and closes
  }
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server_->port());
  auto [rc, out] = run_shell("PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli + " --tls-ca-file " +
                             files_.ca + " --user admin topics list 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("native-tls"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli + " --tls --user admin topics list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("certificate"), std::string::npos) << out;
}

// A native listener that requires a client certificate refuses a CLI with none, or with one of
// a CA it does not trust, with a TLS alert, which comes after the handshake with TLS 1.3. The
// CLI says so, naming the alert, and does not retry (it said "connection closed by broker:
// Connection reset by peer (retriable)").
TEST_F(Tls, ACertificateTheNativeListenerRefusesIsSaidWithTheAlertAndNotRetried) {
  auto args = listener_tls("native", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--native-security-protocol", "SSL", "--native-tls-client-auth", "required",
                           "--native-tls-ca-file", files_.ca, "--super-users", "User:CN=alice,O=Portask"});
  start(args);
  const std::string cli = "timeout 60 " + std::string(PORTASK_CLI_BINARY) + " --port " +
                          std::to_string(server_->port()) + " --tls-ca-file " + files_.ca;
  struct refused {
    std::string flags;
    std::string alert;
  };
  for (const auto& r : {refused{"", "certificate required"},
                        refused{" --tls-cert-file " + files_.mallory_cert + " --tls-key-file " + files_.mallory_key,
                                "unknown ca"}}) {
    auto [rc, out] = run_shell(cli + r.flags + " topics list 2>&1");
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("TLS: the broker refused the connection"), std::string::npos) << out;
    EXPECT_NE(out.find(r.alert), std::string::npos) << out;
    EXPECT_EQ(out.find("retriable"), std::string::npos) << out;
  }
  auto [rc, out] = run_shell(cli + " --tls-cert-file " + files_.alice_cert + " --tls-key-file " + files_.alice_key +
                             " topics list 2>&1");
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(Tls, HostileClientsOfATlsPortAreClosedAndCounted) {
  auto args = listener_tls("native", files_.server_cert, files_.server_key);
  auto kafka = listener_tls("kafka", files_.server_cert, files_.server_key);
  args.insert(args.end(), kafka.begin(), kafka.end());
  args.insert(args.end(), {"--native-security-protocol", "SSL", "--kafka-security-protocol", "SSL",
                           "--request-timeout-ms", "4000"});
  start(args);
  for (const auto port : {server_->port(), server_->kafka_port()}) {
    EXPECT_TRUE(closed_after_sending(port, std::string(300, '\x7f'), 20)) << "garbage, port " << port;
    EXPECT_TRUE(closed_after_sending(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 20)) << "plain HTTP, port " << port;
    // The first bytes of a ClientHello, then nothing: closed by the request timeout.
    EXPECT_TRUE(closed_after_sending(port, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 20))
        << "truncated handshake, port " << port;
    EXPECT_TRUE(closed_after_sending(port, "", 20)) << "silence, port " << port;
  }
  // TLS 1.2 and 1.3 are spoken; a renegotiation is refused and the broker carries on.
  for (const std::string version : {"-tls1_2", "-tls1_3"}) {
    auto [rc, out] = run_shell("timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(server_->port()) +
                               " " + version + " -CAfile " + files_.ca + " < /dev/null 2>&1");
    EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << version << ": " << out;
  }
  auto [rc, out] = run_shell("(printf 'R\\n'; sleep 5) | timeout 20 openssl s_client -connect 127.0.0.1:" +
                             std::to_string(server_->port()) + " -tls1_2 -CAfile " + files_.ca + " 2>&1");
  EXPECT_NE(out.find("RENEGOTIATING"), std::string::npos) << out;
  EXPECT_NE(out.find("no renegotiation"), std::string::npos) << out;
  auto c = client::connection::open(native_options(*server_, files_));
  ASSERT_TRUE(client::ok(c)) << client::error_of(c).message;
  EXPECT_TRUE(client::ok(std::get<0>(c).list_topics()));
  // Garbage and plain HTTP fail their handshakes; the other two were closed by the timeout.
  for (const std::string listener : {"native", "kafka"}) {
    EXPECT_GE(metric("portask_tls_handshake_failures_total{listener=\"" + listener + "\"}"), 2) << listener;
    EXPECT_GE(metric("portask_connections_closed_by_limit_total{listener=\"" + listener +
                     "\",reason=\"request_timeout\"}"), 2) << listener;
  }
}

TEST_F(Tls, AHandshakeIsBoundedByTheIdleTimeoutWithoutARequestTimeout) {
  auto args = listener_tls("native", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--native-security-protocol", "SSL", "--request-timeout-ms", "0",
                           "--connections-max-idle-ms", "1500"});
  start(args);
  EXPECT_TRUE(closed_after_sending(server_->port(), "", 20)) << "silence";
  EXPECT_TRUE(closed_after_sending(server_->port(), std::string("\x16\x03\x01\x02\x00\x01", 6), 20))
      << "half a handshake";
  EXPECT_NE(log().find("no TLS handshake within 1500 ms"), std::string::npos);
}

TEST_F(Tls, TheBrokerKeepsItsDataInARedisReachedOverTls) {
  redis_server redis;
  const auto tls_port = free_port();
  ASSERT_TRUE(redis.start({"--tls-port", std::to_string(tls_port), "--tls-cert-file", files_.server_cert,
                           "--tls-key-file", files_.server_key, "--tls-ca-cert-file", files_.ca,
                           "--tls-auth-clients", "no"}));
  const auto store = "rediss://127.0.0.1:" + std::to_string(tls_port) + "?tls_ca_file=" + files_.ca;
  server_ = std::make_unique<server_process>(store, dir_.path() + "/portask.log");
  ASSERT_TRUE(server_->start());
  auto c = server_->connect();
  protocol::message_batch batch;
  batch.messages.push_back(protocol::message{});
  batch.messages.back().value = "stored over TLS";
  ASSERT_TRUE(client::ok(c.publish("tls-store", 0, batch)));
  auto [status, body] = http_get(server_->http_port(), "/health");
  EXPECT_EQ(status, 200) << body;
  EXPECT_NE(body.find("\"store_up\":true"), std::string::npos) << body;
  // The batch is in redis, as redis-cli (over TLS) sees it.
  auto [rc, out] = run_shell("redis-cli --tls --cacert " + files_.ca + " -p " + std::to_string(tls_port) +
                             " XLEN 'portask:{tls-store:0}:log' 2>&1");
  EXPECT_EQ(out, "1\n");
  EXPECT_NE(log().find("rediss://127.0.0.1:" + std::to_string(tls_port)), std::string::npos);
}

TEST_F(Tls, HttpsServesTheProbesAndPlainHttpGetsNothing) {
  auto args = listener_tls("http", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--http-security-protocol", "SSL"});
  start(args);
  const auto url = "https://127.0.0.1:" + std::to_string(server_->http_port());
  auto [rc, out] = run_shell("timeout 20 curl -s --cacert " + files_.ca + " " + url + "/health");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"status\":\"ok\""), std::string::npos) << out;
  std::tie(rc, out) = run_shell("timeout 20 curl -s --cacert " + files_.ca + " " + url + "/metrics");
  EXPECT_NE(out.find("portask_tls_handshake_failures_total"), std::string::npos);
  EXPECT_EQ(http_get(server_->http_port(), "/health").first, 0);  // plain HTTP: closed
  std::tie(rc, out) = run_shell("timeout 20 curl -s " + url + "/health 2>&1");
  EXPECT_NE(rc, 0) << "curl trusted a certificate from an unknown CA: " << out;
}

TEST_F(Tls, ProbesCanBeClosedToAllButSuperUsers) {
  auto args = listener_tls("http", files_.server_cert, files_.server_key);
  args.insert(args.end(), {"--http-security-protocol", "SSL", "--authorization", "on", "--admin-user", "admin",
                           "--http-open-probes", "false"});
  start(args);
  const auto url = "https://127.0.0.1:" + std::to_string(server_->http_port());
  const auto curl = "timeout 20 curl -s -o /dev/null -w '%{http_code}' --cacert " + files_.ca + " ";
  for (const std::string path : {"/health", "/metrics", "/api/topics"}) {
    EXPECT_EQ(run_shell(curl + url + path).second, "401") << path;
    EXPECT_EQ(run_shell(curl + "-u admin:wrong " + url + path).second, "401") << path;
    EXPECT_EQ(run_shell(curl + "-u admin:" + admin_password + " " + url + path).second, "200") << path;
  }
}

TEST_F(Tls, SighupReloadsTheCertificateAndABrokenFileKeepsTheOldOne) {
  const auto cert = dir_.path() + "/live.pem", key = dir_.path() + "/live.key";
  auto copy = [](const std::string& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    out << in.rdbuf();
  };
  copy(files_.server_cert, cert);
  copy(files_.server_key, key);
  auto args = listener_tls("native", cert, key);
  args.insert(args.end(), {"--native-security-protocol", "SSL"});
  start(args);
  EXPECT_NE(served_subject(server_->port()).find("CN = localhost"), std::string::npos);
  auto reloads = [&](const std::string& line) {
    std::size_t n = 0;
    for (auto l = log(); l.find(line) != std::string::npos; l = l.substr(l.find(line) + 1)) ++n;
    return n;
  };
  copy(files_.other_server_cert, cert);
  copy(files_.other_server_key, key);
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] { return reloads("TLS certificate, key and CA reloaded") == 1; }));
  EXPECT_NE(served_subject(server_->port()).find("CN = reloaded"), std::string::npos);
  {
    std::ofstream broken(cert, std::ios::trunc);
    broken << "not a certificate\n";
  }
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] { return reloads("TLS reload failed, keeping the certificate in use") == 1; }));
  EXPECT_NE(served_subject(server_->port()).find("CN = reloaded"), std::string::npos);
  EXPECT_TRUE(server_->running());
}

// A certificate outside its validity period: clients refuse it, and alone their alerts
// would read like the clients' problem. At start the broker serves it with a warning. A
// reload refuses an expired one and keeps the certificate in use (Portask's rule, on every
// listener; Kafka checks a keystore update's dates on its inter-broker listener only), but
// takes one not valid yet, with a warning naming its dates: it becomes valid by itself, and
// refusing it would keep the old certificate, perhaps expired, after the one SIGHUP a rotation
// tool sends.
TEST_F(Tls, ACertificateOutOfDateIsWarnedAboutAndAReloadRefusesOnlyAnExpiredOne) {
  const auto expired = issue_dated_server_cert(dir_.path(), "expired", "20200101000000Z", "20200201000000Z");
  const auto future = issue_dated_server_cert(dir_.path(), "future", "20990101000000Z", "21000101000000Z");
  ASSERT_FALSE(expired.empty() || future.empty()) << "openssl could not make the dated certificates";
  const auto cert = dir_.path() + "/live.pem", key = dir_.path() + "/live.key";
  auto install = [&](const std::string& name) {
    for (const auto& [from, to] : {std::pair{dir_.path() + "/" + name + ".pem", cert},
                                   std::pair{dir_.path() + "/" + name + ".key", key}}) {
      std::ifstream in(from, std::ios::binary);
      std::ofstream out(to, std::ios::binary | std::ios::trunc);
      out << in.rdbuf();
    }
  };
  install("expired");
  auto args = listener_tls("native", cert, key);
  args.insert(args.end(), {"--native-security-protocol", "SSL"});
  start(args);
  const std::string expired_dates = "(valid from 2020-01-01 00:00:00 UTC to 2020-02-01 00:00:00 UTC)";
  EXPECT_NE(log().find("[warning] native listener: TLS certificate '" + cert + "' has expired " + expired_dates +
                       "; clients will refuse it"),
            std::string::npos);
  EXPECT_NE(served_subject(server_->port()).find("CN = expired"), std::string::npos);
  auto count = [&](const std::string& line) {
    std::size_t n = 0;
    for (auto l = log(); l.find(line) != std::string::npos; l = l.substr(l.find(line) + 1)) ++n;
    return n;
  };
  // A valid certificate replaces the expired one.
  install("server");
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] { return count("TLS certificate, key and CA reloaded") == 1; }));
  EXPECT_NE(served_subject(server_->port()).find("CN = localhost"), std::string::npos);
  // An expired one does not replace it.
  install("expired");
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    return count("[error] native listener: TLS reload failed, keeping the certificate in use: certificate '" + cert +
                 "' has expired " + expired_dates) == 1;
  }));
  EXPECT_NE(served_subject(server_->port()).find("CN = localhost"), std::string::npos);
  // One not valid yet does, with a warning.
  install("future");
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(wait_until([&] {
    return count("[warning] native listener: TLS certificate, key and CA reloaded; new connections use them, but "
                 "certificate '" + cert + "' is not valid yet (valid from 2099-01-01 00:00:00 UTC to 2100-01-01 "
                 "00:00:00 UTC): clients refuse it until then") == 1;
  }));
  EXPECT_NE(served_subject(server_->port()).find("CN = future"), std::string::npos);
  EXPECT_EQ(count("TLS reload failed"), 1u);
  EXPECT_EQ(count("TLS certificate, key and CA reloaded"), 2u);
  EXPECT_TRUE(server_->running());
}

TEST_F(Tls, UnusableFilesStopTheBrokerAtStartWithTheReason) {
  struct refusal {
    std::string args;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"--native-security-protocol SSL --native-tls-cert-file " + files_.server_cert + " --native-tls-key-file " +
           files_.alice_key,
       "cannot use private key '" + files_.alice_key + "': key values mismatch"},
      {"--native-security-protocol SSL --native-tls-cert-file " + files_.alice_key + " --native-tls-key-file " +
           files_.alice_key,
       "cannot use certificate chain"},
      {"--native-security-protocol SSL --native-tls-cert-file " + files_.server_cert + " --native-tls-key-file " +
           files_.server_key + " --native-tls-client-auth required",
       "client authentication needs a CA file"},
      {"--http-security-protocol SSL --http-port 1 --http-tls-cert-file " + files_.server_cert +
           " --http-tls-key-file /nonexistent.key",
       "cannot use private key '/nonexistent.key'"},
  };
  for (const auto& c : cases) {
    auto [rc, out] = run_shell("timeout 20 " + std::string(PORTASK_SERVER_BINARY) + " --port 0 --kafka-port 0 " +
                               (c.args.find("--http-port") == std::string::npos ? "--http-port 0 " : "") + c.args +
                               " 2>&1");
    EXPECT_EQ(rc, 2) << c.args << ": " << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << c.args << ": " << out;
  }
}

}  // namespace
