// Authentication and ACLs on the native listener, against the real `portask` executable: the
// C++ client with each SASL mechanism, requests before authentication, a wrong password
// (which closes the connection as every close does), ACLs created through Kafka's CreateAcls
// applying to native requests, and portask-cli --user. (The exchanges themselves are tested
// in tests/protocol/security.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "protocol/base64.hpp"
#include "protocol/security/scram_client.hpp"
#include "raw_kafka.hpp"
#include "redis_server.hpp"
#include "server_process.hpp"

using namespace portask;
using namespace portask::test;
namespace sec = portask::protocol::security;
namespace native = portask::protocol::native;

namespace {

constexpr const char* admin_password = "admin-secret";

class NativeSecurity : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(redis_.start());
    setenv("PORTASK_ADMIN_PASSWORD", admin_password, 1);
    server_ = std::make_unique<server_process>(redis_.url(), dir_.path() + "/portask.log");
    ASSERT_TRUE(server_->start({"--native-security-protocol", "SASL_PLAINTEXT", "--kafka-security-protocol",
                                "SASL_PLAINTEXT", "--sasl-mechanisms", "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
                                "--admin-user", "admin"}));
    unsetenv("PORTASK_ADMIN_PASSWORD");
  }
  void TearDown() override { print_log_if_failed(dir_.path() + "/portask.log"); }
  client::result<client::connection> open(const std::string& user, const std::string& password,
                                          const std::string& mechanism = "SCRAM-SHA-512") const {
    client::options o;
    o.port = server_->port();
    o.timeout = std::chrono::seconds(15);
    o.user = user;
    o.password = password;
    o.mechanism = mechanism;
    return client::connection::open(o);
  }
  // A Kafka admin connection, authenticated as admin (for users and ACLs).
  std::unique_ptr<raw_kafka> kafka_admin() const {
    auto c = std::make_unique<raw_kafka>(server_->kafka_port());
    msg::SaslHandshakeRequest hs;
    hs.mechanism = "PLAIN";
    EXPECT_EQ(call<msg::SaslHandshakeResponse>(*c, 17, 1, hs, false).errorCode, 0);
    msg::SaslAuthenticateRequest auth;
    auth.authBytes = std::string("\0admin\0", 7) + admin_password;
    EXPECT_EQ(call<msg::SaslAuthenticateResponse>(*c, 36, 1, auth, false).errorCode, 0);
    return c;
  }

  temp_dir dir_;
  redis_server redis_;
  std::unique_ptr<server_process> server_;
};

}  // namespace

TEST_F(NativeSecurity, EveryMechanismAuthenticatesAndNothingIsServedBefore) {
  {
    client::options o;
    o.port = server_->port();
    auto c = client::connection::open(o);
    ASSERT_TRUE(client::ok(c));
    auto r = std::get<0>(c).create_topic("early", 1);
    ASSERT_FALSE(client::ok(r));
    EXPECT_EQ(client::error_of(r).code, errc::authentication_required);
    EXPECT_FALSE(client::ok(std::get<0>(c).list_topics()));  // closed
  }
  for (const std::string mechanism : {"SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"}) {
    auto c = open("admin", admin_password, mechanism);
    ASSERT_TRUE(client::ok(c)) << mechanism << ": " << client::error_of(c).message;
    auto& conn = std::get<0>(c);
    ASSERT_TRUE(client::ok(conn.publish("native-secured", 0, one_message(mechanism)))) << mechanism;
  }
  auto c = open("admin", admin_password);
  ASSERT_TRUE(client::ok(c));
  auto got = std::get<0>(c).fetch("native-secured", 0, 0);
  ASSERT_TRUE(client::ok(got));
  EXPECT_EQ(std::get<0>(got).messages.size(), 3u);
  for (const std::string mechanism : {"SCRAM-SHA-512", "PLAIN"}) {
    auto bad = open("admin", "wrong", mechanism);
    ASSERT_FALSE(client::ok(bad)) << mechanism;
    EXPECT_EQ(client::error_of(bad).code, errc::authentication_failed) << client::error_of(bad).message;
  }
  auto unknown = open("admin", admin_password, "GSSAPI");
  EXPECT_FALSE(client::ok(unknown));
}

