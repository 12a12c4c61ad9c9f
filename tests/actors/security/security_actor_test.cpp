// The security actor on a real store: each change is stored, then published as a new
// snapshot; a successor started on the same store reads everything back (what a restart by
// the supervisor relies on); the admin user is created once and never overwritten. Then
// access_control (PLAIN's password check, the brake on failed authentications) and
// sasl_session on their own, with the time passed in.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/runtime/broker_context.hpp"
#include "actors/security/sasl_session.hpp"
#include "actors/security/security_actor.hpp"
#include "storage/memory_store.hpp"

using namespace portask;
using namespace std::chrono_literals;
namespace sec = portask::protocol::security;

namespace {

struct fixture {
  fixture() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  // A node's context on the shared store: nothing loaded until its security actor runs.
  std::shared_ptr<broker_context> context(security_config sc = {}, std::int32_t node_id = -1) {
    broker_config c;
    c.cluster.node_id = node_id;
    c.cluster.renew_ms = 100;
    c.security = std::move(sc);
    c.security.authorization = true;
    return std::make_shared<broker_context>(c, store, "memory");
  }
  template <class T, class... Ts>
  T ask(const security_actor& a, Ts&&... xs) {
    caf::scoped_actor self{*sys};
    T out{};
    self->request(a, 10s, std::forward<Ts>(xs)...)
        .receive([&](T& v) { out = std::move(v); }, [&](caf::error& e) { ADD_FAILURE() << sys->render(e); });
    return out;
  }

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  storage::store_factory store = storage::memory_store::factory();
};

// A loaded snapshot holding these credentials, published as the security actor would.
void publish_users(access_control& to, const std::vector<std::pair<std::string, sec::scram_credential>>& users) {
  auto s = std::make_shared<security_snapshot>();
  s->loaded = true;
  for (const auto& [user, cred] : users)
    s->credentials.emplace(security_snapshot::credential_key{user, cred.mechanism}, cred);
  to.publish(std::move(s));
}

const std::string carol_plain_token("\0carol\0pw", 9);

}  // namespace

TEST(SecurityActor, ChangesAreStoredPublishedAndReadBackBySuccessor) {
  fixture f;
  auto ctx = f.context();
  auto actor = spawn_security(*f.sys, ctx);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  const auto v0 = ctx->access.version();
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, storage::user_credential{"alice", cred}));
  EXPECT_GT(ctx->access.version(), v0);
  ASSERT_NE(ctx->access.snapshot()->credential("alice", sec::scram_mechanism::sha256), nullptr);
  EXPECT_TRUE(ctx->access.snapshot()->password_matches("alice", "pw"));

  std::vector<sec::acl_binding> bindings{
      {sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:alice", "*", sec::acl_operation::read,
       sec::acl_permission::allow},
      {sec::resource_type::group, "g", sec::pattern_type::prefixed, "User:alice", "*", sec::acl_operation::read,
       sec::acl_permission::allow}};
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, bindings));
  authorization_cache acl{ctx->access};
  const sec::client_host h("h");
  EXPECT_TRUE(acl.allowed("User:alice", h, sec::acl_operation::read, sec::resource_type::topic, "orders"));
  EXPECT_TRUE(acl.allowed("User:alice", h, sec::acl_operation::read, sec::resource_type::group, "g1"));
  EXPECT_FALSE(acl.allowed("User:alice", h, sec::acl_operation::write, sec::resource_type::topic, "orders"));

  // A successor on the same store (a restart, or another node) starts from what is stored.
  auto ctx2 = f.context();
  EXPECT_FALSE(ctx2->access.snapshot()->loaded);
  auto successor = spawn_security(*f.sys, ctx2);
  sec::acl_filter groups_only;
  groups_only.resource = sec::resource_type::group;
  auto deleted = f.ask<std::vector<sec::acl_binding>>(successor, delete_atom::value,
                                                      std::vector<sec::acl_filter>{groups_only});
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0], bindings[1]);
  auto snap = ctx2->access.snapshot();
  EXPECT_TRUE(snap->loaded);
  EXPECT_TRUE(snap->password_matches("alice", "pw"));
  ASSERT_EQ(snap->acls.bindings().size(), 1u);
  EXPECT_EQ(snap->acls.bindings()[0], bindings[0]);
  // Deleting a credential: gone from the snapshot; deleting it again says there was none.
  EXPECT_TRUE(f.ask<bool>(successor, delete_atom::value, std::string("alice"), sec::scram_mechanism::sha256));
  EXPECT_FALSE(ctx2->access.snapshot()->password_matches("alice", "pw"));
  EXPECT_FALSE(f.ask<bool>(successor, delete_atom::value, std::string("alice"), sec::scram_mechanism::sha256));
  // An invalid binding is refused whole; nothing changes.
  auto bad = bindings;
  bad[1].pattern = sec::pattern_type::match;
  caf::scoped_actor self{*f.sys};
  bool refused = false;
  self->request(successor, 10s, create_atom::value, bad)
      .receive([](bool) {}, [&](caf::error& e) { refused = to_errc(e) == errc::invalid_request; });
  EXPECT_TRUE(refused);
  EXPECT_EQ(ctx2->access.snapshot()->acls.bindings().size(), 1u);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(successor, caf::exit_reason::user_shutdown);
}

