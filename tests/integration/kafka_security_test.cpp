// SASL and ACLs on the Kafka listener, against the real `portask` executable on a real
// redis-server: kcat (librdkafka) with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN, kafka-python
// (the legacy unframed handshake) managing ACLs as a real admin client, and a raw socket for
// what clients never do on purpose (a proof wrong in one byte, a replayed final message,
// requests before authentication).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "protocol/base64.hpp"
#include "protocol/security/scram_client.hpp"
#include "raw_kafka.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;
namespace sec = portask::protocol::security;

namespace {

constexpr const char* admin_password = "admin-secret";

class KafkaSecurity : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.start()); }
  void start(std::vector<std::string> extra = {}) {
    setenv("PORTASK_ADMIN_PASSWORD", admin_password, 1);
    std::vector<std::string> args{"--kafka-security-protocol", "SASL_PLAINTEXT", "--sasl-mechanisms",
                                  "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN", "--admin-user", "admin"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<server_process>(redis_.url(), dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start(args));
    unsetenv("PORTASK_ADMIN_PASSWORD");
    bootstrap_ = "127.0.0.1:" + std::to_string(server_->kafka_port());
  }
  void TearDown() override { print_log_if_failed(dir_.path() + "/portask.log"); }
  std::string kcat(const std::string& mechanism, const std::string& user, const std::string& password) const {
    return "kcat -b " + bootstrap_ + " -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=" + mechanism +
           " -X sasl.username=" + user + " -X sasl.password=" + password;
  }
  std::string log() const {
    std::ifstream in(dir_.path() + "/portask.log");
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  temp_dir dir_;
  redis_server redis_;
  std::unique_ptr<server_process> server_;
  std::string bootstrap_;
};

msg::SaslHandshakeResponse handshake(raw_kafka& c, const std::string& mechanism, std::int16_t version = 1) {
  msg::SaslHandshakeRequest req;
  req.mechanism = mechanism;
  return call<msg::SaslHandshakeResponse>(c, 17, version, req, false);
}

msg::SaslAuthenticateResponse authenticate(raw_kafka& c, const std::string& token) {
  msg::SaslAuthenticateRequest req;
  req.authBytes = token;
  return call<msg::SaslAuthenticateResponse>(c, 36, 1, req, false);
}

// A whole SCRAM exchange; the final message sent (for replays) in `final_sent`.
bool scram_login(raw_kafka& c, sec::scram_mechanism m, const std::string& user, const std::string& password,
                 std::string* final_sent = nullptr) {
  if (handshake(c, std::string(sec::mechanism_name(m))).errorCode != 0) return false;
  sec::scram_client client(m, user, password);
  auto first = authenticate(c, client.client_first());
  if (first.errorCode != 0) return false;
  auto final = client.client_final(first.authBytes);
  if (!final) return false;
  if (final_sent) *final_sent = *final;
  auto last = authenticate(c, *final);
  return last.errorCode == 0 && !client.check_server_final(last.authBytes);
}

}  // namespace