TEST_F(NativeSecurity, KafkaAclsApplyToNativeRequests) {
  auto admin = kafka_admin();
  ASSERT_EQ(set_scram_password(*admin, "bob", sec::scram_mechanism::sha512, "bob-pw").results.at(0).errorCode, 0);
  // bob: READ on topic "open" and on group "readers", nothing else.
  msg::CreateAclsRequest acls;
  acls.creations.push_back({2, "open", 3, "User:bob", "*", 3, 3});
  acls.creations.push_back({3, "readers", 3, "User:bob", "*", 3, 3});
  auto created = call<msg::CreateAclsResponse>(*admin, 30, 1, acls, false);
  ASSERT_EQ(created.results.at(0).errorCode, 0);
  {
    auto c = open("admin", admin_password);
    ASSERT_TRUE(client::ok(c));
    ASSERT_TRUE(client::ok(std::get<0>(c).create_topic("open", 1)));
    ASSERT_TRUE(client::ok(std::get<0>(c).create_topic("closed", 1)));
    ASSERT_TRUE(client::ok(std::get<0>(c).publish("open", 0, one_message("hello"))));
  }
  auto c = open("bob", "bob-pw");
  ASSERT_TRUE(client::ok(c)) << client::error_of(c).message;
  auto& bob = std::get<0>(c);
  auto got = bob.fetch("open", 0, 0);
  ASSERT_TRUE(client::ok(got));
  EXPECT_EQ(std::get<0>(got).messages.at(0).value, "hello");
  auto write = bob.publish("open", 0, one_message("nope"));
  ASSERT_FALSE(client::ok(write));
  EXPECT_EQ(client::error_of(write).code, errc::authorization_failed);
  EXPECT_NE(client::error_of(write).message.find("WRITE on topic open"), std::string::npos);
  auto other = bob.fetch("closed", 0, 0);
  ASSERT_FALSE(client::ok(other));
  EXPECT_EQ(client::error_of(other).code, errc::authorization_failed);
  EXPECT_FALSE(client::ok(bob.create_topic("mine", 1)));
  // Listings show what bob may describe (READ implies DESCRIBE): "open" only.
  auto listed = bob.list_topics();
  ASSERT_TRUE(client::ok(listed));
  ASSERT_EQ(std::get<0>(listed).size(), 1u);
  EXPECT_EQ(std::get<0>(listed)[0].topic, "open");
  // A GroupJoin needs DESCRIBE on each topic too: the assignments pushed would show which
  // exist and their partition counts.
  auto hidden = bob.join_group("readers", {"open", "closed"});
  ASSERT_FALSE(client::ok(hidden));
  EXPECT_EQ(client::error_of(hidden).code, errc::authorization_failed);
  EXPECT_NE(client::error_of(hidden).message.find("DESCRIBE on topic closed"), std::string::npos)
      << client::error_of(hidden).message;
  EXPECT_TRUE(client::ok(bob.join_group("readers", {"open"})));
}

// A failed authentication closes the connection as every close does: a long poll parked
// before it answers at once (answers go in request order, so it would hold the failure back
// for its whole wait), then the failure comes, then the close.
TEST_F(NativeSecurity, AFailedAuthenticationAnswersAParkedLongPollThenCloses) {
  auto opened = open("admin", admin_password, "PLAIN");
  ASSERT_TRUE(client::ok(opened)) << client::error_of(opened).message;
  auto& c = std::get<0>(opened);
  ASSERT_TRUE(client::ok(c.create_topic("parked", 1)));
  protocol::buffer frames;
  native::encode(frames, native::fetch_request{1001, "parked", 0, 0, 1 << 20, 60000});
  const std::string wrong = std::string("\0admin\0", 7) + "wrong";
  native::encode(frames, native::authenticate_request{1002, "PLAIN", protocol::as_bytes(wrong)});
  ASSERT_TRUE(c.send_raw(frames));
  auto polled = c.receive_frame(std::chrono::seconds(30));
  ASSERT_TRUE(client::ok(polled)) << client::error_of(polled).message;
  const auto& poll_answer = std::get<0>(polled);
  EXPECT_EQ(static_cast<protocol::message_type>(poll_answer[5]), protocol::message_type::response);
  EXPECT_EQ(protocol::load_be32(poll_answer.data() + protocol::frame_header_size), 1001u);
  auto failed = c.receive_frame(std::chrono::seconds(30));
  ASSERT_TRUE(client::ok(failed)) << client::error_of(failed).message;
  const auto& refusal = std::get<0>(failed);
  ASSERT_EQ(static_cast<protocol::message_type>(refusal[5]), protocol::message_type::error);
  auto e = native::decode_error(protocol::byte_view{refusal}.subspan(protocol::frame_header_size));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->request_id, 1002u);
  EXPECT_EQ(static_cast<errc>(e->code), errc::authentication_failed);
  EXPECT_FALSE(client::ok(c.receive_frame(std::chrono::seconds(30)))) << "then the connection closes";
}