TEST(SecurityActor, TheAdminUserIsCreatedOnceAndIsASuperUser) {
  fixture f;
  security_config sc;
  sc.admin_user = "root";
  sc.admin_password = "first";
  auto ctx = f.context(sc);
  auto loaded = load_security(**f.store(), ctx->config.security, ctx->access);
  ASSERT_TRUE(loaded);
  EXPECT_TRUE((*loaded)->password_matches("root", "first"));
  EXPECT_NE((*loaded)->credential("root", sec::scram_mechanism::sha512), nullptr);
  EXPECT_TRUE((*loaded)->acls.is_super_user("User:root"));
  // Started again with another password: the stored credential stands (it may have been
  // changed through AlterUserScramCredentials since).
  sc.admin_password = "second";
  auto again = load_security(**f.store(), sc, ctx->access);
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)->password_matches("root", "first"));
  EXPECT_FALSE((*again)->password_matches("root", "second"));
}

// In a cluster every node serves its own snapshot: a user or ACL changed through one node
// reaches the others at their next refresh, and a deletion matches what the store holds.
TEST(SecurityActor, ChangesThroughOneClusterNodeReachTheOthers) {
  fixture f;
  auto one = f.context({}, 1);
  auto two = f.context({}, 2);
  auto first = spawn_security(*f.sys, one);
  auto second = spawn_security(*f.sys, two);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  EXPECT_TRUE(f.ask<bool>(first, create_atom::value, storage::user_credential{"bob", cred}));
  auto reaches = [&](auto condition) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!condition() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
    return condition();
  };
  EXPECT_TRUE(reaches([&] { return two->access.snapshot()->password_matches("bob", "pw"); }));
  // An ACL made through the first node is deleted through the second at once, as the store
  // holds it, even before the second has read it.
  std::vector<sec::acl_binding> deny{{sec::resource_type::topic, "orders", sec::pattern_type::literal, "User:bob",
                                      "*", sec::acl_operation::write, sec::acl_permission::deny}};
  EXPECT_TRUE(f.ask<bool>(first, create_atom::value, deny));
  sec::acl_filter all_of_bob;
  all_of_bob.principal = "User:bob";
  auto deleted = f.ask<std::vector<sec::acl_binding>>(second, delete_atom::value, std::vector<sec::acl_filter>{all_of_bob});
  EXPECT_EQ(deleted, deny);
  EXPECT_TRUE(reaches([&] { return one->access.snapshot()->acls.bindings().empty(); }));
  // A credential deleted through the second node stops working on the first.
  EXPECT_TRUE(f.ask<bool>(second, delete_atom::value, std::string{"bob"}, sec::scram_mechanism::sha256));
  EXPECT_TRUE(reaches([&] { return !one->access.snapshot()->password_matches("bob", "pw"); }));
  caf::anon_send_exit(first, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(second, caf::exit_reason::user_shutdown);
}