TEST_F(KafkaSecurity, KcatAuthenticatesWithEveryMechanismAndWrongCredentialsAreRefused) {
  start();
  for (const std::string mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}) {
    auto [rc, out] = run_shell("printf 'k:" + mechanism + "\\n' | " + kcat(mechanism, "admin", admin_password) +
                               " -P -t secured -p 0 -K: 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
  }
  auto [rc, out] = run_shell(kcat("SCRAM-SHA-256", "admin", admin_password) +
                             " -C -t secured -p 0 -o beginning -e -f '%s\\n' 2>&1");
  EXPECT_EQ(rc, 0) << out;
  for (const std::string mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"})
    EXPECT_NE(out.find(mechanism + "\n"), std::string::npos) << out;
  // A wrong password, an unknown user, and a mechanism the listener does not offer.
  for (const auto& [mechanism, user, password] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"SCRAM-SHA-512", "admin", "wrong"},
                                                                    {"SCRAM-SHA-256", "nobody", admin_password},
                                                                    {"PLAIN", "admin", "wrong"}}) {
    std::tie(rc, out) = run_shell("printf 'x\\n' | " + kcat(mechanism, user, password) +
                                  " -X message.timeout.ms=3000 -P -t secured -p 0 2>&1");
    EXPECT_NE(rc, 0) << mechanism << " " << user;
    EXPECT_NE(out.find("Authentication failed"), std::string::npos) << out;
  }
  std::tie(rc, out) = run_shell("printf 'x\\n' | " + kcat("GSSAPI", "admin", admin_password) +
                                " -X message.timeout.ms=3000 -P -t secured -p 0 2>&1");
  EXPECT_NE(rc, 0);
  // Nothing was stored for the refused clients.
  std::tie(rc, out) = run_shell(kcat("PLAIN", "admin", admin_password) + " -C -t secured -p 0 -o beginning -e -q 2>&1");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
}

TEST_F(KafkaSecurity, ThePythonClientsAuthenticateWithPlain) {
  start();
  const std::string env = "SECURITY_PROTOCOL=SASL_PLAINTEXT SASL_MECHANISM=PLAIN SASL_USER=admin SASL_PASSWORD=" +
                          std::string(admin_password);
  auto [rc, out] = run_shell(env + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_check.py " +
                             bootstrap_ + " py-plain 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(env + " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR
                                      "/confluent_kafka_check.py " + bootstrap_ + " confluent-plain confluent-plain-group 2>&1");
  EXPECT_EQ(rc, 0) << out;
  // A wrong password: refused, nothing produced.
  std::tie(rc, out) = run_shell("SECURITY_PROTOCOL=SASL_PLAINTEXT SASL_MECHANISM=PLAIN SASL_USER=admin SASL_PASSWORD=wrong"
                                " timeout 120 /usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/confluent_kafka_check.py " +
                                bootstrap_ + " confluent-wrong confluent-wrong-group 2>&1");
  EXPECT_NE(rc, 0) << out;
}