// With authorization on, /api/ needs a super user's HTTP Basic credentials: the CLI's
// HTTP commands send --user's, as its native ones authenticate with them.
TEST_F(NativeSecurity, TheCliSendsItsUserToTheHttpApiToo) {
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server_->port()) +
                          " --http-port " + std::to_string(server_->http_port());
  auto [rc, out] = run_shell("PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli +
                             " --user admin cluster nodes 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("single node"), std::string::npos) << out;
  std::tie(rc, out) = run_shell(cli + " cluster nodes 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("401"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("PORTASK_PASSWORD=wrong " + cli + " --user admin cluster nodes 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("401"), std::string::npos) << out;
}

TEST_F(NativeSecurity, TheCliAuthenticatesWithAPasswordFromTheEnvironment) {
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server_->port());
  auto [rc, out] = run_shell("PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli +
                             " --user admin topics create from-cli --partitions 2 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell("PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli +
                                " --user admin --sasl-mechanism SCRAM-SHA-256 topics list 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("from-cli"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("PORTASK_PASSWORD=wrong " + cli + " --user admin topics list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("authentication failed"), std::string::npos) << out;
  // No password and no terminal to ask on: a usage error, nothing sent.
  std::tie(rc, out) = run_shell("env -u PORTASK_PASSWORD " + cli + " --user admin topics list < /dev/null 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("PORTASK_PASSWORD"), std::string::npos) << out;
  // Without --user the listener serves nothing.
  std::tie(rc, out) = run_shell(cli + " topics list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("authentication required"), std::string::npos) << out;
}

TEST_F(NativeSecurity, TheHttpApiAdmitsSuperUsersOnlyAndProbesStayOpen) {
  const auto port = server_->http_port();
  auto get = [&](const std::string& path, const std::string& credentials) {
    std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!credentials.empty()) request += "Authorization: Basic " + protocol::base64_encode(credentials) + "\r\n";
    return http_exchange(port, request + "\r\n");
  };
  EXPECT_EQ(get("/health", "").first, 200);
  EXPECT_EQ(get("/metrics", "").first, 200);
  auto [status, body] = get("/api/topics", "");
  EXPECT_EQ(status, 401) << body;
  EXPECT_FALSE(nlohmann::json::parse(body, nullptr, false).is_discarded()) << "JSON, as labelled: " << body;
  EXPECT_EQ(get("/api/topics", "admin:wrong").first, 401);
  EXPECT_EQ(get("/", "").first, 401);  // the console too
  std::tie(status, body) = get("/api/topics", std::string("admin:") + admin_password);
  EXPECT_EQ(status, 200) << body;
  // The scheme's name is case-insensitive, and more than one space may follow it.
  std::tie(status, body) = http_exchange(port, "GET /api/topics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                               "Authorization: BASIC  " + protocol::base64_encode(std::string("admin:") + admin_password) +
                                               "\r\n\r\n");
  EXPECT_EQ(status, 200) << body;
  // An authenticated user who is not a super user: 403.
  auto admin = kafka_admin();
  ASSERT_EQ(set_scram_password(*admin, "carol", sec::scram_mechanism::sha256, "carol-pw").results.at(0).errorCode, 0);
  EXPECT_EQ(get("/api/topics", "carol:carol-pw").first, 403);
  // The brake on failed attempts (shared with SASL): once it holds an address back, 429 with
  // Retry-After, not a 401 whose challenge would make a browser ask again at once.
  int last = 0;
  for (int i = 0; i < 30 && last != 429; ++i) last = get("/api/topics", "admin:wrong").first;
  EXPECT_EQ(last, 429);
}