// KIP-368: a re-authentication keeps the session's mechanism (no downgrade to PLAIN).
TEST(SaslSession, AReauthenticationWithAnotherMechanismFails) {
  fixture f;
  auto ctx = f.context();
  auto actor = spawn_security(*f.sys, ctx);
  const auto cred = sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw");
  EXPECT_TRUE(f.ask<bool>(actor, create_atom::value, storage::user_credential{"carol", cred}));
  sasl_session session{ctx->access, {"PLAIN", "SCRAM-SHA-256"}, "127.0.0.1"};
  const std::string token("\0carol\0pw", 9);
  ASSERT_TRUE(session.start("PLAIN"));
  ASSERT_EQ(session.respond(token).result, sasl_session::step::outcome::authenticated);
  ASSERT_TRUE(session.start("PLAIN"));
  EXPECT_EQ(session.respond(token).result, sasl_session::step::outcome::authenticated)
      << "the same mechanism again";
  ASSERT_TRUE(session.start("SCRAM-SHA-256"));
  auto refused = session.respond("n,,n=carol,r=abcdefghijklmnop");
  EXPECT_EQ(refused.result, sasl_session::step::outcome::failed);
  EXPECT_NE(refused.error.find("mechanism the session authenticated with"), std::string::npos) << refused.error;
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

// kafka-configs can set one mechanism's credential alone: after carol's SCRAM-SHA-512
// password was changed, her SHA-256 credential still holds the old one. PLAIN (and HTTP
// Basic) accept either; before, only the SHA-256 one was checked and the new password failed.
TEST(AccessControl, APasswordMatchesWhenAnyOfTheUsersCredentialsWasMadeFromIt) {
  security_snapshot snap;
  snap.loaded = true;
  snap.credentials.emplace(security_snapshot::credential_key{"carol", sec::scram_mechanism::sha256},
                           sec::scram_credential_from_password(sec::scram_mechanism::sha256, "old"));
  snap.credentials.emplace(security_snapshot::credential_key{"carol", sec::scram_mechanism::sha512},
                           sec::scram_credential_from_password(sec::scram_mechanism::sha512, "new"));
  EXPECT_TRUE(snap.password_matches("carol", "new"));
  EXPECT_TRUE(snap.password_matches("carol", "old"));
  EXPECT_FALSE(snap.password_matches("carol", "neither"));
  // An unknown user is checked against a decoy (for the time it takes) and never matches.
  EXPECT_FALSE(snap.password_matches("nobody", "new"));
  EXPECT_FALSE(snap.password_matches("nobody", ""));
}

TEST(AccessControl, TheBrakeHoldsAnAddressBackForTheRestOfItsMinute) {
  security_config sc;
  sc.max_failed_authentications_per_minute = 2;
  access_control brake{sc};
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;  // only differences count
  for (const char* other : {"192.0.2.1", "192.0.2.2"}) brake.authentication_failed(other, t0);
  brake.authentication_failed("192.0.2.3", t0);
  brake.authentication_failed("192.0.2.4", t0);
  EXPECT_TRUE(brake.may_authenticate("192.0.2.3", t0 + 1s));
  brake.authentication_failed("192.0.2.3", t0 + 1s);
  EXPECT_FALSE(brake.may_authenticate("192.0.2.3", t0 + 59s));
  // A failure after the minute, with no check between, starts a new window counted from one
  // (expired windows ahead of it in the table leave first, two at a time).
  brake.authentication_failed("192.0.2.3", t0 + 61s);
  EXPECT_TRUE(brake.may_authenticate("192.0.2.3", t0 + 62s));
  brake.authentication_failed("192.0.2.3", t0 + 62s);
  EXPECT_FALSE(brake.may_authenticate("192.0.2.3", t0 + 120s));
  EXPECT_TRUE(brake.may_authenticate("192.0.2.3", t0 + 121s)) << "a minute after the new window began";
  EXPECT_TRUE(brake.may_authenticate("192.0.2.4", t0 + 121s));
}

// A full table used to be emptied at once, freeing the very address the brake was holding
// back: a client that fails from enough other addresses could clear its own count. Now the
// oldest window makes room, one per new address.
TEST(AccessControl, AFullBrakeTableGivesUpItsOldestWindowOnly) {
  security_config sc;
  sc.max_failed_authentications_per_minute = 1;
  access_control brake{sc};
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  auto nth_address = [](std::size_t n) { return "10.0." + std::to_string(n / 256) + "." + std::to_string(n % 256); };
  for (std::size_t i = 0; i + 1 < access_control::max_tracked_addresses; ++i)
    brake.authentication_failed(nth_address(i), t0);
  brake.authentication_failed("192.0.2.66", t0 + 1s);  // the table is full now
  EXPECT_FALSE(brake.may_authenticate("192.0.2.66", t0 + 2s));
  brake.authentication_failed("198.51.100.1", t0 + 2s);  // one more address
  EXPECT_FALSE(brake.may_authenticate("192.0.2.66", t0 + 3s)) << "the attacker's count survives";
  EXPECT_FALSE(brake.may_authenticate("198.51.100.1", t0 + 3s));
  EXPECT_TRUE(brake.may_authenticate(nth_address(0), t0 + 3s)) << "the oldest window made room";
  EXPECT_FALSE(brake.may_authenticate(nth_address(1), t0 + 3s));
  EXPECT_FALSE(brake.may_authenticate(nth_address(access_control::max_tracked_addresses - 2), t0 + 3s));
}

// One IPv6 client usually holds a whole /64: counted per /128 it could take every attempt
// from a fresh address. An IPv4 client on a dual-stack listener is the same client whichever
// way its address is written.
TEST(AccessControl, TheBrakeCountsIPv6ByItsSlash64AndMappedIPv4AsIPv4) {
  security_config sc;
  sc.max_failed_authentications_per_minute = 2;
  access_control brake{sc};
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  brake.authentication_failed("2001:db8:1:2::1", t0);
  brake.authentication_failed("2001:db8:1:2:ffff:ffff:ffff:ffff", t0);
  EXPECT_FALSE(brake.may_authenticate("2001:db8:1:2::abcd", t0));
  EXPECT_TRUE(brake.may_authenticate("2001:db8:1:3::1", t0)) << "the next /64 is another client";
  brake.authentication_failed("::ffff:192.0.2.7", t0);
  brake.authentication_failed("192.0.2.7", t0);
  EXPECT_FALSE(brake.may_authenticate("192.0.2.7", t0));
  EXPECT_FALSE(brake.may_authenticate("::ffff:192.0.2.7", t0));
  EXPECT_TRUE(brake.may_authenticate("192.0.2.8", t0)) << "IPv4 is counted per address";
  // What is not an address counts under its own name.
  brake.authentication_failed("unknown", t0);
  brake.authentication_failed("unknown", t0);
  EXPECT_FALSE(brake.may_authenticate("unknown", t0));
}

// Credentials not loaded (the store unreachable at start) is the broker's state, not the
// client's mistake: counted, it would keep clients out for a minute after the store is back.
TEST(SaslSession, ARefusalWhileCredentialsAreNotLoadedIsNotCountedAsAFailure) {
  security_config sc;
  sc.max_failed_authentications_per_minute = 1;
  access_control gate{sc};
  sasl_session early{gate, {"PLAIN"}, "192.0.2.9"};
  ASSERT_TRUE(early.start("PLAIN"));
  const auto refused = early.respond(carol_plain_token);
  EXPECT_EQ(refused.result, sasl_session::step::outcome::failed);
  EXPECT_NE(refused.error.find("not loaded"), std::string::npos) << refused.error;
  EXPECT_TRUE(gate.may_authenticate("192.0.2.9"));
  publish_users(gate, {{"carol", sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw")}});
  sasl_session later{gate, {"PLAIN"}, "192.0.2.9"};
  ASSERT_TRUE(later.start("PLAIN"));
  EXPECT_EQ(later.respond(carol_plain_token).result, sasl_session::step::outcome::authenticated);
}

// PLAIN naming an authorization id other than its user (acting as another): refused after
// the password check, with Kafka's words (PlainSaslServer), not as a malformed message; an
// empty one, or the user's own name, is accepted.
TEST(SaslSession, APlainAuthorizationIdOtherThanTheUserIsRefusedInKafkasWords) {
  access_control gate{security_config{}};
  publish_users(gate, {{"carol", sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw")}});
  auto plain = [&](std::string_view token) {
    sasl_session session{gate, {"PLAIN"}, "127.0.0.1"};
    EXPECT_TRUE(session.start("PLAIN"));
    return session.respond(token);
  };
  using outcome = sasl_session::step::outcome;
  EXPECT_EQ(plain(carol_plain_token).result, outcome::authenticated);
  EXPECT_EQ(plain(std::string_view("carol\0carol\0pw", 14)).result, outcome::authenticated);
  const auto other = plain(std::string_view("admin\0carol\0pw", 14));
  EXPECT_EQ(other.result, outcome::failed);
  EXPECT_EQ(other.error, "Client requested an authorization id that is different from username");
  // The password first, as in Kafka: a wrong one is refused as such, whatever the authzid.
  EXPECT_EQ(plain(std::string_view("admin\0carol\0no", 14)).error, "invalid credentials for user carol");
}

// KIP-368 as Kafka has it: re-authentication only where sessions have a lifetime
// (connections.max.reauth.ms), and at most once a second per connection, counted from the
// last one admitted (the first may follow the authentication at once).
TEST(SaslSession, ReauthenticationNeedsASessionLifetimeAndComesAtMostOnceASecond) {
  access_control gate{security_config{}};
  publish_users(gate, {{"carol", sec::scram_credential_from_password(sec::scram_mechanism::sha256, "pw")}});
  sasl_session session{gate, {"PLAIN"}, "127.0.0.1"};
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  EXPECT_FALSE(session.admit_reauthentication(5000ms, t0)) << "not authenticated yet";
  ASSERT_TRUE(session.start("PLAIN"));
  ASSERT_EQ(session.respond(carol_plain_token).result, sasl_session::step::outcome::authenticated);
  EXPECT_FALSE(session.admit_reauthentication(0ms, t0)) << "no session lifetime";
  EXPECT_TRUE(session.admit_reauthentication(5000ms, t0));
  EXPECT_FALSE(session.admit_reauthentication(5000ms, t0 + 999ms));
  EXPECT_TRUE(session.admit_reauthentication(5000ms, t0 + 1s));
  EXPECT_FALSE(session.admit_reauthentication(5000ms, t0 + 1500ms));
  EXPECT_TRUE(session.admit_reauthentication(5000ms, t0 + 2s));
  // An admitted one runs as before, for the same user.
  ASSERT_TRUE(session.start("PLAIN"));
  EXPECT_EQ(session.respond(carol_plain_token).result, sasl_session::step::outcome::authenticated);
  EXPECT_EQ(session.principal(), "User:carol");
}