TEST_F(KafkaSecurity, KafkajsAuthenticatesWithScramAndPlainAndIsRefusedAWrongPassword) {
  std::ifstream installed(PORTASK_KAFKAJS_DIR "/node_modules/kafkajs/package.json");
  ASSERT_TRUE(installed) << "kafkajs is not installed: run tools/setup --test";
  start();
  for (const std::string mechanism : {"scram-sha-512", "scram-sha-256", "plain"}) {
    auto [rc, out] = run_shell("KAFKAJS_NO_PARTITIONER_WARNING=1 SASL_MECHANISM=" + mechanism +
                               " SASL_USER=admin SASL_PASSWORD=" + admin_password + " node " PORTASK_KAFKAJS_DIR
                               "/check.js " + bootstrap_ + " kjs-" + mechanism + " kjs-group-" + mechanism + " 2>&1");
    EXPECT_EQ(rc, 0) << mechanism << ": " << out;
    EXPECT_NE(out.find("60 messages checked"), std::string::npos) << out;
  }
  auto [rc, out] = run_shell("KAFKAJS_NO_PARTITIONER_WARNING=1 SASL_MECHANISM=scram-sha-512 SASL_USER=admin "
                             "SASL_PASSWORD=wrong timeout 120 node " PORTASK_KAFKAJS_DIR "/check.js " + bootstrap_ +
                             " kjs-wrong kjs-wrong-group 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("SASL"), std::string::npos) << out;
}

TEST_F(KafkaSecurity, BeforeAuthenticationOnlyApiVersionsAndTheHandshakeAreServed) {
  start();
  {
    raw_kafka c(server_->kafka_port());
    msg::ApiVersionsRequest versions;
    auto v = call<msg::ApiVersionsResponse>(c, 18, 0, versions, false);
    EXPECT_EQ(v.errorCode, 0);
    bool sasl_listed = false;
    for (const auto& k : v.apiKeys) sasl_listed |= k.apiKey == 36 && k.maxVersion == 2;
    EXPECT_TRUE(sasl_listed);
    msg::MetadataRequest md;
    c.send(3, 1, 7, md, false);
    EXPECT_TRUE(c.closed());
  }
  {
    raw_kafka c(server_->kafka_port());  // SaslAuthenticate before a handshake
    auto res = authenticate(c, "n,,n=admin,r=abc");
    EXPECT_EQ(res.errorCode, 34);  // ILLEGAL_SASL_STATE
    EXPECT_TRUE(c.closed());
  }
  {
    raw_kafka c(server_->kafka_port());
    auto res = handshake(c, "GSSAPI");
    EXPECT_EQ(res.errorCode, 33);  // UNSUPPORTED_SASL_MECHANISM, with what is offered
    EXPECT_EQ(res.mechanisms, (std::vector<std::string>{"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}));
    EXPECT_TRUE(c.closed());
  }
  raw_kafka c(server_->kafka_port());
  ASSERT_TRUE(scram_login(c, sec::scram_mechanism::sha512, "admin", admin_password));
  msg::MetadataRequest md;
  auto res = call<msg::MetadataResponse>(c, 3, 1, md, false);
  EXPECT_EQ(res.brokers.size(), 1u);
}

TEST_F(KafkaSecurity, AProofWrongInOneByteAndAReplayedFinalMessageAreRefused) {
  start();
  std::string recorded;
  {
    raw_kafka c(server_->kafka_port());
    ASSERT_TRUE(scram_login(c, sec::scram_mechanism::sha256, "admin", admin_password, &recorded));
  }
  {
    raw_kafka c(server_->kafka_port());
    ASSERT_EQ(handshake(c, "SCRAM-SHA-256").errorCode, 0);
    sec::scram_client client(sec::scram_mechanism::sha256, "admin", admin_password);
    auto first = authenticate(c, client.client_first());
    ASSERT_EQ(first.errorCode, 0);
    auto final = *client.client_final(first.authBytes);
    auto proof = *protocol::base64_decode(final.substr(final.rfind(",p=") + 3));
    proof[7] = static_cast<char>(proof[7] ^ 0x20);
    auto res = authenticate(c, final.substr(0, final.rfind(",p=") + 3) + protocol::base64_encode(proof));
    EXPECT_EQ(res.errorCode, 58);  // SASL_AUTHENTICATION_FAILED
    ASSERT_TRUE(res.errorMessage);
    EXPECT_NE(res.errorMessage->find("invalid credentials"), std::string::npos) << *res.errorMessage;
    EXPECT_TRUE(c.closed());
  }
  {
    // The recorded final belongs to another exchange's nonce: refused, nothing served.
    raw_kafka c(server_->kafka_port());
    ASSERT_EQ(handshake(c, "SCRAM-SHA-256").errorCode, 0);
    sec::scram_client client(sec::scram_mechanism::sha256, "admin", admin_password);
    ASSERT_EQ(authenticate(c, client.client_first()).errorCode, 0);
    auto res = authenticate(c, recorded);
    EXPECT_EQ(res.errorCode, 58);
    EXPECT_TRUE(c.closed());
  }
}

TEST_F(KafkaSecurity, UsersAreManagedWithAlterAndDescribeUserScramCredentials) {
  start();
  raw_kafka admin(server_->kafka_port());
  ASSERT_TRUE(scram_login(admin, sec::scram_mechanism::sha512, "admin", admin_password));
  auto set = set_scram_password(admin, "alice", sec::scram_mechanism::sha256, "alice-pw", 8192);
  ASSERT_EQ(set.results.size(), 1u);
  EXPECT_EQ(set.results[0].errorCode, 0);
  // Too few iterations, an unknown mechanism: refused, with a reason.
  auto bad = set_scram_password(admin, "bob", sec::scram_mechanism::sha256, "pw", 100);
  EXPECT_EQ(bad.results.at(0).errorCode, 93);  // UNACCEPTABLE_CREDENTIAL
  msg::DescribeUserScramCredentialsRequest describe;
  describe.users = std::vector<msg::DescribeUserScramCredentialsRequest::UserName>{{"alice"}, {"bob"}};
  auto d = call<msg::DescribeUserScramCredentialsResponse>(admin, 50, 0, describe, true);
  ASSERT_EQ(d.results.size(), 2u);
  EXPECT_EQ(d.results[0].user, "alice");
  ASSERT_EQ(d.results[0].credentialInfos.size(), 1u);
  EXPECT_EQ(d.results[0].credentialInfos[0].mechanism, 1);
  EXPECT_EQ(d.results[0].credentialInfos[0].iterations, 8192);
  EXPECT_EQ(d.results[1].errorCode, 91);  // RESOURCE_NOT_FOUND
  {
    // A deletion of a credential dave does not have refuses his upsert in the same request
    // too: nothing of his is changed, as Kafka validates them.
    msg::AlterUserScramCredentialsRequest both;
    msg::AlterUserScramCredentialsRequest::ScramCredentialUpsertion u;
    u.name = "dave";
    u.mechanism = 1;
    u.iterations = 4096;
    u.salt = "salt-of-dave";
    u.saltedPassword = sec::pbkdf2(sec::hash_of(sec::scram_mechanism::sha256), "dave-pw", u.salt, 4096);
    both.upsertions.push_back(u);
    both.deletions.push_back({"dave", 2});
    auto refused = call<msg::AlterUserScramCredentialsResponse>(admin, 51, 0, both, true);
    ASSERT_EQ(refused.results.size(), 1u);
    EXPECT_EQ(refused.results[0].errorCode, 91);
    msg::DescribeUserScramCredentialsRequest of_dave;
    of_dave.users = std::vector<msg::DescribeUserScramCredentialsRequest::UserName>{{"dave"}};
    EXPECT_EQ(call<msg::DescribeUserScramCredentialsResponse>(admin, 50, 0, of_dave, true).results.at(0).errorCode, 91);
  }
  // alice authenticates with the new credential, from kcat too, but may not manage users.
  raw_kafka as_alice(server_->kafka_port());
  ASSERT_TRUE(scram_login(as_alice, sec::scram_mechanism::sha256, "alice", "alice-pw"));
  EXPECT_EQ(set_scram_password(as_alice, "alice", sec::scram_mechanism::sha512, "x").results.at(0).errorCode, 31);
  auto [rc, out] = run_shell(kcat("SCRAM-SHA-256", "alice", "alice-pw") + " -L 2>&1");
  EXPECT_EQ(rc, 0) << out;
  // Deleted: alice is refused from then on.
  msg::AlterUserScramCredentialsRequest del;
  del.deletions.push_back({"alice", 1});
  auto gone = call<msg::AlterUserScramCredentialsResponse>(admin, 51, 0, del, true);
  EXPECT_EQ(gone.results.at(0).errorCode, 0);
  raw_kafka again(server_->kafka_port());
  EXPECT_FALSE(scram_login(again, sec::scram_mechanism::sha256, "alice", "alice-pw"));
  // The store holds salted keys only: no password anywhere in it.
  for (const std::string key : {"portask:credentials:SCRAM-SHA-512", "portask:credentials:SCRAM-SHA-256"}) {
    std::tie(rc, out) = run_shell("redis-cli -p " + std::to_string(redis_.port()) + " HGETALL " + key + " 2>&1");
    EXPECT_NE(out.find("admin"), std::string::npos) << out;
    EXPECT_EQ(out.find(admin_password), std::string::npos);
  }
}

TEST_F(KafkaSecurity, KafkaPythonManagesAclsThatTheBrokerEnforces) {
  start();
  raw_kafka admin(server_->kafka_port());
  ASSERT_TRUE(scram_login(admin, sec::scram_mechanism::sha512, "admin", admin_password));
  ASSERT_EQ(set_scram_password(admin, "alice", sec::scram_mechanism::sha256, "alice-pw").results.at(0).errorCode, 0);
  auto [rc, out] = run_shell("/usr/bin/python3 " PORTASK_TEST_SOURCE_DIR "/kafka_python_acls.py " + bootstrap_ + " " +
                             admin_password + " alice-pw 2>&1");
  EXPECT_EQ(rc, 0) << out;
}

// KIP-368: a re-authentication keeps the mechanism; going from SCRAM to PLAIN (a cleartext
// password) fails it and closes the connection, as Kafka does.
// Without a session lifetime Kafka permits no re-authentication: a handshake after the
// login is ILLEGAL_SASL_STATE and the session goes on.
TEST_F(KafkaSecurity, WithoutASessionLifetimeAHandshakeAfterTheLoginIsOutOfTurnAndTheSessionGoesOn) {
  start();
  raw_kafka c(server_->kafka_port());
  ASSERT_TRUE(scram_login(c, sec::scram_mechanism::sha512, "admin", admin_password));
  const auto res = handshake(c, "PLAIN");
  EXPECT_EQ(res.errorCode, 34);  // ILLEGAL_SASL_STATE
  EXPECT_TRUE(res.mechanisms.empty());
  msg::MetadataRequest md;
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 1, md, false).brokers.size(), 1u);
}

// A handshake out of turn: a second one before the tokens, or a v0 one to re-authenticate
// (Kafka would take it, but only SaslAuthenticate v1 tells a client its session's lifetime,
// so no client sends one). ILLEGAL_SASL_STATE with no mechanism list, as Kafka's error
// answers to a handshake have none, and the connection closes.
TEST_F(KafkaSecurity, AHandshakeOutOfTurnListsNoMechanismAndCloses) {
  start({"--sasl-session-lifetime-ms", "60000"});
  {
    raw_kafka c(server_->kafka_port());
    ASSERT_EQ(handshake(c, "PLAIN").errorCode, 0);
    const auto again = handshake(c, "PLAIN");
    EXPECT_EQ(again.errorCode, 34);  // ILLEGAL_SASL_STATE
    EXPECT_TRUE(again.mechanisms.empty());
    EXPECT_TRUE(c.closed());
  }
  raw_kafka c(server_->kafka_port());
  ASSERT_TRUE(scram_login(c, sec::scram_mechanism::sha512, "admin", admin_password));
  const auto v0 = handshake(c, "SCRAM-SHA-512", 0);
  EXPECT_EQ(v0.errorCode, 34);
  EXPECT_TRUE(v0.mechanisms.empty());
  EXPECT_TRUE(c.closed());
}

TEST_F(KafkaSecurity, AReauthenticationWithAnotherMechanismFails) {
  start({"--sasl-session-lifetime-ms", "60000"});  // re-authentication needs a lifetime
  raw_kafka c(server_->kafka_port());
  ASSERT_TRUE(scram_login(c, sec::scram_mechanism::sha512, "admin", admin_password));
  ASSERT_EQ(handshake(c, "PLAIN").errorCode, 0);
  auto res = authenticate(c, std::string("\0admin\0", 7) + admin_password);
  EXPECT_EQ(res.errorCode, 58);  // SASL_AUTHENTICATION_FAILED
  ASSERT_TRUE(res.errorMessage);
  EXPECT_NE(res.errorMessage->find("mechanism the session authenticated with"), std::string::npos) << *res.errorMessage;
  EXPECT_TRUE(c.closed());
}

TEST_F(KafkaSecurity, FailedAuthenticationsFromOneAddressAreBraked) {
  start({"--max-failed-authentications-per-minute", "3"});
  for (int i = 0; i < 3; ++i) {
    raw_kafka c(server_->kafka_port());
    EXPECT_FALSE(scram_login(c, sec::scram_mechanism::sha256, "admin", "guess-" + std::to_string(i)));
  }
  // Even the right password is refused now, without a check, until the minute is over.
  raw_kafka c(server_->kafka_port());
  ASSERT_EQ(handshake(c, "PLAIN").errorCode, 0);
  auto res = authenticate(c, std::string("\0admin\0", 7) + admin_password);
  EXPECT_EQ(res.errorCode, 58);
  ASSERT_TRUE(res.errorMessage);
  EXPECT_NE(res.errorMessage->find("too many failed authentications"), std::string::npos) << *res.errorMessage;
}

TEST_F(KafkaSecurity, AnExpiredSessionServesNothingButReAuthentication) {
  start({"--sasl-session-lifetime-ms", "5000"});  // the calls before the wait must fit in it
  raw_kafka c(server_->kafka_port());
  ASSERT_EQ(handshake(c, "PLAIN").errorCode, 0);
  auto res = authenticate(c, std::string("\0admin\0", 7) + admin_password);
  ASSERT_EQ(res.errorCode, 0);
  EXPECT_EQ(res.sessionLifetimeMs, 5000);
  // Re-authenticating within the lifetime starts it again (KIP-368), with the same mechanism.
  ASSERT_EQ(handshake(c, "PLAIN").errorCode, 0);
  ASSERT_EQ(authenticate(c, std::string("\0admin\0", 7) + admin_password).errorCode, 0);
  msg::MetadataRequest md;
  EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 1, md, false).brokers.size(), 1u);
  {
    // A SaslAuthenticate with no handshake before it is out of turn, and the session goes on.
    msg::SaslAuthenticateRequest stray;
    stray.authBytes = std::string("\0admin\0", 7) + admin_password;
    EXPECT_EQ(call<msg::SaslAuthenticateResponse>(c, 36, 1, stray, false).errorCode, 34);  // ILLEGAL_SASL_STATE
    EXPECT_EQ(call<msg::MetadataResponse>(c, 3, 1, md, false).brokers.size(), 1u);
  }
  // The lifetime itself is what is tested here: wait it out, then any request closes.
  std::this_thread::sleep_for(std::chrono::milliseconds(5100));
  c.send(3, 1, 9, md, false);
  EXPECT_TRUE(c.closed());
  EXPECT_NE(log().find("expired without re-authentication"), std::string::npos);
}