namespace {

TEST_F(NativeSecurity, TheCliManagesUsersAndAcls) {
  const std::string cli = std::string(PORTASK_CLI_BINARY) + " --port " + std::to_string(server_->port());
  const std::string admin = "PORTASK_PASSWORD=" + std::string(admin_password) + " " + cli + " --user admin ";
  const std::string alice = "PORTASK_PASSWORD=alice-pw " + cli + " --user alice ";
  auto [rc, out] = run_shell("PORTASK_NEW_PASSWORD=alice-pw " + admin + "users create alice 2>&1");
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(admin + "users list 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("alice  SCRAM-SHA-256  4096"), std::string::npos) << out;
  EXPECT_NE(out.find("alice  SCRAM-SHA-512  4096"), std::string::npos) << out;
  std::tie(rc, out) = run_shell(admin + "topics create cli-acl 2>&1");
  ASSERT_EQ(rc, 0) << out;
  // alice authenticates (both mechanisms were set) but sees nothing yet.
  std::tie(rc, out) = run_shell(alice + "--sasl-mechanism SCRAM-SHA-256 topics list 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.find("cli-acl"), std::string::npos) << out;
  // A mechanism without a user would authenticate nothing: refused, not ignored.
  std::tie(rc, out) = run_shell("env -u PORTASK_USER " + cli + " --sasl-mechanism PLAIN topics list 2>&1");
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("--user"), std::string::npos) << out;
  // Nor does an empty user name: refused, not taken for "no user".
  std::tie(rc, out) = run_shell(cli + " --user '' --sasl-mechanism PLAIN topics list 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("--user"), std::string::npos) << out;
  std::tie(rc, out) = run_shell(admin + "acls create --principal User:alice --operation describe --topic cli-acl 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(alice + "topics list 2>&1");
  EXPECT_NE(out.find("cli-acl"), std::string::npos) << out;
  std::tie(rc, out) = run_shell(admin + "acls list --principal User:alice --format json 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(R"("operation":"DESCRIBE")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("resource_name":"cli-acl")"), std::string::npos) << out;
  // alice may not manage ACLs or users.
  std::tie(rc, out) = run_shell(alice + "acls list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not authorized: DESCRIBE on the cluster"), std::string::npos) << out;
  std::tie(rc, out) = run_shell("PORTASK_NEW_PASSWORD=x " + alice + "users create mallory 2>&1");
  EXPECT_EQ(rc, 1) << out;
  // Deleting prints what went; then alice sees nothing again.
  std::tie(rc, out) = run_shell(admin + "acls delete --principal User:alice 2>&1");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("cli-acl"), std::string::npos) << out;
  std::tie(rc, out) = run_shell(alice + "topics list 2>&1");
  EXPECT_EQ(out.find("cli-acl"), std::string::npos) << out;
  // Usage errors: nothing sent.
  std::tie(rc, out) = run_shell(admin + "acls create --principal User:alice --topic cli-acl 2>&1");
  EXPECT_EQ(rc, 2) << out;
  std::tie(rc, out) = run_shell(admin + "acls delete 2>&1");
  EXPECT_EQ(rc, 2) << out;
  std::tie(rc, out) = run_shell("env -u PORTASK_NEW_PASSWORD " + admin + "users create bob < /dev/null 2>&1");
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("PORTASK_NEW_PASSWORD"), std::string::npos) << out;
  // Deleting alice's credentials ends her logins.
  std::tie(rc, out) = run_shell(admin + "users delete alice 2>&1");
  EXPECT_EQ(rc, 0) << out;
  std::tie(rc, out) = run_shell(alice + "topics list 2>&1");
  EXPECT_EQ(rc, 1) << out;
  std::tie(rc, out) = run_shell(admin + "users delete alice 2>&1");
  EXPECT_EQ(rc, 1) << out;
}

}  // namespace