// KRaft's rules for the topic APIs under ACLs: DELETE on the cluster lets a principal delete
// any topic, with no ACL on the topic itself; a missing topic that a Metadata request would
// have had created, for a principal that may not create it, is TOPIC_AUTHORIZATION_FAILED
// rather than unknown.
TEST_F(KafkaSecurity, DeleteOnTheClusterCoversEveryTopicAndAnAutoCreationNotAllowedIsRefused) {
  start();
  raw_kafka admin(server_->kafka_port());
  ASSERT_TRUE(scram_login(admin, sec::scram_mechanism::sha512, "admin", admin_password));
  ASSERT_EQ(set_scram_password(admin, "alice", sec::scram_mechanism::sha256, "alice-pw").results.at(0).errorCode, 0);
  msg::CreateTopicsRequest topics;
  topics.timeoutMs = 30000;
  topics.topics.push_back({"doomed", 1, 1, {}, {}});
  ASSERT_EQ(call<msg::CreateTopicsResponse>(admin, 19, 7, topics, true).topics.at(0).errorCode, 0);
  // alice: DELETE (6) on the cluster (4), DESCRIBE (8) on topics (2) prefixed (4) "auto-";
  // both ALLOW (3). No ACL names "doomed", nor CREATE anything.
  msg::CreateAclsRequest acls;
  acls.creations.push_back({4, "kafka-cluster", 3, "User:alice", "*", 6, 3});
  acls.creations.push_back({2, "auto-", 4, "User:alice", "*", 8, 3});
  auto created = call<msg::CreateAclsResponse>(admin, 30, 3, acls, true);
  ASSERT_EQ(created.results.size(), 2u);
  for (const auto& c : created.results) ASSERT_EQ(c.errorCode, 0) << c.errorMessage.value_or("");

  raw_kafka alice(server_->kafka_port());
  ASSERT_TRUE(scram_login(alice, sec::scram_mechanism::sha256, "alice", "alice-pw"));
  msg::DeleteTopicsRequest del;
  del.timeoutMs = 30000;
  del.topicNames = {"doomed"};
  EXPECT_EQ(call<msg::DeleteTopicsResponse>(alice, 20, 4, del, true).responses.at(0).errorCode, 0)
      << "DELETE on the cluster covers a topic she may neither describe nor delete";

  msg::MetadataRequest md;
  md.topics = std::vector<msg::MetadataRequest::MetadataRequestTopic>{{{}, std::string("auto-missing")}};
  md.allowAutoTopicCreation = true;
  auto refused = call<msg::MetadataResponse>(alice, 3, 12, md, true);
  ASSERT_EQ(refused.topics.size(), 1u);
  EXPECT_EQ(refused.topics[0].errorCode, 29) << "TOPIC_AUTHORIZATION_FAILED: she may not create it";
  md.allowAutoTopicCreation = false;
  EXPECT_EQ(call<msg::MetadataResponse>(alice, 3, 12, md, true).topics.at(0).errorCode, 3)
      << "UNKNOWN_TOPIC_OR_PARTITION: she did not ask for it to be created";
}

// KRaft's order for DeleteTopics by name without DELETE on the cluster: DESCRIBE on the
// topic, then whether it exists, then DELETE on it. Who may describe a name hears that it does
// not exist; who may not hears only TOPIC_AUTHORIZATION_FAILED.
TEST_F(KafkaSecurity, DeleteTopicsByNameSaysAMissingTopicIsUnknownToWhoMayDescribeIt) {
  start();
  raw_kafka admin(server_->kafka_port());
  ASSERT_TRUE(scram_login(admin, sec::scram_mechanism::sha512, "admin", admin_password));
  ASSERT_EQ(set_scram_password(admin, "bob", sec::scram_mechanism::sha256, "bob-pw").results.at(0).errorCode, 0);
  msg::CreateTopicsRequest topics;
  topics.timeoutMs = 30000;
  topics.topics.push_back({"seen-kept", 1, 1, {}, {}});
  ASSERT_EQ(call<msg::CreateTopicsResponse>(admin, 19, 7, topics, true).topics.at(0).errorCode, 0);
  // bob: DESCRIBE (8) on topics (2) prefixed (4) "seen-", ALLOW (3); nothing else.
  msg::CreateAclsRequest acls;
  acls.creations.push_back({2, "seen-", 4, "User:bob", "*", 8, 3});
  ASSERT_EQ(call<msg::CreateAclsResponse>(admin, 30, 3, acls, true).results.at(0).errorCode, 0);

  raw_kafka bob(server_->kafka_port());
  ASSERT_TRUE(scram_login(bob, sec::scram_mechanism::sha256, "bob", "bob-pw"));
  msg::DeleteTopicsRequest del;
  del.timeoutMs = 30000;
  del.topicNames = {"seen-kept", "seen-missing", "hidden-missing"};
  const auto answer = call<msg::DeleteTopicsResponse>(bob, 20, 4, del, true);
  ASSERT_EQ(answer.responses.size(), 3u);
  std::map<std::string, std::int16_t> codes;
  for (const auto& r : answer.responses) codes[r.name.value_or("")] = r.errorCode;
  EXPECT_EQ(codes["seen-kept"], 29) << "exists, and bob may not delete it";
  EXPECT_EQ(codes["seen-missing"], 3) << "bob may describe it: UNKNOWN_TOPIC_OR_PARTITION";
  EXPECT_EQ(codes["hidden-missing"], 29) << "bob may not describe it: not told whether it exists";
}
